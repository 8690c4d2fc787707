"""The public web maps without a browser: files, no CDN, escaping, figures, size, atomicity."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import X0, Y0
from webmap_project import PAYLOADS, XSS_IMG, XSS_LABEL, XSS_SCRIPT, make_project, parse_sv

from pipeline import webmap
from pipeline.config import WebmapConfig, load_config
from pipeline.errors import InputError

CDN_HOSTS = ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "unpkg.com",
             "bootstrapcdn.com", "googleapis.com", "fontawesome", "gstatic.com")
PAGES = (webmap.INDEX, webmap.OVERVIEW, webmap.STATEMENT)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("webmap"))


def read(config, name: str) -> str:
    return (config.output.maps / name).read_text(encoding="utf-8")


class _Tables(HTMLParser):
    """Collects text of elements: table cells by row, and the <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.headers: list[str] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.headers if self._in_head else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_writes_pages_and_vendored_assets(mapped):
    maps = mapped.output.maps
    for name in PAGES:
        assert (maps / name).is_file(), name
    for name in ("leaflet.js", "leaflet.css", "LICENSE", "images/layers.png"):
        assert (maps / "vendor/leaflet" / name).is_file(), name
    assert (maps / "assets/opjord.css").is_file() and (maps / "assets/tabell.js").is_file()
    assert webmap.STATEMENT in read(mapped, webmap.INDEX)  # statement linked from the start page


def test_no_cdn_and_only_local_scripts_and_styles(mapped):
    for path in mapped.output.maps.rglob("*"):
        if path.suffix in (".html", ".css", ".js"):
            text = path.read_text(encoding="utf-8")
            for host in CDN_HOSTS:
                assert host not in text, (path.name, host)
    for name in PAGES:
        page = read(mapped, name)
        for src in re.findall(r"<script[^>]*\bsrc=[\"']?([^\"' >]+)", page):
            assert not re.match(r"(https?:)?//", src), (name, src)
        for href in re.findall(r"<link[^>]*\bhref=[\"']?([^\"' >]+)", page):
            assert not re.match(r"(https?:)?//", href), (name, href)
            assert (mapped.output.maps / href).is_file(), href


def test_pages_are_swedish_titled_and_zoomable(mapped):
    for name in PAGES:
        page = read(mapped, name)
        assert page.startswith("<!DOCTYPE html>\n<html lang=\"sv\">"), name
        assert re.search(r"<title>[^<]+</title>", page), name
        assert page.count("<h1>") == 1, name
        assert "user-scalable=no" not in page and "maximum-scale" not in page, name


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_never_reach_the_page_unescaped(mapped, payload):
    for name in PAGES:
        page = read(mapped, name)
        # Escaped to HTML text and to HTML-safe JSON: no raw "<" of a payload survives.
        assert payload not in page or "<" not in payload, (name, payload)
    assert "<script>alert(1)</script>" not in read(mapped, webmap.OVERVIEW)
    assert "<img src=x" not in read(mapped, webmap.OVERVIEW)


def test_payloads_show_as_text_in_the_table(mapped):
    parser = _Tables()
    parser.feed(read(mapped, webmap.OVERVIEW))
    names = {row[2] for row in parser.rows}
    types = {row[3] for row in parser.rows}
    assert XSS_IMG in names and XSS_SCRIPT in types
    assert any(row[0] == XSS_LABEL for row in parser.rows)


def test_table_figures_equal_areas_csv(mapped):
    csv = pd.read_csv(mapped.output.processed / "areas.csv", keep_default_na=False,
                      dtype={"area_id": str})
    parser = _Tables()
    parser.feed(read(mapped, webmap.OVERVIEW))
    assert parser.headers[:6] == ["Plan", "Område-id", "Namn", "Typ", "Areal (ha)",
                                  "Jordbruksmark (ha)"]
    assert len(parser.rows) == len(csv)
    by_id = {(r[0], r[1]): r for r in parser.rows}
    labels = {"op2017": "ÖP 2017", "op2025": XSS_LABEL}
    status = {"new": "ny", "kept": "kvar", "changed": "ändrad", "removed": "borttagen", "": "–"}
    for _, row in csv.iterrows():
        cells = by_id[(labels[row["plan"]], row["area_id"])]
        for i, col in enumerate(["area_ha", "agricultural_ha", "agricultural_ha_aker",
                                 "agricultural_ha_bete"], start=4):
            assert parse_sv(cells[i]) == pytest.approx(round(row[col], 1)), (row["area_id"], col)
        assert parse_sv(cells[8]) == pytest.approx(round(100 * row["share"], 1))
        assert cells[9] == status[row["status"]]


def test_figures_come_from_processed_outputs_not_geometry(mapped, tmp_path):
    """Another areas.csv changes the page: nothing is recomputed from the shapes.

    (summary.json records the sha256 of areas.csv, so the test records the edited one.)
    """
    csv_path = mapped.output.processed / "areas.csv"
    summary_path = mapped.output.processed / "summary.json"
    original, original_summary = csv_path.read_text(encoding="utf-8"), summary_path.read_bytes()
    try:
        csv = pd.read_csv(csv_path, keep_default_na=False, dtype={"area_id": str})
        csv.loc[(csv["plan"] == "op2017") & (csv["area_id"] == "A1"), "area_ha"] = 1234.56
        csv.to_csv(csv_path, index=False)
        summary = json.loads(original_summary)
        summary["files"]["areas.csv"]["sha256"] = hashlib.sha256(csv_path.read_bytes()).hexdigest()
        summary_path.write_text(json.dumps(summary), encoding="utf-8")
        webmap.build_maps(mapped)
        page = read(mapped, webmap.OVERVIEW)
        assert "1\u00a0234,6" in page  # table cell
        assert "1\\u00a0234,6\\u00a0ha" in page  # popup property, as JSON in the script
    finally:
        csv_path.write_text(original, encoding="utf-8")
        summary_path.write_bytes(original_summary)
        webmap.build_maps(mapped)


def test_headline_and_summary_state_summary_json(mapped):
    summary = json.loads((mapped.output.processed / "summary.json").read_text(encoding="utf-8"))
    page = read(mapped, webmap.OVERVIEW)
    for plan in summary["plans"].values():
        share = f"{100 * plan['share']:.1f}".replace(".", ",")
        assert f"{share}\u00a0%" in page
    pp = summary["comparisons"]["op2025"]["share_change_pp"]
    assert f"\u2212{abs(pp):.1f}".replace(".", ",") + " procentenheter" in page
    assert "målet är uppfyllt" in page
    assert "Demodata" in page and "Demodata" in read(mapped, webmap.INDEX)


def test_no_demo_banner_for_real_data(tmp_path):
    config = make_project(tmp_path, demo=False)
    assert "Demodata" not in read(config, webmap.OVERVIEW)


def test_basemaps(mapped, tmp_path, monkeypatch):
    assert "tile.openstreetmap.org" in read(mapped, webmap.OVERVIEW)  # the default
    assert "OpenStreetMaps bidragsgivare" in read(mapped, webmap.OVERVIEW)
    monkeypatch.setenv("OPJORD_TEST_LM_KEY", "nyckel/med tecken")
    for basemap, host in (("none", None), ("topowebb_nedtonad", "api.lantmateriet.se"),
                          ("topowebb", "api.lantmateriet.se")):
        config = replace(mapped, webmap=WebmapConfig(basemap=basemap,
                                                     api_key_env="OPJORD_TEST_LM_KEY"),
                         output=replace(mapped.output, maps=tmp_path / basemap))
        webmap.build_maps(config)
        page = read(config, webmap.OVERVIEW)
        assert webmap.tile_host(config) == host
        assert "tile.openstreetmap.org" not in page
        if host:
            assert f"/token/nyckel%2Fmed%20tecken/1.0.0/{basemap}/default/3857/" in page
            assert "{z}/{y}/{x}.png" in page and "Lantmäteriet" in page
        else:
            assert "L.tileLayer" not in page and "utan bakgrundskarta" in page


def test_lantmateriet_key_comes_from_the_environment_only(mapped, tmp_path, monkeypatch):
    config = replace(mapped, webmap=WebmapConfig(basemap="topowebb", api_key_env="OPJORD_LM"),
                     output=replace(mapped.output, maps=tmp_path / "maps"))
    monkeypatch.delenv("OPJORD_LM", raising=False)
    with pytest.raises(InputError, match=r"miljövariabeln OPJORD_LM är inte satt"):
        webmap.build_maps(config)
    assert not (tmp_path / "maps").exists()
    monkeypatch.setenv("OPJORD_LM", "  ")
    with pytest.raises(InputError, match="OPJORD_LM"):
        webmap.build_maps(config)


@pytest.mark.parametrize(("table", "message"), [
    ('basemap = "topowebb"\n', "api_key_env"),
    ('basemap = "topowebb_nedtonad"\napi_key_env = "abc-123-hemlig"\n',
     "inte ett namn på en miljövariabel"),
])
def test_lantmateriet_config_errors(project, table, message):
    path = project.with_name("fel.toml")
    path.write_text(project.read_text(encoding="utf-8") + "\n[webmap]\n" + table,
                    encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_config(path)


def test_every_table_row_links_to_its_area(mapped):
    page = read(mapped, webmap.OVERVIEW)
    csv = pd.read_csv(mapped.output.processed / "areas.csv", keep_default_na=False,
                      dtype={"area_id": str})
    links = re.findall(r'<a href="oversikt\.html#omrade=([^"]+)" data-omrade="([^"]+)">', page)
    assert len(links) == len(csv)
    assert ("op2017:A1", "op2017:A1") in links
    # An id with characters a URL cannot hold is percent-encoded in the link.
    assert any(href.startswith("op2025:%3C%2Fscript%3E") for href, _ in links)
    data = json.loads(re.search(r'<script type="application/json" id="opjord-data">(.*?)'
                                r"</script>", page, re.S).group(1))
    assert sorted((a["plan"], a["id"]) for a in data["areas"]) == sorted(
        zip(csv["plan"], csv["area_id"], strict=True))
    for a in data["areas"]:
        (south, west), (north, east) = a["bounds"]
        assert south <= a["point"][0] <= north and west <= a["point"][1] <= east


def test_credits_on_every_page(mapped):
    for name in PAGES:
        page = read(mapped, name)
        line = re.search(r'<p class="upphov">(.*?)</p>', page, re.S).group(1)
        for source in ("Jordbruksverket", "OpenStreetMap", "Testkommun"):
            assert source in line, (name, source)


def test_custom_basemap_attribution_is_escaped(tmp_path):
    config = make_project(tmp_path, webmap='\n[webmap]\nbasemap = "custom"\n'
                          'tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"\n'
                          'attribution = "<script>alert(1)</script> Exempel"\n')
    page = read(config, webmap.OVERVIEW)
    assert "tiles.example.org" in page and "<script>alert(1)" not in page
    assert webmap.tile_host(config) == "tiles.example.org"


def test_missing_analysis_is_an_input_error(project):
    config = load_config(project)
    with pytest.raises(InputError, match=r"kör `opjord analyse` först"):
        webmap.build_maps(config)
    assert not config.output.maps.exists()


def test_failed_build_leaves_previous_maps_intact(mapped, monkeypatch):
    maps = mapped.output.maps
    (maps / "README.md").write_text("# maps\n", encoding="utf-8")
    webmap.build_maps(mapped)
    assert (maps / "README.md").read_text(encoding="utf-8") == "# maps\n"  # kept on a swap
    before = {p.relative_to(maps): p.read_bytes() for p in maps.rglob("*") if p.is_file()}

    def broken(folder: Path) -> None:
        (folder / "half-written.html").write_text("…", encoding="utf-8")
        raise RuntimeError("disk full")

    monkeypatch.setattr(webmap, "_copy_assets", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        webmap.build_maps(mapped)
    after = {p.relative_to(maps): p.read_bytes() for p in maps.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in maps.parent.iterdir() if p.name.startswith(".maps.")]


def test_size_budget(mapped):
    total = sum(p.stat().st_size for p in mapped.output.maps.rglob("*") if p.is_file())
    assert total < 5_000_000


def test_web_features_simplify_round_and_whitelist():
    circle = shapely.Point(X0 + 500, Y0 + 500).buffer(300, quad_segs=256)  # 1 025 vertices
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"secret": ["x"]}, geometry=[circle], crs="EPSG:3006")
    data = webmap.web_features(gdf, [{"namn": "&lt;b&gt;"}], tolerance_m=2.0)
    feature = data["features"][0]
    assert feature["properties"] == {"namn": "&lt;b&gt;"}  # only what was given
    coords = np.array(feature["geometry"]["coordinates"][0])
    assert len(coords) < 200  # simplified in metres
    assert np.all(np.round(coords, 5) == coords)  # rounded to 5 decimals (≈ 1 m)
    assert 16 < coords[:, 0].min() < 17 and 58 < coords[:, 1].min() < 59  # lon/lat order
    back = gpd.GeoSeries([shapely.Polygon(coords)], crs="EPSG:4326").to_crs("EPSG:3006")
    assert back.area.iloc[0] == pytest.approx(circle.area, rel=0.01)


def test_config_tolerance_is_used(mapped, tmp_path, monkeypatch):
    config = replace(mapped, webmap=WebmapConfig(basemap="none", simplify_tolerance_m=7.5),
                     output=replace(mapped.output, maps=tmp_path / "maps"))
    seen = []
    real = webmap.web_features
    monkeypatch.setattr(webmap, "web_features",
                        lambda *a, **k: seen.append(k["tolerance_m"]) or real(*a, **k))
    webmap.build_maps(config)
    assert seen and set(seen) == {7.5}
