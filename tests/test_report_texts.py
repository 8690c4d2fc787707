"""The report package: its modules import without a cycle, its wording comes from
texts.toml (every text used, none missing), the texts' markup, their error messages, and
the package data an install needs.
"""

from __future__ import annotations

import ast
import dataclasses
import tomllib
from pathlib import Path

import pytest
from conftest import edit_config, make_project

from pipeline.analyse import analyse
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.export import write_outputs
from pipeline.report import REPORT_HTML, REPORT_MD, report_data, write_report
from pipeline.report.model import Code, Link
from pipeline.report.texts import Texts, parse
from pipeline.results import read_processed

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline" / "report"
TEXTS_TOML = PACKAGE / "texts.toml"
TEXT_METHODS = {"markup": str, "inline": str, "plain": str, "inline_list": list,
                "plain_list": list, "mapping": dict}

# ---------------------------------------------------------------------------- import graph


def report_imports(path: Path) -> tuple[set[str], list[str]]:
    """The report submodules that `path` imports anywhere (functions included), and the
    names it imports from the package root `pipeline.report` that are not submodules."""
    submodules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    found: set[str] = set()
    root_names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names
                      if a.name.startswith("pipeline.report.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("pipeline.report."):
                found.add(node.module.split(".")[2])
            elif node.module == "pipeline.report":
                for alias in node.names:
                    if alias.name in submodules:
                        found.add(alias.name)
                    else:
                        root_names.append(alias.name)
            elif node.module == "pipeline" and any(a.name == "report" for a in node.names):
                root_names.append("report")
    return found, root_names


def test_report_modules_import_without_a_cycle():
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "__init__":
            continue
        imports, root_names = report_imports(path)
        assert root_names == [], (f"{path.name} imports {root_names} from the package root "
                                  "pipeline.report: import them from the submodule instead")
        graph[path.stem] = imports
    assert set(graph) == {"model", "render", "texts", "data", "sections", "figures"}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return seen

    for module in graph:
        assert module not in reachable(module), f"import cycle through {module}"
    for module in ("model", "render", "texts", "data", "figures"):
        assert "sections" not in reachable(module), f"{module} imports sections"
    assert reachable("model") == set()  # the document model depends on nothing


# ---------------------------------------------------------------------------- every text used


def text_calls() -> list[tuple[str, str, str]]:
    """(file:line, method, key) of every call that asks texts.toml for a text."""
    calls = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TEXT_METHODS and node.args
                    and not (isinstance(node.func.value, ast.Name)
                             and node.func.value.id in ("re", "str"))):
                key = node.args[0]
                where = f"{path.name}:{node.lineno}"
                if path.name == "texts.py":  # the Texts methods calling each other
                    continue
                assert isinstance(key, ast.Constant) and isinstance(key.value, str), (
                    f"{where}: the text's key must be a literal string, so that this test "
                    "can check it")
                calls.append((where, node.func.attr, key.value))
    return calls


def leaves(table: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out |= leaves(value, key + ".")
        else:
            out[key] = value
    return out


def lookup(table: dict, key: str) -> object:
    for part in key.split("."):
        table = table[part]
    return table


def test_every_text_is_asked_for_and_every_asked_text_exists():
    table = tomllib.loads(TEXTS_TOML.read_text(encoding="utf-8"))
    calls = text_calls()
    assert len(calls) > 80
    used: set[str] = set()
    for where, method, key in calls:
        try:
            value = lookup(table, key)
        except (KeyError, TypeError):
            pytest.fail(f"{where}: {method}({key!r}) is not in texts.toml")
        assert isinstance(value, TEXT_METHODS[method]), (
            f"{where}: {method}({key!r}) wants a {TEXT_METHODS[method].__name__} in texts.toml")
        used |= set(leaves(value, key + ".")) if isinstance(value, dict) else {key}
    unused = set(leaves(table)) - used
    assert not unused, f"texts.toml has texts that the report never uses: {sorted(unused)}"


def test_check_finds_a_syntax_error_in_any_text(tmp_path):
    """A broken text in a branch the demo never takes still fails at once."""
    text = TEXTS_TOML.read_text(encoding="utf-8")
    old = "{% if web_map %}{{ summary_file|code }}"
    assert text.count(old) == 1
    broken = tmp_path / "texter.toml"
    broken.write_text(text.replace(old, "{% if web_map %}{{ summary_file|code }"),
                      encoding="utf-8")
    with pytest.raises(InputError, match=r"texten `sources\.run_id` har fel i mallsyntaxen"):
        Texts.load(broken)
    broken.write_text(text.replace("'Kommungräns'", "['Kommungräns']", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"texten `roles\.boundary` ska vara en textsträng"):
        Texts.load(broken).plain("roles.boundary")


# ---------------------------------------------------------------------------- the markup


def test_markup_code_links_and_white_space():
    assert parse("a  `b c`\n   [öppna kartan](../maps/index.html) g.") == [
        "a ", Code("b c"), " ", Link("öppna kartan", "../maps/index.html"), " g."]
    # a ` or [ that opens nothing stays as it is
    assert parse("5 ` 6 [7] (8) [9](10") == ["5 ` 6 [7] (8) [9](10"]
    assert parse("``") == [Code("")]
    assert parse("  \n ") == []


def test_values_never_become_markup():
    texts = Texts({"t": "Plan {{ p }}:\n {{ f|code }} i {{ k }}."}, "t.toml")
    label = "ÖP `2025` [x](y)  \\ z\n"
    path = "C:\\data\\op  jord`s.gpkg"
    assert texts.inline("t", p=label, f=path, k=" Kommun ") == [
        f"Plan {label}: ", Code(path), " i  Kommun ."]
    assert texts.plain("t", p=label, f=path, k="K") == f"Plan {label}: {path} i K."


def test_filters_and_lists():
    texts = Texts({"a": '{{ x|listing("och") }}', "b": '{{ x|map("code")|join("; ") }}',
                   "c": ["ett", "{% if no %}två{% endif %}", " tre "]}, "t.toml")
    assert texts.plain("a", x=["A"]) == "A"
    assert texts.plain("a", x=["A", "B", "C"]) == "A, B och C"
    assert texts.inline("b", x=["a b", "c"]) == [Code("a b"), "; ", Code("c")]
    assert texts.inline_list("c", no=False) == [["ett"], ["tre"]]  # an empty item is left out
    assert texts.plain_list("c", no=False) == ["ett", "", "tre"]  # column names: all kept


# ---------------------------------------------------------------------------- errors


def test_unreadable_texts_file(tmp_path):
    bad = tmp_path / "texter.toml"
    bad.write_text("[results]\nheading = Resultat\n", encoding="utf-8")  # no quotes
    with pytest.raises(InputError, match=r"texter\.toml: rapportens texter kan inte läsas, "
                                         r"TOML-syntaxen är fel \(.*line 2.*\)\. Rätta raden"):
        Texts.load(bad)
    with pytest.raises(InputError, match=r"saknas\.toml: rapportens texter kan inte läsas"):
        Texts.load(tmp_path / "saknas.toml")


@pytest.mark.parametrize(("table", "call", "message"), [
    ({}, ("plain", "results.heading"), r"t\.toml: texten `results\.heading` saknas\."),
    ({"results": "Resultat"}, ("plain", "results.heading"), r"texten `results\.heading` saknas"),
    ({"a": ["x"]}, ("plain", "a"), r"texten `a` ska vara en textsträng inom citattecken, men "
                                   r"är en lista"),
    ({"a": "x"}, ("inline_list", "a"), r"texten `a` ska vara en lista av texter"),
    ({"a": {"b": 1}}, ("mapping", "a"), r"texten `a\.b` ska vara en textsträng .* värdet 1"),
    ({"a": "Hej {{ kommunen }}"}, ("plain", "a"),
     r"texten `a` använder kommunen, som inte finns för den här texten\. Namn som texten kan "
     r"använda: kommun, plan\."),
    ({"a": "{% if kommun %}Hej"}, ("plain", "a"), r"texten `a` har fel i mallsyntaxen på rad 1"),
    ({"a": "{{ kommun|okänt }}"}, ("plain", "a"), r"texten `a` har fel i mallsyntaxen"),
    ({"a": "{{ kommun + 1 }}"}, ("plain", "a"), r"texten `a` kan inte fyllas i"),
])
def test_broken_texts_are_input_errors(table, call, message):
    method, key = call
    texts = Texts(table, "t.toml")
    args = (["b"],) if method == "mapping" else ()
    with pytest.raises(InputError, match=message):
        getattr(texts, method)(key, *args, **({} if method == "mapping"
                                              else {"kommun": "K", "plan": "P"}))


# ---------------------------------------------------------------------------- own texts


def test_changed_texts_change_the_report(tmp_path):
    config = load_config(make_project(tmp_path))
    write_outputs(analyse(config))
    own = tmp_path / "texter.toml"
    text = TEXTS_TOML.read_text(encoding="utf-8")
    for old, new in (("intro = '{% if source %}Målet i {{ source }}",
                      "intro = '{% if source %}Målet enligt {{ source }}"),
                     ("heading = 'Resultat'", "heading = 'Så gick det'"),
                     ("met = 'Målet är uppfyllt.'", "met = 'Målet nås.'"),
                     ("table = 'Tabell {{ n }}. {{ caption }}'",
                      "table = 'Tab. {{ n }}: {{ caption }}'")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    own.write_text(text, encoding="utf-8")
    out = tmp_path / "reports"
    out.mkdir()
    edit_config(config.path, "[boundary]", '[publication]\ngoal_source = "Budget 2026"\n'
                "goal = '3A. Jordbruksmark värnas.'\n\n[boundary]")
    config = load_config(config.path)
    write_report(report_data(read_processed(config.output.processed), None, config), out, out,
                 texts=Texts.load(own))
    md = (out / REPORT_MD).read_text(encoding="utf-8")
    page = (out / REPORT_HTML).read_text(encoding="utf-8")
    for wording in (md, page):
        assert "Målet enligt Budget 2026: ”3A. Jordbruksmark värnas.”" in wording
        assert "uppdragsplan" not in wording
        assert "procentenheter. Målet nås." in wording and "uppfyllt." not in wording
    assert "\n## Så gick det\n" in md and "<h2>Så gick det</h2>" in page
    assert "*Tab. 1: Utvecklingsområden och jordbruksmark per plan." in md
    assert "<caption>Tab. 2: Förändring jämfört med ÖP 2017." in page
    assert "Tabell" not in md.replace("Tabell 4 visar", "")  # the method text names table 4


# ---------------------------------------------------------------------------- sections


def test_areas_outside_the_boundary_are_explained(tmp_path):
    """ÖP 2025's B3 lies ¾ outside the boundary: the analysis warns (code
    areas_outside_boundary) and the method says how such parts are counted."""
    config = load_config(make_project(tmp_path))
    write_outputs(analyse(config))
    out = tmp_path / "reports"
    out.mkdir()
    data = report_data(read_processed(config.output.processed), None)
    assert [w["code"] for w in data.summary["warnings"]] == ["areas_outside_boundary"]
    write_report(data, out, out)
    md = (out / REPORT_MD).read_text(encoding="utf-8")
    explained = ("Delar av utvecklingsområden som ligger utanför kommungränsen räknas inte i "
                 "planernas totalsiffror, men ingår i siffrorna per område")
    assert explained in md
    write_report(dataclasses.replace(data, summary={**data.summary, "warnings": []}), out, out)
    assert explained not in (out / REPORT_MD).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- package data


def test_every_data_file_of_the_package_is_installed():
    """setuptools installs only the non-Python files that `package-data` names (an editable
    install hides a missing entry: the files are read from the checkout)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    installed: set[Path] = set()
    for package, patterns in package_data.items():
        folder = ROOT.joinpath(*package.split("."))
        assert (folder / "__init__.py").is_file(), package
        for pattern in patterns:
            installed |= {p for p in folder.glob(pattern) if p.is_file()}
    data_files = {p for p in (ROOT / "pipeline").rglob("*") if p.is_file()
                  and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert {"report.css", "report_demo.css", "texts.toml"} <= {p.name for p in data_files}
    missing = sorted(str(p.relative_to(ROOT)) for p in data_files - installed)
    assert not missing, f"not in pyproject's package-data, so not installed: {missing}"


def test_html_carries_the_style_sheet_file(tmp_path):
    config = load_config(make_project(tmp_path))
    write_outputs(analyse(config))
    out = tmp_path / "reports"
    out.mkdir()
    data = report_data(read_processed(config.output.processed), None)
    write_report(dataclasses.replace(data, summary={**data.summary, "demo": True}), out, out)
    page = (out / REPORT_HTML).read_text(encoding="utf-8")
    css = (PACKAGE / "report.css").read_text(encoding="utf-8")
    assert f"<style>\n{css}\n\n@page {{ margin-top: 22mm;" in page
    assert 'content: "DEMODATA – rapporten bygger på syntetiska demodata; siffrorna är inte ' \
           'Testkommuns."' in page
    assert "$banner" not in page
