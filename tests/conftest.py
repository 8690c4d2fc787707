"""Shared fixtures: a tiny hand-made project whose answers are computed by hand.

Coordinates are metres in EPSG:3006, offset to lie near Norrköping. The layout
(units: m from the origin X0, Y0; 1 ha = 100 × 100 m):

    boundary M   box(0, 0, 1000, 1000)                      100 ha
    farmland F1  Åker  box(0, 0, 400, 400)                    16 ha
             F2  Bete  box(300, 0, 500, 200)                   4 ha, 2 ha under F1 (Åker wins)
             F3  Åker  box(600, 600, 800, 800)                 4 ha
             F4  Åker  box(900, 900, 1100, 1100)               4 ha, 1 ha inside M
             F5  Skog  box(0, 600, 200, 800)                   not a counted class
    ÖP 2017  A1  box(200, 0, 600, 400)                        16 ha: Åker 8, Bete 2
             A2  box(500, 0, 700, 200)                         4 ha, 2 ha under A1; no farmland
    ÖP 2025  A1  box(200, 0, 600, 400)   same id and shape    kept
             B2  box(550, 550, 850, 850) − hole box(650, 650, 750, 750)  8 ha: Åker 3
             B3  box(950, 950, 1050, 1050)                     1 ha, ¼ inside M; Åker 1 (¼ in M)
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

X0, Y0 = 560_000.0, 6_490_000.0

os.environ.setdefault("MPLBACKEND", "Agg")


def box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def write_layer(path: Path, records: list[dict], *, crs: str | None = "EPSG:3006",
                layer: str | None = None, **kwargs) -> Path:
    geoms = [r.pop("geometry") for r in records]
    gdf = gpd.GeoDataFrame(records, geometry=geoms, crs=crs)
    gdf.to_file(path, layer=layer, engine="pyogrio", **kwargs)
    return path


def farmland_records() -> list[dict]:
    rows = [("00000000001", "Åker", box(0, 0, 400, 400)),
            ("00000000002", "Bete", box(300, 0, 500, 200)),
            ("00000000003", "Åker", box(600, 600, 800, 800)),
            ("00000000004", "Åker", box(900, 900, 1100, 1100)),
            ("00000000005", "Skog", box(0, 600, 200, 800))]
    return [{"blockid": b, "agoslag": c, "kategori": "Jordbruksblock",
             "areal": round(g.area / 1e4, 2), "region_kod": "05", "arslager": 2024, "geometry": g}
            for b, c, g in rows]


def plan_2017() -> list[dict]:
    return [{"omr_id": "A1", "namn": "Ängen", "typ": "bostäder", "geometry": box(200, 0, 600, 400)},
            {"omr_id": "A2", "namn": "Östra fältet", "typ": "verksamheter",
             "geometry": box(500, 0, 700, 200)}]


def plan_2025() -> list[dict]:
    holed = shapely.Polygon(box(550, 550, 850, 850).exterior.coords,
                            [box(650, 650, 750, 750).exterior.coords])
    return [{"omr_id": "A1", "namn": "Ängen", "typ": "bostäder", "geometry": box(200, 0, 600, 400)},
            {"omr_id": "B2", "namn": "Ringen", "typ": "blandad bebyggelse", "geometry": holed},
            {"omr_id": "B3", "namn": "Gränsen", "typ": "verksamheter",
             "geometry": box(950, 950, 1050, 1050)}]


CONFIG = """\
[project]
kommun = "Testkommun"
kommunkod = "9999"

[boundary]
path = "raw/boundary.gpkg"

[agricultural_land]
path = "raw/blocks.gpkg"
layer = "jordbruksblock"
class_column = "agoslag"
classes = ["Åker", "Bete"]

[[plans]]
key = "op2017"
label = "ÖP 2017"
path = "raw/op2017.gpkg"
id_column = "omr_id"
name_column = "namn"
type_column = "typ"
baseline = true

[[plans]]
key = "op2025"
label = "ÖP 2025"
path = "raw/op2025.gpkg"
id_column = "omr_id"
name_column = "namn"
type_column = "typ"
"""


def make_project(folder: Path) -> Path:
    """Write the hand-made layers and opjord.toml into `folder`; return the config path."""
    raw = folder / "raw"
    raw.mkdir()
    write_layer(raw / "boundary.gpkg", [{"kommun": "Test", "geometry": box(0, 0, 1000, 1000)}])
    write_layer(raw / "blocks.gpkg", farmland_records(), layer="jordbruksblock")
    write_layer(raw / "op2017.gpkg", plan_2017())
    write_layer(raw / "op2025.gpkg", plan_2025())
    cfg = folder / "opjord.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the hand-made layers and opjord.toml; returns the config path."""
    return make_project(tmp_path)


def edit_config(cfg: Path, old: str, new: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    assert old in text, old
    cfg.write_text(text.replace(old, new), encoding="utf-8")


def dedent(text: str) -> str:
    return textwrap.dedent(text)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below `folder` (relative posix path) with its sha256; {} when missing."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


def fails_cleanly(cfg: Path, capsys, *needles: str, command: str = "analyse") -> str:
    """Run `command`: exit 2, no traceback, the message has the needles, and
    data/processed is byte for byte as before. Returns the message."""
    from pipeline.cli import main

    processed = cfg.parent / "data/processed"
    before = snapshot(processed)
    code = main([command, "--config", str(cfg), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert snapshot(processed) == before
    return err
