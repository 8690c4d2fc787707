"""Bad input exits 2 with a message naming the file and the problem, and touches nothing."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from conftest import (
    X0,
    Y0,
    box,
    edit_config,
    fails_cleanly,
    farmland_records,
    plan_2017,
    snapshot,
    write_layer,
)

from pipeline.cli import main


@pytest.fixture
def ran(project, capsys):
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    capsys.readouterr()
    assert snapshot(project.parent / "data/processed")
    return project


def test_unknown_key(ran, capsys):
    edit_config(ran, "class_column =", "klass_kolumn = \"x\"\nclass_column =")
    fails_cleanly(ran, capsys, str(ran), "[agricultural_land] `klass_kolumn`",
                  "är ingen känd nyckel")


def test_invalid_toml(ran, capsys):
    edit_config(ran, 'kommun = "Testkommun"', "kommun = Testkommun")
    fails_cleanly(ran, capsys, "är inte giltig TOML (rad 2, kolumn 10: ogiltigt värde")


def test_missing_file(ran, capsys):
    edit_config(ran, "raw/blocks.gpkg", "raw/finns_inte.gpkg")
    fails_cleanly(ran, capsys, "finns_inte.gpkg", "som inte finns", "[agricultural_land] `path`")


def test_every_problem_reported_at_once(ran, capsys):
    edit_config(ran, "raw/blocks.gpkg", "raw/finns_inte.gpkg")
    edit_config(ran, "raw/op2025.gpkg", "raw/saknas.gpkg")
    err = fails_cleanly(ran, capsys, "finns_inte.gpkg", "saknas.gpkg")
    assert err.count("Åtgärd:") >= 2


def test_missing_column(ran, capsys):
    edit_config(ran, 'name_column = "namn"\ntype_column = "typ"\nbaseline',
                'name_column = "name"\ntype_column = "typ"\nbaseline')
    fails_cleanly(ran, capsys, "op2017.gpkg", "ingen kolumn 'name'", "omr_id, namn, typ")


def test_class_value_never_occurs(ran, capsys):
    # Å and A are different letters (a value differing only by case would count: test_values).
    edit_config(ran, 'classes = ["Åker", "Bete"]', 'classes = ["Aker", "Bete"]')
    fails_cleanly(ran, capsys, "blocks.gpkg", "'Aker'", "värden som finns: 'Bete', 'Skog', 'Åker'")


def test_no_crs_is_an_error_unless_configured(ran, capsys):
    raw = ran.parent / "raw"
    # A Shapefile without .prj has no CRS (GeoJSON without one would mean WGS 84 to GDAL).
    write_layer(raw / "plan_noprj.shp", [dict(r) for r in plan_2017()])
    (raw / "plan_noprj.prj").unlink()
    edit_config(ran, "raw/op2025.gpkg", "raw/plan_noprj.shp")
    fails_cleanly(ran, capsys, "plan_noprj.shp", "saknar koordinatsystem",
                  'crs = "EPSG:3006"')
    edit_config(ran, 'path = "raw/plan_noprj.shp"',
                'path = "raw/plan_noprj.shp"\ncrs = "EPSG:3006"')
    assert main(["analyse", "--config", str(ran), "-q"]) == 0


def test_points_are_refused(ran, capsys):
    write_layer(ran.parent / "raw/op2025.gpkg",
                [{"omr_id": "P", "namn": "punkt", "typ": "x",
                  "geometry": shapely.Point(X0 + 10, Y0 + 10)}])
    fails_cleanly(ran, capsys, "op2025.gpkg", "Point, inte polygoner")


def test_lines_are_refused(ran, capsys):
    write_layer(ran.parent / "raw/op2025.gpkg",
                [{"omr_id": "L", "namn": "linje", "typ": "x",
                  "geometry": shapely.LineString([(X0, Y0), (X0 + 9, Y0 + 9)])}])
    fails_cleanly(ran, capsys, "op2025.gpkg", "LineString, inte polygoner")


def test_empty_agricultural_layer(ran, capsys):
    path = ran.parent / "raw/blocks.gpkg"
    empty = gpd.read_file(path, layer="jordbruksblock").iloc[0:0]
    empty.to_file(path, layer="jordbruksblock", engine="pyogrio")
    fails_cleanly(ran, capsys, "blocks.gpkg", "har inga objekt")


def test_mislabelled_crs_far_outside_sweden(ran, capsys):
    # SWEREF 99 16 30 coordinates written with an EPSG:3006 label.
    gdf = gpd.GeoDataFrame([dict(r) for r in plan_2017()], crs=3006).to_crs(3010)
    gdf = gdf.set_crs(3006, allow_override=True)
    gdf.to_file(ran.parent / "raw/op2025.gpkg", engine="pyogrio")
    fails_cleanly(ran, capsys, "op2025.gpkg", "långt utanför Sverige", "EPSG:3010")


def test_degrees_labelled_as_metres(ran, capsys):
    gdf = gpd.GeoDataFrame([dict(r) for r in farmland_records()], crs=3006).to_crs(4326)
    gdf.set_crs(3006, allow_override=True).to_file(ran.parent / "raw/blocks.gpkg",
                                                   layer="jordbruksblock", engine="pyogrio")
    fails_cleanly(ran, capsys, "blocks.gpkg", "långt utanför Sverige")


def test_layer_must_be_chosen_in_multilayer_file(ran, capsys):
    path = ran.parent / "raw/blocks.gpkg"
    write_layer(path, [{"x": 1, "geometry": box(0, 0, 10, 10)}], layer="annat")
    edit_config(ran, 'layer = "jordbruksblock"\n', "")
    fails_cleanly(ran, capsys, "blocks.gpkg", "innehåller 2 skikt", "annat", "jordbruksblock")


def test_unknown_layer(ran, capsys):
    edit_config(ran, 'layer = "jordbruksblock"', 'layer = "block"')
    fails_cleanly(ran, capsys, "inget skikt 'block'")


def test_two_baselines(ran, capsys):
    edit_config(ran, 'path = "raw/op2025.gpkg"', 'path = "raw/op2025.gpkg"\nbaseline = true')
    fails_cleanly(ran, capsys, "exakt en plan med baseline = true", "op2017, op2025")


def test_bad_plan_key(ran, capsys):
    edit_config(ran, 'key = "op2025"', 'key = "ÖP 2025"')
    fails_cleanly(ran, capsys, "går inte att använda som plannyckel")


def test_duplicate_area_ids(ran, capsys):
    rows = [dict(r) for r in plan_2017()]
    rows[1]["omr_id"] = "A1"
    write_layer(ran.parent / "raw/op2017.gpkg", rows)
    fails_cleanly(ran, capsys, "op2017.gpkg", "inget unikt id", "A1")


def test_not_a_vector_file(ran, capsys):
    (ran.parent / "raw/blocks.gpkg").write_bytes(b"this is not a GeoPackage")
    fails_cleanly(ran, capsys, "blocks.gpkg", "går inte att öppna som vektordata")


def test_missing_config_file(tmp_path, capsys):
    assert main(["analyse", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_validate_writes_nothing_and_reports(project, capsys):
    assert main(["validate", "--config", str(project)]) == 0
    out = capsys.readouterr().out
    assert "blocks.gpkg" in out and "5 objekt lästa" in out and "EPSG:3006" in out
    assert not (project.parent / "data").exists()


def test_validate_reports_bad_input(project, capsys):
    edit_config(project, "raw/blocks.gpkg", "raw/finns_inte.gpkg")
    assert main(["validate", "--config", str(project)]) == 2
    assert "finns_inte.gpkg" in capsys.readouterr().err
