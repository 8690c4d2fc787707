"""Write the analysis outputs (summary.json, areas.csv, analysis.gpkg, opjord.xlsx).

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

import pipeline
from pipeline import ANALYSIS_CRS
from pipeline.analyse import Analysis
from pipeline.files import write_digest_cache
from pipeline.outputs import publishing
from pipeline.read import USE_ARROW
from pipeline.results import (
    AREAS_CSV,
    GPKG,
    GPKG_LAYERS,
    GPKG_RUN_ID,
    LANDCOVER_COLUMNS,
    SCHEMA,
    SUMMARY,
    XLSX,
    AreaColumn,
    area_columns,
    demo_note,
    goal_answer,
    status_label,
)


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


def build_summary(analysis: Analysis, files: dict | None = None, *,
                  run: str | None = None) -> dict:
    """The machine-readable result (schema opjord.summary/1).

    `files` records what summary.json belongs with (see `write_processed`); `run` is the
    run id when the caller has it already (else `run_id(analysis)`).
    """
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
        "inputs": inputs,
        "warnings": [w.as_dict() for w in analysis.warnings],
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


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str, *,
                 metadata: dict | None = None) -> None:
    gdf = gdf.copy()
    for col in gdf.columns:
        if col != gdf.geometry.name and gdf[col].dtype == object:
            gdf[col] = gdf[col].astype("string")
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True,
                            geometry_type="MultiPolygon",
                            layer_options={"DESCRIPTION": GPKG_LAYERS[layer]},
                            layer_metadata=metadata,
                            append=path.exists(), use_arrow=USE_ARROW)


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


def write_gpkg(analysis: Analysis, path: Path, run: str) -> dict[str, int]:
    """analysis.gpkg: areas, footprints, pieces inside areas, change layers, boundary.

    Returns the feature count per layer written.
    """
    with _sqlite_without_sync():
        _write_gpkg_layers(analysis, path, run)
    return _written_counts(path)


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


def _layer_counts(path: Path) -> dict[str, tuple[str, int]]:
    return {name: (str(geom), int(pyogrio.read_info(path, layer=name)["features"]))
            for name, geom in pyogrio.list_layers(path)}


def _write_gpkg_layers(analysis: Analysis, path: Path, run: str) -> None:
    _write_layer(analysis.areas, path, "areas",
                 metadata={GPKG_RUN_ID: run})
    _write_layer(analysis.footprints, path, "footprints")
    _write_layer(analysis.pieces, path, "agricultural_in_areas")
    for kind in ("newly_designated", "released", "kept"):
        part = analysis.changes
        if "change" in part.columns:
            part = part[part["change"] == kind]
        _write_layer(gpd.GeoDataFrame(part, crs=ANALYSIS_CRS), path, kind)
    if analysis.boundary is not None:
        _write_layer(gpd.GeoDataFrame({"kommun": [analysis.config.kommun]},
                                      geometry=[analysis.boundary], crs=ANALYSIS_CRS),
                     path, "boundary")


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
        rows.append(row)
    return pd.DataFrame(rows)


def write_xlsx(analysis: Analysis, path: Path) -> None:
    """opjord.xlsx: a summary sheet and one sheet per plan, Swedish headers.

    The plan sheets need only the areas, so they are filled first; the summary sheet
    (the first one) last, as it waits for the municipal total.
    """
    config = analysis.config
    headers = {c.name: c.label for c in table_columns(analysis)}
    note = (demo_note(config.kommun) if analysis.demo
            else "Källa: opjord, se summary.json för indata och versioner.")
    # Text from the data is written as text: never a formula, link or number in Excel.
    options = {"strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}
    with xlsxwriter.Workbook(path, options) as book:
        formats = {"pct": book.add_format({"num_format": "0.0%"}),
                   "ha": book.add_format({"num_format": "#,##0.00"}),
                   "header": book.add_format({"bold": True, "bottom": 1})}
        first = book.add_worksheet(SUMMARY_SHEET)
        used = {_sheet_key(SUMMARY_SHEET)}
        all_areas = areas_table(analysis)
        for plan in config.plans:
            table = all_areas[all_areas["plan"] == plan.key].drop(columns=["plan"])
            table["status"] = table["status"].map(status_label)
            table = table.rename(columns=headers)
            sheet = book.add_worksheet(_sheet_name(plan.label, used))
            _write_table(sheet, table, formats, header_row=0)
        first.write_string(0, 0, note)
        _write_table(first, _summary_table(analysis), formats, header_row=2)


def _cell_values(column: pd.Series) -> list:
    """A column as cell values: numbers as float, text as str, missing as None (blank)."""
    values = column.astype(object).where(column.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _write_table(sheet, table: pd.DataFrame, formats: dict, *, header_row: int) -> None:
    """A header row and one column at a time (xlsxwriter directly: no per-cell objects).

    Text goes through `write_string` and numbers through `write_number`, so no value from
    the data is ever taken for a formula; empty text and missing values stay blank.
    """
    for i, col in enumerate(table.columns):
        sheet.write_string(header_row, i, str(col), formats["header"])
    for i, col in enumerate(table.columns):
        for r, value in enumerate(_cell_values(table[col]), start=header_row + 1):
            if isinstance(value, str):
                if value:
                    sheet.write_string(r, i, value)
            elif isinstance(value, bool):
                sheet.write_boolean(r, i, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, i, value)
            elif value is not None:
                sheet.write_string(r, i, str(value))
    _format_sheet(sheet, table.columns, formats, header_row=header_row)


def _format_sheet(sheet, columns, formats: dict, *, header_row: int) -> None:
    """Column widths and formats (ha with 2 decimals, shares as percent); frozen header.

    Formats are Excel's locale-neutral codes: Swedish Excel shows 1 234,56 and 18,4 %.
    """
    for i, col in enumerate(map(str, columns)):
        fmt = (formats["pct"] if col.startswith("Andel") else
               formats["ha"] if "(ha)" in col or "procentenheter" in col else None)
        sheet.set_column(i, i, max(12, min(40, len(col) + 2)), fmt)
    sheet.freeze_panes(header_row + 1, 0)


def write_processed(analysis: Analysis, folder: Path, run: str | None = None) -> list[str]:
    """Write summary.json, areas.csv, analysis.gpkg and opjord.xlsx into `folder` (a
    publication's staging folder); return their names.

    The GeoPackage, the CSV and the workbook's plan sheets need only the layers, so they
    are written while the municipal total may still be computing (`Analysis.figures`).
    summary.json, written last, records the sha256 and rows of areas.csv and the feature
    count of every GeoPackage layer.
    """
    run = run or run_id(analysis)
    layers = write_gpkg(analysis, folder / GPKG, run)
    table = areas_table(analysis)
    csv_bytes = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    (folder / AREAS_CSV).write_bytes(csv_bytes)
    write_xlsx(analysis, folder / XLSX)
    files = {AREAS_CSV: {"sha256": hashlib.sha256(csv_bytes).hexdigest(),
                         "rows": int(len(table))},
             GPKG: {"layers": layers}}
    summary_text = json.dumps(build_summary(analysis, files, run=run), ensure_ascii=False,
                              indent=2) + "\n"
    (folder / SUMMARY).write_text(summary_text, encoding="utf-8", newline="\n")
    write_digest_cache(folder, {str(i.source.path): i.digest.entry for i in
                                analysis.infos.values() if i.digest.entry is not None})
    return [SUMMARY, AREAS_CSV, GPKG, XLSX]


def write_outputs(analysis: Analysis) -> list[Path]:
    """`opjord analyse`: write data/processed on its own, as one publication."""
    folder = analysis.config.output.processed
    with publishing(analysis.config, ["processed"]) as pub:
        pub.run_ids["processed"] = run = run_id(analysis)
        names = write_processed(analysis, pub.stage("processed"), run)
    return [folder / n for n in names]
