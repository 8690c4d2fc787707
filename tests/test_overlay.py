"""The overlay's building blocks on hand-made rectangles (answers worked out by hand),
their invariants (hypothesis), and the threaded chunking they rely on."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from conftest import X0, Y0, box
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import parallel
from pipeline.overlay import (
    CLASS,
    area_of_coverage,
    area_within,
    build_coverage,
    clip,
    faces,
    merge_by_piece,
    tiles_of,
    unions_of_coverages,
)


def polygon(shell, *holes) -> shapely.Polygon:
    """A polygon in the fixture's frame (coordinates relative to X0, Y0, like `box`)."""
    return shapely.Polygon([(X0 + x, Y0 + y) for x, y in shell],
                           [[(X0 + x, Y0 + y) for x, y in h] for h in holes])


def coverage_of(*boxes: tuple[float, float, float, float]):
    gdf = gpd.GeoDataFrame({"agoslag": ["Åker"] * len(boxes)},
                           geometry=[box(*b) for b in boxes], crs=3006)
    return build_coverage(gdf, "agoslag", ("Åker",))


def within(coverage, region) -> float:
    return area_within(coverage.geoms, coverage.tree, region)


def test_faces_of_two_overlapping_areas():
    # a = [0,200]×[0,100], b = [100,300]×[0,100]: faces a\b, a∩b, b\a of 10 000 m² each
    cut = faces(np.array([box(0, 0, 200, 100), box(100, 0, 300, 100)], dtype=object))
    assert sorted(cut.area_m2) == pytest.approx([10_000, 10_000, 10_000])
    assert cut.inside.all()
    a, b = cut.of(np.array([0])), cut.of(np.array([1]))
    assert cut.area_m2[a].sum() == pytest.approx(20_000)
    assert cut.area_m2[a & b].sum() == pytest.approx(10_000)
    assert cut.area_m2[a | b].sum() == pytest.approx(30_000)  # the union counts overlap once


def test_faces_leave_out_holes_and_mark_the_boundary():
    ring = polygon([(0, 0), (300, 0), (300, 300), (0, 300)],
                   [(100, 100), (200, 100), (200, 200), (100, 200)])
    boundary = box(0, 0, 150, 300)  # the left half
    cut = faces(np.array([ring], dtype=object), boundary)
    assert cut.area_m2.sum() == pytest.approx(80_000)  # the 10 000 m² hole is no face
    assert cut.area_m2[cut.inside].sum() == pytest.approx(40_000)
    assert cut.area_m2[~cut.inside].sum() == pytest.approx(40_000)


def test_faces_with_nearly_coincident_and_touching_edges():
    """A later plan's area moved by a micrometre, an area touching it, a boundary with a
    hole: the faces still add up to each area and to the union."""
    star = polygon([(0, 0), (300, 40), (260, 310), (120, 180), (-30, 260)])
    moved = shapely.affinity.translate(star, 1e-6, -1e-6)
    touching = polygon([(300, 40), (500, 40), (500, 300), (260, 310)])
    boundary = polygon([(-100, -100), (600, -100), (600, 400), (-100, 400)],
                       [(100, 100), (200, 100), (200, 150), (100, 150)])
    regions = np.array([star, moved, touching], dtype=object)
    cut = faces(regions, boundary)
    for k, g in enumerate(regions):
        assert cut.area_m2[cut.of(np.array([k]))].sum() == pytest.approx(g.area, rel=1e-9)
    union = shapely.union_all(regions)
    assert cut.area_m2.sum() == pytest.approx(union.area, rel=1e-9)
    assert cut.area_m2[cut.inside].sum() == pytest.approx(union.intersection(boundary).area,
                                                          rel=1e-9)


def test_faces_of_nothing():
    cut = faces(np.array([], dtype=object))
    assert len(cut.geoms) == 0 and len(cut.face) == 0


def test_area_within_crossing_inside_outside_and_multipart():
    cov = coverage_of((0, 0, 100, 100),  # inside: 10 000
                      (450, 0, 550, 100),  # crosses x = 500: 5 000 inside
                      (900, 900, 1000, 1000))  # outside
    region = box(-10, -10, 500, 500)
    assert within(cov, region) == pytest.approx(15_000)
    # a multi-part piece with one part inside and one outside, not meeting the edge
    multi = gpd.GeoDataFrame({"agoslag": ["Åker"]}, geometry=[shapely.MultiPolygon(
        [box(0, 0, 10, 10), box(600, 600, 610, 610)])], crs=3006)
    assert within(build_coverage(multi, "agoslag", ("Åker",)), region) == \
        pytest.approx(100)


def test_area_within_a_region_with_a_hole():
    cov = coverage_of((0, 0, 100, 100), (200, 200, 300, 300))
    region = polygon([(-50, -50), (400, -50), (400, 400), (-50, 400)],
                     [(150, 150), (350, 150), (350, 350), (150, 350)])
    assert within(cov, region) == pytest.approx(10_000)


def test_area_within_near_a_diagonal_edge():
    # Both boxes meet the box of the triangle's diagonal, neither block meets the
    # diagonal: one lies inside (10 × 50 × 50), one outside (x + y > 400).
    cov = coverage_of((10, 10, 60, 60), (250, 250, 300, 300), (150, 150, 250, 250))
    triangle = polygon([(0, 0), (400, 0), (0, 400)])
    # the third block is cut by the diagonal x + y = 400: the half below it is inside
    assert within(cov, triangle) == pytest.approx(2_500 + 5_000)


def test_area_of_coverage_with_a_block_swallowed_near_an_edge():
    # (20,20)-(40,40) lies inside (10,10)-(60,60) and vanishes from the coverage; both
    # are near the triangle's diagonal without meeting it.
    frame = gpd.GeoDataFrame({"agoslag": ["Åker", "Åker", "Bete"]},
                             geometry=[box(10, 10, 60, 60), box(20, 20, 40, 40),
                                       box(250, 250, 300, 300)], crs=3006)
    triangle = polygon([(0, 0), (400, 0), (0, 400)])
    assert area_of_coverage(frame, "agoslag", ("Åker", "Bete"), triangle) == \
        pytest.approx(2_500)
    assert area_of_coverage(frame, "agoslag", ("Åker",), None) == pytest.approx(2_500)


def test_a_detailed_region_is_cut_into_small_tiles():
    # a disc with 4 000 vertices (a detailed coastline) and blocks across its edge
    disc = shapely.Point(X0 + 500, Y0 + 500).buffer(400, quad_segs=1000)
    tiles = tiles_of(disc, max_vertices=300)
    assert len(tiles) > 4 and shapely.get_num_coordinates(tiles).max() <= 300
    assert shapely.area(tiles).sum() == pytest.approx(disc.area, rel=1e-12)
    assert shapely.area(shapely.union_all(tiles)) == pytest.approx(disc.area, rel=1e-12)
    blocks = [(x, y, x + 120, y + 90) for x in range(0, 1000, 130) for y in range(0, 1000, 100)]
    cov = coverage_of(*blocks)
    expected = sum(shapely.intersection(box(*b), disc).area for b in blocks)
    assert within(cov, disc) == pytest.approx(expected, rel=1e-12)


def test_merge_by_piece_joins_a_piece_cut_by_faces():
    cov = coverage_of((50, 0, 250, 100))  # 20 000 m², crosses the faces at x = 100, 200
    cut = faces(np.array([box(0, 0, 200, 100), box(100, 0, 300, 100)], dtype=object))
    clipped = clip(cov, cut.geoms)
    assert len(clipped.piece) == 3 and clipped.area_m2.sum() == pytest.approx(20_000)
    merged = merge_by_piece(clipped, np.ones(len(cut.geoms), dtype=bool))
    assert list(merged.piece) == [0]
    assert merged.area_m2 == pytest.approx([20_000])
    assert shapely.equals(merged.geoms[0], box(50, 0, 250, 100))
    only_a = merge_by_piece(clipped, cut.of(np.array([0])) & ~cut.of(np.array([1])))
    assert only_a.area_m2 == pytest.approx([5_000])  # a \ b holds [50,100]×[0,100]


def test_unions_of_coverages_fall_back_when_parts_overlap():
    edge_matched = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
    overlapping = np.array([box(0, 0, 10, 10), box(5, 0, 20, 10)], dtype=object)
    joined = unions_of_coverages([edge_matched, overlapping])
    assert shapely.area(joined) == pytest.approx([200, 200])
    assert shapely.is_valid(joined).all()


rects = st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(5, 300),
                           st.integers(5, 300)), min_size=1, max_size=6).map(
    lambda ts: [(x, y, x + w, y + h) for x, y, w, h in ts])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(regions=rects, blocks=rects, boundary=rects)
def test_faces_and_area_within_agree_with_brute_force(regions, blocks, boundary):
    region_geoms = np.array([box(*r) for r in regions], dtype=object)
    m = box(*boundary[0])
    cut = faces(region_geoms, m)
    union = shapely.union_all(region_geoms)
    assert cut.area_m2.sum() == pytest.approx(union.area, rel=1e-9)
    assert cut.area_m2[cut.inside].sum() == pytest.approx(union.intersection(m).area,
                                                          rel=1e-9, abs=1e-6)
    for k, g in enumerate(region_geoms):
        assert cut.area_m2[cut.of(np.array([k]))].sum() == pytest.approx(g.area, rel=1e-9)
    cov = coverage_of(*blocks)
    farmland = shapely.union_all([box(*b) for b in blocks])
    expected = farmland.intersection(m).area
    assert within(cov, m) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    frame = gpd.GeoDataFrame({"agoslag": ["Åker"] * len(blocks)},
                             geometry=[box(*b) for b in blocks], crs=3006)
    assert area_of_coverage(frame, "agoslag", ("Åker",), m) == pytest.approx(
        expected, rel=1e-9, abs=1e-6)
    assert area_of_coverage(frame, "agoslag", ("Åker",), None) == pytest.approx(
        farmland.area, rel=1e-9)


def polygonal_from(shapes) -> np.ndarray:
    """Valid polygons (possibly multi or empty) from random vertex lists."""
    rings = [shapely.Polygon([(X0 + x, Y0 + y) for x, y in s]) for s in shapes]
    return np.array([shapely.make_valid(r).buffer(0) for r in rings], dtype=object)


vertex = st.tuples(st.floats(0, 30), st.floats(0, 30))


@settings(max_examples=60, deadline=None)
@given(shapes=st.lists(st.lists(vertex, min_size=3, max_size=7), min_size=2, max_size=8),
       classes=st.lists(st.sampled_from(["Åker", "Bete"]), min_size=8, max_size=8))
def test_coverage_of_random_polygons_is_their_union_cut_into_disjoint_pieces(shapes, classes):
    # Slivers, touches, containment and crossings alike: the pieces never overlap, lie
    # within their own feature, and add up to the union; each class's share is what the
    # features of the classes before it leave of that class's union.
    geoms = polygonal_from(shapes)
    frame = gpd.GeoDataFrame({"agoslag": classes[:len(geoms)]}, geometry=geoms, crs=3006)
    cov = build_coverage(frame, "agoslag", ("Åker", "Bete"))
    pieces = cov.geoms
    union = shapely.union_all(geoms)
    assert shapely.area(pieces).sum() == pytest.approx(union.area, rel=1e-9, abs=1e-6)
    i, j = np.triu_indices(len(pieces), k=1)
    assert (shapely.area(shapely.intersection(pieces[i], pieces[j])) < 1e-6).all()
    aker = shapely.union_all(geoms[frame["agoslag"].to_numpy() == "Åker"])
    got = shapely.area(pieces[cov.frame[CLASS].to_numpy() == "Åker"]).sum()
    assert got == pytest.approx(aker.area, rel=1e-9, abs=1e-6)



def test_elementwise_in_chunks_equals_one_call(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_CHUNK", 3)
    monkeypatch.setenv("OPJORD_THREADS", "4")
    a = np.array([box(i, 0, i + 2, 1) for i in range(20)], dtype=object)
    b = np.array([box(i + 1, 0, i + 3, 1) for i in range(20)], dtype=object)
    assert list(parallel.elementwise(shapely.intersects, a, b)) == [True] * 20
    areas = shapely.area(parallel.elementwise(shapely.intersection, a, b))
    assert areas == pytest.approx([1.0] * 20)


def test_workers_honours_opjord_threads(monkeypatch):
    monkeypatch.setenv("OPJORD_THREADS", "3")
    assert parallel.workers() == 3
    monkeypatch.setenv("OPJORD_THREADS", "zero")
    assert parallel.workers() >= 1
