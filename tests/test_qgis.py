"""analysis.gpkg and opjord.qgs for QGIS: styles, aliases, the plans' own attributes, the
share in per cent, `[output] crs`, and both opened in real QGIS.

The fast tests read the files with sqlite3, pyogrio and ElementTree. `test_qgis_*` open
them with QGIS itself (Debian's python3-qgis, headless: `tests/qgis_open.py` run by
`/usr/bin/python3` with QT_QPA_PLATFORM=offscreen, or OPJORD_QGIS_PYTHON) and render the
project to a PNG (its path is printed). Without QGIS they fail (never a skip), as the
browser tests do; `bash scripts/install-test-deps` installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from conftest import edit_config, make_project, write_layer

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.styles import BOUNDARY_STYLE, change_styles, class_style, plan_style

DATA_LAYERS = ["areas", "footprints", "agricultural_in_areas", "newly_designated", "released",
               "kept", "boundary"]
QGIS_PYTHON = os.environ.get("OPJORD_QGIS_PYTHON", "/usr/bin/python3")
QGIS_OPEN = Path(__file__).with_name("qgis_open.py")


def _own_attributes(folder: Path) -> None:
    """Give the plans' layers their own columns: a decision date, the municipality's own
    area, and columns named like opjord's fields (`name`, `Share` in another case)."""
    from conftest import plan_2017, plan_2025

    old = plan_2017()
    for row, day in zip(old, ("2017-06-01", "2017-06-02"), strict=True):
        row |= {"beslut": day, "name": f"gammalt {row['omr_id']}", "Share": 0.5}
    write_layer(folder / "raw/op2017.gpkg", old)
    new = plan_2025()
    for i, row in enumerate(new):
        row |= {"beslut": "2025-03-01", "kommun_areal": 10.0 + i}
    write_layer(folder / "raw/op2025.gpkg", new)


def _run(root: Path, *extra: str, command: str = "run") -> Path:
    cfg = make_project(root)
    _own_attributes(root)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text + "".join(extra), encoding="utf-8")
    assert main([command, "--config", str(cfg), "-q"]) == 0
    return root / "data/processed"


@pytest.fixture(scope="module")
def styled(tmp_path_factory) -> Path:
    """data/processed of the hand-made project (basemap osm), plans with own columns."""
    return _run(tmp_path_factory.mktemp("styled"))


@pytest.fixture(scope="module")
def local_crs(tmp_path_factory) -> Path:
    """The same in `[output] crs = "EPSG:3010"`, without a basemap."""
    return _run(tmp_path_factory.mktemp("local"),
                '\n[output]\ncrs = "EPSG:3010"\n\n[webmap]\nbasemap = "none"\n')


def _styles(gpkg: Path) -> dict[str, dict]:
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        db.row_factory = sqlite3.Row
        return {r["f_table_name"]: dict(r) for r in db.execute("SELECT * FROM layer_styles")}


# ---------------------------------------------------------------------------- styles


def test_every_layer_has_one_default_qml_and_sld_style(styled):
    rows = _styles(styled / "analysis.gpkg")
    assert sorted(rows) == sorted(DATA_LAYERS)
    for layer, row in rows.items():
        assert (row["f_table_catalog"], row["f_table_schema"]) == ("", "")  # what QGIS queries
        assert row["f_geometry_column"] == pyogrio.read_info(
            styled / "analysis.gpkg", layer=layer)["geometry_name"] == "geom"
        assert row["useAsDefault"] == 1 and row["styleName"] == "opjord"
        assert ET.fromstring(row["styleQML"].split("\n", 2)[2]).tag == "qgis"
        assert ET.fromstring(row["styleSLD"].split("\n", 1)[1]).tag.endswith(
            "StyledLayerDescriptor")
    with contextlib.closing(sqlite3.connect(styled / "analysis.gpkg")) as db:
        contents = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert contents["layer_styles"] == "attributes"  # a table GDAL and QGIS list


def _qml(gpkg: Path, layer: str) -> ET.Element:
    return ET.fromstring(_styles(gpkg)[layer]["styleQML"].split("\n", 2)[2])


def _line(symbol: ET.Element) -> dict[str, str]:
    line = symbol.find("layer[@class='SimpleLine']")
    return {o.get("name"): o.get("value") for o in line.find("Option")}


def _fill(symbol: ET.Element) -> dict[str, str]:
    fill = symbol.find("layer[@class='SimpleFill']")
    return {o.get("name"): o.get("value") for o in fill.find("Option")}


def test_the_areas_style_is_the_web_maps_legend_per_plan(styled):
    renderer = _qml(styled / "analysis.gpkg", "areas").find("renderer-v2")
    assert (renderer.get("type"), renderer.get("attr")) == ("categorizedSymbol", "plan")
    cats = [(c.get("value"), c.get("label")) for c in renderer.find("categories")]
    assert cats == [("op2017", "Utvecklingsområden ÖP 2017"),
                    ("op2025", "Utvecklingsområden ÖP 2025")]
    base, later = renderer.find("symbols")
    # ÖP 2017: black, 5 px, dashed 10/6 like the web map; ÖP 2025: purple, 3 px, solid
    assert _line(base)["line_color"] == "26,26,26,255" == "{},{},{},255".format(
        *(int(plan_style("op2017", "ÖP 2017", 0).color[i:i + 2], 16) for i in (1, 3, 5)))
    assert (_line(base)["line_width"], _line(base)["line_width_unit"]) == ("5", "Pixel")
    assert (_line(base)["use_custom_dash"], _line(base)["customdash"]) == ("1", "10;6")
    assert _line(later)["line_color"] == "123,31,162,255"  # #7b1fa2
    assert (_line(later)["line_width"], _line(later)["use_custom_dash"]) == ("3", "0")
    # a faint fill of the plan's colour (6 % → alpha 15 of 255), no opaque fill
    assert _fill(base)["color"] == "26,26,26,15" and _fill(base)["style"] == "solid"


def test_the_boundary_is_an_outline_and_the_classes_and_changes_are_as_on_the_map(styled):
    gpkg = styled / "analysis.gpkg"
    boundary = _qml(gpkg, "boundary").find("renderer-v2")
    assert boundary.get("type") == "singleSymbol"
    symbol = boundary.find("symbols/symbol")
    assert _fill(symbol)["style"] == "no"  # nothing hidden under the boundary
    assert (_line(symbol)["line_color"], _line(symbol)["customdash"]) == ("64,64,64,255",
                                                                          "14;6;3;6")
    assert BOUNDARY_STYLE.dash == "14 6 3 6"
    pieces = _qml(gpkg, "agricultural_in_areas").find("renderer-v2")
    assert pieces.get("attr") == "class"
    assert [(c.get("value"), c.get("label")) for c in pieces.find("categories")] == [
        ("Åker", class_style("Åker", 0).name), ("Bete", class_style("Bete", 1).name)]
    aker, bete = pieces.find("symbols")
    assert _fill(aker)["color"] == "242,200,75,166"  # #f2c84b at 65 %
    assert _fill(bete)["color"] == "139,195,74,166"  # #8bc34a
    newly, released = change_styles("op2025", "ÖP 2025", "ÖP 2017")
    for layer, style in (("newly_designated", newly), ("released", released)):
        renderer = _qml(gpkg, layer).find("renderer-v2")
        ((value, label),) = [(c.get("value"), c.get("label")) for c in renderer.find("categories")]
        assert (value, label) == ("op2025", style.name)
    released_line = _line(_qml(gpkg, "released").find("renderer-v2/symbols/symbol"))
    assert (released_line["line_color"], released_line["customdash"]) == ("0,80,160,255", "3;4")


def test_the_sld_carries_the_same_colours_and_dashes(styled):
    sld = _styles(styled / "analysis.gpkg")["areas"]["styleSLD"]
    root = ET.fromstring(sld.split("\n", 1)[1])
    se = "{http://www.opengis.net/se}"
    rules = root.findall(f".//{se}Rule")
    assert [r.find(f"{se}Name").text for r in rules] == ["Utvecklingsområden ÖP 2017",
                                                          "Utvecklingsområden ÖP 2025"]
    stroke = {p.get("name"): p.text for p in rules[0].iter(f"{se}SvgParameter")}
    assert stroke["stroke"] == "#1a1a1a" and stroke["stroke-dasharray"] == "10 6"
    assert stroke["fill-opacity"] == "0.06"
    boundary = ET.fromstring(_styles(styled / "analysis.gpkg")["boundary"]["styleSLD"]
                             .split("\n", 1)[1])
    assert boundary.find(f".//{se}Fill") is None  # outline only


# ---------------------------------------------------------------------------- aliases


def test_swedish_aliases_in_gpkg_data_columns_and_in_the_qml(styled):
    gpkg = styled / "analysis.gpkg"
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        aliases = {(t, c): (n, title) for t, c, n, title in db.execute(
            "SELECT table_name, column_name, name, title FROM gpkg_data_columns")}
        extensions = set(db.execute("SELECT table_name, extension_name FROM gpkg_extensions"))
    assert aliases[("areas", "share_pct")] == ("Andel jordbruksmark (%)",) * 2
    assert aliases[("areas", "area_ha")][0] == "Areal (ha)"
    assert aliases[("areas", "agricultural_ha_aker")][0] == "varav Åker (ha)"
    assert aliases[("areas", "status")][0] == "Status mot ÖP 2017"
    assert aliases[("areas", "plan_name")][0] == "name (planens eget fält)"
    assert aliases[("footprints", "development_area_ha")][0] == "Utvecklingsområden (ha)"
    assert aliases[("boundary", "kommun")][0] == "Kommun"
    assert ("gpkg_data_columns", "gpkg_schema") in extensions
    qml = {a.get("field"): a.get("name") for a in _qml(gpkg, "areas").find("aliases")}
    assert qml["share_pct"] == "Andel jordbruksmark (%)" and qml["name"] == "Namn"
    # every field alias is written for a field that exists
    fields = set(pyogrio.read_info(gpkg, layer="areas")["fields"])
    assert {c for t, c in aliases if t == "areas"} <= fields


# ---------------------------------------------------------------------------- areas layer


def test_the_plans_own_attributes_and_the_percent_share_are_on_the_areas_layer(styled):
    areas = gpd.read_file(styled / "analysis.gpkg", layer="areas").set_index(
        ["plan", "area_id"])
    fields = list(areas.columns)
    # opjord's fields first, the plans' own after them; clashes (case ignored) prefixed
    assert fields.index("matched_area_id") < fields.index("omr_id")
    assert {"omr_id", "namn", "typ", "beslut", "kommun_areal", "plan_name",
            "plan_Share"} <= set(fields)
    assert areas.loc[("op2017", "A2"), "beslut"] == "2017-06-02"
    assert areas.loc[("op2017", "A2"), "plan_name"] == "gammalt A2"  # the plan's own `name`
    assert areas.loc[("op2017", "A2"), "name"] == "Östra fältet"  # opjord's (name_column)
    assert areas.loc[("op2017", "A1"), "plan_Share"] == 0.5
    assert areas.loc[("op2025", "B3"), "kommun_areal"] == 12.0
    assert areas.loc[("op2017", "A1"), "kommun_areal"] != areas.loc[("op2017", "A1"),
                                                                     "kommun_areal"]  # NaN
    # A1: 10 ha farmland of 16 ha → 62.5 %; B2: 3 of 8 → 37.5 %
    assert areas.loc[("op2017", "A1"), "share_pct"] == pytest.approx(62.5)
    assert areas.loc[("op2025", "B2"), "share_pct"] == pytest.approx(37.5)
    assert (areas["share_pct"] == areas["share"] * 100).all()
    # areas.csv stays the machine contract: opjord's columns only
    header = (styled / "areas.csv").read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    assert "beslut" not in header and "share_pct" not in header


def test_a_prefixed_name_that_is_taken_gets_a_number(tmp_path):
    from conftest import plan_2017

    cfg = make_project(tmp_path)
    rows = plan_2017()
    for row in rows:
        row |= {"plan_name": "egen", "name": "krock", "AREA_HA": 1.5}
    write_layer(tmp_path / "raw/op2017.gpkg", rows)
    assert main(["analyse", "--config", str(cfg), "-q"]) == 0
    gpkg = tmp_path / "data/processed/analysis.gpkg"
    fields = list(pyogrio.read_info(gpkg, layer="areas")["fields"])
    assert fields[-6:] == ["omr_id", "namn", "typ", "plan_name", "plan_name_2", "plan_AREA_HA"]
    areas = gpd.read_file(gpkg, layer="areas")
    assert set(areas["plan_name"].dropna()) == {"egen"}
    assert set(areas["plan_name_2"].dropna()) == {"krock"}
    assert areas["area_ha"].tolist()[:2] == [16.0, 4.0]  # opjord's, not the plan's 1.5


def test_layer_descriptions_say_the_figures_are_measured_in_3006(styled, local_crs):
    for folder, crs in ((styled, None), (local_crs, "EPSG:3010")):
        with contextlib.closing(sqlite3.connect(folder / "analysis.gpkg")) as db:
            descriptions = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
        for layer in DATA_LAYERS:
            assert "mätta i EPSG:3006" in descriptions[layer], descriptions[layer]
            assert (crs in descriptions[layer]) if crs else ("omprojicerade" not in
                                                             descriptions[layer])


# ---------------------------------------------------------------------------- [output] crs


def test_output_crs_reprojects_the_layers_and_leaves_the_figures(styled, local_crs):
    assert (styled / "areas.csv").read_bytes() == (local_crs / "areas.csv").read_bytes()
    a, b = (json.loads((f / "summary.json").read_text(encoding="utf-8"))
            for f in (styled, local_crs))
    for key in ("plans", "comparisons", "municipal_agricultural_ha", "crs"):
        assert a[key] == b[key], key
    assert a["files"]["analysis.gpkg"] == b["files"]["analysis.gpkg"]
    for layer in DATA_LAYERS:
        assert pyogrio.read_info(local_crs / "analysis.gpkg", layer=layer)["crs"] == "EPSG:3010"
        assert pyogrio.read_info(styled / "analysis.gpkg", layer=layer)["crs"] == "EPSG:3006"
    local = gpd.read_file(local_crs / "analysis.gpkg", layer="areas")
    same = gpd.read_file(styled / "analysis.gpkg", layer="areas")
    assert (local.drop(columns="geometry").equals(same.drop(columns="geometry")))
    assert local.total_bounds[0] < 200_000  # SWEREF 99 16 30 coordinates, not 3006's
    back = local.to_crs("EPSG:3006")
    assert (back.geometry.area - same.geometry.area).abs().max() < 1.0  # m², a reprojection
    assert back.geometry.area.sum() / 1e4 == pytest.approx(same["area_ha"].sum(), rel=1e-6)
    # the map and the report were built from the 3010 GeoPackage (run, not only analyse)
    assert (local_crs.parent.parent / "maps/oversikt.html").is_file()


def test_output_crs_must_be_a_crs(project):
    project.write_text(project.read_text(encoding="utf-8") + '\n[output]\ncrs = "EPSG:99"\n',
                       encoding="utf-8")
    with pytest.raises(InputError, match=r"\[output\] `crs` = 'EPSG:99' är inget "
                                         "koordinatsystem"):
        load_config(project)
    edit_config(project, 'crs = "EPSG:99"', 'crs = "EPSG:3010"')
    assert load_config(project).output.crs == "EPSG:3010"


# ---------------------------------------------------------------------------- project


def _project(folder: Path) -> ET.Element:
    text = (folder / "opjord.qgs").read_text(encoding="utf-8")
    return ET.fromstring(text.split("\n", 2)[2])


def test_the_project_is_in_the_manifest_and_refers_to_the_gpkg_relatively(styled):
    manifest = json.loads((styled / ".opjord-manifest.json").read_text(encoding="utf-8"))
    assert "opjord.qgs" in json.dumps(manifest)
    root = _project(styled)
    sources = [d.text for d in root.iter("datasource")]
    vector = [s for s in sources if "layername=" in s]
    assert vector and all(s.startswith("./analysis.gpkg|layername=") for s in vector)
    assert root.find("properties/Paths/Absolute").text == "false"
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:3006"
    tree = root.find("layer-tree-group")
    groups = [g.get("name") for g in tree.findall("layer-tree-group")]
    assert groups == ["ÖP 2025", "ÖP 2017 (jämförelseplan)"]  # later plans above
    (osm,) = [s for s in sources if s.startswith("type=xyz")]
    assert "url=https%3A%2F%2Ftile.openstreetmap.org%2F%7Bz%7D" in osm


def test_no_basemap_layer_with_basemap_none_and_the_project_in_the_output_crs(local_crs):
    root = _project(local_crs)
    assert not [d for d in root.iter("datasource") if d.text.startswith("type=xyz")]
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:3010"
    extent = [float(root.find(f"mapcanvas/extent/{t}").text) for t in ("xmin", "xmax")]
    assert extent[0] < 200_000 < extent[1] or extent[1] < 200_000


# ---------------------------------------------------------------------------- real QGIS


def _qgis_available() -> bool:
    try:
        return subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def qgis_python() -> str:
    if not _qgis_available():
        pytest.fail(f"QGIS is missing: {QGIS_PYTHON} cannot import qgis.core; "
                    "run `bash scripts/install-test-deps` (python3-qgis)")
    return QGIS_PYTHON


def open_in_qgis(python: str, folder: Path, png: Path) -> dict:
    """What QGIS sees in `folder`'s analysis.gpkg and opjord.qgs (tests/qgis_open.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(png.parent)}
    done = subprocess.run([python, str(QGIS_OPEN), str(folder / "analysis.gpkg"),
                           str(folder / "opjord.qgs"), str(png), *DATA_LAYERS],
                          capture_output=True, text=True, timeout=600, env=env,
                          cwd=png.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def in_qgis(qgis_python, styled, tmp_path_factory) -> tuple[dict, Path]:
    """What QGIS sees in the styled run, and the PNG it rendered the project to."""
    png = tmp_path_factory.mktemp("qgis") / "opjord.png"
    return open_in_qgis(qgis_python, styled, png), png


def test_qgis_opens_every_layer_with_its_default_style(in_qgis):
    seen, _png = in_qgis
    for name in DATA_LAYERS:
        layer = seen["layers"][name]
        assert layer["valid"], name
        assert layer["renderer"]["type"] == ("singleSymbol" if name == "boundary"
                                             else "categorizedSymbol"), name
    areas = seen["layers"]["areas"]
    assert areas["features"] == 5 and areas["crs"] == "EPSG:3006"
    cats = areas["renderer"]["categories"]
    assert [(c["value"], c["label"]) for c in cats] == [
        ("op2017", "Utvecklingsområden ÖP 2017"), ("op2025", "Utvecklingsområden ÖP 2025")]
    base_fill, base_line = cats[0]["symbol"]
    assert base_line == {"class": "SimpleLine", "color": "#1a1a1a", "style": None,
                         "width": "5", "dash": "10;6"}
    assert base_fill["color"] == "#1a1a1a/15"
    assert cats[1]["symbol"][1]["color"] == "#7b1fa2" and cats[1]["symbol"][1]["dash"] is None
    fill, line = seen["layers"]["boundary"]["renderer"]["symbol"]
    assert fill["style"] == "no" and line["color"] == "#404040" and line["dash"] == "14;6;3;6"
    classes = seen["layers"]["agricultural_in_areas"]["renderer"]["categories"]
    assert [c["symbol"][0]["color"] for c in classes] == ["#f2c84b/166", "#8bc34a/166"]
    assert areas["aliases"]["share_pct"] == "Andel jordbruksmark (%)"
    assert areas["aliases"]["plan_name"] == "name (planens eget fält)"


def test_qgis_opens_the_project_grouped_per_plan_and_renders_it(in_qgis):
    seen, png = in_qgis
    project = seen["project"]
    assert project["read"] and project["crs"] == "EPSG:3006"
    assert all(la["valid"] for la in project["layers"]), project["layers"]
    by_name = {la["name"]: la for la in project["layers"]}
    assert by_name["OpenStreetMap"]["provider"] == "wms"
    assert "type=xyz" in by_name["OpenStreetMap"]["source"]
    assert by_name["Utvecklingsområden ÖP 2025"]["features"] == 3
    assert by_name["Utvecklingsområden ÖP 2025"]["subset"] == "\"plan\" = 'op2025'"
    assert by_name["Jordbruksmark i utvecklingsområden ÖP 2017"]["features"] == 2
    tree = project["tree"]
    assert [n.get("layer") or n.get("group") for n in tree] == [
        "Kommungräns", "ÖP 2025", "ÖP 2017 (jämförelseplan)", "OpenStreetMap"]
    assert [c["layer"] for c in tree[1]["children"]] == [
        "Utvecklingsområden ÖP 2025", "Nyutpekad jordbruksmark i ÖP 2025 (ej i ÖP 2017)",
        "Frisläppt jordbruksmark: i ÖP 2017 men inte i ÖP 2025",
        "Jordbruksmark i både ÖP 2025 och ÖP 2017", "Jordbruksmark i utvecklingsområden ÖP 2025",
        "Samlade utvecklingsområden ÖP 2025"]
    assert [c["layer"] for c in tree[2]["children"]] == [
        "Utvecklingsområden ÖP 2017", "Jordbruksmark i utvecklingsområden ÖP 2017",
        "Samlade utvecklingsområden ÖP 2017"]
    for la in project["layers"]:
        if la["provider"] == "ogr":
            assert la["renderer"]["type"] in ("categorizedSymbol", "singleSymbol")
    render = seen["render"]
    assert render["saved"] and png.stat().st_size > 1000
    assert "Kommungräns" in render["layers"] and render["non_white"] > 1000
    print(f"\nQGIS rendered the project to {png}")


def test_qgis_opens_the_project_in_the_output_crs(qgis_python, local_crs, tmp_path):
    seen = open_in_qgis(qgis_python, local_crs, tmp_path / "lokal.png")
    assert seen["project"]["crs"] == "EPSG:3010"
    assert {seen["layers"][n]["crs"] for n in DATA_LAYERS} == {"EPSG:3010"}
    assert all(la["valid"] for la in seen["project"]["layers"])
    assert not [la for la in seen["project"]["layers"] if la["provider"] == "wms"]
    assert seen["render"]["non_white"] > 1000
