"""What the report is built from (data/processed, and the config's [publication]), and the
helpers on it that both the sections and the figures use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio

from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.publication import Publication, publication
from pipeline.results import Processed

TOP_N = 10  # areas in the "most farmland" table and chart


@dataclass
class ReportData:
    """What the report is built from: data/processed, and the config's publication."""

    summary: dict
    areas: pd.DataFrame  # areas.csv
    gpkg: Path
    web_map: Path | None  # maps/index.html when it exists
    # publisher, goal, credits of the config (pipeline.publication); None: the report's
    # general goal wording and no credits
    publication: Publication | None = None

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


def report_data(processed: Processed, web_map: Path | None,
                config: Config | None = None) -> ReportData:
    """What the report is built from: the checked analysis outputs, the web map's page and
    what the config says about the publication (goal, publisher, credits)."""
    return ReportData(summary=processed.summary, areas=processed.areas, gpkg=processed.gpkg,
                      web_map=web_map,
                      publication=None if config is None else publication(config))


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


def top_areas(data: ReportData) -> pd.DataFrame:
    """The headline plan's areas with the most farmland (at most TOP_N), largest first."""
    table = data.areas[data.areas["plan"] == data.headline].copy()
    table = table[table["agricultural_ha"] > 0]
    table = table.sort_values(["agricultural_ha", "area_id"], ascending=[False, True],
                              kind="stable")
    return table.head(TOP_N)


def area_name(row: pd.Series) -> str:
    """An area as people know it: "Ängen (A1)", or the name or the id alone."""
    name, area_id = str(row.get("name") or ""), str(row.get("area_id") or "")
    return f"{name} ({area_id})" if name and area_id and name != area_id else (name or area_id)
