"""The planner's notebook: stored clean, paired with its py:percent twin, and run on the demo.

The run executes every cell in a real kernel (nbclient + ipykernel's `python3`) on a
copy of the demo project, then reads the figures back from what the cells display
(the HTML tables, printed text) and compares them with the summary.json that the
same run wrote.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest
from jupyter_client.kernelspec import find_kernel_specs
from nbclient import NotebookClient

from pipeline.report import citable_sentence

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_jordbruksmark_i_utvecklingsomraden.ipynb"
TWIN = NOTEBOOK.with_suffix(".py")
KERNEL = "python3"
HA_TOL = 0.005 + 1e-9  # tables show ha, percent and percentage points with two decimals


# ---------------------------------------------------------------------------- stored form


def test_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"cells {dirty} of {NOTEBOOK.name} hold outputs or execution counts. "
                       "Fix: clear all outputs in Jupyter before saving, or run "
                       f"`jupytext --to ipynb {TWIN.relative_to(ROOT)}`.")
    assert nb.metadata["kernelspec"]["name"] == KERNEL


def test_paired_with_py_percent():
    ipynb = jupytext.read(NOTEBOOK)
    py = jupytext.read(TWIN)
    assert ipynb.metadata["jupytext"]["formats"] == "ipynb,py:percent"

    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(ipynb) == cells(py), (
        f"{NOTEBOOK.name} and {TWIN.name} differ. Fix: `jupytext --sync "
        f"{TWIN.relative_to(ROOT)}` (or open and save the notebook in Jupyter with jupytext).")


def test_first_cell_sets_the_config_path():
    nb = jupytext.read(TWIN)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "OPJORD_CONFIG" in first.source and "../opjord.toml" in first.source


# ---------------------------------------------------------------------------- executed


class _Tables(HTMLParser):
    """The rows of every <table> in an HTML fragment, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def shown_table(cell) -> list[dict[str, str]]:
    """The table a cell displays: one dict per body row, header -> text ("" = row label)."""
    html_out = [o.data["text/html"] for o in cell.outputs
                if o.output_type in ("execute_result", "display_data") and "text/html" in o.data]
    assert len(html_out) == 1, f"expected one HTML table in cell {cell.source[:60]!r}"
    parser = _Tables()
    parser.feed(html_out[0])
    (rows,) = parser.tables
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def number(text: str) -> float:
    """A Swedish number as shown ("1 336,14", "−15,09", "43,71 %") -> float."""
    clean = (text.replace("\u00a0", "").replace(" ", "").replace("%", "")
             .replace("\u2212", "-").replace(",", "."))
    return float(clean)


def stdout(cell) -> str:
    return "".join(o.text for o in cell.outputs
                   if o.output_type == "stream" and o.name == "stdout")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run the notebook top to bottom on a copy of the demo project; (notebook, root)."""
    assert KERNEL in find_kernel_specs(), (
        f"no Jupyter kernel {KERNEL!r}: install the dev extra (`pip install -e \".[dev]\"`, "
        "which brings ipykernel and its kernelspec), or run `python -m ipykernel install "
        "--sys-prefix`.")
    root = tmp_path_factory.mktemp("notebook")
    shutil.copytree(ROOT / "data/raw/demo", root / "data/raw/demo")
    shutil.copy(ROOT / "opjord.toml", root / "opjord.toml")
    (root / "notebooks").mkdir()
    env = dict(os.environ)
    env["OPJORD_CONFIG"] = str(root / "opjord.toml")
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend shows the figures
    # The kernel imports the package of this checkout, like pytest does.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=180,
                            resources={"metadata": {"path": str(root / "notebooks")}})
    client.execute(env=env)
    return nb, root


def tagged(nb, tag: str):
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def summary_of(root: Path) -> dict:
    return json.loads((root / "data/processed/summary.json").read_text(encoding="utf-8"))


def test_runs_and_writes_every_output(executed):
    nb, root = executed
    for name in ("data/processed/summary.json", "data/processed/areas.csv",
                 "data/processed/analysis.gpkg", "data/processed/opjord.xlsx",
                 "maps/index.html", "maps/oversikt.html", "reports/uppfoljning_3a.html"):
        assert (root / name).is_file(), name
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]
    assert summary_of(root)["demo"] is True


def test_plan_figures_equal_summary(executed):
    nb, root = executed
    summary = summary_of(root)
    rows = {r[""]: r for r in shown_table(tagged(nb, "nyckeltal"))}
    assert list(rows) == [p["label"] for p in summary["plans"].values()]
    for plan in summary["plans"].values():
        row = rows[plan["label"]]
        assert int(row["Antal utvecklingsområden"]) == plan["n_areas"]
        assert number(row["Utvecklingsområden (ha)"]) == pytest.approx(
            plan["development_area_ha"], abs=HA_TOL)
        assert number(row["Jordbruksmark (ha)"]) == pytest.approx(plan["agricultural_ha"],
                                                                  abs=HA_TOL)
        for cls, ha in plan["agricultural_ha_by_class"].items():
            assert number(row[f"varav {cls} (ha)"]) == pytest.approx(ha, abs=HA_TOL)
        assert row["Andel jordbruksmark"].endswith("%")
        assert number(row["Andel jordbruksmark"]) == pytest.approx(100 * plan["share"],
                                                                   abs=HA_TOL)
        assert number(row["Andel av kommunens jordbruksmark"]) == pytest.approx(
            100 * plan["share_of_municipal_agricultural_land"], abs=HA_TOL)


def test_comparison_equals_summary(executed):
    nb, root = executed
    summary = summary_of(root)
    rows = {r[""]: r for r in shown_table(tagged(nb, "jamforelse"))}
    assert summary["comparisons"]
    assert len(rows) == len(summary["comparisons"])
    for key, comp in summary["comparisons"].items():
        row = rows[summary["plans"][key]["label"]]
        assert row["Jämförs med"] == summary["plans"][summary["baseline"]]["label"]
        assert number(row["Förändring av andelen (procentenheter)"]) == pytest.approx(
            comp["share_change_pp"], abs=HA_TOL)
        for header, field in (("Förändring jordbruksmark (ha)", "agricultural_ha_change"),
                              ("Nyutpekad jordbruksmark (ha)", "newly_designated_ha"),
                              ("Frisläppt jordbruksmark (ha)", "released_ha"),
                              ("Kvarvarande jordbruksmark (ha)", "kept_ha")):
            assert number(row[header]) == pytest.approx(comp[field], abs=HA_TOL), header
        assert row["Målet uppfyllt"] == {True: "ja", False: "nej"}[comp["goal_met"]]


def test_citable_sentence_is_the_reports(executed):
    nb, root = executed
    summary = summary_of(root)
    expected = [citable_sentence(summary, k) for k in summary["comparisons"]]
    assert stdout(tagged(nb, "mening")).splitlines() == expected
    report = (root / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    assert expected[-1] in report


def test_area_table_sorted_by_farmland(executed):
    nb, root = executed
    rows = shown_table(tagged(nb, "omraden"))
    shown = [number(r["Jordbruksmark (ha)"]) for r in rows]
    assert shown == sorted(shown, reverse=True)
    areas = pd.read_csv(root / "data/processed/areas.csv", dtype={"area_id": str})
    top = areas.sort_values("agricultural_ha", ascending=False).head(len(rows))
    assert shown == pytest.approx(top["agricultural_ha"].tolist(), abs=HA_TOL)
    first = top.iloc[0]
    assert rows[0]["Område-id"] == first["area_id"]
    assert number(rows[0]["Andel jordbruksmark"]) == pytest.approx(100 * first["share"],
                                                                   abs=HA_TOL)


def test_chart_and_map_are_shown(executed):
    nb, _ = executed
    assert any("image/png" in o.get("data", {}) for o in tagged(nb, "diagram").outputs)
    (out,) = [o.data["text/html"] for o in tagged(nb, "karta").outputs
              if "text/html" in o.get("data", {})]
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', out).group(1))
    assert "L.map(" in srcdoc and "a JS library for interactive maps" in srcdoc  # inline Leaflet
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', srcdoc)
    assert external == [], "the notebook map must not load scripts or styles from elsewhere"
    assert "opjord-omraden-op2017" in srcdoc and "opjord-omraden-op2025" in srcdoc


def test_inspected_area_pieces_add_up(executed):
    nb, root = executed
    cell = tagged(nb, "bitar")
    rows = shown_table(cell)
    assert rows and all(r["blockid"] and r["class"] in ("Åker", "Bete") for r in rows)
    (area_id,) = {r["area_id"] for r in rows}
    areas = pd.read_csv(root / "data/processed/areas.csv", dtype={"area_id": str})
    last = list(summary_of(root)["plans"])[-1]
    area = areas[(areas["plan"] == last) & (areas["area_id"] == area_id)].iloc[0]
    assert area["agricultural_ha"] == areas[areas["plan"] == last]["agricultural_ha"].max()
    pieces = sum(number(r["Bit i området (ha)"]) for r in rows)
    assert pieces == pytest.approx(area["agricultural_ha"], abs=HA_TOL * len(rows))
    total = re.search(r"sammanlagt ([\d\s\u00a0]+,\d+)\s*ha", stdout(cell)).group(1)
    assert number(total) == pytest.approx(area["agricultural_ha"], abs=HA_TOL)
