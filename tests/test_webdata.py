"""The compact context-layer tiles (`pipeline.webdata`): encoding, levels, tiles, files."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import X0, Y0
from hypothesis import given, settings
from hypothesis import strategies as st
from webmap_project import make_project

from pipeline import webdata
from pipeline.webdata import (
    LEVELS,
    M_PER_DEGREE,
    compact_layer,
    data_files,
    decimals_for,
    decode_polyline,
    decode_tile,
    level_tolerances,
    polyline,
)


def test_polyline_is_googles_encoding():
    # The example of Google's "Encoded Polyline Algorithm Format" page (precision 5).
    points = np.array([[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]])
    q = np.round(points * 1e5).astype(np.int64)
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    assert polyline(deltas) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=50))
def test_polyline_round_trip(values):
    text = polyline(np.array(values, dtype=np.int64))
    assert decode_polyline(text) == values
    assert all(63 <= ord(c) <= 126 for c in text)  # printable, never "<", quotes escaped


def test_tiles_hold_no_template_delimiters():
    """folium re-reads an inline script as a Jinja template (the notebook's map): a "{{"
    or "{%" from the encoded vertices or a text must never reach it."""
    geoms = _shapes()
    layer = compact_layer(geoms, index=0, tolerance_m=2.0,
                          props={"t": ["{{ 7*7 }} {% raw %}"] * len(geoms)})
    for text in data_files([layer]).values():
        assert not re.search(r"\{[{%#]", text)
    assert decode_tile(layer.levels[0][0].payload)[1]["t"][0] == "{{ 7*7 }} {% raw %}"


def test_decimals_keep_the_rounding_within_half_the_tolerance():
    for tol in (0.5, 2.0, 10.0, 40.0, 500.0):
        quantum_m = 10.0 ** -decimals_for(tol) * M_PER_DEGREE
        assert quantum_m <= tol / 2
    assert decimals_for(0) == 6 and decimals_for(40) == 4 and decimals_for(10) == 5


def _shapes() -> np.ndarray:
    """Fields near X0, Y0: circles with many vertices, one with a hole, one in two parts."""
    rng = np.random.default_rng(7)
    centres = rng.uniform([X0, Y0], [X0 + 60_000, Y0 + 30_000], (60, 2))
    geoms = shapely.buffer(shapely.points(centres), rng.uniform(30, 600, 60), quad_segs=32)
    geoms[3] = geoms[3].difference(shapely.Point(centres[3]).buffer(15))
    geoms[4] = shapely.union(geoms[4], shapely.Point(centres[4] + 2_000).buffer(100))
    return geoms


def _decoded(layer: webdata.CompactLayer, level: int) -> tuple[np.ndarray, list[str]]:
    """Every feature of one level, back in EPSG:3006, with its `i` prop."""
    geoms, ids = [], []
    for tile in layer.levels[level]:
        g, props = decode_tile(tile.payload)
        geoms += g
        ids += props["i"]
    return gpd.GeoSeries(geoms, crs=4326).to_crs(3006).array.to_numpy(), ids


@pytest.mark.parametrize("tolerance", [0.0, 2.0, 7.5])
def test_decoded_geometry_matches_the_source_within_the_tolerance(tolerance):
    source = _shapes()
    layer = compact_layer(source, index=0, tolerance_m=tolerance,
                          props={"i": [str(i) for i in range(len(source))]})
    for level, bound in enumerate(level_tolerances(tolerance)):
        back, ids = _decoded(layer, level)
        assert sorted(ids, key=int) == [str(i) for i in range(len(source))]  # each once
        src = source[[int(i) for i in ids]]
        tol = max(LEVELS[level].tolerance_m, tolerance)
        rounding = 10.0 ** -decimals_for(tol) * M_PER_DEGREE  # ≥ half a quantum's diagonal
        distance = shapely.hausdorff_distance(back, src, densify=0.25)
        assert distance.max() <= bound + rounding, level
        # Within `bound` of the outline: the areas differ by at most a band that wide.
        band = 2 * shapely.length(src) * (bound + rounding)
        assert np.all(np.abs(shapely.area(back) - shapely.area(src)) <= band)
        assert shapely.get_num_interior_rings(shapely.get_geometry(back, 0))[
            ids.index("3")] == 1  # the hole survives
        assert shapely.get_num_geometries(back)[ids.index("4")] == 2  # both parts
    finest, _ = _decoded(layer, len(LEVELS) - 1)
    coarsest, _ = _decoded(layer, 0)
    assert shapely.get_num_coordinates(coarsest).sum() < shapely.get_num_coordinates(finest).sum()


def test_tiles_split_the_finer_levels_and_merge_by_value():
    source = _shapes()
    merge = np.arange(len(source)) % 2  # two values: one multipolygon per value and tile
    layer = compact_layer(source, index=3, tolerance_m=2.0,
                          props={"k": [f"v{m}" for m in merge]}, merge=merge)
    assert [t.id for t in layer.levels[0]] == ["0"]  # the overview is one file
    assert len(layer.levels[2]) > len(layer.levels[1]) > 1
    for tiles in layer.levels:
        for tile in tiles:
            geoms, props = decode_tile(tile.payload)
            assert len(geoms) == len(set(props["k"])) <= 2
            s, w, n, e = tile.bounds
            box = shapely.box(w, s, e, n)
            assert all(box.buffer(1e-9).covers(g) for g in geoms)  # the box the page tests
    polygons = sum(len(g.geoms) for t in layer.levels[2] for g in decode_tile(t.payload)[0])
    assert polygons == shapely.get_num_geometries(source).sum()


def test_data_files_hold_every_layers_part_of_a_tile():
    a = compact_layer(_shapes()[:10], index=0, tolerance_m=2.0)
    b = compact_layer(_shapes()[:10], index=5, tolerance_m=2.0)
    files = data_files([a, b])
    assert "data/n0-0.js" in files
    text = files["data/n0-0.js"]
    m = re.fullmatch(r'opjordKontext\.data\(0,"0",(\{.*\})\);\n', text, re.S)
    assert m
    parts = json.loads(m.group(1))
    assert set(parts) == {"0", "5"} and parts["0"] == json.loads(a.levels[0][0].payload)


def test_props_cannot_end_a_script_element():
    geoms = _shapes()[:2]
    layer = compact_layer(geoms, index=0, tolerance_m=2.0,
                          props={"t": ["</script><script>alert(1)</script>", "&amp;"]})
    text = "".join(data_files([layer]).values())
    assert "<" not in text and "&" not in text
    _, props = decode_tile(layer.levels[0][0].payload)
    assert props["t"] == ["</script><script>alert(1)</script>", "&amp;"]


def test_empty_and_missing_geometries_are_left_out():
    geoms = np.array([shapely.Polygon(), None, shapely.box(X0, Y0, X0 + 100, Y0 + 100)],
                     dtype=object)
    layer = compact_layer(geoms, index=0, tolerance_m=2.0, props={"i": ["a", "b", "c"]})
    assert decode_tile(layer.levels[0][0].payload)[1] == {"i": ["c"]}
    assert compact_layer(geoms[:2], index=0, tolerance_m=2.0).levels == [[], [], []]


def test_maps_write_the_tiles_and_never_fetch(tmp_path):
    config = make_project(tmp_path)
    maps = config.output.maps
    page = (maps / "oversikt.html").read_text(encoding="utf-8")
    assert '<script src="data/n0-0.js"></script>' in page
    assert "opjordKontext.ready()" in page
    files = sorted(p.relative_to(maps).as_posix() for p in (maps / "data").iterdir())
    assert "data/n0-0.js" in files and all(re.fullmatch(r"data/n\d-[\d_-]+\.js", f)
                                           for f in files)
    for path in maps.rglob("*"):
        if path.suffix in (".js", ".html"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\bfetch\s*\(|XMLHttpRequest|import\s*\(", text), path
