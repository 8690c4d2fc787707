"""Scenarios: the exact figures of any selection of development areas, from the faces.

Changes to the spec of /tmp/others.md (for the scenario page): none to its keys. Additions
only: `faces.areas` lists each face's area numbers in ascending order; `faces` also holds the
faces outside the boundary (`inside` false), which no figure counts; the goal verdict is
share < baseline share and `ratio_trap` = verdict met and agricultural_ha > the baseline's
`agricultural_ha` (both from `plans`). The file is written on one line, `run_id` as in
summary.json. The CSV of a selection: columns `plan,area_id` (docs/scenario.md).

The analysis cuts every plan's areas and the boundary into faces (`overlay.faces`): each
face lies wholly inside or outside every area. A selection S of areas, measured on the
agricultural layer of plan P, is then a sum over faces: the faces covered by an area in S
and inside the boundary are S's footprint, so

    development m² = Σ area_m2 of those faces
    agricultural m² per class = Σ agricultural_m2[role of P's layer] of those faces
    share = agricultural / development (None when development is 0)

which equals `opjord analyse` run on P's layer filtered to S (overlaps counted once, the
boundary clipping the footprint as in the plan totals). The same sums give each area's
effect on its plan (`area_effects`: the faces covered by that area alone among its plan's
areas leave the footprint when it is removed).

`export.scenario_data` writes `scenario.json` in the processed folder (the spec shared with the
scenario page's JavaScript, which must compute the same numbers):

    {"schema": 1, "run_id": str, "classes": [class names in order], "baseline": plan key,
     "layers": [agricultural layer roles, e.g. "agricultural_land"],
     "plans": [{"key", "label", "layer": role of the plan's agricultural layer,
                "share", "agricultural_ha", "development_area_ha" (as in summary.json)}],
     "areas": [{"plan", "area_id", "name", "type", "area_ha"}],  # index = area number
     "faces": {"area_m2": [m² per face], "inside": [bool per face: inside the boundary],
               "areas": [[area numbers covering the face], ...],
               "agricultural_m2": {role: [[m² per class] per face]}}}

`figures(data, plan_key, selection)` computes a selection's figures from that dict: the
change against the baseline's share in percentage points, the goal verdict (share below the
baseline's) and the ratio-trap caveat (the goal is met while the farmland in the footprint
grows, `indicators.ratio_trap`).

Area numbers are positions in `Analysis.areas` (every plan's areas, plans in config order,
areas in layer order), which is also areas.csv's row order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.indicators import M2_PER_HA, ratio, ratio_trap

SCENARIO_SCHEMA = 1


@dataclass(frozen=True)
class FaceTable:
    """The faces of every plan's areas: their area, boundary flag, covering areas, farmland.

    Membership is a list of pairs: face `face[k]` lies inside area number `region[k]`.
    """

    area_m2: np.ndarray  # m² per face
    inside: np.ndarray  # bool per face: inside the boundary (all True without one)
    face: np.ndarray  # membership pairs: face index …
    region: np.ndarray  # … and the area number covering it
    agricultural_m2: dict[str, np.ndarray]  # per layer role: (faces × classes) m²

    def covered(self, selected: np.ndarray) -> np.ndarray:
        """Bool per face: covered by an area whose number is True in `selected`."""
        hit = np.zeros(len(self.area_m2), dtype=bool)
        hit[self.face[selected[self.region]]] = True
        return hit


def face_agricultural_m2(face: np.ndarray, piece_class: np.ndarray, area_m2: np.ndarray,
                         n_faces: int, classes: tuple[str, ...]) -> np.ndarray:
    """Clipped agricultural pieces summed per face and class: (n_faces × classes) m²."""
    out = np.zeros((n_faces, len(classes)))
    index = {c: k for k, c in enumerate(classes)}
    cls = np.array([index[c] for c in piece_class], dtype=int)
    if len(face):
        np.add.at(out, (face, cls), area_m2)
    return out


def selection_m2(table: FaceTable, role: str, selected: np.ndarray) -> tuple[float, np.ndarray]:
    """Development m² and agricultural m² per class of the areas True in `selected`
    (a bool per area number), measured on layer `role` inside the boundary."""
    faces = table.covered(selected) & table.inside
    return float(table.area_m2[faces].sum()), table.agricultural_m2[role][faces].sum(axis=0)


@dataclass(frozen=True)
class AreaEffects:
    """Each area's effect on its plan: the plan's figures without that area alone."""

    development_m2_without: np.ndarray  # per area of the plan
    agricultural_m2_without: np.ndarray  # per area (all classes)
    share_without: list[float | None]  # 0–1; None when nothing is left
    share_effect_pp: list[float | None]  # 100 × (share − share_without)
    agricultural_ha_effect: np.ndarray  # plan's ha − ha without the area (≥ 0)


def area_effects(table: FaceTable, role: str, first: int, n: int, development_m2: float,
                 agricultural_m2: float) -> AreaEffects:
    """The effect of removing each of a plan's areas (numbers first … first + n − 1) on the
    plan's share and farmland, exact with overlaps.

    The faces inside the boundary covered by that area alone among the plan's areas leave
    the footprint; an area wholly covered by the plan's other areas has effect 0 (exactly).
    `development_m2` and `agricultural_m2` are the plan's totals (measured on `role`).
    """
    mine = (table.region >= first) & (table.region < first + n)
    count = np.bincount(table.face[mine], minlength=len(table.area_m2))
    sole = mine & (count[table.face] == 1) & table.inside[table.face]
    who, where = table.region[sole] - first, table.face[sole]
    sole_dev = np.zeros(n)
    sole_agri = np.zeros(n)
    np.add.at(sole_dev, who, table.area_m2[where])
    np.add.at(sole_agri, who, table.agricultural_m2[role][where].sum(axis=1))
    n_faces = int(((count > 0) & table.inside).sum())
    left = n_faces - np.bincount(who, minlength=n)  # faces left in the footprint
    dev = np.where(left > 0, development_m2 - sole_dev, 0.0)
    agri = np.where(left > 0, agricultural_m2 - sole_agri, 0.0)
    share = ratio(agricultural_m2, development_m2)
    without = [ratio(a, d) for a, d in zip(agri, dev, strict=True)]
    return AreaEffects(
        development_m2_without=dev, agricultural_m2_without=agri, share_without=without,
        share_effect_pp=[None if share is None or w is None else 100.0 * (share - w)
                         for w in without],
        agricultural_ha_effect=(agricultural_m2 - agri) / M2_PER_HA)


# ---------------------------------------------------------------------------- the data


def check_data(data: object) -> list[str]:
    """The keys of scenario.json missing or of the wrong shape ([] when it is sound)."""
    if not isinstance(data, dict):
        return ["(hela filen)"]
    shape = {"schema": int, "run_id": str, "classes": list, "baseline": str, "layers": list,
             "plans": list, "areas": list, "faces": dict}
    wrong = [k for k, kind in shape.items() if not isinstance(data.get(k), kind)]
    if wrong:
        return wrong
    if data["schema"] != SCENARIO_SCHEMA:
        return ["schema"]
    faces = data["faces"]
    lists = ("area_m2", "inside", "areas")
    wrong = [f"faces.{k}" for k in lists if not isinstance(faces.get(k), list)]
    agri = faces.get("agricultural_m2")
    if not isinstance(agri, dict) or set(agri) != set(data["layers"]):
        wrong.append("faces.agricultural_m2")
    if wrong:
        return wrong
    n = len(faces["area_m2"])
    if len(faces["inside"]) != n or len(faces["areas"]) != n:
        return ["faces"]
    n_areas, n_classes = len(data["areas"]), len(data["classes"])
    if any(not isinstance(rows, list) or len(rows) != n
           or any(not isinstance(r, list) or len(r) != n_classes for r in rows)
           for rows in agri.values()):
        return ["faces.agricultural_m2"]
    if any(not isinstance(a, int) or not 0 <= a < n_areas for m in faces["areas"] for a in m):
        return ["faces.areas"]
    keys = [p.get("key") if isinstance(p, dict) else None for p in data["plans"]]
    if (data["baseline"] not in keys
            or any(not isinstance(p, dict) or p.get("layer") not in agri for p in data["plans"])):
        return ["plans"]
    if any(not isinstance(a, dict) or a.get("plan") not in keys for a in data["areas"]):
        return ["areas"]
    return []


def table_of(data: dict) -> FaceTable:
    """The faces of scenario.json as arrays."""
    faces = data["faces"]
    members = faces["areas"]
    face = np.repeat(np.arange(len(members)), [len(m) for m in members])
    region = np.array([a for m in members for a in m], dtype=int)
    n_classes = len(data["classes"])
    return FaceTable(
        area_m2=np.asarray(faces["area_m2"], dtype=float).reshape(-1),
        inside=np.asarray(faces["inside"], dtype=bool).reshape(-1),
        face=face.astype(int), region=region,
        agricultural_m2={role: np.asarray(rows, dtype=float).reshape(-1, n_classes)
                         for role, rows in faces["agricultural_m2"].items()})


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class ScenarioFigures:
    """A selection's figures on a plan's layer: ha, shares 0–1, change in pp."""

    plan: str  # the plan whose agricultural layer measures it
    layer: str
    areas: tuple[int, ...]  # the selected area numbers, sorted
    development_area_ha: float
    agricultural_ha: float
    agricultural_ha_by_class: dict[str, float]
    share: float | None
    baseline: str
    baseline_share: float | None
    baseline_agricultural_ha: float
    share_change_pp: float | None  # 100 × (share − baseline_share)
    agricultural_ha_change: float  # agricultural_ha − baseline_agricultural_ha
    goal_met: bool | None  # share below the baseline's
    ratio_trap: bool  # the goal is met while the farmland in the footprint grows

    def as_dict(self) -> dict:
        """Stable English keys (`opjord scenario --json`)."""
        return {"plan": self.plan, "layer": self.layer, "areas": list(self.areas),
                "development_area_ha": self.development_area_ha,
                "agricultural_ha": self.agricultural_ha,
                "agricultural_ha_by_class": dict(self.agricultural_ha_by_class),
                "share": self.share, "baseline": self.baseline,
                "baseline_share": self.baseline_share,
                "baseline_agricultural_ha": self.baseline_agricultural_ha,
                "share_change_pp": self.share_change_pp,
                "agricultural_ha_change": self.agricultural_ha_change,
                "goal_met": self.goal_met, "ratio_trap": self.ratio_trap}


def figures(data: dict, plan_key: str, selection: Iterable[int], *,
            table: FaceTable | None = None) -> ScenarioFigures:
    """The figures of the areas numbered `selection` (any plans' areas) measured on plan
    `plan_key`'s agricultural layer, against the baseline's share (from `data`).

    `table` is `table_of(data)` when the caller has it already (many selections).
    Raises KeyError for an unknown plan and IndexError for an unknown area number.
    """
    plans = {p["key"]: p for p in data["plans"]}
    plan = plans[plan_key]
    chosen = sorted({int(a) for a in selection})
    n_areas = len(data["areas"])
    if any(not 0 <= a < n_areas for a in chosen):
        raise IndexError(f"area numbers outside 0…{n_areas - 1}")
    table = table if table is not None else table_of(data)
    selected = np.zeros(n_areas, dtype=bool)
    selected[chosen] = True
    dev_m2, agri_m2 = selection_m2(table, plan["layer"], selected)
    agri_total = float(agri_m2.sum())
    share = ratio(agri_total, dev_m2)
    base = plans[data["baseline"]]
    base_share = base["share"]
    both = share is not None and base_share is not None
    goal = bool(share < base_share) if both else None
    agricultural_ha = agri_total / M2_PER_HA
    return ScenarioFigures(
        plan=plan_key, layer=plan["layer"], areas=tuple(chosen),
        development_area_ha=dev_m2 / M2_PER_HA, agricultural_ha=agricultural_ha,
        agricultural_ha_by_class={c: float(v) / M2_PER_HA
                                  for c, v in zip(data["classes"], agri_m2, strict=True)},
        share=share, baseline=data["baseline"], baseline_share=base_share,
        baseline_agricultural_ha=base["agricultural_ha"],
        share_change_pp=100.0 * (share - base_share) if both else None,
        agricultural_ha_change=agricultural_ha - base["agricultural_ha"],
        goal_met=goal,
        ratio_trap=ratio_trap(goal, agricultural_ha, base["agricultural_ha"]))


def plan_areas(data: dict, plan_key: str) -> list[int]:
    """The area numbers of a plan's own areas."""
    return [i for i, a in enumerate(data["areas"]) if a["plan"] == plan_key]


# ---------------------------------------------------------------------------- selections


def area_numbers(data: dict) -> dict[tuple[str, str], int]:
    """(plan key, area id) → area number."""
    return {(a["plan"], a["area_id"]): i for i, a in enumerate(data["areas"])}


def resolve_ids(data: dict, plan_key: str, ids: Iterable[str]) -> tuple[list[int], list[str]]:
    """Area numbers of `ids` and the ids not found.

    An id is the plan's own (`U-049`) or another plan's written `plan:id` (`op2017:U-017`);
    a text before the first ":" that is no plan key belongs to the id itself.
    """
    index = area_numbers(data)
    keys = {p["key"] for p in data["plans"]}
    found, unknown = [], []
    for raw in ids:
        text = raw.strip()
        if not text:
            continue
        key, sep, rest = text.partition(":")
        plan, area_id = (key, rest) if sep and key in keys else (plan_key, text)
        if (plan, area_id) in index:
            found.append(index[(plan, area_id)])
        else:
            unknown.append(text)
    return found, unknown


def split_ids(text: str | None) -> list[str]:
    """"U-049,U-003" → ["U-049", "U-003"] (spaces around ids ignored)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def read_selection_csv(path: Path, data: dict) -> tuple[list[int], list[str]]:
    """The area numbers of a selection CSV (columns plan, area_id; docs/scenario.md) and
    the rows not found as "plan:id". Raises InputError for a file that is no such CSV."""
    from pipeline.errors import InputError

    fix = ("Åtgärd: använd en CSV med rubrikraden plan,area_id och en rad per område, som "
           "den som scenariosidan laddar ner (se docs/scenario.md).")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: filen finns inte. {fix}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: är inte UTF-8-text ({exc}). {fix}") from exc
    except OSError as exc:
        raise InputError(f"{path}: kan inte läsas ({exc.strerror}). {fix}") from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{path}: är ingen giltig CSV ({exc}). {fix}") from exc
    header = [h.strip() for h in rows[0]] if rows else []
    if "plan" not in header or "area_id" not in header:
        raise InputError(f"{path}: rubrikraden saknar kolumnerna plan och area_id (den är "
                         f"{','.join(header) or 'tom'!s}). {fix}")
    p, a = header.index("plan"), header.index("area_id")
    index = area_numbers(data)
    found, unknown = [], []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(p, a) or not row[p].strip() or not row[a].strip():
            raise InputError(f"{path}: rad {n} saknar plan eller area_id. {fix}")
        key = (row[p].strip(), row[a].strip())
        if key in index:
            found.append(index[key])
        else:
            unknown.append(f"{key[0]}:{key[1]}")
    return found, unknown
