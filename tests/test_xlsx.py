"""opjord.xlsx as a planner opens it: text from the data stays text, sheet names are valid.

The workbook is checked in its XML (an .xlsx is a zip): a cell holding a formula has an
`<f>` element, a cell holding text is a shared string (`t="s"`).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from conftest import edit_config, plan_2025, write_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.export import _sheet_name

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
# Every way a text could turn into a live formula, link or number in Excel.
TRAPS = ['=HYPERLINK("http://x","klick")', "+1", "-2", "@SUM(A1)", "{=A1}",
         "http://example.com", "mailto:a@b.se", "1e5", " 12"]


def _xlsx_parts(path: Path | io.BytesIO) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")}


def _shared_strings(parts: dict[str, str]) -> list[str]:
    root = ET.fromstring(parts["xl/sharedStrings.xml"])
    return ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in root.findall("m:si", NS)]


def _sheet_names(parts: dict[str, str]) -> list[str]:
    root = ET.fromstring(parts["xl/workbook.xml"])
    return [s.get("name") for s in root.find("m:sheets", NS)]


def test_text_from_the_data_is_never_a_formula(project):
    rows = plan_2025()
    for row, (name, typ, ident) in zip(rows, [(TRAPS[0], TRAPS[1], TRAPS[3]),
                                              (TRAPS[4], TRAPS[2], TRAPS[5]),
                                              (TRAPS[6], TRAPS[7], TRAPS[8])], strict=True):
        row.update(namn=name, typ=typ, omr_id=ident)
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    edit_config(project, 'label = "ÖP 2017"', 'label = "=1+1"')
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    parts = _xlsx_parts(project.parent / "data/processed/opjord.xlsx")
    sheets = {n: x for n, x in parts.items() if n.startswith("xl/worksheets/sheet")}
    assert len(sheets) == 4
    for name, xml in sheets.items():
        assert "<f>" not in xml and "<f " not in xml, name
        assert "<hyperlink" not in xml, name
    assert not any("worksheets/_rels" in n for n in parts)  # no link targets
    strings = _shared_strings(parts)
    for trap in TRAPS:  # " 12" is an id: ids are compared and written stripped
        assert (trap.strip() if trap == " 12" else trap) in strings
    assert "=1+1" in strings  # the label in the summary's Plan column
    assert "Status mot =1+1" in strings  # a header from the label
    assert _sheet_names(parts) == ["Sammanfattning", "=1+1", "ÖP 2025", "Källor"]
    # the area sheet of ÖP 2025: ids in column A as shared strings, in row order
    sheet3 = ET.fromstring(sheets["xl/worksheets/sheet3.xml"])
    ids = [strings[int(c.find("m:v", NS).text)]
           for c in sheet3.iter(f"{{{NS['m']}}}c")
           if re.fullmatch(r"A[2-9]", c.get("r")) and c.get("t") == "s"]
    assert ids == [TRAPS[3], TRAPS[5], TRAPS[8].strip()]


def test_numbers_stay_numbers(project):
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    parts = _xlsx_parts(project.parent / "data/processed/opjord.xlsx")
    sheet2 = ET.fromstring(parts["xl/worksheets/sheet2.xml"])
    cells = {c.get("r"): c for c in sheet2.iter(f"{{{NS['m']}}}c")}
    # ÖP 2017 row 1 is A1: area 16 ha (column D), agricultural 10 ha (column E)
    assert cells["D2"].get("t") is None and float(cells["D2"].find("m:v", NS).text) == 16.0
    assert float(cells["E2"].find("m:v", NS).text) == pytest.approx(10.0, abs=1e-9)


# --- as delivered: widths, filters, frozen header, print set-up, sources -----------------


def _widths_px(ws) -> dict[int, float]:
    """Each column's width in pixels (xlsxwriter writes the width as pixels / 7, 7 being
    the widest digit of Excel's default font)."""
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.width:
            for col in range(dim.min, dim.max + 1):
                out[col] = round(dim.width * 7)
    return out


def test_workbook_works_as_delivered(project):
    import json

    import openpyxl
    from xlsxwriter.utility import xl_pixel_width

    from pipeline.export import WIDTH_CAP_PX

    long_name = "Södra industriområdet vid den gamla järnvägsstationen och hamnen " * 2
    rows = plan_2025()
    rows[0]["namn"] = long_name.strip()
    write_layer(project.parent / "raw/op2025.gpkg", rows)
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    out = project.parent / "data/processed"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(out / "opjord.xlsx")
    assert book.sheetnames == ["Sammanfattning", "ÖP 2017", "ÖP 2025", "Källor"]
    for ws in book:
        header = 3 if ws.title == "Sammanfattning" else 1
        last = ws.cell(header, ws.max_column).column_letter
        assert ws.auto_filter.ref == f"A{header}:{last}{ws.max_row}", ws.title
        assert ws.freeze_panes == f"A{header + 1}", ws.title
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.fitToWidth in (None, 1)  # one page wide (1 is the default)
        one_page = ws.title == "Sammanfattning"
        assert (setup.fitToHeight in (None, 1)) if one_page else setup.fitToHeight == 0
        assert ws.print_title_rows == f"${header}:${header}", ws.title
        assert "&P" in ws.oddFooter.right.text
        widths = _widths_px(ws)
        for col in range(1, ws.max_column + 1):
            cells = [ws.cell(r, col) for r in range(header, ws.max_row + 1)]
            assert not any(c.data_type == "f" for c in ws[ws.cell(1, col).column_letter])
            texts = [(c.value, c.row == header) for c in cells if isinstance(c.value, str)]
            needed = max(xl_pixel_width(t) + (16 if is_header else 0) for t, is_header in texts)
            assert widths[col] >= min(WIDTH_CAP_PX, needed + 7) - 1, (ws.title, col)
            assert widths[col] <= WIDTH_CAP_PX + 1, (ws.title, col)
            if needed + 7 > WIDTH_CAP_PX:  # too long for the cap: wraps instead
                assert all(c.alignment.wrap_text for c in cells[1:] if c.value), (ws.title, col)
    names = [c.value for c in book["ÖP 2025"]["B"]]
    assert long_name.strip() in names  # whole, not cut
    sources = list(book["Källor"].iter_rows(values_only=True))
    assert sources[0] == ("Slag", "Namn", "Beskrivning", "Fil", "sha256", "Webbadress")
    credited = [r[1] for r in sources if r[0] == "Upphov"]
    assert credited == ["Jordbruksverket", "OpenStreetMap-bidragsgivare", "Testkommuns kommun"]
    files = {(f["path"], f["sha256"]) for i in summary["inputs"] for f in i["files"]}
    assert {(r[3], r[4]) for r in sources if r[0] == "Indatafil"} == files
    assert len(files) == 4 and all(len(h) == 64 for _, h in files)


# --- sheet names from plan labels ------------------------------------------------------


LABELS = [("ÖP 2025", "öp 2025"), ("Källor",), ("'citat'",), ("a/b*c?d:e[f]g\\h",), ("x" * 40,),
          ("[]:*?/\\",), ("History",), ("sammanfattning",), ("''",)]


@pytest.mark.parametrize("labels", LABELS, ids=lambda t: "|".join(t))
def test_awkward_labels_give_a_workbook(project, labels):
    extra = "".join(f'\n[[plans]]\nkey = "p{i}"\nlabel = "{lab.replace(chr(92), chr(92) * 2)}"'
                    '\npath = "raw/op2025.gpkg"\n' for i, lab in enumerate(labels))
    project.write_text(project.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert main(["analyse", "--config", str(project), "-q"]) == 0
    parts = _xlsx_parts(project.parent / "data/processed/opjord.xlsx")
    names = _sheet_names(parts)
    assert len(names) == 4 + len(labels)
    assert len({n.casefold() for n in names}) == len(names)
    strings = _shared_strings(parts)
    for lab in labels:  # the labels themselves stay as written in the summary
        assert lab in strings


def test_sheet_names_by_hand():
    used = {"sammanfattning"}
    got = [_sheet_name(lab, used) for lab in
           ["ÖP 2025", "öp 2025", "'citat'", "a/b", "History", "Sammanfattning", "", "''",
            "x" * 40, "x" * 40, " " * 30 + "abc", "Straße", "STRASSE", "' a\x01b '"]]
    assert got == ["ÖP 2025", "öp 2025 (2)", "citat", "a-b", "History (2)",
                   "Sammanfattning (2)", "Plan", "Plan (2)", "x" * 31, "x" * 27 + " (2)",
                   "abc", "Straße", "STRASSE (2)", "a-b (2)"]
    assert used == {n.casefold() for n in got} | {"sammanfattning"}


def test_sheet_name_counts_utf16_units():
    # Excel's 31 are UTF-16 units: an emoji takes two.
    name = _sheet_name("🌾" * 20, set())
    assert name == "🌾" * 15


def _valid_in_excel(name: str) -> bool:
    return (0 < len(name.encode("utf-16-le")) // 2 <= 31
            and not re.search(r"[\[\]:*?/\\]", name)
            and not name.startswith("'") and not name.endswith("'")
            and name.casefold() != "history"
            and not any(ord(ch) < 32 or ord(ch) in (0xFFFE, 0xFFFF) for ch in name))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_any_labels_give_valid_unique_sheet_names(labels):
    used = {"sammanfattning"}
    names = [_sheet_name(lab, used) for lab in labels]
    assert all(_valid_in_excel(n) for n in names)
    folded = [n.casefold() for n in names]
    assert len(set(folded)) == len(folded) and "sammanfattning" not in folded
    out = io.BytesIO()
    with xlsxwriter.Workbook(out, {"in_memory": True}) as book:  # refuses bad or equal names
        book.add_worksheet("Sammanfattning")
        for n in names:
            book.add_worksheet(n)
    assert _sheet_names(_xlsx_parts(out)) == ["Sammanfattning", *names]  # well-formed XML
