"""The results contract: one home for the area columns, their labels and the texts."""

from __future__ import annotations

import zipfile

import pandas as pd
import pyogrio

from pipeline import results
from pipeline.cli import main


def test_an_area_column_added_to_the_contract_reaches_every_output(project, monkeypatch):
    """A derived column defined in pipeline.results alone: CSV, GeoPackage, workbook, map."""
    other = results.DerivedColumn(
        "other_land_ha", "Annan mark (ha)", "ha", "the area minus its agricultural land, ha",
        compute=lambda frame: frame["area_ha"] - frame["agricultural_ha"])
    monkeypatch.setattr(results, "DERIVED_AREA_COLUMNS", (other,))
    assert main(["run", "--config", str(project), "-q"]) == 0
    root = project.parent
    csv = pd.read_csv(root / "data/processed/areas.csv", dtype={"area_id": str})
    a1 = csv[(csv["plan"] == "op2017") & (csv["area_id"] == "A1")].iloc[0]
    assert a1["other_land_ha"] == 6.0  # A1: 16 ha, of which Åker 8 + Bete 2 (conftest)
    assert list(csv.columns).index("other_land_ha") == list(csv.columns).index(
        results.EFFECT_COLUMNS[-1].name) + 1
    gpkg = pyogrio.read_dataframe(root / "data/processed/analysis.gpkg", layer="areas",
                                  read_geometry=False)
    assert gpkg.loc[(gpkg["plan"] == "op2017") & (gpkg["area_id"] == "A1"),
                    "other_land_ha"].item() == 6.0
    with zipfile.ZipFile(root / "data/processed/opjord.xlsx") as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "Annan mark (ha)" in strings
    page = (root / "maps/oversikt.html").read_text(encoding="utf-8")
    assert ">Annan mark (ha)<" in page  # the table's header
    assert '"other_land_ha": "6,0\\u00a0ha"' in page  # the popup's property
    report = (root / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    header = next(line for line in report.splitlines() if line.startswith("| Område |"))
    assert header.rstrip().endswith("| Annan mark (ha) |")  # the report's area table


def test_status_and_goal_texts_have_one_home():
    assert [results.status_label(s) for s in ("new", "kept", "changed", "removed", "", None)] \
        == ["ny", "kvar", "ändrad", "borttagen", "", ""]
    assert results.goal_text(True) == "målet är uppfyllt"
    assert results.goal_text(False, reason=True) == (
        "målet är inte uppfyllt: andelen har inte minskat")
    assert results.goal_text(None) == "målet kan inte bedömas"
    assert results.goal_answer(None) == "Kan inte bedömas"


def test_warning_codes_are_documented():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs/outputs.md").read_text(encoding="utf-8")
    for code in results.WARNING_CODES:
        assert f"| `{code}` |" in text, code


def test_every_file_of_a_shapefile_input_is_listed_with_its_own_sha256(project):
    """sha256sum can check each part; the combined digest stays for the run id."""
    import hashlib
    import json

    import geopandas as gpd
    from conftest import edit_config

    raw = project.parent / "raw"
    gpd.read_file(raw / "op2017.gpkg").to_file(raw / "op2017.shp", engine="pyogrio")
    edit_config(project, 'path = "raw/op2017.gpkg"', 'path = "raw/op2017.shp"')
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    summary = json.loads((project.parent / "data/processed/summary.json").read_text("utf-8"))
    (entry,) = [i for i in summary["inputs"] if i["role"] == "plan:op2017"]
    listed = {f["path"]: f["sha256"] for f in entry["files"]}
    assert list(listed) == [f"raw/op2017.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")]
    for path, digest in listed.items():
        assert digest == hashlib.sha256((project.parent / path).read_bytes()).hexdigest()
    whole = hashlib.sha256(b"".join((project.parent / p).read_bytes() for p in listed))
    assert entry["sha256"] == whole.hexdigest()
    (blocks,) = [i for i in summary["inputs"] if i["role"] == "agricultural_land"]
    assert blocks["files"] == [{"path": "raw/blocks.gpkg", "sha256": blocks["sha256"]}]
