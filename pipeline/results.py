"""The contract of the analysis outputs, and one checked reader of them.

The contract: file names, the summary schema, the area columns (name, kind, Swedish
label, meaning), the status and goal texts. `export`, `webmap`, the report and the
CLI take their names and labels from here, so an area column added to
`DERIVED_AREA_COLUMNS` appears in areas.csv, the GeoPackage, the workbook, the map's
popups and table and the report's area table without further edits.

The reader: `read_processed(folder)` reads summary.json and areas.csv and checks that the
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputError

if TYPE_CHECKING:  # the texts and columns load without pandas; the reader imports it
    import geopandas as gpd
    import pandas as pd

SCHEMA = "opjord.summary/1"
SUMMARY, AREAS_CSV, GPKG, XLSX = "summary.json", "areas.csv", "analysis.gpkg", "opjord.xlsx"
# Layers of analysis.gpkg: name -> Swedish description shown in QGIS' layer properties.
GPKG_LAYERS = {
    "areas": "Utvecklingsområden per plan med areal, jordbruksmark, andel och status",
    "footprints": "Planens samlade utvecklingsområden (överlapp räknas en gång)",
    "agricultural_in_areas": "Jordbruksmark inom planens utvecklingsområden, med källattribut",
    "newly_designated": "Jordbruksmark som planen nyutpekar jämfört med jämförelseplanen",
    "released": "Jordbruksmark i jämförelseplanens utvecklingsområden som planen inte längre "
                "pekar ut",
    "kept": "Jordbruksmark utpekad i både planen och jämförelseplanen",
    "boundary": "Kommungräns",
}
GPKG_RUN_ID = "OPJORD_RUN_ID"  # metadata item of analysis.gpkg's `areas` layer
AREA_TEXT_COLUMNS = ("plan", "area_id", "name", "type", "status")

# ---------------------------------------------------------------------------- area columns


@dataclass(frozen=True)
class AreaColumn:
    """One per-area column: areas.csv column, GeoPackage field and map property `name`."""

    name: str
    label: str  # Swedish header (workbook, map table and popup, report)
    kind: str  # "text", "ha" (hectares) or "share" (0–1)
    description: str  # what it holds, with units (the output contract in docs/outputs.md)


@dataclass(frozen=True)
class DerivedColumn(AreaColumn):
    """An area column computed from the other area columns (a pandas expression)."""

    compute: Callable[[pd.DataFrame], pd.Series] | None = None


# A new per-area figure computed from the others goes here (and in docs/outputs.md).
DERIVED_AREA_COLUMNS: tuple[DerivedColumn, ...] = ()

LANDCOVER_COLUMNS = (
    AreaColumn("landcover_agricultural_ha", "Åkermark enligt marktäckedata (ha)", "ha",
               "arable land in the area according to the land-cover raster, ha"),
    AreaColumn("landcover_share", "Andel åkermark enligt marktäckedata", "share",
               "landcover_agricultural_ha / area_ha (0–1)"),
    AreaColumn("landcover_nodata_ha", "Utan marktäckedata (ha)", "ha",
               "part of the area without raster data (nodata or outside the raster), ha"),
)


def area_columns(classes: tuple[str, ...] | list[str], *, landcover: bool,
                 baseline_label: str | None = None) -> list[AreaColumn]:
    """Every area column in order: keys, figures per class, share, status, derived, raster."""
    from pipeline.indicators import class_columns

    status = f"Status mot {baseline_label}" if baseline_label else "Status"
    return [
        AreaColumn("plan", "Plan", "text", "plan key from the config ([[plans]] key)"),
        AreaColumn("area_id", "Område-id", "text",
                   "the area's id (id_column, NFC, stripped) or its row number from 1"),
        AreaColumn("name", "Namn", "text", "the area's name (name_column)"),
        AreaColumn("type", "Typ", "text", "the area's type (type_column, through type_map)"),
        AreaColumn("area_ha", "Areal (ha)", "ha", "the area's own area, ha (not clipped)"),
        AreaColumn("agricultural_ha", "Jordbruksmark (ha)", "ha",
                   "agricultural land inside the area, ha (overlapping blocks once)"),
        *(AreaColumn(col, f"varav {c} (ha)", "ha",
                     f"agricultural land of class {c} inside the area, ha")
          for c, col in class_columns(tuple(classes)).items()),
        AreaColumn("share", "Andel jordbruksmark", "share", "agricultural_ha / area_ha (0–1)"),
        AreaColumn("status", status, "text",
                   "new, kept, changed or removed against the baseline ('' for the baseline)"),
        *DERIVED_AREA_COLUMNS,
        *(LANDCOVER_COLUMNS if landcover else ()),
    ]


def add_derived_columns(areas: pd.DataFrame) -> pd.DataFrame:
    """`areas` with every derived column computed (a new frame)."""
    return areas.assign(**{c.name: c.compute for c in DERIVED_AREA_COLUMNS}) \
        if DERIVED_AREA_COLUMNS else areas


# ---------------------------------------------------------------------------- texts


STATUS_LABELS = {"new": "ny", "kept": "kvar", "changed": "ändrad", "removed": "borttagen"}


def status_label(status: object) -> str:
    """The Swedish word for an area status ('' for the baseline's own areas)."""
    return STATUS_LABELS.get(str(status) if isinstance(status, str) else "", "")


def goal_text(goal_met: bool | None, *, reason: bool = False) -> str:
    """"målet är uppfyllt" and its siblings; with `reason`, why (the share fell or not)."""
    if goal_met is None:
        return "målet kan inte bedömas"
    text = "målet är uppfyllt" if goal_met else "målet är inte uppfyllt"
    if reason:
        text += ": andelen har minskat" if goal_met else ": andelen har inte minskat"
    return text


WARNING_CODES = {  # code -> what it means (summary.json `warnings[].code`)
    "plan_without_areas": "a plan's layer holds no development area; its share is null",
    "areas_outside_boundary": "part of a plan's areas lies outside the municipal boundary",
    "class_variants": "class values counted as a class though they differ from it by case or "
                      "surrounding spaces",
    "type_variants": "type values mapped as a type_map key though they differ from it by case "
                     "or surrounding spaces",
    "formula_like_text": "ids, names or types that a spreadsheet could take for a formula",
    "landcover": "a remark on the land-cover raster (nodata in the areas, codes never found, …)",
}


@dataclass(frozen=True)
class Notice:
    """A warning of the analysis: a stable code, its figures and the Swedish message."""

    code: str  # one of WARNING_CODES
    message: str
    figures: dict = field(default_factory=dict)  # the numbers in the message (ha, counts)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "figures": self.figures}


def variant_figures(found) -> list[dict]:
    """The figures of case/space variants (`pipeline.values.variants`) for a Notice."""
    return [{"value": v.value, "counted_as": v.target, "features": v.features,
             "area_ha": v.area_ha} for v in found]


def role_label(role: str, config=None) -> str:
    """A Swedish name for an input role ("plan:op2017" → "Plan ÖP 2017 (op2017)")."""
    kind, _, key = role.partition(":")
    labels = {p.key: p.label for p in config.plans} if config is not None else {}
    if kind == "plan":
        return f"Plan {labels.get(key, key)} ({key})" if key in labels else f"Plan {key}"
    if kind == "agricultural_land":
        return f"Jordbruksmark för plan {labels.get(key, key)}" if key else "Jordbruksmark"
    return {"boundary": "Kommungräns", "landcover": "Marktäckedata"}.get(kind, role)


def genitive(name: str) -> str:
    """A Swedish genitive: "Ödeshög" → "Ödeshögs", "Borås" stays "Borås"."""
    return name if name.endswith(("s", "x", "z")) else f"{name}s"


def demo_note(kommun: str | None) -> str:
    """The line every output made from the demo data carries (`kommun` None: no name)."""
    whose = f"{genitive(kommun)} kommuns" if kommun else "kommunens"
    return f"DEMODATA: syntetiska data – siffrorna är inte {whose}."


def goal_answer(goal_met: bool | None) -> str:
    """The one-word answer in a table cell: Ja, Nej or Kan inte bedömas."""
    return {True: "Ja", False: "Nej", None: "Kan inte bedömas"}[goal_met]

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
        import geopandas as gpd
        import pyogrio

        if name not in self.summary["files"][GPKG]["layers"]:
            return None
        try:
            return gpd.read_file(self.gpkg, layer=name, engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(f"{self.gpkg}: lagret {name!r} kan inte läsas ({exc}); filen är "
                             f"skadad. {_RERUN}") from exc


def read_processed(folder: Path) -> Processed:
    """Read and check summary.json, areas.csv and analysis.gpkg in `folder`."""
    import pandas as pd

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
    import pyogrio

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
