"""Read vector inputs with pyogrio (Arrow when available) and reproject to EPSG:3006.

`inspect_source` checks a source without reading its geometries (layer, CRS,
columns, feature count, extent, sha256); `read_source` reads it, optionally only the
features that meet a mask, through the format's spatial index when that skips
most of the layer.
"""

from __future__ import annotations

import contextlib
import logging
import re
import struct
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from pipeline import ANALYSIS_CRS, fmt
from pipeline.clean import FID, outside_sweden, outside_sweden_message
from pipeline.config import AgriculturalSource, VectorSource
from pipeline.errors import InputError, Problems
from pipeline.files import cached_digest, digest_entry, file_stamp, sha256_files, sha256_parts
from pipeline.values import distinct

log = logging.getLogger(__name__)

try:  # Arrow makes reads several times faster; pyogrio falls back without it.
    import pyarrow

    USE_ARROW = True
    _ARROW_ERRORS: tuple[type[BaseException], ...] = (pyarrow.ArrowException,)
except ImportError:  # pragma: no cover - pyarrow is a declared dependency
    USE_ARROW = False
    _ARROW_ERRORS = ()

_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# What reading a damaged file raises: GDAL's errors (by driver), an I/O error from the Arrow
# stream ("database disk image is malformed"), or geometry bytes GEOS cannot parse.
_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError,
                GEOSException, *_ARROW_ERRORS)
# GDAL warnings (pyogrio passes them on as RuntimeWarning) that mean the file is damaged.
_DAMAGE_WARNING = re.compile(r"malformed|corrupt|IO error|read error|fread|truncat|"
                             r"cannot read|failed to read|unexpected end|premature end",
                             re.IGNORECASE)


class BackgroundDigest:
    """sha256 of a source's files, computed in a background thread while the analysis runs.

    hashlib releases the GIL on large updates, so hashing a national-size layer
    overlaps with reading and overlaying instead of adding to them. With `cache` (the
    processed folder's `files.load_digest_cache`) a source whose files all have the size,
    modification time and inode they had when hashed is not read at all; `entry` is what
    to cache for the next run (None when the files changed too recently to trust).
    """

    def __init__(self, path: Path, cache: dict[str, dict] | None = None):
        self._value: tuple[str, dict[Path, str]] | None = None
        self._error: BaseException | None = None
        self.entry: dict | None = None
        self.cached = False
        files = input_files(path)
        if cache is not None:
            self._value = cached_digest(cache.get(str(path)), files)
        if self._value is not None:
            self.cached = True
            self.entry = cache[str(path)]  # type: ignore[index]
            self._thread = None
            return
        self._thread = threading.Thread(target=self._run, args=(files,), daemon=True)
        self._thread.start()

    def _run(self, files: list[Path]) -> None:
        try:
            stamps, at = [file_stamp(f) for f in files], time.time_ns()
            self._value = sha256_parts(files)
            self.entry = digest_entry(files, stamps, *self._value, at)
        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
            self._error = exc

    def result(self) -> tuple[str, dict[Path, str]]:
        """(the digest of all the source's files, each file's own digest)."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


@dataclass(frozen=True)
class SourceInfo:
    """What a vector source holds, read from its metadata (no geometries)."""

    source: VectorSource
    layer: str
    driver: str
    features: int
    source_crs: str | None  # as stored in the file ("EPSG:3010", WKT name, or None)
    crs: str  # the CRS used: the config's `crs` if given, else the file's
    geometry_type: str
    fields: tuple[str, ...]
    digest: BackgroundDigest
    bounds: tuple[float, float, float, float] | None = None  # extent, in the source CRS

    @property
    def sha256(self) -> str:
        """sha256 of the source file(s); waits for the background hash."""
        return self.digest.result()[0]

    @property
    def file_sha256s(self) -> dict[Path, str]:
        """Each file of the source (a Shapefile's .shp, .shx, .dbf, .prj, .cpg) with its own
        sha256, as `sha256sum` prints it."""
        return self.digest.result()[1]


def input_files(path: Path) -> list[Path]:
    """The files of a vector source: a Shapefile's parts (.shp .shx .dbf .prj .cpg) in that
    order, a File Geodatabase's files in name order, else the file itself."""
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = [p for ext in _SHAPEFILE_PARTS if (p := path.with_suffix(ext)).exists()]
    files: list[Path] = []
    for part in parts:
        files += sorted(f for f in part.rglob("*") if f.is_file()) if part.is_dir() else [part]
    return files


def file_sha256(path: Path) -> str:
    """sha256 of a source's files read one after another (`input_files`)."""
    return sha256_files(input_files(path))


def crs_label(crs: CRS) -> str:
    """"EPSG:3006" when the CRS has an EPSG code, else its name."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def damaged_source(source: VectorSource, detail: str, part: Path | None = None) -> InputError:
    """The message for a vector file (or one part of a Shapefile) that is damaged."""
    shapefile = source.path.suffix.lower() == ".shp"
    again = ("ladda ner eller exportera skiktet igen, .shp, .shx och .dbf tillsammans"
             if shapefile else "ladda ner eller exportera filen igen")
    return InputError(
        f"{part or source.path}: filen är skadad: {detail}. En ofullständig nedladdning eller "
        f"en avbruten kopiering ger en sådan fil. Åtgärd: {again} (`opjord validate` läser "
        f"sedan hela filen), eller låt {source.table} `path` peka på en hel kopia.")


def _declared_size(path: Path, head: bytes) -> int | None:
    """The file size that a file's own header declares, in bytes, or None if unknown.

    Known: SQLite (GeoPackage) by page size × page count, and a Shapefile's .shp, .shx
    (file length in 16-bit words) and .dbf (header + records × record length).
    """
    suffix = path.suffix.lower()
    if head.startswith(b"SQLite format 3\x00") and len(head) >= 100:
        page_size = struct.unpack(">H", head[16:18])[0]
        pages = struct.unpack(">I", head[28:32])[0]
        if pages and head[24:28] == head[92:96]:  # the page count is valid
            return (65536 if page_size == 1 else page_size) * pages
    elif suffix in (".shp", ".shx") and len(head) >= 100 and head[:4] == b"\x00\x00\x27\x0a":
        return 2 * struct.unpack(">i", head[24:28])[0]
    elif suffix == ".dbf" and len(head) >= 12:
        records = struct.unpack("<I", head[4:8])[0]
        header_size, record_size = struct.unpack("<HH", head[8:12])
        return header_size + records * record_size
    return None


def _cut_short(path: Path) -> tuple[Path, str] | None:
    """The file (or Shapefile part) that is shorter than its header says, and by how much."""
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = [p for ext in (".shp", ".shx", ".dbf") if (p := path.with_suffix(ext)).is_file()]
    for part in parts:
        if not part.is_file():
            continue
        with part.open("rb") as fh:
            head = fh.read(100)
        declared, size = _declared_size(part, head), part.stat().st_size
        if declared is not None and size < declared:
            return part, (f"den är avkortad ({fmt.number(size, 0)} byte av de "
                          f"{fmt.number(declared, 0)} som filens huvud anger)")
    return None


@contextlib.contextmanager
def _gdal_warnings(source: VectorSource) -> Iterator[None]:
    """Turn GDAL's warnings while reading `source` into a damaged-file InputError when they
    say the file is damaged; log the others (other warnings pass through unchanged)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if not issubclass(w.category, RuntimeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif _DAMAGE_WARNING.search(str(w.message)):
            raise damaged_source(source, f"GDAL varnar: {w.message}")
        else:
            log.warning("%s: %s", source.path.name, w.message)


def _read_features(info: SourceInfo, *, bbox: tuple[float, ...] | None = None,
                   **kwargs) -> pd.DataFrame:
    """`pyogrio.read_dataframe` of the source's layer (`kwargs`: columns, read_geometry).

    Raises InputError (damaged file) when the read fails, or when a read of the whole
    layer (no `bbox`) gives another number of features than the layer holds: GDAL's Arrow
    reader ends without an error at a corrupted GeoPackage page or at the end of a cut-off
    .dbf. (Reads through the spatial index raise GDAL's error instead.)
    """
    source = info.source
    with _gdal_warnings(source):
        try:
            df = pyogrio.read_dataframe(source.path, layer=info.layer, use_arrow=USE_ARROW,
                                        bbox=bbox, **kwargs)
        except _READ_ERRORS as exc:
            raise damaged_source(source, f"skiktet {info.layer!r} går inte att läsa ({exc})"
                                 ) from None
        if bbox is None and len(df) != info.features:
            _recount(info, len(df))
    return df


def _recount(info: SourceInfo, n_read: int) -> None:
    """Count the layer's features one by one (GDAL reports errors on this path): a count
    other than `n_read` means the read stopped early; the same count means only the
    layer's stored feature count was out of date."""
    source = info.source
    try:
        fids = pyogrio.read_dataframe(source.path, layer=info.layer, columns=[],
                                      read_geometry=False, fid_as_index=True,
                                      use_arrow=False)
    except _READ_ERRORS as exc:
        raise damaged_source(source, f"skiktet {info.layer!r} anger "
                             f"{fmt.number(info.features, 0)} objekt men bara "
                             f"{fmt.number(n_read, 0)} kunde läsas ({exc})") from None
    if len(fids) != n_read:
        raise damaged_source(source, f"skiktet {info.layer!r} har {fmt.number(len(fids), 0)} "
                             f"objekt men bara {fmt.number(n_read, 0)} kunde läsas")
    log.debug("%s: skiktet %s anger %s objekt men innehåller %s", source.path, info.layer,
              fmt.number(info.features, 0), fmt.number(n_read, 0))


def _choose_layer(source: VectorSource, problems: Problems) -> str | None:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(source.path)]
    except Exception as exc:  # noqa: BLE001 - GDAL's errors vary by driver
        problems.add(f"{source.path}: går inte att öppna som vektordata ({exc}). Åtgärd: "
                     f"kontrollera att {source.table} `path` pekar på en GeoPackage, Shapefile, "
                     "GeoJSON, FlatGeobuf eller en annan fil som OGR kan läsa, och att filen "
                     "är hel.")
        return None
    if source.layer is not None:
        if source.layer not in layers:
            problems.add(f"{source.path}: har inget skikt {source.layer!r} (skikt: "
                         f"{', '.join(layers)}). Åtgärd: sätt {source.table} `layer` till ett "
                         "av dem.")
            return None
        return source.layer
    if len(layers) == 1:
        return layers[0]
    problems.add(f"{source.path}: innehåller {len(layers)} skikt ({', '.join(layers)}) och "
                 f"{source.table} anger inte vilket som ska användas. Åtgärd: lägg till "
                 "`layer = \"…\"` där.")
    return None


def inspect_source(source: VectorSource, required_columns: list[str] | None = None, *,
                   digests: dict[str, dict] | None = None) -> SourceInfo:
    """Check a vector source's layer, CRS and columns; raise InputError listing every problem.

    A file shorter than its own header says (a cut-off GeoPackage or Shapefile part) is
    reported as damaged before GDAL reads it. `digests` (`files.load_digest_cache`) spares
    hashing files unchanged since they were hashed.
    """
    cut = _cut_short(source.path) if source.path.is_file() else None
    if cut is not None:
        raise damaged_source(source, cut[1], part=cut[0])
    problems = Problems()
    with _gdal_warnings(source):
        layer = _choose_layer(source, problems)
        problems.raise_if_any()
        try:
            info = pyogrio.read_info(source.path, layer=layer, force_feature_count=True)
        except _READ_ERRORS as exc:
            raise damaged_source(source, f"layer {layer!r} cannot be read ({exc})") from None
    fields = tuple(str(f) for f in info["fields"])
    file_crs = info["crs"]
    source_crs = crs_label(CRS.from_user_input(file_crs)) if file_crs else None
    if source.crs is not None:
        crs = crs_label(CRS.from_user_input(source.crs))
        if source_crs is not None and CRS.from_user_input(source.crs) != CRS.from_user_input(
                file_crs):
            log.warning("%s: filen anger %s men %s `crs` anger %s; %s används, som "
                        "konfigurerat.", source.path, source_crs, source.table, crs, crs)
    elif source_crs is None:
        problems.add(f"{source.path}: skiktet {layer!r} saknar koordinatsystem (en Shapefile "
                     "utan .prj, eller en fil som skrevs utan). Åtgärd: lägg till "
                     "`crs = \"EPSG:3006\"` (eller det koordinatsystem data verkligen har, t.ex. "
                     f"EPSG:3010) i {source.table}, eller ge filen ett koordinatsystem i QGIS.")
        crs = ""
    else:
        crs = source_crs
    bounds = info.get("total_bounds")
    if crs and info["features"] and bounds is not None and np.all(np.isfinite(bounds)):
        lo = Transformer.from_crs(crs, ANALYSIS_CRS, always_xy=True).transform_bounds(*bounds)
        if not np.all(np.isfinite(lo)) or outside_sweden(np.array([lo]))[0]:
            problems.add(outside_sweden_message(f"{source.path}", source,
                                                f"skiktet {layer!r} ligger", tuple(lo)))
    missing = [c for c in (required_columns or []) if c not in fields]
    for column in missing:
        problems.add(f"{source.path}: skiktet {layer!r} har ingen kolumn {column!r} (kolumner: "
                     f"{', '.join(fields) or 'inga'}). Åtgärd: rätta kolumnnamnet i "
                     f"{source.table} eller ta bort den nyckeln.")
    problems.raise_if_any()
    assert layer is not None
    return SourceInfo(source=source, layer=layer, driver=str(info["driver"]),
                      features=int(info["features"]), source_crs=source_crs, crs=crs,
                      geometry_type=str(info["geometry_type"]), fields=fields,
                      digest=BackgroundDigest(source.path, digests),
                      bounds=(tuple(float(v) for v in bounds) if bounds is not None
                              and np.all(np.isfinite(bounds)) else None))


def check_class_values(info: SourceInfo, values: pd.Series | None = None) -> None:
    """Raise InputError if a configured class never occurs in the layer.

    Values are compared as the analysis counts them (`pipeline.values.distinct`: in NFC,
    and a value differing from a class only by case or surrounding spaces is that class).
    `values` are the class values of the features already read (e.g. within the
    municipality): when every class is among them the layer is not read again;
    otherwise only the class column of the whole layer is read to decide.
    """
    source = info.source
    assert isinstance(source, AgriculturalSource)
    here = distinct(values, source.classes) if values is not None else set()
    if set(source.classes) <= here:
        return
    df = _read_features(info, columns=[source.class_column], read_geometry=False)
    found = distinct(df[source.class_column], source.classes)
    absent = [c for c in source.classes if c not in found]
    if not absent:
        if values is not None:
            log.warning("%s: klassen/klasserna %s finns i skiktet men inte inom kommunen.",
                        source.path.name, ", ".join(c for c in source.classes if c not in here))
        return
    shown = ", ".join(repr(v) for v in sorted(found)[:20]) or "inga"
    raise InputError(
        f"{source.path}: skiktet {info.layer!r} kolumn {source.class_column!r} har aldrig "
        f"värdet/värdena {', '.join(repr(c) for c in absent)} som anges i {source.table} "
        f"`classes` (värden som finns: {shown}). Åtgärd: stava klasserna som i data (å/ä/ö "
        "spelar roll, versaler/gemener och mellanslag runt värdet gör det inte) eller låt "
        "`class_column` peka på rätt kolumn.")


def _reader_bbox(mask: BaseGeometry, info: SourceInfo) -> tuple[float, ...] | None:
    """The mask's bounding box in the source's CRS, for the reader's spatial index.

    None when the box covers half the layer's extent or more: reading everything in
    one pass is then faster than going through the index.
    """
    crs = CRS.from_user_input(info.crs)
    box = mask.bounds
    if crs != CRS.from_user_input(ANALYSIS_CRS):
        box = Transformer.from_crs(ANALYSIS_CRS, crs, always_xy=True).transform_bounds(
            *box, densify_pts=21)
        grow = 1.0 if crs.is_projected else 1e-5  # slack for the transform: 1 m
        box = (box[0] - grow, box[1] - grow, box[2] + grow, box[3] + grow)
    if info.bounds is not None:
        x0, y0, x1, y1 = info.bounds
        overlap = (max(0.0, min(x1, box[2]) - max(x0, box[0]))
                   * max(0.0, min(y1, box[3]) - max(y0, box[1])))
        if overlap >= 0.5 * (x1 - x0) * (y1 - y0):
            return None
    return tuple(box)


def read_source(info: SourceInfo, *, columns: list[str] | None = None,
                mask: BaseGeometry | None = None, fid: bool = False) -> gpd.GeoDataFrame:
    """Read a source's features (only those meeting `mask`, given in EPSG:3006).

    Returns a GeoDataFrame in EPSG:3006 with the requested columns (all when None), and
    with `fid` each feature's FID in the column `pipeline.clean.FID` (for messages).
    """
    start = time.perf_counter()
    # Announce big reads before they start, so a long pause has an explanation.
    log.log(logging.INFO if info.features > 100_000 else logging.DEBUG,
            "Läser %s (skikt %s, %s objekt)%s …", info.source.path.name, info.layer,
            fmt.number(info.features, 0),
            " där det når kommunen eller ett område" if mask is not None else "")
    masked = mask is not None and not mask.is_empty
    gdf = _read_features(info, columns=columns,
                         bbox=_reader_bbox(mask, info) if masked else None,
                         **({"fid_as_index": True} if fid else {}))
    if fid:
        gdf[FID] = gdf.index.to_numpy()
        gdf = gdf.reset_index(drop=True)
    if gdf.crs is None or info.source.crs is not None:
        gdf = gdf.set_crs(info.crs, allow_override=True)
    if CRS.from_user_input(gdf.crs) != CRS.from_user_input(ANALYSIS_CRS):
        gdf = gdf.to_crs(ANALYSIS_CRS)
    else:
        gdf = gdf.set_crs(ANALYSIS_CRS, allow_override=True)
    if masked and len(gdf):
        # Not yet cleaned, so only the vertices and edges are trusted: a prepared
        # `intersects` (point-in-polygon and edge crossings) needs nothing more.
        geoms = gdf.geometry.array.to_numpy()
        shapely.prepare(mask)
        meets = ~shapely.is_missing(geoms) & shapely.intersects(mask, geoms)
        gdf = gdf.loc[meets].reset_index(drop=True) if not meets.all() else gdf
    log.info("Läste %s objekt från %s (skikt %s, %s) på %s s", fmt.number(len(gdf), 0),
             info.source.path.name, info.layer, info.source_crs or info.crs,
             fmt.number(time.perf_counter() - start, 1))
    return gdf



# ---------------------------------------------------------------------------- partitions

STREAM_MIN_FEATURES = 250_000  # a whole-layer figure over more features is streamed
PART_FEATURES = 100_000  # features owned by one partition at most (~50–100 000)


def reads_whole_layer(info: SourceInfo, mask: BaseGeometry | None) -> bool:
    """True when `read_source(info, mask=mask)` reads the whole layer in one pass."""
    return mask is None or mask.is_empty or _reader_bbox(mask, info) is None


def index_boxes(info: SourceInfo) -> tuple[np.ndarray, np.ndarray] | None:
    """The fid and bounding box (xmin, ymin, xmax, ymax, source CRS) of every feature with
    a geometry, from a GeoPackage's R-tree (boxes rounded outwards to float32 by SQLite);
    None when the source is no GeoPackage with a spatial index in EPSG:3006 (then it is
    read in one pass)."""
    import sqlite3

    if info.driver != "GPKG" or CRS.from_user_input(info.crs) != CRS.from_user_input(
            ANALYSIS_CRS) or not info.source.path.is_file():
        return None
    try:
        con = sqlite3.connect(f"{info.source.path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                          (info.layer,)).fetchone()
        if row is None or con.execute(
                "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND column_name = ? AND "
                "extension_name = 'gpkg_rtree_index'", (info.layer, row[0])).fetchone() is None:
            return None
        name = f"rtree_{info.layer}_{row[0]}".replace('"', '""')
        n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        if n > info.features:  # an index out of date
            return None
        fids, boxes = np.empty(n, dtype=np.int64), np.empty((n, 4))
        cursor = con.execute(f'SELECT id, minx, miny, maxx, maxy FROM "{name}"')
        at = 0
        while rows := cursor.fetchmany(100_000):
            block = np.array(rows, dtype=np.float64)
            fids[at:at + len(rows)] = block[:, 0].astype(np.int64)
            boxes[at:at + len(rows)] = block[:, 1:]
            at += len(rows)
        return fids[:at], boxes[:at]
    except sqlite3.Error:
        return None
    finally:
        con.close()


def partitions(boxes: np.ndarray, max_features: int = PART_FEATURES) -> list[np.ndarray]:
    """Rows of `boxes` grouped by the centre of their box into cells of at most
    `max_features` rows: halved at the median across the longer side until small enough
    (a k-d tree), so the cells hold between about half and all of `max_features`."""
    centre = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2])
    out, stack = [], [np.arange(len(boxes))]
    while stack:
        rows = stack.pop()
        if len(rows) <= max_features:
            if len(rows):
                out.append(rows)
            continue
        xy = centre[rows]
        axis = int(np.argmax(xy.max(axis=0) - xy.min(axis=0)))
        order = np.argsort(xy[:, axis], kind="stable")
        half = len(rows) // 2
        stack += [rows[order[:half]], rows[order[half:]]]
    return out


def read_box(info: SourceInfo, box: tuple[float, float, float, float],
             columns: list[str] | None) -> gpd.GeoDataFrame:
    """The features meeting `box` (in the source's CRS, EPSG:3006) with their fid in the
    column "_fid"."""
    gdf = _read_features(info, bbox=box, columns=columns, fid_as_index=True)
    gdf = gdf.set_crs(ANALYSIS_CRS, allow_override=True)
    gdf["_fid"] = gdf.index.to_numpy(dtype=np.int64)
    return gdf.reset_index(drop=True)


def read_fids(info: SourceInfo, fids: np.ndarray, columns: list[str]) -> gpd.GeoDataFrame:
    """The features with these fids (few: those the spatial index does not hold)."""
    with _gdal_warnings(info.source):
        try:
            df = pyogrio.read_dataframe(info.source.path, layer=info.layer, fids=fids,
                                        columns=columns, fid_as_index=True)
        except _READ_ERRORS as exc:
            raise damaged_source(info.source, f"skiktet {info.layer!r} går inte att läsa "
                                 f"({exc})") from None
    gdf = gpd.GeoDataFrame(df).set_crs(ANALYSIS_CRS, allow_override=True)
    gdf["_fid"] = gdf.index.to_numpy(dtype=np.int64)
    return gdf.reset_index(drop=True)


def all_fids(info: SourceInfo) -> np.ndarray:
    """Every fid of the layer (no geometries, no attributes)."""
    df = _read_features(info, columns=[], read_geometry=False, fid_as_index=True)
    return df.index.to_numpy(dtype=np.int64)
