"""Input files whose header reads but whose data is cut off or overwritten (a partial
download, an interrupted copy): a clear "damaged" message with exit 2, never a traceback and
never a figure computed from fewer features or from pixels GDAL could not read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import X0, Y0
from rasterio.transform import from_origin

from pipeline.cli import main

TOP = Y0 + 1000.0
LANDCOVER = '\n[landcover]\npath = "raw/nmd.tif"\nagricultural_codes = [3]\n'
GARBAGE = bytes((i * 37 + 11) % 256 for i in range(4096))


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())} if folder.exists() else {}


def _fails(cfg: Path, capsys, command: str, *needles: str) -> str:
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


# --- rasters ------------------------------------------------------------------------------


def write_tiled_raster(path: Path) -> Path:
    """The hand-made project's 100 × 100 px land cover (3 where F1 lies, 111 elsewhere) as a
    DEFLATE-compressed GeoTIFF of 16 × 16 px tiles: header first, then the tiles."""
    arr = np.full((100, 100), 111, dtype=np.uint8)
    arr[60:100, 0:40] = 3
    profile = {"driver": "GTiff", "width": 100, "height": 100, "count": 1, "dtype": "uint8",
               "transform": from_origin(X0, TOP, 10.0, 10.0), "nodata": 255,
               "crs": "EPSG:3006", "tiled": True, "blockxsize": 16, "blockysize": 16,
               "compress": "deflate"}
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as ds:
        ds.write(arr, 1)
    return path


def tile_bytes(path: Path, row: int, col: int) -> tuple[int, int]:
    """Offset and length in the file of tile (row, col)."""
    with rasterio.open(path) as ds:
        return (int(ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1)),
                int(ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=1)))


def first_tile_offset(path: Path) -> int:
    with rasterio.open(path) as ds:
        return min(int(ds.get_tag_item(f"BLOCK_OFFSET_{c}_{r}", "TIFF", bidx=1))
                   for r in range(7) for c in range(7))


# Tile (5, 1) holds rows 80..95 and columns 16..31, i.e. x 160..320 m, y 40..200 m of the
# project: it meets A1 (x 200..600, y 0..400) and holds code 3. Tile (0, 0), x 0..160 m,
# y 840..1000 m, meets no area of either plan.
TILE_IN_AREA = (5, 1)
TILE_AWAY = (0, 0)


def _landcover_project(project: Path) -> Path:
    raster = write_tiled_raster(project.parent / "raw/nmd.tif")
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER, encoding="utf-8")
    return raster


def _good_run(project: Path, capsys) -> dict:
    import json

    assert main(["analyse", "--config", str(project), "-q"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    summary = (project.parent / "data/processed/summary.json").read_text(encoding="utf-8")
    return json.loads(summary)


def _cut(path: Path, size: int) -> None:
    data = path.read_bytes()
    assert size < len(data)
    path.write_bytes(data[:size])


def _overwrite(path: Path, offset: int, length: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset:offset + length] = GARBAGE[:length]
    path.write_bytes(bytes(data))


def test_raster_cut_in_a_tile_the_areas_use(project, capsys):
    raster = _landcover_project(project)
    _good_run(project, capsys)
    offset, length = tile_bytes(raster, *TILE_IN_AREA)
    _cut(raster, offset + length // 2)
    for command in ("analyse", "validate", "run"):
        err = _fails(project, capsys, command, "nmd.tif", "damaged", "download")
    assert "[landcover]" in err and "Fix:" in err


def test_raster_overwritten_in_a_tile_the_areas_use(project, capsys):
    raster = _landcover_project(project)
    _good_run(project, capsys)
    offset, length = tile_bytes(raster, *TILE_IN_AREA)
    _overwrite(raster, offset, length)
    for command in ("analyse", "validate"):
        _fails(project, capsys, command, "nmd.tif", "damaged", "download")


def test_raster_read_errors_are_never_ignored(project, capsys, monkeypatch):
    # GDAL can be told (by an environment variable) to return zeros for unreadable tiles:
    # that would be a silent wrong figure, so opjord overrides it.
    monkeypatch.setenv("GTIFF_IGNORE_READ_ERRORS", "YES")
    raster = _landcover_project(project)
    offset, length = tile_bytes(raster, *TILE_IN_AREA)
    _overwrite(raster, offset, length)
    for command in ("analyse", "validate"):
        _fails(project, capsys, command, "nmd.tif", "damaged")


def test_raster_damaged_away_from_the_areas(project, capsys):
    """The analysis reads only the tiles under the areas: its figures stay those of the whole
    file; `validate` reads every tile and reports the damage."""
    raster = _landcover_project(project)
    good = _good_run(project, capsys)
    offset, length = tile_bytes(raster, *TILE_AWAY)
    _overwrite(raster, offset, length)
    after = _good_run(project, capsys)
    for key in ("op2017", "op2025"):
        assert after["plans"][key]["landcover"] == good["plans"][key]["landcover"]
    assert after["plans"]["op2017"]["landcover"]["agricultural_ha"] == pytest.approx(8.0)
    _fails(project, capsys, "validate", "nmd.tif", "damaged")


@pytest.mark.parametrize("crs_in_config", [False, True])
def test_raster_cut_in_its_header(project, capsys, crs_in_config):
    """Cut before the georeferencing tags: GDAL opens the file with no CRS and an identity
    transform (and only warns); that is damage, not a raster without a CRS."""
    raster = _landcover_project(project)
    if crs_in_config:
        project.write_text(project.read_text(encoding="utf-8") + 'crs = "EPSG:3006"\n',
                           encoding="utf-8")
    _cut(raster, first_tile_offset(raster) * 3 // 4)
    for command in ("analyse", "validate"):
        err = _fails(project, capsys, command, "nmd.tif", "damaged")
        assert "no coordinate reference system" not in err
        assert "does not overlap" not in err


def test_intact_raster_validates(project, capsys):
    _landcover_project(project)
    assert main(["validate", "--config", str(project)]) == 0
    assert "landcover:" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_raster_without_georeferencing_is_not_called_damaged(project, capsys):
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(
            project.parent / "raw/nmd.tif", "w", driver="GTiff", width=10, height=10,
            count=1, dtype="uint8") as ds:
        ds.write(np.full((10, 10), 3, dtype=np.uint8), 1)
    project.write_text(project.read_text(encoding="utf-8") + LANDCOVER
                       + 'crs = "EPSG:3006"\n', encoding="utf-8")
    err = _fails(project, capsys, "analyse", "nmd.tif", "has no geotransform", "Fix:")
    assert "damaged" not in err
