"""`opjord fetch jordbruksblock` against a real WFS 2.0 server (MapServer via CGI).

The server (`tests/wfs_support.py`) runs Debian's `mapserv` per request behind a
stdlib HTTP server on 127.0.0.1, serving a fixture GeoPackage with the field-block
schema; a fault-injecting proxy sits in front. A missing `mapserv` fails the tests
(never a skip): `bash scripts/install-test-deps` installs it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box
from wfs_support import (
    MAPSERV,
    Fault,
    FaultProxy,
    LocalWfs,
    MapServerCGI,
    is_page,
    params_of,
    write_blocks_gpkg,
    write_mapfile,
)

from pipeline import fetch
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.fetch.http import retry_after_seconds
from pipeline.files import sha256_file

PAGE = 7  # 25 blocks per year → 4 pages; 50 in all years → 8 pages
ALL = "560000,6490000,580000,6500000"  # covers every fixture block


@pytest.fixture(scope="module")
def wfs(tmp_path_factory) -> LocalWfs:
    if MAPSERV is None:
        pytest.fail("mapserv not found: install the Debian packages cgi-mapserver and "
                    "mapserver-bin (bash scripts/install-test-deps) to run the WFS tests")
    folder = tmp_path_factory.mktemp("wfs")
    gpkg = folder / "blocks.gpkg"
    blocks = write_blocks_gpkg(gpkg)
    with pytest.MonkeyPatch.context() as mp, MapServerCGI(*write_mapfile(folder, gpkg)) as server, \
            FaultProxy(server.url) as proxy:
        for name in ("no_proxy", "NO_PROXY"):  # a CI machine's HTTP proxy must not see 127.0.0.1
            mp.setenv(name, "127.0.0.1,localhost")
        yield LocalWfs(server=server, proxy=proxy, blocks=blocks, folder=folder)


@pytest.fixture
def proxy(wfs: LocalWfs) -> FaultProxy:
    wfs.proxy.reset()
    yield wfs.proxy
    wfs.proxy.reset()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with opjord.toml whose [boundary] is a triangle in EPSG:3010."""
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    triangle = Polygon([(568_000, 6_496_000), (569_700, 6_496_000), (568_000, 6_497_000)])
    boundary = gpd.GeoDataFrame({"kommunkod": ["0581"]}, geometry=[triangle], crs="EPSG:3006")
    boundary.to_crs("EPSG:3010").to_file(raw / "kommungrans.gpkg", layer="kommungrans")
    (raw / "placeholder.gpkg").write_bytes(b"")  # the config wants existing paths
    (tmp_path / "opjord.toml").write_text(
        '[project]\nkommun = "Norrköping"\nkommunkod = "0581"\n\n'
        '[boundary]\npath = "data/raw/kommungrans.gpkg"\n\n'
        '[agricultural_land]\npath = "data/raw/placeholder.gpkg"\n\n'
        '[[plans]]\nkey = "op2017"\nlabel = "ÖP 2017"\npath = "data/raw/kommungrans.gpkg"\n'
        "baseline = true\n", encoding="utf-8")
    return tmp_path


def boundary_3006(project: Path):
    return gpd.read_file(project / "data/raw/kommungrans.gpkg").to_crs(3006).union_all()


def parse(*argv: str, sleeps: list[float] | None = None) -> fetch.FetchOptions:
    """Parse `opjord fetch …` arguments with the real parser; no sleeping on retries."""
    parser = argparse.ArgumentParser(prog="opjord fetch")
    fetch.configure_parser(parser)
    args = parser.parse_args(["jordbruksblock", *argv])
    # test hook: record waits instead of sleeping
    return fetch.options_from_args(args, sleep=(sleeps if sleeps is not None else []).append)


def fetch_args(url: str, *argv: str, sleeps: list[float] | None = None) -> fetch.FetchOptions:
    return parse("--url", url, "--page-size", str(PAGE), "--timeout", "5", "--retries", "3",
                 *argv, sleeps=sleeps)


def layer_of(blocks: gpd.GeoDataFrame, year: int) -> gpd.GeoDataFrame:
    return blocks[blocks.arslager == year].reset_index(drop=True)


def assert_same_blocks(path: Path, expected: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The GeoPackage at `path` holds exactly `expected` (ids, attributes, areas, shapes)."""
    got = gpd.read_file(path, layer="jordbruksblock")
    assert got.crs.to_epsg() == 3006
    assert list(got.columns) == list(expected.columns)
    assert set(got.geom_type) == {"MultiPolygon"}
    assert got.blockid.is_unique or set(got.arslager) != {got.arslager.iloc[0]}
    keys = ["blockid", "arslager"]
    assert sorted(map(tuple, got[keys].values.tolist())) == sorted(
        map(tuple, expected[keys].values.tolist()))
    merged = got.merge(expected, on=keys, suffixes=("", "_exp"))
    assert len(merged) == len(expected)
    for col in ("agoslag", "kategori", "region_kod"):
        assert (merged[col] == merged[f"{col}_exp"]).all(), col
    assert (merged.areal == merged.areal_exp).all()
    assert shapely.equals(merged.geometry.values, gpd.GeoSeries(merged.geometry_exp).values).all()
    assert got.area.sum() == pytest.approx(expected.area.sum(), rel=1e-12)
    return got


# ------------------------------------------------------------ against the real server


def test_full_fetch_of_latest_layer_equals_fixture(wfs, proxy, tmp_path, capsys):
    out = tmp_path / "raw" / "blocks.gpkg"
    assert fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None) == 0

    got = assert_same_blocks(out, layer_of(wfs.blocks, 2024))
    assert got.arslager.dtype == "int64" and got.areal.dtype == "float64"
    assert "Åker" in set(got.agoslag)
    hits = [p for p in proxy.requests if p.get("RESULTTYPE") == "hits"]
    assert len(hits) == 1 and "OUTPUTFORMAT" not in hits[0]
    assert proxy.page_starts() == [0, 7, 14, 21]
    first = next(p for p in proxy.requests if is_page(p))
    assert first["TYPENAMES"] == "inspire:senaste_arslager_block"
    assert first["SORTBY"] == "blockid" and first["SRSNAME"] == "EPSG:3006"
    assert first["BBOX"] == "6490000,560000,6500000,580000,urn:ogc:def:crs:EPSG::3006"
    assert "FILTER" not in first

    manifest = json.loads((out.parent / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["files"]["blocks.gpkg"]
    assert entry["sha256"] == sha256_file(out)
    assert entry["feature_count"] == 25 and entry["hits"] == 25
    assert entry["attribution"] == "Jordbruksblock © Jordbruksverket, CC BY 4.0"
    assert entry["source"]["url"] == proxy.url
    assert entry["source"]["layer"] == "inspire:senaste_arslager_block"
    assert entry["arslager"] == [2024] and entry["fetched_at"].endswith("Z")
    assert entry["area"] == "blocks intersecting the bbox (not cut)"
    assert (out.parent / "manifest.json").stat().st_mode & 0o044  # not private like mkstemp
    with contextlib.closing(sqlite3.connect(out)) as db:  # QGIS shows this description
        (description,) = db.execute("SELECT description FROM gpkg_contents "
                                    "WHERE table_name = 'jordbruksblock'").fetchone()
    assert description.startswith("Jordbruksblock © Jordbruksverket, CC BY 4.0.")
    assert not (out.parent / fetch.CACHE_DIR_NAME).exists()  # cache removed on success
    assert sorted(p.name for p in out.parent.iterdir()) == ["blocks.gpkg", "manifest.json"]

    captured = capsys.readouterr()
    assert "sida 4/4: objekt 22–25 av 25 (hämtad)" in captured.err
    assert f'path = "{out.as_posix()}"' in captured.out
    assert 'classes = ["Åker", "Bete"]' in captured.out


def test_year_filter_and_config_lines(wfs, proxy, project, capsys):
    config = load_config(project / "opjord.toml")
    args = fetch_args(proxy.url, "--year", "2017", "--bbox", ALL)
    assert fetch.run(args, config) == 0

    out = project / "data/raw/jordbruksblock_2017.gpkg"
    assert_same_blocks(out, layer_of(wfs.blocks, 2017))
    first = next(p for p in proxy.requests if is_page(p))
    assert first["TYPENAMES"] == "inspire:arslager_block"
    assert first["SORTBY"] == "blockid,arslager"
    assert "BBOX" not in first  # FILTER and BBOX are exclusive: the bbox is in the filter
    assert "PropertyIsEqualTo" in first["FILTER"] and "<fes:BBOX>" in first["FILTER"]

    # The printed lines are a working config: paste them in place of the old table.
    printed = capsys.readouterr().out
    block = printed[printed.index("[agricultural_land]"):].split("\n\n")[0]
    assert 'path = "data/raw/jordbruksblock_2017.gpkg"' in block
    toml = (project / "opjord.toml").read_text(encoding="utf-8")
    toml = toml.replace('[agricultural_land]\npath = "data/raw/placeholder.gpkg"\n', block + "\n")
    (project / "opjord.toml").write_text(toml, encoding="utf-8")
    agri = load_config(project / "opjord.toml").agricultural_land
    assert agri.path == out and agri.layer == "jordbruksblock"
    assert agri.class_column == "agoslag" and agri.classes == ("Åker", "Bete")
    assert "agricultural_land = { path" in printed  # the per-plan variant for ÖP 2017


def test_latest_output_is_named_after_its_year(wfs, proxy, project):
    args = fetch_args(proxy.url, "--bbox", ALL)
    assert fetch.run(args, load_config(project / "opjord.toml")) == 0
    assert (project / "data/raw/jordbruksblock_2024.gpkg").exists()
    manifest = json.loads((project / "data/raw/manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["files"]) == ["jordbruksblock_2024.gpkg"]


@pytest.mark.parametrize("year", [None, 2017])
def test_bbox_filtering(wfs, proxy, tmp_path, year):
    bbox = (568_150.0, 6_496_100.0, 569_000.0, 6_496_700.0)  # cuts through blocks
    argv = ["--bbox", ",".join(map(str, bbox)), "--out", str(tmp_path / "b.gpkg"),
            "--page-size", "50"]  # one page: filtering, not paging, is tested here
    if year:
        argv += ["--year", str(year)]
    assert fetch.run(fetch_args(proxy.url, *argv), None) == 0
    layer = layer_of(wfs.blocks, year or 2024)
    expected = layer[layer.intersects(box(*bbox))]
    assert 0 < len(expected) < len(layer)
    assert_same_blocks(tmp_path / "b.gpkg", expected)


def test_boundary_from_config_keeps_blocks_that_intersect_it(wfs, proxy, project, capsys):
    config = load_config(project / "opjord.toml")
    assert fetch.run(fetch_args(proxy.url, "--year", "2017", "--page-size", "50"), config) == 0
    boundary = boundary_3006(project)
    layer = layer_of(wfs.blocks, 2017)
    expected = layer[layer.intersects(boundary)]
    in_bbox = layer[layer.intersects(box(*boundary.bounds))]
    assert 0 < len(expected) < len(in_bbox)  # the triangle is smaller than its bbox
    got = assert_same_blocks(project / "data/raw/jordbruksblock_2017.gpkg", expected)
    assert got.area.sum() > got.clip(boundary).area.sum()  # whole blocks, not cut
    assert "område: omslutande rektangel för kommungrans.gpkg" in capsys.readouterr().err


def test_resume_after_interrupted_fetch_refetches_no_cached_page(wfs, proxy, tmp_path):
    out = tmp_path / "raw" / "blocks.gpkg"
    proxy.add(Fault("status", match=lambda p: is_page(p, 35), status=500, times=99))
    args = fetch_args(proxy.url, "--bbox", ALL, "--out", str(out), "--layer",
                      "inspire:arslager_block")  # all years: 50 blocks, 8 pages
    with pytest.raises(fetch.FetchError, match="misslyckades 4 gånger"):
        fetch.run(args, None)
    assert not out.exists() and not (out.parent / "manifest.json").exists()
    assert proxy.page_starts() == [0, 7, 14, 21, 28, 35, 35, 35, 35]
    cache = next((out.parent / fetch.CACHE_DIR_NAME).iterdir())
    assert len(list(cache.glob("page-*.json"))) == 5

    proxy.reset()
    args = fetch_args(proxy.url, "--bbox", ALL, "--out", str(out), "--layer",
                      "inspire:arslager_block")
    assert fetch.run(args, None) == 0
    assert proxy.page_starts() == [35, 42, 49]  # pages 1–5 came from the cache
    assert_same_blocks(out, wfs.blocks)  # both years, blockids repeated across years
    assert not (out.parent / fetch.CACHE_DIR_NAME).exists()


def test_fresh_ignores_the_cache(wfs, proxy, tmp_path):
    out = tmp_path / "blocks.gpkg"
    proxy.add(Fault("status", match=lambda p: is_page(p, 14), status=502, times=99))
    with pytest.raises(fetch.FetchError):
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out), "--retries", "0"),
                  None)
    proxy.reset()
    assert fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out), "--fresh"),
                     None) == 0
    assert proxy.page_starts() == [0, 7, 14, 21]


def test_503_then_success_and_429_retry_after_is_honoured(wfs, proxy, tmp_path, capsys):
    proxy.add(Fault("status", match=lambda p: is_page(p, 7), status=503),
              Fault("status", match=lambda p: is_page(p, 14), status=429, retry_after="3"))
    sleeps: list[float] = []
    args = fetch_args(proxy.url, "--bbox", ALL, "--out", str(tmp_path / "b.gpkg"),
                      "--retry-wait", "0.5", sleeps=sleeps)
    assert fetch.run(args, None) == 0
    assert proxy.page_starts() == [0, 7, 7, 14, 14, 21]
    assert 0.5 <= sleeps[0] <= 0.625  # exponential backoff: first wait + jitter
    assert sleeps[1] == 3.0  # Retry-After
    err = capsys.readouterr().err
    assert "HTTP 503" in err and "HTTP 429" in err
    assert re.search(r"sidan 2/4 \(startIndex 7\): HTTP 503 [^;]*; nytt försök 1/3 om 0,[56]\xa0s",
                     err), err
    assert "nytt försök 1/3 om 3,0\xa0s" in err  # Retry-After: 3
    assert_same_blocks(tmp_path / "b.gpkg", layer_of(wfs.blocks, 2024))


def test_timeout_then_success(wfs, proxy, tmp_path, capsys):
    proxy.add(Fault("delay", match=lambda p: is_page(p, 21), seconds=2.5))
    args = fetch_args(proxy.url, "--bbox", ALL, "--out", str(tmp_path / "b.gpkg"),
                      "--timeout", "1")
    assert fetch.run(args, None) == 0
    assert proxy.page_starts() == [0, 7, 14, 21, 21]
    assert "tidsgränsen överskreds" in capsys.readouterr().err
    assert_same_blocks(tmp_path / "b.gpkg", layer_of(wfs.blocks, 2024))


def test_dropped_connection_then_success(wfs, proxy, tmp_path):
    proxy.add(Fault("drop", match=lambda p: p.get("RESULTTYPE") == "hits"))
    assert fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(tmp_path / "b.gpkg")),
                     None) == 0
    assert len([p for p in proxy.requests if p.get("RESULTTYPE") == "hits"]) == 2


@pytest.mark.parametrize("kind", ["truncate", "cut"])
def test_truncated_body_is_retried(wfs, proxy, tmp_path, kind, capsys):
    proxy.add(Fault(kind, match=lambda p: is_page(p, 7)))
    out = tmp_path / "b.gpkg"
    assert fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None) == 0
    assert proxy.page_starts() == [0, 7, 7, 14, 21]
    assert_same_blocks(out, layer_of(wfs.blocks, 2024))
    err = capsys.readouterr().err
    assert ("inte fullständig JSON" if kind == "truncate" else "IncompleteRead") in err


def test_persistently_truncated_body_is_an_error_and_writes_nothing(wfs, proxy, tmp_path):
    proxy.add(Fault("truncate", match=lambda p: is_page(p, 14), times=99))
    out = tmp_path / "b.gpkg"
    with pytest.raises(InputError, match="inte fullständig JSON") as err:
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None)
    assert "kör sedan samma kommando igen" in str(err.value)
    assert not out.exists() and not (tmp_path / "manifest.json").exists()


def test_exception_report_is_a_clear_error_and_writes_nothing(wfs, proxy, tmp_path):
    proxy.add(Fault("exception", match=lambda p: is_page(p, 7)))
    out = tmp_path / "b.gpkg"
    with pytest.raises(fetch.WfsExceptionReport) as err:
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None)
    message = str(err.value)
    assert isinstance(err.value, InputError)  # → exit 2 in the CLI
    assert "undantagsrapport" in message and "too many concurrent requests" in message
    assert "NoApplicableCode" in message and "Åtgärd:" in message
    assert proxy.page_starts() == [0, 7]  # not retried
    assert not out.exists() and not (tmp_path / "manifest.json").exists()


def test_gzip_answers_are_decompressed(wfs, proxy, tmp_path):
    proxy.add(Fault("gzip", match=lambda p: True, times=99))
    out = tmp_path / "b.gpkg"
    assert fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None) == 0
    assert_same_blocks(out, layer_of(wfs.blocks, 2024))
    assert proxy.faults[0].hits == 5  # hits + 4 pages, all compressed


def test_html_instead_of_json_is_retried_then_reported(wfs, proxy, tmp_path):
    proxy.add(Fault("status", match=lambda p: is_page(p, 0), status=200, times=99))
    with pytest.raises(fetch.FetchError, match="inte JSON utan HTML/XML"):
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(tmp_path / "b.gpkg")),
                  None)
    assert proxy.page_starts() == [0, 0, 0, 0]


def test_real_server_exception_for_unknown_layer(wfs, proxy, tmp_path):
    out = tmp_path / "b.gpkg"
    with pytest.raises(fetch.WfsExceptionReport, match="doesn't exist in this server"):
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out),
                             "--layer", "inspire:no_such_layer"), None)
    assert not out.exists()


def test_paging_short_of_hits_is_detected(wfs, proxy, tmp_path):
    proxy.add(Fault("empty", match=lambda p: is_page(p) and int(p["STARTINDEX"]) >= 14,
                    times=99))
    out = tmp_path / "b.gpkg"
    with pytest.raises(fetch.FetchError, match="sidorna tog slut för tidigt") as err:
        fetch.run(fetch_args(proxy.url, "--bbox", ALL, "--out", str(out)), None)
    assert "angav 25 objekt" in str(err.value) and "(14 mottagna)" in str(err.value)
    assert not out.exists()


def test_server_ignoring_the_year_filter_is_caught_on_the_first_page(wfs, proxy, tmp_path):
    proxy.add(Fault("strip_filter", match=lambda p: "FILTER" in p, times=99))
    out = tmp_path / "b.gpkg"
    with pytest.raises(fetch.FetchError, match="bortsåg från filtret"):
        fetch.run(fetch_args(proxy.url, "--year", "2017", "--bbox", ALL, "--out", str(out)),
                  None)
    assert proxy.page_starts() == [0] and not out.exists()


def test_empty_result_is_bad_input(wfs, proxy, tmp_path):
    out = tmp_path / "b.gpkg"
    with pytest.raises(InputError, match="inga jordbruksblock"):
        fetch.run(fetch_args(proxy.url, "--bbox", "600000,6600000,601000,6601000",
                             "--out", str(out)), None)
    assert not out.exists()


def test_fetch_features_on_its_own(wfs, proxy):
    query = fetch.Query(url=proxy.url, layer="inspire:arslager_block", year=2024,
                        page_size=10, sort_by=("blockid", "arslager"))
    policy = fetch.HttpPolicy(timeout=5, retries=0, log=lambda _m: None)
    features, hits = fetch.fetch_features(query, policy)
    assert hits == len(features) == 25
    ids = [f["properties"]["blockid"] for f in features]
    assert ids == sorted(ids)


# ------------------------------------------------------------ no server needed


def test_requests_put_northing_first_for_the_urn_crs():
    q = fetch.Query(url="http://x/wfs", layer="l", bbox=(1, 2, 3, 4))
    assert q.hits_params()["BBOX"] == "2,1,4,3,urn:ogc:def:crs:EPSG::3006"
    assert "OUTPUTFORMAT" not in q.hits_params()
    q = fetch.Query(url="http://x/wfs?key=1", layer="l", year=2017, bbox=(1, 2, 3, 4))
    fes = q.filter_xml()
    assert "<gml:lowerCorner>2 1</gml:lowerCorner>" in fes
    assert "<fes:And>" in fes and "<fes:Literal>2017</fes:Literal>" in fes
    assert "BBOX" not in q.page_params(0)
    url = fetch.request_url(q.url, q.page_params(14))
    assert url.startswith("http://x/wfs?key=1&") and params_of(url)["STARTINDEX"] == "14"
    assert fetch.Query(url="u", layer="l").cache_key() != fetch.Query(
        url="u", layer="l", page_size=10).cache_key()


@pytest.mark.parametrize("text, hint", [
    ("1,2,3", "inte fyra tal"),
    ("569000,6496000,568000,6497000", "minimum måste vara mindre"),
    ("6460000,515000,6530000,620000", "northing,easting: byt plats"),
    ("15.6,58.4,17.1,58.9", "Grader"),
])
def test_bad_bbox_is_input_error(text, hint):
    with pytest.raises(InputError, match=hint):
        fetch.parse_bbox(text)


def test_year_and_area_are_checked_before_any_request(tmp_path):
    with pytest.raises(InputError, match="är inget år"):
        fetch.run(parse("--year", "17", "--bbox", ALL), None)
    with pytest.raises(InputError, match="behöver ett område"):
        fetch.run(parse("--out", str(tmp_path / "x.gpkg")), None)
    assert fetch.parse_year("latest") is None and fetch.parse_year("2017") == 2017


def test_exception_report_text_and_retry_after():
    assert fetch.exception_report_text(b'{"type": "FeatureCollection"}') is None
    text = fetch.exception_report_text(
        b'<ServiceExceptionReport><ServiceException code="X">boom</ServiceException>'
        b"</ServiceExceptionReport>")
    assert text == "X: boom"
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_cli_shim_parses_fetch_arguments():
    parser = argparse.ArgumentParser(prog="opjord")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch.configure_parser(sub.add_parser("fetch"))
    args = parser.parse_args(["fetch", "jordbruksblock", "--year", "2017", "--bbox", ALL,
                              "--page-size", "100"])
    assert (args.dataset, args.year, args.page_size, args.retries) == (
        "jordbruksblock", "2017", 100, 5)
    with pytest.raises(SystemExit):
        parser.parse_args(["fetch", "nmd"])


def test_unknown_total_pages_until_a_short_page(wfs, proxy, monkeypatch):
    # numberMatched="unknown"
    monkeypatch.setattr("pipeline.fetch.paging.get_hits", lambda query, policy: None)
    query = fetch.Query(url=proxy.url, layer="inspire:senaste_arslager_block", page_size=5)
    policy = fetch.HttpPolicy(timeout=5, retries=0, log=lambda _m: None)
    features, hits = fetch.fetch_features(query, policy)
    assert hits is None and len(features) == 25
    assert proxy.page_starts() == [0, 5, 10, 15, 20, 25]  # the empty page ends it


def _feature(e: float, n: float, **props) -> dict:
    ring = [[e, n], [e + 10, n], [e + 10, n + 10], [e, n + 10], [e, n]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"blockid": "05810000001", "agoslag": "Åker", "areal": "0.01",
                           "arslager": "2024", **props}}


def test_swapped_axes_are_swapped_back_and_foreign_coordinates_refused():
    query = fetch.Query(url="http://x/wfs", layer="l")
    frame = fetch.features_to_frame([_feature(6_496_000, 568_000)], query)
    assert frame.total_bounds.tolist() == [568_000, 6_496_000, 568_010, 6_496_010]
    assert frame.geom_type.tolist() == ["MultiPolygon"]
    assert frame.areal.tolist() == [0.01] and frame.arslager.tolist() == [2024]
    with pytest.raises(fetch.FetchError, match="inte är SWEREF 99 TM"):
        fetch.features_to_frame([_feature(16.2, 58.6)], query)
    with pytest.raises(fetch.FetchError, match="saknar kolumnen agoslag"):
        fetch.features_to_frame([_feature(568_000, 6_496_000, agoslag=None) | {
            "properties": {"blockid": "1"}}], query)


def test_bbox_check_tolerates_envelope_matches_but_not_ignored_bboxes():
    query = fetch.Query(url="http://x/wfs", layer="l", bbox=(568_000, 6_496_000, 568_100,
                                                              6_496_100))
    l_shape = _feature(568_090, 6_496_090) | {"geometry": {"type": "MultiPolygon", "coordinates": [
        [[[568_110, 6_496_000], [568_200, 6_496_000], [568_200, 6_496_010], [568_110, 6_496_010],
          [568_110, 6_496_000]]],
        [[[568_000, 6_496_110], [568_010, 6_496_110], [568_010, 6_496_200], [568_000, 6_496_200],
          [568_000, 6_496_110]]]]}}  # its envelope overlaps the bbox, its parts do not
    inside = _feature(568_050, 6_496_050, blockid="05810000002")
    frame = fetch.features_to_frame([l_shape, inside], query)
    assert frame.blockid.tolist() == ["05810000002"]
    with pytest.raises(fetch.FetchError, match="bortsåg från bboxen"):
        fetch.features_to_frame([_feature(570_000, 6_496_050)], query)


def test_fetched_demo_blocks_give_the_same_figures_as_the_source(tmp_path, capsys):
    """Acceptance: serve the demo field blocks over WFS, fetch them with the demo config's
    boundary, paste the printed lines into the config, and `opjord analyse` gives exactly
    the figures of the original file. Needs the foundation (pipeline.demo, the CLI)."""
    from pipeline import demo
    from pipeline.cli import main

    repo_config = Path(__file__).resolve().parents[1] / "opjord.toml"
    assert MAPSERV is not None, "install mapserver-bin (bash scripts/install-test-deps)"
    config_path = tmp_path / "opjord.toml"
    config_path.write_text(repo_config.read_text(encoding="utf-8"), encoding="utf-8")
    demo.generate_demo(tmp_path / "data/raw/demo")
    config = load_config(config_path)
    source = gpd.read_file(config.agricultural_land.path, layer=config.agricultural_land.layer)

    serve = tmp_path / "wfs"
    serve.mkdir()
    source.to_file(serve / "b.gpkg", layer="senaste_arslager_block")
    source.to_file(serve / "b.gpkg", layer="arslager_block")
    with pytest.MonkeyPatch.context() as mp, MapServerCGI(*write_mapfile(
            serve, serve / "b.gpkg")) as server:
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        # Through the command line, as a planner runs it.
        assert main(["fetch", "jordbruksblock", "--config", str(config_path), "-q",
                     "--url", server.url, "--page-size", str(len(source) // 3 + 1)]) == 0
    printed = capsys.readouterr().out
    block = printed[printed.index("[agricultural_land]"):].split("\n\n")[0]

    def figures(path: Path) -> dict:
        assert main(["analyse", "--config", str(path)]) == 0
        summary = json.loads((tmp_path / "data/processed/summary.json").read_text("utf-8"))
        return {key: {k: plan[k] for k in ("development_area_ha", "agricultural_ha", "share",
                                           "agricultural_ha_by_class",
                                           "share_of_municipal_agricultural_land")}
                for key, plan in summary["plans"].items()}

    before = figures(config_path)
    text = config_path.read_text(encoding="utf-8")
    start, end = text.index("[agricultural_land]"), text.index("[[plans]]")
    fetched_config = tmp_path / "opjord_fetched.toml"
    fetched_config.write_text(text[:start] + block + "\n\n" + text[end:], encoding="utf-8")
    assert load_config(fetched_config).agricultural_land.path.name.startswith("jordbruksblock_")
    assert figures(fetched_config) == before


def test_cache_is_discarded_when_the_server_total_changed(tmp_path):
    query = fetch.Query(url="http://x/wfs", layer="l", page_size=2)
    messages: list[str] = []
    cache = fetch.PageCache(tmp_path / "c", query, messages.append)
    cache.open(hits=4)
    cache.put(0, [_feature(568_000, 6_496_000)] * 2)
    assert fetch.PageCache(tmp_path / "c", query, messages.append).get(0) is not None
    again = fetch.PageCache(tmp_path / "c", query, messages.append)
    again.open(hits=4)
    assert again.cached_pages() == 1 and not messages
    again.open(hits=5)  # the server's data changed: old pages would mix two versions
    assert again.cached_pages() == 0 and "börjar om från början" in messages[0]
    (tmp_path / "c" / "page-000000000.json").write_text("{trunc", encoding="utf-8")
    assert again.get(0) is None  # a damaged page is fetched again


def test_options_carry_every_command_line_argument():
    sleeps: list[float] = []
    options = parse("--year", "2017", "--bbox", "515000, 6460000,620000,6530000",
                    "--out", "x/b.gpkg", "--url", "http://h/wfs", "--layer", "ns:l",
                    "--page-size", "100", "--timeout", "7.5", "--retries", "0",
                    "--retry-wait", "0.25", "--fresh", sleeps=sleeps)
    options.sleep(1.5)
    assert options == fetch.FetchOptions(
        dataset="jordbruksblock", year=2017, bbox=(515_000.0, 6_460_000.0, 620_000.0,
                                                   6_530_000.0),
        out=Path("x/b.gpkg"), url="http://h/wfs", layer="ns:l", page_size=100, timeout=7.5,
        retries=0, retry_wait=0.25, fresh=True, sleep=options.sleep)
    assert sleeps == [1.5]
    defaults = parse("--bbox", ALL)
    assert (defaults.year, defaults.out, defaults.url, defaults.layer, defaults.page_size,
            defaults.timeout, defaults.retries, defaults.retry_wait, defaults.fresh) == (
        None, None, None, None, None, 60.0, 5, 2.0, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        defaults.year = 2017


@pytest.mark.parametrize("argv, message", [
    (["--page-size", "0"], "--page-size 0 (eller [fetch] page_size) måste vara minst 1"),
    (["--retries", "-1"], "--retries måste vara minst 0"),
    (["--timeout", "0"], "--timeout större än 0"),
])
def test_bad_limits_are_input_errors_before_any_request(argv, message):
    # port 9 (discard): a request would fail with a FetchError, not this message
    with pytest.raises(InputError, match=re.escape(message)):
        fetch.run(parse("--bbox", ALL, "--url", "http://127.0.0.1:9/none", *argv), None)


def test_progress_uses_swedish_number_formats(monkeypatch):
    """2 500 blocks in pages of 1 000: counts with a (no-break) space between thousands."""
    def page(query, start, policy, what):
        assert what == f"sidan {start // 1000 + 1}/3 (startIndex {start})"
        return [_feature(568_000, 6_496_000, blockid=f"{i:011d}")
                for i in range(start, min(start + 1000, 2500))]

    monkeypatch.setattr("pipeline.fetch.paging.get_hits", lambda query, policy: 2500)
    monkeypatch.setattr("pipeline.fetch.paging.fetch_page", page)
    lines: list[str] = []
    query = fetch.Query(url="http://x/wfs", layer="l", page_size=1000)
    features, hits = fetch.fetch_features(query, fetch.HttpPolicy(log=lines.append))
    assert hits == len(features) == 2500
    assert lines == ["l: 2\u00a0500 objekt på 3 sidor om 1\u00a0000",
                     "  sida 1/3: objekt 1–1\u00a0000 av 2\u00a0500 (hämtad)",
                     "  sida 2/3: objekt 1\u00a0001–2\u00a0000 av 2\u00a0500 (hämtad)",
                     "  sida 3/3: objekt 2\u00a0001–2\u00a0500 av 2\u00a0500 (hämtad)"]
