"""Scenarios (pipeline/scenario.py): each area's effect by hand, the figures of any selection
against `analyse` on the filtered layer, the ratio-trap caveat, and `opjord scenario`.

The fixture of conftest.py, by hand (ha; 1 ha = 100 × 100 m):
  ÖP 2017: A1 16 ha (Åker 8, Bete 2) ∪ A2 4 ha (no farmland, 2 ha under A1) = 18 ha, 10 ha.
  ÖP 2025: A1 16 ha (10 ha farmland) + B2 ring 8 ha (Åker 3) + B3 ¼ inside M (0,25 ha, Åker
  0,25) = 24,25 ha, 13,25 ha. Its share (54,6 %) is below ÖP 2017's (55,6 %) while its farmland
  grows from 10 to 13,25 ha: the ratio trap.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import box, fails_cleanly, make_project, write_layer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import fmt, scenario
from pipeline.analyse import analyse, analyse_frames, read_inputs
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.export import scenario_data
from pipeline.results import SCENARIO, read_processed

TOL = 1e-9
ROOT = Path(__file__).resolve().parents[1]


def run(cfg: Path, command: str = "analyse") -> Path:
    assert main([command, "--config", str(cfg), "-q"]) == 0
    return cfg.parent / "data/processed"


def areas_of(folder: Path) -> pd.DataFrame:
    return read_processed(folder).areas.set_index(["plan", "area_id"])


def assert_effect(row: pd.Series, plan_share: float, share_without: float | None,
                  agri_without: float, plan_agri: float) -> None:
    if share_without is None:
        assert pd.isna(row["plan_share_without"]) and pd.isna(row["share_effect_pp"])
    else:
        assert row["plan_share_without"] == pytest.approx(share_without, abs=TOL)
        assert row["share_effect_pp"] == pytest.approx(100 * (plan_share - share_without),
                                                       abs=TOL)
    assert row["plan_agricultural_ha_without"] == pytest.approx(agri_without, abs=TOL)
    assert row["agricultural_ha_effect"] == pytest.approx(plan_agri - agri_without, abs=TOL)


# ---------------------------------------------------------------------------- effects by hand


def test_each_areas_effect_by_hand(project):
    t = areas_of(run(project))
    # ÖP 2017 without A1: A2 alone, 4 ha without farmland; without A2: A1's 16 ha, 10 ha.
    assert_effect(t.loc[("op2017", "A1")], 10 / 18, 0.0, 0.0, 10)
    assert_effect(t.loc[("op2017", "A2")], 10 / 18, 10 / 16, 10, 10)
    # ÖP 2025 without A1: ring 8 + B3's 0,25 = 8,25 ha with 3,25 ha farmland; without B2:
    # 16,25 ha, 10,25 ha; without B3 (only its ¼ inside M counts): 24 ha, 13 ha.
    share = 13.25 / 24.25
    assert_effect(t.loc[("op2025", "A1")], share, 3.25 / 8.25, 3.25, 13.25)
    assert_effect(t.loc[("op2025", "B2")], share, 10.25 / 16.25, 10.25, 13.25)
    assert_effect(t.loc[("op2025", "B3")], share, 13 / 24, 13, 13.25)


def covered_plan() -> list[dict]:
    """ÖP 2025 as A1, C4 wholly inside A1 (1 ha of F1's Åker), D5 overlapping A1's corner
    by 1 ha (D5: 4 ha, no farmland)."""
    return [{"omr_id": "A1", "namn": "Ängen", "typ": "bostäder", "geometry": box(200, 0, 600, 400)},
            {"omr_id": "C4", "namn": "Inre", "typ": "bostäder",
             "geometry": box(250, 50, 350, 150)},
            {"omr_id": "D5", "namn": "Hörnet", "typ": "verksamheter",
             "geometry": box(500, 300, 700, 500)}]


def test_an_area_covered_by_another_has_effect_zero(project):
    write_layer(project.parent / "raw/op2025.gpkg", covered_plan())
    folder = run(project)
    t = areas_of(folder)
    # Footprint: A1 16 + D5 outside A1 3 = 19 ha, farmland 10 ha (C4's 1 ha is inside A1).
    share = 10 / 19
    c4 = t.loc[("op2025", "C4")]
    assert c4["share_effect_pp"] == 0.0 and c4["agricultural_ha_effect"] == 0.0  # exactly
    assert c4["plan_share_without"] == pytest.approx(share, abs=TOL)
    # Without A1: C4 1 ha (1 ha Åker) ∪ D5 4 ha = 5 ha, 1 ha farmland.
    assert_effect(t.loc[("op2025", "A1")], share, 1 / 5, 1, 10)
    assert_effect(t.loc[("op2025", "D5")], share, 10 / 16, 10, 10)
    # The same figures from scenario.json.
    data = read_processed(folder).scenario
    own = scenario.plan_areas(data, "op2025")
    for number in own:
        fig = scenario.figures(data, "op2025", [a for a in own if a != number])
        row = t.loc[("op2025", data["areas"][number]["area_id"])]
        assert fig.share == pytest.approx(row["plan_share_without"], abs=TOL)
        assert fig.agricultural_ha == pytest.approx(row["plan_agricultural_ha_without"],
                                                    abs=TOL)


def test_a_plan_of_one_area_has_nothing_left_without_it(project):
    write_layer(project.parent / "raw/op2025.gpkg", covered_plan()[:1])
    t = areas_of(run(project))
    assert_effect(t.loc[("op2025", "A1")], 10 / 16, None, 0, 10)


# ---------------------------------------------------------------------------- scenario.json


def test_scenario_json_matches_the_plans(project):
    folder = run(project)
    processed = read_processed(folder)
    data = processed.scenario
    assert data["run_id"] == processed.run_id and data["schema"] == 1
    assert data["classes"] == ["Åker", "Bete"] and data["baseline"] == "op2017"
    assert [(a["plan"], a["area_id"]) for a in data["areas"]] == list(
        zip(processed.areas["plan"], processed.areas["area_id"], strict=True))
    for p in data["plans"]:
        fig = scenario.figures(data, p["key"], scenario.plan_areas(data, p["key"]))
        plan = processed.summary["plans"][p["key"]]
        assert fig.share == pytest.approx(plan["share"], abs=TOL)
        assert fig.agricultural_ha == pytest.approx(plan["agricultural_ha"], rel=1e-12)
        assert fig.development_area_ha == pytest.approx(plan["development_area_ha"], rel=1e-12)
        assert fig.agricultural_ha_by_class == pytest.approx(plan["agricultural_ha_by_class"])
    # A selection across plans: ÖP 2017's A2 measured with ÖP 2025's B2 (on the same layer):
    # A2 4 ha + ring 8 ha, farmland 3 ha.
    index = scenario.area_numbers(data)
    fig = scenario.figures(data, "op2025", [index[("op2017", "A2")], index[("op2025", "B2")]])
    assert fig.development_area_ha == pytest.approx(12, abs=TOL)
    assert fig.share == pytest.approx(3 / 12, abs=TOL)
    assert fig.share_change_pp == pytest.approx(100 * (3 / 12 - 10 / 18), abs=TOL)
    assert fig.goal_met is True and fig.ratio_trap is False
    empty = scenario.figures(data, "op2025", [])
    assert empty.share is None and empty.goal_met is None and empty.development_area_ha == 0


@pytest.mark.parametrize("damage", ["edited", "other_run", "not_json", "missing"])
def test_a_damaged_scenario_json_is_refused(project, capsys, damage):
    folder = run(project)
    path = folder / SCENARIO
    data = json.loads(path.read_text(encoding="utf-8"))
    if damage == "edited":
        data["faces"]["area_m2"][0] *= 2
        path.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "other_run":
        data["run_id"] = "0" * 16
        path.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "not_json":
        path.write_text("{", encoding="utf-8")
    else:
        path.unlink()
    err = fails_cleanly(project, capsys, "scenario.json", command="map")
    assert "opjord analyse" in err


def test_check_data_names_what_is_wrong(project):
    data = read_processed(run(project)).scenario
    assert scenario.check_data(data) == []
    bad = json.loads(json.dumps(data))
    bad["faces"]["areas"][0] = [99]
    assert scenario.check_data(bad) == ["faces.areas"]
    bad = json.loads(json.dumps(data))
    bad["faces"]["inside"].pop()
    assert scenario.check_data(bad) == ["faces"]
    bad = json.loads(json.dumps(data))
    del bad["layers"]
    assert scenario.check_data(bad) == ["layers"]
    assert scenario.check_data([]) == ["(hela filen)"]


# ---------------------------------------------------------------------------- property


def property_project(folder: Path) -> Path:
    """The fixture with ÖP 2025 as eight overlapping areas, one across the boundary and one
    wholly inside another."""
    cfg = folder / "p"
    cfg.mkdir()
    path = make_project(cfg)
    boxes = [(200, 0, 600, 400), (250, 50, 350, 150), (500, 300, 700, 500), (550, 550, 850, 850),
             (350, 150, 650, 700), (900, 800, 1050, 1050), (0, 300, 250, 700), (100, 0, 300, 100)]
    write_layer(cfg / "raw/op2025.gpkg",
                [{"omr_id": f"P{i}", "namn": f"Område {i}", "typ": "bostäder",
                  "geometry": box(*b)} for i, b in enumerate(boxes)])
    return path


@pytest.fixture(scope="module")
def prop(tmp_path_factory):
    cfg = property_project(tmp_path_factory.mktemp("prop"))
    config = load_config(cfg)
    inputs = read_inputs(config)
    analysis = analyse(config)
    data = json.loads(json.dumps(scenario_data(analysis, "test")))
    return config, inputs, analysis, data


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_scenario_equals_analyse_on_the_filtered_layer(prop, draws):
    config, inputs, analysis, data = prop
    n = len(data["areas"])
    chosen = draws.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))
    plan = draws.draw(st.sampled_from(["op2017", "op2025"]))
    fig = scenario.figures(data, plan, chosen)
    rows = analysis.areas.iloc[sorted(chosen)]
    layer = gpd.GeoDataFrame({"plan": plan, "area_id": [f"{p}:{a}" for p, a in
                                                         zip(rows["plan"], rows["area_id"],
                                                             strict=True)],
                              "name": "", "type": ""},
                             geometry=rows.geometry.array, crs=rows.crs).reset_index(drop=True)
    areas_by_plan = dict(inputs.areas_by_plan)
    areas_by_plan[plan] = layer
    other = analyse_frames(config, areas_by_plan, inputs.farmland, inputs.boundary)
    expected = other.plans[plan]
    rel = 1e-6
    assert fig.development_area_ha == pytest.approx(expected["development_area_ha"], rel=rel,
                                                    abs=1e-9)
    assert fig.agricultural_ha == pytest.approx(expected["agricultural_ha"], rel=rel, abs=1e-9)
    for c, v in expected["agricultural_ha_by_class"].items():
        assert fig.agricultural_ha_by_class[c] == pytest.approx(v, rel=rel, abs=1e-9)
    if expected["share"] is None:
        assert fig.share is None
    else:
        assert fig.share == pytest.approx(expected["share"], abs=TOL)
        base = other.plans["op2017"]["share"]
        if plan != "op2017" and base is not None:
            assert fig.share_change_pp == pytest.approx(100 * (expected["share"] - base),
                                                        abs=1e-7)


def test_effects_equal_the_scenario_without_each_area(prop):
    _, _, analysis, data = prop
    table = scenario.table_of(data)
    for plan in ("op2017", "op2025"):
        own = scenario.plan_areas(data, plan)
        for number in own:
            fig = scenario.figures(data, plan, [a for a in own if a != number], table=table)
            row = analysis.areas.iloc[number]
            assert fig.share == pytest.approx(row["plan_share_without"], abs=TOL)
            assert fig.agricultural_ha == pytest.approx(row["plan_agricultural_ha_without"],
                                                        rel=1e-9, abs=1e-9)
    covered = analysis.areas[(analysis.areas["plan"] == "op2025")
                             & (analysis.areas["area_id"] == "P1")].iloc[0]
    assert covered["share_effect_pp"] == 0.0  # P1 lies wholly inside P0


# ---------------------------------------------------------------------------- the ratio trap


def test_the_ratio_trap_is_shown_wherever_the_verdict_is(project, capsys):
    assert main(["run", "--config", str(project)]) == 0
    out = capsys.readouterr().out.replace("\u00a0", " ")
    root = project.parent
    s = json.loads((root / "data/processed/summary.json").read_text(encoding="utf-8"))
    assert s["comparisons"]["op2025"]["ratio_trap"] is True
    (w,) = [w for w in s["warnings"] if w["code"] == "ratio_trap"]
    assert w["figures"]["plan"] == "op2025" and w["figures"]["baseline"] == "op2017"
    assert w["figures"]["agricultural_ha"] == pytest.approx(13.25, abs=TOL)
    assert w["figures"]["baseline_agricultural_ha"] == pytest.approx(10, abs=TOL)
    assert w["figures"]["agricultural_ha_change"] == pytest.approx(3.25, abs=TOL)
    caveat = "men planen pekar ut mer jordbruksmark: 13,3 ha mot 10,0 ha (3,3 ha mer)"
    assert caveat in w["message"].replace("\u00a0", " ")
    # CLI: the verdict with the hectares beside the share, then the caveat.
    assert ("ÖP 2025 jämfört med ÖP 2017: −0,9 procentenheter (andel 54,6 % mot 55,6 %, "
            "jordbruksmark 13,3 ha mot 10,0 ha) – målet är uppfyllt.") in out
    assert caveat in out
    # Workbook summary sheet: the Obs column.
    sheet = pd.read_excel(root / "data/processed/opjord.xlsx", sheet_name="Sammanfattning",
                          header=2)
    obs = sheet.set_index("Plan")["Obs"].fillna("")
    assert caveat in obs["ÖP 2025"].replace("\u00a0", " ") and obs["ÖP 2017"] == ""
    # Map headline (index and overview) and the report's sentence.
    for page in ("maps/index.html", "maps/oversikt.html"):
        html = (root / page).read_text(encoding="utf-8").replace("\u00a0", " ")
        assert ("<strong>−0,9 procentenheter</strong> (jordbruksmark 13,3 ha mot 10,0 ha) – "
                "målet är uppfyllt: andelen har minskat. <span class=\"obs\">Obs: ändå 3,3 ha "
                "mer jordbruksmark.</span>") in html, page
    # The overview's summary in words has the caveat in full.
    html = (root / "maps/oversikt.html").read_text(encoding="utf-8").replace("\u00a0", " ")
    assert caveat in html
    md = (root / "reports/uppfoljning_3a.md").read_text(encoding="utf-8").replace("\u00a0", " ")
    assert ("Målet är uppfyllt. Jordbruksmarken i utvecklingsområdena är 13,3 ha i ÖP 2025, "
            "jämfört med 10,0 ha i ÖP 2017 – 3,3 ha mer. Obs: andelen har minskat, men ÖP 2025 "
            "pekar ut mer jordbruksmark än ÖP 2017.") in md


def test_no_ratio_trap_when_the_farmland_shrinks(project):
    # ÖP 2025 as A1 moved 100 m east: 16 ha with Åker 4 + Bete 2 = 6 ha (37,5 %): the share
    # falls and so does the farmland (6 against 10 ha): no caveat.
    write_layer(project.parent / "raw/op2025.gpkg",
                [{"omr_id": "A1", "namn": "Ängen", "typ": "bostäder",
                  "geometry": box(300, 0, 700, 400)}])
    s = json.loads((run(project) / "summary.json").read_text(encoding="utf-8"))
    c = s["comparisons"]["op2025"]
    assert c["goal_met"] is True and c["ratio_trap"] is False
    assert not [w for w in s["warnings"] if w["code"] == "ratio_trap"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "data/raw/demo", root / "data/raw/demo")
    shutil.copy(ROOT / "opjord.toml", root / "opjord.toml")
    assert main(["run", "--config", str(root / "opjord.toml"), "-q"]) == 0
    return root


def test_the_demo_does_not_trigger_the_ratio_trap(demo):
    s = json.loads((demo / "data/processed/summary.json").read_text(encoding="utf-8"))
    c = s["comparisons"]["op2025"]
    # The demo's share falls and so does its farmland: no caveat anywhere.
    assert c["goal_met"] is True and c["agricultural_ha_change"] < 0 and not c["ratio_trap"]
    assert not [w for w in s["warnings"] if w["code"] == "ratio_trap"]
    for page in ("maps/index.html", "reports/uppfoljning_3a.md"):
        assert "pekar ut mer jordbruksmark" not in (demo / page).read_text(encoding="utf-8")


def test_the_demo_effects_agree_with_the_report_and_scenarios(demo, capsys):
    processed = read_processed(demo / "data/processed")
    data, areas = processed.scenario, processed.areas
    table = scenario.table_of(data)
    for plan in ("op2017", "op2025"):
        own = scenario.plan_areas(data, plan)
        for number in own[::7]:
            fig = scenario.figures(data, plan, [a for a in own if a != number], table=table)
            assert fig.share == pytest.approx(areas.loc[number, "plan_share_without"], abs=TOL)
    # The report's list: the top area by effect, removed alone, is the table's first step.
    md = (demo / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    top = areas[areas["plan"] == "op2025"].sort_values("share_effect_pp").iloc[-1]
    assert "Områden som höjer andelen mest" in md and f"({top['area_id']})" in md
    assert main(["scenario", "--config", str(demo / "opjord.toml"), "--without",
                 top["area_id"]]) == 0
    out = capsys.readouterr().out
    assert f"Andel jordbruksmark: {fmt.percent(top['plan_share_without'])}\n" in out


# ---------------------------------------------------------------------------- opjord scenario


def scenario_cli(cfg: Path, *args: str) -> int:
    return main(["scenario", "--config", str(cfg), *args])


def test_cli_without_and_with(project, capsys, tmp_path):
    run(project)
    capsys.readouterr()
    out_json = tmp_path / "urval.json"
    assert scenario_cli(project, "--plan", "op2025", "--without", "B2, B3", "--with",
                        "op2017:A2", "--json", str(out_json)) == 0
    out = capsys.readouterr().out.replace("\u00a0", " ")
    # A1 ∪ A2 on ÖP 2025's layer: 18 ha, 10 ha: the baseline's own figures, share unchanged.
    assert "2 utvecklingsområden valda" in out
    assert "Utvecklingsområden: 18,0 ha" in out and "Jordbruksmark: 10,0 ha (åker 8,0 ha, bete " \
        "2,0 ha)" in out
    assert "Andel jordbruksmark: 55,6 %" in out and "målet är inte uppfyllt" in out
    got = json.loads(out_json.read_text(encoding="utf-8"))
    assert got["selection"] == [{"plan": "op2017", "area_id": "A2"},
                                {"plan": "op2025", "area_id": "A1"}]
    assert got["share"] == pytest.approx(10 / 18, abs=TOL)
    assert got["share_change_pp"] == pytest.approx(0, abs=TOL)
    assert got["goal_met"] is False and got["ratio_trap"] is False
    assert set(got) == {"run_id", "selection", "plan", "layer", "areas", "development_area_ha",
                        "agricultural_ha", "agricultural_ha_by_class", "share", "baseline",
                        "baseline_share", "baseline_agricultural_ha", "share_change_pp",
                        "agricultural_ha_change", "goal_met", "ratio_trap"}


def test_cli_default_plan_shows_the_ratio_trap(project, capsys):
    run(project)
    capsys.readouterr()
    assert scenario_cli(project) == 0  # the last plan with all its areas
    out = capsys.readouterr().out.replace("\u00a0", " ")
    assert "Andel jordbruksmark: 54,6 %" in out
    assert "Obs: andelen jordbruksmark i scenariot (54,6 %) är lägre än i ÖP 2017" in out


def test_cli_areas_csv(project, capsys, tmp_path):
    run(project)
    capsys.readouterr()
    csv = tmp_path / "urval.csv"
    csv.write_text("\ufeffplan,area_id,namn\nop2025,B2,Ringen\nop2025,B2,\n\n", encoding="utf-8")
    assert scenario_cli(project, "--areas", str(csv)) == 0
    out = capsys.readouterr().out.replace("\u00a0", " ")
    assert "1 utvecklingsområden valda" in out and "Andel jordbruksmark: 37,5 %" in out  # 3/8


@pytest.mark.parametrize(("args", "needles"), [
    (["--without", "B9,A1"], ["okända område-id: B9", "plan:id"]),
    (["--with", "op2017:Z1,x:y"], ["okända område-id: op2017:Z1, x:y"]),
    (["--plan", "op2099"], ["--plan op2099", "op2017, op2025"]),
    (["--areas", "urval.csv", "--without", "A1"], ["kan inte kombineras"]),
])
def test_cli_bad_ids_exit_2(project, capsys, args, needles):
    run(project)
    capsys.readouterr()
    assert scenario_cli(project, *args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize(("content", "needle"), [
    ("omr,id\nop2025,B2\n", "saknar kolumnerna plan och area_id"),
    ("plan,area_id\nop2025\n", "rad 2 saknar plan eller area_id"),
    ("plan,area_id\nop2025,B9\nop2016,A1\n", "okända område-id: op2025:B9, op2016:A1"),
    (b"plan,area_id\nop2025,\xff\n", "är inte UTF-8"),
    ("", "saknar kolumnerna plan och area_id"),
    (None, "filen finns inte"),
])
def test_cli_bad_csv_exit_2(project, capsys, tmp_path, content, needle):
    run(project)
    capsys.readouterr()
    csv = tmp_path / "urval.csv"
    if isinstance(content, bytes):
        csv.write_bytes(content)
    elif content is not None:
        csv.write_text(content, encoding="utf-8")
    assert scenario_cli(project, "--areas", str(csv)) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and str(csv) in err


def test_cli_without_processed_folder_exit_2(project, capsys):
    assert scenario_cli(project) == 2
    err = capsys.readouterr().err
    assert "saknas" in err and "opjord analyse" in err and "Traceback" not in err


def test_cli_json_refuses_the_output_folders(project, capsys):
    folder = run(project)
    capsys.readouterr()
    assert scenario_cli(project, "--json", str(folder / "x.json")) == 2
    assert "utdatamappar" in capsys.readouterr().err
    assert not (folder / "x.json").exists()


def test_cli_help_is_swedish(capsys):
    with pytest.raises(SystemExit):
        main(["scenario", "--help"])
    out = capsys.readouterr().out
    assert "användning: opjord scenario" in out and "område-id att ta bort" in out
