"""Exact figures on the hand-made fixture (see conftest.py for the layout and hand sums)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely
from conftest import box, edit_config, farmland_records, write_layer

from pipeline.analyse import analyse
from pipeline.cli import main
from pipeline.config import load_config

TOL = 1e-9


def run_summary(cfg) -> dict:
    assert main(["analyse", "--config", str(cfg), "-q"]) == 0
    return json.loads((cfg.parent / "data/processed/summary.json").read_text(encoding="utf-8"))


def areas_csv(cfg) -> pd.DataFrame:
    return pd.read_csv(cfg.parent / "data/processed/areas.csv", dtype={"area_id": str},
                       keep_default_na=False)


def test_plan_totals_by_hand(project):
    s = run_summary(project)
    base, later = s["plans"]["op2017"], s["plans"]["op2025"]
    # ÖP 2017: A1 ∪ A2 = 16 + 4 − 2 (overlap counted once) = 18 ha; farmland 8 Åker + 2 Bete.
    assert base["development_area_ha"] == pytest.approx(18.0, abs=TOL)
    assert base["agricultural_ha"] == pytest.approx(10.0, abs=TOL)
    assert base["agricultural_ha_by_class"] == pytest.approx({"Åker": 8.0, "Bete": 2.0}, abs=TOL)
    assert base["share"] == pytest.approx(10 / 18, abs=TOL)
    # Municipal farmland: F1 16 + F2 outside F1 2 + F3 4 + F4 inside M 1 = 23 ha.
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(23.0, abs=TOL)
    assert base["share_of_municipal_agricultural_land"] == pytest.approx(10 / 23, abs=TOL)
    # ÖP 2025: A1 16 + ring 8 + B3 clipped to M 0.25 = 24.25 ha; farmland 10 + 3 + 0.25.
    assert later["development_area_ha"] == pytest.approx(24.25, abs=TOL)
    assert later["agricultural_ha"] == pytest.approx(13.25, abs=TOL)
    assert later["agricultural_ha_by_class"] == pytest.approx({"Åker": 11.25, "Bete": 2.0},
                                                              abs=TOL)
    assert later["share"] == pytest.approx(13.25 / 24.25, abs=TOL)
    assert later["n_areas"] == 3 and base["n_areas"] == 2


def test_comparison_by_hand(project):
    c = run_summary(project)["comparisons"]["op2025"]
    assert c["share_change_pp"] == pytest.approx(100 * (13.25 / 24.25 - 10 / 18), abs=TOL)
    assert c["goal_met"] is True
    assert c["agricultural_ha_change"] == pytest.approx(3.25, abs=TOL)
    # newly designated: ring 3 ha + B3's 0.25 ha inside M; released: A2 minus A1 has none.
    assert c["newly_designated_ha"] == pytest.approx(3.25, abs=TOL)
    assert c["released_ha"] == pytest.approx(0.0, abs=TOL)
    assert c["kept_ha"] == pytest.approx(10.0, abs=TOL)
    assert (c["area_matching"], c["areas_new"], c["areas_kept"], c["areas_changed"],
            c["areas_removed"]) == ("id", 2, 1, 0, 1)


def test_per_area_rows_by_hand(project):
    run_summary(project)
    t = areas_csv(project).set_index(["plan", "area_id"])
    assert list(areas_csv(project).columns) == [
        "plan", "area_id", "name", "type", "area_ha", "agricultural_ha", "agricultural_ha_aker",
        "agricultural_ha_bete", "share", "status", "plan_share_without",
        "plan_agricultural_ha_without", "share_effect_pp", "agricultural_ha_effect"]
    expected = {  # area_ha, agricultural, åker, bete, status
        ("op2017", "A1"): (16, 10, 8, 2, ""),
        ("op2017", "A2"): (4, 0, 0, 0, "removed"),
        ("op2025", "A1"): (16, 10, 8, 2, "kept"),
        ("op2025", "B2"): (8, 3, 3, 0, "new"),  # the hole's 1 ha of F3 is not inside
        ("op2025", "B3"): (1, 1, 1, 0, "new"),  # per-area figures are not clipped to M
    }
    for key, (area, agri, aker, bete, status) in expected.items():
        row = t.loc[key]
        assert row["area_ha"] == pytest.approx(area, abs=TOL)
        assert row["agricultural_ha"] == pytest.approx(agri, abs=TOL)
        assert row["agricultural_ha_aker"] == pytest.approx(aker, abs=TOL)
        assert row["agricultural_ha_bete"] == pytest.approx(bete, abs=TOL)
        assert row["share"] == pytest.approx(agri / area, abs=TOL)
        assert row["status"] == status
    assert t.loc[("op2017", "A1"), "name"] == "Ängen"


def test_class_priority_follows_config_order(project):
    # With Bete first, the 2 ha overlap of F1 and F2 becomes Bete: A1 holds 6 Åker + 4 Bete.
    edit_config(project, 'classes = ["Åker", "Bete"]', 'classes = ["Bete", "Åker"]')
    s = run_summary(project)
    assert s["plans"]["op2017"]["agricultural_ha_by_class"] == pytest.approx(
        {"Bete": 4.0, "Åker": 6.0}, abs=TOL)
    assert s["plans"]["op2017"]["agricultural_ha"] == pytest.approx(10.0, abs=TOL)


def test_only_configured_classes_count(project):
    edit_config(project, 'classes = ["Åker", "Bete"]', 'classes = ["Åker"]')
    s = run_summary(project)
    # Bete no longer counts: A1 keeps its 8 ha Åker only, municipality 16 + 4 + 1.
    assert s["plans"]["op2017"]["agricultural_ha"] == pytest.approx(8.0, abs=TOL)
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(21.0, abs=TOL)


def test_without_boundary_nothing_is_clipped(project):
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace('[boundary]\npath = "raw/boundary.gpkg"\n', ""),
                       encoding="utf-8")
    s = run_summary(project)
    later = s["plans"]["op2025"]
    assert later["development_area_ha"] == pytest.approx(25.0, abs=TOL)
    assert later["agricultural_ha"] == pytest.approx(14.0, abs=TOL)
    # |F| = 16 + 2 + 4 + 4 = 26 ha without M.
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(26.0, abs=TOL)
    assert not any("utanför kommungränsen" in w["message"] for w in s["warnings"])


def test_boundary_overhang_is_warned(project):
    s = run_summary(project)
    (w,) = [w for w in s["warnings"] if w["code"] != "ratio_trap"]  # see test_scenario.py
    assert "0,75\u00a0ha" in w["message"] and "op2025" in w["message"]
    assert "utanför kommungränsen" in w["message"]
    assert w["code"] == "areas_outside_boundary" and w["figures"]["plan"] == "op2025"
    assert w["figures"]["outside_ha"] == pytest.approx(0.75, abs=TOL)  # B3: ¾ of 1 ha


def test_empty_plan_gives_null_share_and_warning(project, caplog):
    write_layer(project.parent / "raw/op2025.gpkg",
                [{"omr_id": "X", "namn": "x", "typ": "x", "geometry": box(0, 0, 1, 1)}])
    # An empty layer: write one feature, then keep none by overwriting with an empty frame.
    import geopandas as gpd
    empty = gpd.read_file(project.parent / "raw/op2025.gpkg").iloc[0:0]
    empty.to_file(project.parent / "raw/op2025.gpkg", engine="pyogrio")
    s = run_summary(project)
    later = s["plans"]["op2025"]
    assert later["share"] is None and later["n_areas"] == 0
    assert later["development_area_ha"] == 0 and later["agricultural_ha"] == 0
    c = s["comparisons"]["op2025"]
    assert c["share_change_pp"] is None and c["goal_met"] is None
    assert c["released_ha"] == pytest.approx(10.0, abs=TOL)
    assert any("inga utvecklingsområden" in w["message"] for w in s["warnings"])


def test_per_plan_agricultural_layer(project):
    # ÖP 2017 is measured against 2017's blocks: only F1 (Åker) existed then.
    raw = project.parent / "raw"
    write_layer(raw / "blocks2017.gpkg", [{"blockid": "00000000001", "agoslag": "Åker",
                                           "geometry": box(0, 0, 400, 400)},
                                          {"blockid": "00000000009", "agoslag": "Bete",
                                           "geometry": box(600, 0, 700, 100)}])
    edit_config(project, 'id_column = "omr_id"\nname_column = "namn"\ntype_column = "typ"\n'
                'baseline = true\n',
                'id_column = "omr_id"\nname_column = "namn"\ntype_column = "typ"\n'
                'baseline = true\nagricultural_land = { path = "raw/blocks2017.gpkg" }\n')
    s = run_summary(project)
    base = s["plans"]["op2017"]
    # A1 ∩ F1 = 8 ha Åker; A2 holds the 1 ha Bete block (600–700 × 0–100).
    assert base["agricultural_ha_by_class"] == pytest.approx({"Åker": 8.0, "Bete": 1.0}, abs=TOL)
    assert base["agricultural_layer"] == "agricultural_land:op2017"
    assert s["plans"]["op2025"]["agricultural_layer"] == "agricultural_land"
    assert s["municipal_agricultural_ha"]["agricultural_land:op2017"] == pytest.approx(17.0)
    c = s["comparisons"]["op2025"]
    # released is measured on the baseline's layer: the Bete block in A2 outside A1.
    assert c["released_ha"] == pytest.approx(1.0, abs=TOL)
    assert c["kept_ha"] == pytest.approx(10.0, abs=TOL)  # later layer inside A1
    assert c["newly_designated_ha"] == pytest.approx(3.25, abs=TOL)
    roles = [i["role"] for i in s["inputs"]]
    assert "agricultural_land:op2017" in roles


def test_overlap_matching_without_ids(project):
    for key in ("op2017", "op2025"):
        edit_config(project, f'path = "raw/{key}.gpkg"\nid_column = "omr_id"\n',
                    f'path = "raw/{key}.gpkg"\n')
    s = run_summary(project)
    c = s["comparisons"]["op2025"]
    assert c["area_matching"] == "overlap"
    assert (c["areas_new"], c["areas_kept"], c["areas_changed"], c["areas_removed"]) == (2, 1, 0, 1)
    t = areas_csv(project)
    assert list(t.loc[t.plan == "op2025", "area_id"]) == ["1", "2", "3"]


def test_changed_area_by_id(project):
    rows = [dict(r) for r in __import__("conftest").plan_2025()]
    rows[0]["geometry"] = box(200, 0, 600, 300)  # A1 shrunk by a quarter
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    run_summary(project)
    t = areas_csv(project).set_index(["plan", "area_id"])
    assert t.loc[("op2025", "A1"), "status"] == "changed"
    # 200–400 × 0–300 of F1 (6 ha Åker) + the Bete piece 400–500 × 0–200 (2 ha).
    assert t.loc[("op2025", "A1"), "agricultural_ha"] == pytest.approx(8.0, abs=TOL)
    assert t.loc[("op2025", "A1"), "agricultural_ha_aker"] == pytest.approx(6.0, abs=TOL)


def test_pieces_layers_carry_source_attributes(project):
    import geopandas as gpd
    run_summary(project)
    gpkg = project.parent / "data/processed/analysis.gpkg"
    pieces = gpd.read_file(gpkg, layer="agricultural_in_areas")
    assert set(pieces.columns) >= {"plan", "class", "area_ha", "blockid", "agoslag", "arslager"}
    mine = pieces[pieces.plan == "op2017"]
    assert mine.area_ha.sum() == pytest.approx(10.0, abs=TOL)
    assert sorted(mine.blockid) == ["00000000001", "00000000002"]
    newly = gpd.read_file(gpkg, layer="newly_designated")
    assert newly.area_ha.sum() == pytest.approx(3.25, abs=TOL)
    assert set(newly.blockid) == {"00000000003", "00000000004"}
    assert gpd.read_file(gpkg, layer="released").empty
    areas = gpd.read_file(gpkg, layer="areas")
    assert areas.crs.to_epsg() == 3006 and len(areas) == 5


def test_areas_outside_boundary_do_not_count_in_plan_totals(project):
    # A plan area wholly outside M (and outside M's envelope) adds nothing to the plan totals
    # but keeps its own row, with the farmland under it: per-area figures are not clipped.
    rows = __import__("conftest").plan_2017()
    rows.append({"omr_id": "A9", "namn": "Utanför", "typ": "bostäder",
                 "geometry": box(2000, 0, 2100, 100)})
    write_layer(project.parent / "raw/op2017.gpkg", rows)
    blocks = farmland_records()
    blocks.append({"blockid": "00000000008", "agoslag": "Bete",
                   "geometry": box(2050, 0, 2300, 100)})
    write_layer(project.parent / "raw/blocks.gpkg", blocks, layer="jordbruksblock")
    s = run_summary(project)
    assert s["plans"]["op2017"]["development_area_ha"] == pytest.approx(18.0, abs=TOL)
    assert s["plans"]["op2017"]["agricultural_ha"] == pytest.approx(10.0, abs=TOL)
    assert s["plans"]["op2017"]["n_areas"] == 3
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(23.0, abs=TOL)
    t = areas_csv(project).set_index(["plan", "area_id"])
    assert t.loc[("op2017", "A9"), "agricultural_ha_bete"] == pytest.approx(0.5, abs=TOL)


def test_analyse_is_pure_about_inputs(project):
    """analyse() reads without writing anything next to the inputs."""
    raw = project.parent / "raw"
    before = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    analyse(load_config(project))
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == before


def test_coverage_resolves_only_overlapping_features():
    import geopandas as gpd

    from pipeline.overlay import build_coverage
    gdf = gpd.GeoDataFrame({"agoslag": ["Bete", "Åker", "Åker"]},
                           geometry=[box(0, 0, 200, 200), box(100, 0, 300, 200),
                                     box(300, 0, 400, 100)], crs=3006)  # third only touches
    cov = build_coverage(gdf, "agoslag", ("Åker", "Bete"))
    areas = dict(zip(cov.frame["_class"] + cov.frame.index.astype(str),
                     shapely.area(cov.geoms), strict=True))
    assert sorted(areas.values()) == pytest.approx([10_000, 20_000, 40_000])
    assert shapely.area(shapely.union_all(cov.geoms)) == pytest.approx(70_000)


def test_type_map_gives_plans_one_vocabulary(project):
    edit_config(project, 'type_column = "typ"\nbaseline = true',
                'type_column = "typ"\ntype_map = { "verksamheter" = "verksamhet och industri" }'
                "\nbaseline = true")
    run_summary(project)
    t = areas_csv(project).set_index(["plan", "area_id"])
    assert t.loc[("op2017", "A2"), "type"] == "verksamhet och industri"
    assert t.loc[("op2017", "A1"), "type"] == "bostäder"  # unmapped values stay
    assert t.loc[("op2025", "B3"), "type"] == "verksamheter"  # only that plan's map applies


def test_type_map_needs_text_values(project, capsys):
    edit_config(project, 'type_column = "typ"\nbaseline = true',
                'type_column = "typ"\ntype_map = { "bostäder" = 1 }\nbaseline = true')
    assert main(["analyse", "--config", str(project), "-q"]) == 2
    assert "`type_map` ska översätta typvärden till text" in capsys.readouterr().err
