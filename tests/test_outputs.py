"""Output folders: never among the inputs, only opjord's own files, one run at a time.

Each case is a mistake a planner can make in `[output]`, or something that happens to
a run (a failure, Ctrl-C, a killed process, a file held open): the test checks the
exit code, the message and, file by file, that nothing else was touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import edit_config, snapshot

from pipeline import outputs
from pipeline.cli import main
from pipeline.config import load_config


def run_cli(cfg: Path, *args: str) -> int:
    return main([*args, "--config", str(cfg)] if args else ["run", "--config", str(cfg)])


# ---------------------------------------------------------------------------- unsafe folders


UNSAFE = {  # [output] lines -> words the message must contain
    'maps = "raw"': ["maps", "är mappen där indatafilen", "boundary.gpkg ligger"],
    'maps = "raw/op2017.gpkg/.."': ["maps", "är mappen där indatafilen"],
    'maps = "."': ["maps", "konfigurationsfilens mapp"],
    'maps = ".."': ["maps", "konfigurationsfilens mapp"],
    'processed = "raw/resultat"': ["processed", "ligger i indatamappen"],
    'reports = "raw/op2017.gpkg"': ["reports", "befintlig fil"],
    'maps = "data/processed"': ["maps", "samma mapp som [output] processed"],
    'maps = "data"': ["maps", "innehåller [output] processed"],
    'reports = "data/processed/rapport"': ["reports", "ligger inuti [output] processed"],
}


@pytest.mark.parametrize("line", list(UNSAFE))
def test_unsafe_output_folder_is_refused_before_anything_is_written(project, capsys, line):
    with project.open("a", encoding="utf-8") as fh:
        fh.write(f"\n[output]\n{line}\n")
    (project.parent / "data").mkdir(exist_ok=True)
    before = snapshot(project.parent)
    for command in ("run", "analyse", "map", "report", "validate"):
        assert run_cli(project, command) == 2, command
        err = capsys.readouterr().err
        assert "Traceback" not in err
        for word in UNSAFE[line]:
            assert word in err, (command, err)
        assert "Åtgärd:" in err
    assert snapshot(project.parent) == before


def test_outputs_may_lie_in_the_project_folder_that_holds_inputs(project, capsys):
    """Layers beside opjord.toml: that folder is the project's, outputs below it are fine."""
    root = project.parent
    for name in ("op2017.gpkg", "op2025.gpkg"):
        (root / "raw" / name).rename(root / name)
    edit_config(project, 'path = "raw/op2017.gpkg"', 'path = "op2017.gpkg"')
    edit_config(project, 'path = "raw/op2025.gpkg"', 'path = "op2025.gpkg"')
    assert run_cli(project) == 0, capsys.readouterr().err
    assert (root / "data/processed/summary.json").is_file()
    assert (root / "maps/index.html").is_file()


def test_folder_problems_see_through_symlinks(project, tmp_path):
    link = tmp_path / "genväg"
    link.symlink_to(project.parent / "raw", target_is_directory=True)
    with project.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[output]\nmaps = "{link.as_posix()}"\n')
    problems = outputs.folder_problems(load_config(project))
    assert len(problems) == 1 and "är mappen där indatafilen" in problems[0]


# ---------------------------------------------------------------------------- own files only


def test_files_opjord_did_not_write_are_left_alone(project, capsys):
    root = project.parent
    (root / "maps").mkdir()
    (root / "maps" / "README.md").write_text("egen\n", encoding="utf-8")
    (root / "maps" / "anteckningar.txt").write_text("mina\n", encoding="utf-8")
    assert run_cli(project) == 0
    assert run_cli(project) == 0
    assert (root / "maps" / "README.md").read_text(encoding="utf-8") == "egen\n"
    assert (root / "maps" / "anteckningar.txt").read_text(encoding="utf-8") == "mina\n"
    manifest = json.loads((root / "maps" / outputs.MANIFEST).read_text(encoding="utf-8"))
    assert "index.html" in manifest["files"] and "README.md" not in manifest["files"]
    assert not [p for p in root.rglob(".opjord-stage-*")]


def test_a_taken_name_is_refused_and_nothing_changes(project, capsys):
    root = project.parent
    assert run_cli(project) == 0
    (root / "maps" / outputs.MANIFEST).unlink()  # maps/ now holds files opjord has no record of
    edit_config(project, 'label = "ÖP 2025"', 'label = "ÖP 2025 (granskning)"')
    before = snapshot(root)
    capsys.readouterr()
    assert run_cli(project) == 2
    err = capsys.readouterr().err
    assert "index.html: finns redan i webbkartormappen men är inte skriven av opjord" in err
    assert snapshot(root) == before  # processed and reports too: one run, one set


def test_outputs_no_longer_made_are_removed(project):
    root = project.parent
    assert run_cli(project) == 0
    assert (root / "reports/figures/karta_op2025.png").is_file()
    text = project.read_text(encoding="utf-8")
    project.write_text(text[:text.rindex("[[plans]]")], encoding="utf-8")  # only the baseline
    assert run_cli(project) == 0
    figures = sorted(p.name for p in (root / "reports/figures").iterdir())
    assert figures == ["andel_per_plan.png", "topp_op2017.png"]
    manifest = json.loads((root / "reports" / outputs.MANIFEST).read_text(encoding="utf-8"))
    assert "figures/karta_op2025.png" not in manifest["files"]


def test_leftover_staging_of_an_interrupted_run_is_cleaned_up(project):
    root = project.parent
    for folder in ("data/processed", "maps"):
        leftover = root / folder / f"{outputs.STAGE_PREFIX}0123abcd"
        leftover.mkdir(parents=True)
        (leftover / "index.html").write_text("halv", encoding="utf-8")
    assert run_cli(project) == 0
    assert not list(root.rglob(f"{outputs.STAGE_PREFIX}*"))
    assert not list(root.rglob(f"{outputs.OLD_PREFIX}*"))


# ---------------------------------------------------------------------------- one run, one set


def stamps(root: Path) -> set[str]:
    """Every run id the three folders state (manifests, summary, map pages, report)."""
    found = set()
    for folder in ("data/processed", "maps", "reports"):
        manifest = root / folder / outputs.MANIFEST
        if manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            found.add(data["run_id"])
            for rel in data["files"]:
                assert (root / folder / rel).is_file(), rel  # listed files are there
    summary = root / "data/processed/summary.json"
    if summary.is_file():
        found.add(json.loads(summary.read_text(encoding="utf-8"))["run_id"])
    for page in ("index.html", "oversikt.html", "tillganglighet.html"):
        if (root / "maps" / page).is_file():
            found |= set(re.findall(r'name="opjord-run" content="([0-9a-f]+)"',
                                    (root / "maps" / page).read_text(encoding="utf-8")))
    report = root / "reports/uppfoljning_3a.md"
    if report.is_file():
        found |= set(re.findall(r"Körnings-id: `([0-9a-f]+)`", report.read_text(encoding="utf-8")))
    return found


KILLER = textwrap.dedent("""
    import importlib, os, signal, sys
    target, nth, sig = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    module, name = target.rsplit(":", 1)
    owner = importlib.import_module(module)
    original, calls = getattr(owner, name), [0]
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), getattr(signal, sig))
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)
    from pipeline.cli import main
    sys.exit(main(sys.argv[4:]))
""")

# (function, call number): a point in each step, and in the commit (os.replace: the journal,
# then moving old files aside and new ones in, then the manifests).
KILL_POINTS = [("pipeline.analyse:analyse", 1), ("pipeline.export:write_xlsx", 1),
               ("pipeline.webmap:build_pages", 1), ("pipeline.report:render_html", 1),
               ("os:replace", 1), ("os:replace", 2), ("os:replace", 24), ("os:replace", 30),
               ("os:replace", 48)]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, str]:
    """A project after run A, with its config edited for run B; returns (root, A's id)."""
    from conftest import make_project

    root = tmp_path_factory.mktemp("kill")
    cfg = make_project(root)
    assert main(["run", "--config", str(cfg), "-q"]) == 0
    (run_a,) = stamps(root)
    edit_config(cfg, 'label = "ÖP 2025"', 'label = "ÖP 2025 (granskning)"')
    return root, run_a


def _killed_run(base: Path, dest: Path, target: str, nth: int, sig: str) -> subprocess.Popen:
    import shutil

    shutil.copytree(base, dest, symlinks=True)
    return subprocess.run(
        [sys.executable, "-c", KILLER, target, str(nth), sig, "run", "--config",
         str(dest / "opjord.toml"), "-q"],
        capture_output=True, text=True, cwd=dest, timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})


@pytest.mark.parametrize(("target", "nth"), KILL_POINTS)
def test_sigkill_at_any_point_leaves_one_run(two_runs, tmp_path, target, nth):
    base, run_a = two_runs
    root = tmp_path / "p"
    proc = _killed_run(base, root, target, nth, "SIGKILL")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pending = (root / "data/processed" / outputs.JOURNAL).is_file()
    if not pending:  # killed before the commit point: untouched, no recovery needed
        assert stamps(root) == {run_a}
    outputs.recover(outputs.output_folders(load_config(root / "opjord.toml")).values())
    (after,) = stamps(root)
    assert (after == run_a) != pending  # before the journal: A; after it: completed as B
    assert not list(root.rglob(f"{outputs.STAGE_PREFIX}*"))
    assert not list(root.rglob(f"{outputs.OLD_PREFIX}*"))
    if pending:  # the completed run B is whole: the map and the report read it back
        assert main(["report", "--config", str(root / "opjord.toml"), "-q"]) == 0
        assert "ÖP 2025 (granskning)" in (root / "reports/uppfoljning_3a.md").read_text(
            encoding="utf-8")


@pytest.mark.parametrize(("target", "nth"), [("pipeline.webmap:build_pages", 1),
                                             ("pipeline.report:render_html", 1),
                                             ("os:replace", 1), ("os:replace", 12)])
def test_ctrl_c_at_any_point_leaves_one_run(two_runs, tmp_path, target, nth):
    base, run_a = two_runs
    root = tmp_path / "p"
    proc = _killed_run(base, root, target, nth, "SIGINT")
    assert "Traceback" not in proc.stderr
    if target == "os:replace" and nth > 1:  # past the commit point: the run is completed
        assert proc.returncode == 0, proc.stderr
        assert "redan skrevs" in proc.stderr
        assert stamps(root) != {run_a} and len(stamps(root)) == 1
    else:
        assert proc.returncode == 130, proc.stderr
        assert "avbrutet innan något skrevs; alla tidigare resultat är orörda" in proc.stderr
        assert stamps(root) == {run_a}
        assert snapshot(root) == snapshot(base)
    assert not (root / "data/processed" / outputs.JOURNAL).exists()
    assert not list(root.rglob(f"{outputs.STAGE_PREFIX}*"))


def test_failure_in_the_report_step_changes_no_folder(project, monkeypatch, capsys):
    root = project.parent
    assert run_cli(project) == 0
    edit_config(project, 'label = "ÖP 2025"', 'label = "ÖP 2025 (granskning)"')
    before = snapshot(root)

    def broken(*args, **kwargs):
        raise RuntimeError("trasig")

    monkeypatch.setattr("pipeline.report.render_html", broken)
    capsys.readouterr()
    assert run_cli(project) == 1
    assert snapshot(root) == before


# ---------------------------------------------------------------------------- files held open


@pytest.mark.parametrize("held", ["opjord.xlsx", "analysis.gpkg", "oversikt.html"])
def test_a_file_held_open_is_named_and_nothing_is_lost(project, monkeypatch, capsys, held):
    """Windows refuses to replace a file Excel or QGIS holds open (PermissionError)."""
    root = project.parent
    assert run_cli(project) == 0
    edit_config(project, 'label = "ÖP 2025"', 'label = "ÖP 2025 (granskning)"')
    before = snapshot(root)
    real_replace = os.replace
    tries = []

    def replace(src, dst):
        if Path(src).name == held and outputs.OLD_PREFIX in str(dst):
            tries.append(src)
            raise PermissionError(13, "The process cannot access the file because it is being "
                                      "used by another process", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    monkeypatch.setattr(outputs.time, "sleep", lambda s: None)
    capsys.readouterr()
    assert run_cli(project) == 2
    err = capsys.readouterr().err
    assert f"{held}: filen kan inte ersättas" in err and "Excel eller QGIS" in err
    assert "Inget har ändrats" in err and "Traceback" not in err
    assert len(tries) == len(outputs._RETRIES) + 1  # retried briefly, then the message
    assert snapshot(root) == before
    monkeypatch.undo()
    assert run_cli(project) == 0  # once the file is closed, the run goes through
    assert len(stamps(root)) == 1


def test_a_folder_without_write_permission_is_a_message(project, monkeypatch, capsys):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name.startswith(outputs.STAGE_PREFIX) and self.parent.name == "maps":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert run_cli(project) == 2
    err = capsys.readouterr().err
    assert "maps: opjord kan inte skriva i mappen (Permission denied)" in err
    assert not (project.parent / "data/processed/summary.json").exists()


def test_a_full_disk_while_writing_is_a_message(project, monkeypatch, capsys):
    def full(folder: Path) -> None:
        raise OSError(28, "No space left on device", str(folder / "assets" / "opjord.css"))

    monkeypatch.setattr("pipeline.webmap._copy_assets", full)
    assert run_cli(project) == 2
    err = capsys.readouterr().err
    assert "opjord.css: opjord kan inte skriva i mappen (No space left on device)" in err
    assert not list(project.parent.rglob("summary.json"))


# ---------------------------------------------------------------------------- reading back


def test_map_and_report_refuse_a_damaged_or_mixed_processed_folder(project, capsys):
    root = project.parent
    processed = root / "data/processed"
    assert run_cli(project) == 0
    good = {n: (processed / n).read_bytes() for n in ("summary.json", "areas.csv",
                                                      "analysis.gpkg")}
    maps_before, reports_before = snapshot(root / "maps"), snapshot(root / "reports")

    def refused(expected: str) -> None:
        for command in ("map", "report"):
            capsys.readouterr()
            assert run_cli(project, command) == 2, command
            err = capsys.readouterr().err
            assert expected in err and "Traceback" not in err, err
        assert snapshot(root / "maps") == maps_before
        assert snapshot(root / "reports") == reports_before
        for name, data in good.items():
            (processed / name).write_bytes(data)

    (processed / "summary.json").write_bytes(good["summary.json"][:200])
    refused("summary.json: är inte giltig JSON")
    text = good["areas.csv"].decode("utf-8")
    assert "Ängen" in text
    (processed / "areas.csv").write_text(text.replace("Ängen", "Ängar", 1), encoding="utf-8")
    refused("areas.csv: filen stämmer inte med summary.json")
    lines = text.splitlines(keepends=True)
    shorter = "".join(lines[:-1]).encode("utf-8")  # a row gone, and the digest made to match
    summary = json.loads(good["summary.json"])
    summary["files"]["areas.csv"]["sha256"] = hashlib.sha256(shorter).hexdigest()
    (processed / "areas.csv").write_bytes(shorter)
    (processed / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    refused("antalet områden per plan")
    summary = json.loads(good["summary.json"])
    summary["run_id"] = "0" * 16
    (processed / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    refused("hör inte ihop med summary.json")
    for command in ("map", "report"):
        assert run_cli(project, command) == 0


def test_two_identical_runs_publish_byte_identical_files(project):
    """maps/, summary.json, areas.csv and the report's Markdown; the manifests too."""
    root = project.parent
    published = ["maps", "data/processed/summary.json", "data/processed/areas.csv",
                 "data/processed/.opjord-manifest.json", "reports/uppfoljning_3a.md",
                 "reports/.opjord-manifest.json"]

    def files() -> dict[str, str]:
        out = {}
        for name in published:
            path = root / name
            out |= ({f"{name}/{k}": v for k, v in snapshot(path).items()} if path.is_dir()
                    else {name: hashlib.sha256(path.read_bytes()).hexdigest()})
        return out

    assert run_cli(project) == 0
    first = files()
    assert len(first) > 15
    assert run_cli(project) == 0
    assert files() == first


def test_formula_like_names_are_kept_in_areas_csv_with_a_warning(project, capsys):
    """areas.csv keeps the data's values (a file for programs); the run says how to open it."""
    import pandas as pd
    from conftest import plan_2025, write_layer

    records = plan_2025()
    records[1]["namn"] = '=HYPERLINK("http://example.invalid","klick")'
    records[2]["typ"] = "@SUMMA(A1)"
    (project.parent / "raw" / "op2025.gpkg").unlink()
    write_layer(project.parent / "raw" / "op2025.gpkg", records)
    assert run_cli(project, "analyse") == 0
    err = capsys.readouterr().err
    assert "2 text(er) i id, namn eller typ börjar med =, +, -, @" in err
    assert "Data → Från text/CSV" in err
    processed = project.parent / "data/processed"
    summary = json.loads((processed / "summary.json").read_text(encoding="utf-8"))
    assert any("kan tolka som en formel" in w["message"] and w["code"] == "formula_like_text"
               and w["figures"] == {"plan": "op2025", "count": 2} for w in summary["warnings"])
    csv = pd.read_csv(processed / "areas.csv", dtype=str, keep_default_na=False)
    assert set(csv["name"]) >= {'=HYPERLINK("http://example.invalid","klick")'}
    assert "@SUMMA(A1)" in set(csv["type"])
