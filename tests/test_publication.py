"""The credits and the publisher that map, report and workbook show, from the config."""

from __future__ import annotations

import pytest

from pipeline.config import load_config
from pipeline.publication import contact_lines, credits, publisher


def _append(cfg, text: str) -> None:
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


@pytest.mark.parametrize("webmap, basemap_source", [
    ("", "OpenStreetMap-bidragsgivare"),
    ('basemap = "osm"', "OpenStreetMap-bidragsgivare"),
    ('basemap = "topowebb"', "Lantmäteriet"),
    ('basemap = "topowebb_nedtonad"', "Lantmäteriet"),
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
