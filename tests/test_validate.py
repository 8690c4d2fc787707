"""`opjord validate` finds what `opjord run` would warn about, and names the features: a
repaired plan area, an area outside the boundary, a `type_map` key no area has, a feature
without geometry; `run`'s own messages name them the same way."""

from __future__ import annotations

import json

import shapely
from conftest import X0, Y0, box, edit_config, plan_2025, write_layer

from pipeline.cli import main


def _bowtie(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    """A self-intersecting ring (invalid; make_valid gives two triangles)."""
    return shapely.Polygon([(X0 + x1, Y0 + y1), (X0 + x2, Y0 + y2), (X0 + x2, Y0 + y1),
                            (X0 + x1, Y0 + y2)])


def _damaged_project(project) -> None:
    """ÖP 2025: B2 a bowtie (repaired), B3 ¾ outside the boundary (as in the fixture), a
    fourth feature C4 without geometry (dropped); `type_map` with a key no area has."""
    rows = plan_2025()
    rows[1]["geometry"] = _bowtie(550, 550, 850, 850)
    rows.append({"omr_id": "C4", "namn": "Tomma", "typ": "bostäder", "geometry": None})
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    edit_config(project, 'label = "ÖP 2025"\npath = "raw/op2025.gpkg"',
                'label = "ÖP 2025"\npath = "raw/op2025.gpkg"\n'
                'type_map = { "bostäder" = "bostäder", "Handel" = "handel" }')


def test_validate_names_each_feature(project, capsys):
    _damaged_project(project)
    assert main(["validate", "--config", str(project)]) == 0
    out, err = capsys.readouterr()
    plan_line = next(line for line in out.splitlines() if line.startswith("Plan ÖP 2025"))
    # fids of a GeoPackage written by GDAL start at 1, in row order
    assert plan_line.endswith("3 behållna; 1 lagat (make_valid), 1 utan geometri borttaget; "
                              "lagade: B2 (fid 2); borttagna: C4 (fid 4)"), plan_line
    assert ("Plan op2025 (ÖP 2025): 0,75\u00a0ha av planens utvecklingsområden ligger utanför "
            "kommungränsen") in err
    assert "Områden som når utanför: B3." in err
    assert ("`type_map` har nycklar som inget område har som typ ('Handel'), så de översätter "
            "ingenting. Typer i data: 'blandad bebyggelse', 'bostäder', 'verksamheter'.") in err
    assert "Indata ser bra ut: inga fel hittades; 2 varningar ovan" in out
    assert not (project.parent / "data").exists()


def test_run_warns_the_same_and_names_the_features(project, capsys):
    _damaged_project(project)
    assert main(["validate", "--config", str(project), "-q"]) == 0
    validated = capsys.readouterr().err
    assert main(["run", "--config", str(project), "-v"]) == 0
    err = capsys.readouterr().err
    assert "lagade: B2 (fid 2); borttagna: C4 (fid 4)" in err
    summary = json.loads((project.parent / "data/processed/summary.json").read_text("utf-8"))
    warnings = {w["code"]: w["message"] for w in summary["warnings"]}
    assert set(warnings) == {"areas_outside_boundary", "type_map_unused"}
    for message in warnings.values():  # validate gave the very same warnings
        assert message in validated, message
    assert warnings["areas_outside_boundary"].endswith("Områden som når utanför: B3.")
    plan = next(i for i in summary["inputs"] if i["role"] == "plan:op2025")
    assert plan["cleaning"] == {"features_read": 4, "null_dropped": 1, "empty_dropped": 0,
                                "repaired": 1, "z_dropped": 0,
                                "non_polygonal_parts_dropped": 0, "features_kept": 3}


def test_many_features_are_named_ten_then_counted(project, capsys):
    rows = [{"omr_id": f"Y{i:02d}", "namn": "x", "typ": "bostäder",
             "geometry": box(i * 10, 900, i * 10 + 5, 1100)} for i in range(13)]
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    assert main(["validate", "--config", str(project), "-q"]) == 0
    err = capsys.readouterr().err
    shown = ", ".join(f"Y{i:02d}" for i in range(10))
    assert f"Områden som når utanför: {shown} och 3 till." in err


def test_without_an_id_column_features_are_named_by_fid(project, capsys):
    rows = [{"geometry": _bowtie(0, 0, 100, 100)}, {"geometry": box(200, 200, 300, 300)}]
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    edit_config(project, 'path = "raw/op2025.gpkg"\nid_column = "omr_id"\nname_column = "namn"\n'
                'type_column = "typ"', 'path = "raw/op2025.gpkg"')
    assert main(["validate", "--config", str(project)]) == 0
    out = capsys.readouterr().out
    assert "2 behållna; 1 lagat (make_valid); lagade: fid 1" in out
