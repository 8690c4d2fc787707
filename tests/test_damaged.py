"""Input files whose header reads but whose data is cut off or overwritten (a partial
download, an interrupted copy): a clear "damaged" message with exit 2, never a traceback and
never a figure computed from fewer features or from pixels GDAL could not read."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from conftest import (
    X0,
    Y0,
    box,
    edit_config,
    fails_cleanly,
    farmland_records,
    plan_2025,
    write_layer,
)
from rasterio.transform import from_origin

from pipeline.analyse import read_inputs
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import InputError

TOP = Y0 + 1000.0
LANDCOVER = '\n[landcover]\npath = "raw/nmd.tif"\nagricultural_codes = [3]\n'
GARBAGE = bytes((i * 37 + 11) % 256 for i in range(4096))


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
        err = fails_cleanly(project, capsys, "nmd.tif", "skadat", "ladda ner", command=command)
    assert "[landcover]" in err and "Åtgärd:" in err


def test_raster_overwritten_in_a_tile_the_areas_use(project, capsys):
    raster = _landcover_project(project)
    _good_run(project, capsys)
    offset, length = tile_bytes(raster, *TILE_IN_AREA)
    _overwrite(raster, offset, length)
    for command in ("analyse", "validate"):
        fails_cleanly(project, capsys, "nmd.tif", "skadat", "ladda ner", command=command)


def test_raster_read_errors_are_never_ignored(project, capsys, monkeypatch):
    # GDAL can be told (by an environment variable) to return zeros for unreadable tiles:
    # that would be a silent wrong figure, so opjord overrides it.
    monkeypatch.setenv("GTIFF_IGNORE_READ_ERRORS", "YES")
    raster = _landcover_project(project)
    offset, length = tile_bytes(raster, *TILE_IN_AREA)
    _overwrite(raster, offset, length)
    for command in ("analyse", "validate"):
        fails_cleanly(project, capsys, "nmd.tif", "skadat", command=command)


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
    fails_cleanly(project, capsys, "nmd.tif", "skadat", command="validate")


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
        err = fails_cleanly(project, capsys, "nmd.tif", "skadat", command=command)
        assert "saknar koordinatsystem" not in err
        assert "överlappar inget" not in err


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
    err = fails_cleanly(project, capsys, "nmd.tif", "saknar geotransform", "Åtgärd:",
                        command="analyse")
    assert "skada" not in err


# --- vector files -------------------------------------------------------------------------


def _good_figures(project: Path, capsys) -> dict:
    s = _good_run(project, capsys)
    return {k: (p["agricultural_ha"], p["agricultural_ha_by_class"], p["share"])
            for k, p in s["plans"].items()}


def _shapefile_blocks(project: Path) -> Path:
    """The field blocks as a Shapefile (blocks.shp, .shx, .dbf, .prj, .cpg)."""
    shp = write_layer(project.parent / "raw/blocks.shp", farmland_records())
    edit_config(project, 'path = "raw/blocks.gpkg"\nlayer = "jordbruksblock"',
                'path = "raw/blocks.shp"')
    return shp


@pytest.mark.parametrize("part, keep", [(".shp", -40), (".shp", 200), (".dbf", -100),
                                        (".dbf", 300), (".shx", -8)])
def test_shapefile_cut_short(project, capsys, part, keep):
    shp = _shapefile_blocks(project)
    good = _good_figures(project, capsys)
    assert good["op2025"][0] == pytest.approx(13.25)  # as with the GeoPackage
    target = shp.with_suffix(part)
    size = target.stat().st_size
    _cut(target, size + keep if keep < 0 else keep)
    for command in ("analyse", "validate"):
        err = fails_cleanly(project, capsys, f"blocks{part}", "skadad", "[agricultural_land]",
                            command=command)
        assert "ladda ner eller exportera" in err and ".shp, .shx och .dbf" in err


def test_plan_shapefile_cut_short(project, capsys):
    shp = write_layer(project.parent / "raw/op2025.shp", plan_2025())
    edit_config(project, 'path = "raw/op2025.gpkg"', 'path = "raw/op2025.shp"')
    _good_run(project, capsys)
    dbf = shp.with_suffix(".dbf")
    _cut(dbf, dbf.stat().st_size - 30)  # the last area's attributes
    fails_cleanly(project, capsys, "op2025.dbf", "skadad", "[[plans]]", command="analyse")


# The field blocks as a GeoPackage of many pages: the five real blocks in the middle of 600
# small "Skog" blocks (not a counted class, so they change no figure), which lie inside the
# boundary so that the layer is read in one pass, not through the spatial index.
N_FILL = 600


def _filler(i: int) -> dict:
    x, y = 5 * (i % 150), 900 + 5 * (i // 150)
    return {"blockid": f"9{i:010d}", "agoslag": "Skog", "kategori": "Jordbruksblock",
            "areal": 0.0009, "region_kod": "05", "arslager": 2024,
            "geometry": box(x, y, x + 3, y + 3)}


def _big_blocks(project: Path) -> Path:
    fill = [_filler(i) for i in range(N_FILL)]
    records = fill[:N_FILL // 2] + farmland_records() + fill[N_FILL // 2:]
    return write_layer(project.parent / "raw/blocks.gpkg", records, layer="jordbruksblock")


def _varint(data: bytes, i: int) -> int:
    value = 0
    for k in range(9):
        byte = data[i + k]
        if k == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value
    raise AssertionError("unreachable")


def leaf_page_of(path: Path, table: str, rowid: int) -> tuple[int, int]:
    """The SQLite leaf page (1-based number, page size) that holds row `rowid` of `table`."""
    with sqlite3.connect(path) as con:
        page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                           (table,)).fetchone()[0]
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
    data = path.read_bytes()
    while True:
        start = (page - 1) * page_size
        header = start + (100 if page == 1 else 0)
        if data[header] == 0x0D:  # a table leaf
            return page, page_size
        assert data[header] == 0x05  # a table interior page: (child, largest rowid) cells
        cells = struct.unpack(">H", data[header + 3:header + 5])[0]
        child = struct.unpack(">I", data[header + 8:header + 12])[0]  # the right-most
        for c in range(cells):
            at = start + struct.unpack(">H", data[header + 12 + 2 * c:header + 14 + 2 * c])[0]
            if rowid <= _varint(data, at + 4):
                child = struct.unpack(">I", data[at:at + 4])[0]
                break
        page = child


@pytest.mark.parametrize("rowid", [N_FILL // 2 + 3, N_FILL - 50],
                         ids=["page-with-the-real-blocks", "page-with-fillers-only"])
def test_geopackage_with_a_corrupted_page(project, capsys, rowid):
    """GDAL's Arrow reader stops at a corrupted table page without an error: without the
    count check the layer would be read as fewer features (here: without the real blocks,
    or without some of the fillers)."""
    gpkg = _big_blocks(project)
    good = _good_figures(project, capsys)
    assert good["op2025"][0] == pytest.approx(13.25)
    page, size = leaf_page_of(gpkg, "jordbruksblock", rowid)
    _overwrite_page(gpkg, page, size)
    short = pyogrio.read_dataframe(gpkg, use_arrow=True)  # the trap: no error, fewer rows
    assert len(short) < N_FILL + 5
    for command in ("analyse", "validate"):
        fails_cleanly(project, capsys, "blocks.gpkg", "skadad", "[agricultural_land]",
                      command=command)


def _overwrite_page(path: Path, page: int, size: int) -> None:
    data = bytearray(path.read_bytes())
    data[(page - 1) * size:page * size] = (GARBAGE * (size // len(GARBAGE) + 1))[:size]
    path.write_bytes(bytes(data))


def test_geopackage_cut_short(project, capsys):
    gpkg = _big_blocks(project)
    _good_run(project, capsys)
    _cut(gpkg, gpkg.stat().st_size * 3 // 5)
    for command in ("analyse", "validate"):
        fails_cleanly(project, capsys, "blocks.gpkg", "skadad", "avkortad", command=command)


def test_every_corrupted_page_gives_the_whole_layer_or_a_message(project):
    """A tester's sweep: overwrite each page of the blocks GeoPackage in turn. Reading the
    inputs either gives exactly the features of the whole file (the page held nothing the
    read needs) or raises InputError naming the file; never another error, never fewer
    features."""
    gpkg = _big_blocks(project)
    whole = gpkg.read_bytes()
    good = read_inputs(load_config(project)).farmland["agricultural_land"]
    assert len(good) == N_FILL + 5
    outcomes = {"whole layer": 0, "message": 0}
    for page in range(1, len(whole) // 4096 + 1):
        gpkg.write_bytes(whole)
        _overwrite_page(gpkg, page, 4096)
        try:
            got = read_inputs(load_config(project)).farmland["agricultural_land"]
        except InputError as exc:
            assert "blocks.gpkg" in str(exc), (page, str(exc))
            outcomes["message"] += 1
            continue
        assert got["blockid"].tolist() == good["blockid"].tolist(), page
        assert got.geometry.geom_equals_exact(good.geometry, 0).all(), page
        outcomes["whole layer"] += 1
    assert outcomes["message"] >= 10 and outcomes["whole layer"] >= 1, outcomes


def test_stale_stored_feature_count_is_not_damage(project, capsys):
    """A GeoPackage whose stored feature count is out of date (written by a tool that kept
    no count triggers) is whole: the features are counted one by one before calling it
    damaged."""
    good = _good_figures(project, capsys)
    with sqlite3.connect(project.parent / "raw/blocks.gpkg") as con:
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = 7")
    assert pyogrio.read_info(project.parent / "raw/blocks.gpkg")["features"] == 7
    assert _good_figures(project, capsys) == good


def test_fetch_boundary_cut_short(tmp_path):
    """`opjord fetch` reads the boundary to choose the blocks: a cut-off Shapefile must not
    silently lose a part of the municipality."""
    from pipeline.config import VectorSource
    from pipeline.fetch import command as fetch

    shp = write_layer(tmp_path / "kommun.shp",
                      [{"kommun": "T", "geometry": box(0, 0, 500, 1000)},
                       {"kommun": "T", "geometry": box(500, 0, 1000, 1000)}])
    source = VectorSource(role="boundary", path=shp, table="[boundary]")
    assert fetch.boundary_geometry(source).area == pytest.approx(1_000_000.0)
    _cut(shp, shp.stat().st_size - 40)
    with pytest.raises(InputError, match="kommun.shp: filen är skadad"):
        fetch.boundary_geometry(source)
