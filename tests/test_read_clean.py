"""Reading any OGR format (encodings, CRS, layers) and cleaning with counted repairs."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from conftest import X0, Y0, box, edit_config, farmland_records, plan_2025, write_layer

from pipeline.clean import clean_polygons
from pipeline.cli import main
from pipeline.config import VectorSource

TOL = 1e-9


def summary(cfg) -> dict:
    assert main(["analyse", "--config", str(cfg), "-q"]) == 0
    return json.loads((cfg.parent / "data/processed/summary.json").read_text(encoding="utf-8"))


def later_figures(s: dict) -> tuple[float, float, float]:
    p = s["plans"]["op2025"]
    return p["development_area_ha"], p["agricultural_ha"], p["share"]


@pytest.mark.parametrize("name,driver,kwargs", [
    ("op2025.shp", "ESRI Shapefile", {"encoding": "cp1252"}),
    ("op2025.geojson", "GeoJSON", {}),
    ("op2025.fgb", "FlatGeobuf", {}),
    ("op2025.gml", "GML", {}),
    ("op2025.gdb", "OpenFileGDB", {}),
])
def test_formats_give_the_same_figures(project, name, driver, kwargs):
    expected = later_figures(summary(project))
    write_layer(project.parent / "raw" / name, plan_2025(), driver=driver, **kwargs)
    edit_config(project, "raw/op2025.gpkg", f"raw/{name}")
    s = summary(project)
    assert later_figures(s) == pytest.approx(expected, abs=TOL)
    rows = (project.parent / "data/processed/areas.csv").read_text(encoding="utf-8")
    assert "Ängen" in rows and "Ringen" in rows  # å/ä/ö survive (the .dbf is cp1252)


def test_shapefile_cpg_is_honoured(project):
    write_layer(project.parent / "raw/op2025.shp", plan_2025(), encoding="cp1252")
    raw = (project.parent / "raw/op2025.dbf").read_bytes()
    assert "Ängen".encode("cp1252") in raw and "Ängen".encode() not in raw
    assert (project.parent / "raw/op2025.cpg").read_text().strip().upper() in {"CP1252", "1252"}
    edit_config(project, "raw/op2025.gpkg", "raw/op2025.shp")
    summary(project)
    assert "Ängen" in (project.parent / "data/processed/areas.csv").read_text(encoding="utf-8")


def test_local_zone_is_reprojected(project):
    expected = later_figures(summary(project))
    gdf = gpd.GeoDataFrame(plan_2025(), crs=3006).to_crs(3010)
    assert gdf.total_bounds[0] < 200_000  # really in the local zone's coordinates
    gdf.to_file(project.parent / "raw/op2025.gpkg", engine="pyogrio")
    s = summary(project)
    assert later_figures(s) == pytest.approx(expected, rel=1e-9)
    entry = next(i for i in s["inputs"] if i["role"] == "plan:op2025")
    assert entry["source_crs"] == "EPSG:3010" and entry["crs_used"] == "EPSG:3010"
    # The kept area survives the round trip through EPSG:3010.
    assert s["comparisons"]["op2025"]["areas_kept"] == 1


def test_farmland_in_local_zone_read_through_the_index(project):
    """A wide layer in EPSG:3010 is read by its box through the index and filtered exactly."""
    expected = summary(project)
    records = farmland_records()
    records.append({**records[0], "blockid": "00000000099",
                    "geometry": box(60_000, 60_000, 60_100, 60_100)})  # 85 km away
    gdf = gpd.GeoDataFrame(records, crs=3006).to_crs(3010)
    gdf.to_file(project.parent / "raw/blocks.gpkg", layer="jordbruksblock", engine="pyogrio")
    s = summary(project)
    for key in ("op2017", "op2025"):
        assert later_figures({"plans": {"op2025": s["plans"][key]}}) == pytest.approx(
            later_figures({"plans": {"op2025": expected["plans"][key]}}), rel=1e-9)
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(
        expected["municipal_agricultural_ha"]["agricultural_land"], rel=1e-9)
    cleaning = next(i for i in s["inputs"] if i["role"] == "agricultural_land")["cleaning"]
    assert cleaning["features_read"] == 5  # the far block is never read


def test_layer_choice_in_geopackage(project):
    path = project.parent / "raw/blocks.gpkg"
    write_layer(path, [{"agoslag": "Åker", "geometry": box(0, 0, 1000, 500)},
                       {"agoslag": "Bete", "geometry": box(0, 500, 1000, 1000)}], layer="annat")
    s1 = summary(project)
    edit_config(project, 'layer = "jordbruksblock"', 'layer = "annat"')
    s2 = summary(project)
    assert s1["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(23.0)
    assert s2["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(100.0)


def test_repairs_are_counted_and_reported(project):
    records = farmland_records()
    bowtie = shapely.Polygon([(X0 + 600, Y0), (X0 + 800, Y0 + 200), (X0 + 800, Y0),
                              (X0 + 600, Y0 + 200), (X0 + 600, Y0)])  # two 1 ha triangles
    records.append({"blockid": "00000000006", "agoslag": "Åker", "kategori": "x", "areal": 2.0,
                    "region_kod": "05", "arslager": 2024, "geometry": bowtie})
    sliver = shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0), (X0, Y0)])  # no area
    records.append({"blockid": "00000000007", "agoslag": "Åker", "kategori": "x", "areal": 0.0,
                    "region_kod": "05", "arslager": 2024, "geometry": sliver})
    write_layer(project.parent / "raw/blocks.gpkg", records, layer="jordbruksblock")
    s = summary(project)
    cleaning = next(i for i in s["inputs"] if i["role"] == "agricultural_land")["cleaning"]
    assert cleaning["features_read"] == 7
    assert cleaning["repaired"] == 2  # the bow-tie and the collapsed sliver
    assert cleaning["empty_dropped"] == 1  # the sliver has nothing polygonal left
    assert cleaning["features_kept"] == 6
    # The repaired bow-tie is two 1 ha triangles meeting at (700, 100); the left one lies
    # wholly inside A2 (500–700 × 0–200), the right one outside every area.
    assert s["plans"]["op2017"]["agricultural_ha"] == pytest.approx(11.0, abs=TOL)


def test_clean_polygons_counts():
    geoms = [
        shapely.Polygon([(X0, Y0, 5), (X0 + 10, Y0, 5), (X0 + 10, Y0 + 10, 5)]),  # Z
        None,
        shapely.Polygon(),
        shapely.GeometryCollection([box(0, 0, 10, 10),
                                    shapely.LineString([(X0, Y0), (X0 + 1, Y0)])]),
        box(0, 0, 5, 5),
    ]
    gdf = gpd.GeoDataFrame({"n": range(5)}, geometry=geoms, crs=3006)
    src = VectorSource(role="x", path=__import__("pathlib").Path("x.gpkg"), table="[x]")
    out, report = clean_polygons(gdf, src)
    assert report.as_dict() == {"features_read": 5, "null_dropped": 1, "empty_dropped": 1,
                                "repaired": 0, "z_dropped": 1, "non_polygonal_parts_dropped": 1,
                                "features_kept": 3}
    assert list(out["n"]) == [0, 3, 4]
    assert not shapely.has_z(out.geometry.array.to_numpy()).any()
    assert set(out.geom_type) == {"Polygon"}
    assert out.geometry.iloc[1].area == pytest.approx(100.0)
