"""Reading the analysis outputs back: one checked reader for the map and the report.

`read_processed(folder)` reads summary.json and areas.csv and checks that the
folder's files belong together before anything is built from them: the schema,
the sha256 and row count of areas.csv recorded in summary.json, the rows per plan
against each plan's `n_areas`, and the run id and layer counts of analysis.gpkg.
A damaged or mixed folder is an InputError (exit 2) instead of a wrong sentence
in the report or on the map.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from pipeline.errors import InputError

SCHEMA = "opjord.summary/1"
SUMMARY, AREAS_CSV, GPKG, XLSX = "summary.json", "areas.csv", "analysis.gpkg", "opjord.xlsx"
GPKG_RUN_ID = "OPJORD_RUN_ID"  # metadata item of analysis.gpkg's `areas` layer
AREA_TEXT_COLUMNS = ("plan", "area_id", "name", "type", "status")

_RERUN = "Åtgärd: kör `opjord analyse` (eller `opjord run`) igen med samma --config."


@dataclass(frozen=True)
class Processed:
    """What `opjord analyse` wrote, checked: summary, per-area table, GeoPackage path."""

    folder: Path
    summary: dict
    areas: pd.DataFrame  # areas.csv as written (text columns as str, numbers as float)

    @property
    def gpkg(self) -> Path:
        return self.folder / GPKG

    @property
    def run_id(self) -> str:
        return self.summary["run_id"]

    def layer(self, name: str) -> gpd.GeoDataFrame | None:
        """A layer of analysis.gpkg (EPSG:3006), or None when the run wrote none."""
        if name not in self.summary["files"][GPKG]["layers"]:
            return None
        try:
            return gpd.read_file(self.gpkg, layer=name, engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(f"{self.gpkg}: lagret {name!r} kan inte läsas ({exc}); filen är "
                             f"skadad. {_RERUN}") from exc


def read_processed(folder: Path) -> Processed:
    """Read and check summary.json, areas.csv and analysis.gpkg in `folder`."""
    missing = [n for n in (SUMMARY, AREAS_CSV, GPKG) if not (folder / n).is_file()]
    if missing:
        raise InputError(
            f"{folder}: analysresultaten {', '.join(missing)} saknas, så det finns inget att "
            f"bygga kartor eller rapport av. Åtgärd: kör `opjord analyse` först (eller `opjord "
            "run`) med samma --config.")
    summary = _read_summary(folder / SUMMARY)
    csv_bytes = (folder / AREAS_CSV).read_bytes()
    recorded = summary["files"][AREAS_CSV]
    if hashlib.sha256(csv_bytes).hexdigest() != recorded.get("sha256"):
        raise InputError(
            f"{folder / AREAS_CSV}: filen stämmer inte med {SUMMARY} (dess sha256 är en annan "
            "än den analysen skrev), så den har ändrats eller skadats efter `opjord analyse`. "
            f"Kartor och rapport byggs inte av den. {_RERUN}")
    try:
        areas = pd.read_csv(io.BytesIO(csv_bytes), encoding="utf-8", keep_default_na=False,
                            na_values={c: [""] for c in ("area_ha", "agricultural_ha", "share")},
                            dtype={c: str for c in AREA_TEXT_COLUMNS})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{folder / AREAS_CSV}: kan inte läsas ({exc}). {_RERUN}") from exc
    _check_counts(folder, summary, areas)
    _check_gpkg(folder / GPKG, summary)
    return Processed(folder=folder, summary=summary, areas=areas)


def _read_summary(path: Path) -> dict:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: är inte giltig JSON ({exc}); filen är skadad. "
                         f"{_RERUN}") from exc
    found = summary.get("schema") if isinstance(summary, dict) else None
    if found != SCHEMA:
        raise InputError(f"{path}: schemat är {found!r}, den här versionen av opjord läser "
                         f"{SCHEMA!r}. {_RERUN}")
    shape = {"run_id": str, "plans": dict, "comparisons": dict, "baseline": str,
             "files": dict, "inputs": list, "warnings": list, "classes": list}
    wrong = [k for k, kind in shape.items() if not isinstance(summary.get(k), kind)]
    files = summary.get("files")
    if not wrong and not (isinstance(files.get(AREAS_CSV), dict)
                          and isinstance(files.get(GPKG), dict)
                          and isinstance(files[GPKG].get("layers"), dict)):
        wrong = ["files"]
    if not wrong and (summary["baseline"] not in summary["plans"]
                      or not all(isinstance(p, dict) and isinstance(p.get("n_areas"), int)
                                 for p in summary["plans"].values())):
        wrong = ["plans"]
    if wrong:
        raise InputError(f"{path}: saknar eller har fel form på {', '.join(wrong)}; filen är "
                         f"skadad eller skriven av en äldre version av opjord. {_RERUN}")
    return summary


def _check_counts(folder: Path, summary: dict, areas: pd.DataFrame) -> None:
    """areas.csv has the rows summary.json counts, plan by plan."""
    expected = {k: p["n_areas"] for k, p in summary["plans"].items()}
    found = {k: int(n) for k, n in areas["plan"].value_counts().items()} if "plan" in areas else {}
    if (len(areas) != summary["files"][AREAS_CSV].get("rows")
            or {k: found.get(k, 0) for k in expected} != expected or set(found) - set(expected)):
        raise InputError(
            f"{folder / AREAS_CSV}: antalet områden per plan ({_counts(found)}) stämmer inte "
            f"med {SUMMARY} ({_counts(expected)}). {_RERUN}")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in counts.items()) or "inga"


def _check_gpkg(path: Path, summary: dict) -> None:
    """analysis.gpkg is the one this summary.json was written with (run id, layer counts)."""
    try:
        run = (pyogrio.read_info(path, layer="areas").get("layer_metadata") or {}).get(
            GPKG_RUN_ID)
        counts = {name: int(pyogrio.read_info(path, layer=name)["features"])
                  for name, _ in pyogrio.list_layers(path)}
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{path}: kan inte läsas ({exc}); filen är skadad. {_RERUN}") from exc
    if run != summary["run_id"] or counts != summary["files"][GPKG]["layers"]:
        raise InputError(
            f"{path}: hör inte ihop med {SUMMARY} (körnings-id {run!r} mot "
            f"{summary['run_id']!r}, eller ett annat antal objekt per lager), så mappen "
            f"blandar filer från olika körningar. {_RERUN}")
