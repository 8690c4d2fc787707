"""The scenario page in a real browser (Debian's Chromium through Playwright, network off).

On the demo: ticking areas gives the figures of `pipeline.scenario.figures` for the same
selection, shown in Swedish; the URL restores a selection; the CSV holds it; the map
toggles areas; keyboard alone works; axe-core finds nothing serious; 375 × 667 works; no
request leaves the machine. A missing browser fails the tests (never a skip).
"""

from __future__ import annotations

import csv
import io
import json
import random

import pandas as pd
import pytest
from scenario_project import demo_run
from test_webmap_browser import ARTIFACTS, Visit, _area_points, _axe, browser  # noqa: F401
from webmap_project import XSS_ID, XSS_IMG, XSS_SCRIPT, XSS_TEMPLATE, make_project

from pipeline import fmt, scenario
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.results import SCENARIO_PAGE, goal_text, ratio_trap_text


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return load_config(demo_run(tmp_path_factory) / "opjord.toml")


@pytest.fixture(scope="module")
def data(demo) -> dict:
    return json.loads((demo.output.processed / "scenario.json").read_text(encoding="utf-8"))


@pytest.fixture
def visit(browser, demo):  # noqa: F811
    visits = []

    def make(config=demo, **kwargs) -> Visit:
        v = Visit(browser, config, **kwargs)
        visits.append(v)
        return v

    yield make
    for v in visits:
        assert v.foreign == [], v.foreign  # no request ever leaves the machine
        assert v.tiles == 0  # no basemap on this page
        assert v.errors == [] and v.dialogs == []
        v.close()


def _ready(page):
    page.wait_for_function("window.opjordScenario !== undefined")
    return page


def _open(v: Visit, fragment: str = ""):
    page = v.page
    page.goto((v.maps / SCENARIO_PAGE).as_uri() + fragment)
    page.wait_for_load_state("load")
    return _ready(page)


def _shown(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(Array.from(
        document.querySelectorAll('.scenario-resultat [data-falt]')).map(
            e => [e.getAttribute('data-falt'), e.textContent.trim()]))""")


def _expected_text(f) -> dict[str, str]:
    return {"n": fmt.number(len(f.areas), 0), "share": fmt.percent(f.share),
            "agricultural": fmt.hectares(f.agricultural_ha),
            "development": fmt.hectares(f.development_area_ha),
            "change": fmt.percentage_points(f.share_change_pp)}


def _same(js: dict, f) -> None:
    assert js["development_area_ha"] == pytest.approx(f.development_area_ha, rel=1e-9)
    assert js["agricultural_ha"] == pytest.approx(f.agricultural_ha, rel=1e-9)
    assert js["share"] == pytest.approx(f.share, abs=1e-9)
    assert js["share_change_pp"] == pytest.approx(f.share_change_pp, abs=1e-7)
    assert js["goal_met"] == f.goal_met and js["ratio_trap"] == f.ratio_trap


def _checked(page) -> list[int]:
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '#scenario-tabell input[type=checkbox]')).filter(b => b.checked).map(
            b => +b.getAttribute('data-n'))""")


def test_opens_offline_on_the_later_plan(visit, demo, data):
    v = visit()
    page = _open(v)
    f = scenario.figures(data, "op2025", scenario.plan_areas(data, "op2025"))
    assert _shown(page) == _expected_text(f)
    summary = json.loads((demo.output.processed / "summary.json").read_text(encoding="utf-8"))
    assert fmt.percent(summary["plans"]["op2025"]["share"]) == _shown(page)["share"]
    assert page.locator("#scenario-mal .text").inner_text() == goal_text(True, reason=True)
    assert page.locator("#scenario-falla").is_hidden()  # the demo's plan is no ratio trap
    assert _checked(page) == scenario.plan_areas(data, "op2025")
    assert page.evaluate("typeof L") == "object"  # the vendored Leaflet, from maps/
    # every area's own figures in the table, as areas.csv has them
    rows = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#scenario-tabell tbody tr')).map(r => Array.from(r.cells).slice(1).map(
            c => c.textContent))""")
    areas = pd.read_csv(demo.output.processed / "areas.csv", keep_default_na=False,
                        dtype={"area_id": str})
    labels = {p["key"]: p["label"] for p in data["plans"]}
    assert len(rows) == len(areas)
    for row, (_, a) in zip(rows, areas.iterrows(), strict=True):
        assert row == [labels[a["plan"]], a["area_id"], a["name"], a["type"],
                       fmt.number(a["area_ha"]), fmt.number(a["agricultural_ha"]),
                       fmt.percent(a["share"]), fmt.number(a["share_effect_pp"], sign=True)]


def test_ticking_random_selections_gives_the_python_figures(visit, demo, data, tmp_path):
    v = visit()
    page = _open(v)
    page.select_option("#filter-plan", "")  # every plan's areas
    rng = random.Random(3)
    n = len(data["areas"])
    for size in (1, 7, 30, n - 5):
        chosen = sorted(rng.sample(range(n), size))
        page.click("#scenario-inga")
        for a in chosen:
            page.check(f"#omr-{a}")
        f = scenario.figures(data, "op2025", chosen)
        _same(page.evaluate("window.opjordScenario.figures()"), f)
        assert _shown(page) == _expected_text(f)
        verdict = goal_text(f.goal_met, reason=True) if f.goal_met is not None else goal_text(None)
        assert page.locator("#scenario-mal .text").inner_text() == verdict
        with page.expect_download() as download:
            page.click("#scenario-csv")
        path = tmp_path / f"urval-{size}.csv"
        download.value.save_as(path)
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert [(r["plan"], r["area_id"]) for r in rows] == [
            (data["areas"][a]["plan"], data["areas"][a]["area_id"]) for a in chosen]
        # `opjord scenario` reads the downloaded file and gives the same figures
        out = tmp_path / f"urval-{size}.json"
        assert main(["scenario", "--config", str(demo.path), "--plan", "op2025", "--areas",
                     str(path), "--json", str(out), "-q"]) == 0
        cli = json.loads(out.read_text(encoding="utf-8"))
        assert cli["areas"] == chosen
        js = page.evaluate("window.opjordScenario.figures()")
        for key in ("development_area_ha", "agricultural_ha", "share", "share_change_pp"):
            assert js[key] == pytest.approx(cli[key], rel=1e-9, abs=1e-12), key
        assert (js["goal_met"], js["ratio_trap"]) == (cli["goal_met"], cli["ratio_trap"])


def test_presets_and_select_all_of_a_type(visit, data):
    v = visit()
    page = _open(v)
    page.click("[data-forval='op2017']")
    base = scenario.figures(data, "op2017", scenario.plan_areas(data, "op2017"))
    assert _shown(page) == _expected_text(base)
    assert page.locator("#scenario-mal .text").inner_text() == goal_text(False, reason=True)
    page.click("#scenario-inga")
    page.select_option("#filter-plan", "op2025")
    page.select_option("#filter-typ", "bostäder")
    page.click("#markera-visade")
    chosen = [i for i, a in enumerate(data["areas"])
              if a["plan"] == "op2025" and a["type"] == "bostäder"]
    assert chosen and _checked(page) == chosen
    assert page.locator("#scenario-tabell tbody tr:not([hidden])").count() == len(chosen)
    _same(page.evaluate("window.opjordScenario.figures()"),
          scenario.figures(data, "op2025", chosen))
    page.click("#avmarkera-visade")
    assert _checked(page) == [] and _shown(page)["share"] == "–"
    assert page.locator("#scenario-mal .text").inner_text() == goal_text(None)


def test_ratio_trap_caveat_when_both_plans_are_ticked(visit, data):
    v = visit()
    page = _open(v)
    page.select_option("#filter-plan", "")
    page.click("#markera-visade")  # every area of both plans
    f = scenario.figures(data, "op2025", range(len(data["areas"])))
    assert f.ratio_trap  # share below ÖP 2017's, more farmland than ÖP 2017
    base = next(p for p in data["plans"] if p["key"] == data["baseline"])
    expected = ratio_trap_text({"label": "scenariot", "share": f.share,
                                "agricultural_ha": f.agricultural_ha,
                                "development_area_ha": f.development_area_ha}, base)
    assert page.locator("#scenario-falla").is_visible()
    assert page.locator("#scenario-falla .text").inner_text() == expected
    page.wait_for_function("document.getElementById('scenario-meddelande').textContent !== ''")
    assert expected in page.locator("#scenario-meddelande").inner_text()


def test_the_url_restores_the_selection(visit, data):
    v = visit()
    page = _open(v)
    page.select_option("#filter-plan", "")
    page.click("#scenario-inga")
    chosen = [0, 3, 41, 50, 83]
    for a in chosen:
        page.check(f"#omr-{a}")
    # the address follows a moment after the last tick
    page.wait_for_function("""() => { const o = window.opjordScenario;
        return location.hash === '#' + OpjordScenario.encodeSelection(o.model, o.state.selected,
                                                                     o.state.role); }""")
    url = page.url
    assert "#" in url and page.get_attribute("#scenario-lank", "href") == url[url.index("#"):]
    shown = _shown(page)
    other = visit()
    page2 = other.page
    page2.goto(url)
    _ready(page2)
    assert _checked(page2) == chosen
    assert _shown(page2) == shown
    assert page2.locator("#scenario-okanda").is_hidden()
    # an id that is not in the data is named, the rest still restored
    third = visit().page
    third.goto(url + ",U-999")
    _ready(third)
    assert _checked(third) == chosen
    assert "U-999" in third.locator("#scenario-okanda").inner_text()
    # a link edited in the open page (hashchange) is followed too
    page2.goto(url.split("#")[0] + "#p.op2017=" + data["areas"][5]["area_id"])
    page2.wait_for_function("document.querySelectorAll('#scenario-tabell input:checked')"
                            ".length === 1")
    assert _checked(page2) == [5]


def test_clicking_an_area_on_the_map_ticks_it(visit, demo, data):
    v = visit()
    page = _open(v)
    points = _area_points(demo)
    number = {(a["plan"], a["area_id"]): i for i, a in enumerate(data["areas"])}
    for key in (("op2025", data["areas"][60]["area_id"]), ("op2025", data["areas"][70]["area_id"])):
        a = number[key]
        before = page.is_checked(f"#omr-{a}")
        lat, lon = points[key]
        page.locator("#karta-rubrik").scroll_into_view_if_needed()
        xy = page.evaluate("""([lat, lon]) => {
            const m = window.opjordScenarioMap.map;
            m.setView([lat, lon], 15, {animate: false});
            const p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""", [lat, lon])
        page.mouse.click(*xy)
        assert page.is_checked(f"#omr-{a}") is (not before)
        chosen = _checked(page)
        _same(page.evaluate("window.opjordScenario.figures()"),
              scenario.figures(data, "op2025", chosen))


def test_keyboard_only(visit, data):
    v = visit()
    page = _open(v)

    def tab_to(selector: str, limit: int = 300) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("[data-forval='op2017']")
    page.keyboard.press("Enter")
    base = scenario.figures(data, "op2017", scenario.plan_areas(data, "op2017"))
    assert _shown(page) == _expected_text(base)
    tab_to("#omr-0")  # the first area of ÖP 2017, shown by the preset's filter
    focused = page.locator("#omr-0").bounding_box()
    panel = page.locator(".scenario-resultat").bounding_box()
    assert focused["y"] >= panel["y"] + panel["height"]  # not hidden under the sticky figures
    page.keyboard.press("Space")
    chosen = scenario.plan_areas(data, "op2017")[1:]
    f = scenario.figures(data, "op2017", chosen)
    assert _shown(page) == _expected_text(f)
    # the new figures are announced once the ticking pauses
    page.wait_for_function(
        "s => document.getElementById('scenario-meddelande').textContent.includes(s)",
        arg=fmt.percent(f.share))
    live = page.locator("#scenario-meddelande")
    assert live.get_attribute("aria-live") == "polite"
    assert fmt.hectares(f.agricultural_ha) in live.inner_text()
    tab_to("#filter-typ")
    page.keyboard.press("ArrowDown")  # the first type
    tab_to("#markera-visade")
    page.keyboard.press("Enter")
    assert len(_checked(page)) > len(chosen) - 1


def test_axe_finds_nothing_serious(visit):
    v = visit()
    page = _open(v)
    page.select_option("#filter-plan", "")
    assert v.errors == []
    violations = _axe(page)
    v.errors.clear()  # axe reads the style sheets with XMLHttpRequest, refused on file://
    assert [x for x in violations if x["impact"] in ("serious", "critical")] == []


@pytest.mark.parametrize("size", [(375, 667), (1366, 900)])
def test_small_and_large_screens(visit, size):
    width, height = size
    v = visit(width=width, height=height)
    page = _open(v)
    page.wait_for_timeout(200)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"scenario-{width}x{height}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    box = page.locator(".scenario-resultat [data-falt='share']").bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height  # on the first screen
    page.locator("#scenario-tabell").scroll_into_view_if_needed()
    if width < 900:  # the share stays in sight while ticking far down the table
        bar = page.locator(".scenario-kort").bounding_box()
        assert bar and bar["y"] + bar["height"] <= height + 1
        assert page.locator(".scenario-kort [data-falt='share']").inner_text() == \
            page.locator(".scenario-resultat [data-falt='share']").inner_text()
    page.locator("#omr-70").check()  # a checkbox is reachable and usable at this size
    assert page.is_checked("#omr-70")


def test_payloads_stay_text(visit, tmp_path):
    config = make_project(tmp_path / "xss")
    v = visit(config)
    page = _open(v)
    page.select_option("#filter-plan", "")
    table = page.locator("#scenario-tabell")
    for payload in (XSS_IMG, XSS_TEMPLATE, XSS_ID):
        assert table.get_by_text(payload, exact=True).count() >= 1, payload
    assert page.locator("#filter-typ option", has_text=XSS_SCRIPT).count() == 1
    page.click("#markera-visade")
    url = page.evaluate("window.opjordScenario.url()")
    page.goto(url)
    page.reload()
    _ready(page)
    assert len(_checked(page)) == page.locator("#scenario-tabell tbody tr").count()
    assert page.evaluate("window.__xss") is None
