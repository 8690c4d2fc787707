"""The land-cover raster in the CLI's words (Swedish): the vector-versus-raster table after a
run and the raster's line in `opjord validate`.

Reads summary.json figures and `RasterInfo` only, so importing it loads neither rasterio
nor exactextract.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import fmt

if TYPE_CHECKING:
    from pipeline.zonal import RasterInfo


def agreement_lines(summary: dict) -> list[str]:
    """The vector-versus-raster agreement table for the CLI summary (Swedish), or [] when
    summary.json has no land-cover figures.

    Per plan: agricultural ha from the vectors and from the raster, the raster's difference
    in percent of the vector figure, and the difference in share in percentage points.
    """
    plans = {k: p for k, p in summary["plans"].items() if "landcover" in p}
    if not plans:
        return []
    raster = next((i for i in summary.get("inputs", []) if i.get("role") == "landcover"), {})
    codes = ", ".join(str(c) for c in raster.get("agricultural_codes", []))
    lines = [f"Jämförelse med marktäckedata ({Path(raster.get('path', '')).name or 'raster'}"
             + (f", koder {codes}" if codes else "") + "):"]
    rows = [("Plan", "Vektor", "Raster", "Skillnad", "Andel vektor", "Andel raster",
             "Skillnad")]
    for p in plans.values():
        lc = p["landcover"]
        v, r = p["agricultural_ha"], lc["agricultural_ha"]
        diff_pct = None if not v else 100.0 * (r - v) / v
        diff_pp = (None if p["share"] is None or lc["share"] is None
                   else 100.0 * (lc["share"] - p["share"]))
        rows.append((p["label"], fmt.hectares(v), fmt.hectares(r),
                     "–" if diff_pct is None else f"{fmt.number(diff_pct, 1, sign=True)} %",
                     fmt.percent(p["share"]), fmt.percent(lc["share"]),
                     "–" if diff_pp is None else f"{fmt.number(diff_pp, 1, sign=True)} p.e."))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                      strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
    nodata = sum(p["landcover"]["nodata_ha"] for p in plans.values())
    if nodata > 0:
        lines.append(f"  Utan rasterdata i fotavtrycken: {fmt.hectares(nodata, 2)} (nodata).")
    return lines


def describe_raster(info: RasterInfo) -> str:
    """One line for `opjord validate`: the raster's grid, CRS, nodata and codes."""
    nodata = "ingen" if info.nodata is None else fmt.plain(info.nodata)
    return (f"landcover: {info.path} ({info.driver}, {fmt.number(info.width, 0)} × "
            f"{fmt.number(info.height, 0)} px om {fmt.plain(info.res[0])} m, {info.dtype}, "
            f"{info.crs}" + (" enligt konfigurationen" if info.config.crs else "")
            + f", nodata {nodata}, block {info.block_shape[1]}×{info.block_shape[0]}) — "
            f"jordbrukskoder {', '.join(map(str, info.config.agricultural_codes))}")
