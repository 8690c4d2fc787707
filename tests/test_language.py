"""Everything a person reads is Swedish: the CLI's output on a good project and on bad input
holds none of the common English words that never occur in Swedish text.

`english_words` is the check; it leaves out what is quoted from the data or the config
(backticks, quotes, paths, `key = value` snippets), which is the user's own spelling.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import edit_config, make_project, plan_2025, write_layer

from pipeline import fmt
from pipeline.clean import CleanReport
from pipeline.cli import main
from pipeline.config import load_config, toml_reason
from pipeline.errors import InputError

# Common English words that no Swedish sentence of opjord's uses (whole words, any case).
# Words that are also Swedish or a letter ("in", "be", "land", "for", "a" as in "a–z") are
# deliberately absent.
ENGLISH = frozenset({
    "an", "the", "is", "are", "was", "were", "been", "not", "no", "none", "does", "do", "did",
    "has", "have", "had", "can", "cannot", "could", "must", "should", "would", "will", "which",
    "that", "this", "these", "those", "there", "where", "when", "with", "without", "from", "into",
    "of", "to", "and", "or", "but", "only", "than", "then", "also", "file", "files", "found",
    "missing", "exist", "exists", "read", "reads", "reading", "wrote", "written", "write", "error",
    "errors", "warning", "fix", "fixes", "feature", "features", "layer", "layers", "column",
    "columns", "value", "values", "unknown", "invalid", "empty", "kept", "dropped", "repaired",
    "damaged", "outside", "inside", "points"
})

_SNIPPET = re.compile(r"""[\w.\-]+\s*=\s*("[^"\n]*"|'[^'\n]*'|\[[^\]\n]*\]|\{[^}\n]*\}|\S+)""")
_QUOTED = re.compile(r"""`[^`\n]*`|"[^"\n]*"|'[^'\n]*'""")
_PATH = re.compile(r"\S*[/\\]\S*")


def english_words(text: str) -> set[str]:
    """The words of `ENGLISH` in `text` (lower case), leaving out what the text quotes:
    `key = value` snippets, `…`, "…" and '…' spans, and paths (any token with / or \\)."""
    for pattern in (_SNIPPET, _QUOTED, _PATH):
        text = pattern.sub(" ", text)
    return {word for word in re.findall(r"\w+", text.lower()) if word in ENGLISH}


def run(argv: list[str], capsys) -> tuple[int, str]:
    """`opjord` in-process; the exit code and stdout + stderr."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- the check itself -----------------------------------------------------------------


def test_english_words_finds_english_and_skips_what_is_quoted():
    assert english_words("blocks.gpkg: the file is damaged. Fix: download it again.") == {
        "the", "file", "is", "damaged", "fix"}
    assert english_words("Read 1,192 features from blocks.gpkg (layer x)") == {
        "read", "features", "from", "layer"}
    assert english_words("Åtgärd: lägg till `layer = \"the file\"` i [agricultural_land].") \
        == set()
    assert english_words("/tmp/the/file.toml: [[plans]] baseline = true, key = 'is not' "
                         "och \"which\" eller 'with'") == set()
    assert english_words(r"C:\Missing\Layer.gpkg pekar på D:/Error/x") == set()
    assert english_words("THE File") == {"the", "file"}  # any case, whole words only
    assert english_words("Theater, fixa, nothing, Filen, Isolering") == set()


# --- the CLI on a good project and on bad input ---------------------------------------


def test_validate_on_the_hand_made_project_is_swedish(project, capsys):
    code, text = run(["validate", "--config", str(project)], capsys)
    assert code == 0, text
    assert "objekt lästa" in text and "Läste 5 objekt från blocks.gpkg" in text
    assert english_words(text) == set(), text


def _no_config(cfg: Path) -> None:
    cfg.unlink()


def _bad_toml(cfg: Path) -> None:
    edit_config(cfg, 'kommun = "Testkommun"', "kommun = Testkommun")


def _unknown_key(cfg: Path) -> None:
    edit_config(cfg, "class_column =", 'klass_kolumn = "x"\nclass_column =')


def _missing_input(cfg: Path) -> None:
    edit_config(cfg, "raw/blocks.gpkg", "raw/finns_inte.gpkg")


def _absent_class(cfg: Path) -> None:
    edit_config(cfg, 'classes = ["Åker", "Bete"]', 'classes = ["Aker", "Bete"]')


def _nan(cfg: Path) -> None:
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[webmap]\nsimplify_tolerance_m = nan\n"
                   "context_buffer_m = -1\n[fetch]\npage_size = 2.5\n", encoding="utf-8")


def _empty_key(cfg: Path) -> None:
    edit_config(cfg, 'key = "op2025"', 'key = ""')


def _empty_id_column(cfg: Path) -> None:
    edit_config(cfg, 'path = "raw/op2025.gpkg"\nid_column = "omr_id"',
                'path = "raw/op2025.gpkg"\nid_column = "  "')


def _empty_id(cfg: Path) -> None:
    rows = plan_2025()
    rows[1]["omr_id"] = " "
    write_layer(cfg.parent / "raw/op2025.gpkg", rows)


def _windows_path(cfg: Path) -> None:
    edit_config(cfg, '"raw/blocks.gpkg"', r'"C:\data\block.gpkg"')


def _no_crs(cfg: Path) -> None:
    raw = cfg.parent / "raw"
    write_layer(raw / "noprj.shp", plan_2025())
    (raw / "noprj.prj").unlink()
    edit_config(cfg, "raw/op2025.gpkg", "raw/noprj.shp")


def _two_layers(cfg: Path) -> None:
    shutil.copy(cfg.parent / "raw/op2017.gpkg", cfg.parent / "raw/two.gpkg")
    write_layer(cfg.parent / "raw/two.gpkg", plan_2025(), layer="andra")
    edit_config(cfg, "raw/op2017.gpkg", "raw/two.gpkg")


def _not_a_key(cfg: Path) -> None:
    edit_config(cfg, "baseline = true", 'baseline = "ja"')
    edit_config(cfg, 'key = "op2025"', 'key = "ÖP 2025"')


BAD: dict[str, tuple[Callable[[Path], None], str]] = {  # what to break, what the message names
    "missing config": (_no_config, "konfigurationsfilen finns inte"),
    "bad TOML": (_bad_toml, "är inte giltig TOML (rad 2, kolumn 10"),
    "unknown key": (_unknown_key, "`klass_kolumn` är ingen känd nyckel"),
    "missing input file": (_missing_input, "finns_inte.gpkg, som inte finns"),
    "class that never occurs": (_absent_class, "har aldrig värdet/värdena 'Aker'"),
    "nan in the config": (_nan, "`simplify_tolerance_m` = nan är inte ett ändligt tal"),
    "empty plan key": (_empty_key, "`key` är tom"),
    "empty id column": (_empty_id_column, "`id_column` är tom"),
    "empty id": (_empty_id, "kolumnen 'omr_id' är tom för 1 av 3 områden"),
    "windows path": (_windows_path, "är en Windows-sökväg inom dubbla citattecken"),
    "no crs": (_no_crs, "saknar koordinatsystem"),
    "two layers": (_two_layers, "innehåller 2 skikt"),
    "not a plan key": (_not_a_key, "går inte att använda som plannyckel"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_reported_in_swedish(tmp_path, capsys, case):
    cfg = make_project(tmp_path)
    breaks, needle = BAD[case]
    breaks(cfg)
    code, text = run(["validate", "--config", str(cfg)], capsys)
    assert code == 2, text
    assert needle in text and "Åtgärd:" in text and "Traceback" not in text, text
    assert english_words(text) == set(), text


# --- the words and numbers inside messages ----------------------------------------------


# TOML mistakes, each giving another of tomllib's messages (in English) to translate.
BROKEN_TOML = {
    "table twice": ('[project]\nkommun = "a"\n[project]\n', "rad 3, kolumn 9: [project] anges "
                                                            "två gånger"),
    "key twice": ("a = 1\na = 2\n", "rad 2, kolumn 6: ett värde anges två gånger"),
    "unclosed list": ("a = [1, 2\n", "i slutet av filen: en lista saknar ']'"),
    "no equals sign": ("a 1\n", "rad 1, kolumn 3: '=' saknas efter en nyckel"),
    "unquoted text": ("a = Test\n", "rad 1, kolumn 5: ogiltigt värde (t.ex. text utan "
                                    "citattecken)"),
    "open string": ('a = "abc\n', "rad 1, kolumn 9: otillåtet tecken '\\n'"),
    "inline key twice": ("a = { b = 1, b = 2 }\n", "nyckeln 'b' anges två gånger"),
    "open inline table": ("a = { b = 1\n", "en tabell saknar '}'"),
    "two statements": ("a = 1 b = 2\n", "radbrytning saknas efter ett värde"),
    "bad line": ("= 1\n", "rad 1, kolumn 1: ogiltig rad"),
    "open table name": ("[project\n", "']' saknas efter tabellnamnet"),
    "open list name": ("[[plans]\n", "']]' saknas efter tabellnamnet"),
    "dotted then table": ("a.b = 1\n[a]\n", "[a] anges två gånger"),
    "inline then dotted": ("a = {b = 1}\na.c = 2\n", "tabellen [a] kan inte anges igen här"),
    "bad unicode escape": ('a = "\\uD800"\n', "en escape-sekvens ger inget Unicode-tecken"),
    "at the end": ("a = ", "i slutet av filen: ogiltigt värde (t.ex. text utan citattecken)"),
}


@pytest.mark.parametrize("case", list(BROKEN_TOML))
def test_toml_errors_are_explained_in_swedish(tmp_path, case):
    text, reason = BROKEN_TOML[case]
    cfg = tmp_path / "opjord.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_config(cfg)
    message = str(err.value)
    assert message.startswith(f"{cfg}: är inte giltig TOML (rad ") or message.startswith(
        f"{cfg}: är inte giltig TOML (i slutet av filen: ")
    assert f"{reason}). Åtgärd: rätta syntaxen" in message
    assert english_words(message) == set(), message


def test_an_unknown_toml_message_is_quoted_as_it_is():
    assert toml_reason("Something new (at line 4, column 2)") == (
        "rad 4, kolumn 2: TOML-tolken säger 'Something new'")


def test_a_file_not_in_utf8_says_so(tmp_path):
    cfg = tmp_path / "opjord.toml"
    cfg.write_bytes('kommun = "Norrköping"\n'.encode("cp1252"))
    with pytest.raises(InputError) as err:
        load_config(cfg)
    assert str(err.value) == (f"{cfg}: är inte sparad som UTF-8 (byte 0xf6 på position 15 kan "
                              "inte läsas). Åtgärd: spara filen som UTF-8.")


def test_numbers_in_messages_are_written_the_swedish_way():
    assert fmt.plain(1000) == "1\u00a0000" and fmt.plain(100_000.0) == "100\u00a0000"
    assert fmt.plain(-0.5) == "\u22120,5" and fmt.plain(2.0) == "2" and fmt.plain(0.1) == "0,1"
    assert fmt.plain(2.675) == "2,675" and fmt.plain(1e9) == "1\u00a0000\u00a0000\u00a0000"
    assert fmt.plain(float("nan")) == "nan" and fmt.plain(float("-inf")) == "-inf"
    report = CleanReport(features_read=1195, features_kept=1192, repaired=1, empty_dropped=2,
                         null_dropped=1)
    assert report.describe() == ("1\u00a0192 behållna; 1 lagat (make_valid), 1 utan geometri "
                                 "borttaget, 2 tomma borttagna")
    assert CleanReport(features_kept=1).describe() == "1 behållet"
