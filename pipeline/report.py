"""The goal report for måluppfyllelse 3A, in Swedish, from the analysis outputs.

`build_report(config)` reads only what `opjord analyse` wrote to
`config.output.processed` (summary.json, areas.csv, analysis.gpkg) and writes
`config.output.reports`:

- `uppfoljning_3a.md` — Markdown, figures referenced as `figures/*.png`;
- `uppfoljning_3a.html` — one self-contained, print-friendly file (A4): the
  figures are embedded as data: URIs, so the file can be mailed, published or
  printed on its own and makes no request of any kind;
- `figures/*.png` — the figures (matplotlib), also for reuse in other documents.

No number is typed by hand: every figure in the text comes from summary.json
(or, for the per-area table, areas.csv), formatted by `pipeline.fmt`.

Dates: summary.json stores no run date (so that the same inputs give the same
outputs), and the modification time of an input file is not a reproducible
fact. The report therefore identifies its data by the plan versions (labels),
the input files with their sha256, and — where the farmland layer carries
Jordbruksverket's `arslager` — the field-block year. The Markdown carries no
date at all and is byte-identical for the same analysis outputs; the HTML
footer states the date the report was generated (`SOURCE_DATE_EPOCH` is
honoured, for reproducible builds).

Everything is rendered in memory first and then written into a staging folder of
a `pipeline.outputs` publication, which replaces the previous report only when the
whole run has succeeded. The report states the run id it was built from, the same
as in summary.json, analysis.gpkg and the web map.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import os
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import fmt
from pipeline.analyse import OUTSIDE_BOUNDARY
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.outputs import publishing
from pipeline.results import AREAS_CSV, GPKG, SUMMARY, Processed, read_processed

log = logging.getLogger(__name__)

REPORT_MD = "uppfoljning_3a.md"
REPORT_HTML = "uppfoljning_3a.html"
FIGURES = "figures"
FIG_SHARE = "andel_per_plan.png"
TOP_N = 10

GOAL_TEXT = ("3A. Jordbruksmark värnas genom att andelen jordbruksmark i översiktsplanens "
             "utvecklingsområden minskar i jämförelse med översiktsplanen från 2017.")
GOAL_SOURCE = "Kommunstyrelsens uppdragsplan 2024"
STATUS_SV = {"new": "ny", "kept": "kvar", "changed": "ändrad", "removed": "borttagen"}
CLEANING_SV = {
    "features_read": "Lästa",
    "null_dropped": "Utan geometri, borttagna",
    "empty_dropped": "Tomma, borttagna",
    "repaired": "Reparerade (make_valid)",
    "z_dropped": "Z-värden borttagna",
    "non_polygonal_parts_dropped": "Punkt-/linjedelar borttagna",
    "features_kept": "Använda",
}

# ----------------------------------------------------------------------------
# Number formatting (Swedish, via pipeline.fmt)


def _ha(value: float | None) -> str:
    """Hectares with one decimal and no unit (the unit is in the column or the text)."""
    return fmt.number(value, 1)


def _signed_ha(value: float | None) -> str:
    return fmt.number(value, 1, sign=True)


def _int(value: int | None) -> str:
    return fmt.number(value, 0)


def _pp_decimals(pp: float) -> int:
    """One decimal, more when a non-zero change would otherwise show as 0,0."""
    decimals = 1
    while decimals < 4 and pp != 0 and fmt.round_half_away(abs(pp), decimals) == 0:
        decimals += 1
    return decimals


def _pp(pp: float | None, *, sign: bool = True) -> str:
    """A change in percentage points, e.g. "−4,7 procentenheter"."""
    if pp is None:
        return "–"
    return fmt.percentage_points(pp, _pp_decimals(pp), sign=sign)


# ----------------------------------------------------------------------------
# A small document model rendered to both Markdown and HTML


@dataclass
class Code:
    """Verbatim text: file names, hashes, versions, messages from the analysis."""

    text: str


@dataclass
class Link:
    text: str
    href: str  # relative, already URL-quoted


Inline = str | Code | Link
Cell = str | list[Inline]


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    parts: list[Inline]
    role: str = ""  # "citable", "lead" or "" (a CSS class in HTML)


@dataclass
class Bullets:
    items: list[list[Inline]]


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    row_header: bool = True  # first column names the row


@dataclass
class Figure:
    name: str  # file name in figures/
    png: bytes
    alt: str
    caption: str
    size: tuple[int, int]  # pixels


Block = Heading | Para | Bullets | Table | Figure


class _Doc:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.n_tables = 0
        self.n_figures = 0

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def table(self, caption: str, header: list[str], rows: list[list[Cell]], *,
              numeric: Iterable[int] = (), row_header: bool = True) -> int:
        self.n_tables += 1
        self.blocks.append(Table(f"Tabell {self.n_tables}. {caption}", header, rows,
                                 set(numeric), row_header))
        return self.n_tables

    def figure(self, name: str, png: bytes, size: tuple[int, int], alt: str,
               caption: str) -> int:
        self.n_figures += 1
        self.blocks.append(Figure(name, png, alt, f"Figur {self.n_figures}. {caption}", size))
        return self.n_figures

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_inline(parts: Iterable[Inline] | str) -> str:
    if isinstance(parts, str):
        return _md_text(parts)
    out = []
    for part in parts:
        if isinstance(part, Code):
            ticks = "``" if "`" in part.text else "`"
            out.append(f"{ticks}{part.text}{ticks}")
        elif isinstance(part, Link):
            out.append(f"[{_md_text(part.text)}]({part.href})")
        else:
            out.append(_md_text(part))
    return "".join(out)


def _html_inline(parts: Iterable[Inline] | str) -> str:
    if isinstance(parts, str):
        return html.escape(parts)
    out = []
    for part in parts:
        if isinstance(part, Code):
            out.append(f"<code>{html.escape(part.text)}</code>")
        elif isinstance(part, Link):
            out.append(f'<a href="{html.escape(part.href, quote=True)}">'
                       f"{html.escape(part.text)}</a>")
        else:
            out.append(html.escape(part))
    return "".join(out)


def render_markdown(doc: _Doc, *, banner: str | None) -> str:
    lines: list[str] = []
    if banner:
        lines += [f"> **{_md_text(banner)}**", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + _md_text(block.text), ""]
        elif isinstance(block, Para):
            text = _md_inline(block.parts)
            lines += [f"**{text}**" if block.role == "citable" else text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines += [f"*{_md_text(block.caption)}*", ""]
            lines.append("| " + " | ".join(_md_text(h) for h in block.header) + " |")
            lines.append("|" + "|".join("---:" if i in block.numeric else "---"
                                        for i in range(len(block.header))) + "|")
            for row in block.rows:
                lines.append("| " + " | ".join(_md_inline(c) for c in row) + " |")
            lines.append("")
        elif isinstance(block, Figure):
            alt = block.alt.replace("[", "(").replace("]", ")").replace("\n", " ")
            lines += [f"![{alt}]({FIGURES}/{block.name})", "", f"*{_md_text(block.caption)}*", ""]
    if banner:
        lines += [f"> **{_md_text(banner)}**", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


CSS = """
:root { color: #1a1a1a; background: #fff; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; line-height: 1.5;
       max-width: 48rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 1rem 0 0.5rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #999; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 0.4rem; }
p.citable { font-size: 1.15rem; font-weight: 600; border-left: 0.35rem solid #1f4e79;
            padding: 0.5rem 0.9rem; background: #eef3f8; }
p.lead { color: #333; }
.demo-banner { background: #ffd84d; color: #000; border: 2px solid #000; font-weight: 700;
               padding: 0.5rem 0.75rem; margin: 0.5rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; width: 100%; font-size: 0.95rem; }
caption { text-align: left; font-style: italic; padding-bottom: 0.3rem; }
th, td { border: 1px solid #8c8c8c; padding: 0.25rem 0.5rem; vertical-align: top;
         text-align: left; }
thead th { background: #e8e8e8; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.85em;
       overflow-wrap: anywhere; }
td code { font-size: 0.8em; }
figure { margin: 1rem 0 1.5rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-style: italic; font-size: 0.95rem; }
footer { margin-top: 3rem; font-size: 0.9rem; color: #333; }
footer p { border-top: 1px solid #999; padding-top: 0.5rem; }
a { color: #0b4f8a; }
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  table, figure, p.citable, .keep { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure img { max-height: 150mm; width: auto; border: none; }
  a { color: inherit; }
  .demo-banner { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""

# Demodata on every printed page: a page-margin box (Chromium ≥ 131); browsers without
# margin boxes still print the banner at the start and the end of the document.
DEMO_PAGE_CSS = """
@page { margin-top: 22mm;
  @top-center { content: "%s"; font: 700 9pt Arial, sans-serif; color: #000;
                background: #ffd84d; border: 1.5pt solid #000; padding: 1.5mm 3mm;
                margin-top: 6mm; margin-bottom: 3mm; } }
"""


def render_html(doc: _Doc, *, title: str, banner: str | None, footer: list[Inline]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="sv">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title>", "<style>" + CSS]
    if banner:
        out.append(DEMO_PAGE_CSS % banner.replace("\\", "\\\\").replace('"', '\\"'))
    out += ["</style>", "</head>", "<body>"]
    if banner:
        out.append(f'<header><div class="demo-banner" role="note">{html.escape(banner)}</div>'
                   "</header>")
    out.append("<main>")
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            cls = f' class="{block.role}"' if block.role else ""
            out.append(f"<p{cls}>{_html_inline(block.parts)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items)
                       + "</ul>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            w, h = block.size
            out.append(f'<figure><img src="data:image/png;base64,{data}" width="{w}" '
                       f'height="{h}" alt="{html.escape(block.alt, quote=True)}">'
                       f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    out.append("</main>")
    out.append("<footer>")
    if banner:
        out.append(f'<div class="demo-banner" role="note">{html.escape(banner)}</div>')
    out.append(f"<p>{_html_inline(footer)}</p></footer>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_table(table: Table) -> str:
    rows = ["<table>", f"<caption>{html.escape(table.caption)}</caption>", "<thead><tr>"]
    rows.append("".join(f'<th scope="col">{html.escape(h)}</th>' for h in table.header))
    rows.append("</tr></thead><tbody>")
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            content = _html_inline(cell)
            if i == 0 and table.row_header:
                cells.append(f'<th scope="row">{content}</th>')
            else:
                cls = ' class="num"' if i in table.numeric else ""
                cells.append(f"<td{cls}>{content}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


# ----------------------------------------------------------------------------
# Reading the analysis outputs


@dataclass
class ReportData:
    """What the report is built from: data/processed only."""

    summary: dict
    areas: pd.DataFrame  # areas.csv
    gpkg: Path
    web_map: Path | None  # maps/index.html when it exists

    @property
    def plans(self) -> dict[str, dict]:
        return self.summary["plans"]

    @property
    def baseline(self) -> str:
        return self.summary["baseline"]

    def label(self, key: str) -> str:
        return self.plans[key]["label"]

    def input(self, role: str) -> dict | None:
        return next((i for i in self.summary.get("inputs", []) if i["role"] == role), None)

    @property
    def headline(self) -> str:
        """The plan the headline is about: the last compared plan, else the only plan."""
        comparisons = list(self.summary.get("comparisons", {}))
        return comparisons[-1] if comparisons else self.baseline


def report_data(processed: Processed, web_map: Path | None) -> ReportData:
    """What the report is built from: the checked analysis outputs and the web map's page."""
    return ReportData(summary=processed.summary, areas=processed.areas, gpkg=processed.gpkg,
                      web_map=web_map)


def _field_block_years(data: ReportData) -> dict[str, list[int]]:
    """Jordbruksverket's `arslager` of the farmland inside each plan's areas (if recorded)."""
    import pyogrio

    try:
        layers = {name for name, _ in pyogrio.list_layers(data.gpkg)}
        if "agricultural_in_areas" not in layers:
            return {}
        fields = pyogrio.read_info(data.gpkg, layer="agricultural_in_areas")["fields"]
        if "arslager" not in fields or "plan" not in fields:
            return {}
        table = pyogrio.read_dataframe(data.gpkg, layer="agricultural_in_areas",
                                       columns=["plan", "arslager"], read_geometry=False)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{data.gpkg}: cannot be read ({exc}). Fix: run `opjord analyse` "
                         "again.") from exc
    years: dict[str, list[int]] = {}
    for key, group in table.groupby("plan"):
        values = pd.to_numeric(group["arslager"], errors="coerce").dropna()
        years[str(key)] = sorted({int(v) for v in values})
    return years


def _is_field_blocks(data: ReportData) -> bool:
    """True when the farmland pieces carry Jordbruksverket's field-block attributes."""
    import pyogrio

    try:
        fields = pyogrio.read_info(data.gpkg, layer="agricultural_in_areas")["fields"]
    except Exception:  # noqa: BLE001 - a missing layer just means "unknown"
        return False
    return "blockid" in fields and "agoslag" in fields


# ----------------------------------------------------------------------------
# Text


def citable_sentence(summary: dict, key: str) -> str:
    """The sentence a goal report can quote, for plan `key` against the baseline.

    Covers a decrease, an increase, no change, plans without areas, and a single plan.
    """
    plans, base_key = summary["plans"], summary["baseline"]
    base, plan = plans[base_key], plans[key]
    subject = "Andelen jordbruksmark i översiktsplanens utvecklingsområden"
    if key == base_key:
        if base["share"] is None:
            return (f"{base['label']} har inga utvecklingsområden, så andelen jordbruksmark i "
                    "utvecklingsområdena kan inte beräknas. Det finns ingen senare plan att "
                    "jämföra med, så målet kan inte bedömas.")
        return (f"{subject} är {fmt.percent(base['share'])} i {base['label']}. Det finns ingen "
                "senare plan att jämföra med, så målet kan inte bedömas.")
    comp = summary["comparisons"][key]
    goal = {True: "Målet är uppfyllt.", False: "Målet är inte uppfyllt.",
            None: "Målet kan inte bedömas."}[comp["goal_met"]]
    if plan["share"] is None and base["share"] is None:
        return (f"Varken {plan['label']} eller {base['label']} har några utvecklingsområden, så "
                f"andelen jordbruksmark kan inte beräknas för någon av dem. {goal}")
    if plan["share"] is None:
        return (f"{plan['label']} har inga utvecklingsområden, så andelen jordbruksmark i dess "
                f"utvecklingsområden kan inte beräknas (i {base['label']} är den "
                f"{fmt.percent(base['share'])}). {goal}")
    if base["share"] is None:
        return (f"{subject} är {fmt.percent(plan['share'])} i {plan['label']}. {base['label']} "
                f"har inga utvecklingsområden, så det finns inget värde att jämföra med. {goal}")
    pp = comp["share_change_pp"]
    if pp == 0:
        change = "andelen är oförändrad"
    elif pp < 0:
        change = f"en minskning med {_pp(abs(pp), sign=False)}"
    else:
        change = f"en ökning med {_pp(pp, sign=False)}"
    return (f"{subject} är {fmt.percent(plan['share'])} i {plan['label']}, jämfört med "
            f"{fmt.percent(base['share'])} i {base['label']} – {change}. {goal}")


ROLE_SV = {"boundary": "Kommungräns", "agricultural_land": "Jordbruksmark"}


def role_sv(role: str, data: ReportData) -> str:
    """A Swedish name for an input role, e.g. "Utvecklingsområden, ÖP 2017"."""
    if role in ROLE_SV:
        return ROLE_SV[role]
    kind, _, key = role.partition(":")
    label = data.plans[key]["label"] if key in data.plans else key
    if kind == "plan":
        return f"Utvecklingsområden, {label}"
    if kind == "agricultural_land":
        return f"Jordbruksmark för {label}"
    return role


def _layer_parts(data: ReportData, role: str) -> list[Inline]:
    """A farmland layer as text: its file (and layer) in code."""
    info = data.input(role)
    if info is None:
        return [Code(role)]
    parts: list[Inline] = [Code(info["path"])]
    if info.get("layer"):
        parts += [" (skikt ", Code(info["layer"]), ")"]
    return parts


def _join_labels(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " och " + labels[-1]


# ----------------------------------------------------------------------------
# Sections


def _results(doc: _Doc, data: ReportData, years: dict[str, list[int]]) -> None:
    s = data.summary
    doc.add(Heading(2, "Resultat"))
    comparisons = s.get("comparisons", {})
    for key in (list(comparisons) or [data.baseline]):
        doc.add(Para([citable_sentence(s, key)], role="citable"))
    plan_labels = [p["label"] for p in data.plans.values()]
    underlag: list[Inline] = [
        f"Planversioner: {_join_labels(plan_labels)}; jämförelseplan är "
        f"{data.label(data.baseline)}. Indata: "]
    for i, key in enumerate(data.plans):
        info = data.input(f"plan:{key}")
        if info:
            underlag += [("; " if i else "") + f"{data.label(key)} ", Code(info["path"])]
    underlag.append("; jordbruksmark enligt ")
    roles = list(dict.fromkeys(p.get("agricultural_layer", "agricultural_land")
                               for p in data.plans.values()))
    for i, role in enumerate(roles):
        if i:
            underlag.append(" och ")
        underlag += _layer_parts(data, role)
    underlag.append(". ")
    if years:
        year_text = "; ".join(f"{data.label(k)}: {', '.join(str(y) for y in v)}"
                              for k, v in years.items() if v and k in data.plans)
        if year_text:
            underlag.append(f"Jordbruksblockens årsskikt (arslager) inom områdena: {year_text}. ")
    underlag.append("Filernas kontrollsummor (sha256) finns i avsnittet Källor och spårbarhet; "
                    "samma filer ger alltid samma siffror.")
    doc.add(Para(underlag, role="lead"))


def _plan_table(doc: _Doc, data: ReportData) -> None:
    s = data.summary
    classes = s.get("classes", [])
    keys = list(data.plans)
    header = ["Mått"] + [data.label(k) for k in keys]
    rows: list[list[Cell]] = [
        ["Antal utvecklingsområden"] + [_int(data.plans[k]["n_areas"]) for k in keys],
        ["Utvecklingsområden (ha)"] + [_ha(data.plans[k]["development_area_ha"]) for k in keys],
    ]
    for c in classes:
        rows.append([f"Jordbruksmark, {c} (ha)"]
                    + [_ha(data.plans[k]["agricultural_ha_by_class"].get(c)) for k in keys])
    rows += [
        ["Jordbruksmark totalt (ha)"] + [_ha(data.plans[k]["agricultural_ha"]) for k in keys],
        ["Andel jordbruksmark"] + [fmt.percent(data.plans[k]["share"]) for k in keys],
        ["Andel av kommunens jordbruksmark"]
        + [fmt.percent(data.plans[k]["share_of_municipal_agricultural_land"]) for k in keys],
    ]
    doc.add(Heading(3, "Nyckeltal per plan"))
    doc.table("Utvecklingsområden och jordbruksmark per plan. Areal i hektar (ha); överlappande "
              "områden räknas en gång.", header, rows, numeric=range(1, len(header)))
    empty = [data.label(k) for k in keys if data.plans[k]["share"] is None]
    if empty:
        doc.add(Para([f"{_join_labels(empty)} har inga utvecklingsområden; andelen kan då inte "
                      "beräknas och visas som –."]))


def _comparison_table(doc: _Doc, data: ReportData) -> None:
    comparisons = data.summary.get("comparisons", {})
    if not comparisons:
        return
    keys = list(comparisons)
    base = data.label(data.baseline)
    goal = {True: "Ja", False: "Nej", None: "Kan inte bedömas"}
    matching = {"id": "efter område-id", "overlap": "efter geometrisk överlappning"}

    def row(label: str, values: list[str]) -> list[Cell]:
        return [label, *values]

    rows = [
        row("Förändring i andel (procentenheter)",
            [_pp(comparisons[k]["share_change_pp"]).replace(" procentenheter", "")
             for k in keys]),
        row("Förändring jordbruksmark (ha)",
            [_signed_ha(comparisons[k]["agricultural_ha_change"]) for k in keys]),
        row("Förändring utvecklingsområden (ha)",
            [_signed_ha(comparisons[k].get("development_area_ha_change")) for k in keys]),
        row("Nyutpekad jordbruksmark (ha)",
            [_ha(comparisons[k]["newly_designated_ha"]) for k in keys]),
        row("Frisläppt jordbruksmark (ha)", [_ha(comparisons[k]["released_ha"]) for k in keys]),
        row("Kvarvarande jordbruksmark (ha)", [_ha(comparisons[k].get("kept_ha")) for k in keys]),
    ]
    for field_, label in (("areas_new", "Nya områden (antal)"),
                          ("areas_kept", "Oförändrade områden (antal)"),
                          ("areas_changed", "Ändrade områden (antal)"),
                          ("areas_removed", f"Borttagna områden ur {base} (antal)")):
        if any(field_ in comparisons[k] for k in keys):
            rows.append(row(label, [_int(comparisons[k].get(field_)) for k in keys]))
    rows.append(row("Områden matchade", [matching.get(comparisons[k].get("area_matching"), "–")
                                         for k in keys]))
    rows.append(row("Målet uppfyllt", [goal[comparisons[k]["goal_met"]] for k in keys]))
    doc.add(Heading(3, f"Jämförelse med {base}"))
    numeric = range(1, len(keys) + 1)
    doc.table(f"Förändring jämfört med {base}. Nyutpekad: jordbruksmark inom planens "
              f"utvecklingsområden men utanför {base}:s; frisläppt: inom {base}:s men inte "
              "längre utpekad; kvarvarande: utpekad i båda.",
              ["Mått"] + [data.label(k) for k in keys], rows, numeric=numeric)


def _top_areas(data: ReportData) -> pd.DataFrame:
    table = data.areas[data.areas["plan"] == data.headline].copy()
    table = table[table["agricultural_ha"] > 0]
    table = table.sort_values(["agricultural_ha", "area_id"], ascending=[False, True],
                              kind="stable")
    return table.head(TOP_N)


def _area_name(row: pd.Series) -> str:
    name, area_id = str(row.get("name") or ""), str(row.get("area_id") or "")
    return f"{name} ({area_id})" if name and area_id and name != area_id else (name or area_id)


def _top_table(doc: _Doc, data: ReportData, top: pd.DataFrame) -> None:
    label = data.label(data.headline)
    if top.empty:
        doc.add(Para([f"{label} har inga utvecklingsområden." if not data.plans[data.headline]
                      ["n_areas"] else f"Inget utvecklingsområde i {label} innehåller "
                      "jordbruksmark."]))
        return
    rows: list[list[Cell]] = []
    for _, r in top.iterrows():
        status = STATUS_SV.get(str(r.get("status") or ""), "")
        share = None if pd.isna(r["share"]) else float(r["share"])
        rows.append([_area_name(r), str(r.get("type") or ""), status or "–",
                     _ha(float(r["area_ha"])), _ha(float(r["agricultural_ha"])),
                     fmt.percent(share)])
    doc.table(f"De utvecklingsområden i {label} som har mest jordbruksmark (högst tio). "
              "Siffror per område; områden kan överlappa varandra och kan sträcka sig utanför "
              "kommungränsen.",
              ["Område", "Typ", f"Status mot {data.label(data.baseline)}", "Areal (ha)",
               "Jordbruksmark (ha)", "Andel jordbruksmark"], rows, numeric={3, 4, 5})


def _method(doc: _Doc, data: ReportData) -> None:
    s = data.summary
    base = data.label(data.baseline)
    classes = s.get("classes", [])
    class_text = _join_labels(classes) if classes else "de valda slagen"
    doc.add(Heading(2, "Metod"))
    doc.add(Heading(3, "Definitioner"))
    doc.add(Bullets([
        ["Utvecklingsområde: ett område som översiktsplanen pekar ut för ny bebyggelse eller "
         "annan utveckling, till exempel bostäder, verksamheter eller blandad bebyggelse."],
        [f"Jordbruksmark: åkermark och betesmark, här de ytor i jordbruksmarksskiktet som hör "
         f"till slagen {class_text}."],
        ["Planens samlade utvecklingsområde: alla planens utvecklingsområden sammanslagna till "
         "en yta" + (" och avgränsade till kommungränsen" if data.input("boundary") else "")
         + ". Där områden överlappar varandra räknas marken bara en gång."],
        ["Andel jordbruksmark (målets mått): jordbruksmarkens areal inom planens samlade "
         "utvecklingsområde delad med det samlade utvecklingsområdets areal."],
        ["Andel av kommunens jordbruksmark: jordbruksmarken inom planens samlade "
         "utvecklingsområde delad med all jordbruksmark "
         + ("inom kommungränsen." if data.input("boundary") else "i skiktet.")],
        [f"Förändring i procentenheter: 100 × (andelen i planen − andelen i {base}). Målet är "
         f"uppfyllt när andelen i planen är lägre än i {base}."],
        [f"Nyutpekad jordbruksmark: jordbruksmark inom planens utvecklingsområden men utanför "
         f"{base}:s. Frisläppt: jordbruksmark inom {base}:s utvecklingsområden som planen inte "
         "längre pekar ut. Kvarvarande: jordbruksmark som båda planerna pekar ut."],
        ["Siffror per område gäller varje område för sig. Eftersom områden kan överlappa kan "
         "summan av områdena bli större än planens totalsiffror, som räknar överlapp en gång."],
    ]))
    doc.add(Para(["Definitionerna med formler och ett räknat exempel finns i opjords "
                  "dokumentation, ", Code("docs/indicators.md"), " (på engelska)."]))

    doc.add(Heading(3, "Beräkning"))
    transformed = [i for i in s.get("inputs", [])
                   if i.get("source_crs") and i.get("source_crs") != s.get("crs")]
    calc: list[Inline] = [
        "Alla ytor är beräknade plant i koordinatsystemet SWEREF 99 TM (",
        Code(str(s.get("crs", "EPSG:3006"))), "), som är det nationella referenssystemet. "
        "En hektar är 10 000 kvadratmeter. "]
    if transformed:
        calc.append("Indata i andra koordinatsystem transformerades först: ")
        for i, info in enumerate(transformed):
            calc += [("; " if i else "") + role_sv(info["role"], data) + " från ",
                     Code(info["source_crs"])]
        calc.append(". ")
    calc.append("Överlappande ytor i jordbruksmarksskiktet slogs samman så att ingen mark "
                "räknas två gånger")
    if len(classes) > 1:
        calc.append(f"; där slagen överlappar räknas marken till det slag som står först "
                    f"({' före '.join(classes)})")
    calc.append(".")
    doc.add(Para(calc))
    inputs = [i for i in s.get("inputs", []) if "cleaning" in i]
    doc.add(Para(["Ogiltiga geometrier (till exempel självkorsande ytor) reparerades med GEOS "
                  "funktion ", Code("make_valid"), ". Objekt utan geometri, tomma objekt och "
                  "punkt- eller linjedelar togs bort, och eventuella höjdvärden (Z) "
                  "ignorerades."
                  + (f" Tabell {doc.n_tables + 1} visar antalen per indatafil." if inputs
                     else "")]))
    if inputs:
        fields_ = list(CLEANING_SV)
        doc.table("Rensning av indata (antal objekt).",
                  ["Indata", *(CLEANING_SV[f] for f in fields_)],
                  [[role_sv(i["role"], data), *(_int(i["cleaning"].get(f)) for f in fields_)]
                   for i in inputs], numeric=range(1, len(fields_) + 1))
    outside = [w for w in s.get("warnings", []) if OUTSIDE_BOUNDARY in w]
    if outside:
        doc.add(Para(["Delar av utvecklingsområden som ligger utanför kommungränsen räknas inte "
                      "i planernas totalsiffror, men ingår i siffrorna per område (se "
                      "analysens varningar under Källor och spårbarhet)."]))

    _layers_section(doc, data)
    if any(isinstance(p.get("landcover"), dict) for p in data.plans.values()):
        _landcover_section(doc, data)

    doc.add(Heading(3, "Vad måttet inte visar"))
    doc.add(Bullets([
        ["Måttet visar planerad exploatering, alltså mark som översiktsplanen pekar ut för "
         "utveckling, inte faktisk (realiserad) exploatering. Översiktsplanen är inte "
         "bindande, och all mark i ett utvecklingsområde kommer inte att bebyggas. Hur mycket "
         "jordbruksmark som faktiskt tas i anspråk behöver följas upp på annat sätt."],
        ["Jordbruksverkets jordbruksblock omfattar bara mark som har registrerats för "
         "jordbruksstöd, inte all jordbruksmark. Åker- och betesmark som ingen söker stöd för "
         "saknas i skiktet, så måttet kan underskatta jordbruksmarken."],
        ["Måttet säger ingenting om jordbruksmarkens kvalitet, till exempel bördighet eller "
         "brukningsvärde, och väger all jordbruksmark lika."],
        ["Andelen beror både på hur mycket jordbruksmark planen pekar ut och på hur stora "
         "utvecklingsområdena är totalt; se därför även hektartalen."],
    ]))


def _layers_section(doc: _Doc, data: ReportData) -> None:
    s = data.summary
    base = data.label(data.baseline)
    doc.add(Heading(3, "Jordbruksmarksskikt per plan"))
    roles = {k: p.get("agricultural_layer", "agricultural_land") for k, p in data.plans.items()}
    municipal = s.get("municipal_agricultural_ha", {})
    rows: list[list[Cell]] = []
    for key, role in roles.items():
        info = data.input(role)
        rows.append([data.label(key), _layer_parts(data, role),
                     [Code(info["sha256"][:12])] if info else "–",
                     _ha(municipal.get(role))])
    doc.table("Det jordbruksmarksskikt som varje plan har mätts mot, och jordbruksmarken i "
              "kommunen enligt skiktet.",
              ["Plan", "Jordbruksmarksskikt", "sha256 (början)",
               "Jordbruksmark i kommunen (ha)"], rows, numeric={3})
    if len(set(roles.values())) == 1:
        doc.add(Para(["Alla planer har mätts mot samma jordbruksmarksskikt. Jämförelsen visar "
                      "därför enbart effekten av att planernas utvecklingsområden har ändrats, "
                      "inte förändringar i själva jordbruksmarken."]))
    else:
        doc.add(Para([f"Planerna har mätts mot olika jordbruksmarksskikt, var och en mot "
                      f"jordbruksmarken för sitt eget år. Jämförelsen med {base} visar då både "
                      "effekten av planernas ändringar och förändringar i jordbruksmarken "
                      "mellan skiktens år (till exempel mark som har bebyggts, tagits ur bruk "
                      "eller registrerats). Nyutpekad och kvarvarande jordbruksmark mäts mot "
                      f"den senare planens skikt, frisläppt jordbruksmark mot {base}:s skikt."]))


def _landcover_section(doc: _Doc, data: ReportData) -> None:
    doc.add(Heading(3, "Kontroll mot marktäckedata (NMD)"))
    doc.add(Para(["Som kontroll har andelen också beräknats med Naturvårdsverkets "
                  "Nationella marktäckedata (NMD), där åkermark är en egen klass. Rasterceller "
                  "som bara delvis ligger i ett område räknas med sin täckta andel. NMD saknar "
                  "en egen klass för betesmark och bygger på tolkning av satellitbilder, medan "
                  "jordbruksblocken visar stödregistrerad mark; skillnader mellan måtten är "
                  "därför väntade. Kontrollen ändrar inte målets mått."]))
    keys = [k for k, p in data.plans.items() if isinstance(p.get("landcover"), dict)]
    rows: list[list[Cell]] = []
    for key in keys:
        p, lc = data.plans[key], data.plans[key]["landcover"]
        rows.append([data.label(key), fmt.percent(p["share"]), _ha(lc.get("agricultural_ha")),
                     fmt.percent(lc.get("share")), _ha(lc.get("nodata_ha"))])
    doc.table("Andel jordbruksmark enligt jordbruksmarksskiktet och enligt NMD.",
              ["Plan", "Andel enligt jordbruksmarksskiktet", "Åkermark enligt NMD (ha)",
               "Andel enligt NMD", "Utan data i NMD (ha)"], rows, numeric={1, 2, 3, 4})


def _sources(doc: _Doc, data: ReportData, field_blocks: bool, report_dir: Path) -> None:
    s = data.summary
    doc.add(Heading(2, "Källor och spårbarhet"))
    doc.add(Para(["Rapporten är skapad automatiskt av opjord från analysens resultatfiler (",
                  Code(SUMMARY), ", ", Code(AREAS_CSV), ", ", Code(GPKG),
                  "); inga siffror är inskrivna för hand. Filvägar är relativa till "
                  "konfigurationsfilen ", Code(str(s.get("config", "opjord.toml"))), "."]))
    rows: list[list[Cell]] = []
    for info in s.get("inputs", []):
        crs: list[Inline] = [Code(str(info.get("source_crs") or "saknas"))]
        if info.get("crs_from_config"):
            crs.append(" (angivet i konfigurationen)")
        where: list[Inline] = [Code(info["path"])]
        if info.get("layer"):
            where += [", skikt ", Code(str(info["layer"]))]
        if info.get("driver"):
            where += [" (", Code(str(info["driver"])), ")"]
        rows.append([role_sv(info["role"], data), where, _int(info.get("features")), crs,
                     [Code(info.get("sha256", ""))]])
    doc.table("Indata: fil, antal objekt, koordinatsystem och kontrollsumma.",
              ["Indata", "Fil och skikt", "Antal objekt", "Koordinatsystem", "sha256"], rows,
              numeric={2})
    if field_blocks:
        doc.add(Para(["Jordbruksblock: © Jordbruksverket, öppna data under licensen CC BY 4.0."]))
    software = s.get("software", {})
    if software:
        items: list[Inline] = ["Programvara: "]
        for i, (name, version) in enumerate(software.items()):
            items += [", " if i else "", Code(f"{name} {version}")]
        items.append(".")
        doc.add(Para(items))
    where: list[Inline] = [Code(SUMMARY), " och ", Code(GPKG)]
    if data.web_map is not None:
        where = [Code(SUMMARY), ", ", Code(GPKG), " och på webbkartan"]
    doc.add(Para(["Körnings-id: ", Code(str(s.get("run_id", ""))), " (detsamma i ", *where,
                  ", som hör till samma körning)."]))
    if data.web_map is not None:
        try:
            href = urllib.parse.quote(Path(os.path.relpath(data.web_map, report_dir)).as_posix())
        except ValueError:  # Windows: maps/ and reports/ on different drives
            href = data.web_map.resolve().as_uri()
        doc.add(Para(["Webbkartan med samma resultat: ", Link("öppna webbkartan", href), "."]))
    warnings = s.get("warnings", [])
    if warnings:
        doc.add(Para(["Analysens varningar (ordagrant från ", Code(SUMMARY), "):"]))
        doc.add(Bullets([[Code(w["message"])] for w in warnings]))


# ----------------------------------------------------------------------------
# Building


def _footer(summary: dict) -> list[Inline]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    day = (dt.datetime.fromtimestamp(int(epoch), dt.UTC).date() if epoch and epoch.isdigit()
           else dt.date.today())
    version = summary.get("software", {}).get("opjord", "")
    return [f"Rapporten skapades {day.isoformat()} med opjord {version}. "
            "Siffrorna gäller de planversioner och indatafiler som anges ovan."]


def build_document(data: ReportData, report_dir: Path) -> tuple[_Doc, str]:
    """The report as a document model, and its title."""
    from pipeline import _report_figures as figs

    s = data.summary
    kommun = s.get("kommun") or "kommunen"
    title = f"Uppföljning av mål 3A: jordbruksmark i översiktsplanens utvecklingsområden, {kommun}"
    doc = _Doc()
    doc.add(Heading(1, title))
    doc.add(Para([f"Målet i {GOAL_SOURCE}: ", f"”{GOAL_TEXT}”"]))
    years = _field_block_years(data)
    _results(doc, data, years)
    _plan_table(doc, data)
    _comparison_table(doc, data)

    doc.add(Heading(3, "Figurer"))
    png, size, alt = figs.share_chart(s)
    doc.figure(FIG_SHARE, png, size, alt,
               "Andel jordbruksmark i utvecklingsområdena per plan. Andelen är "
               "jordbruksmarkens areal inom planens samlade utvecklingsområde delad med "
               "utvecklingsområdets areal.")
    for key in s.get("comparisons", {}):
        png, size, alt = figs.change_map(s, data.gpkg, key)
        doc.figure(f"karta_{key}.png", png, size, alt,
                   f"Översiktskarta: jordbruksmark som {data.label(key)} nyutpekar respektive "
                   f"frisläpper jämfört med {data.label(data.baseline)}, med utvecklingsområdena "
                   "och kommungränsen. Koordinatsystem SWEREF 99 TM, norr uppåt.")
    top = _top_areas(data)
    if not top.empty:
        png, size, alt = figs.top_areas_chart(s, top, data.headline)
        doc.figure(f"topp_{data.headline}.png", png, size, alt,
                   f"De utvecklingsområden i {data.label(data.headline)} som har mest "
                   "jordbruksmark (högst tio), i hektar per slag. Samma siffror finns i "
                   "tabellen nedan.")
    doc.add(Heading(3, "Områden med mest jordbruksmark"))
    _top_table(doc, data, top)
    _method(doc, data)
    _sources(doc, data, _is_field_blocks(data), report_dir)
    return doc, title


def demo_banner(summary: dict) -> str | None:
    if not summary.get("demo"):
        return None
    kommun = summary.get("kommun") or "kommunen"
    return (f"DEMODATA – rapporten bygger på syntetiska demodata; siffrorna är inte "
            f"{kommun}s.")


def write_report(data: ReportData, report_dir: Path, folder: Path) -> list[str]:
    """Write the report (Markdown, HTML, figures) into `folder`, a publication's staging
    folder whose contents will end up in `report_dir`; return the relative paths written."""
    doc, title = build_document(data, report_dir)
    banner = demo_banner(data.summary)
    markdown = render_markdown(doc, banner=banner)
    page = render_html(doc, title=title, banner=banner, footer=_footer(data.summary))
    (folder / FIGURES).mkdir(exist_ok=True)
    written = [REPORT_MD, REPORT_HTML]
    for fig in doc.figures:
        (folder / FIGURES / fig.name).write_bytes(fig.png)
        written.append(f"{FIGURES}/{fig.name}")
    (folder / REPORT_MD).write_text(markdown, encoding="utf-8", newline="\n")
    (folder / REPORT_HTML).write_text(page, encoding="utf-8", newline="\n")
    log.info("Wrote the goal report: %s, %s and %d figures", REPORT_MD, REPORT_HTML,
             len(doc.figures))
    return written


def build_report(config: Config) -> list[Path]:
    """`opjord report`: the goal report from data/processed, as one publication.

    Returns the paths written. Raises InputError when the analysis outputs are missing
    or do not belong together.
    """
    out = config.output.reports
    index = config.output.maps / "index.html"
    with publishing(config, ["reports"]) as pub:
        processed = read_processed(config.output.processed)
        pub.run_ids["reports"] = processed.run_id
        data = report_data(processed, index if index.is_file() else None)
        names = write_report(data, out, pub.stage("reports"))
    return [out / n for n in names]
