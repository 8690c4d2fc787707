"""The goal report: numbers parsed back from the text, wording, banner, HTML rules.

Expected numbers are never produced with `pipeline.fmt`: the report's text is parsed
(Swedish number syntax) and compared with summary.json / areas.csv within the
rounding of the digits shown. Formatting rules are pinned with hand-written strings.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import CONFIG, make_project

from pipeline import fmt
from pipeline.analyse import analyse
from pipeline.config import Config, OutputConfig, load_config
from pipeline.errors import InputError
from pipeline.export import write_outputs
from pipeline.report import REPORT_HTML, REPORT_MD, build_report, citable_sentence

NBSP = "\u00a0"

# ----------------------------------------------------------------------------
# Fixtures: the hand-made project analysed once; variants get a copy of its outputs


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Config:
    config = load_config(make_project(tmp_path_factory.mktemp("report")))
    write_outputs(analyse(config))
    return config


@pytest.fixture(scope="module")
def report(analysed: Config) -> Config:
    build_report(analysed)
    return analysed


def variant(config: Config, folder: Path, edit=None) -> Config:
    """A copy of the analysis outputs in `folder`, summary.json edited by `edit(summary)`."""
    processed = folder / "processed"
    shutil.copytree(config.output.processed, processed)
    if edit is not None:
        path = processed / "summary.json"
        summary = json.loads(path.read_text(encoding="utf-8"))
        edit(summary)
        path.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    return dataclasses.replace(config, output=OutputConfig(
        processed=processed, maps=folder / "maps", reports=folder / "reports"))


def texts(config: Config) -> tuple[str, str]:
    out = config.output.reports
    return ((out / REPORT_MD).read_text(encoding="utf-8"),
            (out / REPORT_HTML).read_text(encoding="utf-8"))


def summary_of(config: Config) -> dict:
    return json.loads((config.output.processed / "summary.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------
# Parsing Swedish numbers and the two report formats (independent of pipeline.fmt)

NUMBER = re.compile(r"(?<![\w,.\-])([+\u2212-]?)(\d{1,3}(?:[ \u00a0]\d{3})+|\d+)(?:,(\d+))?(?!\w)")


def parse_numbers(text: str) -> list[tuple[float, int, str]]:
    """Every Swedish-formatted number in `text`: (value, decimals shown, token)."""
    found = []
    for m in NUMBER.finditer(text):
        sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        value = float(whole.replace(" ", "").replace(NBSP, "") + ("." + frac if frac else ""))
        found.append((-value if sign in ("\u2212", "-") else value, len(frac), m.group(0)))
    return found


def parse_one(cell: str) -> tuple[float, int] | None:
    """The single number in a table cell; None for "–"."""
    cell = cell.strip()
    if cell == "–":
        return None
    numbers = parse_numbers(cell)
    assert len(numbers) == 1, f"expected one number in {cell!r}, found {numbers}"
    return numbers[0][0], numbers[0][1]


def shown(value: float, decimals: int, expected: float | None) -> bool:
    """True when `value` (shown with `decimals` decimals) is `expected` rounded."""
    if expected is None:
        return False
    return abs(value - expected) <= 0.5 * 10 ** -decimals + 1e-9


def assert_cell(cell: str, expected: float | None, *, scale: float = 1.0, where: str = "") -> None:
    parsed = parse_one(cell)
    if expected is None:
        assert parsed is None, f"{where}: {cell!r} should be – (no value)"
        return
    assert parsed is not None, f"{where}: {cell!r} has no number, expected {expected}"
    value, decimals = parsed
    assert shown(value, decimals, scale * expected), (
        f"{where}: {cell!r} does not show {scale * expected}")


def md_tables(md: str) -> dict[str, list[list[str]]]:
    """Tables of the Markdown by caption number: header row first."""
    tables, lines = {}, md.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\*Tabell (\d+)\.", line)
        if not m:
            continue
        rows, j = [], i + 2
        while j < len(lines) and lines[j].startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[j].strip())[1:-1]]
            if not all(re.fullmatch(r"-+:?", c) for c in cells):
                rows.append([re.sub(r"\\(.)", r"\1", c).replace("`", "") for c in cells])
            j += 1
        tables[m.group(1)] = rows
    return tables


class HtmlDoc(HTMLParser):
    """Headings, images, links, tables and visible text (code, style and footer apart)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.prose: list[str] = []
        self.lang = self.title = None
        self._stack: list[str] = []
        self._table: list[list[str]] | None = None
        self._caption = ""
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("img", "meta", "br", "link"):
            self._stack.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        for key in ("src", "href", "action", "poster", "data"):
            if key in a:
                self.urls.append(a[key])
        if tag == "img":
            self.images.append(a)
            self.prose.append(a.get("alt") or "")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        if tag == "table":
            self._table, self._caption = [], ""
        if tag == "tr" and self._table is not None:
            self._table.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), "".join(self._heading)))
            self._heading = None
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table" and self._table is not None:
            m = re.match(r"Tabell (\d+)\.", self._caption)
            self.tables[m.group(1) if m else str(len(self.tables))] = self._table
            self._table = None

    def handle_data(self, data):
        if "title" in self._stack:
            self.title = (self.title or "") + data
        if self._heading is not None:
            self._heading.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if "caption" in self._stack:
            self._caption += data
        if not {"code", "style", "footer", "title", "script"} & set(self._stack):
            self.prose.append(data)


def md_prose(md: str) -> str:
    """The Markdown without code spans and link targets (verbatim names, hashes, versions)."""
    text = re.sub(r"``.*?``|`[^`]*`", " ", md)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    return re.sub(r"\\(.)", r"\1", text)


# ----------------------------------------------------------------------------
# Every number in the report comes from the analysis outputs


LITERALS = {
    "2017", "2024",  # the goal's own text: "översiktsplanen från 2017", "uppdragsplan 2024"
    "99",  # "SWEREF 99 TM"
    "10 000", f"10{NBSP}000", "100",  # "En hektar är 10 000 kvadratmeter", "100 × (…)"
}


def number_pool(config: Config) -> tuple[list[float], set[str]]:
    """Values a report number may show (summary, areas.csv, field-block years), and the
    digit runs inside names and labels (which appear verbatim)."""
    summary = summary_of(config)
    values: list[float] = []
    strings: set[str] = set()

    def walk(obj):
        if isinstance(obj, bool) or obj is None:
            return
        if isinstance(obj, int | float):
            values.extend([float(obj), 100.0 * obj])
        elif isinstance(obj, str):
            strings.update(re.findall(r"\d+", obj))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(k)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(summary)
    areas = pd.read_csv(config.output.processed / "areas.csv", dtype=str, keep_default_na=False)
    for col in areas.columns:
        for v in areas[col]:
            try:
                values.extend([float(v), 100.0 * float(v)])
            except ValueError:
                strings.update(re.findall(r"\d+", v))
    pieces = pyogrio.read_dataframe(config.output.processed / "analysis.gpkg",
                                    layer="agricultural_in_areas", read_geometry=False)
    values.extend(float(v) for v in pieces["arslager"].unique())
    return values, strings


def unexplained_numbers(text: str, config: Config) -> list[str]:
    values, strings = number_pool(config)
    text = re.sub(r"\b(?:Tabell|Figur|tabell|figur) \d+", " ", text)
    bad = []
    for value, decimals, token in parse_numbers(text):
        bare = token.lstrip("+\u2212-")
        if bare in LITERALS or (decimals == 0 and bare in strings):
            continue
        if not any(shown(abs(value), decimals, abs(v)) for v in values):
            bad.append(token)
    return bad


def test_every_number_in_markdown_comes_from_the_outputs(report):
    md, _ = texts(report)
    assert unexplained_numbers(md_prose(md), report) == []


def test_every_number_in_html_comes_from_the_outputs(report):
    _, page = texts(report)
    doc = HtmlDoc(page)
    assert unexplained_numbers(" \n ".join(doc.prose), report) == []


def check_tables(tables: dict[str, list[list[str]]], summary: dict, areas: pd.DataFrame) -> None:
    """Tables 1–3 (plans, comparison, top areas) cell by cell against the outputs."""
    plans, comps = summary["plans"], summary["comparisons"]
    t1 = tables["1"]
    assert t1[0][1:] == [p["label"] for p in plans.values()]
    rows = {r[0]: r[1:] for r in t1[1:]}
    getters = {
        "Antal utvecklingsområden": (lambda p: p["n_areas"], 1),
        "Utvecklingsområden (ha)": (lambda p: p["development_area_ha"], 1),
        "Jordbruksmark totalt (ha)": (lambda p: p["agricultural_ha"], 1),
        "Andel jordbruksmark": (lambda p: p["share"], 100),
        "Andel av kommunens jordbruksmark":
            (lambda p: p["share_of_municipal_agricultural_land"], 100),
    }
    for c in summary["classes"]:
        getters[f"Jordbruksmark, {c} (ha)"] = (lambda p, c=c: p["agricultural_ha_by_class"][c], 1)
    assert set(getters) <= set(rows)
    for label, (get, scale) in getters.items():
        for cell, plan in zip(rows[label], plans.values(), strict=True):
            assert_cell(cell, get(plan), scale=scale, where=f"table 1 {label}")
            if scale == 100 and get(plan) is not None:
                assert re.search(rf"\d[{NBSP} ]%$", cell), cell

    t2 = tables["2"]
    assert t2[0][1:] == [plans[k]["label"] for k in comps]
    rows = {r[0]: r[1:] for r in t2[1:]}
    fields = {"Förändring i andel (procentenheter)": "share_change_pp",
              "Förändring jordbruksmark (ha)": "agricultural_ha_change",
              "Förändring utvecklingsområden (ha)": "development_area_ha_change",
              "Nyutpekad jordbruksmark (ha)": "newly_designated_ha",
              "Frisläppt jordbruksmark (ha)": "released_ha",
              "Kvarvarande jordbruksmark (ha)": "kept_ha",
              "Nya områden (antal)": "areas_new", "Oförändrade områden (antal)": "areas_kept",
              "Ändrade områden (antal)": "areas_changed"}
    for label, key in fields.items():
        for cell, comp in zip(rows[label], comps.values(), strict=True):
            assert_cell(cell, comp[key], where=f"table 2 {label}")
    for cell, comp in zip(rows["Målet uppfyllt"], comps.values(), strict=True):
        assert cell == {True: "Ja", False: "Nej", None: "Kan inte bedömas"}[comp["goal_met"]]

    t3 = tables["3"]
    headline = list(comps)[-1]
    expected = (areas[(areas["plan"] == headline) & (areas["agricultural_ha"] > 0)]
                .sort_values("agricultural_ha", ascending=False).head(10))
    assert len(t3) - 1 == len(expected)
    for cells, (_, row) in zip(t3[1:], expected.iterrows(), strict=True):
        assert cells[0] == f"{row['name']} ({row['area_id']})"
        assert_cell(cells[3], row["area_ha"], where="table 3 area")
        assert_cell(cells[4], row["agricultural_ha"], where="table 3 farmland")
        assert_cell(cells[5], row["share"], scale=100, where="table 3 share")


def test_markdown_tables_match_summary(report):
    md, _ = texts(report)
    areas = pd.read_csv(report.output.processed / "areas.csv", dtype={"area_id": str})
    check_tables(md_tables(md), summary_of(report), areas)


def test_html_tables_match_summary(report):
    _, page = texts(report)
    areas = pd.read_csv(report.output.processed / "areas.csv", dtype={"area_id": str})
    check_tables(HtmlDoc(page).tables, summary_of(report), areas)


def test_headline_sentence_cites_the_computed_share(report):
    summary = summary_of(report)
    md, page = texts(report)
    pattern = re.compile(
        r"Andelen jordbruksmark i översiktsplanens utvecklingsområden är (\S+)[ \u00a0]% i "
        r"ÖP 2025, jämfört med (\S+)[ \u00a0]% i ÖP 2017 – en minskning med (\S+) "
        r"procentenheter\. Målet är uppfyllt\.")
    for text in (md, " ".join(HtmlDoc(page).prose)):
        m = pattern.search(text)
        assert m, text[:2000]
        new, base, change = (parse_one(g) for g in m.groups())
        assert shown(*new, 100 * summary["plans"]["op2025"]["share"])
        assert shown(*base, 100 * summary["plans"]["op2017"]["share"])
        assert shown(*change, -summary["comparisons"]["op2025"]["share_change_pp"])
    # the fixture's answer, by hand: 13,25 / 24,25 ha vs 10 / 18 ha
    assert "54,6 % i ÖP 2025" in md.replace(NBSP, " ")
    assert "55,6 % i ÖP 2017" in md.replace(NBSP, " ")


# ----------------------------------------------------------------------------
# Swedish number formatting


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    (2.675, 2, "2,68"),  # half away from zero, not the binary float 2.67499…
    (0.125, 2, "0,13"),  # not banker's 0,12
    (2.25, 1, "2,3"),
    (-2.25, 1, "\u22122,3"),
    (-0.04, 1, "0,0"),  # no −0,0
    (1234567.25, 1, f"1{NBSP}234{NBSP}567,3"),
    (999.95, 1, f"1{NBSP}000,0"),
    (12, 0, "12"),
])
def test_swedish_number_format(value, decimals, expected):
    assert fmt.number(value, decimals) == expected


def test_swedish_percent_and_points():
    assert fmt.percent(0.184) == f"18,4{NBSP}%"
    assert fmt.percent(0.00125, 2) == f"0,13{NBSP}%"
    assert fmt.percent(0.2435) == f"24,4{NBSP}%"  # 100 × 0.2435 is 24.349999… in binary
    assert fmt.percent(None) == "–"
    assert fmt.percentage_points(-4.65) == "\u22124,7 procentenheter"
    assert fmt.hectares(12345.65) == f"12{NBSP}345,7{NBSP}ha"


def test_report_uses_swedish_formatting(analysed, tmp_path):
    def edit(s):
        s["plans"]["op2017"]["development_area_ha"] = 12345.65
        s["plans"]["op2017"]["agricultural_ha_by_class"]["Åker"] = 2.25
        s["plans"]["op2025"]["agricultural_ha_by_class"]["Bete"] = 0.05
        s["comparisons"]["op2025"]["newly_designated_ha"] = 1000000.05

    config = variant(analysed, tmp_path, edit)
    build_report(config)
    md, page = texts(config)
    for text in (md_prose(md), " ".join(HtmlDoc(page).prose)):
        plain = text.replace(NBSP, " ").replace("CC BY 4.0", "licence")  # a name, not a number
        assert "12 345,7" in plain and "12345" not in plain
        assert "| 2,3 |" in plain or ">2,3<" in page  # 2.25 → 2,3 (half away from zero)
        assert "1 000 000,1" in plain  # thousands grouped, 0.05 rounded up
        assert not re.search(r"\d\.\d", plain), re.search(r".{30}\d\.\d.{30}", plain)
        assert not re.search(r"\d%", plain)  # always a space before %
        assert not re.search(r"\d,\d{3}[.,]\d", plain)  # no English thousands


# ----------------------------------------------------------------------------
# The citable sentence: decrease, increase, no change, plans without areas


def base_summary() -> dict:
    return {
        "baseline": "op2017",
        "plans": {
            "op2017": {"label": "ÖP 2017", "n_areas": 40, "share": 0.231},
            "op2025": {"label": "ÖP 2025 (förslag)", "n_areas": 44, "share": 0.184},
        },
        "comparisons": {"op2025": {"share_change_pp": -4.7, "goal_met": True}},
    }


def sentence(**changes) -> str:
    s = copy.deepcopy(base_summary())
    for path, value in changes.items():
        *keys, last = path.split("__")
        target = s
        for k in keys:
            target = target[k]
        target[last] = value
    return citable_sentence(s, "op2025").replace(NBSP, " ")


def test_sentence_decrease():
    assert sentence() == (
        "Andelen jordbruksmark i översiktsplanens utvecklingsområden är 18,4 % i ÖP 2025 "
        "(förslag), jämfört med 23,1 % i ÖP 2017 – en minskning med 4,7 procentenheter. "
        "Målet är uppfyllt.")


def test_sentence_increase():
    text = sentence(plans__op2025__share=0.2435, comparisons__op2025__share_change_pp=1.25,
                    comparisons__op2025__goal_met=False)
    assert text == (
        "Andelen jordbruksmark i översiktsplanens utvecklingsområden är 24,4 % i ÖP 2025 "
        "(förslag), jämfört med 23,1 % i ÖP 2017 – en ökning med 1,3 procentenheter. "
        "Målet är inte uppfyllt.")


def test_sentence_no_change():
    text = sentence(plans__op2025__share=0.231, comparisons__op2025__share_change_pp=0.0,
                    comparisons__op2025__goal_met=False)
    assert text.endswith("jämfört med 23,1 % i ÖP 2017 – andelen är oförändrad. "
                         "Målet är inte uppfyllt.")
    assert "minskning" not in text and "ökning" not in text


def test_sentence_tiny_change_is_not_shown_as_zero():
    text = sentence(plans__op2025__share=0.23097, comparisons__op2025__share_change_pp=-0.003)
    assert "en minskning med 0,003 procentenheter. Målet är uppfyllt." in text


def test_sentence_plan_without_areas():
    text = sentence(plans__op2025__share=None, plans__op2025__n_areas=0,
                    comparisons__op2025__share_change_pp=None, comparisons__op2025__goal_met=None)
    assert text == ("ÖP 2025 (förslag) har inga utvecklingsområden, så andelen jordbruksmark i "
                    "dess utvecklingsområden kan inte beräknas (i ÖP 2017 är den 23,1 %). "
                    "Målet kan inte bedömas.")


def test_sentence_baseline_without_areas():
    text = sentence(plans__op2017__share=None, plans__op2017__n_areas=0,
                    comparisons__op2025__share_change_pp=None, comparisons__op2025__goal_met=None)
    assert text.startswith("Andelen jordbruksmark i översiktsplanens utvecklingsområden är "
                           "18,4 % i ÖP 2025 (förslag). ÖP 2017 har inga utvecklingsområden")
    assert text.endswith("Målet kan inte bedömas.")


def test_sentence_single_plan():
    s = base_summary()
    del s["plans"]["op2025"]
    s["comparisons"] = {}
    assert citable_sentence(s, "op2017").replace(NBSP, " ") == (
        "Andelen jordbruksmark i översiktsplanens utvecklingsområden är 23,1 % i ÖP 2017. "
        "Det finns ingen senare plan att jämföra med, så målet kan inte bedömas.")


def test_report_with_an_increase(analysed, tmp_path):
    def edit(s):
        s["plans"]["op2025"]["share"] = 0.6
        s["comparisons"]["op2025"]["share_change_pp"] = 100 * (0.6 - s["plans"]["op2017"]["share"])
        s["comparisons"]["op2025"]["goal_met"] = False

    config = variant(analysed, tmp_path, edit)
    build_report(config)
    md, page = texts(config)
    for text in (md.replace(NBSP, " "), " ".join(HtmlDoc(page).prose).replace(NBSP, " ")):
        assert ("är 60,0 % i ÖP 2025, jämfört med 55,6 % i ÖP 2017 – en ökning med 4,4 "
                "procentenheter. Målet är inte uppfyllt.") in text


# ----------------------------------------------------------------------------
# Banner, HTML rules, sections that depend on the data


def test_no_banner_without_demo_data(report):
    md, page = texts(report)
    assert "DEMODATA" not in md and "DEMODATA" not in page
    assert 'class="demo-banner"' not in page and "@top-center" not in page


def test_banner_with_demo_data(analysed, tmp_path):
    config = variant(analysed, tmp_path, lambda s: s.update(demo=True))
    build_report(config)
    md, page = texts(config)
    lines = md.strip().splitlines()
    assert "DEMODATA" in lines[0] and "DEMODATA" in lines[-1]
    assert "inte Testkommuns" in lines[0]
    assert page.count('class="demo-banner"') == 2
    # repeated on every printed page through a page-margin box
    assert re.search(r"@page\s*\{[^}]*@top-center\s*\{[^}]*content:\s*\"DEMODATA", page)


def test_html_structure(report):
    _, page = texts(report)
    doc = HtmlDoc(page)
    assert page.startswith("<!DOCTYPE html>")
    assert doc.lang == "sv"
    assert doc.title and "Uppföljning av målet" in doc.title and "Testkommun" in doc.title
    levels = [lvl for lvl, _ in doc.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert [t for lvl, t in doc.headings if lvl == 2] == ["Resultat", "Metod",
                                                          "Källor och spårbarhet"]
    assert len(doc.images) == 3
    for img in doc.images:
        assert len(img.get("alt", "").strip()) > 40
        assert img["src"].startswith("data:image/png;base64,")
    assert page.count("<figcaption>Figur ") == 3


def test_html_makes_no_external_requests(report):
    _, page = texts(report)
    doc = HtmlDoc(page)
    for url in doc.urls:
        assert url.startswith("data:") or not re.match(r"^([a-z][a-z0-9+.-]*:|//)", url), url
    without_data = re.sub(r"data:[^\"')\s]+", "", page)
    assert not re.search(r"(?i)(https?:|ftp:)?//[a-z0-9]", without_data)
    assert "@import" not in page and "<script" not in page and "<link" not in page


def test_markdown_figures_have_alt_text_and_files(report):
    md, _ = texts(report)
    images = re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", md)
    assert len(images) == 3
    for alt, src in images:
        assert len(alt) > 40
        assert (report.output.reports / src).is_file()
        assert (report.output.reports / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_alt_text_states_the_figures(report):
    _, page = texts(report)
    alts = [img["alt"].replace(NBSP, " ") for img in HtmlDoc(page).images]
    assert "ÖP 2017: 55,6 %; ÖP 2025: 54,6 %" in alts[0]
    assert "3,3 ha jordbruksmark som ÖP 2025 nyutpekar" in alts[1]  # 3,25 ha, half up
    assert "Ängen (A1): 10,0 ha; Ringen (B2): 3,0 ha; Gränsen (B3): 1,0 ha" in alts[2]


def test_method_and_sources(report):
    md, _ = texts(report)
    summary = summary_of(report)
    assert "EPSG:3006" in md and "make_valid" in md
    assert "planerad exploatering" in md and "registrerats för jordbruksstöd" in md
    assert "samma jordbruksmarksskikt" in md
    for info in summary["inputs"]:
        assert info["sha256"] in md and info["path"] in md
    assert f"GEOS {summary['software']['GEOS']}" in md
    assert "Kontroll mot marktäckedata" not in md  # no landcover in this summary
    assert "webbkartan" not in md.lower()  # no maps/index.html


def test_markdown_is_reproducible(analysed, tmp_path):
    config = variant(analysed, tmp_path)
    build_report(config)
    first = {p.name: p.read_bytes() for p in config.output.reports.rglob("*.*")
             if p.suffix in (".md", ".png")}
    build_report(config)
    again = {p.name: p.read_bytes() for p in config.output.reports.rglob("*.*")
             if p.suffix in (".md", ".png")}
    assert first == again and len(first) == 4


def test_landcover_cross_check_and_own_layers(analysed, tmp_path):
    def edit(s):
        s["plans"]["op2017"]["landcover"] = {"agricultural_ha": 1234.56, "share": 0.4321,
                                             "nodata_ha": 0.05}
        s["plans"]["op2025"]["landcover"] = {"agricultural_ha": 7.0, "share": 0.5,
                                             "nodata_ha": 0.0}
        s["plans"]["op2017"]["agricultural_layer"] = "agricultural_land:op2017"
        s["municipal_agricultural_ha"]["agricultural_land:op2017"] = 21.5
        s["inputs"].append({**s["inputs"][1], "role": "agricultural_land:op2017",
                            "path": "raw/blocks_2017.gpkg", "sha256": "ab" * 32})

    config = variant(analysed, tmp_path, edit)
    (config.output.maps).mkdir()
    (config.output.maps / "index.html").write_text("<html></html>", encoding="utf-8")
    build_report(config)
    md, page = texts(config)
    assert "### Kontroll mot marktäckedata (NMD)" in md
    table = next(t for t in md_tables(md).values() if t[0][0] == "Plan" and "NMD" in t[0][2])
    assert table[1][0] == "ÖP 2017"
    assert_cell(table[1][2], 1234.56, where="NMD ha")
    assert_cell(table[1][3], 0.4321, scale=100, where="NMD share")
    assert_cell(table[1][4], 0.05, where="NMD nodata")
    assert "olika jordbruksmarksskikt" in md and "raw/blocks_2017.gpkg" in md
    assert "frisläppt jordbruksmark mot ÖP 2017:s skikt" in md
    assert "Jordbruksmark för ÖP 2017" in md  # the layer's role in the sources table
    assert "[öppna webbkartan](../maps/index.html)" in md
    assert 'href="../maps/index.html"' in page
    assert unexplained_numbers(md_prose(md), config) == []
    assert unexplained_numbers(" ".join(HtmlDoc(page).prose), config) == []


def test_missing_outputs_are_an_input_error(analysed, tmp_path):
    config = dataclasses.replace(analysed, output=OutputConfig(
        processed=tmp_path / "nothing", maps=tmp_path / "maps", reports=tmp_path / "reports"))
    with pytest.raises(InputError, match=r"kör `opjord analyse` först"):
        build_report(config)
    assert not (tmp_path / "reports").exists()


def test_failure_leaves_the_previous_report_intact(analysed, tmp_path, monkeypatch):
    config = variant(analysed, tmp_path)
    build_report(config)
    before = {p: p.read_bytes() for p in config.output.reports.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("pipeline.report.render_html", boom)
    with pytest.raises(RuntimeError):
        build_report(config)
    after = {p: p.read_bytes() for p in config.output.reports.rglob("*") if p.is_file()}
    assert after == before


def test_report_on_a_plan_without_areas(analysed, tmp_path):
    """A real analysis in which the later plan has no areas: no division, no crash."""
    import geopandas as gpd

    root = tmp_path / "p"
    shutil.copytree(analysed.root / "raw", root / "raw")
    (root / "opjord.toml").write_text(CONFIG, encoding="utf-8")
    empty = gpd.GeoDataFrame({"omr_id": pd.Series([], dtype=str),
                              "namn": pd.Series([], dtype=str),
                              "typ": pd.Series([], dtype=str)},
                             geometry=gpd.GeoSeries([], crs="EPSG:3006"))
    (root / "raw" / "op2025.gpkg").unlink()
    empty.to_file(root / "raw" / "op2025.gpkg", engine="pyogrio", geometry_type="Polygon")
    config = load_config(root / "opjord.toml")
    write_outputs(analyse(config))
    build_report(config)
    md, page = texts(config)
    assert ("ÖP 2025 har inga utvecklingsområden, så andelen jordbruksmark i dess "
            "utvecklingsområden kan inte beräknas") in md
    assert "Målet kan inte bedömas." in md
    rows = {r[0]: r[1:] for r in md_tables(md)["1"][1:]}
    assert rows["Andel jordbruksmark"][1] == "–"
    assert len(HtmlDoc(page).images) == 2  # no top-areas chart for a plan without areas
