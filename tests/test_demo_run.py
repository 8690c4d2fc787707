"""End to end on the bundled demo data, checked against a brute-force computation."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from pipeline.cli import main
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "opjord.toml"


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory) -> Path:
    """A copy of the repository's demo config and data, so runs don't touch the checkout."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "data/raw/demo", root / "data/raw/demo")
    shutil.copy(DEMO_CONFIG, root / "opjord.toml")
    assert main(["analyse", "--config", str(root / "opjord.toml"), "-q"]) == 0
    return root


def _summary(root: Path) -> dict:
    return json.loads((root / "data/processed/summary.json").read_text(encoding="utf-8"))


def _read(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path, layer=layer).to_crs(3006)
    geoms = shapely.make_valid(gdf.geometry.array.to_numpy(), method="structure",
                               keep_collapsed=False)
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs=3006))


def test_demo_is_marked(demo_project):
    s = _summary(demo_project)
    assert s["demo"] is True
    assert s["schema"] == "opjord.summary/1"
    assert {i["role"]: i["source_crs"] for i in s["inputs"]} == {
        "boundary": "EPSG:4326", "agricultural_land": "EPSG:3006",
        "plan:op2017": "EPSG:3006", "plan:op2025": "EPSG:3010", "landcover": "EPSG:3006"}
    assert all(len(i["sha256"]) == 64 for i in s["inputs"])
    assert {"GEOS", "PROJ", "GDAL", "shapely", "geopandas"} <= set(s["software"])


def test_demo_equals_brute_force(demo_project):
    """Dissolve everything with shapely.union_all, intersect, measure: 1e-6 relative."""
    s = _summary(demo_project)
    config = load_config(demo_project / "opjord.toml")
    raw = demo_project / "data/raw/demo"
    m = shapely.union_all(_read(raw / "kommungrans.geojson").geometry.array.to_numpy())
    blocks = _read(raw / "jordbruksblock.gpkg", "jordbruksblock")
    classes = config.agricultural_land.classes
    taken = shapely.Polygon()
    by_class = {}
    for c in classes:  # class priority: each class minus everything of earlier classes
        u = shapely.union_all(blocks.geometry[blocks.agoslag == c].to_numpy())
        by_class[c] = shapely.difference(u, taken)
        taken = shapely.union(taken, u)
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(
        sum(shapely.intersection(g, m).area for g in by_class.values()) / 1e4, rel=1e-6)
    csv = pd.read_csv(demo_project / "data/processed/areas.csv", dtype={"area_id": str},
                      keep_default_na=False)
    footprints = {}
    for plan in config.plans:
        areas = _read(plan.source.path, plan.source.layer)
        d = shapely.intersection(shapely.union_all(areas.geometry.array.to_numpy()), m)
        footprints[plan.key] = d
        p = s["plans"][plan.key]
        assert p["development_area_ha"] == pytest.approx(d.area / 1e4, rel=1e-6)
        for c in classes:
            assert p["agricultural_ha_by_class"][c] == pytest.approx(
                shapely.intersection(by_class[c], d).area / 1e4, rel=1e-6, abs=1e-9)
        rows = csv[csv.plan == plan.key].set_index("area_id")
        for area_id, geom in zip(areas[plan.id_column], areas.geometry, strict=True):
            expected = sum(shapely.intersection(g, geom).area for g in by_class.values()) / 1e4
            assert rows.loc[area_id, "agricultural_ha"] == pytest.approx(expected, rel=1e-6,
                                                                          abs=1e-9)
            assert rows.loc[area_id, "area_ha"] == pytest.approx(geom.area / 1e4, rel=1e-6)
    c = s["comparisons"]["op2025"]
    farmland = shapely.union_all(list(by_class.values()))
    new = shapely.difference(footprints["op2025"], footprints["op2017"])
    old = shapely.difference(footprints["op2017"], footprints["op2025"])
    assert c["newly_designated_ha"] == pytest.approx(
        shapely.intersection(farmland, new).area / 1e4, rel=1e-6)
    assert c["released_ha"] == pytest.approx(shapely.intersection(farmland, old).area / 1e4,
                                             rel=1e-6)


def test_demo_has_the_designed_features(demo_project):
    s = _summary(demo_project)
    c = s["comparisons"]["op2025"]
    assert c["area_matching"] == "id"
    assert min(c["areas_new"], c["areas_kept"], c["areas_changed"], c["areas_removed"]) > 0
    assert c["goal_met"] is True and c["share_change_pp"] < 0
    blocks = next(i for i in s["inputs"] if i["role"] == "agricultural_land")
    assert blocks["cleaning"]["repaired"] == 2  # the generator's two bow-tie blocks


@pytest.mark.parametrize("threads", ["", "1"])
def test_rerun_is_byte_identical(demo_project, monkeypatch, threads):
    """The same inputs give the same bytes, also with the vectorised calls in one thread."""
    out = demo_project / "data/processed"
    first = {n: hashlib.sha256((out / n).read_bytes()).hexdigest()
             for n in ("summary.json", "areas.csv")}
    monkeypatch.setenv("OPJORD_THREADS", threads)
    assert main(["analyse", "--config", str(demo_project / "opjord.toml"), "-q"]) == 0
    assert first == {n: hashlib.sha256((out / n).read_bytes()).hexdigest()
                     for n in ("summary.json", "areas.csv")}


def test_outputs_open_for_planners(demo_project):
    out = demo_project / "data/processed"
    layers = {name for name, _ in __import__("pyogrio").list_layers(out / "analysis.gpkg")}
    assert layers == {"areas", "footprints", "agricultural_in_areas", "newly_designated",
                      "released", "kept", "boundary"}
    with pd.ExcelFile(out / "opjord.xlsx") as xlsx:
        check_workbook(xlsx, _summary(demo_project))
    # one row per block and plan (pieces cut by several faces are joined again), and the
    # rows add up to the plan's figure
    s = _summary(demo_project)
    pieces = gpd.read_file(out / "analysis.gpkg", layer="agricultural_in_areas")
    for key, plan in s["plans"].items():
        mine = pieces[pieces["plan"] == key]
        assert not mine["blockid"].duplicated().any()
        assert mine["area_ha"].sum() == pytest.approx(plan["agricultural_ha"], rel=1e-9)
    for kind in ("newly_designated", "released", "kept"):
        layer = gpd.read_file(out / "analysis.gpkg", layer=kind)
        assert not layer["blockid"].duplicated().any()
        assert layer["area_ha"].sum() == pytest.approx(
            s["comparisons"]["op2025"][f"{kind}_ha"], rel=1e-9)


def check_workbook(xlsx: pd.ExcelFile, s: dict) -> None:
    assert xlsx.sheet_names == ["Sammanfattning", "ÖP 2017", "ÖP 2025 (förslag)", "Källor"]
    summary = pd.read_excel(xlsx, "Sammanfattning", header=2)
    assert "Andel jordbruksmark" in summary.columns
    assert summary["Andel jordbruksmark"].tolist() == pytest.approx(
        [p["share"] for p in s["plans"].values()])
    sheet = pd.read_excel(xlsx, "ÖP 2025 (förslag)")
    assert {"Område-id", "Namn", "Typ", "Areal (ha)", "Jordbruksmark (ha)",
            "Status mot ÖP 2017"} <= set(sheet.columns)
    assert set(sheet["Status mot ÖP 2017"]) <= {"ny", "kvar", "ändrad"}
    first = pd.read_excel(xlsx, "Sammanfattning", header=None).iloc[0, 0]
    assert "DEMODATA" in first


def test_failed_export_leaves_previous_outputs(demo_project, monkeypatch):
    import pipeline.export as export
    out = demo_project / "data/processed"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(export, "write_xlsx", boom)
    assert main(["analyse", "--config", str(demo_project / "opjord.toml"), "-q"]) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp files left


def test_failed_municipal_total_leaves_previous_outputs(demo_project, monkeypatch):
    # The municipal total runs in a worker thread while the GeoPackage is being written;
    # its error must still reach the CLI and undo the staged files.
    import pipeline.analyse as analyse
    out = demo_project / "data/processed"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    written = []

    def boom(*args, **kwargs):
        raise RuntimeError("GEOS failed")
    monkeypatch.setattr(analyse, "area_of_coverage", boom)
    monkeypatch.setattr(analyse, "_figures", _spy(analyse._figures, written))
    assert main(["analyse", "--config", str(demo_project / "opjord.toml"), "-q"]) == 1
    assert written == ["called"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp files left


def _spy(func, calls: list):
    def wrapped(*args, **kwargs):
        calls.append("called")
        return func(*args, **kwargs)
    return wrapped


def test_cli_run_prints_swedish_summary(demo_project, capsys):
    from test_language import english_words

    assert main(["run", "--config", str(demo_project / "opjord.toml"), "-v"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert english_words(captured.out + captured.err) == set()  # progress lines included
    s = _summary(demo_project)
    assert "DEMODATA" in out
    assert "ÖP 2017:" in out and "procentenheter" in out and "målet är uppfyllt" in out
    share = f"{100 * s['plans']['op2017']['share']:.1f}".replace(".", ",")
    assert share in out
