"""Indicators from measured areas: per area, per plan, and plan versus baseline.

The definitions of docs/indicators.md, in one place:

- share = agricultural_ha / development_area_ha (0–1), None for a plan without areas
- share_change_pp = 100 × (share_plan − share_baseline); goal_met = share_plan < share_baseline
- ratio trap: the goal is met while agricultural_ha_plan > agricultural_ha_baseline (the share
  fell only because the plan added land without farmland)
- area status against the baseline: new / kept / changed (later plans), removed (baseline
  areas that the last listed plan no longer has)
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from pipeline.values import empty_text, usable_ids

M2_PER_HA = 10_000.0

# Two geometries count as the same area ("kept") when their symmetric difference is
# at most this share of their union: absorbs reprojection and digitising noise.
SAME_GEOMETRY_TOLERANCE = 0.001
# Without shared ids, a later area matches a baseline area when their overlap is at
# least this share of the smaller of the two.
OVERLAP_MATCH_SHARE = 0.5


def class_slug(value: str) -> str:
    """ASCII column suffix for a class value: "Åker" -> "aker", "Bete" -> "bete"."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_") or "class"


def class_columns(classes: tuple[str, ...]) -> dict[str, str]:
    """Map each class to its `agricultural_ha_<slug>` column, keeping the names unique."""
    columns: dict[str, str] = {}
    for c in classes:
        name, n = f"agricultural_ha_{class_slug(c)}", 2
        while name in columns.values():
            name, n = f"agricultural_ha_{class_slug(c)}_{n}", n + 1
        columns[c] = name
    return columns


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is 0."""
    return None if denominator <= 0 else numerator / denominator


def hectares_by_class(region: np.ndarray, piece_class: np.ndarray, area_m2: np.ndarray,
                      n_regions: int, classes: tuple[str, ...]) -> pd.DataFrame:
    """Sum clipped areas per region and class, in ha; one row per region (zeros included)."""
    out = pd.DataFrame(0.0, index=np.arange(n_regions), columns=list(classes))
    if len(region):
        sums = (pd.DataFrame({"r": region, "c": piece_class, "a": area_m2})
                .groupby(["r", "c"])["a"].sum().unstack(fill_value=0.0))
        out.loc[sums.index, sums.columns] = sums.to_numpy() / M2_PER_HA
    return out


def plan_figures(development_m2: float, agricultural_m2_by_class: dict[str, float],
                 municipal_agricultural_m2: float) -> dict:
    """Plan totals (ha and shares 0–1) from footprint measurements in m²."""
    agricultural_m2 = float(sum(agricultural_m2_by_class.values()))
    return {
        "development_area_ha": development_m2 / M2_PER_HA,
        "agricultural_ha": agricultural_m2 / M2_PER_HA,
        "agricultural_ha_by_class": {c: v / M2_PER_HA for c, v in
                                     agricultural_m2_by_class.items()},
        "share": ratio(agricultural_m2, development_m2),
        "share_of_municipal_agricultural_land": ratio(agricultural_m2, municipal_agricultural_m2),
    }


def ratio_trap(goal_met: bool | None, agricultural_ha: float,
               baseline_agricultural_ha: float) -> bool:
    """The share fell (goal met) while the farmland in the footprint grew (ha)."""
    return goal_met is True and agricultural_ha > baseline_agricultural_ha


def compare(plan: dict, base: dict, *, newly_m2: float, released_m2: float,
            kept_m2: float) -> dict:
    """A plan against the baseline: change in share (pp) and ha, goal met, change areas."""
    share, base_share = plan["share"], base["share"]
    both = share is not None and base_share is not None
    return {
        "share_change_pp": 100.0 * (share - base_share) if both else None,
        "agricultural_ha_change": plan["agricultural_ha"] - base["agricultural_ha"],
        "development_area_ha_change": plan["development_area_ha"] - base["development_area_ha"],
        "goal_met": bool(share < base_share) if both else None,
        "ratio_trap": ratio_trap(bool(share < base_share) if both else None,
                                 plan["agricultural_ha"], base["agricultural_ha"]),
        "newly_designated_ha": newly_m2 / M2_PER_HA,
        "released_ha": released_m2 / M2_PER_HA,
        "kept_ha": kept_m2 / M2_PER_HA,
    }


def same_geometry(sym_diff_m2: np.ndarray, union_m2: np.ndarray) -> np.ndarray:
    """True where two areas are the same within SAME_GEOMETRY_TOLERANCE."""
    return sym_diff_m2 <= SAME_GEOMETRY_TOLERANCE * np.maximum(union_m2, 1e-12)


def statuses_by_id(base_ids: pd.Series, later_ids: pd.Series, same: pd.Series
                   ) -> tuple[pd.Series, pd.Series]:
    """Status of later areas (new/kept/changed) and the matched baseline id, by shared ids.

    `same[k]` says whether later area k equals the baseline area with its id. A missing
    or empty id matches nothing.
    """
    matched = later_ids.isin(usable_ids(base_ids)) & ~empty_text(later_ids)
    status = pd.Series(np.where(matched, np.where(same, "kept", "changed"), "new"),
                       index=later_ids.index)
    return status, later_ids.where(matched)


def statuses_by_overlap(n_later: int, i_base: np.ndarray, j_later: np.ndarray,
                        overlap_m2: np.ndarray, base_m2: np.ndarray, later_m2: np.ndarray,
                        same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Status of later areas and the index of their matched baseline area (-1 if new).

    Pairs (i_base, j_later) overlap by overlap_m2; a pair matches when the overlap is at
    least OVERLAP_MATCH_SHARE of the smaller area; the largest overlap is the match.
    `same[k]` says whether pair k's two geometries are the same area.
    """
    status = np.full(n_later, "new", dtype=object)
    match = np.full(n_later, -1, dtype=int)
    best = np.zeros(n_later)
    smaller = np.minimum(base_m2[i_base], later_m2[j_later])
    for k in np.flatnonzero(overlap_m2 >= OVERLAP_MATCH_SHARE * smaller):
        j = j_later[k]
        if overlap_m2[k] > best[j]:
            best[j], match[j] = overlap_m2[k], i_base[k]
            status[j] = "kept" if same[k] else "changed"
    return status, match
