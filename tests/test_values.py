"""Values compared as people read them: NFC always, case/space variants counted and warned,
empty ids never matched. Figures are the hand sums of conftest.py."""

from __future__ import annotations

import json
import unicodedata

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from conftest import box, edit_config, farmland_records, plan_2017, plan_2025, write_layer

from pipeline.analyse import analyse_frames, read_inputs
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.values import canonical, fold, nfc, ranks, variants
from pipeline.webmap import read_context_farmland

TOL = 1e-9
NFD_AKER = "A\u030aker"  # "Åker" as A + combining ring above, as some tools store it
NBSP = "\u00a0"


def run(cfg, capsys, *command: str) -> tuple[dict, str]:
    """Run `opjord analyse` (exit 0); the summary and what was written on stderr."""
    assert main([*(command or ("analyse",)), "--config", str(cfg), "-q"]) == 0
    err = capsys.readouterr().err
    summary = json.loads((cfg.parent / "data/processed/summary.json").read_text("utf-8"))
    return summary, err


def write_blocks(cfg, classes: list[str]) -> None:
    """The conftest farmland F1…F5 with these agoslag values, in that order."""
    records = farmland_records()
    for record, value in zip(records, classes, strict=True):
        record["agoslag"] = value
    write_layer(cfg.parent / "raw/blocks.gpkg", records, layer="jordbruksblock")


def stored(path, column: str, layer: str | None = None) -> list[str]:
    """The column's values exactly as the file holds them."""
    df = pyogrio.read_dataframe(path, layer=layer, columns=[column], read_geometry=False)
    return list(df[column])


def assert_fixture_figures(s: dict) -> None:
    """The figures of the unchanged fixture (test_analysis.py computes them by hand)."""
    base, later = s["plans"]["op2017"], s["plans"]["op2025"]
    assert base["agricultural_ha_by_class"] == pytest.approx({"Åker": 8.0, "Bete": 2.0}, abs=TOL)
    assert base["share"] == pytest.approx(10 / 18, abs=TOL)
    assert later["agricultural_ha_by_class"] == pytest.approx({"Åker": 11.25, "Bete": 2.0},
                                                              abs=TOL)
    assert later["share"] == pytest.approx(13.25 / 24.25, abs=TOL)
    assert s["municipal_agricultural_ha"]["agricultural_land"] == pytest.approx(23.0, abs=TOL)
    assert s["comparisons"]["op2025"]["goal_met"] is True


def test_nfd_and_nfc_in_one_layer_count_alike_and_silently(project, capsys):
    # F1 and F4 in NFD, F3 in NFC: all three are the same "Åker" to a person.
    write_blocks(project, [NFD_AKER, "Bete", "Åker", NFD_AKER, "Skog"])
    assert stored(project.parent / "raw/blocks.gpkg", "agoslag").count(NFD_AKER) == 2
    s, err = run(project, capsys)
    assert_fixture_figures(s)
    assert list(s["plans"]["op2017"]["agricultural_ha_by_class"]) == ["Åker", "Bete"]  # NFC keys
    # NFC is the same text: no warning beyond the fixture's own (B3 outside the boundary,
    # and ÖP 2025's share falling while its farmland grows).
    assert [w["code"] for w in s["warnings"]] == ["areas_outside_boundary", "ratio_trap"]
    assert "utanför kommungränsen" in s["warnings"][0]["message"]
    assert "versaler" not in err


CLASS_WARNING = (
    "Jordbruksmark blocks.gpkg ([agricultural_land]), kolumn 'agoslag': värden som bara "
    "skiljer sig från en klass i `classes` i versaler/gemener eller mellanslag runt texten "
    "räknas som den klassen: 'ÅKER' → 'Åker' (1 objekt, 4,00\u00a0ha); 'åker ' → 'Åker' "
    "(1 objekt, 16,00\u00a0ha). Rätta värdena i data så att de stavas som i `classes`, så "
    "försvinner varningen.")


def test_case_and_space_variants_count_and_are_reported(project, capsys):
    # F1 (16 ha) written "åker ", F4 (4 ha, 1 ha of it inside M) "ÅKER": without the
    # variants ÖP 2017 would hold 2 ha (Bete) and ÖP 2025 2 + 3 ha, and the goal flips.
    write_blocks(project, ["åker ", "Bete", "Åker", "ÅKER", "Skog"])
    s, err = run(project, capsys)
    assert_fixture_figures(s)
    assert s["warnings"][0]["message"] == CLASS_WARNING  # the features' own area: F4's whole 4 ha
    assert CLASS_WARNING in err and "varning: " in err
    # The pieces keep the source's own value; their class is the configured one.
    pieces = gpd.read_file(project.parent / "data/processed/analysis.gpkg",
                           layer="agricultural_in_areas")
    f1 = pieces[pieces["blockid"] == "00000000001"]
    assert set(f1["agoslag"]) == {"åker "} and set(f1["class"]) == {"Åker"}


def test_variants_reach_the_report(project, capsys):
    write_blocks(project, ["åker ", "Bete", "Åker", "ÅKER", "Skog"])
    run(project, capsys)
    assert main(["report", "--config", str(project), "-q"]) == 0
    md = (project.parent / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    assert f"``{CLASS_WARNING}``" in md


def test_nfd_variant_with_a_space_is_one_variant(project, capsys):
    # "Åker " in NFD (F1) and in NFC (F3) are one value to a person: one entry, 2 features.
    write_blocks(project, [NFD_AKER + " ", "Bete", "Åker ", "Åker", "Skog"])
    s, _ = run(project, capsys)
    assert_fixture_figures(s)
    assert "'Åker ' → 'Åker' (2 objekt, 20,00\u00a0ha)." in s["warnings"][0]["message"]
    assert NFD_AKER not in s["warnings"][0]["message"]


def test_validate_reports_the_variants(project, capsys):
    write_blocks(project, ["åker ", "Bete", "Åker", "ÅKER", "Skog"])
    assert main(["validate", "--config", str(project)]) == 0
    captured = capsys.readouterr()
    assert CLASS_WARNING in captured.err
    assert "Indata ser bra ut" in captured.out
    assert not (project.parent / "data").exists()


def test_exact_values_give_no_variant_warning(project, capsys):
    s, err = run(project, capsys)
    assert not any("versaler" in w["message"] for w in s["warnings"]) and "versaler" not in err


def test_unknown_values_still_do_not_count(project, capsys):
    # "Åkermark" is no variant of "Åker": F1 stops counting, as any unlisted class.
    write_blocks(project, ["Åkermark", "Bete", "Åker", "Åker", "Skog"])
    s, _ = run(project, capsys)
    # ÖP 2017: A1 meets F1 (now not counted) on 8 ha and F2 on 4 ha (no longer under F1).
    assert s["plans"]["op2017"]["agricultural_ha_by_class"] == pytest.approx(
        {"Åker": 0.0, "Bete": 4.0}, abs=TOL)
    assert not any("versaler" in w["message"] for w in s["warnings"])


def test_a_class_present_only_as_a_variant_is_present(project, capsys):
    # Every Åker is "ÅKER": the class occurs (no "never has the value" error), and counts.
    write_blocks(project, ["ÅKER", "Bete", "ÅKER", "ÅKER", "Skog"])
    s, _ = run(project, capsys)
    assert_fixture_figures(s)
    assert "'ÅKER' → 'Åker' (3 objekt, 24,00\u00a0ha)." in s["warnings"][0]["message"]


def test_nfd_classes_in_the_config_match_nfc_data(project, capsys):
    edit_config(project, 'classes = ["Åker", "Bete"]', f'classes = ["{NFD_AKER}", "Bete"]')
    assert NFD_AKER in project.read_text(encoding="utf-8")
    s, err = run(project, capsys)
    assert_fixture_figures(s)
    assert s["classes"] == ["Åker", "Bete"]  # summary.json, areas.csv columns: NFC
    assert "versaler" not in err


def test_classes_differing_only_by_case_are_a_config_error(project, capsys):
    edit_config(project, 'classes = ["Åker", "Bete"]', 'classes = ["Åker", "åker ", "Bete"]')
    assert main(["analyse", "--config", str(project), "-q"]) == 2
    err = capsys.readouterr().err
    assert ("[agricultural_land] `classes` anger klasser som bara skiljer sig i "
            "versaler/gemener") in err
    assert "'Åker', 'åker '" in err and "Traceback" not in err


def test_context_farmland_on_the_map_counts_the_variants(project):
    write_blocks(project, ["åker ", "Bete", NFD_AKER, "ÅKER", "Skog"])
    config = load_config(project)
    areas = gpd.GeoDataFrame(geometry=[box(200, 0, 600, 400)], crs=3006)
    context = read_context_farmland(config, {}, areas)
    assert context is not None
    # Within 1000 m of A1: F1, F2, F3, F4 (Skog left out), with the configured class names.
    assert sorted(context["class"]) == ["Bete", "Åker", "Åker", "Åker"]


# --------------------------------------------------------------------------- type values


def test_type_map_with_nfd_keys_and_variant_values(project, capsys):
    # ÖP 2017's map has an NFD key; ÖP 2025's data writes "Bostäder " for its key "bostäder".
    nfd = unicodedata.normalize("NFD", "bostäder")
    edit_config(project, 'type_column = "typ"\nbaseline = true',
                f'type_column = "typ"\ntype_map = {{ "{nfd}" = "boende" }}\nbaseline = true')
    text = project.read_text(encoding="utf-8")
    at = text.index('key = "op2025"')
    project.write_text(text[:at] + text[at:].replace(
        'type_column = "typ"', 'type_column = "typ"\ntype_map = { "bostäder" = "boende" }'),
        encoding="utf-8")
    rows = plan_2025()
    rows[0]["typ"] = "Bostäder "
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    s, err = run(project, capsys)
    t = pd.read_csv(project.parent / "data/processed/areas.csv", keep_default_na=False,
                    dtype=str).set_index(["plan", "area_id"])
    assert t.loc[("op2017", "A1"), "type"] == "boende"
    assert t.loc[("op2025", "A1"), "type"] == "boende"
    assert t.loc[("op2025", "B2"), "type"] == "blandad bebyggelse"  # unmapped: as it is
    expected = ("Plan op2025 (ÖP 2025), op2025.gpkg kolumn 'typ': typvärden som bara skiljer "
                "sig från en nyckel i `type_map` i versaler/gemener eller mellanslag runt "
                "texten översätts som den nyckeln: 'Bostäder ' → 'bostäder' (1 område, "
                "16,00\u00a0ha). Rätta värdena i data eller lägg till dem i `type_map`, så "
                "försvinner varningen.")
    assert expected in [w["message"] for w in s["warnings"]]
    assert expected in err
    assert not any("op2017" in w["message"] and "type_map" in w["message"]  # NFD: silent
                   for w in s["warnings"])


def test_type_map_keys_that_collide_must_map_alike(project, capsys):
    nfd = unicodedata.normalize("NFD", "bostäder")
    edit_config(project, 'type_column = "typ"\nbaseline = true',
                f'type_column = "typ"\ntype_map = {{ "{nfd}" = "boende", "bostäder" = "hus" }}'
                "\nbaseline = true")
    assert main(["analyse", "--config", str(project), "-q"]) == 2
    err = capsys.readouterr().err
    assert ("`type_map` översätter nycklar som bara skiljer sig i Unicode-form, "
            "versaler/gemener eller mellanslag runt texten till olika värden") in err
    assert "Åtgärd: behåll en av de nycklarna." in err


def test_nfd_names_are_written_in_nfc(project, capsys):
    rows = plan_2017()
    rows[0]["namn"] = unicodedata.normalize("NFD", "Ängen")
    write_layer(project.parent / "raw/op2017.gpkg", rows)
    run(project, capsys)
    t = pd.read_csv(project.parent / "data/processed/areas.csv", keep_default_na=False,
                    dtype=str).set_index(["plan", "area_id"])
    assert t.loc[("op2017", "A1"), "name"] == "Ängen"


# --------------------------------------------------------------------------------- ids


def test_ids_compare_in_nfc_and_without_surrounding_spaces(project, capsys):
    base, later = plan_2017(), plan_2025()
    base[0]["omr_id"] = "Ö1"
    later[0]["omr_id"] = unicodedata.normalize("NFD", "Ö1") + " "
    write_layer(project.parent / "raw/op2017.gpkg", base)
    write_layer(project.parent / "raw/op2025.gpkg", later)
    s, _ = run(project, capsys)
    t = pd.read_csv(project.parent / "data/processed/areas.csv", keep_default_na=False,
                    dtype=str).set_index(["plan", "area_id"])
    assert t.loc[("op2025", "Ö1"), "status"] == "kept"
    c = s["comparisons"]["op2025"]
    assert (c["area_matching"], c["areas_kept"], c["areas_new"], c["areas_removed"]) == (
        "id", 1, 2, 1)


def test_ids_repeated_once_stripped_are_not_unique(project, capsys):
    rows = plan_2025()
    rows[1]["omr_id"] = "A1 "
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    assert main(["analyse", "--config", str(project), "-q"]) == 2
    err = capsys.readouterr().err
    assert "op2025.gpkg: kolumnen 'omr_id' är inget unikt id (upprepade: A1)" in err


@pytest.mark.parametrize("command", ["analyse", "validate"])
def test_empty_ids_are_an_input_error(project, capsys, command):
    # Feature 1 has no geometry (dropped by cleaning); features 3 and 4 have no id: the
    # numbers are the layer's own, before cleaning.
    rows = [{"omr_id": "Z", "namn": "tom", "typ": "x", "geometry": None}, *plan_2025()]
    rows[2]["omr_id"] = None
    rows[3]["omr_id"] = "  "
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    assert main([command, "--config", str(project), "-q"]) == 2
    err = capsys.readouterr().err
    assert (f"{project.parent / 'raw/op2025.gpkg'}: kolumnen 'omr_id' är tom för 2 av 3 "
            "områden (objektnummer 3, 4, där skiktets första objekt är 1)") in err
    assert "ta bort `id_column` från [[plans]] #2 (op2025)" in err and "Traceback" not in err
    assert not (project.parent / "data").exists()


@pytest.mark.parametrize("empty", ["", "  ", pd.NA])
def test_empty_ids_never_match_each_other(project, empty):
    # Both plans hold A1 and the same second area, whose id is empty in both: A1 is kept,
    # the empty-id areas are not the "same" area by id.
    config = load_config(project)
    inputs = read_inputs(config)
    base = inputs.areas_by_plan["op2017"].copy()
    base.loc[1, "area_id"] = empty
    later = base.copy()
    later["plan"] = "op2025"
    frames = {"op2017": base, "op2025": later}
    analysis = analyse_frames(config, frames, inputs.farmland, inputs.boundary)
    c = analysis.comparisons["op2025"]
    assert (c["area_matching"], c["areas_kept"], c["areas_new"], c["areas_changed"],
            c["areas_removed"]) == ("id", 1, 1, 0, 1)
    rows = analysis.areas.set_index("plan")
    assert list(rows.loc["op2025", "status"]) == ["kept", "new"]
    assert list(rows.loc["op2017", "status"]) == ["", "removed"]
    assert pd.isna(rows.loc["op2025", "matched_area_id"].iloc[1])


# ------------------------------------------------------------------------------ helpers


def test_canonical_ranks_and_variants():
    values = pd.Series([NFD_AKER, "åker ", "Bete", None, "ÅKER", "Skog", "Åker"])
    targets = ("Åker", "Bete")
    assert list(canonical(values, targets).fillna("-")) == [
        "Åker", "Åker", "Bete", "-", "Åker", "Skog", "Åker"]
    assert list(ranks(values, targets)) == [0, 0, 1, -1, 0, -1, 0]
    sides = [100, 100 * 2 ** 0.5, 1, 1, 200, 1, 1]  # m: 1 ha, 2 ha, …, 4 ha
    found = variants(values, targets, [box(0, 0, a, a) for a in sides])
    assert [(v.value, v.target, v.features) for v in found] == [
        ("ÅKER", "Åker", 1), ("åker ", "Åker", 1)]
    assert [v.area_ha for v in found] == pytest.approx([4.0, 2.0], abs=TOL)
    assert nfc(NFD_AKER) == "Åker" and fold(f"{NFD_AKER}{NBSP}") == "åker"


def test_ambiguous_variants_are_left_alone():
    # With two targets that differ only by case, "AKER" cannot choose: it stays as it is.
    assert list(canonical(pd.Series(["AKER", "aker"]), ("Aker", "aker"))) == ["AKER", "aker"]
    assert list(ranks(pd.Series(["AKER"]), ("Aker", "aker"))) == [-1]
