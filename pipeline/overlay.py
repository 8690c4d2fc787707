"""Vector overlay: agricultural coverage, the faces of the plans' areas, exact clipped areas.

Everything here is planar geometry in EPSG:3006 (m²). The agricultural layer
is never unioned as a whole: an STRtree finds the few features whose interiors
overlap, and only those are resolved (`build_coverage`). The development areas of
every plan, with the boundary, are cut into faces (`faces`): each face lies wholly
inside or outside every area, so one clip of the coverage to the faces gives every
per-area, footprint and comparison figure by summing. Clipping queries the tree and
intersects only the pieces that cross a face's edge; pieces wholly inside keep their
geometry (`clip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from pipeline.clean import polygonal
from pipeline.parallel import elementwise
from pipeline.values import ranks

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


def _ranked(farmland: gpd.GeoDataFrame, class_column: str, classes: tuple[str, ...]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the counted features in priority order (class order, then row),
    and the class rank of every row (-1 for a class that is not counted).

    Values are compared in NFC, and a value that differs from a class only by case or
    surrounding spaces counts as that class (`values.ranks`).
    """
    rank = ranks(farmland[class_column], classes)
    counted = np.flatnonzero(rank >= 0)
    return counted[np.lexsort((counted, rank[counted]))], rank


def _resolve(geoms: np.ndarray, tree: shapely.STRtree, wanted: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Pieces of the features `wanted` (sorted positions in `geoms`, which is in priority
    order) after each lost the union of the earlier features overlapping it; and a mask
    of the pieces left non-empty.
    """
    # Candidate pairs by envelope; keep a pair when j has priority over i, then test the
    # cheap `intersects` (in threads; nothing prepared, so any split is safe) before the
    # full relate that rules out mere touching.
    k, j = tree.query(geoms[wanted])
    i = wanted[k]
    earlier = j < i
    i, j = i[earlier], j[earlier]
    if len(i):
        hit = elementwise(shapely.intersects, geoms[i], geoms[j])
        i, j = i[hit], j[hit]
        overlapping = shapely.relate_pattern(geoms[i], geoms[j], "2********")
        i, j = i[overlapping], j[overlapping]
    pieces = geoms[wanted]  # a new array: the layer's geometries are left as they are
    kept = np.ones(len(wanted), dtype=bool)  # only a feature that lost an overlap can vanish
    if len(i):
        sort = np.argsort(i, kind="stable")  # one group of cutters per losing feature
        i, j = i[sort], j[sort]
        losers, starts = np.unique(i, return_index=True)
        groups = np.split(j, starts[1:])
        cutters = np.array([shapely.union_all(geoms[g]) if len(g) > 1 else geoms[g[0]]
                            for g in groups], dtype=object)
        at = np.searchsorted(wanted, losers)
        pieces[at] = polygonal(shapely.difference(geoms[losers], cutters))
        kept[at] = ~shapely.is_empty(pieces[at]) & (shapely.area(pieces[at]) > 0)
    return pieces, kept


def build_coverage(farmland: gpd.GeoDataFrame, class_column: str,
                   classes: tuple[str, ...], near: np.ndarray | None = None) -> Coverage:
    """Turn agricultural features into a coverage: overlaps resolved by class priority.

    Features whose class is not in `classes` are left out. Where features overlap,
    the one whose class comes first in `classes` keeps the overlap (then the
    earlier row): each feature loses the union of the higher-priority features
    whose interiors overlap it.

    With `near` (polygons), only the features whose bounding box meets the box of one
    of them are kept, each still resolved against every feature of the layer; their
    pieces inside those polygons are exactly those of the whole coverage.
    """
    order, rank = _ranked(farmland, class_column, classes)
    geoms = farmland.geometry.array.to_numpy()[order]  # position = priority (0 first)
    tree = shapely.STRtree(geoms)
    wanted = (np.arange(len(geoms)) if near is None
              else np.unique(tree.query(np.asarray(near, dtype=object))[1]))
    pieces, kept = _resolve(geoms, tree, wanted)
    rows = order[wanted[kept]]
    frame = farmland.iloc[rows].reset_index(drop=True)
    frame[CLASS] = np.asarray(classes, dtype=object)[rank[rows]]
    frame = frame.set_geometry(gpd.GeoSeries(pieces[kept], index=frame.index, crs=farmland.crs))
    return Coverage(frame=frame, classes=classes,
                    tree=shapely.STRtree(frame.geometry.array.to_numpy()))


def area_of_coverage(farmland: gpd.GeoDataFrame, class_column: str, classes: tuple[str, ...],
                     region: BaseGeometry | None) -> float:
    """m² of the whole layer's coverage (`build_coverage`), inside `region` when given.

    Geometry only, no attribute frame. Safe in a thread beside other work on the same
    frames: nothing shared is prepared (the region is copied first).
    """
    order, _ = _ranked(farmland, class_column, classes)
    geoms = farmland.geometry.array.to_numpy()[order]
    tree = shapely.STRtree(geoms)
    pieces, kept = _resolve(geoms, tree, np.arange(len(geoms)))
    if region is None:
        return float(shapely.area(pieces[kept]).sum())
    # Each piece lies within its feature, so the features' tree indexes the pieces.
    pieces[~kept] = shapely.Polygon()
    return area_within(pieces, tree, shapely.from_wkb(shapely.to_wkb(region)))


def area_of_pieces(geoms: np.ndarray, wanted: np.ndarray, region: BaseGeometry | None,
                   tiles: np.ndarray | None = None) -> float:
    """m² of the coverage pieces of the features `wanted` (sorted positions in `geoms`,
    which is in priority order and holds every feature that may overlap them), inside
    `region` when given (`tiles`: `tiles_of(region)`, to reuse).

    One partition of a layer streamed from its file: summed over partitions that each own
    their features once, it is `area_of_coverage` of the whole layer.
    """
    if len(wanted) == 0:
        return 0.0
    pieces, kept = _resolve(geoms, shapely.STRtree(geoms), wanted)
    if region is None:
        return float(shapely.area(pieces[kept]).sum())
    pieces[~kept] = shapely.Polygon()
    return area_within(pieces, shapely.STRtree(geoms[wanted]), region, tiles)


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
        geoms[cross] = polygonal(elementwise(shapely.intersection, regions[r[cross]],
                                             pieces[p[cross]]))
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


def unions_of_coverages(groups: list[np.ndarray]) -> np.ndarray:
    """The union of each group of polygons that should meet only along shared edges (faces,
    or the parts of one piece cut by faces): the fast coverage union, or the full overlay
    union where floating-point noise makes them overlap or the result is not valid.
    """
    out = np.empty(len(groups), dtype=object)
    failed = []
    for k, group in enumerate(groups):
        try:
            out[k] = shapely.coverage_union_all(group)
        except shapely.errors.GEOSException:
            failed.append(k)
    done = np.ones(len(groups), dtype=bool)
    done[failed] = False
    done[done] = shapely.is_valid(out[done])
    for k in np.flatnonzero(~done):
        out[k] = shapely.union_all(groups[k])
    return out


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


@dataclass(frozen=True)
class Faces:
    """The planar partition cut by the edges of a set of regions (and a boundary).

    Each face lies wholly inside or wholly outside every region and the boundary, so any
    union, difference or intersection of regions is a set of faces.
    """

    geoms: np.ndarray  # face polygons, pairwise interior-disjoint, each inside some region
    face: np.ndarray  # membership pairs: face[k] lies inside region[k]
    region: np.ndarray
    inside: np.ndarray  # bool per face: inside the boundary (all True without one)
    area_m2: np.ndarray  # per face

    def of(self, regions: np.ndarray) -> np.ndarray:
        """Bool per face: the face lies in at least one of `regions` (indices)."""
        hit = np.zeros(len(self.geoms), dtype=bool)
        hit[self.face[np.isin(self.region, regions)]] = True
        return hit


def faces(regions: np.ndarray, boundary: BaseGeometry | None = None) -> Faces:
    """Cut the regions (polygons, may overlap) and the boundary into faces.

    The edges of every region are noded together and polygonised; each face is then
    assigned to the regions that hold a point inside it. Faces in no region (holes,
    gaps between regions) are left out.
    """
    regions = np.asarray(regions, dtype=object)
    empty = Faces(np.empty(0, object), np.empty(0, int), np.empty(0, int), np.empty(0, bool),
                  np.empty(0))
    present = ~shapely.is_empty(regions) if len(regions) else np.empty(0, bool)
    if not present.any():
        return empty
    # An area carried over unchanged from another plan adds no edge: drop exact repeats,
    # which would otherwise make the noder work through thousands of coincident segments.
    distinct = regions[present]
    _, first = np.unique(shapely.to_wkb(distinct), return_index=True)
    edges = [shapely.boundary(distinct[np.sort(first)])]
    if boundary is not None and not boundary.is_empty:
        edges.append(np.array([shapely.boundary(boundary)], dtype=object))
    noded = shapely.union_all(np.concatenate(edges))  # nodes every crossing once
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    polys = polys[shapely.area(polys) > 0]
    points = shapely.point_on_surface(polys)
    f, r = shapely.STRtree(regions).query(points, predicate="intersects")
    used = np.unique(f)
    renumber = np.full(len(polys), -1)
    renumber[used] = np.arange(len(used))
    polys, points = polys[used], points[used]
    if boundary is None:
        inside = np.ones(len(polys), dtype=bool)
    else:
        xy = shapely.get_coordinates(points)
        inside = shapely.intersects_xy(boundary, xy[:, 0], xy[:, 1])
    return Faces(geoms=polys, face=renumber[f], region=r, inside=inside,
                 area_m2=shapely.area(polys))


def area_within(pieces: np.ndarray, tree: shapely.STRtree, region: BaseGeometry,
                tiles: np.ndarray | None = None) -> float:
    """m² of interior-disjoint pieces inside one large region (e.g. the municipality).

    `tree` indexes the pieces (or, position by position, anything that contains each).

    Only the pieces that meet the region's edge are intersected. A piece whose bounding
    box meets no edge lies, box and all, wholly inside or outside: the centre of its box
    decides. A single-part piece near an edge but not meeting it is decided by one of
    its vertices; a multi-part one is intersected. Prepares `region`.
    """
    if len(pieces) == 0 or region is None or region.is_empty:
        return 0.0
    segments = []
    for ring in shapely.get_parts(shapely.boundary(region)):
        xy = shapely.get_coordinates(ring)  # one segment per edge: small boxes to query
        segments.append(shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)))
    segments = np.concatenate(segments)
    s, p = tree.query(segments)  # boxes that meet an edge's box
    far = np.ones(len(pieces), dtype=bool)
    far[p] = False
    exact = np.zeros(len(pieces), dtype=bool)
    exact[p[shapely.intersects(segments[s], pieces[p])]] = True
    exact |= ~far & (shapely.get_num_geometries(pieces) > 1)
    close = np.flatnonzero(~far & ~exact & ~shapely.is_empty(pieces))

    shapely.prepare(region)
    box = shapely.bounds(pieces[far])
    inside_m2 = shapely.area(pieces[far][shapely.intersects_xy(
        region, (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2)]).sum()
    if len(close):
        xy, index = shapely.get_coordinates(pieces[close], return_index=True)
        first = xy[np.searchsorted(index, np.arange(len(close)))]
        hit = shapely.intersects_xy(region, first[:, 0], first[:, 1])
        inside_m2 += shapely.area(pieces[close[hit]]).sum()
    # Intersect with small tiles of the region, not the whole of it: each intersection
    # then costs the vertices near the piece, not all of a detailed coastline's.
    tiles = tiles_of(region) if tiles is None else tiles
    k, t = shapely.STRtree(tiles).query(pieces[exact], predicate="intersects")
    clipped = polygonal(elementwise(shapely.intersection, pieces[exact][k], tiles[t]))
    return float(inside_m2 + shapely.area(clipped).sum())


def tiles_of(region: BaseGeometry, max_vertices: int = 1000) -> np.ndarray:
    """The region cut into interior-disjoint tiles of at most ~`max_vertices` vertices each,
    by splitting its bounding box into quadrants until every part is small enough."""
    out = []
    stack = [(region, shapely.bounds(region))]
    while stack:
        geom, (x0, y0, x1, y1) = stack.pop()
        if geom.is_empty:
            continue
        if shapely.get_num_coordinates(geom) <= max_vertices or max(x1 - x0, y1 - y0) < 1.0:
            out.append(geom)
            continue
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        for box in ((x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)):
            part = polygonal(np.array([shapely.intersection(geom, shapely.box(*box))],
                                      dtype=object))[0]
            stack.append((part, box))
    return np.array(out, dtype=object)


def merge_by_piece(clipped: Clipped, keep: np.ndarray) -> Clipped:
    """The rows of `clipped` whose region has `keep[region]`, one row per coverage piece.

    A piece cut by several kept regions (faces) is unioned back into one geometry, its
    area the sum. The result's `region` is 0 for every row.
    """
    rows = np.flatnonzero(keep[clipped.region]) if len(clipped.region) else np.empty(0, int)
    order = rows[np.argsort(clipped.piece[rows], kind="stable")]
    piece = clipped.piece[order]
    if len(piece) == 0:
        return Clipped(np.empty(0, int), np.empty(0, int), np.empty(0, object), np.empty(0))
    uniq, start, count = np.unique(piece, return_index=True, return_counts=True)
    geoms = clipped.geoms[order[start]].copy()
    many = np.flatnonzero(count > 1)
    if len(many):
        groups = [clipped.geoms[order[start[k]:start[k] + count[k]]] for k in many]
        geoms[many] = polygonal(unions_of_coverages(groups))
    area = np.add.reduceat(clipped.area_m2[order], start)
    return Clipped(region=np.zeros(len(uniq), dtype=int), piece=uniq, geoms=geoms, area_m2=area)
