"""The credits and the publisher that map, report and workbook show, from the config."""

from __future__ import annotations

import re

import pytest

from pipeline.config import load_config
from pipeline.publication import contact_lines, credits, publisher


def _append(cfg, text: str) -> None:
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


@pytest.mark.parametrize("webmap, basemap_source", [
    ("", "OpenStreetMap-bidragsgivare"),
    ('basemap = "osm"', "OpenStreetMap-bidragsgivare"),
    ('basemap = "topowebb"\napi_key_env = "LM_API_KEY"', "Lantmäteriet"),
    ('basemap = "topowebb_nedtonad"\napi_key_env = "LM_API_KEY"', "Lantmäteriet"),
    ('basemap = "none"', None),
    ('basemap = "custom"\ntile_url = "https://k.se/{z}/{x}/{y}.png"\n'
     'attribution = "© Kartkontoret"', "© Kartkontoret"),
])
def test_credits_follow_the_basemap(project, webmap, basemap_source):
    _append(project, f"[webmap]\n{webmap}")
    found = credits(load_config(project))
    sources = [c.source for c in found]
    expected = ["Jordbruksverket"] + ([basemap_source] if basemap_source else []) + [
        "Testkommuns kommun"]
    assert sources == expected
    assert found[-1].text == "Översiktsplanernas utvecklingsområden (ÖP 2017, ÖP 2025)"


def test_credits_with_landcover_and_extras(project):
    _append(project, '[landcover]\npath = "raw/nmd.tif"\n\n[publication]\npublisher = "Test stad"\n'
                     'credits = [{ source = "SCB", text = "Tätorter", url = "https://scb.se" }]')
    found = credits(load_config(project, inputs_must_exist=False))
    assert [c.source for c in found] == ["Jordbruksverket", "Naturvårdsverket",
                                         "OpenStreetMap-bidragsgivare", "Test stad", "SCB"]
    assert found[-1].url == "https://scb.se" and found[-1].line() == "SCB: Tätorter"


def test_publisher_and_contact(project):
    config = load_config(project)
    assert publisher(config) == "Testkommuns kommun" and contact_lines(config) == []
    _append(project, '[publication]\ncontact_email = "gis@test.se"\n'
                     'contact_phone = "011-15 00 00"\ncontact_url = "https://test.se"')
    assert contact_lines(load_config(project)) == [
        ("E-post", "gis@test.se", "mailto:gis@test.se"),
        ("Telefon", "011-15 00 00", "tel:011150000"),
        ("Webb", "https://test.se", "https://test.se")]


# --- a second municipality: its own texts everywhere, nothing of Norrköping's ---------------

OWN = """[publication]
publisher = "Ödeshögs kommun, samhällsbyggnad"
goal = "Mål 7B: Åkermarken i utvecklingsområdena ska bli mindre än i {base}."
goal_id = "7B"
goal_source = "Kommunfullmäktiges budget 2026"
contact_email = "gis@odeshog.example"
contact_phone = "0144-350 00"
contact_url = "https://odeshog.example/kontakt"
credits = [{ source = "Länsstyrelsen", text = "Riksintressen", url = "https://lst.example" }]
"""


def _output_texts(root) -> dict[str, str]:
    """Every output file as text: text files as they are, the workbook's XML parts, the
    GeoPackage's bytes decoded (its strings are UTF-8)."""
    import zipfile

    out = {}
    for folder in ("data/processed", "maps", "reports"):
        for path in (root / folder).rglob("*"):
            if not path.is_file() or path.suffix == ".png":
                continue
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as z:
                    out[str(path)] = "".join(z.read(n).decode("utf-8") for n in z.namelist())
            else:
                out[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return out


def test_a_second_municipality_gets_its_own_texts(project):
    from pipeline.cli import main

    text = project.read_text(encoding="utf-8").replace('kommun = "Testkommun"',
                                                       'kommun = "Ödeshög"')
    project.write_text(text + "\n" + OWN.replace("{base}", "ÖP 2017"), encoding="utf-8")
    assert main(["run", "--config", str(project), "-q"]) == 0
    root = project.parent
    texts = _output_texts(root)
    assert len(texts) > 10
    for name, content in texts.items():
        for word in ("Norrköping", "Norrkoping", "norrkoping", "uppdragsplan"):
            assert word not in content, (name, word)
        if not name.endswith(".gpkg"):  # Norrköping's goal number, outside embedded images
            # and URL escapes (the basemap's "https%3A%2F%2F…" in opjord.qgs)
            text = re.sub(r"%[0-9A-F]{2}", "", re.sub(r"data:[^\"')\s]+", "", content))
            assert not re.search(r"\b3A\b", text), name
    report = (root / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    assert report.startswith("# Uppföljning av mål 7B: jordbruksmark i översiktsplanens "
                             "utvecklingsområden, Ödeshög\n")
    assert ("Målet i Kommunfullmäktiges budget 2026: ”Mål 7B: Åkermarken i "
            "utvecklingsområdena ska bli mindre än i ÖP 2017.”") in report
    for credit in ("Jordbruksverket: Jordbruksblock", "OpenStreetMap-bidragsgivare",
                   "Ödeshögs kommun, samhällsbyggnad: Översiktsplanernas utvecklingsområden",
                   "Länsstyrelsen: Riksintressen"):
        assert credit in report, credit
    statement = (root / "maps/tillganglighet.html").read_text(encoding="utf-8")
    assert "<p>Ödeshögs kommun, samhällsbyggnad står bakom de här webbkartorna" in statement
    for contact in ('<a href="mailto:gis@odeshog.example">gis@odeshog.example</a>',
                    '<a href="tel:014435000">0144-350 00</a>',
                    '<a href="https://odeshog.example/kontakt">https://odeshog.example/kontakt'):
        assert contact in statement, contact
    for page in ("index.html", "oversikt.html", "tillganglighet.html"):
        html = (root / "maps" / page).read_text(encoding="utf-8")
        assert ('<p class="upphov">Upphov: <a href="https://jordbruksverket.se">Jordbruksverket'
                '</a>') in html, page
        assert '<a href="https://lst.example">Länsstyrelsen</a> (Riksintressen).</p>' in html
        assert "– Ödeshög</title>" in html
    assert "Målet (7B) är att andelen" in (root / "maps/oversikt.html").read_text("utf-8")
    summary = (root / "data/processed/summary.json").read_text(encoding="utf-8")
    assert '"kommun": "Ödeshög"' in summary
    workbook = texts[str(root / "data/processed/opjord.xlsx")]
    assert "Ödeshögs kommun, samhällsbyggnad" in workbook and "Länsstyrelsen" in workbook


def test_without_a_name_the_outputs_say_kommunen(project):
    from pipeline.cli import main

    text = project.read_text(encoding="utf-8").replace('kommun = "Testkommun"\n', "")
    project.write_text(text, encoding="utf-8")
    assert main(["run", "--config", str(project), "-q"]) == 0
    root = project.parent
    for content in _output_texts(root).values():
        assert "Norrköping" not in content and "None" not in content.replace("\"None\"", "")
    report = (root / "reports/uppfoljning_3a.md").read_text(encoding="utf-8")
    assert report.startswith("# Uppföljning av målet: jordbruksmark i översiktsplanens "
                             "utvecklingsområden, kommunen\n")
    assert "Målet: ”Andelen jordbruksmark i översiktsplanens utvecklingsområden minskar " \
           "jämfört med ÖP 2017.”" in report
    statement = (root / "maps/tillganglighet.html").read_text(encoding="utf-8")
    assert "kontakta kommunen.</p>" in statement
