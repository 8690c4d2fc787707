"""What the report is built from (data/processed only), and the helpers on it that both
the sections and the figures use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio

from pipeline import scenario
from pipeline.errors import InputError
from pipeline.results import Processed
from pipeline.scenario import ScenarioFigures

TOP_N = 10  # areas in the "most farmland" table and chart


@dataclass
class ReportData:
    """What the report is built from: data/processed only."""

    summary: dict
    areas: pd.DataFrame  # areas.csv
    gpkg: Path
    web_map: Path | None  # maps/index.html when it exists
    scenario: dict = field(default_factory=dict)  # scenario.json (`pipeline.scenario`)

    @property
    def plans(self) -> dict[str, dict]:
        return self.summary["plans"]

    @property
    def baseline(self) -> str:
        return self.summary["baseline"]

    def label(self, key: str) -> str:
        return self.plans[key]["label"]

    def input(self, role: str) -> dict | None:
        return next((i for i in self.summary.get("inputs", []) if i["role"] == role), None)

    @property
    def headline(self) -> str:
        """The plan the headline is about: the last compared plan, else the only plan."""
        comparisons = list(self.summary.get("comparisons", {}))
        return comparisons[-1] if comparisons else self.baseline


def report_data(processed: Processed, web_map: Path | None) -> ReportData:
    """What the report is built from: the checked analysis outputs and the web map's page."""
    return ReportData(summary=processed.summary, areas=processed.areas, gpkg=processed.gpkg,
                      web_map=web_map, scenario=processed.scenario)


def field_block_years(data: ReportData) -> dict[str, list[int]]:
    """Jordbruksverket's `arslager` of the farmland inside each plan's areas (if recorded)."""
    try:
        layers = {name for name, _ in pyogrio.list_layers(data.gpkg)}
        if "agricultural_in_areas" not in layers:
            return {}
        fields = pyogrio.read_info(data.gpkg, layer="agricultural_in_areas")["fields"]
        if "arslager" not in fields or "plan" not in fields:
            return {}
        table = pyogrio.read_dataframe(data.gpkg, layer="agricultural_in_areas",
                                       columns=["plan", "arslager"], read_geometry=False)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{data.gpkg}: filen kan inte läsas ({exc}). Åtgärd: kör `opjord "
                         "analyse` (eller `opjord run`) igen med samma --config.") from exc
    years: dict[str, list[int]] = {}
    for key, group in table.groupby("plan"):
        values = pd.to_numeric(group["arslager"], errors="coerce").dropna()
        years[str(key)] = sorted({int(v) for v in values})
    return years


def is_field_blocks(data: ReportData) -> bool:
    """True when the farmland pieces carry Jordbruksverket's field-block attributes."""
    try:
        fields = pyogrio.read_info(data.gpkg, layer="agricultural_in_areas")["fields"]
    except Exception:  # noqa: BLE001 - a missing layer just means "unknown"
        return False
    return "blockid" in fields and "agoslag" in fields


def top_areas(data: ReportData) -> pd.DataFrame:
    """The headline plan's areas with the most farmland (at most TOP_N), largest first."""
    table = data.areas[data.areas["plan"] == data.headline].copy()
    table = table[table["agricultural_ha"] > 0]
    table = table.sort_values(["agricultural_ha", "area_id"], ascending=[False, True],
                              kind="stable")
    return table.head(TOP_N)


def raising_areas(data: ReportData) -> list[tuple[pd.Series, ScenarioFigures]]:
    """The headline plan's areas that raise its share (`share_effect_pp` > 0), most first
    (at most TOP_N), each with the plan's figures once it and every area before it are
    removed, recomputed exactly from scenario.json (not the single effects added up)."""
    if not data.scenario:
        return []
    key = data.headline
    mine = data.areas[data.areas["plan"] == key]
    mine = mine[mine["share_effect_pp"] > 0].sort_values(
        ["share_effect_pp", "area_id"], ascending=[False, True], kind="stable").head(TOP_N)
    table = scenario.table_of(data.scenario)
    left = set(scenario.plan_areas(data.scenario, key))
    out = []
    for number, row in mine.iterrows():  # areas.csv's row number is the area number
        left.discard(int(number))
        out.append((row, scenario.figures(data.scenario, key, left, table=table)))
    return out


def area_name(row: pd.Series) -> str:
    """An area as people know it: "Ängen (A1)", or the name or the id alone."""
    name, area_id = str(row.get("name") or ""), str(row.get("area_id") or "")
    return f"{name} ({area_id})" if name and area_id and name != area_id else (name or area_id)
