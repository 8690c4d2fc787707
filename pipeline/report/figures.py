"""Figures of the goal report (matplotlib, PNG, no pyplot state, no basemap download).

Each function returns `(png_bytes, (width_px, height_px), alt_text)`: the size is the
display size in CSS pixels (the PNG has 2× that resolution for print), and the alt
text states the figures that the image shows, so the image is never the only carrier
of a number. Colours are paired with hatches and line styles so that no legend
relies on colour alone. PNGs carry no timestamp or software tag: the same data give
byte-identical files. The words (axes, legends, alt texts) are in `texts.toml`; each
function takes the report's `Texts` and loads opjord's own when given none.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter

from pipeline import fmt
from pipeline.indicators import class_columns
from pipeline.report.data import area_name
from pipeline.report.texts import Texts

CSS_DPI = 96  # display size in the HTML
DPI = 192  # PNG resolution: 2× the display size, sharp on paper
BASE_COLOUR, PLAN_COLOUR = "#8c8c8c", "#1f4e79"
CLASS_STYLES = [("#1b7837", ""), ("#a6dba0", "///"), ("#762a83", ".."), ("#c2a5cf", "xx")]
CHANGE_STYLES = {  # layer: (face, edge, hatch)
    "newly_designated": ("#f4a582", "#b2182b", "////"),
    "released": ("#92c5de", "#2166ac", "\\\\\\\\"),
    "kept": ("#d9d9d9", "#525252", ".."),
}


def _tick(value: float, _pos: object = None) -> str:
    return fmt.number(value, 0 if float(value).is_integer() else 1)


def _png(fig: Figure) -> tuple[bytes, tuple[int, int]]:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    w, h = fig.get_size_inches()
    return buf.getvalue(), (round(w * CSS_DPI), round(h * CSS_DPI))


def share_chart(summary: dict, texts: Texts | None = None
                ) -> tuple[bytes, tuple[int, int], str]:
    """Bar chart: the share of farmland in the development areas, one bar per plan."""
    t = texts or Texts.load()
    plans, base = summary["plans"], summary["baseline"]
    keys = list(plans)
    values = [plans[k]["share"] for k in keys]
    fig = Figure(figsize=(7.0, 3.8))
    ax = fig.add_subplot()
    top = max([100 * v for v in values if v is not None] + [1.0])
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        is_base = key == base
        if value is None:
            ax.text(i, top * 0.04, "\n".join(t.plain_list("share_chart.missing")),
                    ha="center", va="bottom", fontsize=9)
            continue
        ax.bar(i, 100 * value, width=0.6, color=BASE_COLOUR if is_base else PLAN_COLOUR,
               hatch="//" if is_base else "", edgecolor="black", linewidth=0.8)
        ax.text(i, 100 * value + top * 0.02, fmt.percent(value), ha="center", va="bottom",
                fontsize=10, fontweight="bold")
    ax.set_xticks(range(len(keys)),
                  [t.plain("share_chart.baseline", plan=plans[k]["label"]) if k == base
                   else plans[k]["label"] for k in keys])
    ax.set_xlim(-0.6, len(keys) - 0.4)
    ax.set_ylim(0, top * 1.2)
    ax.set_ylabel(t.plain("share_chart.axis"))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    bars = [t.plain("share_chart.bar", plan=plans[k]["label"],
                    share=None if plans[k]["share"] is None else fmt.percent(plans[k]["share"]))
            for k in keys]
    alt = t.plain("share_chart.alt", bars=bars)
    return (*_png(fig), alt)


def _read(gpkg: Path, layer: str, layers: set[str]) -> gpd.GeoDataFrame | None:
    if layer not in layers:
        return None
    gdf = pyogrio.read_dataframe(gpkg, layer=layer)
    return gdf if not gdf.empty else None


def _nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above target_m."""
    exp = 10 ** math.floor(math.log10(target_m))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target_m)


def _scale_bar(ax, xmin: float, ymin: float, width: float, height: float) -> None:
    length = _nice_length(width / 4)
    x0, y0 = xmin + 0.04 * width, ymin + 0.05 * height
    bar_h = 0.012 * height
    for i in range(2):
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, bar_h,
                               facecolor="black" if i == 0 else "white", edgecolor="black",
                               linewidth=0.8, zorder=10))
    text = (f"{fmt.number(length / 1000, 0 if length % 1000 == 0 else 1)} km"
            if length >= 1000 else f"{fmt.number(length, 0)} m")
    for x, label in ((x0, "0"), (x0 + length, text)):
        ax.text(x, y0 + bar_h * 1.6, label, ha="center", va="bottom", fontsize=8, zorder=10,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


def _north_arrow(ax) -> None:
    ax.annotate("", xy=(0.955, 0.90), xytext=(0.955, 0.78), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2,
                            "mutation_scale": 16}, zorder=10)
    ax.text(0.955, 0.91, "N", transform=ax.transAxes, ha="center", va="bottom",
            fontsize=12, fontweight="bold", zorder=10,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


def change_map(summary: dict, gpkg: Path, key: str, texts: Texts | None = None
               ) -> tuple[bytes, tuple[int, int], str]:
    """Overview map of newly designated / released / kept farmland for plan `key`."""
    t = texts or Texts.load()
    base = summary["baseline"]
    label, base_label = summary["plans"][key]["label"], summary["plans"][base]["label"]
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    boundary = _read(gpkg, "boundary", layers)
    areas = _read(gpkg, "areas", layers)
    fig = Figure(figsize=(7.0, 7.4))
    ax = fig.add_subplot()
    handles = []
    bounds = []
    if boundary is not None:
        boundary.boundary.plot(ax=ax, color="#4d4d4d", linewidth=1.6, zorder=1)
        handles.append(Line2D([], [], color="#4d4d4d", lw=1.6,
                              label=t.plain("change_map.boundary")))
        bounds.append(boundary.total_bounds)
    comp = summary["comparisons"][key]
    new_ha = fmt.hectares(comp["newly_designated_ha"])
    released_ha, kept_ha = fmt.hectares(comp["released_ha"]), fmt.hectares(comp.get("kept_ha"))
    legend = {"newly_designated": t.plain("change_map.newly_designated", ha=new_ha),
              "released": t.plain("change_map.released", ha=released_ha),
              "kept": t.plain("change_map.kept", ha=kept_ha)}
    for kind, (face, edge, hatch) in CHANGE_STYLES.items():
        gdf = _read(gpkg, kind, layers)
        if gdf is not None and "plan" in gdf.columns:
            gdf = gdf[gdf["plan"] == key]
            if not gdf.empty:
                gdf.plot(ax=ax, facecolor=face, edgecolor=edge, hatch=hatch, linewidth=0.7,
                         zorder=4 if kind != "kept" else 2)
                bounds.append(gdf.total_bounds)
        handles.append(Patch(facecolor=face, edgecolor=edge, hatch=hatch, label=legend[kind]))
    if areas is not None:
        for plan_key, style in ((base, {"linestyle": "--", "color": "#333333", "lw": 0.9}),
                                (key, {"linestyle": "-", "color": "black", "lw": 1.0})):
            part = areas[areas["plan"] == plan_key]
            if not part.empty:
                part.boundary.plot(ax=ax, zorder=3, **style)
                bounds.append(part.total_bounds)
            handles.append(Line2D([], [], label=t.plain(
                "change_map.areas", plan=summary["plans"][plan_key]["label"]), **style))
    if bounds:
        frame = pd.DataFrame(bounds, columns=["x0", "y0", "x1", "y1"])
        xmin, ymin = frame["x0"].min(), frame["y0"].min()
        xmax, ymax = frame["x1"].max(), frame["y1"].max()
    else:  # nothing to draw: an empty frame still gets its legend
        xmin, ymin, xmax, ymax = 0.0, 0.0, 1000.0, 1000.0
    width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    pad = 0.04 * max(width, height)
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    # the figure follows the map's shape: 7 inches wide, legend below
    fig.set_size_inches(7.0, min(max(7.0 * (ymax - ymin) / (xmax - xmin), 3.0), 8.0) + 1.0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_edgecolor("#999999")
    _scale_bar(ax, xmin, ymin, xmax - xmin, ymax - ymin)
    _north_arrow(ax)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=2,
              fontsize=8, frameon=False)
    fig.tight_layout()
    alt = t.plain("change_map.alt", kommun=summary.get("kommun") or t.plain("document.kommun"),
                  boundary=boundary is not None, base=base_label, plan=label,
                  newly_designated=new_ha, released=released_ha, kept=kept_ha)
    return (*_png(fig), alt)


def top_areas_chart(summary: dict, top: pd.DataFrame, key: str, texts: Texts | None = None
                    ) -> tuple[bytes, tuple[int, int], str]:
    """Horizontal bars: the areas of plan `key` with the most farmland, stacked by class."""
    t = texts or Texts.load()
    classes = list(summary.get("classes", []))
    columns = class_columns(tuple(classes))
    names = [area_name(r) for _, r in top.iterrows()]
    n = len(top)
    fig = Figure(figsize=(7.0, 1.2 + 0.38 * n))
    ax = fig.add_subplot()
    left = [0.0] * n
    handles = []
    for i, c in enumerate(classes):
        col = columns[c]
        if col not in top.columns:
            continue
        values = top[col].astype(float).tolist()
        colour, hatch = CLASS_STYLES[i % len(CLASS_STYLES)]
        ax.barh(range(n), values, left=left, color=colour, hatch=hatch, edgecolor="black",
                linewidth=0.6, height=0.65)
        handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="black", label=c))
        left = [a + b for a, b in zip(left, values, strict=True)]
    totals = top["agricultural_ha"].astype(float).tolist()
    xmax = max(totals + [1.0])
    for i, total in enumerate(totals):
        ax.text(total + xmax * 0.01, i, fmt.hectares(total), va="center", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, xmax * 1.18)
    ax.set_xlabel(t.plain("top_chart.axis"))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.spines[["top", "right"]].set_visible(False)
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    label = summary["plans"][key]["label"]
    bars = [t.plain("top_chart.bar", name=name, ha=fmt.hectares(total))
            for name, total in zip(names, totals, strict=True)]
    alt = t.plain("top_chart.alt", n=fmt.number(n, 0), plan=label, bars=bars)
    return (*_png(fig), alt)
