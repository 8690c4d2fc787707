"""The web maps in a real browser: Debian's Chromium driven by Playwright, network blocked.

Every request that is not `file:` is recorded; requests to the configured tile
host get a blank tile, all others are aborted. A missing Chromium or Playwright
fails the tests (never a skip): `bash scripts/install-test-deps` installs both.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import replace
from importlib import util
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd
import pytest
from webmap_project import XSS_IMG, XSS_LABEL, XSS_SCRIPT, XSS_TEMPLATE, make_project, parse_sv

from pipeline import webmap
from pipeline.config import WebmapConfig

CHROMIUM = os.environ.get("OPJORD_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def _require() -> None:
    problems = []
    if util.find_spec("playwright") is None:
        problems.append("the Python package `playwright` is not installed (pip install -e .[dev])")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    if problems:
        pytest.fail("browser tests cannot run: " + "; ".join(problems)
                    + " (bash scripts/install-test-deps installs both)")


@pytest.fixture(scope="module")
def browser():
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """The XSS project with the default basemap (OpenStreetMap)."""
    return make_project(tmp_path_factory.mktemp("webmap-browser"))


class Visit:
    """A page with every non-file request recorded, console errors and dialogs collected."""

    def __init__(self, browser, config, *, width: int = 1366, height: int = 900):
        self.tile_host = webmap.tile_host(config)
        self.maps = config.output.maps
        self.foreign: list[str] = []
        self.tiles = 0
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        elif self.tile_host and urlsplit(url).hostname == self.tile_host:
            self.tiles += 1
            route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)
        else:
            self.foreign.append(url)
            route.abort()

    def open(self, name: str):
        self.page.goto((self.maps / name).as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, mapped):
    visits = []

    def make(config=mapped, **kwargs) -> Visit:
        v = Visit(browser, config, **kwargs)
        visits.append(v)
        return v

    yield make
    for v in visits:
        v.close()


def _layer_keys(page) -> list[str]:
    return page.evaluate("Object.keys(window.opjord.layers)")


def _visible_paths(page, key: str) -> int:
    """The layer's shapes drawn in the view: SVG paths (development areas) or shapes on the
    context layers' canvas (`assets/kontext.js`)."""
    return page.evaluate(
        "k => Array.from(document.querySelectorAll('path.opjord-' + k))"
        ".filter(p => p.getBoundingClientRect().width > 0).length"
        " + window.opjordKontext.drawn(window.opjord.layers[k])", key)


@pytest.mark.parametrize("name", [webmap.INDEX, webmap.OVERVIEW, webmap.STATEMENT])
def test_loads_without_errors_or_foreign_requests(visit, name):
    v = visit()
    page = v.open(name)
    page.wait_for_timeout(300)
    assert v.errors == []
    assert v.foreign == []
    assert v.dialogs == []
    if name == webmap.OVERVIEW:
        assert v.tiles > 0  # only the configured tile host, and it was asked
        assert page.evaluate("typeof L") == "object"  # vendored Leaflet loaded from maps/


def test_layer_panel_names_every_layer_and_toggles_it(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    assert page.locator(".leaflet-control-layers").count() == 0  # no control over the map
    boxes = page.locator("#kartpanel input[data-lager]")
    names = [t.strip() for t in page.locator("#kartpanel .lagernamn").evaluate_all(
        "els => els.map(e => e.firstChild.textContent)")]
    expected = {"Kommungräns", "Utvecklingsområden ÖP 2017", f"Utvecklingsområden {XSS_LABEL}",
                "Jordbruksmark i utvecklingsområden: Åker", "All jordbruksmark nära "
                "utvecklingsområdena"}
    assert expected <= set(names)
    keys = _layer_keys(page)
    assert [boxes.nth(i).get_attribute("data-lager") for i in range(boxes.count())] == keys
    for i, key in enumerate(keys):
        if page.evaluate("k => window.opjord.layers[k].getLayers().length", key) == 0:
            continue  # e.g. no released farmland in the fixture: nothing to draw
        assert _visible_paths(page, key) > 0, key
        box = boxes.nth(i)
        box.focus()
        page.keyboard.press("Space")  # from the keyboard
        assert not box.is_checked()
        assert _visible_paths(page, key) == 0, key
        box.check()
        assert _visible_paths(page, key) > 0, key
    assert v.errors == []


def _area_points(config) -> dict[tuple[str, str], tuple[float, float]]:
    """A point inside each area and no other area of its plan (lat, lon), from analysis.gpkg."""
    areas = gpd.read_file(config.output.processed / "analysis.gpkg", layer="areas")
    own = []
    for i, row in areas.iterrows():
        others = areas[(areas["plan"] == row["plan"]) & (areas.index != i)]
        own.append(row.geometry.difference(others.union_all()) if len(others) else row.geometry)
    points = gpd.GeoSeries(own, crs=areas.crs).representative_point().to_crs("EPSG:4326")
    return {(p, a): (pt.y, pt.x) for p, a, pt in zip(areas["plan"], areas["area_id"], points,
                                                      strict=True)}


def test_popup_figures_equal_areas_csv(visit, mapped):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    csv = pd.read_csv(mapped.output.processed / "areas.csv", keep_default_na=False,
                      dtype={"area_id": str})
    points = _area_points(mapped)
    status = {"new": "ny", "kept": "kvar", "changed": "ändrad", "removed": "borttagen", "": "–"}
    for _, row in csv.iterrows():
        key = f"omraden-{row['plan']}"
        lat, lon = points[(row["plan"], row["area_id"])]
        page.evaluate("window.opjord.map.closePopup()")
        page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
        xy = page.evaluate("""([key, lat, lon]) => {
            const o = window.opjord;
            for (const [k, layer] of Object.entries(o.layers)) {
                if (k === key) { o.map.addLayer(layer); } else { o.map.removeLayer(layer); }
            }
            o.map.setView([lat, lon], 16, {animate: false});
            const p = o.map.latLngToContainerPoint([lat, lon]);
            const r = o.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""", [key, lat, lon])
        page.mouse.click(*xy)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=3000)
        cells = dict(zip([t.strip() for t in popup.locator("th").all_inner_texts()],
                         [t.strip() for t in popup.locator("td").all_inner_texts()], strict=True))
        assert cells["Område-id"] == row["area_id"]
        assert cells["Namn"] == row["name"]
        assert cells["Typ"] == row["type"]
        assert parse_sv(cells["Areal"]) == pytest.approx(round(row["area_ha"], 1))
        assert parse_sv(cells["Jordbruksmark"]) == pytest.approx(round(row["agricultural_ha"], 1))
        assert parse_sv(cells["varav Åker"]) == pytest.approx(round(row["agricultural_ha_aker"], 1))
        assert parse_sv(cells["varav Bete"]) == pytest.approx(round(row["agricultural_ha_bete"], 1))
        assert parse_sv(cells["Andel jordbruksmark"]) == pytest.approx(round(100 * row["share"],
                                                                             1))
        assert cells["Status mot ÖP 2017"] == status[row["status"]]
        assert cells["Areal"].endswith("\u00a0ha") and "," in cells["Areal"]
    assert v.dialogs == [] and v.errors == []
    assert page.evaluate("window.__xss") is None


def _axe(page) -> list[dict]:
    import axe_playwright_python

    page.add_script_tag(path=str(Path(axe_playwright_python.__file__).parent / "axe.min.js"))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return result


@pytest.mark.parametrize("name", [webmap.INDEX, webmap.OVERVIEW, webmap.STATEMENT])
def test_axe_no_serious_or_critical_violations(visit, name):
    v = visit()
    page = v.open(name)
    page.wait_for_timeout(200)
    violations = _axe(page)
    serious = [x for x in violations if x["impact"] in ("serious", "critical")]
    assert serious == []


def test_xss_payloads_show_as_text_and_execute_nothing(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    table = page.locator("#omraden")
    for payload in (XSS_IMG, XSS_TEMPLATE, XSS_SCRIPT):
        assert table.get_by_text(payload, exact=True).count() >= 1, payload
    # Hover and click every feature: tooltips and popups fill themselves with innerHTML.
    shown = page.evaluate("""() => {
        const out = [];
        const text = sel => Array.from(document.querySelectorAll(sel)).map(e => e.textContent);
        for (const group of Object.values(window.opjord.layers)) {
            group.eachLayer(gj => gj.eachLayer && gj.eachLayer(l => {
                const at = {latlng: l.getBounds().getCenter()};
                l.fire('mouseover', at, true);
                l.fire('click', at, true);
                out.push(...text('.leaflet-tooltip'), ...text('.leaflet-popup-content'));
                l.fire('mouseout', at, true);
            }));
        }
        return out;
    }""")
    for text in (XSS_IMG, XSS_TEMPLATE, XSS_SCRIPT, XSS_LABEL):
        assert any(text in t for t in shown), (text, shown)
    assert page.locator(".leaflet-pane img[src='x']").count() == 0
    assert page.evaluate("window.__xss") is None
    assert v.dialogs == [] and v.errors == []
    for name in (webmap.INDEX, webmap.STATEMENT):
        v.open(name)
        assert page.evaluate("window.__xss") is None
    assert v.dialogs == []


@pytest.mark.parametrize("size", [(375, 667), (1366, 900)])
def test_screenshots_with_headline_visible(visit, size):
    width, height = size
    v = visit(width=width, height=height)
    page = v.open(webmap.OVERVIEW)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"oversikt-{width}x{height}.png"))
    headline = page.locator(".nyckeltal").bounding_box()
    assert headline and headline["y"] >= 0 and headline["y"] + headline["height"] <= height
    assert page.locator(".demodata").is_visible()
    the_map = page.locator(".opjord-karta").bounding_box()
    assert the_map and the_map["y"] < height  # the map starts on the first screen
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll


def test_offline_without_basemap(visit, mapped, tmp_path):
    config = replace(mapped, webmap=WebmapConfig(basemap="none"),
                     output=replace(mapped.output, maps=tmp_path / "maps"))
    webmap.build_maps(config)
    v = visit(config)
    page = v.open(webmap.OVERVIEW)
    page.wait_for_timeout(300)
    assert v.foreign == [] and v.tiles == 0 and v.errors == []
    assert page.locator(".leaflet-tile").count() == 0
    for key in ("omraden-op2017", "omraden-op2025", "kommungrans", "jordbruk-0"):
        assert _visible_paths(page, key) > 0, key
    assert page.locator("#omraden tbody tr").count() == 5
    assert page.locator(".lagerlista li").count() == len(_layer_keys(page))


def test_table_sorts_by_number(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    page.locator("#omraden th button", has_text="Areal (ha)").click()
    values = [parse_sv(t) for t in page.locator("#omraden tbody td:nth-child(5)").all_inner_texts()]
    assert values == sorted(values)
    assert page.locator("#omraden th[aria-sort='ascending']").count() == 1
    page.locator("#omraden th button", has_text="Areal (ha)").click()
    values = [parse_sv(t) for t in page.locator("#omraden tbody td:nth-child(5)").all_inner_texts()]
    assert values == sorted(values, reverse=True)


# ---------------------------------------------------------------- compare, find, link, credits

AREA_ELEMENTS = """() => {
    // Each area's drawn element: its shape, or its ring when the shape is too small to see.
    const o = window.opjord;
    return Object.values(o.areas).map(a => {
        const ring = o.points[a.nr];
        const onMap = ring && o.map.hasLayer(ring);
        const el = onMap ? ring.getElement() : o.shapes[a.nr].getElement();
        const r = el.getBoundingClientRect();
        return {nr: a.nr, plan: a.plan, id: a.id, ring: !!onMap,
                box: {x: r.left, y: r.top, w: r.width, h: r.height}};
    });
}"""


def _hits(page) -> list[dict]:
    """Per area: the plans whose elements lie under the area's point, after scrolling the map
    into view (hit testing respects the compare view's clipping)."""
    page.locator(".opjord-karta").scroll_into_view_if_needed()
    return page.evaluate("""() => {
        const o = window.opjord, m = o.map, r = m.getContainer().getBoundingClientRect();
        return Object.values(o.areas).map(a => {
            const p = m.latLngToContainerPoint(a.point);
            const plans = new Set();
            for (const e of document.elementsFromPoint(r.left + p.x, r.top + p.y)) {
                const c = e.getAttribute('class') || '';
                const k = c.match(/opjord-(?:omraden|punkt)-([^\\s]+)/);
                if (k) { plans.add(k[1]); }
            }
            return {plan: a.plan, x: p.x / r.width, plans: Array.from(plans)};
        });
    }""")


def test_compare_draws_each_plan_on_its_own_side(visit):
    v = visit(width=1400, height=1000)
    page = v.open(webmap.OVERVIEW)
    page.locator("#jamfor-pa").click()
    assert page.locator("#jamfor-pa").get_attribute("aria-pressed") == "true"
    assert page.locator("#svepgrans").is_visible()
    hits = _hits(page)  # divider at 50 %: op2017 left, the later plan right
    assert {h["plan"] for h in hits} == {"op2017", "op2025"}
    for h in hits:
        if h["x"] < 0.49:
            assert "op2025" not in h["plans"], h
        elif h["x"] > 0.51:
            assert "op2017" not in h["plans"], h
        if (h["plan"] == "op2017") == (h["x"] < 0.49) and abs(h["x"] - 0.5) > 0.01:
            assert h["plan"] in h["plans"], h  # drawn on its own side
    left = [h for h in hits if h["x"] < 0.49]
    right = [h for h in hits if h["x"] > 0.51]
    assert left and right
    page.locator("#jamfor-vanster").click()  # the whole map: the baseline
    for h in _hits(page):
        assert "op2025" not in h["plans"]
        if h["plan"] == "op2017":
            assert "op2017" in h["plans"], h
    page.locator("#jamfor-hoger").click()
    for h in _hits(page):
        assert "op2017" not in h["plans"]
        if h["plan"] == "op2025":
            assert "op2025" in h["plans"], h
    page.locator("#jamfor-pa").click()  # off: both plans everywhere again
    assert page.locator("#svepgrans").is_hidden()
    assert all(h["plan"] in h["plans"] for h in _hits(page))
    assert v.errors == []


def test_compare_works_from_the_keyboard_and_says_what_it_shows(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    page.locator("#sok").focus()
    for _ in range(10):  # Tab to the compare button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "jamfor-pa":
            break
    assert page.evaluate("document.activeElement.id") == "jamfor-pa"
    page.keyboard.press("Enter")
    status = page.locator("#jamfor-status")
    assert "ÖP 2017" in status.inner_text() and XSS_LABEL in status.inner_text()
    assert "vänster" in status.inner_text()
    assert "Nyutpekad och frisläppt jordbruksmark visas på samma sida som" in status.inner_text()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "jamfor-vanster"
    page.keyboard.press("Enter")
    assert page.locator("#jamfor-grans").input_value() == "100"
    assert "Hela kartan visar ÖP 2017" in status.inner_text()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "jamfor-byt"
    page.keyboard.press("Enter")  # swap: the later plan is now left and fills the map
    assert f"Hela kartan visar {XSS_LABEL}" in status.inner_text()
    for h in _hits(page):
        assert "op2017" not in h["plans"]
    page.locator("#jamfor-grans").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.locator("#jamfor-grans").input_value() == "90"  # 100, at most 100, −5, −5
    assert v.errors == [] and page.evaluate("window.__xss") is None


def _popup_cells(page) -> dict[str, str]:
    # the newest popup: the one it replaced may still be fading out
    popup = page.locator(".leaflet-popup-content").last
    popup.wait_for(state="visible", timeout=3000)
    return dict(zip([t.strip() for t in popup.locator("th").all_inner_texts()],
                    [t.strip() for t in popup.locator("td").all_inner_texts()], strict=True))


def _area_on_screen(page, plan: str, area_id: str) -> bool:
    return page.evaluate("""([plan, id]) => {
        const o = window.opjord;
        const a = Object.values(o.areas).find(a => a.plan === plan && a.id === id);
        return o.map.getBounds().contains(a.bounds);
    }""", [plan, area_id])


def test_search_by_name_id_or_type_opens_the_facts(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    names = page.evaluate("Object.values(window.opjord.areas).map(a => [a.plan, a.id, a.name])")
    plan, area_id, name = next(n for n in names if n[2] == XSS_IMG)
    page.locator("#sok").fill("")
    page.locator("#sok").focus()
    page.keyboard.type(name[:12])
    hit = page.locator("#sok-traffar button").first
    assert name in hit.inner_text() and XSS_LABEL in hit.inner_text()
    assert "hittades" in page.locator("#sok-status").inner_text()
    page.keyboard.press("Enter")  # the first hit
    cells = _popup_cells(page)
    assert cells["Namn"] == name and cells["Område-id"] == area_id
    assert _area_on_screen(page, plan, area_id)
    assert f"omrade={plan}:" in page.evaluate("location.hash")
    page.locator("#sok").fill("A1")  # by id: both plans' A1
    assert page.locator("#sok-traffar button").count() == 2
    page.locator("#sok-traffar button").nth(0).press("Enter")
    assert _popup_cells(page)["Område-id"] == "A1"
    page.locator("#sok").fill(XSS_SCRIPT[:6])  # by type
    assert page.locator("#sok-traffar button").count() >= 1
    page.locator("#sok").fill("finns inte")
    assert page.locator("#sok-traffar button").count() == 0
    assert page.locator("#sok-status").inner_text() == "Inga områden hittades."
    assert v.errors == [] and v.dialogs == [] and page.evaluate("window.__xss") is None


def test_area_link_opens_the_map_on_the_area(visit, mapped):
    v = visit()
    v.page.goto((mapped.output.maps / webmap.OVERVIEW).as_uri() + "#omrade=op2017:A2")
    v.page.wait_for_load_state("load")
    page = v.page
    cells = _popup_cells(page)
    assert cells["Område-id"] == "A2" and cells["Plan"] == "ÖP 2017"
    assert _area_on_screen(page, "op2017", "A2")
    view = page.evaluate("location.hash")
    assert "omrade=op2017:A2" in view and "karta=" in view  # the view is kept in the URL
    # The view alone reopens the same map.
    zoom = page.evaluate("window.opjord.map.getZoom()")
    page.evaluate("window.opjord.map.setZoom(window.opjord.map.getZoom() - 1, {animate: false})")
    kept = page.evaluate("location.hash")
    assert f"karta={zoom - 1}/" in kept
    other = visit()
    other.page.goto((mapped.output.maps / webmap.OVERVIEW).as_uri() + "#" + kept.split("&")[-1])
    other.page.wait_for_load_state("load")
    assert other.page.evaluate("window.opjord.map.getZoom()") == zoom - 1
    # The link in the popup is the same link.
    href = page.locator(".leaflet-popup-content a").get_attribute("href")
    assert href == "oversikt.html#omrade=op2017:A2"
    assert v.errors == [] and other.errors == []


def test_table_link_and_row_open_the_map_on_the_area(visit, mapped):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    row = page.locator("#omraden tbody tr", has_text=XSS_IMG)
    link = row.locator("a[data-omrade]")
    href = link.get_attribute("href")
    assert href.startswith("oversikt.html#omrade=op2025:")
    assert "Visa på kartan" in link.inner_text()
    link.focus()
    page.keyboard.press("Enter")
    cells = _popup_cells(page)
    assert cells["Namn"] == XSS_IMG
    assert page.evaluate("document.activeElement.closest('.leaflet-popup') !== null")
    page.evaluate("window.opjord.map.closePopup()")
    page.locator("#omraden tbody tr", has_text="ÖP 2017").first.locator("td").nth(2).click()
    assert _popup_cells(page)["Plan"] == "ÖP 2017"
    # Every row has a link, each to its own area.
    refs = page.locator("#omraden tbody a[data-omrade]").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))")
    assert len(refs) == len(set(refs)) == page.locator("#omraden tbody tr").count()
    assert v.errors == [] and page.evaluate("window.__xss") is None


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_no_area_hidden_under_a_control_on_a_desktop(visit):
    v = visit(width=1400, height=1000)
    page = v.open(webmap.OVERVIEW)
    page.locator(".opjord-karta").scroll_into_view_if_needed()
    controls = page.locator(".leaflet-control").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.left, y: r.top, w: r.width, h: r.height}; })")
    assert len(controls) >= 3  # zoom, scale, attribution
    the_map = page.locator(".opjord-karta").bounding_box()
    panel = page.locator("#kartpanel").bounding_box()
    assert panel["x"] >= the_map["x"] + the_map["width"]  # the panel is beside the map
    # The map opens on the development areas: the closest zoom that shows them all.
    assert page.evaluate("""() => {
        const o = window.opjord;
        const b = L.latLngBounds(Object.values(o.areas).flatMap(a => a.bounds));
        return o.map.getBoundsZoom(b, false, L.point(72, 60)) === o.map.getZoom();
    }""")
    for area in page.evaluate(AREA_ELEMENTS):
        box = area["box"]
        assert box["w"] > 0 and box["h"] > 0, area
        assert the_map["x"] <= box["x"] and box["x"] + box["w"] <= the_map["x"] + the_map["width"]
        assert the_map["y"] <= box["y"] and box["y"] + box["h"] <= the_map["y"] + the_map["height"]
        for c in controls:
            assert not _overlap(box, c), (area, c)


@pytest.mark.parametrize("size", [(375, 667), (1400, 1000)])
def test_every_area_is_visible_at_the_initial_zoom(visit, size):
    v = visit(width=size[0], height=size[1])
    page = v.open(webmap.OVERVIEW)
    areas = page.evaluate(AREA_ELEMENTS)
    assert len(areas) == page.locator("#omraden tbody tr").count()
    the_map = page.locator(".opjord-karta").bounding_box()
    for area in areas:
        box = area["box"]
        assert box["w"] >= 10 and box["h"] >= 10, area  # a shape one can see, or a ring
        assert the_map["x"] <= box["x"] + box["w"] / 2 <= the_map["x"] + the_map["width"], area
        assert the_map["y"] <= box["y"] + box["h"] / 2 <= the_map["y"] + the_map["height"], area
    # Zoomed far out every area becomes a ring; zoomed back in, the rings go.
    page.evaluate("window.opjord.map.setZoom(6, {animate: false})")
    assert all(a["ring"] for a in page.evaluate(AREA_ELEMENTS))
    page.evaluate("window.opjord.map.setZoom(17, {animate: false})")
    assert page.locator(".opjord-punkt").count() == 0


def test_phone_headline_map_and_panel_drawer_by_keyboard(visit):
    v = visit(width=375, height=667)
    page = v.open(webmap.OVERVIEW)
    headline = page.locator(".nyckeltal").bounding_box()
    assert headline["y"] + headline["height"] <= 667
    button = page.locator("#panelknapp")
    panel = page.locator("#kartpanel")
    assert button.is_visible() and button.get_attribute("aria-expanded") == "false"
    assert panel.is_hidden()
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true" and panel.is_visible()
    page.keyboard.press("Tab")  # into the panel: the first layer's checkbox
    assert page.evaluate("document.activeElement.closest('#kartpanel') !== null")
    page.keyboard.press("Escape")
    assert panel.is_hidden() and button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "panelknapp"
    page.keyboard.press("Space")
    assert panel.is_visible()
    page.keyboard.press("Space")
    assert panel.is_hidden()
    the_map = page.locator(".opjord-karta")
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 667  # the whole map fits the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert v.errors == []


MID_WORD = """sel => {
    // Words (letters only, 4+) of the selected elements whose glyphs sit on more than one line.
    const out = [];
    for (const root of document.querySelectorAll(sel)) {
        const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            for (const m of n.textContent.matchAll(/\\p{L}{4,}/gu)) {
                const range = document.createRange();
                range.setStart(n, m.index);
                range.setEnd(n, m.index + m[0].length);
                const rects = Array.from(range.getClientRects());
                const tops = new Set(rects.map(r => Math.round(r.top)));
                if (tops.size > 1) { out.push(m[0]); }
            }
        }
    }
    return out;
}"""


def test_headline_and_table_have_no_mid_word_breaks_on_a_phone(visit):
    v = visit(width=375, height=667)
    page = v.open(webmap.OVERVIEW)
    assert page.evaluate(MID_WORD, "h1, .nyckeltal, #omraden, main h2, .verktyg") == []
    page.locator("#panelknapp").click()
    assert page.evaluate(MID_WORD, "#kartpanel") == []


def test_table_filters_and_sorts_from_the_keyboard(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    rows = page.locator("#omraden tbody tr")
    total = rows.count()
    page.locator("#filter").focus()
    page.keyboard.type("ÖP 2017")
    visible = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(visible) < total and all("ÖP 2017" in r.inner_text() for r in visible)
    assert page.locator("#filter-antal").inner_text() == f"Visar {len(visible)} av {total} områden."
    page.locator("#filter").fill("")
    assert all(r.is_visible() for r in rows.all())
    button = page.locator("#omraden th button", has_text="Andel jordbruksmark")
    button.focus()
    page.keyboard.press("Enter")
    th = page.locator("#omraden th[aria-sort]")
    assert th.count() == 1 and th.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Enter")
    assert th.get_attribute("aria-sort") == "descending"


def test_credits_name_every_source_the_config_uses(visit, mapped):
    v = visit()
    for name in (webmap.INDEX, webmap.OVERVIEW):
        page = v.open(name)
        line = page.locator(".upphov").inner_text()
        assert "Jordbruksverket" in line
        assert "OpenStreetMap" in line  # the default basemap
        assert "Testkommun" in line  # the municipality, for its plans
        assert ("Naturvårdsverket" in line) == (mapped.landcover is not None)
    page = v.open(webmap.OVERVIEW)
    panel = page.locator("#kartpanel .kallor").inner_text()
    assert "Jordbruksverket" in panel and "OpenStreetMap" in panel
    assert page.locator(".leaflet-control-attribution").inner_text().count("OpenStreetMap") == 1


def test_lantmateriet_basemap_only_asks_its_tile_host(visit, mapped, tmp_path, monkeypatch):
    monkeypatch.setenv("OPJORD_TEST_LM_KEY", "test-nyckel-123")
    config = replace(mapped, webmap=WebmapConfig(basemap="topowebb_nedtonad",
                                                 api_key_env="OPJORD_TEST_LM_KEY"),
                     output=replace(mapped.output, maps=tmp_path / "maps"))
    webmap.build_maps(config)
    v = visit(config)
    page = v.open(webmap.OVERVIEW)
    page.wait_for_timeout(300)
    assert v.tile_host == "api.lantmateriet.se"
    assert v.tiles > 0 and v.foreign == [] and v.errors == []
    assert "Lantmäteriet" in page.locator(".leaflet-control-attribution").inner_text()
    assert "Lantmäteriet" in page.locator(".upphov").inner_text()


@pytest.mark.parametrize("state", ["compare", "phone-panel", "search"])
def test_axe_with_the_new_controls_in_use(visit, state):
    v = visit(**({"width": 375, "height": 667} if state == "phone-panel" else {}))
    page = v.open(webmap.OVERVIEW)
    if state == "compare":
        page.locator("#jamfor-pa").click()
    elif state == "phone-panel":
        page.locator("#panelknapp").click()
    else:
        page.locator("#sok").fill("A")
        page.locator("#sok-traffar button").first.click()
    serious = [x for x in _axe(page) if x["impact"] in ("serious", "critical")]
    assert serious == []


def test_context_layers_open_offline_from_file_and_load_finer_tiles_as_scripts(visit, mapped,
                                                                              tmp_path):
    """The canvas layers: drawn from file:// with the network off, decoded as Python does,
    finer tiles added as <script> (never fetch/XHR) when zooming in, tooltips as text."""
    import json

    from pipeline.webdata import decode_tile

    config = replace(mapped, webmap=WebmapConfig(basemap="none"),
                     output=replace(mapped.output, maps=tmp_path / "maps"))
    webmap.build_maps(config)
    v = visit(config)
    kinds: list[tuple[str, str]] = []
    v.page.on("request", lambda r: kinds.append((r.url, r.resource_type)))
    page = v.open(webmap.OVERVIEW)
    assert page.get_attribute("html", "data-karta-ritad") == "1"
    assert page.evaluate("performance.getEntriesByName('opjord-ritad').length") == 1
    ids = page.evaluate("window.opjordKontext.ids()")
    assert {"omgivning", "jordbruk-0", "kommungrans"} <= set(ids)
    for key in ids:
        if page.evaluate("k => window.opjord.layers[k].getLayers().length", key):
            assert _visible_paths(page, key) > 0, key
    painted = page.evaluate("""() => {
        const c = document.querySelector('.leaflet-opjordKontext-pane canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } }
        return n;
    }""")
    assert painted > 1000  # the canvas really has the shapes on it
    # The page's decoder gives the vertices Python's gives (the boundary, as now shown).
    (shown_tile,) = page.evaluate("window.opjordKontext.shown()")["kommungrans"]
    level, tile = shown_tile.split("/")
    text = (config.output.maps / "data" / f"n{level}-{tile}.js").read_text(encoding="utf-8")
    parts = json.loads(text[text.index("{"):text.rindex("}") + 1])
    shapes, _ = decode_tile(json.dumps(parts[str(ids["kommungrans"])]))
    expected = [c for poly in shapes[0].geoms for x, y in poly.exterior.coords[:-1]
                for c in (y, x)]
    got = page.evaluate("""() => window.opjord.layers['kommungrans'].getLayers()[0]
        .getLatLngs().flat(2).flatMap(p => [p.lat, p.lng])""")
    assert got == pytest.approx(expected, abs=1e-9)
    # Zoom in on the farmland: the finest level's tiles arrive as scripts.
    lat, lon = next(iter(_area_points(config).values()))
    page.evaluate("([lat, lon]) => window.opjord.map.setView([lat, lon], 15, {animate: false})",
                  [lat, lon])
    page.wait_for_function("window.opjordKontext.pending() === 0", polling=50)
    shown = page.evaluate("window.opjordKontext.shown()")
    assert shown["omgivning"] and all(t.startswith("2/") for t in shown["omgivning"])
    assert _visible_paths(page, "omgivning") > 0
    data = [(u, k) for u, k in kinds if "/data/" in u]
    assert any("/data/n2-" in u for u, _ in data)
    assert all(u.startswith("file:") and k == "script" for u, k in data), data
    assert not [k for _, k in kinds if k in ("fetch", "xhr")]
    # A canvas shape's tooltip, as text.
    tip = page.evaluate("""() => {
        const l = window.opjord.layers['omgivning'].getLayers()[0];
        l.fire('mouseover', {latlng: l.getBounds().getCenter()}, true);
        const t = document.querySelector('.leaflet-tooltip');
        return t ? t.textContent : null;
    }""")
    assert tip and "Jordbruksmark" in tip and ("Åker" in tip or "Bete" in tip)
    assert v.foreign == [] and v.errors == [] and v.dialogs == []


def test_notebook_map_draws_the_context_layers_inline(visit, mapped, tmp_path):
    """`overview_map` (the notebook's): Leaflet, kontext.js and every tile inline."""
    page_file = tmp_path / "notebook-map.html"
    page_file.write_text(webmap.overview_map(mapped).get_root().render(), encoding="utf-8")
    v = visit()
    page = v.page
    missing: list[str] = []
    page.on("requestfailed", lambda r: missing.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_function("document.documentElement.getAttribute('data-karta-ritad')",
                           polling=50)
    for key in ("omgivning", "jordbruk-0", "kommungrans", "omraden-op2017"):
        assert _visible_paths(page, key) > 0, key
    assert missing == []
    assert v.errors == [] and v.foreign == []


ROWS_JS = """() => Array.from(document.querySelectorAll('#omraden tbody tr')).map(tr => [
    tr.getAttribute('data-omrade'),
    Array.from(tr.cells).map(td => [td.className, td.getAttribute('data-sort'), td.textContent]),
    Array.from(tr.querySelectorAll('a')).map(a => [a.getAttribute('href'),
                                                   a.getAttribute('data-omrade')])])"""


def test_a_large_table_filled_from_data_equals_the_html_table(visit, mapped, tmp_path,
                                                              monkeypatch):
    """Above `TABLE_INLINE_ROWS` the rows reach the page as data and assets/tabell.js fills
    them after the first frame: the same rows, cells, sort values and links as the HTML
    table (the XSS payloads as text), still sortable and filterable."""
    v = visit()
    page = v.open(webmap.OVERVIEW)
    static = page.evaluate(ROWS_JS)
    assert page.locator("#tabell-rader").count() == 0
    monkeypatch.setattr(webmap, "TABLE_INLINE_ROWS", 0)
    deferred = make_project(tmp_path / "stor")
    v2 = visit(deferred)
    page = v2.open(webmap.OVERVIEW)
    page.wait_for_selector("#omraden[data-fylld]", state="attached")
    assert v2.errors == [] and v2.foreign == []
    filled = page.evaluate(ROWS_JS)
    assert len(filled) == len(static) == 5
    assert filled == static
    assert page.locator("#omraden tbody", has_text=XSS_IMG).count() == 1
    page.locator("#filter").fill("ÖP 2017")
    shown = [r for r in page.locator("#omraden tbody tr").all() if r.is_visible()]
    assert 0 < len(shown) < 5
    page.locator("#filter").fill("")
    page.locator("#omraden th button", has_text="Areal (ha)").click()
    values = [parse_sv(t) for t in page.locator("#omraden tbody td:nth-child(5)").all_inner_texts()]
    assert values == sorted(values, key=lambda x: -float("inf") if x is None else x)
