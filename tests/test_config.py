"""Config values a tester would try: numbers TOML allows but no map or fetch can use, and a
plan's own agricultural layer with other classes than the shared one."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pyogrio
import pytest
from conftest import edit_config

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import InputError


def _config_error(cfg, capsys, *needles: str) -> str:
    """load_config raises InputError with the needles; the CLI exits 2 without a traceback."""
    with pytest.raises(InputError) as err:
        load_config(cfg, inputs_must_exist=False)
    message = str(err.value)
    for needle in (str(cfg), *needles):
        assert needle in message, message
    assert main(["validate", "--config", str(cfg)]) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and needles[0] in stderr
    return message


def _append(cfg, text: str) -> None:
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


# --- numbers -------------------------------------------------------------------------


INFINITE, OUT, FLOAT, INT = ("är inte ett ändligt tal", "ligger utanför det tillåtna",
                              "ska vara ett tal", "ska vara ett heltal")


@pytest.mark.parametrize("value, problem", [
    ("nan", INFINITE), ("inf", INFINITE), ("-inf", INFINITE), ("-1", OUT), ("-0.5", OUT),
    ("1e9", OUT), ("true", FLOAT), ('"2"', FLOAT),
])
def test_simplify_tolerance_traps(project, capsys, value, problem):
    _append(project, f"[webmap]\nsimplify_tolerance_m = {value}")
    message = _config_error(project, capsys, "[webmap] `simplify_tolerance_m`", problem)
    if problem == OUT:
        assert "(0 till 1\u00a0000 m)" in message


@pytest.mark.parametrize("value, problem", [
    ("nan", INFINITE), ("inf", INFINITE), ("-1", OUT), ("100001", OUT), ("false", FLOAT),
])
def test_context_buffer_traps(project, capsys, value, problem):
    _append(project, f"[webmap]\ncontext_buffer_m = {value}")
    _config_error(project, capsys, "[webmap] `context_buffer_m`", problem)


@pytest.mark.parametrize("value, problem", [
    ("0", OUT), ("-1", OUT), ("100001", OUT), ("nan", INT), ("inf", INT), ("2.5", INT),
    ("true", INT),
])
def test_page_size_traps(project, capsys, value, problem):
    _append(project, f"[fetch]\npage_size = {value}")
    _config_error(project, capsys, "[fetch] `page_size`", problem)


@pytest.mark.parametrize("value, problem", [
    ("nan", INFINITE), ("inf", INFINITE), ("-inf", INFINITE), ("true", FLOAT),
])
def test_nodata_traps(project, capsys, value, problem):
    _append(project, f'[landcover]\npath = "raw/nmd.tif"\nnodata = {value}')
    _config_error(project, capsys, "[landcover] `nodata`", problem)


def test_every_bad_number_is_reported_at_once(project):
    _append(project, "[webmap]\nsimplify_tolerance_m = nan\ncontext_buffer_m = -inf\n"
                     "[fetch]\npage_size = 0")
    with pytest.raises(InputError) as err:
        load_config(project)
    assert len(err.value.problems) == 3


def test_edge_values_are_accepted(project):
    _append(project, "[webmap]\nsimplify_tolerance_m = 0\ncontext_buffer_m = 100000\n"
                     "[fetch]\npage_size = 1\n"
                     '[landcover]\npath = "raw/nmd.tif"\nnodata = -1')
    config = load_config(project, inputs_must_exist=False)
    assert config.webmap.simplify_tolerance_m == 0.0
    assert config.webmap.context_buffer_m == 100_000.0
    assert config.fetch.page_size == 1
    assert config.landcover.nodata == -1.0


def test_defaults_are_unchanged(project):
    config = load_config(project)
    assert config.webmap.simplify_tolerance_m == 2.0
    assert config.webmap.context_buffer_m == 1000.0
    assert config.fetch.page_size == 5000


# --- a plan's own agricultural layer ---------------------------------------------------


OWN = ('path = "raw/op2025.gpkg"\nagricultural_land = {{ path = "raw/blocks_2025.gpkg", '
       'layer = "jordbruksblock"{extra} }}')


def _own_layer(project, extra: str = "") -> None:
    raw = project.parent / "raw"
    shutil.copy(raw / "blocks.gpkg", raw / "blocks_2025.gpkg")
    edit_config(project, 'path = "raw/op2025.gpkg"', OWN.format(extra=extra))


@pytest.mark.parametrize("classes", ['["Åker"]', '["Bete", "Åker"]', '["Åker", "Bete", "Skog"]',
                                     '["Skog", "Åker"]', '["åker", "Bete"]'])
def test_own_classes_must_match_the_shared_ones(project, capsys, classes):
    _own_layer(project, f", classes = {classes}")
    message = _config_error(project, capsys, "[[plans]] #2 (op2025) agricultural_land `classes`",
                            classes, '["Åker", "Bete"]', "samma klasser i samma ordning")
    assert main(["analyse", "--config", str(project), "-q"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not (project.parent / "data").exists()
    assert message.count("Åtgärd:") == 1


def _figures(project) -> dict:
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    summary = json.loads((project.parent / "data/processed/summary.json").read_text("utf-8"))
    return {k: (p["agricultural_ha"], p["agricultural_ha_by_class"])
            for k, p in summary["plans"].items()}


def test_own_layer_without_classes_uses_the_shared_ones(project):
    edit_config(project, 'classes = ["Åker", "Bete"]', 'classes = ["Bete", "Åker"]')
    _own_layer(project)
    config = load_config(project)
    assert config.plans[1].agricultural_land.classes == ("Bete", "Åker")
    # ÖP 2025 on its own copy of the blocks: Bete first, so Bete keeps the 2 ha under F1
    # (A1: Åker 6, Bete 4; B2: Åker 3; B3: Åker 0.25 inside the boundary)
    assert _figures(project)["op2025"] == (pytest.approx(13.25),
                                           {"Bete": pytest.approx(4.0),
                                            "Åker": pytest.approx(9.25)})


def test_own_classes_in_another_unicode_form_are_the_same_classes(project):
    """"Åker" typed as A + combining ring (NFD) is the shared class "Åker" (NFC) when the
    plan's layer spells it that way too: its area counts as Åker, not as nothing."""
    before = _figures(project)
    shutil.rmtree(project.parent / "data")
    raw = project.parent / "raw"
    blocks = pyogrio.read_dataframe(raw / "blocks.gpkg")
    blocks["agoslag"] = [unicodedata.normalize("NFD", v) for v in blocks["agoslag"]]
    pyogrio.write_dataframe(blocks, raw / "blocks_nfd.gpkg", layer="jordbruksblock")
    nfd = unicodedata.normalize("NFD", "Åker")
    assert nfd != "Åker"
    edit_config(project, 'path = "raw/op2025.gpkg"',
                'path = "raw/op2025.gpkg"\nagricultural_land = { path = "raw/blocks_nfd.gpkg", '
                f'class_column = "agoslag", classes = ["{nfd}", "Bete"] }}')
    after = _figures(project)
    assert after == before
    assert after["op2025"][1]["Åker"] == pytest.approx(11.25)
    pieces = pyogrio.read_dataframe(project.parent / "data/processed/analysis.gpkg",
                                    layer="agricultural_in_areas", read_geometry=False)
    assert set(pieces["class"]) == {"Åker", "Bete"}  # one spelling in the outputs


# --- defaults and accepted keys, table by table ----------------------------------------


MINIMAL = """\
[agricultural_land]
path = "raw/blocks.gpkg"

[[plans]]
key = "op2017"
path = "raw/op2017.gpkg"
baseline = true
"""


def test_a_minimal_config_gets_the_documented_defaults(tmp_path):
    cfg = tmp_path / "opjord.toml"
    cfg.write_text(MINIMAL + '\n[landcover]\npath = "raw/nmd.tif"\n', encoding="utf-8")
    config = load_config(cfg, inputs_must_exist=False)
    assert (config.kommun, config.kommunkod, config.boundary) == (None, None, None)
    agri = config.agricultural_land
    assert (agri.path, agri.layer, agri.crs, agri.class_column, agri.classes) == (
        tmp_path / "raw/blocks.gpkg", None, None, "agoslag", ("Åker", "Bete"))
    (plan,) = config.plans
    assert (plan.label, plan.id_column, plan.name_column, plan.type_column, plan.type_map,
            plan.baseline, plan.agricultural_land) == ("op2017", None, None, None, {}, True,
                                                       None)
    lc = config.landcover
    assert (lc.agricultural_codes, lc.nodata, lc.crs, lc.exclude_nodata) == ((3,), None, None,
                                                                            False)
    assert (config.output.processed, config.output.maps, config.output.reports) == (
        tmp_path / "data/processed", tmp_path / "maps", tmp_path / "reports")
    w = config.webmap
    assert (w.basemap, w.tile_url, w.attribution, w.simplify_tolerance_m,
            w.context_buffer_m) == ("osm", None, None, 2.0, 1000.0)
    f = config.fetch
    assert (f.url, f.layer_latest, f.layer_years, f.page_size) == (
        "https://epub.sjv.se/inspire/inspire/wfs", "inspire:senaste_arslager_block",
        "inspire:arslager_block", 5000)


VECTOR = {"path", "layer", "crs"}
AGRICULTURAL = VECTOR | {"class_column", "classes"}
# (where the unknown key goes: text to find, text to put instead), the table's known keys
KNOWN_KEYS = {
    "top level": (("[project]", "okand = 1\n[project]"),
                  {"project", "boundary", "agricultural_land", "landcover", "plans", "output",
                   "webmap", "fetch", "publication"}),
    "[project]": (("[project]", "[project]\nokand = 1"), {"kommun", "kommunkod"}),
    "[boundary]": (("[boundary]", "[boundary]\nokand = 1"), VECTOR),
    "[agricultural_land]": (("[agricultural_land]", "[agricultural_land]\nokand = 1"),
                            AGRICULTURAL),
    "[[plans]] #1 (op2017)": (('key = "op2017"', 'key = "op2017"\nokand = 1'),
                              VECTOR | {"key", "label", "id_column", "name_column",
                                        "type_column", "type_map", "baseline",
                                        "agricultural_land"}),
    "[[plans]] #2 (op2025) agricultural_land": (
        ('key = "op2025"', 'key = "op2025"\nagricultural_land = { path = "raw/blocks.gpkg", '
                           "okand = 1 }"), AGRICULTURAL),
    "[landcover]": ((None, '[landcover]\npath = "raw/nmd.tif"\nokand = 1'),
                    {"path", "agricultural_codes", "nodata", "crs", "exclude_nodata"}),
    "[output]": ((None, "[output]\nokand = 1"), {"processed", "maps", "reports", "crs"}),
    "[webmap]": ((None, "[webmap]\nokand = 1"),
                 {"basemap", "tile_url", "attribution", "api_key_env", "simplify_tolerance_m",
                  "context_buffer_m"}),
    "[fetch]": ((None, "[fetch]\nokand = 1"), {"url", "layer_latest", "layer_years",
                                               "page_size"}),
    "[publication]": ((None, "[publication]\nokand = 1"),
                      {"publisher", "goal", "goal_id", "goal_source", "contact_email",
                       "contact_phone", "contact_url", "credits"}),
    "[publication] credits #1": (
        (None, '[publication]\ncredits = [{ source = "A", text = "B", okand = 1 }]'),
        {"source", "text", "url"}),
}


@pytest.mark.parametrize("table", list(KNOWN_KEYS))
def test_each_table_names_exactly_its_known_keys(project, table):
    (old, new), known = KNOWN_KEYS[table]
    if old is None:
        _append(project, new)
    else:
        edit_config(project, old, new)
    with pytest.raises(InputError) as err:
        load_config(project, inputs_must_exist=False)
    (problem,) = err.value.problems
    where = "konfigurationsfilen" if table == "top level" else table
    assert problem.startswith(f"{project}: {where} `okand` är ingen känd nyckel. Åtgärd: ")
    listed = problem.split("kända nycklar här: ")[1].removesuffix(".").split(", ")
    assert listed == [f"`{k}`" for k in sorted(known)]
    assert main(["validate", "--config", str(project), "-q"]) == 2
    # Without the unknown key the same tables are accepted.
    project.write_text(project.read_text(encoding="utf-8").replace(", okand = 1", "")
                       .replace("okand = 1", ""), encoding="utf-8")
    load_config(project, inputs_must_exist=False)


# --- [publication] -------------------------------------------------------------------


@pytest.mark.parametrize("line, needle, problem", [
    ('contact_email = "kontakt.kommun.se"', "`contact_email`", "är ingen e-postadress"),
    ('contact_email = "a b@kommun.se"', "`contact_email`", "är ingen e-postadress"),
    ('contact_phone = "ring oss"', "`contact_phone`", "är inget telefonnummer"),
    ('contact_phone = "12"', "`contact_phone`", "är inget telefonnummer"),
    ('contact_url = "www.kommun.se"', "`contact_url`", "är ingen webbadress"),
    ('contact_url = "javascript:alert(1)"', "`contact_url`", "är ingen webbadress"),
    ('goal = ""', "`goal`", "är tom"),
    ('goal = 3', "`goal`", "ska vara en text"),
    (f'goal = "{"x" * 1001}"', "`goal`", "1\u00a0001 tecken lång"),
    ('goal_id = "ett mycket långt målnummer"', "`goal_id`", "längre än 20 tecken"),
    ('publisher = " "', "`publisher`", "är tom"),
    ('credits = "Jordbruksverket"', "`credits`", "ska vara en lista"),
    ('credits = ["Jordbruksverket"]', "[publication] credits #1", "ska vara en tabell"),
    ('credits = [{ text = "Karta" }]', "credits #1 `source`", "saknas"),
    ('credits = [{ source = "A", text = "B" }, { source = "C" }]', "credits #2 `text`",
     "saknas"),
    ('credits = [{ source = "A", text = "B", url = "ftp://x.se" }]', "credits #1 `url`",
     "är ingen webbadress"),
])
def test_publication_traps(project, capsys, line, needle, problem):
    _append(project, f"[publication]\n{line}")
    _config_error(project, capsys, needle, problem)


def test_publication_values_are_read(project):
    _append(project, """[publication]
publisher = "Testkommunen"
goal = \"\"\"Mål 7. Andelen  ska
minska.\"\"\"
goal_id = "7"
goal_source = "Budget 2026"
contact_email = "gis@test.se"
contact_phone = "+46 8-123 45 67"
contact_url = "https://test.se/kontakt"
credits = [{ source = "SCB", text = "Tätorter", url = "https://scb.se" },
           { source = "X", text = "Y" }]
""")
    pub = load_config(project, inputs_must_exist=False).publication
    assert (pub.publisher, pub.goal, pub.goal_id, pub.goal_source) == (
        "Testkommunen", "Mål 7. Andelen ska minska.", "7", "Budget 2026")
    assert (pub.contact_email, pub.contact_phone, pub.contact_url) == (
        "gis@test.se", "+46 8-123 45 67", "https://test.se/kontakt")
    assert [(c.source, c.text, c.url) for c in pub.credits] == [
        ("SCB", "Tätorter", "https://scb.se"), ("X", "Y", None)]


def test_every_publication_problem_is_reported_at_once(project):
    _append(project, '[publication]\ncontact_email = "x"\ncontact_url = "y"\n'
                     'credits = [{ url = "z" }]')
    with pytest.raises(InputError) as err:
        load_config(project, inputs_must_exist=False)
    assert len(err.value.problems) == 5  # e-mail, url, and the credit's source, text, url
