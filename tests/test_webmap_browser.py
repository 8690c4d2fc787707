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


def test_layers_named_in_control_render_and_toggle(visit):
    v = visit()
    page = v.open(webmap.OVERVIEW)
    labels = page.locator(".leaflet-control-layers-overlays label")
    names = [t.strip() for t in labels.all_inner_texts()]
    assert names == [t.strip() for t in page.locator(".teckenforklaring li > span").evaluate_all(
        "els => els.map(e => e.firstChild.textContent)")]  # legend and control agree
    expected = {"Kommungräns", "Utvecklingsområden ÖP 2017", f"Utvecklingsområden {XSS_LABEL}",
                "Jordbruksmark i utvecklingsområden: Åker", "All jordbruksmark nära "
                "utvecklingsområdena"}
    assert expected <= set(names)
    keys = _layer_keys(page)
    assert len(keys) == len(names)
    for i, key in enumerate(keys):
        if page.evaluate("k => window.opjord.layers[k].getLayers().length", key) == 0:
            continue  # e.g. no released farmland in the fixture: nothing to draw
        assert _visible_paths(page, key) > 0, key
        box = labels.nth(i).locator("input")
        box.uncheck()
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
    page.evaluate("window.opjord.control.collapse()")
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
    assert page.locator(".teckenforklaring li").count() == len(_layer_keys(page))


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
