"""Windows paths in opjord.toml: the backslash trap gets a message in Windows terms.

In a TOML basic string ("…") a backslash starts an escape, so "C:\\data\\op.gpkg" is
not valid TOML (`\\d`), and "C:\\temp\\bilder.gpkg" is valid but holds a tab and a
backspace. Single quotes (a literal string) or forward slashes are the two fixes; a
drive-letter or UNC path written that way is read exactly as written. On this
(non-Windows) machine such a path cannot exist, so it is reported as missing with
the same path, never joined to the config folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import edit_config

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import InputError

BLOCKS = 'path = "raw/blocks.gpkg"'


def line_of(cfg: Path, needle: str) -> int:
    lines = cfg.read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def problem(cfg: Path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_config(cfg, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(("typed", "literal", "slashed"), [
    (r'"C:\data\op.gpkg"', r"'C:\data\op.gpkg'", '"C:/data/op.gpkg"'),  # \d: no escape
    (r'"C:\Users\anna\op.gpkg"', r"'C:\Users\anna\op.gpkg'",  # \U wants 8 hex digits
     '"C:/Users/anna/op.gpkg"'),
    (r'"\\server\share\op.gpkg"', r"'\\server\share\op.gpkg'",  # UNC: \\ is fine, \s not
     '"//server/share/op.gpkg"'),
    (r'"C:\\data\op.gpkg"', r"'C:\data\op.gpkg'", '"C:/data/op.gpkg"'),  # half escaped
])
def test_backslash_path_in_double_quotes_says_how_to_write_it(project, typed, literal,
                                                              slashed):
    edit_config(project, BLOCKS, f"path = {typed}   # the field blocks")
    message = problem(project)
    line = line_of(project, typed)
    assert message.startswith(f"{project}, rad {line}: `path = {typed}` är en Windows-sökväg "
                              "inom dubbla citattecken")
    assert f"Åtgärd: skriv sökvägen inom enkla citattecken, path = {literal} " in message
    assert f"eller med snedstreck framåt, path = {slashed}." in message
    assert "# the field blocks" not in message  # the line's comment is not part of the fix


def test_backslash_path_through_the_cli_exits_2(project, capsys):
    edit_config(project, BLOCKS, r'path = "C:\data\op.gpkg"')
    assert main(["validate", "--config", str(project)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert r"path = 'C:\data\op.gpkg'" in err and 'path = "C:/data/op.gpkg"' in err


def test_backslash_path_in_an_inline_table_keeps_the_rest_of_the_line(project):
    edit_config(project, 'key = "op2025"', 'key = "op2025"\nx = { path = "D:\\OP\\x" }')
    message = problem(project)
    assert r"""x = { path = 'D:\OP\x' }""" in message
    assert 'x = { path = "D:/OP/x" }' in message


def test_valid_escapes_that_mangle_a_path_are_caught(project):
    """"C:\\temp\\bilder.gpkg" is valid TOML: a tab and a backspace, never a real path."""
    edit_config(project, BLOCKS, r'path = "C:\temp\bilder.gpkg"')
    message = problem(project)
    assert ("[agricultural_land] `path` = \"C:\\temp\\bilder.gpkg\" blir en sökväg med ett "
            "tabbtecken och ett backstegstecken i") in message
    assert r"path = 'C:\temp\bilder.gpkg'" in message
    assert 'path = "C:/temp/bilder.gpkg"' in message
    assert "\t" not in message and "\b" not in message


def test_other_invalid_escapes_keep_the_general_message(project):
    edit_config(project, 'kommun = "Testkommun"', r'kommun = "Test\kommun"')
    message = problem(project)
    assert message.startswith(f"{project}: är inte giltig TOML (rad 2, kolumn ")
    assert "Windows" not in message


@pytest.mark.parametrize("written", [
    r"'C:\data\op.gpkg'", '"C:/data/op.gpkg"', r'"C:\\data\\op.gpkg"',
    r"'\\server\share\op.gpkg'", '"//server/share/op.gpkg"'])
def test_windows_paths_toml_allows_are_read_as_written(project, written):
    edit_config(project, BLOCKS, f"path = {written}")
    expected = {"'": written[1:-1], '"': written[1:-1].replace("\\\\", "\\")}[written[0]]
    config = load_config(project, inputs_must_exist=False)
    assert str(config.agricultural_land.path) == expected  # not joined to the config folder
    message = problem(project)
    assert f"[agricultural_land] `path` pekar på {expected}, som inte finns" in message
    assert str(project.parent) not in message.split("`path` pekar på ")[1].split(",")[0]
    if os.name != "nt":
        assert "en Windows-sökväg läses som den är skriven och finns bara i Windows" in message
    assert message.count("som inte finns") == 1  # the other layers are found as before


def test_a_colon_in_a_relative_name_is_not_a_drive(project):
    edit_config(project, BLOCKS, 'path = "raw/a:b.gpkg"')
    message = problem(project)
    assert f"pekar på {project.parent / 'raw' / 'a:b.gpkg'}, som inte finns" in message
