"""QGIS styles for analysis.gpkg and the QGIS project `opjord.qgs` beside it.

Written as XML from Python (ElementTree); QGIS is not needed to write them.

- `layer_specs` describes each GeoPackage layer's look: a categorized renderer on `plan`
  (or `class`) whose categories are the web map's legend entries (`pipeline.styles`: the
  same colours, widths in pixels, dash patterns and names), or one symbol (the boundary,
  an outline without fill).
- `write_styles` writes them into the GeoPackage's `layer_styles` table, as QGIS itself
  creates and reads it (QGIS' `QgsOgrProviderMetadata::saveStyle`): one row per layer with
  the QML and an SLD (SE 1.1) for other clients, `useAsDefault` = 1, so QGIS opens every
  layer styled. It also writes the Swedish field aliases into `gpkg_data_columns` (the
  GeoPackage schema extension, which GDAL ≥ 3.7 reads as the fields' alternative names);
  the QML carries the same aliases for QGIS with an older GDAL.
- `write_project` writes `opjord.qgs`: every layer once per plan (filtered on `plan`),
  grouped per plan, the boundary on top and the config's basemap as an XYZ layer at the
  bottom (none with `basemap = "none"`); the GeoPackage is referred to by a relative path.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pipeline.basemaps import BASEMAPS
from pipeline.config import Config
from pipeline.publication import publisher
from pipeline.results import GPKG_STYLES
from pipeline.styles import (
    BOUNDARY_STYLE,
    LayerStyle,
    change_styles,
    class_style,
    footprint_style,
    kept_style,
    plan_style,
)

QGIS_VERSION = "3.22.0"  # the oldest QGIS the documents are written for (an LTR)
STYLE_NAME = "opjord"
GEOMETRY_TYPE_POLYGON = "2"  # QGIS' layerGeometryType for polygons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Category:
    """One legend entry: features whose field equals `value` are drawn with `style`."""

    value: str
    style: LayerStyle  # style.name is the legend label


@dataclass(frozen=True)
class LayerSpec:
    """How QGIS shows one GeoPackage layer."""

    layer: str  # the GeoPackage layer
    title: str  # the layer's Swedish name in QGIS
    single: LayerStyle  # the symbol when there are no categories
    column: str | None = None  # categorized on this field
    categories: tuple[Category, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # field -> Swedish alias
    per_plan: bool = True  # the project shows it once per plan (filtered on `plan`)

    def for_plan(self, key: str, label: str) -> LayerSpec:
        """The spec of the layer filtered to plan `key` (its own categories only)."""
        if self.column != "plan":
            return replace(self, title=f"{self.title} {label}")
        mine = tuple(c for c in self.categories if c.value == key)
        return replace(self, categories=mine,
                       title=mine[0].style.name if mine else f"{self.title} {label}")


def plan_order(plans: dict[str, str], baseline: str) -> list[str]:
    """Plan keys: the baseline first, then the later plans in config order."""
    return [baseline] + [k for k in plans if k != baseline]


def layer_specs(plans: dict[str, str], baseline: str, classes: Iterable[str],
                aliases: dict[str, dict[str, str]]) -> dict[str, LayerSpec]:
    """Every GeoPackage layer's look, by layer name. `plans`: key -> label in config order;
    `aliases`: per layer, field -> Swedish alias."""
    order = plan_order(plans, baseline)
    later = [k for k in order if k != baseline]
    base_label = plans[baseline]
    areas = tuple(Category(k, plan_style(k, plans[k], i)) for i, k in enumerate(order))
    footprints = tuple(Category(k, footprint_style(k, plans[k], i))
                       for i, k in enumerate(order))
    pieces = tuple(Category(c, class_style(c, i)) for i, c in enumerate(classes))
    changes = {k: change_styles(k, plans[k], base_label) for k in later}
    kept = tuple(Category(k, kept_style(k, plans[k], base_label)) for k in later)
    generic_change = change_styles("plan", "planen", base_label)
    specs = [
        LayerSpec("areas", "Utvecklingsområden", areas[0].style, "plan", areas),
        LayerSpec("footprints", "Samlade utvecklingsområden", footprints[0].style, "plan",
                  footprints),
        LayerSpec("agricultural_in_areas", "Jordbruksmark i utvecklingsområden",
                  pieces[0].style if pieces else class_style("", 0), "class", pieces),
        LayerSpec("newly_designated", "Nyutpekad jordbruksmark", generic_change[0], "plan",
                  tuple(Category(k, changes[k][0]) for k in later)),
        LayerSpec("released", "Frisläppt jordbruksmark", generic_change[1], "plan",
                  tuple(Category(k, changes[k][1]) for k in later)),
        LayerSpec("kept", "Jordbruksmark i båda planerna",
                  kept_style("plan", "planen", base_label), "plan", kept),
        LayerSpec("boundary", BOUNDARY_STYLE.name, BOUNDARY_STYLE, per_plan=False),
    ]
    return {s.layer: replace(s, aliases=dict(aliases.get(s.layer, {}))) for s in specs}


# ---------------------------------------------------------------------------- QML


def _rgba(color: str, opacity: float = 1.0) -> str:
    """"#1a1a1a", 0.06 → "26,26,26,15" (QGIS' colour notation)."""
    h = color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(opacity * 255)}"


def _number(value: float) -> str:
    return f"{value:g}"


def _symbol_layer(parent: ET.Element, cls: str, props: dict[str, str]) -> None:
    """A symbol layer with its properties, both as QGIS ≥ 3.16 writes them (Option map)
    and in the older `prop` form."""
    layer = ET.SubElement(parent, "layer", {"class": cls, "enabled": "1", "pass": "0",
                                            "locked": "0"})
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(options, "Option", {"type": "QString", "name": k, "value": v})
    for k, v in props.items():
        ET.SubElement(layer, "prop", {"k": k, "v": v})


def _symbol(parent: ET.Element, name: str, style: LayerStyle) -> None:
    """A fill symbol: the fill (none when the style has none), then the outline as a
    simple line with the web map's width and dash pattern, in pixels."""
    symbol = ET.SubElement(parent, "symbol", {"type": "fill", "name": name, "alpha": "1",
                                              "clip_to_extent": "1", "force_rhr": "0"})
    fill = style.fill_color or style.color
    _symbol_layer(symbol, "SimpleFill", {
        "color": _rgba(fill, style.fill_opacity if style.fill_color else 0.0),
        "style": "solid" if style.fill_color else "no",
        "outline_style": "no", "outline_color": _rgba(style.color), "outline_width": "0",
        "outline_width_unit": "Pixel", "joinstyle": "round", "offset": "0,0",
        "offset_unit": "Pixel"})
    _symbol_layer(symbol, "SimpleLine", {
        "line_color": _rgba(style.color), "line_width": _number(style.weight),
        "line_width_unit": "Pixel", "line_style": "solid",
        "use_custom_dash": "1" if style.dash else "0",
        "customdash": ";".join(style.dash.split()) if style.dash else "5;2",
        "customdash_unit": "Pixel", "capstyle": "round", "joinstyle": "round",
        "offset": "0", "offset_unit": "Pixel", "draw_inside_polygon": "0"})


def _renderer(parent: ET.Element, spec: LayerSpec) -> None:
    if spec.column and spec.categories:
        renderer = ET.SubElement(parent, "renderer-v2", {
            "type": "categorizedSymbol", "attr": spec.column, "symbollevels": "0",
            "forceraster": "0", "enableorderby": "0"})
        categories = ET.SubElement(renderer, "categories")
        for i, c in enumerate(spec.categories):
            ET.SubElement(categories, "category", {"symbol": str(i), "value": c.value,
                                                   "label": c.style.name, "render": "true"})
        symbols = ET.SubElement(renderer, "symbols")
        for i, c in enumerate(spec.categories):
            _symbol(symbols, str(i), c.style)
    else:
        renderer = ET.SubElement(parent, "renderer-v2", {
            "type": "singleSymbol", "symbollevels": "0", "forceraster": "0",
            "enableorderby": "0"})
        _symbol(ET.SubElement(renderer, "symbols"), "0", spec.single)


def _style_parts(parent: ET.Element, spec: LayerSpec) -> None:
    """What a QML and a project's map layer share: renderer, aliases, geometry type."""
    _renderer(parent, spec)
    aliases = ET.SubElement(parent, "aliases")
    for i, (name, alias) in enumerate(spec.aliases.items()):
        ET.SubElement(aliases, "alias", {"field": name, "index": str(i), "name": alias})
    ET.SubElement(parent, "layerGeometryType").text = GEOMETRY_TYPE_POLYGON


def _xml(root: ET.Element, doctype: str | None = None) -> str:
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return head + (doctype + "\n" if doctype else "") + text + "\n"


_QGIS_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"


def qml(spec: LayerSpec) -> str:
    """The layer's QGIS style (QML)."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories",
                               "labelsEnabled": "0"})
    _style_parts(root, spec)
    return _xml(root, _QGIS_DOCTYPE)


# ---------------------------------------------------------------------------- SLD

_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
ET.register_namespace("", _SLD)
ET.register_namespace("se", _SE)
ET.register_namespace("ogc", _OGC)


def _se(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{_SE}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _sld_rule(parent: ET.Element, style: LayerStyle, field_name: str | None,
              value: str | None) -> None:
    rule = _se(parent, "Rule")
    _se(rule, "Name", style.name)
    _se(_se(rule, "Description"), "Title", style.name)
    if field_name is not None and value is not None:
        equal = ET.SubElement(ET.SubElement(rule, f"{{{_OGC}}}Filter"),
                              f"{{{_OGC}}}PropertyIsEqualTo")
        ET.SubElement(equal, f"{{{_OGC}}}PropertyName").text = field_name
        ET.SubElement(equal, f"{{{_OGC}}}Literal").text = value
    symbolizer = _se(rule, "PolygonSymbolizer")
    if style.fill_color:  # no Fill element: the inside is not drawn
        fill = _se(symbolizer, "Fill")
        _se(fill, "SvgParameter", style.fill_color, name="fill")
        _se(fill, "SvgParameter", _number(style.fill_opacity), name="fill-opacity")
    stroke = _se(symbolizer, "Stroke")
    _se(stroke, "SvgParameter", style.color, name="stroke")
    _se(stroke, "SvgParameter", _number(style.weight), name="stroke-width")
    _se(stroke, "SvgParameter", "round", name="stroke-linejoin")
    if style.dash:
        _se(stroke, "SvgParameter", style.dash, name="stroke-dasharray")


def sld(spec: LayerSpec) -> str:
    """The layer's style as an OGC SLD 1.1 / SE document (for clients other than QGIS)."""
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", {"version": "1.1.0"})
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    _se(named, "Name", spec.layer)
    user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    _se(user, "Name", STYLE_NAME)
    fts = _se(user, "FeatureTypeStyle")
    if spec.column and spec.categories:
        for c in spec.categories:
            _sld_rule(fts, c.style, spec.column, c.value)
    else:
        _sld_rule(fts, spec.single, None, None)
    return _xml(root)


# ---------------------------------------------------------------------------- GeoPackage


def write_styles(path: Path, specs: Iterable[LayerSpec], geometry_column: str) -> None:
    """`layer_styles` (one default style per layer, as QGIS writes it) and the aliases in
    `gpkg_data_columns`, into the GeoPackage at `path`, whose layers are all written."""
    import pandas as pd
    import pyogrio

    specs = list(specs)
    now = pd.Timestamp(datetime.now(UTC).replace(microsecond=0))
    rows = pd.DataFrame({
        "f_table_catalog": "", "f_table_schema": "",
        "f_table_name": [s.layer for s in specs], "f_geometry_column": geometry_column,
        "styleName": STYLE_NAME, "styleQML": [qml(s) for s in specs],
        "styleSLD": [sld(s) for s in specs], "useAsDefault": True,
        "description": [f"opjord: {s.title}" for s in specs], "owner": "", "ui": "",
        "update_time": now})
    pyogrio.write_dataframe(rows, path, layer=GPKG_STYLES, driver="GPKG",
                            layer_options={"FID": "id"}, append=True)
    write_aliases(path, {s.layer: s.aliases for s in specs})


_DATA_COLUMNS = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_DATA_COLUMN_CONSTRAINTS = """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"""
_EXTENSIONS = """CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"""
_SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"


def write_aliases(path: Path, aliases: dict[str, dict[str, str]]) -> None:
    """Swedish aliases per layer and field into `gpkg_data_columns` (`name` and `title`),
    registering the GeoPackage schema extension."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(_DATA_COLUMNS)
        db.execute(_DATA_COLUMN_CONSTRAINTS)
        db.execute(_EXTENSIONS)
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            db.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', "
                       "?, 'read-write')", (table, _SCHEMA_EXTENSION))
        rows = []
        for layer, fields in aliases.items():
            seen: set[str] = set()
            for column, alias in fields.items():
                if alias not in seen:  # `name` is unique per table (the QML keeps every one)
                    seen.add(alias)
                    rows.append((layer, column, alias, alias))
        db.executemany(
            "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) "
            "VALUES (?, ?, ?, ?)", rows)


# ---------------------------------------------------------------------------- project


def _spatialrefsys(parent: ET.Element, crs: str) -> None:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    srs = ET.SubElement(parent, "spatialrefsys")
    ET.SubElement(srs, "wkt").text = c.to_wkt()
    ET.SubElement(srs, "authid").text = crs
    ET.SubElement(srs, "description").text = c.name
    ET.SubElement(srs, "geographicflag").text = "true" if c.is_geographic else "false"


@dataclass(frozen=True)
class _ProjectLayer:
    id: str
    name: str
    source: str
    spec: LayerSpec | None  # None: the basemap
    checked: bool = True


def _basemap(config: Config) -> tuple[str, str] | None:
    """The config's basemap: (tile URL template, Swedish name), or None (none configured, or
    one that needs an API key: the key stays out of a file that is handed around)."""
    w = config.webmap
    if w.basemap == "none":
        return None
    if w.basemap == "custom":
        url, name = w.tile_url or "", "Bakgrundskarta"
    else:
        url, _attribution, name = BASEMAPS[w.basemap]
    if "{apikey}" in url:
        log.info("opjord.qgs: %s behöver en API-nyckel och läggs inte in i projektet; lägg "
                 "till den i QGIS som en egen XYZ-anslutning.", name)
        return None
    return url, name


def _vector_layer(spec: LayerSpec, gpkg: str, key: str | None = None,
                  label: str = "") -> _ProjectLayer:
    source = f"./{gpkg}|layername={spec.layer}"
    if key is not None and spec.per_plan:
        spec = spec.for_plan(key, label)
        source += f"|subset=\"plan\" = '{key}'"
    # QGIS replaces a layer id without "_" by a generated one: every id here has one.
    return _ProjectLayer(id=f"{spec.layer}_{key or 'kommun'}", name=spec.title,
                         source=source, spec=spec,
                         checked=spec.layer not in ("footprints", "kept"))


def _tree_layer(parent: ET.Element, layer: _ProjectLayer, provider: str) -> None:
    ET.SubElement(parent, "layer-tree-layer", {
        "id": layer.id, "name": layer.name, "source": layer.source, "providerKey": provider,
        "checked": "Qt::Checked" if layer.checked else "Qt::Unchecked", "expanded": "1"})


def _map_layer(parent: ET.Element, layer: _ProjectLayer, crs: str) -> None:
    if layer.spec is None:
        el = ET.SubElement(parent, "maplayer", {"type": "raster"})
        ET.SubElement(el, "id").text = layer.id
        ET.SubElement(el, "datasource").text = layer.source
        ET.SubElement(el, "layername").text = layer.name
        _spatialrefsys(ET.SubElement(el, "srs"), "EPSG:3857")
        ET.SubElement(el, "provider").text = "wms"
        return
    el = ET.SubElement(parent, "maplayer", {"type": "vector", "geometry": "Polygon",
                                            "wkbType": "MultiPolygon",
                                            "styleCategories": "AllStyleCategories"})
    ET.SubElement(el, "id").text = layer.id
    ET.SubElement(el, "datasource").text = layer.source
    ET.SubElement(el, "layername").text = layer.name
    _spatialrefsys(ET.SubElement(el, "srs"), crs)
    ET.SubElement(el, "provider", {"encoding": "UTF-8"}).text = "ogr"
    _style_parts(el, layer.spec)


def project_xml(config: Config, specs: dict[str, LayerSpec], layers: Iterable[str], *,
                plans: dict[str, str], baseline: str, gpkg: str, crs: str,
                extent: tuple[float, float, float, float] | None) -> str:
    """opjord.qgs: `layers` (the GeoPackage layers written) once per plan in a group per
    plan (later plans above the baseline, as on the web map), the boundary on top, the
    basemap at the bottom. `extent` (xmin, ymin, xmax, ymax in `crs`) is the first view."""
    written = [name for name in specs if name in set(layers)]
    groups: list[tuple[str, list[_ProjectLayer]]] = []
    for key in reversed(plan_order(plans, baseline)):
        mine = [_vector_layer(specs[name], gpkg, key, plans[key]) for name in
                ("areas", "newly_designated", "released", "kept", "agricultural_in_areas",
                 "footprints")
                if name in written and (key != baseline or name not in
                                        ("newly_designated", "released", "kept"))]
        label = plans[key] + (" (jämförelseplan)" if key == baseline else "")
        groups.append((label, mine))
    top = [_vector_layer(specs[n], gpkg) for n in written if not specs[n].per_plan]
    basemap = _basemap(config)
    bottom = []
    if basemap is not None:
        url, name = basemap
        bottom.append(_ProjectLayer(
            id="basemap_xyz", name=name, spec=None,
            source=f"type=xyz&url={quote(url, safe='')}&zmax=19&zmin=0"))

    title = f"opjord – {publisher(config)}"
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": title})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = title
    _spatialrefsys(ET.SubElement(root, "projectCrs"), crs)
    tree = ET.SubElement(root, "layer-tree-group")
    for layer in top:
        _tree_layer(tree, layer, "ogr")
    for label, members in groups:
        group = ET.SubElement(tree, "layer-tree-group", {"name": label, "checked": "Qt::Checked",
                                                         "expanded": "1"})
        for layer in members:
            _tree_layer(group, layer, "ogr")
    for layer in bottom:
        _tree_layer(tree, layer, "wms")
    every = top + [la for _, members in groups for la in members] + bottom
    project_layers = ET.SubElement(root, "projectlayers")
    for layer in every:
        _map_layer(project_layers, layer, crs)
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "false"
    srs = ET.SubElement(properties, "SpatialRefSys")  # QGIS reads projectCrs only with this
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    ET.SubElement(srs, "ProjectCrs", {"type": "QString"}).text = crs
    if extent is not None:
        canvas = ET.SubElement(root, "mapcanvas", {"name": "theMapCanvas"})
        ET.SubElement(canvas, "units").text = "meters"
        box = ET.SubElement(canvas, "extent")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
            ET.SubElement(box, tag).text = repr(float(value))
        _spatialrefsys(ET.SubElement(canvas, "destinationsrs"), crs)
    return _xml(root, _QGIS_DOCTYPE)
