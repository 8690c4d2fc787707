"""A mapped project for the web-map tests: conftest's hand-made layers plus XSS payloads.

The payloads sit in the data (area names, types, ids) and in the config (plan label,
kommun), everywhere a string can reach the page.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import CONFIG, box, farmland_records, plan_2017, plan_2025, write_layer

from pipeline.analyse import DEMO_MARKER, analyse
from pipeline.config import Config, load_config
from pipeline.export import write_outputs
from pipeline.webmap import build_maps

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEMPLATE = "${alert(1)}"
XSS_SCRIPT = '"><script>alert(1)</script>'
XSS_ID = "</script><script>window.__xss=1</script>"
XSS_LABEL = "ÖP 2025 <b onmouseover=alert(1)>'${window.__xss=1}'</b>"
XSS_KOMMUN = "Testkommun<img src=x onerror=window.__xss=1>"
PAYLOADS = (XSS_IMG, XSS_TEMPLATE, XSS_SCRIPT, XSS_ID, XSS_LABEL, XSS_KOMMUN)


def xss_plan_2025() -> list[dict]:
    """conftest's ÖP 2025 with payloads as names, type and id (shapes unchanged)."""
    records = plan_2025()
    records[0]["typ"] = XSS_SCRIPT  # A1: kept (same id and shape)
    records[1]["namn"] = XSS_IMG  # B2: the ring
    records[2]["namn"] = XSS_TEMPLATE  # B3: across the boundary
    records[2]["omr_id"] = XSS_ID
    return records


def make_project(root: Path, *, webmap: str = "", demo: bool = True) -> Config:
    """Write the layers and config under `root`, run the analysis and build the maps."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    write_layer(raw / "boundary.gpkg", [{"kommun": "Test", "geometry": box(0, 0, 1000, 1000)}])
    write_layer(raw / "blocks.gpkg", farmland_records(), layer="jordbruksblock")
    write_layer(raw / "op2017.gpkg", plan_2017())
    write_layer(raw / "op2025.gpkg", xss_plan_2025())
    if demo:
        (raw / DEMO_MARKER).write_text("synthetic test data\n", encoding="utf-8")
    text = CONFIG.replace('kommun = "Testkommun"', f"kommun = {toml_str(XSS_KOMMUN)}")
    text = text.replace('label = "ÖP 2025"', f"label = {toml_str(XSS_LABEL)}")
    cfg = root / "opjord.toml"
    cfg.write_text(text + webmap, encoding="utf-8")
    config = load_config(cfg)
    write_outputs(analyse(config))
    build_maps(config)
    return config


def toml_str(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_sv(text: str) -> float | None:
    """Read a Swedish-formatted number back ("1 234,5 ha", "−0,9", "55,6 %"); "–" is None."""
    text = text.strip()
    if text in ("–", ""):
        return None
    number = re.sub(r"[^\d,−+-]", "", text.replace("\u2212", "-"))
    return float(number.replace(",", "."))
