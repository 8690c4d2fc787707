"""The goal report (måluppföljning), in Swedish, from the analysis outputs.

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

The package: `model` (the document blocks), `render` (Markdown and HTML; the style
sheet is `report.css`), `texts` with `texts.toml` (every word of the report, which a
municipality may change without touching Python), `data` (what the report reads),
`sections` (the document built from the data) and `figures` (matplotlib).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import Config
from pipeline.outputs import publishing
from pipeline.report.data import ReportData, report_data
from pipeline.report.render import FIGURES, render_html, render_markdown
from pipeline.report.sections import build_document, citable_sentence, demo_banner, footer
from pipeline.report.texts import Texts
from pipeline.results import read_processed

__all__ = ["REPORT_HTML", "REPORT_MD", "ReportData", "build_report", "citable_sentence",
           "report_data", "write_report"]

log = logging.getLogger(__name__)

REPORT_MD = "uppfoljning_3a.md"
REPORT_HTML = "uppfoljning_3a.html"


def write_report(data: ReportData, report_dir: Path, folder: Path, *,
                 texts: Texts | None = None) -> list[str]:
    """Write the report (Markdown, HTML, figures) into `folder`, a publication's staging
    folder whose contents will end up in `report_dir`; return the relative paths written.

    `texts`: the report's wording, by default opjord's own `texts.toml`."""
    t = texts or Texts.load()
    doc, title = build_document(data, report_dir, t)
    banner = demo_banner(data.summary, t)
    markdown = render_markdown(doc, banner=banner)
    page = render_html(doc, title=title, banner=banner, footer=footer(data.summary, t))
    (folder / FIGURES).mkdir(exist_ok=True)
    written = [REPORT_MD, REPORT_HTML]
    for fig in doc.figures:
        (folder / FIGURES / fig.name).write_bytes(fig.png)
        written.append(f"{FIGURES}/{fig.name}")
    (folder / REPORT_MD).write_text(markdown, encoding="utf-8", newline="\n")
    (folder / REPORT_HTML).write_text(page, encoding="utf-8", newline="\n")
    log.info("Skrev målrapporten: %s, %s och %d figurer", REPORT_MD, REPORT_HTML,
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
        data = report_data(processed, index if index.is_file() else None, config)
        names = write_report(data, out, pub.stage("reports"))
    return [out / n for n in names]
