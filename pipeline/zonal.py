"""Land-cover raster zonal statistics (e.g. NMD): exact partial pixels, bounded memory.

The raster path measures agricultural land from a classified land-cover raster
instead of (and next to) the field-block vectors:

- the raster is opened with rasterio and never resampled; the polygons (in
  EPSG:3006) are reprojected to the raster's CRS instead;
- every pixel counts by the fraction of it that a polygon covers (exactextract),
  not by its centre and not "all touched";
- exactextract reads the raster window by window around each polygon part
  (``strategy="feature-sequential"``, at most `MAX_CELLS_IN_MEMORY` cells at a
  time) and GDAL's block cache is capped (`GDAL_CACHEMAX_MB`), so memory does not
  grow with the size of the raster;
- hectares: the covered fractions are measured in the raster's CRS and applied
  to the polygon's planar area in EPSG:3006, so raster hectares use the same
  measure as the vector path (exactly the pixel areas when the raster is in
  EPSG:3006, as NMD is);
- nodata pixels, and polygon parts outside the raster, are reported as
  ``nodata_ha``; by default they count as not agricultural (they stay in the
  denominator), with ``exclude_nodata = true`` they leave the denominator.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from pyproj import CRS

from pipeline import ANALYSIS_CRS, fmt
from pipeline.config import LandcoverConfig
from pipeline.errors import InputError, Problems
from pipeline.indicators import M2_PER_HA, ratio
from pipeline.read import crs_label, file_sha256

log = logging.getLogger(__name__)

# At most this many raster cells are held at once per polygon part (exactextract
# splits a larger part's window); about 16 bytes per cell.
MAX_CELLS_IN_MEMORY = 1_000_000
GDAL_CACHEMAX_MB = 64  # GDAL's block cache while reading the raster
PART_COLUMN = "opjord_part"  # exactextract overwrites a column named `id`: never use that
# GDAL options for every read: a tile that cannot be read is an error, never zeros (GDAL
# returns zeros when GTIFF_IGNORE_READ_ERRORS=YES is set in the environment).
READ_OPTIONS = {"GDAL_CACHEMAX": GDAL_CACHEMAX_MB, "GTIFF_IGNORE_READ_ERRORS": "NO"}
# GDAL warnings on opening that mean the file is cut off or overwritten: GDAL then drops the
# tags it could not read (CRS, geotransform) and opens the file anyway.
_DAMAGE_WARNING = re.compile(r"IO error|read error|corrupt|truncat|cannot read|failed to read|"
                             r"premature end|unexpected end", re.IGNORECASE)


@dataclass(frozen=True)
class RasterInfo:
    """What a land-cover raster holds, from its metadata (no pixels read)."""

    config: LandcoverConfig
    driver: str
    width: int
    height: int
    bands: int
    dtype: str
    res: tuple[float, float]  # pixel width and height in CRS units
    bounds: tuple[float, float, float, float]  # in the raster's CRS
    block_shape: tuple[int, int]  # rows, columns of one block
    source_crs: str | None  # as stored in the file
    crs: str  # the CRS used: the config's `crs` if given, else the file's
    crs_wkt: str
    nodata: float | None  # the nodata value used: the config's if given, else the file's
    file_nodata: float | None
    size_bytes: int
    sha256: str

    @property
    def path(self) -> Path:
        return self.config.path

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in the raster CRS's units squared (m² for SWEREF 99)."""
        return abs(self.res[0] * self.res[1])

    def as_input(self, root: Path) -> dict:
        """The raster's entry in summary.json `inputs`."""
        try:
            path = self.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            path = self.path.resolve().as_posix()
        return {"role": "landcover", "path": path, "driver": self.driver,
                "sha256": self.sha256, "size_bytes": self.size_bytes,
                "width": self.width, "height": self.height,
                "resolution": list(self.res), "dtype": self.dtype,
                "source_crs": self.source_crs, "crs_used": self.crs,
                "crs_from_config": self.config.crs is not None,
                "nodata": self.nodata,
                "agricultural_codes": list(self.config.agricultural_codes),
                "exclude_nodata": self.config.exclude_nodata}


@dataclass(frozen=True)
class ZonalFigures:
    """Per input geometry: m² in the EPSG:3006 measure (see the module docstring)."""

    agricultural_m2: np.ndarray
    nodata_m2: np.ndarray  # nodata pixels plus parts outside the raster
    area_m2: np.ndarray  # planar area of the geometry in EPSG:3006
    values_found: frozenset[int]  # raster values seen inside the geometries (nodata excluded)

    @property
    def covered_m2(self) -> np.ndarray:
        """Area with valid raster data."""
        return np.maximum(self.area_m2 - self.nodata_m2, 0.0)


def damaged_raster(path: Path, detail: object) -> InputError:
    """The message for a raster whose header opens but whose contents cannot be read."""
    return InputError(
        f"{path}: the land-cover raster in [landcover] `path` is damaged: GDAL opens it but "
        f"cannot read all of it (GDAL: {detail}), as happens after a partial download or an "
        "interrupted copy. Fix: download or export the raster again (check the new copy with "
        f"`gdalinfo -checksum {path.name}`), or point [landcover] `path` at a whole copy.")


@contextlib.contextmanager
def _gdal_warnings() -> Iterator[list[str]]:
    """Collect the GDAL warnings that rasterio passes to logging while the block runs."""
    logger = logging.getLogger("rasterio._env")
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Collect(logging.WARNING)
    level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.WARNING):
        logger.setLevel(logging.WARNING)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _damage_in(messages: list[str]) -> str | None:
    """The first warning that says the file is damaged, and how many more there were."""
    hits = [m for m in messages if _DAMAGE_WARNING.search(m)]
    if not hits:
        return None
    return hits[0] + (f" (and {len(hits) - 1} more)" if len(hits) > 1 else "")


def read_every_block(ds: rasterio.DatasetReader, path: Path) -> int:
    """Read band 1 block by block (one block in memory at a time); raise InputError when a
    block cannot be read. Returns the number of blocks read."""
    n = 0
    try:
        for _, window in ds.block_windows(1):
            ds.read(1, window=window)
            n += 1
    except rasterio.errors.RasterioError as exc:
        raise damaged_raster(path, exc.__cause__ or exc) from None
    return n


def inspect_raster(lc: LandcoverConfig, *, read_pixels: bool = False) -> RasterInfo:
    """Open the raster and check it (readable, CRS, grid, nodata); raise InputError listing
    every problem. Reads metadata only, unless `read_pixels`: then every block is read once
    too, to find damage anywhere in the file (`opjord validate`)."""
    with rasterio.Env(**READ_OPTIONS):  # GDAL's drivers take some options when opening
        return _inspect_raster(lc, read_pixels)


def _inspect_raster(lc: LandcoverConfig, read_pixels: bool) -> RasterInfo:
    problems = Problems()
    where = f"{lc.path}"
    try:
        with _gdal_warnings() as messages, warnings.catch_warnings():
            # a missing geotransform is reported below, or is damage
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            ds = rasterio.open(lc.path)
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise InputError(
            f"{where}: [landcover] `path` cannot be opened as a raster ({exc}). Fix: point it "
            "at a GDAL-readable raster (GeoTIFF, COG or VRT) such as NMD's base layer, and "
            "check that the file is complete (a partial download cannot be read).") from None
    damage = _damage_in(messages)
    if damage is not None:
        ds.close()
        raise damaged_raster(lc.path, damage)
    with ds:
        file_crs = ds.crs
        source_crs = crs_label(CRS.from_user_input(file_crs.to_wkt())) if file_crs else None
        crs_wkt = ""
        crs = ""
        if lc.crs is not None:
            crs_obj = CRS.from_user_input(lc.crs)
            crs, crs_wkt = crs_label(crs_obj), crs_obj.to_wkt()
            if file_crs and CRS.from_user_input(file_crs.to_wkt()) != crs_obj:
                log.warning("%s: the raster says %s but [landcover] `crs` says %s; using %s "
                            "as configured.", lc.path, source_crs, crs, crs)
        elif file_crs is None:
            problems.add(f"{where}: the raster has no coordinate reference system. Fix: add "
                         "`crs = \"EPSG:3006\"` (or the CRS it is really in) to [landcover], "
                         "or give the file a CRS (gdal_edit.py -a_srs EPSG:3006).")
        else:
            crs, crs_wkt = source_crs or "", file_crs.to_wkt()
        t = ds.transform
        if t.is_identity and not ds.gcps[0]:
            problems.add(f"{where}: the raster has no geotransform (where its pixels lie and "
                         "how large they are). Fix: export it again as a GeoTIFF with its "
                         "georeferencing, or add a world file (.tfw) beside it.")
        elif t.b != 0 or t.d != 0:
            problems.add(f"{where}: the raster is rotated (geotransform {tuple(t)[:6]}), which "
                         "exact zonal statistics cannot read. Fix: warp it to a north-up grid "
                         "with gdalwarp (nearest neighbour, to keep the classes).")
        dtype = ds.dtypes[0]
        if not np.issubdtype(np.dtype(dtype), np.integer):
            problems.add(f"{where}: band 1 holds {dtype} values, not class codes. Fix: point "
                         "[landcover] `path` at a classified raster (NMD's is uint8).")
        nodata = lc.nodata if lc.nodata is not None else ds.nodata
        if nodata is not None and np.issubdtype(np.dtype(dtype), np.integer):
            lo, hi = np.iinfo(np.dtype(dtype)).min, np.iinfo(np.dtype(dtype)).max
            if not (float(nodata).is_integer() and lo <= nodata <= hi):
                problems.add(f"{where}: [landcover] `nodata = {nodata}` cannot occur in a "
                             f"{dtype} raster (values {lo}–{hi}). Fix: give the value the file "
                             "uses for missing data, or remove `nodata` to use the file's own.")
        if ds.count > 1:
            log.info("%s has %d bands; band 1 is used.", lc.path.name, ds.count)
        problems.raise_if_any()
        if read_pixels:
            start = time.perf_counter()
            blocks = read_every_block(ds, lc.path)
            log.info("Read all %s blocks of %s in %.1f s: no damage found", f"{blocks:,}",
                     lc.path.name, time.perf_counter() - start)
        block = ds.block_shapes[0]
        info = RasterInfo(config=lc, driver=ds.driver, width=ds.width, height=ds.height,
                          bands=ds.count, dtype=dtype, res=(abs(t.a), abs(t.e)),
                          bounds=tuple(ds.bounds), block_shape=(int(block[0]), int(block[1])),
                          source_crs=source_crs, crs=crs, crs_wkt=crs_wkt,
                          nodata=None if nodata is None else float(nodata),
                          file_nodata=ds.nodata, size_bytes=lc.path.stat().st_size,
                          sha256=file_sha256(lc.path))
    if not CRS.from_user_input(crs_wkt).is_projected:
        log.warning("%s: the raster's CRS %s is not projected; pixel fractions are measured in "
                    "degrees, which is only approximate for large polygons.", lc.path, crs)
    log.info("Land-cover raster %s: %s × %s px of %s × %s m, %s, %s, nodata %s", lc.path.name,
             f"{info.width:,}", f"{info.height:,}", info.res[0], info.res[1], info.dtype,
             info.crs, info.nodata)
    return info


def _source(ds: rasterio.DatasetReader, info: RasterInfo):
    """An exactextract raster source over an open rasterio dataset, with the nodata value
    and CRS chosen in `inspect_raster` (the config's, when it gives them)."""
    from exactextract.raster import RasterioRasterSource
    from rasterio.windows import Window

    nodata = None if info.nodata is None else int(info.nodata)

    class _Source(RasterioRasterSource):
        def nodata_value(self):
            return nodata

        def srs_wkt(self):
            return info.crs_wkt

        def read_window(self, x0, y0, nx, ny):
            return self.ds.read(1, window=Window(x0, y0, nx, ny))

    return _Source(ds)


def zonal_landcover(info: RasterInfo, geoms: np.ndarray) -> ZonalFigures:
    """Agricultural and nodata area of each polygon (given in EPSG:3006), exact partial pixels.

    Parameters
    ----------
    info : RasterInfo
        From `inspect_raster`.
    geoms : array of shapely geometries in EPSG:3006
        Polygons or MultiPolygons (empty allowed). Parts of one geometry must not overlap
        (true for valid geometries and for footprints).

    Returns
    -------
    ZonalFigures
        Per geometry: agricultural m², nodata m² (including parts outside the raster) and
        the geometry's area, all in m² measured in EPSG:3006.
    """
    from exactextract import exact_extract

    start = time.perf_counter()
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    parts, owner = parts[keep], owner[keep]
    area_3006 = shapely.area(parts)
    same_crs = CRS.from_user_input(info.crs_wkt) == CRS.from_user_input(ANALYSIS_CRS)
    parts_r = parts if same_crs else gpd.GeoSeries(parts, crs=ANALYSIS_CRS).to_crs(
        info.crs_wkt).array.to_numpy()
    area_r = shapely.area(parts_r)
    box = shapely.box(*info.bounds)
    inside = shapely.within(parts_r, box)
    outside_r = np.zeros(len(parts_r))
    if (~inside).any():
        outside_r[~inside] = shapely.area(shapely.difference(parts_r[~inside], box))
    hit = shapely.intersects(parts_r, box)

    agri_r = np.zeros(len(parts_r))
    nodata_cells = np.zeros(len(parts_r))
    codes = set(info.config.agricultural_codes)
    found: set[int] = set()
    if hit.any():
        idx = np.flatnonzero(hit)
        # visit parts row by row of blocks so that neighbours reuse GDAL's block cache
        c = shapely.centroid(parts_r[idx])
        band = np.floor(shapely.get_y(c) / (info.block_shape[0] * info.res[1] * 4))
        idx = idx[np.lexsort((shapely.get_x(c), -band))]
        frame = gpd.GeoDataFrame({PART_COLUMN: idx}, geometry=parts_r[idx], crs=info.crs_wkt)
        ops = ["valid=count", "unique", "frac"]
        if info.nodata is not None:
            ops.append(f"all=count(default_value={int(info.nodata)})")
        try:
            with rasterio.Env(**READ_OPTIONS), rasterio.open(info.path) as ds:
                result = exact_extract(_source(ds, info), frame, ops,
                                       include_cols=[PART_COLUMN],
                                       strategy="feature-sequential",
                                       max_cells_in_memory=MAX_CELLS_IN_MEMORY,
                                       output="pandas")
        except rasterio.errors.RasterioError as exc:  # a tile the areas need is unreadable
            raise damaged_raster(info.path, exc.__cause__ or exc) from None
        for row in result.itertuples(index=False):
            i = int(getattr(row, PART_COLUMN))
            values = np.asarray(row.unique).astype(np.int64)
            fracs = np.asarray(row.frac, dtype=float)
            found.update(int(v) for v in values)
            agri_r[i] = float(row.valid) * float(fracs[np.isin(values, list(codes))].sum())
            if info.nodata is not None:
                nodata_cells[i] = float(row.all) - float(row.valid)
    nodata_r = nodata_cells * info.pixel_area + outside_r
    scale = area_3006 / area_r  # 1.0 exactly when the raster is in EPSG:3006
    agri_m2 = np.bincount(owner, weights=agri_r * info.pixel_area * scale, minlength=n)
    nodata_m2 = np.bincount(owner, weights=np.minimum(nodata_r * scale, area_3006), minlength=n)
    area_m2 = np.bincount(owner, weights=area_3006, minlength=n)
    log.info("Zonal statistics on %s for %s polygons (%s parts) in %.1f s", info.path.name,
             f"{n:,}", f"{len(parts):,}", time.perf_counter() - start)
    return ZonalFigures(agricultural_m2=agri_m2, nodata_m2=nodata_m2, area_m2=area_m2,
                        values_found=frozenset(found))


def landcover_share(agricultural_m2: float, nodata_m2: float, area_m2: float, *,
                    exclude_nodata: bool) -> float | None:
    """Agricultural share of a polygon; nodata stays in the denominator unless excluded."""
    return ratio(agricultural_m2, area_m2 - nodata_m2 if exclude_nodata else area_m2)


def _figures(z: ZonalFigures, i: int, exclude_nodata: bool) -> dict:
    return {"agricultural_ha": float(z.agricultural_m2[i]) / M2_PER_HA,
            "share": landcover_share(float(z.agricultural_m2[i]), float(z.nodata_m2[i]),
                                     float(z.area_m2[i]), exclude_nodata=exclude_nodata),
            "nodata_ha": float(z.nodata_m2[i]) / M2_PER_HA}


def add_landcover(analysis, info: RasterInfo) -> None:
    """Add raster figures to an `Analysis` in place (one zonal pass over every polygon).

    - `analysis.areas`: columns landcover_agricultural_ha, landcover_share, landcover_nodata_ha
    - `analysis.plans[key]["landcover"]`: agricultural_ha, share, nodata_ha of the footprint
    - `analysis.comparisons[key]["landcover"]`: newly_designated_ha, released_ha (from the
      footprint differences) and share_change_pp
    - `analysis.extra_inputs`: the raster's input entry; `analysis.warnings`: what to tell
    """
    config = analysis.config
    lc = info.config
    areas = analysis.areas.geometry.array.to_numpy()
    fp = dict(zip(analysis.footprints["plan"], analysis.footprints.geometry.array.to_numpy(),
                  strict=True))
    base = config.baseline.key
    regions: list = []
    for key in analysis.comparisons:
        regions += [shapely.difference(fp[key], fp[base]), shapely.difference(fp[base], fp[key])]
    plan_keys = list(fp)
    geoms = np.array([*areas, *(fp[k] for k in plan_keys), *regions], dtype=object)

    box = shapely.box(*info.bounds)
    geoms_r = geoms if CRS.from_user_input(info.crs_wkt) == CRS.from_user_input(
        ANALYSIS_CRS) else gpd.GeoSeries(geoms, crs=ANALYSIS_CRS).to_crs(
        info.crs_wkt).array.to_numpy()
    if len(areas) and not shapely.intersects(geoms_r[:len(areas)], box).any():
        raise InputError(
            f"{lc.path}: the land-cover raster (extent {_bounds_text(info.bounds)} in "
            f"{info.crs}) does not overlap any development area. Fix: point [landcover] "
            "`path` at a raster that covers the municipality, or correct its CRS (a raster "
            "without one needs `crs = \"EPSG:…\"` in [landcover]).")

    z = zonal_landcover(info, geoms)
    n = len(areas)
    per_area = [_figures(z, i, lc.exclude_nodata) for i in range(n)]
    analysis.areas["landcover_agricultural_ha"] = [f["agricultural_ha"] for f in per_area]
    analysis.areas["landcover_share"] = [f["share"] for f in per_area]
    analysis.areas["landcover_nodata_ha"] = [f["nodata_ha"] for f in per_area]
    for j, key in enumerate(plan_keys):
        analysis.plans[key]["landcover"] = _figures(z, n + j, lc.exclude_nodata)
    for j, key in enumerate(analysis.comparisons):
        newly = n + len(plan_keys) + 2 * j
        share_p = analysis.plans[key]["landcover"]["share"]
        share_b = analysis.plans[base]["landcover"]["share"]
        analysis.comparisons[key]["landcover"] = {
            "newly_designated_ha": float(z.agricultural_m2[newly]) / M2_PER_HA,
            "released_ha": float(z.agricultural_m2[newly + 1]) / M2_PER_HA,
            "share_change_pp": (None if share_p is None or share_b is None
                                else 100.0 * (share_p - share_b)),
        }
    analysis.extra_inputs.append(info.as_input(config.root))
    for msg in _warnings(info, z, analysis, n):
        analysis.warnings.append(msg)
        log.warning(msg)


def _bounds_text(b: tuple[float, float, float, float]) -> str:
    return f"x {b[0]:,.0f}–{b[2]:,.0f}, y {b[1]:,.0f}–{b[3]:,.0f}"


def _warnings(info: RasterInfo, z: ZonalFigures, analysis, n_areas: int) -> list[str]:
    lc = info.config
    out = []
    absent = [c for c in lc.agricultural_codes if c not in z.values_found]
    if absent:
        shown = ", ".join(str(v) for v in sorted(z.values_found)[:30]) or "inga"
        out.append(f"{lc.path.name}: jordbrukskoden/-koderna {', '.join(map(str, absent))} i "
                   f"[landcover] `agricultural_codes` förekommer aldrig inom "
                   f"utvecklingsområdena (värden där: {shown}); rastersiffrorna räknar dem som "
                   "0 ha. Kontrollera koderna mot rastrets kodlista (NMD: 3 = åkermark).")
    nodata_ha = float(z.nodata_m2[:n_areas].sum()) / M2_PER_HA
    if nodata_ha > 0:
        n_with = int((z.nodata_m2[:n_areas] > 0).sum())
        rule = ("den ytan räknas inte i nämnaren (exclude_nodata = true)" if lc.exclude_nodata
                else "den ytan räknas som annat än jordbruksmark")
        out.append(f"{lc.path.name}: {fmt.hectares(nodata_ha, 2)} i {n_with} "
                   f"utvecklingsområde(n) saknar rasterdata (nodata-pixlar eller utanför "
                   f"rastret); {rule}. Se landcover_nodata_ha i areas.csv.")
    return out


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
    """One line for `opjord validate`."""
    return (f"landcover: {info.path} ({info.driver}, {info.width:,} × {info.height:,} px of "
            f"{info.res[0]:g} m, {info.dtype}, {info.crs}"
            + (" from config" if info.config.crs else "")
            + f", nodata {info.nodata if info.nodata is not None else 'none'}, block "
            f"{info.block_shape[1]}×{info.block_shape[0]}) — agricultural codes "
            f"{', '.join(map(str, info.config.agricultural_codes))}")


__all__ = ["RasterInfo", "ZonalFigures", "inspect_raster", "zonal_landcover", "add_landcover",
           "landcover_share", "agreement_lines", "describe_raster"]
