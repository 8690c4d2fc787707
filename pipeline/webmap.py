"""The public web maps: `maps/index.html`, the overview map and the accessibility statement.

`build_maps(config)` reads only what `opjord analyse` wrote to data/processed
(summary.json, areas.csv, analysis.gpkg) — every figure on the pages comes from
there, never from the simplified web geometries — and writes `config.output.maps`
as a self-contained static folder:

    maps/index.html              start page: the maps, headline figures, links
    maps/oversikt.html           overview map (folium/Leaflet), legend, summary, table
    maps/tillganglighet.html     tillgänglighetsredogörelse (accessibility statement)
    maps/scenario.html           scenario page: tick areas, exact share (`scenario_page`)
    maps/scenario-data.js        its data: the faces of scenario.json
    maps/assets/                 the pages' own CSS and JS
    maps/data/                   the context layers per zoom level and tile (`pipeline.webdata`)
    maps/vendor/leaflet/         Leaflet, shipped with the package (no CDN)

The pages make no third-party request except the basemap tiles the config names
(none with `basemap = "none"`). Every data or config string that reaches HTML is
escaped (`html.escape`), strings reaching JavaScript go through HTML-safe JSON,
and only whitelisted, pre-formatted properties are exported to the page. The same
inputs give byte-identical pages: folium's random element ids are numbered (`stable_ids`).

The pages are written into a staging folder of a `pipeline.outputs` publication,
which replaces the previous maps only when the whole run has succeeded; files in
maps/ that opjord did not write (a README) are left alone. Every page carries the
run id of the analysis it shows (`<meta name="opjord-run">` and the footer).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from markupsafe import Markup

from pipeline import ANALYSIS_CRS, fmt
from pipeline.basemaps import BASEMAPS
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.outputs import publishing
from pipeline.results import (
    LANDCOVER_COLUMNS,
    SCENARIO_PAGE,
    AreaColumn,
    Processed,
    area_columns,
    farmland_beside,
    goal_text,
    ratio_trap_short,
    ratio_trap_text,
    read_processed,
    status_label,
)
from pipeline.scenario_page import MapKit, build_scenario
from pipeline.styles import (
    BOUNDARY_STYLE,
    CONTEXT_STYLE,
    PLAN_LINES,
    LayerStyle,
    change_styles,
    class_style,
    plan_style,
)
from pipeline.values import ranks
from pipeline.webdata import CompactLayer, compact_layer, data_files, tile_path

log = logging.getLogger(__name__)

INDEX, OVERVIEW, STATEMENT = "index.html", "oversikt.html", "tillganglighet.html"
MAP_LAYERS = ("areas", "agricultural_in_areas", "newly_designated", "released", "boundary")
WEB_CRS = "EPSG:4326"
COORD_DECIMALS = 5  # ≈ 1 m north–south, 0.6 m east–west: below the 2 m simplification
FIT_TOP_LEFT = (56, 16)  # px kept free of the development areas: the zoom buttons
FIT_BOTTOM_RIGHT = (16, 44)  # px: the scale bar and the attribution
TABLE_INLINE_ROWS = 300  # larger area tables reach the page as data (`table_data`)


# Basemaps by config name: (tile URL, attribution HTML, Swedish name). Written here, not
# taken from data, so the attribution may hold links; a custom attribution is escaped.
# Lantmäteriet's "Topografisk webbkarta Visning, cache" (CC BY 4.0) is a WMTS in EPSG:3857
# whose REST tiles are addressed as …/1.0.0/<layer>/default/3857/{z}/{y}/{x}.png, with the
# API key from Lantmäteriet's API portal in the path; `{apikey}` is filled in at build time
# from the environment variable `[webmap] api_key_env` names (see docs/config.md).
# ---------------------------------------------------------------------------- inputs


def read_context_farmland(config: Config, summary: dict, areas: gpd.GeoDataFrame
                          ) -> gpd.GeoDataFrame | None:
    """All counted farmland within `context_buffer_m` of the areas (whole features), or None.

    Display only: read from the configured agricultural layer when its sha256 still
    equals the one the analysis recorded; otherwise the layer is left out (logged).
    Features are kept whole (a field is not cut at the distance): a spatial index of the
    areas finds the features within the distance, so no buffer of their union is built.
    """
    from pipeline.clean import clean_polygons
    from pipeline.read import inspect_source, read_source

    source = config.agricultural_land
    buffer_m = config.webmap.context_buffer_m
    if buffer_m <= 0 or areas.empty:
        return None
    recorded = {i.get("role"): i.get("sha256") for i in summary.get("inputs", [])}
    try:
        info = inspect_source(source, [source.class_column])
    except InputError as exc:
        log.warning("Jordbruksmarken runt områdena visas inte på kartan: %s", exc)
        return None
    if recorded.get(source.role) not in (None, info.sha256):
        log.warning("Jordbruksmarken runt områdena visas inte på kartan: %s har ändrats sedan "
                    "(en annan sha256); kör `opjord analyse` igen.", source.path)
        return None
    area_geoms = areas.geometry.array.to_numpy()
    grow = np.array([-buffer_m, -buffer_m, buffer_m, buffer_m])
    boxes = shapely.box(*(shapely.bounds(area_geoms) + grow).T)
    gdf = read_source(info, columns=[source.class_column], mask=shapely.union_all(boxes))
    gdf, _ = clean_polygons(gdf, source, layer=info.layer)  # the analysis' own repairs
    rank = ranks(gdf[source.class_column], source.classes)  # as the analysis counts them
    geoms = gdf.geometry.array.to_numpy()
    # The tree holds the features and the areas query it: the query side is prepared.
    near = shapely.STRtree(geoms).query(area_geoms, predicate="dwithin", distance=buffer_m)[1]
    keep = np.zeros(len(geoms), dtype=bool)
    keep[near] = True
    keep &= (rank >= 0) & ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    return gpd.GeoDataFrame({"class": np.asarray(source.classes, dtype=object)[rank[keep]]},
                            geometry=geoms[keep], crs=ANALYSIS_CRS)


# ---------------------------------------------------------------------------- geometry


def web_features(gdf: gpd.GeoDataFrame, properties: list[dict] | None, *,
                 tolerance_m: float) -> dict:
    """A GeoJSON FeatureCollection for the page: simplified, in EPSG:4326, rounded.

    Simplification happens in EPSG:3006 (metres) with topology preserved; only the
    given `properties` (already formatted and escaped) are exported.
    """
    if gdf.crs is None or gdf.crs.to_epsg() != 3006:
        gdf = gdf.to_crs(ANALYSIS_CRS)
    geoms = gdf.geometry.array.to_numpy()
    if tolerance_m > 0:
        geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    wgs = gpd.GeoSeries(geoms[keep], crs=ANALYSIS_CRS).to_crs(WEB_CRS).array.to_numpy()
    wgs = shapely.transform(wgs, lambda xy: np.round(xy, COORD_DECIMALS))
    props = properties if properties is not None else [{} for _ in range(len(gdf))]
    props = [p for p, k in zip(props, keep, strict=True) if k]
    shapes = json.loads("[" + ",".join(shapely.to_geojson(wgs)) + "]") if len(wgs) else []
    features = [{"type": "Feature", "properties": p, "geometry": g}
                for p, g in zip(props, shapes, strict=True)]
    return {"type": "FeatureCollection", "features": features}


def distinct(geoms: np.ndarray) -> np.ndarray:
    """`geoms` without repeats (the same piece in two plans), in first-seen order.

    Overlapping pieces need no union: a tile's pieces of one class are one canvas path
    filled by the non-zero rule, so an overlap is filled once.
    """
    _, first = np.unique(shapely.to_wkb(shapely.normalize(geoms)), return_index=True)
    return geoms[np.sort(first)]


# ---------------------------------------------------------------------------- text


def esc(value: object) -> str:
    """HTML-escape any value for a page or for an innerHTML sink (tooltips, popups)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: float) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def status_sv(status: str) -> str:
    """The Swedish status word, "–" for the baseline's own areas."""
    return status_label(status) or "–"


def map_columns(processed: Processed) -> list[AreaColumn]:
    """The area columns the map shows: all of them (see `pipeline.results.area_columns`)."""
    summary = processed.summary
    return area_columns(summary.get("classes", []),
                        landcover=LANDCOVER_COLUMNS[0].name in processed.areas.columns,
                        baseline_label=summary["plans"][summary["baseline"]]["label"])


def format_cell(column: AreaColumn, row: dict | pd.Series, labels: dict[str, str], *,
                unit: bool) -> str:
    """The Swedish display text of one areas.csv cell (not yet escaped)."""
    value = row[column.name]
    if column.kind == "ha":
        return fmt.hectares(_num(value)) if unit else fmt.number(_num(value))
    if column.kind == "share":
        return fmt.percent(_num(value))
    if column.kind == "pp":
        return (fmt.percentage_points(_num(value)) if unit
                else fmt.number(_num(value), sign=True))
    if column.name == "plan":
        return labels.get(value, value)
    if column.name == "status":
        return status_sv(value)
    return "" if pd.isna(value) else str(value)


def sort_value(column: AreaColumn, row: dict | pd.Series) -> str:
    value = row[column.name]
    if column.kind in ("ha", "share", "pp"):
        v = _num(value)
        return "" if v is None else repr(v)
    return format_cell(column, row, {}, unit=False).casefold()


# ---------------------------------------------------------------------------- folium


class _Map(folium.Map):
    """folium.Map without its blocking viewport meta and full-window styles.

    The page template owns <head> (lang, title, viewport that allows zoom) and
    the layout; zoom buttons get Swedish titles; the scale is metric.
    """

    _template = Template("""
{% macro header(this, kwargs) %}{% endmacro %}
{% macro html(this, kwargs) %}
<div class="folium-map opjord-karta" id={{ this.get_name()|tojson }}></div>
{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.map({{ this.get_name()|tojson }}, {
    center: {{ this.location|tojson }},
    crs: L.CRS.{{ this.crs }},
    ...{{ this.options|tojavascript }}
});
L.control.zoom({position: "topleft", zoomInTitle: "Zooma in",
                zoomOutTitle: "Zooma ut"}).addTo({{ this.get_name() }});
L.control.scale({imperial: false}).addTo({{ this.get_name() }});
{{ this.get_name() }}.getContainer().setAttribute("aria-label",
    "Karta. Alla siffror finns också i tabellen under kartan.");
{{ this.get_name() }}.getContainer().setAttribute("role", "region");
{% endmacro %}
""")


class _Hooks(MacroElement):
    """Swedish labels for Leaflet's popups and `window.opjord` (map and layers by key).

    `window.opjord` is read by the page's own script (`assets/karta.js`: layer panel,
    search, links, compare) and by the browser tests; it holds no data beyond the layers.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map.get_name() }};
    map.on("popupopen", function (e) {
        var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
        if (close) {
            close.setAttribute("aria-label", "Stäng");
            close.title = "Stäng";
        }
    });
    window.opjord = {map: map, layers: {
        {%- for key, layer in this.layers.items() %}
        {{ key|tojson }}: {{ layer.get_name() }},
        {%- endfor %}
    }};
})();
{% endmacro %}
""")

    def __init__(self, map_: folium.Map, layers: dict[str, folium.FeatureGroup]):
        super().__init__()
        self._name = "OpjordHooks"
        self.map, self.layers = map_, layers


class _Kontext(MacroElement):
    """A context layer drawn on the canvas by `assets/kontext.js` from its data files."""

    _template = Template("""
{% macro script(this, kwargs) %}
opjordKontext.layer({{ this.map.get_name() }}, {{ this.group.get_name() }}, {{ this.spec|tojson }});
{% endmacro %}
""")

    def __init__(self, map_: folium.Map, group: folium.FeatureGroup, layer: MapLayer, *,
                 pane: str | None = None):
        super().__init__()
        self._name = "OpjordKontext"
        self.map, self.group = map_, group
        # `pane`: a plan's own layer (newly designated, released) is drawn on a canvas of
        # its own pane below the areas, which the compare view clips with the plan's pane
        # (`assets/karta.js`); the others share one canvas
        self.spec = {"id": layer.compact.index, "key": layer.style.key,
                     "style": {**layer.style.leaflet(), "className": layer.style.css_class},
                     "tooltip": [list(f) for f in layer.tooltip or []],
                     "levels": layer.compact.spec(), "pane": pane}


def _basemap(config: Config) -> tuple[str, str, str] | None:
    """(tile URL with the API key filled in, attribution HTML, Swedish name), or None.

    The key is read from the environment variable `[webmap] api_key_env` names, at the
    moment the maps are built: it reaches the published page (browsers fetch the tiles),
    never the config. Raises InputError when the variable is unset or empty.
    """
    from urllib.parse import quote

    w = config.webmap
    if w.basemap == "none":
        return None
    if w.basemap == "custom":
        url, attribution, name = w.tile_url or "", esc(w.attribution), "Bakgrundskarta"
    else:
        url, attribution, name = BASEMAPS[w.basemap]
    if "{apikey}" in url:
        key = os.environ.get(w.api_key_env or "", "").strip()
        if not key:
            raise InputError(
                f"{config.path}: [webmap] basemap = {w.basemap!r} behöver en API-nyckel, men "
                f"miljövariabeln {w.api_key_env or '(api_key_env saknas)'} är inte satt. "
                f"Åtgärd: sätt {w.api_key_env or 'LM_API_KEY'} till nyckeln från Lantmäteriets "
                'API-portal när kartorna byggs, eller välj basemap = "osm" eller "none".')
        url = url.replace("{apikey}", quote(key, safe=""))
    return url, attribution, name


def tile_host(config: Config) -> str | None:
    """The host the overview page may fetch tiles from (None: no basemap)."""
    from urllib.parse import urlsplit

    basemap = _basemap(config)
    return urlsplit(basemap[0]).hostname if basemap else None


def _add_geojson(group: folium.FeatureGroup, data: dict, style: LayerStyle, *,
                 tooltip_fields: list[tuple[str, str]] | None = None,
                 popup_fields: list[tuple[str, str]] | None = None,
                 highlight: bool = False, pane: str | None = None) -> None:
    if not data["features"]:
        return
    kwargs: dict = {"className": style.css_class}
    if pane:
        kwargs["pane"] = pane
    tooltip = popup = None
    if tooltip_fields:
        tooltip = folium.GeoJsonTooltip(fields=[f for f, _ in tooltip_fields],
                                        aliases=[esc(a) for _, a in tooltip_fields],
                                        sticky=True, class_name="opjord-tooltip")
    if popup_fields:
        popup = folium.GeoJsonPopup(fields=[f for f, _ in popup_fields],
                                    aliases=[esc(a) for _, a in popup_fields],
                                    class_name="opjord-popup", max_width=320)
    leaflet_style = style.leaflet()
    if highlight:
        hover = {**leaflet_style, "weight": style.weight + 2, "fillOpacity": 0.2}
        folium.GeoJson(data, style_function=lambda _f: leaflet_style,
                       highlight_function=lambda _f: hover, tooltip=tooltip, popup=popup,
                       **kwargs).add_to(group)
    else:
        folium.GeoJson(data, style=leaflet_style, tooltip=tooltip, popup=popup,
                       **kwargs).add_to(group)


@dataclass
class MapLayer:
    style: LayerStyle
    data: dict | None  # GeoJSON (folium); None for a context layer drawn from `compact`
    tooltip: list[tuple[str, str]] | None = None
    popup: list[tuple[str, str]] | None = None
    highlight: bool = False
    index: list[dict] | None = None  # development areas: search records, in feature order
    compact: CompactLayer | None = None  # per-zoom tiles on the canvas (`pipeline.webdata`)


def plan_pane(key: str) -> str:
    """The Leaflet pane of a plan's own layers (its areas and, for a later plan, the farmland
    it newly designates or releases): `assets/karta.js` clips it for the compare view."""
    return f"plan-{key}"


def _pane_of(style_key: str, plan_keys: list[str]) -> str | None:
    for prefix in ("omraden-", "ny-", "frislappt-"):
        if style_key.startswith(prefix) and style_key[len(prefix):] in plan_keys:
            return plan_pane(style_key[len(prefix):])
    return None


def area_link(plan: str, area_id: str) -> str:
    """The fragment that opens the overview map on one area: `omrade=<plan>:<id>`."""
    from urllib.parse import quote

    return "omrade=" + quote(f"{plan}:{area_id}", safe=":")




def context_files(map_layers: list[MapLayer]) -> dict[str, str]:
    """The context layers' tile files: path below maps/ -> JavaScript."""
    return data_files([la.compact for la in map_layers if la.compact is not None])


def _compact(style: LayerStyle, geoms: np.ndarray, tol: float, index: int, *,
             tooltip: list[tuple[str, str]] | None = None,
             props: dict[str, list[str]] | None = None,
             merge: np.ndarray | None = None) -> MapLayer:
    """A context layer as compact tiles (see `pipeline.webdata`)."""
    return MapLayer(style, None, tooltip=tooltip,
                    compact=compact_layer(geoms, index=index, tolerance_m=tol, props=props,
                                          merge=merge))


def build_layers(config: Config, processed: Processed) -> list[MapLayer]:
    """Every map layer, bottom to top, with its web geometries and whitelisted properties."""
    summary = processed.summary
    layers = {name: gdf for name in MAP_LAYERS if (gdf := processed.layer(name)) is not None}
    tol = config.webmap.simplify_tolerance_m
    plans = summary["plans"]
    labels = {k: p["label"] for k, p in plans.items()}
    base = summary["baseline"]
    classes = list(summary.get("classes", []))
    out: list[MapLayer] = []

    areas_geo = layers.get("areas")
    if areas_geo is not None:
        context = read_context_farmland(config, summary, areas_geo)
        if context is not None and not context.empty:
            codes, names = pd.factorize(context["class"])  # one shape per class and tile
            out.append(_compact(CONTEXT_STYLE, context.geometry.array.to_numpy(), tol, len(out),
                                tooltip=[("klass", "Jordbruksmark")],
                                props={"klass": list(context["class"])}, merge=codes))

    pieces = layers.get("agricultural_in_areas")
    for i, value in enumerate(classes):
        if pieces is None:
            break
        style = class_style(value, i)
        geoms = distinct(pieces[pieces["class"] == value].geometry.array.to_numpy())
        out.append(_compact(style, geoms, tol, len(out), merge=np.zeros(len(geoms), dtype=int)))

    for key in plans:
        if key == base:
            continue
        newly, released = change_styles(key, labels[key], labels[base])
        for style, layer in ((newly, "newly_designated"), (released, "released")):
            gdf = layers.get(layer)
            if gdf is None:
                continue
            part = gdf[gdf["plan"] == key]
            props = {"klass": [str(c) for c in part["class"]],
                     "ha": [fmt.hectares(a) for a in part["area_ha"]]}
            out.append(_compact(style, part.geometry.array.to_numpy(), tol, len(out),
                                tooltip=[("klass", "Jordbruksmark"), ("ha", "Areal")],
                                props=props))

    if "boundary" in layers:
        geoms = layers["boundary"].geometry.array.to_numpy()
        out.append(_compact(BOUNDARY_STYLE, geoms, tol, len(out),
                            merge=np.zeros(len(geoms), dtype=int)))

    if areas_geo is not None:
        columns = map_columns(processed)
        by_name = {c.name: c for c in columns}
        table = processed.areas.assign(area_id=processed.areas["area_id"].astype(str)
                                       ).set_index(["plan", "area_id"])
        number = 0
        for index, key in enumerate(_plan_order(summary)):
            geo = areas_geo[areas_geo["plan"] == key]
            ids = list(geo["area_id"].astype(str))
            rows = table.loc[[(key, a) for a in ids]].reset_index().to_dict("records")
            props, records = [], []
            for area_id, row in zip(ids, rows, strict=True):
                nr = str(number)
                number += 1
                link = f"{OVERVIEW}#{area_link(key, area_id)}"
                props.append({**{c.name: esc(format_cell(c, row, labels, unit=True))
                                 for c in columns}, "nr": nr,
                              "lank": f'<a href="{esc(link)}">Länk till området</a>'})
                records.append({"nr": nr, "plan": key, "plan_label": labels[key],
                                "id": area_id, "name": format_cell(by_name["name"], row, labels,
                                                                   unit=False),
                                "type": format_cell(by_name["type"], row, labels,
                                                    unit=False),
                                "href": link})
            fields = [(c.name, c.label.replace(" (ha)", "")) for c in columns]
            out.append(MapLayer(plan_style(key, labels[key], index),
                                web_features(geo, props, tolerance_m=tol),
                                tooltip=[f for f in fields if f[0] in ("name", "plan", "share")],
                                popup=[*fields, ("lank", "Länk")], highlight=True,
                                index=records))
    return out


def _plan_order(summary: dict) -> list[str]:
    """Baseline first, then the later plans in config order."""
    base = summary["baseline"]
    return [base] + [k for k in summary["plans"] if k != base]


def folium_map(config: Config, map_layers: list[MapLayer], *,
               layer_control: bool = False) -> folium.Map:
    """The overview map as a folium map: basemap, layers on their panes, Swedish controls.

    Leaflet is not yet attached: `render_map` links the vendored copy for the web
    pages, `overview_map` inlines it for a notebook.
    """
    m = _Map(location=None, tiles=None, zoom_control=False, control_scale=False,
             prefer_canvas=False)
    m.default_js, m.default_css = [], []
    basemap = _basemap(config)
    if basemap is not None:
        url, attribution, name = basemap
        folium.TileLayer(tiles=url, attr=attribution, name=esc(name), control=False,
                         max_zoom=19).add_to(m)
    plan_keys = [la.style.key.removeprefix("omraden-") for la in map_layers
                 if la.index is not None]
    for z, key in enumerate(plan_keys):  # later plans above the baseline, all above overlayPane
        folium.map.CustomPane(plan_pane(key), z_index=410 + z, pointer_events=True).add_to(m)
    groups: dict[str, folium.FeatureGroup] = {}
    for layer in map_layers:
        group = folium.FeatureGroup(name=esc(layer.style.name), show=layer.style.show,
                                    control=False)
        if layer.compact is None:
            _add_geojson(group, layer.data, layer.style, tooltip_fields=layer.tooltip,
                         popup_fields=layer.popup, highlight=layer.highlight,
                         pane=_pane_of(layer.style.key, plan_keys))
        group.add_to(m)
        groups[layer.style.key] = group
    for layer in map_layers:  # on canvases below the areas (`_Kontext`)
        if layer.compact is not None:
            pane = _pane_of(layer.style.key, plan_keys)
            _Kontext(m, groups[layer.style.key], layer,
                     pane=f"{pane}-kontext" if pane else None).add_to(m)
    # The web page's layer panel beside the map switches the layers; only a notebook, which
    # has no panel, gets Leaflet's (collapsed) layer control.
    if layer_control:
        for group in groups.values():
            group.control = True
        folium.LayerControl(position="topright", collapsed=True).add_to(m)
    _Hooks(m, groups).add_to(m)
    bounds = _bounds(map_layers)
    if bounds:  # room for the zoom buttons (top left), scale and attribution (bottom)
        m.fit_bounds(bounds, padding_top_left=FIT_TOP_LEFT, padding_bottom_right=FIT_BOTTOM_RIGHT)
    return m


def render_map(config: Config, map_layers: list[MapLayer]) -> dict[str, Markup]:
    """The folium map as page parts: head links, the map element, its script and the
    <script> elements of the context layers' overview files (`data`)."""
    parts = _page_parts(folium_map(config, map_layers),
                        [("opjord_kontext", "assets/kontext.js")])
    first = sorted({tile_path(0, t.id) for la in map_layers if la.compact
                    for t in la.compact.levels[0]})
    data = "".join(f'<script src="{esc(src)}"></script>\n' for src in first)
    return {**parts, "data": Markup(data + "<script>opjordKontext.ready();</script>\n")}


def _page_parts(m: folium.Map, scripts: list[tuple[str, str]] = ()) -> dict[str, Markup]:
    """A folium map rendered for a page: vendored Leaflet (and `scripts`) linked, ids
    numbered."""
    m.default_js = [("leaflet", "vendor/leaflet/leaflet.js"), *scripts]
    m.default_css = [("leaflet_css", "vendor/leaflet/leaflet.css")]
    figure = m.get_root()
    figure.header._children.pop("meta_http", None)  # the page template declares the charset
    stable_ids(figure)
    figure.render()
    return {"head": Markup(figure.header.render()), "map": Markup(figure.html.render()),
            "script": Markup(figure.script.render())}


class _InlineAssets(MacroElement):
    """Leaflet (JS, CSS with its images as data URIs) and the pages' CSS inside <head>.

    For a notebook: Jupyter shows a folium map in an iframe `srcdoc`, where the
    relative links of the web pages do not resolve, and no CDN is wanted.
    """

    _template = Template("""
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>{{ this.js }}</script>
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "OpjordInlineAssets"
        package = resources.files("pipeline")
        leaflet = package / "vendor" / "leaflet"
        css = (leaflet / "leaflet.css").read_text(encoding="utf-8")
        for image in ("layers.png", "layers-2x.png", "marker-icon.png"):
            data = base64.b64encode((leaflet / "images" / image).read_bytes()).decode("ascii")
            css = css.replace(f"url(images/{image})", f"url(data:image/png;base64,{data})")
        css += (package / "static" / "opjord.css").read_text(encoding="utf-8")
        css += ("html, body { width: 100%; height: 100%; }\n"
                ".opjord-karta { position: absolute; inset: 0; width: 100%; height: 100%; "
                "min-height: 0; }\n")
        js = (leaflet / "leaflet.js").read_text(encoding="utf-8")
        js += "\n" + (package / "static" / "kontext.js").read_text(encoding="utf-8")
        # Inside <script>, only "</script" (any case) could end the element early.
        self.css = Markup(re.sub(r"(?i)</style", r"<\\/style", css))
        self.js = Markup(re.sub(r"(?i)</script", r"<\\/script", js))


class _InlineData(MacroElement):
    """Every context-layer tile inside the map's script (a notebook has no maps/data/)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this.js }}
opjordKontext.ready();
{% endmacro %}
""")

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__()
        self._name = "OpjordInlineData"
        js = "".join(files[name] for name in sorted(files))
        self.js = Markup(re.sub(r"(?i)</script", r"<\\/script", js))


def overview_map(config: Config) -> folium.Map:
    """The overview map of the web pages from data/processed, self-contained for a notebook.

    The same layers, styles and figures as `maps/oversikt.html` (`build_layers`,
    `folium_map`), with Leaflet and the pages' CSS inlined: in Jupyter the map
    shows inline with no request other than the configured basemap tiles.
    Raises InputError when the analysis outputs are missing.
    """
    map_layers = build_layers(config, read_processed(config.output.processed))
    m = folium_map(config, map_layers, layer_control=True)
    m.add_child(_InlineAssets(), name="opjord_inline_assets", index=0)
    m.add_child(_InlineData(context_files(map_layers)), name="opjord_inline_data")
    stable_ids(m.get_root())
    return m


_RANDOM_ID = re.compile(r"[0-9a-f]{32}")  # branca: hexlify(urandom(16)); folium: uuid4().hex


def stable_ids(root: Element) -> None:
    """Number every element under `root` in tree order, so a page is the same on every run.

    branca gives each element a random `_id`, and `get_name()` (the JavaScript
    variable and HTML id, e.g. `geo_json_<id>`) is built from it. Here the elements
    are numbered depth first in the order they were added, which is the same for
    the same inputs; `_name` + number stays unique within the page. Names folium
    copied while building follow: the keys of `_children` and string attributes
    holding an old name or random id (a layer's default `layer_name`, which folium
    takes before the class sets `_name`; a MethodCall's `target`). Call it after the
    tree is built and before it is rendered: what folium adds while rendering is
    keyed by these names and never prints its own id.
    """
    elements: list[Element] = []
    seen: set[int] = set()

    def walk(element: Element) -> None:
        if id(element) not in seen:
            seen.add(id(element))
            elements.append(element)
            for child in element._children.values():
                walk(child)

    walk(root)
    old_names = [e.get_name() for e in elements]
    new_ids = {}
    for number, element in enumerate(elements):
        if _RANDOM_ID.fullmatch(element._id):
            new_ids[element._id] = str(number)
        element._id = str(number)
    renamed = {old: e.get_name() for old, e in zip(old_names, elements, strict=True)}

    def follow(text: str) -> str:
        if text in renamed:
            return renamed[text]
        return _RANDOM_ID.sub(lambda m: new_ids.get(m.group(), m.group()), text)

    for element in elements:
        element._children = type(element._children)(
            (follow(key), child) for key, child in element._children.items())
        for attr, value in list(vars(element).items()):
            if isinstance(value, str) and follow(value) != value:
                setattr(element, attr, follow(value))


def _bounds(map_layers: list[MapLayer]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the development areas (all layers if none)."""
    chosen = [la for la in map_layers if la.style.key.startswith("omraden-")] or map_layers
    coords = []
    for layer in chosen:
        if layer.compact is not None:
            coords += [(t.bounds[1], t.bounds[0], t.bounds[3], t.bounds[2])
                       for t in layer.compact.levels[0]]
        elif layer.data["features"]:
            coords.append(shapely.bounds(shapely.from_geojson(json.dumps(layer.data))))
    if not coords:
        return None
    b = np.array(coords)
    return [[float(b[:, 1].min()), float(b[:, 0].min())],
            [float(b[:, 3].max()), float(b[:, 2].max())]]


def area_index(map_layers: list[MapLayer]) -> list[dict]:
    """One record per drawn development area for the page's search, links and point symbols.

    Plain (unescaped) strings: the page reads them as JSON and shows them as text. `bounds`
    is [[south, west], [north, east]] and `point` [lat, lon] a point on the drawn shape.
    """
    out = []
    for layer in map_layers:
        if layer.index is None:
            continue
        records = {r["nr"]: r for r in layer.index}
        features = layer.data["features"]
        if not features:
            continue
        # One parse per layer: the features' geometries, in order (a GeometryCollection).
        geoms = shapely.get_parts(shapely.from_geojson(json.dumps(layer.data)))
        bounds = shapely.bounds(geoms).tolist()
        points = shapely.get_coordinates(shapely.point_on_surface(geoms)).tolist()
        for feature, (w, s_, e, n), (x, y) in zip(features, bounds, points, strict=True):
            out.append({**records[feature["properties"]["nr"]], "bounds": [[s_, w], [n, e]],
                        "point": [round(y, COORD_DECIMALS), round(x, COORD_DECIMALS)]})
    return out


# ---------------------------------------------------------------------------- pages


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("pipeline") / "templates")),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined)
    env.filters["ha"] = fmt.hectares
    env.filters["pct"] = fmt.percent
    env.filters["pp"] = fmt.percentage_points
    env.filters["num"] = fmt.number
    return env


def headline(summary: dict) -> dict:
    """Headline figures per plan and comparison, as display text."""
    plans = summary["plans"]
    base = summary["baseline"]
    return {
        "plans": [{"label": plans[k]["label"], "share": fmt.percent(plans[k]["share"]),
                   "agricultural": fmt.hectares(plans[k]["agricultural_ha"]),
                   "development": fmt.hectares(plans[k]["development_area_ha"]),
                   "baseline": k == base}
                  for k in _plan_order(summary)],
        "comparisons": [{"label": plans[k]["label"], "base": plans[base]["label"],
                         "change": fmt.percentage_points(c["share_change_pp"]),
                         "goal_met": c["goal_met"], "goal": goal_text(c["goal_met"], reason=True),
                         "agricultural": fmt.hectares(plans[k]["agricultural_ha"]),
                         "base_agricultural": fmt.hectares(plans[base]["agricultural_ha"]),
                         "caveat": (ratio_trap_short(plans[k], plans[base])
                                    if c.get("ratio_trap") else ""),
                         "newly": fmt.hectares(c.get("newly_designated_ha")),
                         "released": fmt.hectares(c.get("released_ha"))}
                        for k, c in summary["comparisons"].items()],
    }


def summary_paragraphs(summary: dict) -> list[str]:
    """Plain-text Swedish sentences stating every headline figure."""
    plans, base = summary["plans"], summary["baseline"]
    out = []
    for key in _plan_order(summary):
        p = plans[key]
        by_class = ", ".join(f"{c.lower()} {fmt.hectares(v)}"
                             for c, v in p["agricultural_ha_by_class"].items())
        if p["share"] is None:
            out.append(f"{p['label']} har inga utvecklingsområden, så andelen jordbruksmark "
                       "kan inte beräknas.")
            continue
        out.append(
            f"{p['label']} pekar ut {fmt.number(p['n_areas'], 0)} utvecklingsområden på "
            f"sammanlagt {fmt.hectares(p['development_area_ha'])} (överlapp räknas en gång). "
            f"Av dem är {fmt.hectares(p['agricultural_ha'])} jordbruksmark ({by_class}), "
            f"en andel på {fmt.percent(p['share'])}. Det är "
            f"{fmt.percent(p['share_of_municipal_agricultural_land'])} av all jordbruksmark "
            "i kommunen.")
    for key, c in summary["comparisons"].items():
        caveat = f"{ratio_trap_text(plans[key], plans[base])} " if c.get("ratio_trap") else ""
        out.append(
            f"Jämfört med {plans[base]['label']} ändras andelen i {plans[key]['label']} med "
            f"{fmt.percentage_points(c['share_change_pp'])} "
            f"({farmland_beside(plans[key], plans[base])}), så "
            f"{goal_text(c['goal_met'], reason=True)}. {caveat}"
            f"{plans[key]['label']} pekar ut {fmt.hectares(c.get('newly_designated_ha'))} "
            f"jordbruksmark som inte låg i {plans[base]['label']}s utvecklingsområden "
            f"(nyutpekad), och {fmt.hectares(c.get('released_ha'))} som låg där inte längre "
            "är utpekad (frisläppt).")
    return out


def table_rows(processed: Processed) -> tuple[list[AreaColumn], list[dict]]:
    """The areas table: columns and, per row, its link (`href`, `ref` = "<plan>:<id>") and
    `cells` with display text and sort value."""
    summary = processed.summary
    labels = {k: p["label"] for k, p in summary["plans"].items()}
    columns = map_columns(processed)
    order = {k: i for i, k in enumerate(_plan_order(summary))}
    frame = processed.areas.assign(_o=processed.areas["plan"].map(order)).sort_values(
        ["_o", "area_id"], kind="stable")
    rows = [{"ref": f"{row['plan']}:{row['area_id']}",
             "href": f"{OVERVIEW}#{area_link(row['plan'], str(row['area_id']))}",
             "cells": [{"text": format_cell(c, row, labels, unit=False),
                        "sort": sort_value(c, row), "numeric": c.kind != "text"}
                       for c in columns]}
            for row in frame.to_dict("records")]
    return columns, rows


def table_data(columns: list[AreaColumn], rows: list[dict]) -> dict:
    """The table's rows as compact data for `assets/tabell.js` (a large table): per row
    [ref, href, texts, sort values], plain (unescaped) strings that the script sets as text."""
    return {"numeric": [c.kind != "text" for c in columns],
            "rows": [[r["ref"], r["href"], [c["text"] for c in r["cells"]],
                      [c["sort"] for c in r["cells"]]] for r in rows]}


def build_pages(config: Config, processed: Processed) -> dict[str, str]:
    """Render every page and the context layers' data files: path below maps/ -> text."""
    env = _env()
    summary = processed.summary
    basemap = _basemap(config)
    map_layers = build_layers(config, processed)
    parts = render_map(config, map_layers)
    columns, rows = table_rows(processed)
    base_label = summary["plans"][summary["baseline"]]["label"]
    from pipeline.publication import publication

    common = {"summary": summary,
              "kommun": summary.get("kommun") or config.kommun or "kommunen",
              "publication": publication(config),
              "demo": bool(summary.get("demo")), "headline": headline(summary),
              "basemap_name": basemap[2] if basemap else None,
              "tile_host": tile_host(config), "base_label": base_label,
              "scenario": bool(processed.scenario),
              "pages": {"index": INDEX, "overview": OVERVIEW, "statement": STATEMENT,
                        "scenario": SCENARIO_PAGE}}
    legend = [la.style for la in map_layers]
    order = _plan_order(summary)
    plans = [{"key": k, "label": summary["plans"][k]["label"], "baseline": k == order[0],
              "color": PLAN_LINES[i % len(PLAN_LINES)][0], "pane": plan_pane(k),
              "layers": [s.key for s in legend if _pane_of(s.key, [k])]}
             for i, k in enumerate(order)]
    page_data = {"plans": plans, "areas": area_index(map_layers)}
    # A large table is filled by assets/tabell.js after the map's first frame: parsing and
    # laying out thousands of rows as HTML would delay it by seconds (benchmarks/README.md).
    deferred = table_data(columns, rows) if len(rows) > TABLE_INLINE_ROWS else None
    pages = context_files(map_layers) | {
        OVERVIEW: env.get_template("oversikt.html.j2").render(
            **common, parts=parts, legend=legend, paragraphs=summary_paragraphs(summary),
            columns=columns, rows=[] if deferred else rows, table_data=deferred,
            page_data=page_data, plans=plans),
        INDEX: env.get_template("index.html.j2").render(**common),
        STATEMENT: env.get_template("tillganglighet.html.j2").render(**common),
    }
    if common["scenario"]:
        pages.update(build_scenario(config, processed, env, common, MapKit(
            new_map=lambda: _Map(location=None, tiles=None, zoom_control=False,
                                 control_scale=False, prefer_canvas=False),
            features=web_features, esc=esc,
            bounds=lambda shapes: _bounds([MapLayer(BOUNDARY_STYLE, d) for d in shapes]),
            parts=_page_parts)))
    return pages


# ---------------------------------------------------------------------------- writing


def _copy_assets(folder: Path) -> None:
    package = resources.files("pipeline")
    leaflet = folder / "vendor" / "leaflet"
    (leaflet / "images").mkdir(parents=True)
    src = package / "vendor" / "leaflet"
    for name in ("leaflet.js", "leaflet.css", "LICENSE", "README.md"):
        (leaflet / name).write_bytes((src / name).read_bytes())
    for item in (src / "images").iterdir():
        if item.name.endswith(".png"):
            (leaflet / "images" / item.name).write_bytes(item.read_bytes())
    (folder / "assets").mkdir()
    for item in (package / "static").iterdir():
        if item.name.endswith((".css", ".js")):
            (folder / "assets" / item.name).write_bytes(item.read_bytes())


def write_maps(config: Config, processed: Processed, folder: Path) -> list[str]:
    """Write the pages and their assets into `folder` (a publication's staging folder).

    Returns the pages' names, index first.
    """
    start = time.perf_counter()
    pages = build_pages(config, processed)
    _copy_assets(folder)
    for name, text in pages.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    n_pages = sum(name.endswith(".html") for name in pages)
    log.info("Skrev %d webbsidor med kartor och %d datafiler (%s MB sammanlagt) på %s s",
             n_pages, len(pages) - n_pages, fmt.number(size / 1e6, 2),
             fmt.number(time.perf_counter() - start, 1))
    return [INDEX, OVERVIEW, STATEMENT] + ([SCENARIO_PAGE] if SCENARIO_PAGE in pages else [])


def build_maps(config: Config) -> list[Path]:
    """`opjord map`: the web maps from data/processed, as one publication.

    Returns the written pages (index first). Raises InputError when the analysis
    outputs are missing or do not belong together.
    """
    _basemap(config)  # a missing API key fails before anything is staged
    with publishing(config, ["maps"]) as pub:
        processed = read_processed(config.output.processed)
        pub.run_ids["maps"] = processed.run_id
        names = write_maps(config, processed, pub.stage("maps"))
    return [config.output.maps / n for n in names]
