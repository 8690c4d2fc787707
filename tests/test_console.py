"""Console output in narrow code pages (cp1252, cp850, ascii) never ends in a traceback.

The CLI runs as a subprocess with PYTHONIOENCODING set, as in a Windows console or
`opjord analyse > logg.txt` in a scheduled task. The hand-made project (conftest)
gives ÖP 2017 10 ha farmland of 18 ha (55,6 %) and ÖP 2025 13,25 of 24,25 ha
(54,6 %): a change of −0,9 percentage points, printed with a hyphen for the minus.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_project

import pipeline
from pipeline import console

ROOT = Path(pipeline.__file__).resolve().parent.parent
ENCODINGS = ("cp1252", "cp850", "ascii")


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("console") / "Översiktsplan"  # non-ASCII in every path
    folder.mkdir()
    make_project(folder)
    return folder


def opjord(args: list[str], cwd: Path, encoding: str) -> tuple[int, str, str]:
    """Run the CLI with stdout/stderr in `encoding`; decode strictly (the bytes must fit)."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUTF8", None)
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=300)
    return proc.returncode, proc.stdout.decode(encoding), proc.stderr.decode(encoding)


ASCII_SV = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "A", "Ä": "A", "Ö": "O",
                          "\u00a0": " "})


def sv(text: str, encoding: str) -> str:
    """What Swedish text (letters and no-break spaces only) looks like in `encoding`."""
    return text.translate(ASCII_SV) if encoding == "ascii" else text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_analyse_prints_readable_figures(project_dir, encoding):
    code, out, err = opjord(["analyse"], project_dir, encoding)
    assert code == 0, err
    assert "Traceback" not in err
    assert sv("ÖP 2017: 55,6\u00a0% (10,0\u00a0ha jordbruksmark av 18,0\u00a0ha)", encoding) in out
    assert sv("ÖP 2025: 54,6\u00a0% (13,3\u00a0ha jordbruksmark av 24,3\u00a0ha)", encoding) in out
    dash = "\u2013" if encoding == "cp1252" else "-"  # cp1252 has the en dash, cp850 not
    assert sv("ÖP 2025 jämfört med ÖP 2017: -0,9 procentenheter (andel 54,6\u00a0% mot "
              "55,6\u00a0%, jordbruksmark 13,3\u00a0ha mot 10,0\u00a0ha) "
              f"{dash} målet är uppfyllt.", encoding) in out
    # The share fell while the farmland grew: the caveat stands beside the verdict.
    assert sv("men planen pekar ut mer jordbruksmark: 13,3\u00a0ha mot 10,0\u00a0ha",
              encoding) in out
    assert "\u2212" not in out
    assert sv("0,75\u00a0ha av planens utvecklingsområden ligger utanför kommungränsen",
              encoding) in err  # the log warning on stderr
    assert sv(f"Resultat i: {project_dir / 'data' / 'processed'}", encoding) in out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_bad_input_exits_2_without_a_traceback(project_dir, encoding):
    code, _, err = opjord(["validate", "--config", "saknad_översiktsplan.toml"], project_dir,
                          encoding)
    assert code == 2 and "Traceback" not in err
    assert sv("saknad_översiktsplan.toml: konfigurationsfilen finns inte", encoding) in err

    broken = project_dir / "trasig.toml"
    text = (project_dir / "opjord.toml").read_text(encoding="utf-8")
    broken.write_text(text.replace('"raw/blocks.gpkg"', r'"C:\Data\Jordbruk\block.gpkg"'),
                      encoding="utf-8")
    code, _, err = opjord(["analyse", "--config", broken.name], project_dir, encoding)
    assert code == 2 and "Traceback" not in err
    assert r"""path = 'C:\Data\Jordbruk\block.gpkg'""" in err
    assert 'path = "C:/Data/Jordbruk/block.gpkg"' in err


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_help_is_readable(project_dir, encoding):
    code, out, err = opjord(["--help"], project_dir, encoding)
    assert code == 0, err
    assert sv("Andelen jordbruksmark i översiktsplanens utvecklingsområden.", encoding) in out
    code, out, err = opjord(["run", "--help"], project_dir, encoding)
    assert code == 0 and sv("alla steg: analys, webbkartor och målrapport", encoding) in out


def wrapper(encoding: str) -> tuple[io.BytesIO, io.TextIOWrapper]:
    raw = io.BytesIO()
    return raw, io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="\n")


@pytest.mark.parametrize(("encoding", "expected"), [
    ("cp1252", "-15,1 procentenheter – målet … 2 m² ?"),  # cp1252 has –, … and ²
    ("cp850", "-15,1 procentenheter - målet ... 2 m² ?"),  # cp850 has å and ², not – or …
    ("ascii", "-15,1 procentenheter - malet ... 2 m2 ?"),
])
def test_safe_console_replaces_only_what_the_stream_cannot_write(monkeypatch, encoding,
                                                                 expected):
    raw, stream = wrapper(encoding)
    err_raw, err = wrapper(encoding)
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "stderr", err)
    console.safe_console()
    print("−15,1 procentenheter – målet … 2 m² ✓")
    print("Åker\u00a0Bete", file=sys.stderr)
    stream.flush()
    err.flush()
    assert raw.getvalue().decode(encoding) == expected + "\n"
    assert err_raw.getvalue().decode(encoding) == ("Aker Bete\n" if encoding == "ascii"
                                                   else "Åker\u00a0Bete\n")
    assert stream.encoding == encoding  # the encoding is kept, only the error handler changes


def test_safe_console_leaves_utf8_and_missing_streams_alone(monkeypatch):
    raw, stream = wrapper("utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "stderr", None)  # pythonw, a service without a console
    console.safe_console()
    assert stream.errors == "strict"
    print("−15,1 procentenheter ✓")
    stream.flush()
    assert raw.getvalue().decode("utf-8") == "−15,1 procentenheter ✓\n"


def test_ascii_lookalikes():
    assert [console.ascii_lookalike(c) for c in "−–—…²åÄÖé\u00a0→≥×✓"] == [
        "-", "-", "-", "...", "2", "a", "A", "O", "e", " ", "->", ">=", "x", "?"]
    assert console.encodes_all_unicode("UTF-8") and console.encodes_all_unicode("utf_16")
    assert not console.encodes_all_unicode("cp1252")
    assert not console.encodes_all_unicode("no-such-codec")
