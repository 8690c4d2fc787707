"""Vector overlay: agricultural coverage, plan footprints and exact clipped areas.

Everything here is planar geometry in EPSG:3006 (m²). The agricultural layer
is never unioned as a whole: an STRtree finds the few features whose interiors
overlap, and only those are resolved (`resolve_coverage`). Clipping queries the
tree and intersects only the pieces that cross a region's edge; pieces wholly
inside keep their geometry (`clip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from pipeline.clean import polygonal

CLASS = "_class"  # column holding the agricultural class of a coverage piece


@dataclass(frozen=True)
class Coverage:
    """Disjoint agricultural pieces with their source attributes, and an STRtree over them."""

    frame: gpd.GeoDataFrame  # source attributes + CLASS; geometries pairwise interior-disjoint
    classes: tuple[str, ...]
    tree: shapely.STRtree

    @property
    def geoms(self) -> np.ndarray:
        return self.frame.geometry.array.to_numpy()


@dataclass(frozen=True)
class Clipped:
    """Pieces of a coverage inside regions: one row per (region, piece) with positive area."""

    region: np.ndarray  # index into the regions
    piece: np.ndarray  # index into the coverage frame
    geoms: np.ndarray  # the clipped geometries (polygonal)
    area_m2: np.ndarray


def build_coverage(farmland: gpd.GeoDataFrame, class_column: str,
                   classes: tuple[str, ...]) -> Coverage:
    """Turn agricultural features into a coverage: overlaps resolved by class priority.

    Features whose class is not in `classes` are left out. Where features overlap,
    the one whose class comes first in `classes` keeps the overlap (then the
    earlier row): each feature loses the union of the higher-priority features
    whose interiors overlap it.
    """
    values = farmland[class_column].astype("string")
    counted = values.isin(list(classes)).fillna(False).to_numpy(dtype=bool)
    frame = farmland.loc[counted].copy()
    frame[CLASS] = values[counted].astype(object).to_numpy()
    rank = frame[CLASS].map({c: i for i, c in enumerate(classes)}).to_numpy()
    order = np.lexsort((np.arange(len(frame)), rank))  # by class priority, then row order
    frame = frame.iloc[order].reset_index(drop=True)
    geoms = frame.geometry.array.to_numpy().copy()

    # Candidate pairs by envelope only; keep each pair once (j has priority over i), then
    # test the cheap `intersects` before the full relate that rules out mere touching.
    i, j = shapely.STRtree(geoms).query(geoms)
    earlier = j < i
    i, j = i[earlier], j[earlier]
    if len(i):
        shapely.prepare(geoms)
        hit = shapely.intersects(geoms[i], geoms[j])
        i, j = i[hit], j[hit]
        overlapping = shapely.relate_pattern(geoms[i], geoms[j], "2********")
        i, j = i[overlapping], j[overlapping]
    if len(i):
        sort = np.argsort(i, kind="stable")  # one group of cutters per losing feature
        i, j = i[sort], j[sort]
        losers, starts = np.unique(i, return_index=True)
        groups = np.split(j, starts[1:])
        cutters = np.array([shapely.union_all(geoms[g]) if len(g) > 1 else geoms[g[0]]
                            for g in groups], dtype=object)
        geoms[losers] = polygonal(shapely.difference(geoms[losers], cutters))
    kept = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    frame = frame.loc[kept].reset_index(drop=True)
    return Coverage(frame=frame, classes=classes,
                    tree=shapely.STRtree(frame.geometry.array.to_numpy()))


def clip(coverage: Coverage, regions: np.ndarray) -> Clipped:
    """Clip the coverage to each region (regions may overlap each other).

    Pieces wholly inside a region are taken as they are; only pieces crossing a
    region's edge are intersected.
    """
    regions = np.asarray(regions, dtype=object)
    empty = Clipped(np.empty(0, int), np.empty(0, int), np.empty(0, object), np.empty(0))
    if len(regions) == 0 or len(coverage.frame) == 0:
        return empty
    r, p = coverage.tree.query(regions, predicate="intersects")
    if len(r) == 0:
        return empty
    pieces = coverage.geoms
    shapely.prepare(regions)
    inside = shapely.contains_properly(regions[r], pieces[p])
    geoms = pieces[p].copy()
    cross = ~inside
    if cross.any():
        geoms[cross] = polygonal(shapely.intersection(regions[r[cross]], pieces[p[cross]]))
    area = shapely.area(geoms)
    keep = area > 0
    return Clipped(region=r[keep], piece=p[keep], geoms=geoms[keep], area_m2=area[keep])


def union(geoms: np.ndarray, within: BaseGeometry | None = None) -> BaseGeometry:
    """Union of polygons (overlaps counted once), clipped to `within` when given."""
    geoms = np.asarray(geoms, dtype=object)
    merged = shapely.union_all(geoms) if len(geoms) else shapely.Polygon()
    if within is not None and not merged.is_empty:
        merged = shapely.intersection(merged, within)
    return polygonal(np.array([merged], dtype=object))[0]


def parts(geom: BaseGeometry) -> np.ndarray:
    """The polygons of a (multi)polygon, as an array (empty for an empty geometry)."""
    if geom is None or geom.is_empty:
        return np.empty(0, dtype=object)
    return shapely.get_parts(geom)


def overlap_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) of a[i] and b[j] whose interiors overlap, with the overlap area (m²)."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if len(a) == 0 or len(b) == 0:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    i, j = shapely.STRtree(b).query(a, predicate="intersects")  # (index into a, into b)
    area = shapely.area(shapely.intersection(a[i], b[j]))
    keep = area > 0
    return i[keep], j[keep], area[keep]
