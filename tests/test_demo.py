"""Tests for the synthetic demo-data generator (pipeline/demo.py)."""

from __future__ import annotations

import hashlib
import importlib.resources
import pathlib
import sqlite3

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from pipeline import demo

PLAN_TYPES = {"bostäder", "verksamheter", "blandad bebyggelse", "handel", "teknisk försörjning"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Generate the demo data twice into two fresh folders."""
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    dir_a = tmp_path_factory.mktemp("demo_a")
    dir_b = tmp_path_factory.mktemp("demo_b")
    paths_a = demo.generate_demo(dir_a)
    paths_b = demo.generate_demo(dir_b)
    return {
        "dir": dir_a,
        "paths_a": paths_a,
        "paths_b": paths_b,
        "config_before": before,
        "config_after": pyogrio.get_gdal_config_option("OGR_CURRENT_DATE"),
    }


@pytest.fixture(scope="module")
def boundary(generated: dict) -> shapely.Geometry:
    """Municipal boundary in EPSG:3006."""
    gdf = gpd.read_file(generated["dir"] / "kommungrans.geojson")
    assert gdf.crs.to_epsg() == 4326
    return gdf.to_crs(3006).geometry.iloc[0]


@pytest.fixture(scope="module")
def blocks(generated: dict) -> gpd.GeoDataFrame:
    return gpd.read_file(generated["dir"] / "jordbruksblock.gpkg", layer="jordbruksblock")


@pytest.fixture(scope="module")
def plans(generated: dict) -> dict[str, gpd.GeoDataFrame]:
    """Both plans as read from disk (native CRS)."""
    return {
        key: gpd.read_file(
            generated["dir"] / f"utvecklingsomraden_{key}.gpkg", layer="utvecklingsomraden"
        )
        for key in ("op2017", "op2025")
    }


@pytest.fixture(scope="module")
def farmland(blocks: gpd.GeoDataFrame) -> shapely.Geometry:
    """Union of all (repaired) blocks, EPSG:3006."""
    return shapely.union_all(shapely.make_valid(blocks.geometry.values))


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- files, determinism, atomic writing ---------------------------------------------------


def test_returns_every_file_and_leaves_no_temporaries(generated: dict) -> None:
    paths = generated["paths_a"]
    assert [p.name for p in paths] == list(demo.DEMO_FILES)
    assert all(p.is_file() and p.parent == generated["dir"] for p in paths)
    assert sorted(p.name for p in generated["dir"].iterdir()) == sorted(demo.DEMO_FILES)


def test_two_runs_are_byte_identical(generated: dict) -> None:
    for a, b in zip(generated["paths_a"], generated["paths_b"], strict=True):
        assert a.name == b.name
        assert _sha256(a) == _sha256(b), a.name


def test_total_size_is_small(generated: dict) -> None:
    total = sum(p.stat().st_size for p in generated["paths_a"])
    assert total < 5 * 1024 * 1024


def test_gpkg_timestamp_pinned_and_config_restored(generated: dict) -> None:
    for name in ("jordbruksblock", "utvecklingsomraden_op2017", "utvecklingsomraden_op2025"):
        with sqlite3.connect(generated["dir"] / f"{name}.gpkg") as con:
            stamps = {r[0] for r in con.execute("SELECT last_change FROM gpkg_contents")}
        assert stamps == {demo.GPKG_TIMESTAMP}
    assert generated["config_after"] == generated["config_before"]


def test_failed_write_keeps_previous_files(
    generated: dict, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for p in generated["paths_a"]:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    before = {p.name: _sha256(p) for p in tmp_path.iterdir()}

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo.pyogrio, "write_dataframe", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        demo.generate_demo(tmp_path)
    assert {p.name: _sha256(p) for p in tmp_path.iterdir()} == before  # no temp files left


def test_boundary_is_exact_copy_of_package_data(generated: dict) -> None:
    packaged = (
        importlib.resources.files("pipeline")
        .joinpath("data", "norrkoping_kommungrans.geojson")
        .read_bytes()
    )
    assert (generated["dir"] / "kommungrans.geojson").read_bytes() == packaged


def test_boundary_shape(boundary: shapely.Geometry) -> None:
    assert boundary.geom_type == "Polygon" and boundary.is_valid
    assert shapely.get_num_coordinates(boundary) == 95


def test_marker_and_readme(generated: dict) -> None:
    marker = (generated["dir"] / "DEMODATA.txt").read_text(encoding="utf-8")
    assert "Syntetiska" in marker and "Synthetic" in marker and "not Norrköping" in marker
    readme = (generated["dir"] / "README.md").read_text(encoding="utf-8")
    for needle in ("synthetic", "opjord demo", "pipeline/demo.py", "EPSG:3010", "EPSG:3006",
                   "okfse/sweden-geojson", "Valmyndigheten", "generalised", "CC BY 4.0"):
        assert needle in readme, needle
    assert "*not*" in readme and "must never be presented as such" in readme


# --- field blocks -------------------------------------------------------------------------


def test_blocks_schema(generated: dict, blocks: gpd.GeoDataFrame) -> None:
    info = pyogrio.read_info(generated["dir"] / "jordbruksblock.gpkg", layer="jordbruksblock")
    assert info["crs"] == "EPSG:3006"
    assert info["geometry_type"] == "Polygon"
    assert list(info["fields"]) == ["blockid", "agoslag", "kategori", "areal", "region_kod",
                                    "arslager"]
    assert info["ogr_types"] == ["OFTString", "OFTString", "OFTString", "OFTReal", "OFTString",
                                 "OFTInteger"]
    assert pyogrio.list_layers(generated["dir"] / "jordbruksblock.gpkg")[:, 0].tolist() == [
        "jordbruksblock"
    ]
    assert set(blocks["kategori"]) == {"Jordbruksblock"}
    assert set(blocks["region_kod"]) == {"05"}
    assert set(blocks["arslager"]) == {2024}
    assert np.array_equal(blocks["areal"], blocks["areal"].round(2))


def test_block_count_classes_and_ids(blocks: gpd.GeoDataFrame) -> None:
    assert 4_000 <= len(blocks) <= 7_000
    assert set(blocks["agoslag"]) == {"Åker", "Bete"}
    bete = (blocks["agoslag"] == "Bete").mean()
    assert 0.15 <= bete <= 0.28
    assert blocks["blockid"].str.fullmatch(r"\d{11}").all()
    assert blocks["blockid"].is_unique


def test_block_sizes_and_areal(blocks: gpd.GeoDataFrame) -> None:
    repaired = shapely.make_valid(blocks.geometry.values)
    ha = shapely.area(repaired) / 10_000.0
    # every block, the repaired bow-ties included, is a realistic 1-20 ha field
    assert ha.min() >= 1.0 and ha.max() <= 20.0
    assert np.abs(blocks["areal"].to_numpy() - ha).max() <= 0.005 + 1e-9
    # valid blocks: the stored polygon itself has that area
    valid = blocks.is_valid.to_numpy()
    raw_ha = shapely.area(blocks.geometry.values[valid]) / 10_000.0
    assert np.allclose(raw_ha, blocks["areal"].to_numpy()[valid], atol=0.005 + 1e-9)
    # modest vertex counts, coordinates on a 1 cm grid
    assert shapely.get_num_coordinates(blocks.geometry.values).max() < 60
    xy = shapely.get_coordinates(blocks.geometry.values)
    assert np.allclose(xy * 100, np.round(xy * 100), atol=1e-4)


def test_exactly_two_bowtie_blocks(blocks: gpd.GeoDataFrame) -> None:
    invalid = blocks[~blocks.is_valid]
    assert len(invalid) == 2
    for geom in invalid.geometry:
        assert geom.geom_type == "Polygon"
        assert "Self-intersection" in shapely.is_valid_reason(geom)
        assert shapely.get_num_coordinates(geom) == 5  # four corners + closing point
        fixed = shapely.make_valid(geom)
        assert fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2


def test_blocks_inside_boundary(blocks: gpd.GeoDataFrame, boundary: shapely.Geometry) -> None:
    repaired = shapely.make_valid(blocks.geometry.values)
    assert shapely.within(repaired, boundary).all()


def test_designed_block_overlaps(blocks: gpd.GeoDataFrame) -> None:
    geoms = shapely.make_valid(blocks.geometry.values)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    overlap_ha = shapely.area(shapely.intersection(geoms[left], geoms[right])) / 10_000.0
    assert (overlap_ha > 0.5).all()  # real partial overlaps, no mere touching
    cls = blocks["agoslag"].to_numpy()
    mixed = int((cls[left] != cls[right]).sum())
    same = int((cls[left] == cls[right]).sum())
    # 10 pasture blocks over arable ones, 5 same-class pairs; all other blocks are apart
    assert (mixed, same) == (10, 5)
    for i, j in zip(left, right, strict=True):
        assert not shapely.within(geoms[i], geoms[j]) and not shapely.within(geoms[j], geoms[i])


# --- development areas --------------------------------------------------------------------


def test_plan_schema(generated: dict, plans: dict[str, gpd.GeoDataFrame]) -> None:
    for key, epsg in (("op2017", "EPSG:3006"), ("op2025", "EPSG:3010")):
        path = generated["dir"] / f"utvecklingsomraden_{key}.gpkg"
        assert pyogrio.list_layers(path)[:, 0].tolist() == ["utvecklingsomraden"]
        info = pyogrio.read_info(path, layer="utvecklingsomraden")
        assert info["crs"] == epsg
        assert info["geometry_type"] == "MultiPolygon"
        assert list(info["fields"]) == ["omr_id", "namn", "typ"]
        assert info["ogr_types"] == ["OFTString"] * 3
        gdf = plans[key]
        assert gdf["omr_id"].str.fullmatch(r"U-\d{3}").all() and gdf["omr_id"].is_unique
        assert set(gdf["typ"]) <= PLAN_TYPES and len(set(gdf["typ"])) == len(PLAN_TYPES)
        assert gdf["namn"].str.len().min() > 3
        assert gdf["namn"].str.contains("[åäöÅÄÖ]").any()


def _in_3006(plans: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {k: v.to_crs(3006) for k, v in plans.items()}


def test_plan_area_sizes_and_extent(
    plans: dict[str, gpd.GeoDataFrame], boundary: shapely.Geometry
) -> None:
    for key, gdf in _in_3006(plans).items():
        assert 35 <= len(gdf) <= 45, key
        assert gdf.is_valid.all(), key
        ha = gdf.area / 10_000.0
        assert ha.min() >= 5.0 and ha.max() <= 300.0, key
        assert shapely.within(gdf.geometry.values, boundary).all(), key


def test_plan_special_geometries(
    plans: dict[str, gpd.GeoDataFrame], farmland: shapely.Geometry
) -> None:
    for key, gdf in _in_3006(plans).items():
        geoms = gdf.geometry.values
        # a pair of areas that partly overlap each other
        left, right = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
        pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
        assert pairs, key
        assert max(shapely.intersection(geoms[i], geoms[j]).area for i, j in pairs) > 10_000
        # an area with a hole that has farmland inside the hole
        holes = [
            shapely.Polygon(ring)
            for geom in geoms
            for part in shapely.get_parts(geom)
            for ring in part.interiors
        ]
        assert holes, key
        assert max(h.intersection(farmland).area for h in holes) > 10_000, key
        # an area made of two separate parts
        assert (shapely.get_num_geometries(geoms) >= 2).any(), key


def test_plan_changes_as_designed(plans: dict[str, gpd.GeoDataFrame]) -> None:
    p = _in_3006(plans)
    old = dict(zip(p["op2017"]["omr_id"], p["op2017"].geometry, strict=True))
    new = dict(zip(p["op2025"]["omr_id"], p["op2025"].geometry, strict=True))
    both = old.keys() & new.keys()
    kept = {i for i in both if shapely.equals_exact(old[i], new[i], tolerance=0.001)}
    changed = both - kept
    removed = old.keys() - new.keys()
    added = new.keys() - old.keys()
    expected = {s: {a.omr_id for a in demo.AREAS if a.status == s}
                for s in ("kept", "changed", "removed", "new")}
    assert (kept, changed, removed, added) == (
        expected["kept"], expected["changed"], expected["removed"], expected["new"]
    )
    assert 24 <= len(kept) <= 28 and len(changed) == 5
    assert 8 <= len(removed) <= 10 and 10 <= len(added) <= 15
    for i in changed:  # really reshaped, not just jittered
        assert old[i].symmetric_difference(new[i]).area > 10_000
    for i in kept:  # the round trip through EPSG:3010 costs less than a millimetre
        assert old[i].symmetric_difference(new[i]).area < 1.0


def test_naive_farmland_share_falls(
    plans: dict[str, gpd.GeoDataFrame], farmland: shapely.Geometry
) -> None:
    share = {}
    for key, gdf in _in_3006(plans).items():
        footprint = shapely.union_all(gdf.geometry.values)
        share[key] = footprint.intersection(farmland).area / footprint.area
    assert 0.35 <= share["op2017"] <= 0.50
    assert 0.22 <= share["op2025"] <= 0.35
    assert share["op2017"] - share["op2025"] >= 0.10


# --- land-cover raster ---------------------------------------------------------------------


def test_landcover_raster_format(generated: dict, boundary: shapely.Geometry) -> None:
    import re

    import rasterio

    path = generated["dir"] / "nmd.tif"
    assert path.stat().st_size < 3 * 1024 * 1024
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 3006 and ds.count == 1 and ds.dtypes == ("uint8",)
        assert ds.res == (10.0, 10.0) and ds.nodata == demo.NMD_NODATA
        assert ds.block_shapes == [(256, 256)] and ds.profile["tiled"]
        assert ds.compression.name.lower() == "deflate"
        assert ds.transform.c % 10 == 0 and ds.transform.f % 10 == 0  # on the 10 m grid
        assert shapely.box(*ds.bounds).contains(boundary)
        assert "TIFFTAG_DATETIME" not in ds.tags()
        values, counts = np.unique(ds.read(1), return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    assert set(found) <= {3, 42, 51, 52, 53, 61, 62, *range(111, 119), demo.NMD_NODATA}
    assert {3, 42, 51, 52, 53, 61, 62, 111, 118, demo.NMD_NODATA} <= set(found)
    assert found[demo.NMD_NODATA] * 100 == demo.NODATA_PATCH_M[0] * demo.NODATA_PATCH_M[1]
    assert not re.search(rb"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", path.read_bytes())
    assert not (generated["dir"] / "nmd.tif.aux.xml").exists()


def test_landcover_raster_follows_the_blocks(generated: dict, blocks: gpd.GeoDataFrame) -> None:
    """Åker block centres are mostly 3; Bete block centres 42; the designed exceptions hold."""
    import rasterio

    geoms = shapely.make_valid(blocks.geometry.values)
    pts = shapely.point_on_surface(geoms)
    with rasterio.open(generated["dir"] / "nmd.tif") as ds:
        codes = np.array([v[0] for v in ds.sample(shapely.get_coordinates(pts))])
    aker = (blocks["agoslag"] == "Åker").to_numpy()
    assert 0.85 <= (codes[aker] == 3).mean() <= 0.95  # ~8 % of the area is fallow (42)
    assert ((codes[~aker] == 42) | (codes[~aker] == 3)).all()  # 3 only under an Åker overlap
    readme = (generated["dir"] / "README.md").read_text(encoding="utf-8")
    assert "nmd.tif" in readme and "Fallow or grazed" in readme
