"""The report's sections: the document model built from the analysis outputs.

The order of the sections, their tables and which figure goes where are decided here;
every word comes from `texts.toml` (see `pipeline.report.texts`), every number from
summary.json or areas.csv, formatted by `pipeline.fmt`.
"""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse
from pathlib import Path

import pandas as pd

from pipeline import fmt, results
from pipeline.report import figures as figs
from pipeline.report.data import (
    ReportData,
    area_name,
    field_block_years,
    top_areas,
)
from pipeline.report.model import Bullets, Cell, Code, Heading, Inline, Para, _Doc
from pipeline.report.texts import Texts
from pipeline.results import AREAS_CSV, GPKG, SUMMARY

FIG_SHARE = "andel_per_plan.png"
STATUSES = ("new", "kept", "changed", "removed")  # areas.csv `status`
CLEANING_FIELDS = ("features_read", "null_dropped", "empty_dropped", "repaired", "z_dropped",
                   "non_polygonal_parts_dropped", "features_kept")
GOAL = {True: "met", False: "not_met", None: "unknown"}  # comparison `goal_met`
MATCHING = ("id", "overlap")  # comparison `area_matching`

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
# Text


def citable_sentence(summary: dict, key: str, texts: Texts | None = None) -> str:
    """The sentence a goal report can quote, for plan `key` against the baseline.

    Covers a decrease, an increase, no change, plans without areas, and a single plan.
    """
    t = texts or Texts.load()
    plans, base_key = summary["plans"], summary["baseline"]
    base, plan = plans[base_key], plans[key]
    subject = t.plain("citable.subject")
    if key == base_key:
        if base["share"] is None:
            return t.plain("citable.only_plan_without_areas", plan=base["label"])
        return t.plain("citable.only_plan", subject=subject, share=fmt.percent(base["share"]),
                       plan=base["label"])
    comp = summary["comparisons"][key]
    goal = t.mapping("citable.goal", GOAL.values())[GOAL[comp["goal_met"]]]
    names = {"plan": plan["label"], "base": base["label"], "goal": goal}
    if plan["share"] is None and base["share"] is None:
        return t.plain("citable.neither_has_areas", **names)
    if plan["share"] is None:
        return t.plain("citable.plan_without_areas", base_share=fmt.percent(base["share"]),
                       **names)
    if base["share"] is None:
        return t.plain("citable.base_without_areas", subject=subject,
                       share=fmt.percent(plan["share"]), **names)
    pp = comp["share_change_pp"]
    if pp == 0:
        change = t.plain("citable.unchanged")
    elif pp < 0:
        change = t.plain("citable.decrease", points=_pp(abs(pp), sign=False))
    else:
        change = t.plain("citable.increase", points=_pp(pp, sign=False))
    return t.plain("citable.compared", subject=subject, share=fmt.percent(plan["share"]),
                   base_share=fmt.percent(base["share"]), change=change, **names)


def role_sv(role: str, data: ReportData, t: Texts) -> str:
    """A Swedish name for an input role, e.g. "Utvecklingsområden, ÖP 2017"."""
    if role == "boundary":
        return t.plain("roles.boundary")
    if role == "agricultural_land":
        return t.plain("roles.agricultural_land")
    kind, _, key = role.partition(":")
    label = data.plans[key]["label"] if key in data.plans else key
    if kind == "plan":
        return t.plain("roles.plan", plan=label)
    if kind == "agricultural_land":
        return t.plain("roles.plan_agricultural_land", plan=label)
    return role


def _file_of(data: ReportData, role: str) -> dict[str, object]:
    """The file and layer of an input role (the role itself when it has no input)."""
    info = data.input(role)
    if info is None:
        return {"path": role, "layer": None}
    return {"path": info["path"], "layer": info.get("layer")}


# ----------------------------------------------------------------------------
# Sections


def _results(doc: _Doc, data: ReportData, t: Texts, years: dict[str, list[int]]) -> None:
    s = data.summary
    doc.add(Heading(2, t.plain("results.heading")))
    comparisons = s.get("comparisons", {})
    for key in (list(comparisons) or [data.baseline]):
        doc.add(Para([citable_sentence(s, key, t)], role="citable"))
    plan_files = [t.markup("results.plan_file", plan=data.label(key), path=info["path"])
                  for key in data.plans if (info := data.input(f"plan:{key}"))]
    roles = list(dict.fromkeys(p.get("agricultural_layer", "agricultural_land")
                               for p in data.plans.values()))
    plan_years = [t.markup("results.plan_years", plan=data.label(k), years=v)
                  for k, v in years.items() if v and k in data.plans]
    doc.add(Para(t.inline("results.basis", plans=[p["label"] for p in data.plans.values()],
                          base=data.label(data.baseline), plan_files=plan_files,
                          layers=[t.markup("layers.file", **_file_of(data, role))
                                  for role in roles],
                          years=plan_years), role="lead"))


def _plan_table(doc: _Doc, data: ReportData, t: Texts) -> None:
    s = data.summary
    classes = s.get("classes", [])
    keys = list(data.plans)
    header = [t.plain("plans.measure")] + [data.label(k) for k in keys]
    rows: list[list[Cell]] = [
        [t.plain("plans.rows.n_areas"), *(_int(data.plans[k]["n_areas"]) for k in keys)],
        [t.plain("plans.rows.development_area"),
         *(_ha(data.plans[k]["development_area_ha"]) for k in keys)],
    ]
    for c in classes:
        rows.append([t.plain("plans.rows.agricultural_class", name=c),
                     *(_ha(data.plans[k]["agricultural_ha_by_class"].get(c)) for k in keys)])
    rows += [
        [t.plain("plans.rows.agricultural"),
         *(_ha(data.plans[k]["agricultural_ha"]) for k in keys)],
        [t.plain("plans.rows.share"), *(fmt.percent(data.plans[k]["share"]) for k in keys)],
        [t.plain("plans.rows.share_of_municipal"),
         *(fmt.percent(data.plans[k]["share_of_municipal_agricultural_land"]) for k in keys)],
    ]
    doc.add(Heading(3, t.plain("plans.heading")))
    doc.table(t.plain("plans.caption"), header, rows, numeric=range(1, len(header)))
    empty = [data.label(k) for k in keys if data.plans[k]["share"] is None]
    if empty:
        doc.add(Para(t.inline("plans.without_areas", plans=empty)))


def _comparison_table(doc: _Doc, data: ReportData, t: Texts) -> None:
    comparisons = data.summary.get("comparisons", {})
    if not comparisons:
        return
    keys = list(comparisons)
    base = data.label(data.baseline)
    goal = t.mapping("comparison.goal", GOAL.values())
    matching = t.mapping("comparison.matching", MATCHING)

    def row(label: str, values: list[str]) -> list[Cell]:
        return [label, *values]

    rows = [
        row(t.plain("comparison.rows.share_change"),
            [_pp(comparisons[k]["share_change_pp"]).replace(" procentenheter", "")
             for k in keys]),
        row(t.plain("comparison.rows.agricultural_change"),
            [_signed_ha(comparisons[k]["agricultural_ha_change"]) for k in keys]),
        row(t.plain("comparison.rows.development_area_change"),
            [_signed_ha(comparisons[k].get("development_area_ha_change")) for k in keys]),
        row(t.plain("comparison.rows.newly_designated"),
            [_ha(comparisons[k]["newly_designated_ha"]) for k in keys]),
        row(t.plain("comparison.rows.released"),
            [_ha(comparisons[k]["released_ha"]) for k in keys]),
        row(t.plain("comparison.rows.kept"), [_ha(comparisons[k].get("kept_ha")) for k in keys]),
    ]
    for field_, label in (("areas_new", t.plain("comparison.rows.areas_new")),
                          ("areas_kept", t.plain("comparison.rows.areas_kept")),
                          ("areas_changed", t.plain("comparison.rows.areas_changed")),
                          ("areas_removed", t.plain("comparison.rows.areas_removed", base=base))):
        if any(field_ in comparisons[k] for k in keys):
            rows.append(row(label, [_int(comparisons[k].get(field_)) for k in keys]))
    rows.append(row(t.plain("comparison.rows.matching"),
                    [matching.get(comparisons[k].get("area_matching"), "–") for k in keys]))
    rows.append(row(t.plain("comparison.rows.goal_met"),
                    [goal[GOAL[comparisons[k]["goal_met"]]] for k in keys]))
    doc.add(Heading(3, t.plain("comparison.heading", base=base)))
    doc.table(t.plain("comparison.caption", base=base),
              [t.plain("comparison.measure")] + [data.label(k) for k in keys], rows,
              numeric=range(1, len(keys) + 1))


def _figures(doc: _Doc, data: ReportData, t: Texts, top: pd.DataFrame) -> None:
    s = data.summary
    doc.add(Heading(3, t.plain("figures.heading")))
    png, size, alt = figs.share_chart(s, t)
    doc.figure(FIG_SHARE, png, size, alt, t.plain("figures.share"))
    for key in s.get("comparisons", {}):
        png, size, alt = figs.change_map(s, data.gpkg, key, t)
        doc.figure(f"karta_{key}.png", png, size, alt,
                   t.plain("figures.change_map", plan=data.label(key),
                           base=data.label(data.baseline)))
    if not top.empty:
        png, size, alt = figs.top_areas_chart(s, top, data.headline, t)
        doc.figure(f"topp_{data.headline}.png", png, size, alt,
                   t.plain("figures.top_areas", plan=data.label(data.headline)))


def _top_table(doc: _Doc, data: ReportData, t: Texts, top: pd.DataFrame) -> None:
    label = data.label(data.headline)
    doc.add(Heading(3, t.plain("top.heading")))
    if top.empty:
        doc.add(Para(t.inline("top.no_farmland", plan=label)
                     if data.plans[data.headline]["n_areas"]
                     else t.inline("top.no_areas", plan=label)))
        return
    status_sv = t.mapping("top.status", STATUSES)
    # The contract's derived area columns (pipeline.results) join the table as they are added.
    extra = [c for c in results.DERIVED_AREA_COLUMNS if c.name in top.columns]
    rows: list[list[Cell]] = []
    for _, r in top.iterrows():
        status = status_sv.get(str(r.get("status") or ""), "")
        share = None if pd.isna(r["share"]) else float(r["share"])
        rows.append([area_name(r), str(r.get("type") or ""), status or "–",
                     _ha(float(r["area_ha"])), _ha(float(r["agricultural_ha"])),
                     fmt.percent(share), *(_cell(c, r[c.name]) for c in extra)])
    header = [*t.plain_list("top.header", base=data.label(data.baseline)),
              *(c.label for c in extra)]
    doc.table(t.plain("top.caption", plan=label), header, rows,
              numeric={3, 4, 5, *(6 + i for i, c in enumerate(extra) if c.kind != "text")})


def _cell(column: results.AreaColumn, value: object) -> str:
    """An area column's value as the report shows it (ha, percent or text)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if column.kind == "ha":
        return _ha(float(value))
    if column.kind == "share":
        return fmt.percent(float(value))
    return str(value)


def _method(doc: _Doc, data: ReportData, t: Texts) -> None:
    s = data.summary
    base = data.label(data.baseline)
    classes = s.get("classes", [])
    boundary = data.input("boundary") is not None
    doc.add(Heading(2, t.plain("method.heading")))
    doc.add(Heading(3, t.plain("method.definitions_heading")))
    doc.add(Bullets(t.inline_list("method.definitions", classes=classes, boundary=boundary,
                                  base=base)))
    doc.add(Para(t.inline("method.definitions_docs")))

    doc.add(Heading(3, t.plain("method.calculation_heading")))
    transformed = [t.markup("method.transformed", input=role_sv(i["role"], data, t),
                            crs=i["source_crs"])
                   for i in s.get("inputs", [])
                   if i.get("source_crs") and i.get("source_crs") != s.get("crs")]
    doc.add(Para(t.inline("method.calculation", crs=str(s.get("crs", "EPSG:3006")),
                          transformed=transformed, classes=classes)))
    inputs = [i for i in s.get("inputs", []) if "cleaning" in i]
    doc.add(Para(t.inline("method.cleaning", table=doc.n_tables + 1 if inputs else None)))
    if inputs:
        names = t.mapping("method.cleaning_columns", CLEANING_FIELDS)
        doc.table(t.plain("method.cleaning_caption"),
                  [t.plain("method.cleaning_input"), *names.values()],
                  [[role_sv(i["role"], data, t), *(_int(i["cleaning"].get(f))
                                                   for f in CLEANING_FIELDS)]
                   for i in inputs], numeric=range(1, len(CLEANING_FIELDS) + 1))
    if any(w.get("code") == "areas_outside_boundary" for w in s.get("warnings", [])):
        doc.add(Para(t.inline("method.outside_boundary")))

    _layers_section(doc, data, t)
    if any(isinstance(p.get("landcover"), dict) for p in data.plans.values()):
        _landcover_section(doc, data, t)

    doc.add(Heading(3, t.plain("method.limits_heading")))
    doc.add(Bullets(t.inline_list("method.limits")))


def _layers_section(doc: _Doc, data: ReportData, t: Texts) -> None:
    s = data.summary
    doc.add(Heading(3, t.plain("layers.heading")))
    roles = {k: p.get("agricultural_layer", "agricultural_land") for k, p in data.plans.items()}
    municipal = s.get("municipal_agricultural_ha", {})
    rows: list[list[Cell]] = []
    for key, role in roles.items():
        info = data.input(role)
        rows.append([data.label(key), t.inline("layers.file", **_file_of(data, role)),
                     [Code(info["sha256"][:12])] if info else "–",
                     _ha(municipal.get(role))])
    doc.table(t.plain("layers.caption"), t.plain_list("layers.header"), rows, numeric={3})
    if len(set(roles.values())) == 1:
        doc.add(Para(t.inline("layers.same")))
    else:
        doc.add(Para(t.inline("layers.different", base=data.label(data.baseline))))


def _landcover_section(doc: _Doc, data: ReportData, t: Texts) -> None:
    doc.add(Heading(3, t.plain("landcover.heading")))
    doc.add(Para(t.inline("landcover.text")))
    keys = [k for k, p in data.plans.items() if isinstance(p.get("landcover"), dict)]
    rows: list[list[Cell]] = []
    for key in keys:
        p, lc = data.plans[key], data.plans[key]["landcover"]
        rows.append([data.label(key), fmt.percent(p["share"]), _ha(lc.get("agricultural_ha")),
                     fmt.percent(lc.get("share")), _ha(lc.get("nodata_ha"))])
    doc.table(t.plain("landcover.caption"), t.plain_list("landcover.header"), rows,
              numeric={1, 2, 3, 4})


def _sources(doc: _Doc, data: ReportData, t: Texts, report_dir: Path) -> None:
    s = data.summary
    files = {"summary_file": SUMMARY, "areas_file": AREAS_CSV, "gpkg_file": GPKG}
    doc.add(Heading(2, t.plain("sources.heading")))
    doc.add(Para(t.inline("sources.intro", config=str(s.get("config", "opjord.toml")),
                          **files)))
    rows: list[list[Cell]] = []
    for info in s.get("inputs", []):
        crs = t.inline("sources.crs", crs=info.get("source_crs"),
                       from_config=bool(info.get("crs_from_config")))
        where = t.inline("sources.file", path=info["path"], layer=info.get("layer"),
                         driver=info.get("driver"))
        rows.append([role_sv(info["role"], data, t), where, _int(info.get("features")), crs,
                     [Code(info.get("sha256", ""))]])
    doc.table(t.plain("sources.caption"), t.plain_list("sources.header"), rows, numeric={2})
    if data.publication is not None and data.publication.credits:
        doc.add(Para(t.inline("sources.credits")))
        # no web addresses: the report links to nothing outside itself but the web map
        doc.add(Bullets([t.inline("sources.credit", source=c.source, text=c.text)
                         for c in data.publication.credits]))
    software = s.get("software", {})
    if software:
        doc.add(Para(t.inline("sources.software",
                              software=[f"{name} {version}" for name, version
                                        in software.items()])))
    doc.add(Para(t.inline("sources.run_id", run_id=str(s.get("run_id", "")),
                          web_map=data.web_map is not None, **files)))
    if data.web_map is not None:
        try:
            href = urllib.parse.quote(Path(os.path.relpath(data.web_map, report_dir)).as_posix())
        except ValueError:  # Windows: maps/ and reports/ on different drives
            href = data.web_map.resolve().as_uri()
        doc.add(Para(t.inline("sources.web_map", href=href)))
    warnings = s.get("warnings", [])
    if warnings:
        doc.add(Para(t.inline("sources.warnings", **files)))
        doc.add(Bullets([[Code(w["message"])] for w in warnings]))


# ----------------------------------------------------------------------------
# The whole document


def _kommun(summary: dict, t: Texts) -> str:
    return summary.get("kommun") or t.plain("document.kommun")


def footer(summary: dict, t: Texts) -> list[Inline]:
    """The HTML footer: the day the report was made (`SOURCE_DATE_EPOCH` is honoured)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    day = (dt.datetime.fromtimestamp(int(epoch), dt.UTC).date() if epoch and epoch.isdigit()
           else dt.date.today())
    version = summary.get("software", {}).get("opjord", "")
    return t.inline("document.footer", day=day.isoformat(), version=version)


def demo_banner(summary: dict, t: Texts) -> str | None:
    """The banner on every page of a report on demo data; None for real data."""
    if not summary.get("demo"):
        return None
    return t.plain("document.demo_banner", kommun=_kommun(summary, t))


def build_document(data: ReportData, report_dir: Path, t: Texts) -> tuple[_Doc, str]:
    """The report as a document model, and its title."""
    pub = data.publication
    title = t.plain("document.title", kommun=_kommun(data.summary, t),
                    goal_id=pub.goal_id if pub else None)
    def numbered(kind: str, n: int, caption: str) -> str:
        if kind == "table":
            return t.plain("numbering.table", n=n, caption=caption)
        return t.plain("numbering.figure", n=n, caption=caption)

    doc = _Doc(numbered)
    doc.add(Heading(1, title))
    goal = (pub.goal if pub and pub.goal
            else t.plain("goal.text", base=data.label(data.baseline)))
    doc.add(Para(t.inline("goal.intro", text=goal, source=pub.goal_source if pub else None)))
    _results(doc, data, t, field_block_years(data))
    _plan_table(doc, data, t)
    _comparison_table(doc, data, t)
    top = top_areas(data)
    _figures(doc, data, t, top)
    _top_table(doc, data, t, top)
    _method(doc, data, t)
    _sources(doc, data, t, report_dir)
    return doc, title
