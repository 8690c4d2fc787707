"""The analysis step: inspect, read, clean, overlay and compute every indicator.

`analyse(config)` returns an `Analysis` holding every figure and layer that the
export, map and report steps need; it writes nothing. The figures that use the
municipal total may still be computing in a worker thread when it returns
(`Analysis.figures`); reading them waits.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from pipeline import ANALYSIS_CRS, fmt
from pipeline.clean import FID, CleanReport, clean_polygons, names_listing, polygonal
from pipeline.config import AgriculturalSource, Config, PlanConfig
from pipeline.errors import InputError, Problems
from pipeline.files import load_digest_cache
from pipeline.indicators import (
    M2_PER_HA,
    class_columns,
    compare,
    hectares_by_class,
    plan_figures,
    ratio,
    same_geometry,
    statuses_by_id,
    statuses_by_overlap,
)
from pipeline.overlay import (
    CLASS,
    Clipped,
    Coverage,
    Faces,
    area_of_coverage,
    area_of_pieces,
    build_coverage,
    clip,
    faces,
    merge_by_piece,
    overlap_pairs,
    tiles_of,
    union,
    unions_of_coverages,
)
from pipeline.read import (
    PART_FEATURES,
    STREAM_MIN_FEATURES,
    SourceInfo,
    all_fids,
    check_class_values,
    index_boxes,
    inspect_source,
    partitions,
    read_box,
    read_fids,
    read_source,
    reads_whole_layer,
)
from pipeline.results import (
    Notice,
    add_derived_columns,
    ratio_trap_text,
    role_label,
    variant_figures,
)
from pipeline.scenario import FaceTable, area_effects, face_agricultural_m2
from pipeline.values import (
    canonical,
    empty_text,
    ranks,
    usable_ids,
    variant_warning,
    variants,
)

log = logging.getLogger(__name__)

# Words of the warning for areas outside the boundary, which the report looks for.
OUTSIDE_BOUNDARY = "utanför kommungränsen"
ROW = "_opjord_row"  # a plan feature's number in its layer (1 = first), kept through cleaning
# A plan layer's own columns ride along on its areas as "plan_attribute:<column>"; the
# GeoPackage's areas layer carries them after opjord's columns (`export.gpkg_areas`).
PLAN_ATTRIBUTE = "plan_attribute:"
DEMO_MARKER = "DEMODATA.txt"  # a folder holding this file holds synthetic demo data


@dataclass
class Figures:
    """The summary figures, which wait for the municipal total |F ∩ M|."""

    plans: dict[str, dict]  # summary figures per plan key
    comparisons: dict[str, dict]  # per later plan key
    municipal_agricultural_ha: dict[str, float]  # per agricultural layer role
    notices: list[Notice] = field(default_factory=list)  # warnings from the figures (ratio_trap)


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis computed; geometries in EPSG:3006, areas in ha, shares 0–1.

    Built once by `analyse`, complete (land cover included), and then only read.

    The layers are ready when `analyse_frames` returns; `figures` may still be computing
    in a worker thread (the municipal total needs the whole agricultural layer), so the
    GeoPackage can be written meanwhile. `plans`, `comparisons` and
    `municipal_agricultural_ha` wait for it on first use and re-raise its errors;
    `notices` (every warning: `warnings` and those of the figures, e.g. `ratio_trap`) too.
    """

    config: Config
    demo: bool
    infos: dict[str, SourceInfo]  # by role
    cleaning: dict[str, CleanReport]  # by role
    boundary: BaseGeometry | None
    areas: gpd.GeoDataFrame  # every area of every plan with per-area figures and status
    footprints: gpd.GeoDataFrame  # one row per plan: its footprint D_p
    pieces: gpd.GeoDataFrame  # agricultural pieces inside each plan's footprint
    changes: gpd.GeoDataFrame  # newly designated / released / kept pieces per later plan
    figures: Future[Figures]
    warnings: list[Notice] = field(default_factory=list)
    extra_inputs: list[dict] = field(default_factory=list)  # non-vector inputs (the raster)
    # the digest-cache entries of the non-vector inputs, by path (`files.digest_entry`)
    extra_digests: dict[str, dict] = field(default_factory=dict)
    faces: FaceTable | None = None  # the faces of every plan's areas (`pipeline.scenario`)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.agricultural_land.classes

    @property
    def plans(self) -> dict[str, dict]:
        return self.figures.result().plans

    @property
    def comparisons(self) -> dict[str, dict]:
        return self.figures.result().comparisons

    @property
    def municipal_agricultural_ha(self) -> dict[str, float]:
        return self.figures.result().municipal_agricultural_ha

    @property
    def notices(self) -> list[Notice]:
        """Every warning, in order: the analysis' own, then the figures' (waits for them)."""
        return [*self.warnings, *self.figures.result().notices]


def is_demo(paths: list[Path]) -> bool:
    """True when any input lies in a folder marked as demo data."""
    return any((p.parent / DEMO_MARKER).exists() for p in paths)


def agricultural_sources(config: Config) -> dict[str, AgriculturalSource]:
    """Distinct agricultural layers by role (the shared one first)."""
    sources = {config.agricultural_land.role: config.agricultural_land}
    for plan in config.plans:
        if plan.agricultural_land is not None:
            sources[plan.agricultural_land.role] = plan.agricultural_land
    return sources


def inspect_inputs(config: Config) -> dict[str, SourceInfo]:
    """Check every vector source's metadata (layer, CRS, extent, columns); raise once for all.

    Class values are checked on the features read (`check_class_values`), not here. Each
    source's sha256 comes from the processed folder's cache when its files are unchanged.
    """
    problems = Problems()
    digests = load_digest_cache(config.output.processed)
    infos: dict[str, SourceInfo] = {}
    required: dict[str, list[str]] = {}
    for source in agricultural_sources(config).values():
        required[source.role] = [source.class_column]
    for plan in config.plans:
        required[plan.source.role] = [c for c in (plan.id_column, plan.name_column,
                                                  plan.type_column) if c]
    for source in config.vector_sources():
        try:
            infos[source.role] = inspect_source(source, required.get(source.role),
                                                digests=digests)
        except InputError as exc:
            problems.items.extend(exc.problems)
            continue
        if isinstance(source, AgriculturalSource) and infos[source.role].features == 0:
            problems.add(f"{source.path}: skiktet {infos[source.role].layer!r} har inga "
                         "objekt, så det finns ingen jordbruksmark att mäta. Åtgärd: låt "
                         f"{source.table} `path` peka på jordbruksblocken (t.ex. efter `opjord "
                         "fetch jordbruksblock`).")
    problems.raise_if_any()
    return infos


def _read_clean(info: SourceInfo, *, columns: list[str] | None = None,
                mask: BaseGeometry | None = None) -> tuple[gpd.GeoDataFrame, CleanReport]:
    gdf = read_source(info, columns=columns, mask=mask, fid=True)
    gdf, report = clean_polygons(gdf, info.source, layer=info.layer)
    log.info("Rensade %s: %s", info.source.path.name, report.describe())
    return gdf, report


def read_plan_areas(plan: PlanConfig, info: SourceInfo, warnings: list[Notice] | None = None
                    ) -> tuple[gpd.GeoDataFrame, CleanReport]:
    """A plan's areas with columns plan, area_id, name, type (strings), the layer's own
    columns (`PLAN_ATTRIBUTE` + name) and geometry.

    Warnings about type values taken as a `type_map` key are appended to `warnings`.
    Raises InputError for empty or repeated ids (`plan_areas`).
    """
    # every column (the plan's own attributes are kept) and the FID (for messages)
    gdf = read_source(info, fid=True)
    gdf[ROW] = np.arange(1, len(gdf) + 1)
    gdf, report = clean_polygons(gdf, info.source, layer=info.layer, id_column=plan.id_column)
    log.info("Rensade %s: %s", info.source.path.name, report.describe())
    return plan_areas(plan, gdf, warnings), report


def plan_areas(plan: PlanConfig, gdf: gpd.GeoDataFrame, warnings: list[Notice] | None = None
               ) -> gpd.GeoDataFrame:
    """The clean features of a plan's layer as areas: plan, area_id, name, type, the
    layer's own columns as they are (`PLAN_ATTRIBUTE` + column name), geometry.

    Every text is in NFC; ids are also stripped of surrounding spaces. A type value that
    differs from a `type_map` key only by case or surrounding spaces is mapped as that
    key, with a warning appended to `warnings`. Raises InputError when `id_column` is
    empty or repeats an id (feature numbers from the column ROW when present: 1 = the
    layer's first feature).
    """
    geoms = gdf.geometry.array.to_numpy()
    if plan.id_column:
        raw_ids = gdf[plan.id_column]
        empty = empty_text(raw_ids)
        if empty.any():
            rows = (gdf[ROW].to_numpy() if ROW in gdf.columns
                    else np.arange(1, len(gdf) + 1))[empty]
            shown = ", ".join(str(r) for r in rows[:10]) + (", …" if len(rows) > 10 else "")
            raise InputError(
                f"{plan.source.path}: kolumnen {plan.id_column!r} är tom för "
                f"{fmt.number(len(rows), 0)} av {fmt.number(len(gdf), 0)} områden "
                f"(objektnummer {shown}, där skiktets första objekt är 1). Ett område utan id "
                "kan inte matchas med jämförelseplanens områden via id. Åtgärd: fyll i id:na, "
                f"eller ta bort `id_column` från {plan.source.table} så att planernas områden "
                "matchas via överlapp i stället.")
        ids = canonical(raw_ids).str.strip()
    else:
        ids = pd.Series([str(i) for i in range(1, len(gdf) + 1)], index=gdf.index,
                        dtype="string")
    types: pd.Series | str = ""
    if plan.type_column:
        raw_types = gdf[plan.type_column]
        known = canonical(raw_types, plan.type_map).fillna("")
        types = pd.Series([plan.type_map.get(t, t) for t in known], index=gdf.index,
                          dtype="string")
        unused = [k for k in plan.type_map if k not in set(known)]
        if unused:
            present = sorted(set(known) - {""})
            _warn(warnings, "type_map_unused",
                  f"Plan {plan.key} ({plan.label}), {plan.source.path.name} kolumn "
                  f"{plan.type_column!r}: `type_map` har nycklar som inget område har som typ "
                  f"({', '.join(repr(k) for k in unused)}), så de översätter ingenting. Typer i "
                  f"data: {names_listing([repr(t) for t in present]) or 'inga'}. Åtgärd: rätta "
                  "nyckelns stavning efter data, eller ta bort den ur `type_map`.",
                  plan=plan.key, keys=unused)
        found = variants(raw_types, plan.type_map, geoms)
        if found:
            _warn(warnings, "type_variants", variant_warning(
                f"Plan {plan.key} ({plan.label}), {plan.source.path.name} kolumn "
                f"{plan.type_column!r}",
                "typvärden som bara skiljer sig från en nyckel i `type_map` i versaler/gemener "
                "eller mellanslag runt texten översätts som den nyckeln", found,
                one="område", many="områden",
                fix="Rätta värdena i data eller lägg till dem i `type_map`, så försvinner "
                    "varningen."), plan=plan.key, variants=variant_figures(found))
    out = gpd.GeoDataFrame({
        "plan": plan.key,
        "area_id": ids,
        "name": canonical(gdf[plan.name_column]).fillna("") if plan.name_column else "",
        "type": types,
        **{f"{PLAN_ATTRIBUTE}{c}": gdf[c] for c in gdf.columns
           if c not in (gdf.geometry.name, ROW, FID)},
    }, geometry=gdf.geometry.array, crs=ANALYSIS_CRS).reset_index(drop=True)
    if plan.id_column:
        dupes = out["area_id"][out["area_id"].duplicated()].unique()
        if len(dupes):
            raise InputError(
                f"{plan.source.path}: kolumnen {plan.id_column!r} är inget unikt id (upprepade: "
                f"{', '.join(map(str, dupes[:10]))}). Åtgärd: ge varje område ett eget id, "
                f"eller ta bort `id_column` från {plan.source.table} så att områdena numreras "
                "i radordning.")
    _warn_formula_like(plan, out, warnings)
    return out


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as a formula


def _warn_formula_like(plan: PlanConfig, areas: gpd.GeoDataFrame,
                       warnings: list[Notice] | None) -> None:
    """Warn about texts a spreadsheet would take for a formula (OWASP "CSV injection").

    opjord.xlsx writes them as text; areas.csv, a file for programs, keeps every value as
    it is in the data, so the warning says how to open it in Excel safely.
    """
    found = [(col, value) for col in ("area_id", "name", "type")
             for value in areas[col].astype(str) if value.startswith(FORMULA_START)]
    if not found:
        return
    col, value = found[0]
    shown = value if len(value) <= 40 else value[:39] + "…"
    _warn(warnings, "formula_like_text",
          f"Plan {plan.key} ({plan.label}), {plan.source.path.name}: {len(found)} text(er) i "
          f"id, namn eller typ börjar med =, +, -, @ eller ett styrtecken (t.ex. {col} "
          f"{shown!r}), som ett kalkylprogram kan tolka som en formel. I opjord.xlsx är de "
          "skrivna som text; areas.csv innehåller dem som i data. Öppna areas.csv i Excel via "
          "Data → Från text/CSV, inte genom att dubbelklicka på filen.", plan=plan.key,
          count=len(found))


def _warn(warnings: list[Notice] | None, code: str, message: str, **figures) -> None:
    """Log a Swedish warning and keep it, with its code and figures, for summary.json
    (when `warnings` is given)."""
    log.warning(message)
    if warnings is not None:
        warnings.append(Notice(code, message, figures))


def class_variant_warning(source: AgriculturalSource, farmland: gpd.GeoDataFrame | None,
                          found: list | None = None) -> Notice | None:
    """The warning for class values counted as a class though they differ from it by case or
    surrounding spaces (features and their own area in ha), or None when there are none.

    `found`: the variants already counted (`values.variants`), instead of `farmland`'s."""
    if found is None:
        assert farmland is not None
        found = variants(farmland[source.class_column], source.classes,
                         farmland.geometry.array.to_numpy())
    if not found:
        return None
    return Notice("class_variants", variant_warning(
        f"Jordbruksmark {source.path.name} ({source.table}), kolumn {source.class_column!r}",
        "värden som bara skiljer sig från en klass i `classes` i versaler/gemener eller "
        "mellanslag runt texten räknas som den klassen", found, one="objekt", many="objekt",
        fix="Rätta värdena i data så att de stavas som i `classes`, så försvinner varningen."),
        {"layer": source.role, "variants": variant_figures(found)})


def _municipal_m2(farmland: gpd.GeoDataFrame, source: AgriculturalSource,
                  boundary: BaseGeometry | None) -> float:
    """|F ∩ M| in m² (|F| without a boundary), from the coverage of the whole layer."""
    t = time.perf_counter()
    m2 = area_of_coverage(farmland, source.class_column, source.classes, boundary)
    log.info("Jordbruksmark %s: %s i %s (täckning av alla %s objekt, %s s)",
             "i kommunen" if boundary is not None else "i hela skiktet",
             fmt.hectares(m2 / M2_PER_HA), source.path.name, fmt.number(len(farmland), 0),
             fmt.number(time.perf_counter() - t, 1))
    return m2


@dataclass
class Streamed:
    """A whole-layer figure and what reading the layer found, from streamed partitions."""

    municipal_m2: float  # |F ∩ M| (|F| without a boundary)
    cleaning: CleanReport  # of the features meeting the mask (all without one), as one read
    values: pd.Series  # the distinct class values of those features (after cleaning)
    variants: list  # `values.Variant`s of the classes among them


def _priority(frame: pd.DataFrame, column: str, classes: tuple[str, ...], fids: np.ndarray
              ) -> np.ndarray:
    """Rows of the counted features in priority order: class order, then fid (as the rows
    of a whole-layer read, which come in fid order)."""
    rank = ranks(frame[column], classes)
    counted = np.flatnonzero(rank >= 0)
    return counted[np.lexsort((fids[counted], rank[counted]))]


def _add_reports(a: CleanReport, b: CleanReport) -> CleanReport:
    """Two partitions' cleaning together: counts added, the named features listed one after
    the other."""
    return CleanReport(**{k: getattr(a, k) + getattr(b, k) for k in a.as_dict()},
                       repaired_names=a.repaired_names + b.repaired_names,
                       dropped_names=a.dropped_names + b.dropped_names)


def _merge_variants(found: list) -> list:
    from pipeline.values import Variant

    merged: dict[str, list] = {}
    for v in found:
        entry = merged.setdefault(v.value, [v.target, 0, 0.0])
        entry[1] += v.features
        entry[2] += v.area_ha
    return [Variant(value=k, target=t, features=n, area_ha=ha)
            for k, (t, n, ha) in sorted(merged.items())]


def _clean_named(gdf: gpd.GeoDataFrame, source: AgriculturalSource, info: SourceInfo
                 ) -> tuple[gpd.GeoDataFrame, CleanReport]:
    """`clean_polygons` of streamed features, with their FID (column "_fid") so the report
    names the features repaired or dropped, as a one-pass read does."""
    return clean_polygons(gdf.assign(**{FID: gdf["_fid"].to_numpy()}), source, layer=info.layer)


def _measure_part(gdf: gpd.GeoDataFrame, owned_fids: np.ndarray, source: AgriculturalSource,
                  info: SourceInfo, mask: BaseGeometry | None, region: BaseGeometry | None,
                  tiles: np.ndarray | None, values: set,
                  found: list) -> tuple[float, CleanReport]:
    """m² of one partition's own features (`stream_layer`) and their cleaning; adds to
    `values` and `found`."""
    column = source.class_column
    lost = np.setdiff1d(owned_fids, gdf["_fid"].to_numpy())
    if len(lost):  # GDAL's exact box test left out an own feature (degenerate geometry)
        gdf = pd.concat([gdf, read_fids(info, lost, [column])], ignore_index=True)
    own = np.isin(gdf["_fid"].to_numpy(), owned_fids)
    if mask is not None:  # as `read_source`: only the features meeting the mask count
        geoms = gdf.geometry.array.to_numpy()
        own &= ~shapely.is_missing(geoms) & shapely.intersects(mask, geoms)
    mine, mine_report = _clean_named(gdf.loc[own], source, info)
    others, _ = clean_polygons(gdf.loc[~own], source, layer=info.layer)
    values.update(mine[column].dropna().unique())
    found += variants(mine[column], source.classes, mine.geometry.array.to_numpy())
    both = pd.concat([mine, others], ignore_index=True)
    order = _priority(both, column, source.classes, both["_fid"].to_numpy())
    wanted = np.flatnonzero(order < len(mine))
    return (area_of_pieces(both.geometry.array.to_numpy()[order], wanted, region, tiles),
            mine_report)


def stream_layer(info: SourceInfo, source: AgriculturalSource, boundary: BaseGeometry | None,
                 mask: BaseGeometry | None, part_features: int | None = None
                 ) -> Streamed | None:
    """|F ∩ M| (or |F|) of a large layer in bounded memory, by spatial partitions read from
    the file one at a time; the same figure, cleaning counts and class values as reading
    the features meeting `mask` (all without one) in one pass. None when the layer has no
    usable spatial index (then it is read in one pass).

    Each feature with a geometry belongs to the partition holding the centre of its box in
    the GeoPackage's R-tree. A partition reads every feature meeting the box of its own
    features' boxes, so each own feature is resolved against every feature that can
    overlap it (whatever partition owns that one) and counted once.
    """
    got = index_boxes(info)
    if got is None:
        return None
    start = time.perf_counter()
    fids, boxes = got
    parts = partitions(boxes, part_features or PART_FEATURES)
    region = shapely.from_wkb(shapely.to_wkb(boundary)) if boundary is not None else None
    tiles = tiles_of(region) if region is not None else None
    if mask is not None:
        mask = shapely.from_wkb(shapely.to_wkb(mask))
        shapely.prepare(mask)
    column = source.class_column
    total, values, found = 0.0, set(), []
    report = CleanReport()
    todo = []
    for rows in parts:
        box = tuple(float(v) for v in (*boxes[rows, :2].min(axis=0), *boxes[rows, 2:].max(axis=0)))
        if mask is None or mask.intersects(shapely.box(*box)):
            todo.append((rows, box))
    # The next partition is read (GDAL, outside the GIL) while this one is measured.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opjord-read")
    try:
        ahead = reader.submit(read_box, info, todo[0][1], [column]) if todo else None
        for k, (rows, _) in enumerate(todo):
            gdf = ahead.result()
            ahead = (reader.submit(read_box, info, todo[k + 1][1], [column])
                     if k + 1 < len(todo) else None)
            m2, part = _measure_part(gdf, fids[rows], source, info, mask, region, tiles,
                                     values, found)
            total += m2
            report = _add_reports(report, part)
            del gdf
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
    if mask is None and len(fids) < info.features:  # features the index does not hold
        missing = np.setdiff1d(all_fids(info), fids)
        if len(missing):
            _, extra = _clean_named(read_fids(info, missing, [column]), source, info)
            report = _add_reports(report, extra)
    log.info("Jordbruksmark %s: %s i %s (täckning av alla %s objekt i %d delar, %s s)",
             "i kommunen" if boundary is not None else "i hela skiktet",
             fmt.hectares(total / M2_PER_HA), source.path.name,
             fmt.number(report.features_kept, 0), len(parts),
             fmt.number(time.perf_counter() - start, 1))
    return Streamed(municipal_m2=total, cleaning=report,
                    values=pd.Series(sorted(values, key=str), dtype=object),
                    variants=_merge_variants(found))


def _union_faces(geoms: np.ndarray) -> BaseGeometry:
    """The union of faces (edge-matched by construction, so usually a fast coverage union)."""
    if len(geoms) == 0:
        return shapely.Polygon()
    return polygonal(unions_of_coverages([geoms]))[0]


def pieces_frame(coverage: Coverage, clipped: Clipped, **columns) -> gpd.GeoDataFrame:
    """Clipped pieces (`overlay.clip`) as a frame: `columns`, class, area_ha, source attributes.

    E.g. `pieces_frame(coverage, clip(coverage, [area]), area_id="U-001")` lists the
    agricultural pieces inside one area with their block ids; their `area_ha` sums to
    the area's `agricultural_ha`.
    """
    attrs = coverage.frame.drop(columns=[coverage.frame.geometry.name, CLASS]).iloc[clipped.piece]
    frame = pd.DataFrame({k: v for k, v in columns.items()}, index=range(len(clipped.piece)))
    frame["class"] = coverage.frame[CLASS].to_numpy()[clipped.piece]
    frame["area_ha"] = clipped.area_m2 / M2_PER_HA
    frame = pd.concat([frame, attrs.reset_index(drop=True)], axis=1)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(clipped.geoms, index=frame.index),
                            crs=ANALYSIS_CRS)


def _same_areas(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: the two areas are the same within SAME_GEOMETRY_TOLERANCE (`same_geometry`).

    Identical geometries (an area carried over unchanged) need no overlay.
    """
    same = shapely.equals_exact(a, b, tolerance=0.0)
    rest = np.flatnonzero(~same)
    if len(rest):
        same[rest] = same_geometry(shapely.area(shapely.symmetric_difference(a[rest], b[rest])),
                                   shapely.area(shapely.union(a[rest], b[rest])))
    return same


def _area_status(config: Config, areas_by_plan: dict[str, gpd.GeoDataFrame],
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """status and matched baseline id for every area; the matching rule per later plan."""
    base_plan = config.baseline
    base = areas_by_plan[base_plan.key]
    base_geoms = base.geometry.array.to_numpy()
    base_m2 = shapely.area(base_geoms)
    result: dict[str, pd.DataFrame] = {}
    rules: dict[str, str] = {}
    base_matched_by: dict[str, np.ndarray] = {}
    for plan in config.plans:
        if plan.key == base_plan.key:
            continue
        later = areas_by_plan[plan.key]
        later_geoms = later.geometry.array.to_numpy()
        by_id = bool(plan.id_column and base_plan.id_column
                     and usable_ids(later["area_id"]) & usable_ids(base["area_id"]))
        if by_id:
            rules[plan.key] = "id"
            # An empty id is no id: such an area matches nothing (and nothing matches it).
            has_id = ~empty_text(base["area_id"])
            pos = pd.Series(np.flatnonzero(has_id), index=base["area_id"].to_numpy()[has_id])
            idx = later["area_id"].map(pos).where(~empty_text(later["area_id"]))
            has = idx.notna().to_numpy()
            same = np.zeros(len(later), dtype=bool)
            if has.any():
                b = base_geoms[idx[has].astype(int).to_numpy()]
                lg = later_geoms[has]
                same[has] = _same_areas(b, lg)
            status, matched = statuses_by_id(base["area_id"], later["area_id"],
                                             pd.Series(same, index=later.index))
            matched_idx = np.where(has, idx.fillna(-1).astype(int).to_numpy(), -1)
        else:
            rules[plan.key] = "overlap"
            i, j, ov = overlap_pairs(base_geoms, later_geoms)
            same = _same_areas(base_geoms[i], later_geoms[j])
            status, matched_idx = statuses_by_overlap(len(later), i, j, ov, base_m2,
                                                      shapely.area(later_geoms), same)
            matched = pd.Series([base["area_id"].iloc[m] if m >= 0 else pd.NA
                                 for m in matched_idx], dtype="string")
        result[plan.key] = pd.DataFrame({"status": np.asarray(status, dtype=object),
                                         "matched_area_id": np.asarray(matched, dtype=object)})
        base_matched_by[plan.key] = np.isin(np.arange(len(base)), matched_idx[matched_idx >= 0])
    last = config.plans[-1].key
    removed = (~base_matched_by[last]) if last in base_matched_by else np.zeros(len(base), bool)
    result[base_plan.key] = pd.DataFrame({"status": np.where(removed, "removed", ""),
                                          "matched_area_id": pd.NA})
    return result, rules


@dataclass
class Inputs:
    """The inputs read and cleaned, in EPSG:3006, ready for `analyse_frames`."""

    infos: dict[str, SourceInfo]  # by role (`inspect_inputs`)
    boundary: BaseGeometry | None  # the municipal boundary M, unioned
    areas_by_plan: dict[str, gpd.GeoDataFrame]  # by plan key (`read_plan_areas`)
    farmland: dict[str, gpd.GeoDataFrame]  # by agricultural layer role (`agricultural_sources`)
    cleaning: dict[str, CleanReport]  # what cleaning did, by role
    warnings: list[Notice] = field(default_factory=list)
    # |F ∩ M| in m² of the layers streamed by partitions (`stream_layer`), by role; their
    # `farmland` holds only the features meeting an area's envelope.
    municipal_m2: dict[str, float] = field(default_factory=dict)


def read_inputs(config: Config, infos: dict[str, SourceInfo] | None = None, *,
                whole_layers: bool = False) -> Inputs:
    """Read and clean every vector input of the config (no overlay, writes nothing).

    `infos` from `inspect_inputs` skips inspecting again. With a boundary, farmland is
    read through the spatial index: only features meeting the boundary or an area's
    envelope (`whole_layers`: every feature, as `opjord validate` reads them).
    Raises InputError for an empty boundary, an agricultural layer without features, a
    configured class that never occurs, or empty or repeated ids. A plan without areas
    gives a warning, and so do class and type values counted as a configured class or
    `type_map` key though they differ from it by case or surrounding spaces.
    """
    infos = infos if infos is not None else inspect_inputs(config)
    warnings: list[Notice] = []
    cleaning: dict[str, CleanReport] = {}

    boundary = None
    if config.boundary is not None:
        gdf, cleaning["boundary"] = _read_clean(infos["boundary"])
        if gdf.empty:
            raise InputError(f"{config.boundary.path}: kommungränsen har ingen polygon. "
                             "Åtgärd: låt [boundary] `path` peka på kommunens gräns, eller ta "
                             "bort [boundary] för att mäta utan den.")
        boundary = union(gdf.geometry.array.to_numpy())

    areas_by_plan: dict[str, gpd.GeoDataFrame] = {}
    for plan in config.plans:
        areas_by_plan[plan.key], cleaning[plan.source.role] = read_plan_areas(
            plan, infos[plan.source.role], warnings)
        if areas_by_plan[plan.key].empty:
            _warn(warnings, "plan_without_areas",
                  f"Plan {plan.key} ({plan.label}): {plan.source.path.name} innehåller inga "
                  "utvecklingsområden, så planens andel saknas (null, inte 0).", plan=plan.key)

    # With a boundary, farmland is read through the spatial index: only features that touch
    # the municipality (for its total) or an area's envelope (per-area figures are not
    # clipped). Without one, |F| needs the whole layer.
    mask = None
    if boundary is not None and not whole_layers:
        envelopes = [shapely.envelope(a.geometry.array.to_numpy()) for a in areas_by_plan.values()]
        mask = shapely.union_all(np.concatenate([[boundary], *envelopes]))
    farmland: dict[str, gpd.GeoDataFrame] = {}
    municipal_m2: dict[str, float] = {}
    problems = Problems()
    for role, source in agricultural_sources(config).items():
        info = infos[role]
        streamed = None
        if info.features >= STREAM_MIN_FEATURES and reads_whole_layer(info, mask):
            # A whole large layer would not fit in bounded memory: its total is streamed by
            # partitions, and only the features near an area are held for the overlay.
            streamed = stream_layer(info, source, boundary, mask)
        if streamed is not None:
            near = _envelopes(areas_by_plan)
            farmland[role] = (_read_clean(info, mask=near)[0] if not near.is_empty else
                              read_box(info, (0.0, 0.0, 0.0, 0.0), None).drop(columns="_fid"))
            cleaning[role] = streamed.cleaning
            municipal_m2[role] = streamed.municipal_m2
            values = streamed.values
        else:
            farmland[role], cleaning[role] = _read_clean(info, mask=mask)
            values = None
        if farmland[role].empty and (streamed is None or streamed.cleaning.features_kept == 0):
            raise InputError(f"{source.path}: ingen jordbruksmark "
                             + ("inom kommungränsen" if boundary is not None else "i skiktet")
                             + ". Åtgärd: kontrollera att skiktet täcker kommunen och att dess "
                             "koordinatsystem är rätt.")
        try:
            check_class_values(info, farmland[role][source.class_column] if values is None
                               else values)
        except InputError as exc:
            problems.items.extend(exc.problems)
            continue
        if (notice := class_variant_warning(source, farmland[role], streamed and
                                            streamed.variants)) is not None:
            _warn(warnings, notice.code, notice.message, **notice.figures)
    problems.raise_if_any()
    return Inputs(infos=infos, boundary=boundary, areas_by_plan=areas_by_plan, farmland=farmland,
                  cleaning=cleaning, warnings=warnings, municipal_m2=municipal_m2)


def _envelopes(areas_by_plan: dict[str, gpd.GeoDataFrame]) -> BaseGeometry:
    """The union of every area's envelope (empty without areas)."""
    boxes = [shapely.envelope(a.geometry.array.to_numpy()) for a in areas_by_plan.values()]
    return shapely.union_all(np.concatenate([np.empty(0, object), *boxes]))


def analyse(config: Config, inputs: Inputs | None = None) -> Analysis:
    """Run read → clean → overlay → indicators for every plan in the config.

    `inputs` from `read_inputs` skips reading again (the notebook reads first, to show
    each source); by default everything is read here.
    """
    start = time.perf_counter()
    raster = None
    if config.landcover is not None:
        from pipeline import zonal  # rasterio and exactextract load only when needed

        raster = zonal.inspect_raster(config.landcover,
                                      digests=load_digest_cache(config.output.processed))
    inputs = inputs if inputs is not None else read_inputs(config)
    analysis = analyse_frames(config, inputs.areas_by_plan, inputs.farmland, inputs.boundary,
                              warnings=inputs.warnings, infos=inputs.infos,
                              cleaning=inputs.cleaning, municipal_m2=inputs.municipal_m2,
                              demo=is_demo([s.path for s in config.vector_sources()]))
    if raster is not None:
        analysis = with_landcover(analysis, zonal.landcover_figures(
            analysis.areas, analysis.footprints, config, raster))
    log.info("Analysen klar på %s s", fmt.number(time.perf_counter() - start, 1))
    return analysis


def with_landcover(analysis: Analysis, landcover) -> Analysis:
    """A new Analysis with the raster figures (`zonal.Landcover`) added; `analysis` is left
    as it was. The per-plan and per-comparison figures join when the figures are ready."""
    areas = analysis.areas.assign(**{
        column: [None if np.isnan(v) else float(v) for v in values]
        for column, values in landcover.area_columns.items()})
    for message in landcover.warnings:
        log.warning(message)
    return dataclasses.replace(
        analysis, areas=areas, figures=_then(analysis.figures, _add_landcover, landcover),
        extra_inputs=[*analysis.extra_inputs, landcover.input],
        extra_digests={**analysis.extra_digests, **landcover.digests},
        warnings=[*analysis.warnings, *(Notice("landcover", m) for m in landcover.warnings)])


def _add_landcover(figures: Figures, landcover) -> Figures:
    """The figures with each plan's and comparison's `landcover` entry (new dicts)."""
    return Figures(
        plans={k: {**p, "landcover": dict(landcover.plans[k])} if k in landcover.plans else p
               for k, p in figures.plans.items()},
        comparisons={k: {**c, "landcover": dict(landcover.comparisons[k])}
                     if k in landcover.comparisons else c
                     for k, c in figures.comparisons.items()},
        municipal_agricultural_ha=figures.municipal_agricultural_ha, notices=figures.notices)


def _then(future: Future, func, *args) -> Future:
    """A future of `func(future.result(), *args)`, failing as `future` or `func` fails."""
    out: Future = Future()

    def done(f: Future) -> None:
        try:
            out.set_result(func(f.result(), *args))
        except BaseException as exc:  # noqa: BLE001 - handed on to whoever waits
            out.set_exception(exc)

    future.add_done_callback(done)
    return out


@dataclass
class _PlanFaces:
    """The faces that every plan's areas and the boundary cut, and which belong to whom."""

    faces: Faces
    offset: dict[str, int]  # first index of each plan's areas among the faces' regions
    in_plan: dict[str, np.ndarray]  # bool per face: inside some area of the plan
    footprint: dict[str, np.ndarray]  # bool per face: in the plan and inside the boundary


def _plan_faces(config: Config, areas_by_plan: dict[str, gpd.GeoDataFrame],
                boundary: BaseGeometry | None) -> _PlanFaces:
    """Cut the areas of every plan (in one array) and the boundary into faces.

    Each footprint, footprint difference and intersection is then a set of faces.
    """
    sizes = [len(areas_by_plan[p.key]) for p in config.plans]
    offsets = np.cumsum([0, *sizes])
    geoms = np.concatenate([areas_by_plan[p.key].geometry.array.to_numpy()
                            for p in config.plans] or [np.empty(0, object)])
    cut = faces(geoms, boundary)
    in_plan = {p.key: cut.of(np.arange(offsets[k], offsets[k + 1]))
               for k, p in enumerate(config.plans)}
    return _PlanFaces(faces=cut, offset={p.key: int(offsets[k])
                                         for k, p in enumerate(config.plans)},
                      in_plan=in_plan,
                      footprint={key: hit & cut.inside for key, hit in in_plan.items()})


@dataclass
class _PlanMeasure:
    """One plan measured on the faces: its rows, pieces, footprint and totals in m²."""

    areas: gpd.GeoDataFrame  # the plan's areas with per-area figures and status
    pieces: gpd.GeoDataFrame  # agricultural pieces inside the footprint
    footprint: BaseGeometry
    development_m2: float
    agricultural_m2_by_class: dict[str, float]


def _measure_plan(plan: PlanConfig, areas: gpd.GeoDataFrame, status: pd.DataFrame,
                  cut: _PlanFaces, coverage: Coverage, clipped: Clipped,
                  classes: tuple[str, ...], warnings: list[Notice], table: FaceTable,
                  role: str) -> _PlanMeasure:
    """Per-area figures (sums over the faces inside each area, not clipped to the
    boundary), each area's effect on the plan (`scenario.area_effects`) and the
    footprint's figures (sums over the plan's faces inside the boundary)."""
    f = cut.faces
    piece_class = coverage.frame[CLASS].to_numpy()[clipped.piece]
    by_face = hectares_by_class(clipped.region, piece_class, clipped.area_m2, len(f.geoms),
                                classes).to_numpy()
    mine = (f.region >= cut.offset[plan.key]) & (f.region < cut.offset[plan.key] + len(areas))
    per_area = np.zeros((len(areas), len(classes)))
    np.add.at(per_area, f.region[mine] - cut.offset[plan.key], by_face[f.face[mine]])
    fp = cut.footprint[plan.key]
    outside_m2 = float(f.area_m2[cut.in_plan[plan.key] & ~f.inside].sum())
    if outside_m2 > 0:
        numbers = np.unique(f.region[mine & ~f.inside[f.face]] - cut.offset[plan.key])
        notice = outside_boundary_notice(plan, outside_m2, areas["area_id"].to_numpy()[numbers])
        _warn(warnings, notice.code, notice.message, **notice.figures)
    in_fp = fp[clipped.region]
    frame = areas.copy()
    frame["area_ha"] = shapely.area(areas.geometry.array.to_numpy()) / M2_PER_HA
    frame["agricultural_ha"] = per_area.sum(axis=1)
    for k, col in enumerate(class_columns(classes).values()):
        frame[col] = per_area[:, k]
    frame["share"] = [ratio(a, d) for a, d in zip(frame["agricultural_ha"], frame["area_ha"],
                                                  strict=True)]
    frame["status"] = status["status"].to_numpy()
    frame["matched_area_id"] = status["matched_area_id"].to_numpy()
    development_m2 = float(f.area_m2[fp].sum())
    agricultural_m2 = {c: float(clipped.area_m2[in_fp & (piece_class == c)].sum())
                       for c in classes}
    effects = area_effects(table, role, cut.offset[plan.key], len(areas), development_m2,
                           sum(agricultural_m2.values()))
    frame["plan_share_without"] = effects.share_without
    frame["plan_agricultural_ha_without"] = effects.agricultural_m2_without / M2_PER_HA
    frame["share_effect_pp"] = effects.share_effect_pp
    frame["agricultural_ha_effect"] = effects.agricultural_ha_effect
    return _PlanMeasure(
        areas=frame,
        pieces=pieces_frame(coverage, merge_by_piece(clipped, fp), plan=plan.key),
        footprint=_union_faces(f.geoms[fp]),
        development_m2=development_m2,
        agricultural_m2_by_class=agricultural_m2)


@dataclass
class _Overlay:
    """Everything measured on the faces; none of it needs the municipal total."""

    statuses: dict[str, pd.DataFrame]  # per plan: status and matched id of each area
    rules: dict[str, str]  # per later plan: how areas were matched with the baseline's
    measured: dict[str, _PlanMeasure]
    change_m2: dict[str, dict[str, float]]  # per later plan and change kind
    change_frames: list[gpd.GeoDataFrame]
    table: FaceTable


def outside_boundary_notice(plan: PlanConfig, outside_m2: float, area_ids) -> Notice:
    """The warning for a plan's areas (ids `area_ids`) that reach outside the boundary by
    `outside_m2` m² in all (overlaps counted once)."""
    return Notice("areas_outside_boundary",
                  f"Plan {plan.key} ({plan.label}): {fmt.hectares(outside_m2 / M2_PER_HA, 2)} "
                  f"av planens utvecklingsområden ligger {OUTSIDE_BOUNDARY}; de räknas inte i "
                  "planens totalsiffror men ingår i siffrorna per område. Områden som når "
                  f"utanför: {names_listing([str(i) for i in area_ids])}.",
                  {"plan": plan.key, "outside_ha": outside_m2 / M2_PER_HA})


def outside_boundary(plan: PlanConfig, areas: gpd.GeoDataFrame,
                     boundary: BaseGeometry | None) -> Notice | None:
    """The same warning as the analysis gives (`outside_boundary_notice`), measured on the
    areas alone: |union of the areas minus M| and the areas with a part outside M; None
    without a boundary or when every area lies inside it."""
    if boundary is None or areas.empty:
        return None
    geoms = areas.geometry.array.to_numpy()
    outside = shapely.area(shapely.difference(geoms, boundary)) > 0
    if not outside.any():
        return None
    outside_m2 = shapely.area(shapely.difference(union(geoms[outside]), boundary))
    return outside_boundary_notice(plan, float(outside_m2), areas["area_id"].to_numpy()[outside])


def _with_classes(coverage: Coverage, classes: tuple[str, ...]) -> Coverage:
    """The coverage with its class names spelt as `classes` (the shared layer's).

    A plan's own layer lists the same classes in the same order (`load_config` checks it),
    but may spell them in another Unicode form (NFD "Å" as A + ring), as its data does.
    """
    if coverage.classes == classes:
        return coverage
    coverage.frame[CLASS] = coverage.frame[CLASS].map(
        dict(zip(coverage.classes, classes, strict=True)))
    return replace(coverage, classes=classes)


def _overlay(config: Config, areas_by_plan: dict[str, gpd.GeoDataFrame],
             farmland: dict[str, gpd.GeoDataFrame], boundary: BaseGeometry | None,
             warnings: list[Notice]) -> _Overlay:
    """Faces, local coverage, one clip, per-plan measures and the change layers."""
    classes = config.agricultural_land.classes
    sources = agricultural_sources(config)
    base = config.baseline
    statuses, rules = _area_status(config, areas_by_plan)
    cut = _plan_faces(config, areas_by_plan, boundary)
    # Only the agricultural features near a face matter for the areas; each is still
    # resolved against the whole layer. One clip to the faces serves every figure.
    coverages = {role: _with_classes(build_coverage(farmland[role], sources[role].class_column,
                                                    sources[role].classes,
                                                    near=cut.faces.geoms), classes)
                 for role in {config.agricultural_for(p).role for p in config.plans}}
    face_clips = {role: clip(coverage, cut.faces.geoms)
                  for role, coverage in coverages.items()}
    f = cut.faces
    table = FaceTable(area_m2=f.area_m2, inside=f.inside, face=f.face, region=f.region,
                      agricultural_m2={
                          role: face_agricultural_m2(
                              c.region, coverages[role].frame[CLASS].to_numpy()[c.piece],
                              c.area_m2, len(f.geoms), classes)
                          for role, c in face_clips.items()})
    measured = {}
    for plan in config.plans:
        role = config.agricultural_for(plan).role
        measured[plan.key] = _measure_plan(plan, areas_by_plan[plan.key], statuses[plan.key],
                                           cut, coverages[role], face_clips[role], classes,
                                           warnings, table, role)

    change_m2: dict[str, dict[str, float]] = {}
    change_frames = []
    fp_base = cut.footprint[base.key]
    base_role = config.agricultural_for(base).role
    for plan in config.plans:
        if plan.key == base.key:
            continue
        fp = cut.footprint[plan.key]
        role = config.agricultural_for(plan).role
        kinds = {  # newly designated and kept on the plan's layer, released on the base's
            "newly_designated": (role, fp & ~fp_base),
            "released": (base_role, fp_base & ~fp),
            "kept": (role, fp & fp_base),
        }
        change_m2[plan.key] = {}
        for kind, (kind_role, which) in kinds.items():
            merged = merge_by_piece(face_clips[kind_role], which)
            change_m2[plan.key][kind] = float(merged.area_m2.sum())
            change_frames.append(pieces_frame(coverages[kind_role], merged, plan=plan.key,
                                              baseline=base.key, change=kind))
    return _Overlay(statuses=statuses, rules=rules, measured=measured, change_m2=change_m2,
                    change_frames=change_frames, table=table)


def analyse_frames(config: Config, areas_by_plan: dict[str, gpd.GeoDataFrame],
                   farmland: dict[str, gpd.GeoDataFrame], boundary: BaseGeometry | None, *,
                   warnings: list[Notice] | None = None, infos: dict[str, SourceInfo] | None = None,
                   cleaning: dict[str, CleanReport] | None = None,
                   demo: bool = False, municipal_m2: dict[str, float] | None = None
                   ) -> Analysis:
    """The overlay and indicators over clean frames in EPSG:3006 (no I/O).

    `areas_by_plan[key]` has columns area_id, name, type and geometry (`read_plan_areas`);
    `farmland[role]` holds the agricultural features of each layer role
    (`agricultural_sources`), with their class column and source attributes.
    `municipal_m2[role]`, when given, is that layer's |F ∩ M| (`stream_layer`), and its
    `farmland` need only hold the features near an area.
    """
    warnings = list(warnings or [])
    known = municipal_m2 or {}
    sources = agricultural_sources(config)
    start = time.perf_counter()
    # |F ∩ M| is the only figure that needs the coverage of the whole layer: it is computed
    # in a worker thread beside the rest (its GEOS work releases the GIL), and the figures
    # that use it are finished there too, so the layers can be written meanwhile.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opjord-municipal")
    try:
        totals = {role: pool.submit(float, known[role]) if role in known
                  else pool.submit(_municipal_m2, farmland[role], source, boundary)
                  for role, source in sources.items()}
        done = _overlay(config, areas_by_plan, farmland, boundary, warnings)
        figures = pool.submit(_figures, config, areas_by_plan, done, totals, start)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=False)  # the worker finishes what was submitted, then ends
    log.info("Överlagring och indikatorer för %d planer på %s s (kommunens totalsumma kan "
             "fortfarande räknas)", len(config.plans), fmt.number(time.perf_counter() - start, 2))

    measured = done.measured
    area_frames = [m.areas for m in measured.values()]
    piece_frames = [m.pieces for m in measured.values()]
    areas_gdf = gpd.GeoDataFrame(add_derived_columns(pd.concat(area_frames, ignore_index=True)),
                                 crs=ANALYSIS_CRS)
    footprints_gdf = gpd.GeoDataFrame(
        {"plan": list(measured),
         "development_area_ha": [m.development_m2 / M2_PER_HA for m in measured.values()]},
        geometry=[m.footprint for m in measured.values()], crs=ANALYSIS_CRS)
    empty_pieces = gpd.GeoDataFrame({"plan": []}, geometry=[], crs=ANALYSIS_CRS)
    pieces = (pd.concat(piece_frames, ignore_index=True) if piece_frames else empty_pieces)
    changes = (pd.concat(done.change_frames, ignore_index=True) if done.change_frames
               else empty_pieces)
    return Analysis(config=config, demo=demo, infos=dict(infos or {}),
                    cleaning=dict(cleaning or {}), boundary=boundary,
                    areas=areas_gdf, footprints=footprints_gdf,
                    pieces=gpd.GeoDataFrame(pieces, crs=ANALYSIS_CRS),
                    changes=gpd.GeoDataFrame(changes, crs=ANALYSIS_CRS), figures=figures,
                    warnings=warnings, faces=done.table)


def _figures(config: Config, areas_by_plan: dict[str, gpd.GeoDataFrame], done: _Overlay,
             totals: dict[str, Future[float]], start: float) -> Figures:
    """The plan and comparison figures, once the municipal totals (m²) are known; a
    `ratio_trap` warning per later plan whose share fell while its farmland grew."""
    measured, statuses = done.measured, done.statuses
    municipal_m2 = {role: total.result() for role, total in totals.items()}
    log.info("Alla siffror, kommunens totalsumma inräknad, klara på %s s",
             fmt.number(time.perf_counter() - start, 2))
    base = config.baseline
    plans: dict[str, dict] = {}
    for plan in config.plans:
        role = config.agricultural_for(plan).role
        m = measured[plan.key]
        plans[plan.key] = {"label": plan.label, "n_areas": len(areas_by_plan[plan.key]),
                           **plan_figures(m.development_m2, m.agricultural_m2_by_class,
                                          municipal_m2[role]),
                           "agricultural_layer": role}
    comparisons: dict[str, dict] = {}
    for key, m2 in done.change_m2.items():
        status = statuses[key]["status"]
        comparisons[key] = {
            "baseline": base.key,
            **compare(plans[key], plans[base.key], newly_m2=m2["newly_designated"],
                      released_m2=m2["released"], kept_m2=m2["kept"]),
            "area_matching": done.rules[key],
            "areas_new": int((status == "new").sum()),
            "areas_kept": int((status == "kept").sum()),
            "areas_changed": int((status == "changed").sum()),
        }
    notices = []
    for key, c in comparisons.items():
        if c["ratio_trap"]:  # kept, not logged: the CLI prints it beside the verdict
            notices.append(Notice("ratio_trap", ratio_trap_text(plans[key], plans[base.key]), {
                "plan": key, "baseline": base.key, "share": plans[key]["share"],
                "baseline_share": plans[base.key]["share"],
                "agricultural_ha": plans[key]["agricultural_ha"],
                "baseline_agricultural_ha": plans[base.key]["agricultural_ha"],
                "agricultural_ha_change": c["agricultural_ha_change"]}))
    last = config.plans[-1].key
    if last in comparisons:
        comparisons[last]["areas_removed"] = int((statuses[base.key]["status"] == "removed")
                                                 .sum())
    return Figures(plans=plans, comparisons=comparisons,
                   municipal_agricultural_ha={k: v / M2_PER_HA for k, v in municipal_m2.items()},
                   notices=notices)


def validate_inputs(config: Config) -> tuple[list[str], list[Notice]]:
    """`opjord validate`: read and clean every input as the analysis does (`read_inputs`:
    the same InputErrors and the same warnings, though every feature of the agricultural
    layers is read), and check what the analysis would warn about later (areas outside the
    boundary). Returns one line per source (features, CRS,
    repairs with the features named) and every warning (already logged)."""
    inputs = read_inputs(config, whole_layers=True)
    warnings = list(inputs.warnings)
    for plan in config.plans:
        notice = outside_boundary(plan, inputs.areas_by_plan[plan.key], inputs.boundary)
        if notice is not None:
            _warn(warnings, notice.code, notice.message, **notice.figures)
    lines = []
    for source in config.vector_sources():
        info = inputs.infos[source.role]
        lines.append(f"{role_label(source.role, config)}: {source.path} (skikt {info.layer}, "
                     f"{info.driver}, {info.source_crs or info.crs}"
                     + (" enligt konfigurationen" if source.crs else "")
                     + f") – {fmt.number(info.features, 0)} objekt i skiktet, "
                     f"{fmt.number(inputs.cleaning[source.role].features_read, 0)} objekt lästa, "
                     f"{inputs.cleaning[source.role].describe()}")
    return lines, warnings
