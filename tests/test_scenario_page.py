"""The scenario page without a browser: its data, its JavaScript sums under Node, its texts.

The browser tests (test_scenario_page_browser.py) drive the page itself; here the page's
script is run under Node against hand-made faces (figures computed by hand), against
`pipeline.scenario.figures` on the demo for random selections, and its Swedish number
formats against `pipeline.fmt`.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_project import demo_run, run_js

from pipeline import fmt, scenario, scenario_page
from pipeline.results import SCENARIO_DATA, SCENARIO_PAGE, Processed, ratio_trap_text

A1, A2, A3 = "A,1", 'B "2"', "</script><script>window.__xss=1</script>"


def hand_made() -> dict:
    """scenario.json for 3 areas in 2 plans, 4 faces (one outside the boundary).

    face  m²   inside  areas    farmland m² (Åker, Bete) on p1's layer / on p2's layer
    0     100  yes     0        10, 0                    / 10, 0
    1      50  yes     0, 1     20, 5                    / 20, 5
    2      30  no      1        30, 0                    / 30, 0
    3     200  yes     2         0, 40                   /  0, 10
    """
    return {
        "schema": 1, "run_id": "test", "classes": ["Åker", "Bete"], "baseline": "p1",
        "layers": ["agricultural_land", "agricultural_land:p2"],
        "plans": [
            {"key": "p1", "label": "Plan 1", "layer": "agricultural_land", "share": 35 / 150,
             "agricultural_ha": 35e-4, "development_area_ha": 150e-4},
            {"key": "p2", "label": "Plan 2", "layer": "agricultural_land:p2", "share": 10 / 200,
             "agricultural_ha": 10e-4, "development_area_ha": 200e-4}],
        "areas": [{"plan": "p1", "area_id": A1, "name": "Ett", "type": "bostäder",
                   "area_ha": 150e-4},
                  {"plan": "p1", "area_id": A2, "name": "Två", "type": "handel",
                   "area_ha": 80e-4},
                  {"plan": "p2", "area_id": A3, "name": "<b>Tre</b>", "type": "bostäder",
                   "area_ha": 200e-4}],
        "faces": {"area_m2": [100.0, 50.0, 30.0, 200.0], "inside": [True, True, False, True],
                  "areas": [[0], [0, 1], [1], [2]],
                  "agricultural_m2": {
                      "agricultural_land": [[10, 0], [20, 5], [30, 0], [0, 40]],
                      "agricultural_land:p2": [[10, 0], [20, 5], [30, 0], [0, 10]]}},
    }


def processed_of(data: dict) -> Processed:
    areas = pd.DataFrame({"plan": [a["plan"] for a in data["areas"]],
                          "area_id": [a["area_id"] for a in data["areas"]],
                          "agricultural_ha": [30e-4, 55e-4, 40e-4],
                          "share": [0.2, 55 / 80, 0.2]})
    return Processed(folder=Path("."), summary={}, areas=areas, scenario=data)


@pytest.fixture(scope="module")
def hand_js(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario-js") / SCENARIO_DATA
    path.write_text(scenario_page.data_script(scenario_page.page_data(None, processed_of(
        hand_made()))), encoding="utf-8")
    return path


def test_page_data_keeps_the_faces_inside_in_csr_form():
    data = scenario_page.page_data(None, processed_of(hand_made()))
    assert data["faces"] == {
        "area_m2": [100.0, 50.0, 200.0], "offsets": [0, 1, 3, 4], "areas": [0, 0, 1, 2],
        "agricultural_m2": {"agricultural_land": [10, 0, 20, 5, 0, 40],
                            "agricultural_land:p2": [10, 0, 20, 5, 0, 10]}}
    assert data["areas"]["plan"] == [0, 0, 1]
    assert data["areas"]["id"] == [A1, A2, A3]
    assert data["areas"]["share"] == [0.2, 55 / 80, 0.2]
    assert data["areas"]["effect_pp"] is None  # no effect columns in this areas table
    script = scenario_page.data_script(data)
    assert script.startswith("window.OPJORD_SCENARIO = {") and "</script" not in script


# (selection, role) -> development m², farmland m² per class, by hand from the table above
BY_HAND = [
    ([0], "agricultural_land", 150.0, [30.0, 5.0]),
    ([1], "agricultural_land", 50.0, [20.0, 5.0]),  # face 2 lies outside the boundary
    ([0, 1], "agricultural_land", 150.0, [30.0, 5.0]),  # area 1 lies in area 0 inside
    ([2], "agricultural_land", 200.0, [0.0, 40.0]),
    ([2], "agricultural_land:p2", 200.0, [0.0, 10.0]),
    ([0, 1, 2], "agricultural_land", 350.0, [30.0, 45.0]),
    ([], "agricultural_land", 0.0, [0.0, 0.0]),
]


def test_js_sums_equal_the_hand_made_figures(hand_js):
    out = run_js("""
        const m = S.prepare(data);
        return input.map(([sel, role]) => {
            const s = new Uint8Array(m.nAreas); sel.forEach(a => { s[a] = 1; });
            return S.figures(m, s, role);
        });""", [[sel, role] for sel, role, _, _ in BY_HAND], data_js=hand_js)
    base_share, base_ha = 35 / 150, 35e-4
    for (sel, _, dev, agri), f in zip(BY_HAND, out, strict=True):
        assert f["n_areas"] == len(sel)
        assert f["development_area_ha"] == pytest.approx(dev / 1e4, rel=1e-12)
        assert f["agricultural_ha_by_class"] == pytest.approx([a / 1e4 for a in agri], rel=1e-12)
        share = sum(agri) / dev if dev else None
        if share is None:
            assert f["share"] is None
            assert f["goal_met"] is None and f["share_change_pp"] is None
        else:
            assert f["share"] == pytest.approx(share, rel=1e-12)
            assert f["share_change_pp"] == pytest.approx(100 * (share - base_share), abs=1e-12)
            assert f["goal_met"] is (share < base_share)
        assert f["ratio_trap"] is (f["goal_met"] is True and sum(agri) / 1e4 > base_ha)
    assert [f["ratio_trap"] for f in out] == [False, False, False, True, False, True, False]


def test_js_sums_equal_pipeline_scenario_on_hand_made(hand_js):
    data = hand_made()
    for sel, role, _, _ in BY_HAND:
        plan = next(p["key"] for p in data["plans"] if p["layer"] == role)
        py = scenario.figures(data, plan, sel)
        js = run_js("""const m = S.prepare(data); const s = new Uint8Array(m.nAreas);
                       input[0].forEach(a => { s[a] = 1; }); return S.figures(m, s, input[1]);""",
                    [sel, role], data_js=hand_js)
        _same_figures(js, py)


def _same_figures(js: dict, py) -> None:
    assert js["development_area_ha"] == pytest.approx(py.development_area_ha, rel=1e-9, abs=1e-12)
    assert js["agricultural_ha"] == pytest.approx(py.agricultural_ha, rel=1e-9, abs=1e-12)
    if py.share is None:
        assert js["share"] is None and js["share_change_pp"] is None
    else:
        assert js["share"] == pytest.approx(py.share, abs=1e-9)
        assert js["share_change_pp"] == pytest.approx(py.share_change_pp, abs=1e-7)
    assert js["goal_met"] == py.goal_met
    assert js["ratio_trap"] == py.ratio_trap


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return demo_run(tmp_path_factory)


def test_js_sums_equal_pipeline_scenario_on_the_demo(demo):
    """40 random selections of areas from both plans, measured on a random plan's layer."""
    data = json.loads((demo / "data/processed/scenario.json").read_text(encoding="utf-8"))
    rng = random.Random(14)
    n = len(data["areas"])
    cases = [(sorted(rng.sample(range(n), rng.randint(0, n))), rng.choice(data["plans"])["key"])
             for _ in range(40)]
    cases += [(scenario.plan_areas(data, p["key"]), p["key"]) for p in data["plans"]]
    layer = {p["key"]: p["layer"] for p in data["plans"]}
    out = run_js("""
        const m = S.prepare(data);
        return input.map(([sel, role]) => {
            const s = new Uint8Array(m.nAreas); sel.forEach(a => { s[a] = 1; });
            return S.figures(m, s, role);
        });""", [[sel, layer[plan]] for sel, plan in cases],
        data_js=demo / "maps" / SCENARIO_DATA)
    table = scenario.table_of(data)
    for (sel, plan), js in zip(cases, out, strict=True):
        _same_figures(js, scenario.figures(data, plan, sel, table=table))
    for p, js in zip(data["plans"], out[-len(data["plans"]):], strict=True):  # presets
        assert js["share"] == pytest.approx(p["share"], abs=1e-12)
        assert js["agricultural_ha"] == pytest.approx(p["agricultural_ha"], rel=1e-12)


def test_index_links_the_scenario_page(demo):
    index = (demo / "maps/index.html").read_text(encoding="utf-8")
    assert f'href="{SCENARIO_PAGE}"' in index
    page = (demo / "maps" / SCENARIO_PAGE).read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert sources == ["vendor/leaflet/leaflet.js", SCENARIO_DATA, "assets/scenario.js"]
    # nothing loaded from another host (the credits' <a href> links are not requests)
    assert not re.search(r'src="(https?:)?//', page)
    assert not re.search(r'<link[^>]*href="(https?:)?//', page)
    assert "tile" not in page.lower()  # no basemap on this page


# ---------------------------------------------------------------------------- URL and CSV


def test_url_roundtrip_and_csv_with_awkward_ids(hand_js):
    out = run_js("""
        const A2 = input;
        const m = S.prepare(data);
        const s = new Uint8Array(m.nAreas); s[0] = 1; s[2] = 1;
        const hash = S.encodeSelection(m, s, "agricultural_land:p2");
        const back = S.decodeSelection(m, "#" + hash);
        const junk = S.decodeSelection(m, "#m=nope&p.p1=" + encodeURIComponent("X-9") + ",%E0"
                                          + "&x.p9=");
        const most = S.decodeSelection(m, "#x.p1=" + encodeURIComponent(A2));
        return {hash: hash, back: Array.from(back.selected), role: back.role,
                unknown: back.unknown, junk: junk.unknown, junkRole: junk.role,
                none: S.decodeSelection(m, ""), csv: S.toCsv(m, s),
                most: Array.from(most.selected)};""", A2, data_js=hand_js)
    assert out["hash"] == "m=agricultural_land%3Ap2&p.p1=A%2C1&x.p2="  # p2: all of it
    assert out["back"] == [1, 0, 1] and out["role"] == "agricultural_land:p2"
    assert out["unknown"] == []
    assert "<" not in out["hash"] and '"' not in out["hash"]  # ids are URI-encoded
    assert out["junk"] == ["p1:X-9", "p1:%E0", "p9:*"] and out["junkRole"] is None
    assert out["most"] == [1, 0, 0]
    assert out["none"] is None
    assert out["csv"] == f'plan,area_id\r\np1,"A,1"\r\np2,{A3}\r\n'
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    assert [(r["plan"], r["area_id"]) for r in rows] == [("p1", A1), ("p2", A3)]


def test_csv_quotes_quotes(hand_js):
    out = run_js("""const m = S.prepare(data); const s = new Uint8Array(m.nAreas); s[1] = 1;
                    return S.toCsv(m, s);""", None, data_js=hand_js)
    assert out == 'plan,area_id\r\np1,"B ""2"""\r\n'


# ---------------------------------------------------------------------------- texts


EDGES = [0.0, -0.0, 2.675, 0.05, -0.05, 0.04, -0.04, 0.95, 999.95, 1e-7, -1e-7, 1234567.891,
         0.2435, 0.28615938016123477, 1e21, 123456789012.345, 5e-324, 0.005, 99.95, 9.995,
         -15.089668370161146, 1e-5, 0.000125]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15,
                          max_value=1e15), min_size=1, max_size=40))
def test_js_number_formats_equal_fmt(values):
    values = EDGES + values
    out = run_js("""return input.map(v => [S.number(v, 0), S.number(v, 1), S.number(v, 2),
        S.number(v, 1, {sign: true}), S.hectares(v), S.percent(v), S.percentagePoints(v)]);""",
                 values)
    for v, got in zip(values, out, strict=True):
        if abs(v) > 1e6:  # not a share: fmt.percent's float of the scaled decimal rounds
            got[5] = fmt.percent(v)
        assert got == [fmt.number(v, 0), fmt.number(v, 1), fmt.number(v, 2),
                       fmt.number(v, 1, sign=True), fmt.hectares(v), fmt.percent(v),
                       fmt.percentage_points(v)], v


def test_js_formats_none_as_a_dash():
    assert run_js("return [S.number(null), S.hectares(null), S.percent(null), "
                  "S.percentagePoints(null)];") == ["–", "–", "–", "–"]


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group()), template)


@pytest.mark.parametrize("plan, base", [
    ((0.25, 1200.04, 4800.0), (0.4371, 1100.0, 2516.7)),
    ((0.00049, 0.05, 102.3), (0.0005, 0.0499, 99.9)),
    ((0.3, 5555.5, 2222.2), (0.9222, 2222.2, 8888.8)),  # the stand-ins' own values
])
def test_caveat_template_fills_to_the_contract_text(plan, base):
    p = {"label": "scenariot", "share": plan[0], "agricultural_ha": plan[1],
         "development_area_ha": plan[2]}
    b = {"label": "ÖP 2017", "share": base[0], "agricultural_ha": base[1],
         "development_area_ha": base[2]}
    values = {"plan": "scenariot", "base": "ÖP 2017", "share": fmt.percent(plan[0]),
              "base_share": fmt.percent(base[0]), "agricultural": fmt.hectares(plan[1]),
              "base_agricultural": fmt.hectares(base[1]),
              "increase": fmt.hectares(plan[1] - base[1]),
              "development": fmt.hectares(plan[2]), "base_development": fmt.hectares(base[2])}
    template = scenario_page.caveat_template()
    assert "{increase}" in template and "{share}" in template and "{base}" in template
    assert _fill(template, values) == ratio_trap_text(p, b)
