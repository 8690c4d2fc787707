"""The document model as Markdown and as one self-contained, print-friendly HTML page.

The page's style sheet is `report.css` in this package; with demo data, `report_demo.css`
adds the banner to every printed page through a page-margin box (Chromium ≥ 131; browsers
without margin boxes still print the banner at the start and the end of the document).
"""

from __future__ import annotations

import base64
import html
import importlib.resources
import re
import string
from collections.abc import Iterable

from pipeline.report.model import Bullets, Code, Figure, Heading, Inline, Link, Para, Table, _Doc

FIGURES = "figures"  # the figures' folder, relative to the Markdown file
CSS = "report.css"
DEMO_PAGE_CSS = "report_demo.css"  # `$banner` is the banner's text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def style_sheet(name: str) -> str:
    """A style sheet of this package, as text."""
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


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


def render_html(doc: _Doc, *, title: str, banner: str | None, footer: list[Inline]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="sv">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title>", "<style>\n" + style_sheet(CSS)]
    if banner:
        css_string = banner.replace("\\", "\\\\").replace('"', '\\"')
        out.append("\n" + string.Template(style_sheet(DEMO_PAGE_CSS)).substitute(
            banner=css_string))
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
