"""Write the analysis outputs (summary.json, areas.csv, analysis.gpkg, opjord.xlsx,
scenario.json).

`write_processed` writes them into a staging folder of a `pipeline.outputs`
publication, which makes them the outputs only when the whole run has succeeded.
summary.json and areas.csv carry no timestamps: the same inputs give
byte-identical files. summary.json records the run's digest (`run_id`, from the
inputs, the config and the opjord version), which the GeoPackage, the web map and
the report repeat, and the sha256 and row counts of the files it belongs with, so
`opjord map` and `opjord report` can refuse a folder whose files do not belong
together.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
import xlsxwriter
from xlsxwriter.utility import xl_pixel_width

import pipeline
from pipeline import ANALYSIS_CRS, fmt
from pipeline.analyse import PLAN_ATTRIBUTE, Analysis
from pipeline.files import write_digest_cache
from pipeline.outputs import publishing
from pipeline.read import USE_ARROW
from pipeline.results import (
    AREAS_CSV,
    GPKG,
    GPKG_FIELD_LABELS,
    GPKG_RUN_ID,
    GPKG_STYLES,
    LANDCOVER_COLUMNS,
    PLAN_ATTRIBUTE_PREFIX,
    QGIS_PROJECT,
    SCENARIO,
    SCHEMA,
    SUMMARY,
    XLSX,
    AreaColumn,
    area_columns,
    demo_note,
    goal_answer,
    gpkg_description,
    percent_columns,
    ratio_trap_text,
    status_label,
)
from pipeline.scenario import SCENARIO_SCHEMA


def software_versions() -> dict[str, str]:
    """Versions of everything that shapes a figure (GEOS and PROJ included)."""
    return {
        "opjord": pipeline.__version__,
        "python": platform.python_version(),
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "GEOS": shapely.geos_version_string,
        "pyproj": pyproj.__version__,
        "PROJ": pyproj.proj_version_str,
        "pyogrio": pyogrio.__version__,
        "GDAL": pyogrio.__gdal_version_string__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def run_id(analysis: Analysis) -> str:
    """The run's digest: sha256 (first 16 hex digits) of the config file, every input's
    sha256 and the opjord version. The same inputs give the same id; it stamps every
    output of the run (summary.json, analysis.gpkg, the web map, the report)."""
    digest = hashlib.sha256()
    digest.update(f"opjord {pipeline.__version__}\n".encode())
    digest.update(hashlib.sha256(analysis.config.path.read_bytes()).hexdigest().encode())
    for source in analysis.config.vector_sources():
        digest.update(f"\n{source.role} {analysis.infos[source.role].sha256}".encode())
    for extra in analysis.extra_inputs:
        digest.update(f"\n{extra.get('role')} {extra.get('sha256')}".encode())
    return digest.hexdigest()[:16]


def summary_inputs(analysis: Analysis) -> list[dict]:
    """summary.json `inputs`: every input with its path, layer, sha256 (of the whole input
    and of each of its files), features, CRS and cleaning; the raster last."""
    config = analysis.config
    inputs = []
    for source in config.vector_sources():
        info = analysis.infos[source.role]
        entry = {"role": source.role, "path": _relative(source.path, config.root),
                 "layer": info.layer, "driver": info.driver, "sha256": info.sha256,
                 "files": [{"path": _relative(f, config.root), "sha256": digest}
                           for f, digest in info.file_sha256s.items()],
                 "features": info.features, "source_crs": info.source_crs,
                 "crs_used": info.crs, "crs_from_config": source.crs is not None}
        if source.role in analysis.cleaning:
            entry["cleaning"] = analysis.cleaning[source.role].as_dict()
        inputs.append(entry)
    inputs.extend(analysis.extra_inputs)  # the land-cover raster, when configured
    return inputs


def build_summary(analysis: Analysis, files: dict | None = None, *,
                  run: str | None = None) -> dict:
    """The machine-readable result (schema opjord.summary/1).

    `files` records what summary.json belongs with (see `write_processed`); `run` is the
    run id when the caller has it already (else `run_id(analysis)`).
    """
    config = analysis.config
    return {
        "schema": SCHEMA,
        "run_id": run or run_id(analysis),
        "demo": analysis.demo,
        "kommun": config.kommun,
        "kommunkod": config.kommunkod,
        "crs": ANALYSIS_CRS,
        "config": config.path.name,
        "classes": list(analysis.classes),
        "baseline": config.baseline.key,
        "plans": analysis.plans,
        "comparisons": analysis.comparisons,
        "municipal_agricultural_ha": analysis.municipal_agricultural_ha,
        "inputs": summary_inputs(analysis),
        "warnings": [w.as_dict() for w in analysis.notices],
        "software": software_versions(),
        **({"files": files} if files is not None else {}),
    }


def table_columns(analysis: Analysis) -> list[AreaColumn]:
    """The area columns of this analysis (`pipeline.results.area_columns`)."""
    return area_columns(analysis.classes,
                        landcover=LANDCOVER_COLUMNS[0].name in analysis.areas.columns,
                        baseline_label=analysis.config.baseline.label)


def areas_table(analysis: Analysis) -> pd.DataFrame:
    """areas.csv: one row per area of every plan, stable English column names."""
    return pd.DataFrame(analysis.areas[[c.name for c in table_columns(analysis)]])


def gpkg_crs(analysis: Analysis) -> str:
    """The CRS of analysis.gpkg's layers: `[output] crs`, else EPSG:3006."""
    return analysis.config.output.crs or ANALYSIS_CRS


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str, *, crs: str = ANALYSIS_CRS,
                 metadata: dict | None = None) -> None:
    """One layer (geometries reprojected to `crs` when it is not EPSG:3006). A new file is
    a GeoPackage 1.2, which QGIS with an older GDAL (3.6) reads without a warning."""
    gdf = gdf.copy() if crs == ANALYSIS_CRS else gdf.to_crs(crs)
    for col in gdf.columns:
        if col != gdf.geometry.name and gdf[col].dtype == object:
            gdf[col] = gdf[col].astype("string")
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True,
                            geometry_type="MultiPolygon",
                            layer_options={"DESCRIPTION": gpkg_description(layer, crs)},
                            dataset_options=None if path.exists() else {"VERSION": "1.2"},
                            layer_metadata=metadata,
                            append=path.exists(), use_arrow=USE_ARROW)


def gpkg_areas(analysis: Analysis) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The GeoPackage's areas layer and its Swedish field aliases.

    opjord's columns first (those of areas.csv, `matched_area_id`, a `<share>_pct` twin in
    per cent after each share), then the plan layers' own columns as they are in the data.
    A plan column whose name is one of the layer's fields (case ignored, as SQLite does)
    gets the prefix `plan_` (then `_2`, `_3`, … if that is taken too); a column of the same
    name in two plans' layers is one field (empty for the other plan's areas).
    """
    areas = analysis.areas
    own = [c for c in areas.columns if c.startswith(PLAN_ATTRIBUTE)]
    columns = table_columns(analysis)
    percent = {c.name: p for c, p in zip([c for c in columns if c.kind == "share"],
                                         percent_columns(columns), strict=True)}
    out: dict[str, pd.Series] = {}
    for col in areas.columns:
        if col in own or col == areas.geometry.name:
            continue
        out[col] = areas[col]
        if col in percent:
            out[percent[col].name] = pd.to_numeric(areas[col]) * 100.0
    aliases = {c: GPKG_FIELD_LABELS[c] for c in out if c in GPKG_FIELD_LABELS}
    aliases |= {c.name: c.label for c in [*columns, *percent.values()] if c.name in out}
    used = {c.casefold() for c in out} | {"fid", "geom", "geometry"}
    for col in own:
        name = final = col[len(PLAN_ATTRIBUTE):]
        n = 1
        while final.casefold() in used:
            final = PLAN_ATTRIBUTE_PREFIX + name + (f"_{n}" if n > 1 else "")
            n += 1
        used.add(final.casefold())
        out[final] = areas[col]
        if final != name:
            aliases[final] = f"{name} (planens eget fält)"
    gdf = gpd.GeoDataFrame(out, geometry=areas.geometry.array, crs=areas.crs)
    return gdf, {c: aliases[c] for c in out if c in aliases}


@contextlib.contextmanager
def _sqlite_without_sync() -> Iterator[None]:
    """Let SQLite skip its fsync per transaction while a staged GeoPackage is written.

    Safe here: the file is a staged one that the publication fsyncs once before moving it
    into place. The previous setting is restored afterwards.
    """
    key = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def write_gpkg(analysis: Analysis, path: Path, run: str) -> tuple[dict[str, int], dict]:
    """analysis.gpkg: areas, footprints, pieces inside areas, change layers, boundary, and
    their QGIS styles and Swedish aliases (`pipeline.qgis.write_styles`).

    Returns the feature count per data layer written (the styles table is not counted) and
    the layers' QGIS specs (`qgis_specs`, for opjord.qgs).
    """
    from pipeline import qgis

    with _sqlite_without_sync():
        aliases = _write_gpkg_layers(analysis, path, run)
        counts = _written_counts(path)
        specs = qgis_specs(analysis, aliases)
        geometry = pyogrio.read_info(path, layer="areas")["geometry_name"]
        qgis.write_styles(path, [specs[name] for name in specs if name in counts], geometry)
    return counts, specs


def _written_counts(path: Path) -> dict[str, int]:
    """Feature count per layer as GDAL keeps it in gpkg_ogr_contents: one query, not one
    dataset open per layer."""
    import sqlite3

    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents "
                           "ORDER BY rowid").fetchall()
    finally:
        con.close()
    counts = {str(name): int(n) for name, n in rows if n is not None}
    if len(counts) != len(rows):  # GDAL left a count unset: ask it
        return {name: info[1] for name, info in _layer_counts(path).items()}
    return counts


def qgis_specs(analysis: Analysis, aliases: dict[str, dict[str, str]] | None = None) -> dict:
    """Each GeoPackage layer's QGIS look and aliases (`pipeline.qgis.layer_specs`);
    `aliases` as `gpkg_aliases` gives them, if already known."""
    from pipeline import qgis

    config = analysis.config
    return qgis.layer_specs({p.key: p.label for p in config.plans}, config.baseline.key,
                            analysis.classes, aliases or gpkg_aliases(analysis))


def _frames(analysis: Analysis) -> dict[str, gpd.GeoDataFrame]:
    """The GeoPackage's layers after `areas`, in EPSG:3006."""
    frames = {"footprints": analysis.footprints, "agricultural_in_areas": analysis.pieces}
    for kind in ("newly_designated", "released", "kept"):
        part = analysis.changes
        if "change" in part.columns:
            part = part[part["change"] == kind]
        frames[kind] = gpd.GeoDataFrame(part, crs=ANALYSIS_CRS)
    if analysis.boundary is not None:
        frames["boundary"] = gpd.GeoDataFrame({"kommun": [analysis.config.kommun]},
                                              geometry=[analysis.boundary], crs=ANALYSIS_CRS)
    return frames


def gpkg_aliases(analysis: Analysis) -> dict[str, dict[str, str]]:
    """The Swedish alias of every GeoPackage field that has one, per layer."""
    return _aliases(gpkg_areas(analysis)[1], _frames(analysis))


def _aliases(areas: dict[str, str], frames: dict[str, gpd.GeoDataFrame]
             ) -> dict[str, dict[str, str]]:
    aliases = {"areas": areas}
    for name, gdf in frames.items():
        aliases[name] = {c: GPKG_FIELD_LABELS[c] for c in gdf.columns if c in GPKG_FIELD_LABELS}
    return aliases


def _layer_counts(path: Path) -> dict[str, tuple[str, int]]:
    return {name: (str(geom), int(pyogrio.read_info(path, layer=name)["features"]))
            for name, geom in pyogrio.list_layers(path) if name != GPKG_STYLES}


def _write_gpkg_layers(analysis: Analysis, path: Path, run: str) -> dict[str, dict[str, str]]:
    """Write the data layers; return their aliases (`gpkg_aliases`, from the same frames)."""
    crs = gpkg_crs(analysis)
    areas, area_aliases = gpkg_areas(analysis)
    _write_layer(areas, path, "areas", crs=crs, metadata={GPKG_RUN_ID: run})
    frames = _frames(analysis)
    for name, gdf in frames.items():
        _write_layer(gdf, path, name, crs=crs)
    return _aliases(area_aliases, frames)


def write_qgis_project(analysis: Analysis, folder: Path, layers: dict[str, int],
                       specs: dict | None = None) -> None:
    """opjord.qgs beside analysis.gpkg (`pipeline.qgis.project_xml`), first view on the
    areas and the boundary; `specs` as `qgis_specs` gives them, if already known."""
    from pipeline import qgis

    config = analysis.config
    path = folder / GPKG
    bounds = [pyogrio.read_info(path, layer=name)["total_bounds"]
              for name in ("areas", "boundary") if layers.get(name)]
    extent = None
    if bounds:
        box = np.array(bounds, dtype=float)
        xmin, ymin = box[:, 0].min(), box[:, 1].min()
        xmax, ymax = box[:, 2].max(), box[:, 3].max()
        pad = 0.05 * max(xmax - xmin, ymax - ymin, 100.0)
        extent = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    text = qgis.project_xml(config, specs or qgis_specs(analysis), layers,
                            plans={p.key: p.label for p in config.plans},
                            baseline=config.baseline.key, gpkg=GPKG, crs=gpkg_crs(analysis),
                            extent=extent)
    (folder / QGIS_PROJECT).write_text(text, encoding="utf-8", newline="\n")


SUMMARY_SHEET = "Sammanfattning"
SHEET_NAME_MAX = 31  # Excel's limit, in UTF-16 code units
# Excel refuses these in sheet names; "History" is reserved for its change tracking.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]|[\x00-\x1f\x7f\ufffe\uffff]")
_SHEET_RESERVED = frozenset({"history"})
_SHEET_ENDS = re.compile(r"^[\s']+|[\s']+$")


def _utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of `text` that is at most `units` UTF-16 code units long."""
    out, n = [], 0
    for ch in text:
        n += 2 if ord(ch) > 0xFFFF else 1
        if n > units:
            break
        out.append(ch)
    return "".join(out)


def _sheet_name(label: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name for a plan label; adds its `_sheet_key` to `used`.

    Forbidden characters become "-", apostrophes and spaces at either end go, the name is
    cut to 31 UTF-16 units and, when it is taken (Excel ignores case: compared casefolded),
    reserved or empty, numbered " (2)", " (3)", … The label itself stays as written in
    the cells.
    """
    base = _SHEET_ENDS.sub("", _SHEET_FORBIDDEN.sub("-", label))
    base = _SHEET_ENDS.sub("", _utf16_prefix(base, SHEET_NAME_MAX)) or "Plan"
    name, n = base, 2
    while _sheet_key(name) in used or _sheet_key(name) in _SHEET_RESERVED:
        suffix = f" ({n})"
        stem = _SHEET_ENDS.sub("", _utf16_prefix(base, SHEET_NAME_MAX - len(suffix)))
        name, n = (stem or "Plan") + suffix, n + 1
    used.add(_sheet_key(name))
    return name


def _sheet_key(name: str) -> str:
    """What Excel compares sheet names by: case ignored (equal in lower case or casefolded
    is a clash)."""
    return name.lower().casefold()


def _summary_table(analysis: Analysis) -> pd.DataFrame:
    """The summary sheet's rows: one per plan, Swedish headers (waits for the figures)."""
    rows = []
    for key, p in analysis.plans.items():
        row = {"Plan": p["label"], "Antal utvecklingsområden": p["n_areas"],
               "Utvecklingsområden (ha)": p["development_area_ha"],
               "Jordbruksmark (ha)": p["agricultural_ha"]}
        for c in analysis.classes:
            row[f"{c} (ha)"] = p["agricultural_ha_by_class"][c]
        row["Andel jordbruksmark"] = p["share"]
        row["Andel av kommunens jordbruksmark"] = p["share_of_municipal_agricultural_land"]
        comp = analysis.comparisons.get(key)
        row["Förändring (procentenheter)"] = comp["share_change_pp"] if comp else None
        row["Förändring jordbruksmark (ha)"] = comp["agricultural_ha_change"] if comp else None
        row["Nyutpekad jordbruksmark (ha)"] = comp["newly_designated_ha"] if comp else None
        row["Frisläppt jordbruksmark (ha)"] = comp["released_ha"] if comp else None
        row["Målet uppfyllt"] = goal_answer(comp["goal_met"]) if comp else "jämförelseplan"
        row["Obs"] = (ratio_trap_text(p, analysis.plans[analysis.config.baseline.key])
                      if comp and comp["ratio_trap"] else "")
        rows.append(row)
    return pd.DataFrame(rows)


SOURCES_SHEET = "Källor"
# Column widths fitted to the content (xlsxwriter's autofit, in pixels of Excel's default
# font), at most this wide; longer texts wrap in their column.
WIDTH_CAP_PX = 480  # about 68 characters: a sha256 fits
WIDTH_MIN = 10  # characters
_FOOTER = "&L&A&RSida &P av &N"  # sheet name; page n of N


def write_xlsx(analysis: Analysis, path: Path) -> None:
    """opjord.xlsx: a summary sheet, one sheet per plan (Swedish headers) and the sources
    sheet (credits, every input file's sha256).

    Every table has its filter, a frozen header, widths fitted to its content and a print
    set-up (A4 landscape, one page wide, the header on every page; the summary on one
    page). The plan sheets need only the areas, so they are filled first; the summary
    sheet (the first one) last, as it waits for the municipal total.
    """
    config = analysis.config
    headers = {c.name: c.label for c in table_columns(analysis)}
    note = (demo_note(config.kommun) if analysis.demo
            else f"Källa: opjord, se bladet {SOURCES_SHEET} och summary.json för indata och "
                 "versioner.")
    # Text from the data is written as text: never a formula, link or number in Excel.
    options = {"strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False, "in_memory": True}  # no temp files
    with xlsxwriter.Workbook(path, options) as book:
        formats = {"pct": book.add_format({"num_format": "0.0%"}),
                   "ha": book.add_format({"num_format": "#,##0.00"}),
                   "header": book.add_format({"bold": True, "bottom": 1}),
                   "wrap": book.add_format({"text_wrap": True, "valign": "top"})}
        first = book.add_worksheet(SUMMARY_SHEET)
        used = {_sheet_key(SUMMARY_SHEET), _sheet_key(SOURCES_SHEET)}
        all_areas = areas_table(analysis)
        for plan in config.plans:
            table = all_areas[all_areas["plan"] == plan.key].drop(columns=["plan"])
            table["status"] = table["status"].map(status_label)
            table = table.rename(columns=headers)
            sheet = book.add_worksheet(_sheet_name(plan.label, used))
            _write_table(sheet, table, formats, header_row=0)
        _write_table(book.add_worksheet(SOURCES_SHEET), sources_table(analysis), formats,
                     header_row=0)
        _write_table(first, _summary_table(analysis), formats, header_row=2, one_page=True)
        first.write_string(0, 0, note)  # after the widths: the note may run past column A


def sources_table(analysis: Analysis) -> pd.DataFrame:
    """The sources sheet: one row per credit (`pipeline.publication.credits`), then one per
    input file with its sha256 (summary.json `inputs`)."""
    from pipeline.publication import credits
    from pipeline.results import role_label

    config = analysis.config
    rows = [{"Slag": "Upphov", "Namn": c.source, "Beskrivning": c.text, "Fil": None,
             "sha256": None, "Webbadress": c.url} for c in credits(config)]
    for entry in summary_inputs(analysis):
        layer = f"lager {entry['layer']}" if entry.get("layer") else ""
        features = (f"{fmt.number(entry['features'], 0)} objekt"
                    if isinstance(entry.get("features"), int) else "")
        files = entry.get("files") or [{"path": entry["path"], "sha256": entry["sha256"]}]
        for f in files:
            rows.append({"Slag": "Indatafil", "Namn": role_label(entry["role"], config),
                         "Beskrivning": ", ".join(t for t in (layer, features) if t) or None,
                         "Fil": f["path"], "sha256": f["sha256"], "Webbadress": None})
    return pd.DataFrame(rows, columns=["Slag", "Namn", "Beskrivning", "Fil", "sha256",
                                       "Webbadress"])


def _cell_values(column: pd.Series) -> list:
    """A column as cell values: numbers as float, text as str, missing as None (blank)."""
    values = column.astype(object).where(column.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _write_table(sheet, table: pd.DataFrame, formats: dict, *, header_row: int,
                 one_page: bool = False) -> None:
    """A header row and one column at a time (xlsxwriter directly: no per-cell objects).

    Text goes through `write_string` and numbers through `write_number`, so no value from
    the data is ever taken for a formula; empty text and missing values stay blank.
    """
    for i, col in enumerate(table.columns):
        sheet.write_string(header_row, i, str(col), formats["header"])
    wrap = set()
    for i, col in enumerate(table.columns):
        for r, value in enumerate(_cell_values(table[col]), start=header_row + 1):
            if isinstance(value, str):
                if value:
                    sheet.write_string(r, i, value)
                    if i not in wrap and xl_pixel_width(value) + 7 > WIDTH_CAP_PX:
                        wrap.add(i)
            elif isinstance(value, bool):
                sheet.write_boolean(r, i, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, i, value)
            elif value is not None:
                sheet.write_string(r, i, str(value))
    _format_sheet(sheet, table, formats, header_row=header_row, wrap=wrap, one_page=one_page)


def _format_sheet(sheet, table: pd.DataFrame, formats: dict, *, header_row: int,
                  wrap: set[int], one_page: bool) -> None:
    """Formats (ha with 2 decimals, shares as percent), filter, frozen header, widths
    fitted to the content (at most `WIDTH_CAP_PX`; wider text wraps), print set-up.

    Formats are Excel's locale-neutral codes: Swedish Excel shows 1 234,56 and 18,4 %.
    """
    for i, col in enumerate(map(str, table.columns)):
        number = (formats["pct"] if col.startswith("Andel") else
                  formats["ha"] if "(ha)" in col or "procentenheter" in col else
                  formats["wrap"] if i in wrap else None)
        sheet.set_column(i, i, WIDTH_MIN, number)
    sheet.autofilter(header_row, 0, header_row + len(table), max(len(table.columns) - 1, 0))
    sheet.freeze_panes(header_row + 1, 0)
    sheet.autofit(WIDTH_CAP_PX)  # after the filter: its button widens the header
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 1 if one_page else 0)  # one page wide (and high, for the summary)
    sheet.repeat_rows(header_row)
    sheet.set_footer(_FOOTER)


def scenario_data(analysis: Analysis, run: str) -> dict:
    """scenario.json (`pipeline.scenario`): the faces and what a selection needs (waits for
    the figures)."""
    config, table = analysis.config, analysis.faces
    roles = list(dict.fromkeys(config.agricultural_for(p).role for p in config.plans))
    members: list[list[int]] = [[] for _ in range(len(table.area_m2))]
    for f, r in sorted(zip(table.face.tolist(), table.region.tolist(), strict=True)):
        members[f].append(r)
    plans = []
    for plan in config.plans:
        p = analysis.plans[plan.key]
        plans.append({"key": plan.key, "label": plan.label,
                      "layer": config.agricultural_for(plan).role, "share": p["share"],
                      "agricultural_ha": p["agricultural_ha"],
                      "development_area_ha": p["development_area_ha"]})
    areas = analysis.areas
    return {
        "schema": SCENARIO_SCHEMA,
        "run_id": run,
        "classes": list(analysis.classes),
        "baseline": config.baseline.key,
        "layers": roles,
        "plans": plans,
        "areas": [{"plan": str(a.plan), "area_id": str(a.area_id), "name": str(a.name),
                   "type": str(a.type), "area_ha": float(a.area_ha)}
                  for a in areas[["plan", "area_id", "name", "type", "area_ha"]]
                  .itertuples(index=False)],
        "faces": {"area_m2": table.area_m2.tolist(), "inside": table.inside.tolist(),
                  "areas": members,
                  "agricultural_m2": {role: table.agricultural_m2[role].tolist()
                                      for role in roles}},
    }


def write_processed(analysis: Analysis, folder: Path, run: str | None = None) -> list[str]:
    """Write summary.json, areas.csv, analysis.gpkg, opjord.qgs, opjord.xlsx and scenario.json
    into `folder` (a publication's staging folder); return their names.

    The GeoPackage, the CSV and the workbook's plan sheets need only the layers, so they
    are written while the municipal total may still be computing (`Analysis.figures`).
    summary.json, written last, records the sha256 and rows of areas.csv and the feature
    count of every GeoPackage layer.
    """
    run = run or run_id(analysis)
    layers, specs = write_gpkg(analysis, folder / GPKG, run)
    write_qgis_project(analysis, folder, layers, specs)
    table = areas_table(analysis)
    csv_bytes = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    (folder / AREAS_CSV).write_bytes(csv_bytes)
    write_xlsx(analysis, folder / XLSX)
    scenario_bytes = (json.dumps(scenario_data(analysis, run), ensure_ascii=False,
                                 separators=(",", ":")) + "\n").encode("utf-8")
    (folder / SCENARIO).write_bytes(scenario_bytes)
    files = {AREAS_CSV: {"sha256": hashlib.sha256(csv_bytes).hexdigest(),
                         "rows": int(len(table))},
             GPKG: {"layers": layers},
             SCENARIO: {"sha256": hashlib.sha256(scenario_bytes).hexdigest()}}
    summary_text = json.dumps(build_summary(analysis, files, run=run), ensure_ascii=False,
                              indent=2) + "\n"
    (folder / SUMMARY).write_text(summary_text, encoding="utf-8", newline="\n")
    write_digest_cache(folder, {**{str(i.source.path): i.digest.entry for i in
                                   analysis.infos.values() if i.digest.entry is not None},
                                **analysis.extra_digests})
    return [SUMMARY, AREAS_CSV, GPKG, QGIS_PROJECT, XLSX, SCENARIO]


def write_outputs(analysis: Analysis) -> list[Path]:
    """`opjord analyse`: write data/processed on its own, as one publication."""
    folder = analysis.config.output.processed
    with publishing(analysis.config, ["processed"]) as pub:
        pub.run_ids["processed"] = run = run_id(analysis)
        names = write_processed(analysis, pub.stage("processed"), run)
    return [folder / n for n in names]
