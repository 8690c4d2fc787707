"""The land-cover raster path: hand-made rasters with hand-computed answers, error paths
through the CLI, and the designed vector/raster difference on the demo data.

Hand-made rasters are 10 m grids near Norrköping (EPSG:3006 unless stated). Pixel
(row r, column c) covers x X0 + 10c … X0 + 10(c + 1), y TOP − 10(r + 1) … TOP − 10r.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import X0, Y0, edit_config
from pyproj import Transformer
from rasterio.transform import from_origin

from pipeline import demo
from pipeline.analyse import analyse, with_landcover
from pipeline.cli import main
from pipeline.config import LandcoverConfig, load_config
from pipeline.errors import InputError
from pipeline.landcover_text import agreement_lines
from pipeline.zonal import (
    inspect_raster,
    landcover_figures,
    landcover_share,
    zonal_landcover,
)

ROOT = Path(__file__).resolve().parents[1]
# Answers to 1e-9 ha = 1e-5 m². exactextract stores coverage fractions as float32, so each
# partial pixel carries up to 2⁻²⁴ of its area (6e-6 m² for a 10 m pixel): these few-pixel
# cases stay within 1e-5 m², while 1e-9 m² would fail on any fraction not exact in float32.
TOL_M2 = 1e-5
TOP = Y0 + 1000.0  # the raster's top edge in the hand-made project


def write_raster(path: Path, arr: np.ndarray, *, west: float = X0, north: float = TOP,
                 res: float = 10.0, crs: str | None = "EPSG:3006",
                 nodata: float | None = 255) -> Path:
    profile = {"driver": "GTiff", "width": arr.shape[1], "height": arr.shape[0], "count": 1,
               "dtype": arr.dtype.name, "transform": from_origin(west, north, res, res),
               "nodata": nodata}
    if crs is not None:
        profile["crs"] = crs
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as ds:
        ds.write(arr, 1)
    return path


def measure(path: Path, geoms: list, **cfg) -> dict[str, np.ndarray]:
    info = inspect_raster(LandcoverConfig(path=path, **cfg))
    z = zonal_landcover(info, np.array(geoms, dtype=object))
    return {"agri": z.agricultural_m2, "nodata": z.nodata_m2, "area": z.area_m2}


def rel(x: float, y: float) -> tuple[float, float]:
    """Coordinates relative to the raster's top-left corner (x right, y down), in metres."""
    return X0 + x, TOP - y


def rbox(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    """A box in raster-relative coordinates (x right, y down from the top-left corner)."""
    return shapely.box(X0 + x1, TOP - y2, X0 + x2, TOP - y1)


# --- exact partial pixels ----------------------------------------------------------------


def test_half_pixel(tmp_path):
    path = write_raster(tmp_path / "r.tif", np.full((4, 4), 3, dtype=np.uint8))
    m = measure(path, [rbox(10, 10, 15, 20), rbox(10, 10, 20, 15)])
    assert m["agri"] == pytest.approx([50.0, 50.0], abs=TOL_M2)
    assert m["nodata"] == pytest.approx([0.0, 0.0], abs=TOL_M2)
    assert m["area"] == pytest.approx([50.0, 50.0], abs=TOL_M2)


def test_four_pixels_with_known_fractions(tmp_path):
    # x 4..16 over columns 0 (6 m) and 1 (6 m); y 1..13 over rows 0 (9 m) and 1 (3 m)
    arr = np.array([[3, 42], [3, 111]], dtype=np.uint8)
    path = write_raster(tmp_path / "r.tif", arr)
    m = measure(path, [rbox(4, 1, 16, 13)])
    # 3-pixels: (0, 0) 6 × 9 = 54 m², (1, 0) 6 × 3 = 18 m²
    assert m["agri"][0] == pytest.approx(72.0, abs=TOL_M2)
    assert m["area"][0] == pytest.approx(144.0, abs=TOL_M2)
    # several codes count: + (0, 1) 6 × 9 = 54 m²
    m = measure(path, [rbox(4, 1, 16, 13)], agricultural_codes=(3, 42))
    assert m["agri"][0] == pytest.approx(126.0, abs=TOL_M2)


def test_field_notes_square_offset_on_the_grid(tmp_path):
    """The textbook case: a 25 × 25 m square offset 5 m on the 10 m grid; over a 2 × 2
    pixel arable block it covers 15 × 15 m of arable (centre rule and all_touched differ)."""
    arr = np.zeros((4, 4), dtype=np.uint8)
    arr[:2, :2] = 3
    path = write_raster(tmp_path / "r.tif", arr, nodata=None)
    m = measure(path, [rbox(5, 5, 30, 30)])
    # square x 5..30, y 5..30; arable pixels x 0..20, y 0..20: overlap 15 × 15
    assert m["agri"][0] == pytest.approx(225.0, abs=TOL_M2)
    assert m["area"][0] == pytest.approx(625.0, abs=TOL_M2)


def test_triangle_and_multipart_and_hole(tmp_path):
    path = write_raster(tmp_path / "r.tif", np.array([[3, 0], [0, 3]], dtype=np.uint8),
                        nodata=None)
    tri = shapely.Polygon([rel(0, 0), rel(20, 0), rel(0, 20)])  # half of each off-diagonal
    two = shapely.MultiPolygon([rbox(0, 0, 10, 5), rbox(10, 10, 20, 12)])
    holed = shapely.Polygon(rbox(0, 0, 20, 20).exterior.coords,
                            [rbox(12, 12, 18, 18).exterior.coords])
    m = measure(path, [tri, two, holed])
    # triangle: pixel (0, 0) whole (100), (0, 1) and (1, 0) half each (0 code), (1, 1) none
    assert m["agri"] == pytest.approx([100.0, 50.0 + 20.0, 200.0 - 36.0], abs=TOL_M2)
    assert m["area"] == pytest.approx([200.0, 70.0, 364.0], abs=TOL_M2)


def test_nodata_default_and_excluded(tmp_path):
    arr = np.array([[3, 255, 42]], dtype=np.uint8)
    path = write_raster(tmp_path / "r.tif", arr)
    # x 5..30: 5 m of the 3-pixel, 10 m of nodata, 10 m of 42; plus 10 m outside the raster
    m = measure(path, [rbox(5, 0, 40, 10)])
    assert m["agri"][0] == pytest.approx(50.0, abs=TOL_M2)
    assert m["nodata"][0] == pytest.approx(100.0 + 100.0, abs=TOL_M2)
    assert m["area"][0] == pytest.approx(350.0, abs=TOL_M2)
    assert landcover_share(50.0, 200.0, 350.0, exclude_nodata=False) == pytest.approx(50 / 350)
    assert landcover_share(50.0, 200.0, 350.0, exclude_nodata=True) == pytest.approx(50 / 150)
    assert landcover_share(0.0, 100.0, 100.0, exclude_nodata=True) is None
    # the config's nodata overrides the file's: 42 becomes nodata, 255 a plain value
    m = measure(path, [rbox(5, 0, 40, 10)], nodata=42)
    assert m["nodata"][0] == pytest.approx(100.0 + 100.0, abs=TOL_M2)
    assert m["agri"][0] == pytest.approx(50.0, abs=TOL_M2)


def test_raster_in_another_crs(tmp_path):
    """Raster in EPSG:3010, polygon in EPSG:3006: the expected value is computed
    independently with shapely (polygon ∩ pixel squares in 3010), then scaled to the
    polygon's EPSG:3006 area."""
    to_3010 = Transformer.from_crs("EPSG:3006", "EPSG:3010", always_xy=True)
    poly = shapely.Polygon([(X0 + 3.3, Y0 + 2.1), (X0 + 61.7, Y0 + 9.4), (X0 + 48.2, Y0 + 55.5),
                            (X0 + 7.9, Y0 + 41.0)])
    moved = shapely.transform(poly, lambda xy: np.column_stack(to_3010.transform(*xy.T)))
    minx, miny, maxx, maxy = moved.bounds
    west, north = np.floor(minx / 10) * 10 - 20, np.ceil(maxy / 10) * 10 + 20
    rows, cols = int((north - miny) // 10) + 4, int((maxx - west) // 10) + 4
    arr = ((np.arange(rows)[:, None] + 2 * np.arange(cols)[None, :]) % 3 == 0).astype(np.uint8)
    arr = np.where(arr == 1, 3, 115).astype(np.uint8)
    arr[1, :] = 255
    path = write_raster(tmp_path / "r3010.tif", arr, west=west, north=north, crs="EPSG:3010")
    expected_agri = 0.0
    for r in range(rows):
        for c in range(cols):
            if arr[r, c] == 3:
                cell = shapely.box(west + 10 * c, north - 10 * (r + 1), west + 10 * (c + 1),
                                   north - 10 * r)
                expected_agri += shapely.intersection(moved, cell).area
    scale = poly.area / moved.area
    assert 0.9990 < scale < 0.9995  # 3006 areas are ≈ 0.07 % lower here than 3010's
    m = measure(path, [poly])
    assert m["agri"][0] == pytest.approx(expected_agri * scale, abs=TOL_M2)
    assert m["area"][0] == pytest.approx(poly.area, abs=TOL_M2)
    assert m["nodata"][0] == pytest.approx(0.0, abs=TOL_M2)  # row 1 lies above the polygon


# --- the CLI: figures, errors, warnings ---------------------------------------------------


def project_raster(path: Path, **kwargs) -> Path:
    """100 × 100 px over the hand-made project's boundary: 3 where F1 (box 0..400) lies,
    111 elsewhere, and a 20 × 20 m nodata square at x 600..620, y 0..20 (inside A2)."""
    arr = np.full((100, 100), 111, dtype=np.uint8)
    arr[60:100, 0:40] = 3  # rows from the top: y 0..400 → rows 60..99
    arr[98:100, 60:62] = 255
    return write_raster(path, arr, **kwargs)


LANDCOVER = '\n[landcover]\npath = "raw/nmd.tif"\nagricultural_codes = [3]\n'


def _run(project: Path, capsys) -> tuple[int, dict | None, str, str]:
    code = main(["analyse", "--config", str(project)])
    out, err = capsys.readouterr()
    summary_path = project.parent / "data/processed/summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if code == 0 else None
    return code, summary, out, err


def test_cli_figures_per_area_plan_and_comparison(project, capsys):
    project_raster(project.parent / "raw/nmd.tif")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    code, s, out, err = _run(project, capsys)
    assert code == 0, err
    p17, p25 = s["plans"]["op2017"], s["plans"]["op2025"]
    # ÖP 2017 footprint box(200, 0, 700, 400) minus nothing: 18 ha; arable 200..400 × 0..400
    assert p17["landcover"]["agricultural_ha"] == pytest.approx(8.0, abs=1e-9)
    assert p17["landcover"]["nodata_ha"] == pytest.approx(0.04, abs=1e-9)
    assert p17["landcover"]["share"] == pytest.approx(8.0 / 18.0, abs=1e-12)
    # ÖP 2025: A1 (8 ha arable) + B2 + B3 (¼ inside the boundary, beyond the raster: no)
    assert p25["landcover"]["agricultural_ha"] == pytest.approx(8.0, abs=1e-9)
    assert p25["landcover"]["nodata_ha"] == pytest.approx(0.0, abs=1e-9)
    c = s["comparisons"]["op2025"]["landcover"]
    assert c["newly_designated_ha"] == pytest.approx(0.0, abs=1e-9)
    assert c["released_ha"] == pytest.approx(0.0, abs=1e-9)
    entry = next(i for i in s["inputs"] if i["role"] == "landcover")
    assert entry["path"] == "raw/nmd.tif" and len(entry["sha256"]) == 64
    assert entry["source_crs"] == "EPSG:3006" and entry["agricultural_codes"] == [3]
    assert entry["size_bytes"] == (project.parent / "raw/nmd.tif").stat().st_size
    import pandas as pd

    csv = pd.read_csv(project.parent / "data/processed/areas.csv", dtype={"area_id": str})
    a2 = csv[(csv.plan == "op2017") & (csv.area_id == "A2")].iloc[0]
    assert a2["landcover_agricultural_ha"] == pytest.approx(0.0, abs=1e-9)
    assert a2["landcover_nodata_ha"] == pytest.approx(0.04, abs=1e-9)
    a1 = csv[(csv.plan == "op2017") & (csv.area_id == "A1")].iloc[0]
    assert a1["landcover_share"] == pytest.approx(0.5, abs=1e-12)
    b3 = csv[(csv.plan == "op2025") & (csv.area_id == "B3")].iloc[0]
    assert b3["landcover_nodata_ha"] == pytest.approx(0.75, abs=1e-9)  # beyond the raster
    assert "Jämförelse med marktäckedata" in out and "ÖP 2017" in out
    assert "varning" in err and "saknar rasterdata" in err


def test_landcover_figures_is_pure_and_with_landcover_applies_it(project):
    """`project_raster` with two more åkermark patches: 0.5 ha at x 650..700, y 100..200 (in
    A2 only: released by ÖP 2025) and 1 ha at x 700..800, y 550..650 (in B2, beside its hole:
    newly designated). The analysis is unchanged; `with_landcover` makes a new one that holds
    exactly them, and leaves the first as it was."""
    arr = np.full((100, 100), 111, dtype=np.uint8)
    arr[60:100, 0:40] = 3  # F1, as in project_raster
    arr[98:100, 60:62] = 255  # nodata in A2, as in project_raster
    arr[80:90, 65:70] = 3
    arr[35:45, 70:80] = 3
    write_raster(project.parent / "raw/nmd.tif", arr)
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    config = load_config(project)
    analysis = analyse(dataclasses.replace(config, landcover=None))
    info = inspect_raster(config.landcover)
    columns, warnings = list(analysis.areas.columns), list(analysis.warnings)
    lc = landcover_figures(analysis.areas, analysis.footprints, config, info)
    assert list(analysis.areas.columns) == columns and analysis.warnings == warnings
    assert "landcover" not in analysis.plans["op2017"] and analysis.extra_inputs == []

    row = {k: i for i, k in enumerate(zip(analysis.areas["plan"], analysis.areas["area_id"],
                                          strict=True))}
    assert list(lc.area_columns) == ["landcover_agricultural_ha", "landcover_share",
                                     "landcover_nodata_ha"]
    agri, share, nodata = (lc.area_columns[c] for c in lc.area_columns)
    assert agri[row["op2017", "A1"]] == pytest.approx(8.0, abs=1e-9)
    assert share[row["op2017", "A1"]] == pytest.approx(0.5, abs=1e-12)
    assert agri[row["op2017", "A2"]] == pytest.approx(0.5, abs=1e-9)
    assert share[row["op2017", "A2"]] == pytest.approx(0.5 / 4.0, abs=1e-12)
    assert nodata[row["op2017", "A2"]] == pytest.approx(0.04, abs=1e-9)
    assert agri[row["op2025", "B2"]] == pytest.approx(1.0, abs=1e-9)
    assert share[row["op2025", "B2"]] == pytest.approx(1.0 / 8.0, abs=1e-12)
    assert nodata[row["op2025", "B3"]] == pytest.approx(0.75, abs=1e-9)  # beyond the raster
    # Footprints: ÖP 2017 A1 ∪ A2 = 18 ha; ÖP 2025 A1 + B2 + the ¼ ha of B3 inside M.
    assert lc.plans["op2017"] == pytest.approx(
        {"agricultural_ha": 8.5, "share": 8.5 / 18.0, "nodata_ha": 0.04}, abs=1e-9)
    assert lc.plans["op2025"] == pytest.approx(
        {"agricultural_ha": 9.0, "share": 9.0 / 24.25, "nodata_ha": 0.0}, abs=1e-9)
    assert lc.comparisons == {"op2025": pytest.approx(
        {"newly_designated_ha": 1.0, "released_ha": 0.5,
         "share_change_pp": 100.0 * (9.0 / 24.25 - 8.5 / 18.0)}, abs=1e-9)}
    assert lc.input["role"] == "landcover" and lc.input["path"] == "raw/nmd.tif"
    assert isinstance(lc.warnings, tuple) and len(lc.warnings) == 1
    assert "saknar rasterdata" in lc.warnings[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lc.warnings = ()  # type: ignore[misc]

    full = with_landcover(analysis, lc)
    for column, values in lc.area_columns.items():
        assert full.areas[column].tolist() == values.tolist()
    assert full.plans["op2017"]["landcover"] == lc.plans["op2017"]
    assert full.comparisons["op2025"]["landcover"] == lc.comparisons["op2025"]
    assert full.extra_inputs == [lc.input]
    assert [w.message for w in full.warnings] == [*(w.message for w in warnings), *lc.warnings]
    assert full.warnings[-1].code == "landcover"
    assert list(analysis.areas.columns) == columns and analysis.warnings == warnings
    assert "landcover" not in analysis.plans["op2017"] and analysis.extra_inputs == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.areas = analysis.areas  # type: ignore[misc]


def test_cli_exclude_nodata(project, capsys):
    project_raster(project.parent / "raw/nmd.tif")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER
                       + "exclude_nodata = true\n", encoding="utf-8")
    code, s, _, err = _run(project, capsys)
    assert code == 0, err
    assert s["plans"]["op2017"]["landcover"]["share"] == pytest.approx(8.0 / 17.96, abs=1e-12)


def test_cli_raster_without_crs(project, capsys):
    project_raster(project.parent / "raw/nmd.tif", crs=None)
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    code, _, _, err = _run(project, capsys)
    assert code == 2
    assert "nmd.tif" in err and "saknar koordinatsystem" in err
    assert 'crs = "EPSG:3006"' in err
    project.write_text(project.read_text(encoding="utf-8") + 'crs = "EPSG:3006"\n',
                       encoding="utf-8")
    code, s, _, err = _run(project, capsys)
    assert code == 0, err
    entry = next(i for i in s["inputs"] if i["role"] == "landcover")
    assert entry["source_crs"] is None and entry["crs_from_config"] is True


def test_cli_raster_not_overlapping(project, capsys):
    project_raster(project.parent / "raw/nmd.tif", west=X0 + 50_000)
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    code, _, _, err = _run(project, capsys)
    assert code == 2
    assert "överlappar inget utvecklingsområde" in err and "Åtgärd:" in err


def test_cli_unreadable_raster(project, capsys):
    (project.parent / "raw/nmd.tif").write_bytes(b"II*\x00 this is not a GeoTIFF")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    code, _, _, err = _run(project, capsys)
    assert code == 2
    assert "nmd.tif" in err and "går inte att öppna som raster" in err and "Åtgärd:" in err
    assert "Traceback" not in err


def test_cli_absent_codes_warn(project, capsys):
    project_raster(project.parent / "raw/nmd.tif")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    edit_config(project, "agricultural_codes = [3]", "agricultural_codes = [3, 77]")
    code, s, _, err = _run(project, capsys)
    assert code == 0, err
    assert any("-koderna 77 i" in w["message"] and "förekommer aldrig" in w["message"]
               for w in s["warnings"])
    assert "förekommer aldrig" in err
    assert s["plans"]["op2017"]["landcover"]["agricultural_ha"] == pytest.approx(8.0, abs=1e-9)


def test_cli_validate_describes_raster(project, capsys):
    project_raster(project.parent / "raw/nmd.tif")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    assert main(["validate", "--config", str(project)]) == 0
    out = capsys.readouterr().out
    assert "landcover:" in out and "100 × 100 px" in out


def test_inspect_rejects_impossible_nodata(tmp_path):
    path = project_raster(tmp_path / "r.tif")
    with pytest.raises(InputError, match="`nodata = -1.0` kan inte förekomma i ett uint8-raster"):
        inspect_raster(LandcoverConfig(path=path, nodata=-1.0))


def test_agreement_lines_format():
    summary = {"plans": {"a": {"label": "ÖP 2017", "agricultural_ha": 200.0, "share": 0.4,
                               "landcover": {"agricultural_ha": 150.0, "share": 0.3,
                                             "nodata_ha": 0.0}}},
               "inputs": [{"role": "landcover", "path": "x/nmd.tif",
                           "agricultural_codes": [3]}]}
    lines = agreement_lines(summary)
    assert lines[0] == "Jämförelse med marktäckedata (nmd.tif, koder 3):"
    assert "−25,0 %" in lines[2] and "−10,0 p.e." in lines[2]
    assert agreement_lines({"plans": {"a": {"label": "x"}}}) == []


# --- the demo: the designed difference --------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_lc")
    shutil.copytree(ROOT / "data/raw/demo", root / "data/raw/demo")
    shutil.copy(ROOT / "opjord.toml", root / "opjord.toml")
    assert main(["analyse", "--config", str(root / "opjord.toml"), "-q"]) == 0
    raw = root / "data/raw/demo"
    design = demo.landcover_design(
        demo._read_boundary_3006(), gpd.read_file(raw / "jordbruksblock.gpkg"),
        gpd.read_file(raw / "utvecklingsomraden_op2017.gpkg"))
    summary = json.loads((root / "data/processed/summary.json").read_text(encoding="utf-8"))
    fp = gpd.read_file(root / "data/processed/analysis.gpkg", layer="footprints")
    return summary, design, dict(zip(fp["plan"], fp.geometry, strict=True))


def test_demo_design_is_as_documented(demo_run):
    _, design, _ = demo_run
    assert design.fallow_share == pytest.approx(demo.FALLOW_SHARE, abs=0.005)
    assert 100.0 <= design.outside_ha <= 200.0
    readme = (ROOT / "data/raw/demo/README.md").read_text(encoding="utf-8")
    assert f"{design.fallow_share * 100:.2f} % of the Åker" in readme
    assert f"{design.outside_ha:.1f} ha" in readme


def test_demo_vector_raster_difference_is_the_designed_one(demo_run):
    """Raster ha = the designed åkermark in the footprint, up to 10 m pixel edges (0.2 %);
    so vector − raster = Bete + fallow Åker + nodata − arable outside blocks, as designed."""
    s, design, footprints = demo_run
    for key, d in footprints.items():
        p = s["plans"][key]
        expected_raster = design.arable_in(d).area / 1e4
        designed_difference = p["agricultural_ha"] - expected_raster
        assert designed_difference > 0.2 * p["agricultural_ha"]  # a real, designed gap
        diff = p["agricultural_ha"] - p["landcover"]["agricultural_ha"]
        assert diff == pytest.approx(designed_difference, abs=0.002 * expected_raster)
        assert p["landcover"]["nodata_ha"] == pytest.approx(6.0, abs=1e-9)  # the patch
        assert p["landcover"]["share"] == pytest.approx(
            p["landcover"]["agricultural_ha"] / p["development_area_ha"], rel=1e-9)
    c = s["comparisons"]["op2025"]["landcover"]
    newly = shapely.difference(footprints["op2025"], footprints["op2017"])
    released = shapely.difference(footprints["op2017"], footprints["op2025"])
    assert c["newly_designated_ha"] == pytest.approx(design.arable_in(newly).area / 1e4,
                                                     rel=0.01)
    assert c["released_ha"] == pytest.approx(design.arable_in(released).area / 1e4, rel=0.005)
