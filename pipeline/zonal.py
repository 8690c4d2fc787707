"""Land-cover raster zonal statistics (e.g. NMD): exact partial pixels, bounded memory.

The raster path measures agricultural land from a classified land-cover raster
instead of (and next to) the field-block vectors:

- the raster is opened with rasterio and never resampled; the polygons (in
  EPSG:3006) are reprojected to the raster's CRS instead;
- every pixel counts by the fraction of it that a polygon covers (exactextract),
  not by its centre and not "all touched";
- exactextract reads the raster window by window around each polygon part
  (``strategy="feature-sequential"``, at most `MAX_CELLS_IN_MEMORY` cells at a
  time) and GDAL's block cache is capped (`GDAL_CACHEMAX_MB`), so memory does not
  grow with the size of the raster;
- hectares: the covered fractions are measured in the raster's CRS and applied
  to the polygon's planar area in EPSG:3006, so raster hectares use the same
  measure as the vector path (exactly the pixel areas when the raster is in
  EPSG:3006, as NMD is);
- nodata pixels, and polygon parts outside the raster, are reported as
  ``nodata_ha``; by default they count as not agricultural (they stay in the
  denominator), with ``exclude_nodata = true`` they leave the denominator.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from pyproj import CRS

from pipeline import ANALYSIS_CRS, fmt
from pipeline.config import Config, LandcoverConfig
from pipeline.errors import InputError, Problems
from pipeline.indicators import M2_PER_HA, ratio
from pipeline.read import BackgroundDigest, crs_label

log = logging.getLogger(__name__)

# At most this many raster cells are held at once per polygon part (exactextract
# splits a larger part's window); about 16 bytes per cell.
MAX_CELLS_IN_MEMORY = 1_000_000
GDAL_CACHEMAX_MB = 64  # GDAL's block cache while reading the raster
PART_COLUMN = "opjord_part"  # exactextract overwrites a column named `id`: never use that
# GDAL options for every read: a tile that cannot be read is an error, never zeros (GDAL
# returns zeros when GTIFF_IGNORE_READ_ERRORS=YES is set in the environment).
READ_OPTIONS = {"GDAL_CACHEMAX": GDAL_CACHEMAX_MB, "GTIFF_IGNORE_READ_ERRORS": "NO"}
# GDAL warnings on opening that mean the file is cut off or overwritten: GDAL then drops the
# tags it could not read (CRS, geotransform) and opens the file anyway.
_DAMAGE_WARNING = re.compile(r"IO error|read error|corrupt|truncat|cannot read|failed to read|"
                             r"premature end|unexpected end", re.IGNORECASE)


@dataclass(frozen=True)
class RasterInfo:
    """What a land-cover raster holds, from its metadata (no pixels read)."""

    config: LandcoverConfig
    driver: str
    width: int
    height: int
    bands: int
    dtype: str
    res: tuple[float, float]  # pixel width and height in CRS units
    bounds: tuple[float, float, float, float]  # in the raster's CRS
    block_shape: tuple[int, int]  # rows, columns of one block
    source_crs: str | None  # as stored in the file
    crs: str  # the CRS used: the config's `crs` if given, else the file's
    crs_wkt: str
    nodata: float | None  # the nodata value used: the config's if given, else the file's
    file_nodata: float | None
    size_bytes: int
    digest: BackgroundDigest  # the file's sha256, from the digest cache or hashed meanwhile

    @property
    def path(self) -> Path:
        return self.config.path

    @property
    def sha256(self) -> str:
        """The file's sha256 (waits for the hash when it is still running)."""
        return self.digest.result()[0]

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in the raster CRS's units squared (m² for SWEREF 99)."""
        return abs(self.res[0] * self.res[1])

    def as_input(self, root: Path) -> dict:
        """The raster's entry in summary.json `inputs`."""
        try:
            path = self.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            path = self.path.resolve().as_posix()
        return {"role": "landcover", "path": path, "driver": self.driver,
                "sha256": self.sha256, "size_bytes": self.size_bytes,
                "width": self.width, "height": self.height,
                "resolution": list(self.res), "dtype": self.dtype,
                "source_crs": self.source_crs, "crs_used": self.crs,
                "crs_from_config": self.config.crs is not None,
                "nodata": self.nodata,
                "agricultural_codes": list(self.config.agricultural_codes),
                "exclude_nodata": self.config.exclude_nodata}


@dataclass(frozen=True)
class ZonalFigures:
    """Per input geometry: m² in the EPSG:3006 measure (see the module docstring)."""

    agricultural_m2: np.ndarray
    nodata_m2: np.ndarray  # nodata pixels plus parts outside the raster
    area_m2: np.ndarray  # planar area of the geometry in EPSG:3006
    values_found: frozenset[int]  # raster values seen inside the geometries (nodata excluded)


def damaged_raster(path: Path, detail: object) -> InputError:
    """The message for a raster whose header opens but whose contents cannot be read."""
    return InputError(
        f"{path}: marktäckerastret i [landcover] `path` är skadat: GDAL öppnar det men kan "
        f"inte läsa allt (GDAL: {detail}), som efter en ofullständig nedladdning eller en "
        "avbruten kopiering. Åtgärd: ladda ner eller exportera rastret igen (kontrollera den "
        f"nya kopian med `gdalinfo -checksum {path.name}`), eller låt [landcover] `path` peka "
        "på en hel kopia.")


@contextlib.contextmanager
def _gdal_warnings() -> Iterator[list[str]]:
    """Collect the GDAL warnings that rasterio passes to logging while the block runs."""
    logger = logging.getLogger("rasterio._env")
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Collect(logging.WARNING)
    level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.WARNING):
        logger.setLevel(logging.WARNING)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _damage_in(messages: list[str]) -> str | None:
    """The first warning that says the file is damaged, and how many more there were."""
    hits = [m for m in messages if _DAMAGE_WARNING.search(m)]
    if not hits:
        return None
    return hits[0] + (f" (och {fmt.number(len(hits) - 1, 0)} till)" if len(hits) > 1 else "")


def read_every_block(ds: rasterio.DatasetReader, path: Path) -> int:
    """Read band 1 block by block (one block in memory at a time); raise InputError when a
    block cannot be read. Returns the number of blocks read."""
    n = 0
    try:
        for _, window in ds.block_windows(1):
            ds.read(1, window=window)
            n += 1
    except rasterio.errors.RasterioError as exc:
        raise damaged_raster(path, exc.__cause__ or exc) from None
    return n


def inspect_raster(lc: LandcoverConfig, *, read_pixels: bool = False,
                   digests: dict[str, dict] | None = None) -> RasterInfo:
    """Open the raster and check it (readable, CRS, grid, nodata); raise InputError listing
    every problem. Reads metadata only, unless `read_pixels`: then every block is read once
    too, to find damage anywhere in the file (`opjord validate`).

    The file's sha256 comes from `digests` (`files.load_digest_cache`) when the file is
    unchanged since it was hashed; otherwise it is hashed in a background thread while
    the zonal statistics run (a national NMD GeoTIFF is ~3 GB).
    """
    with rasterio.Env(**READ_OPTIONS):  # GDAL's drivers take some options when opening
        return _inspect_raster(lc, read_pixels, digests)


def _inspect_raster(lc: LandcoverConfig, read_pixels: bool,
                    digests: dict[str, dict] | None) -> RasterInfo:
    problems = Problems()
    where = f"{lc.path}"
    try:
        with _gdal_warnings() as messages, warnings.catch_warnings():
            # a missing geotransform is reported below, or is damage
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            ds = rasterio.open(lc.path)
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise InputError(
            f"{where}: [landcover] `path` går inte att öppna som raster ({exc}). Åtgärd: låt "
            "den peka på ett raster som GDAL kan läsa (GeoTIFF, COG eller VRT), t.ex. NMD:s "
            "basskikt, och kontrollera att filen är hel (en ofullständig nedladdning går inte "
            "att läsa).") from None
    damage = _damage_in(messages)
    if damage is not None:
        ds.close()
        raise damaged_raster(lc.path, damage)
    with ds:
        file_crs = ds.crs
        source_crs = crs_label(CRS.from_user_input(file_crs.to_wkt())) if file_crs else None
        crs_wkt = ""
        crs = ""
        if lc.crs is not None:
            crs_obj = CRS.from_user_input(lc.crs)
            crs, crs_wkt = crs_label(crs_obj), crs_obj.to_wkt()
            if file_crs and CRS.from_user_input(file_crs.to_wkt()) != crs_obj:
                log.warning("%s: rastret anger %s men [landcover] `crs` anger %s; %s används, "
                            "som konfigurerat.", lc.path, source_crs, crs, crs)
        elif file_crs is None:
            problems.add(f"{where}: rastret saknar koordinatsystem. Åtgärd: lägg till "
                         "`crs = \"EPSG:3006\"` (eller det koordinatsystem det verkligen har) i "
                         "[landcover], eller ge filen ett koordinatsystem (gdal_edit.py -a_srs "
                         "EPSG:3006).")
        else:
            crs, crs_wkt = source_crs or "", file_crs.to_wkt()
        t = ds.transform
        if t.is_identity and not ds.gcps[0]:
            problems.add(f"{where}: rastret saknar geotransform (var pixlarna ligger och hur "
                         "stora de är). Åtgärd: exportera det igen som GeoTIFF med sin "
                         "georeferering, eller lägg en world-fil (.tfw) bredvid det.")
        elif t.b != 0 or t.d != 0:
            coefficients = "; ".join(fmt.plain(v) for v in tuple(t)[:6])
            problems.add(f"{where}: rastret är roterat (geotransform {coefficients}), och ett "
                         "roterat raster kan inte läsas med exakt zonstatistik. Åtgärd: "
                         "transformera det till ett nordorienterat rutnät med gdalwarp "
                         "(närmaste granne, så att klasserna behålls).")
        dtype = ds.dtypes[0]
        if not np.issubdtype(np.dtype(dtype), np.integer):
            problems.add(f"{where}: band 1 innehåller {dtype}-värden, inte klasskoder. Åtgärd: "
                         "låt [landcover] `path` peka på ett klassat raster (NMD:s är uint8).")
        nodata = lc.nodata if lc.nodata is not None else ds.nodata
        if nodata is not None and np.issubdtype(np.dtype(dtype), np.integer):
            lo, hi = np.iinfo(np.dtype(dtype)).min, np.iinfo(np.dtype(dtype)).max
            if not (float(nodata).is_integer() and lo <= nodata <= hi):
                problems.add(f"{where}: [landcover] `nodata = {nodata}` kan inte förekomma i "
                             f"ett {dtype}-raster (värden {fmt.number(lo, 0)} till "
                             f"{fmt.number(hi, 0)}). Åtgärd: ange det värde filen har för "
                             "saknade data, eller ta bort `nodata` för att använda filens eget.")
        if ds.count > 1:
            log.info("%s har %s band; band 1 används.", lc.path.name, fmt.number(ds.count, 0))
        problems.raise_if_any()
        if read_pixels:
            start = time.perf_counter()
            blocks = read_every_block(ds, lc.path)
            log.info("Läste alla %s block i %s på %s s: ingen skada hittades",
                     fmt.number(blocks, 0), lc.path.name,
                     fmt.number(time.perf_counter() - start, 1))
        block = ds.block_shapes[0]
        info = RasterInfo(config=lc, driver=ds.driver, width=ds.width, height=ds.height,
                          bands=ds.count, dtype=dtype, res=(abs(t.a), abs(t.e)),
                          bounds=tuple(ds.bounds), block_shape=(int(block[0]), int(block[1])),
                          source_crs=source_crs, crs=crs, crs_wkt=crs_wkt,
                          nodata=None if nodata is None else float(nodata),
                          file_nodata=ds.nodata, size_bytes=lc.path.stat().st_size,
                          digest=BackgroundDigest(lc.path, digests))
    if not CRS.from_user_input(crs_wkt).is_projected:
        log.warning("%s: rastrets koordinatsystem %s är inte projicerat; pixelandelarna mäts i "
                    "grader, vilket bara är ungefärligt för stora polygoner.", lc.path, crs)
    log.info("Marktäckeraster %s: %s × %s px om %s × %s m, %s, %s, nodata %s", lc.path.name,
             fmt.number(info.width, 0), fmt.number(info.height, 0), fmt.plain(info.res[0]),
             fmt.plain(info.res[1]), info.dtype, info.crs,
             "ingen" if info.nodata is None else fmt.plain(info.nodata))
    return info


def _source(ds: rasterio.DatasetReader, info: RasterInfo):
    """An exactextract raster source over an open rasterio dataset, with the nodata value
    and CRS chosen in `inspect_raster` (the config's, when it gives them)."""
    from exactextract.raster import RasterioRasterSource
    from rasterio.windows import Window

    nodata = None if info.nodata is None else int(info.nodata)

    class _Source(RasterioRasterSource):
        def nodata_value(self):
            return nodata

        def srs_wkt(self):
            return info.crs_wkt

        def read_window(self, x0, y0, nx, ny):
            return self.ds.read(1, window=Window(x0, y0, nx, ny))

    return _Source(ds)


def zonal_landcover(info: RasterInfo, geoms: np.ndarray) -> ZonalFigures:
    """Agricultural and nodata area of each polygon (given in EPSG:3006), exact partial pixels.

    Parameters
    ----------
    info : RasterInfo
        From `inspect_raster`.
    geoms : array of shapely geometries in EPSG:3006
        Polygons or MultiPolygons (empty allowed). Parts of one geometry must not overlap
        (true for valid geometries and for footprints).

    Returns
    -------
    ZonalFigures
        Per geometry: agricultural m², nodata m² (including parts outside the raster) and
        the geometry's area, all in m² measured in EPSG:3006.
    """
    from exactextract import exact_extract

    start = time.perf_counter()
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    parts, owner = parts[keep], owner[keep]
    area_3006 = shapely.area(parts)
    same_crs = CRS.from_user_input(info.crs_wkt) == CRS.from_user_input(ANALYSIS_CRS)
    parts_r = parts if same_crs else gpd.GeoSeries(parts, crs=ANALYSIS_CRS).to_crs(
        info.crs_wkt).array.to_numpy()
    area_r = shapely.area(parts_r)
    box = shapely.box(*info.bounds)
    inside = shapely.within(parts_r, box)
    outside_r = np.zeros(len(parts_r))
    if (~inside).any():
        outside_r[~inside] = shapely.area(shapely.difference(parts_r[~inside], box))
    hit = shapely.intersects(parts_r, box)

    agri_r = np.zeros(len(parts_r))
    nodata_cells = np.zeros(len(parts_r))
    codes = set(info.config.agricultural_codes)
    found: set[int] = set()
    if hit.any():
        idx = np.flatnonzero(hit)
        # visit parts row by row of blocks so that neighbours reuse GDAL's block cache
        c = shapely.centroid(parts_r[idx])
        band = np.floor(shapely.get_y(c) / (info.block_shape[0] * info.res[1] * 4))
        idx = idx[np.lexsort((shapely.get_x(c), -band))]
        frame = gpd.GeoDataFrame({PART_COLUMN: idx}, geometry=parts_r[idx], crs=info.crs_wkt)
        ops = ["valid=count", "unique", "frac"]
        if info.nodata is not None:
            ops.append(f"all=count(default_value={int(info.nodata)})")
        try:
            with rasterio.Env(**READ_OPTIONS), rasterio.open(info.path) as ds:
                result = exact_extract(_source(ds, info), frame, ops,
                                       include_cols=[PART_COLUMN],
                                       strategy="feature-sequential",
                                       max_cells_in_memory=MAX_CELLS_IN_MEMORY,
                                       output="pandas")
        except rasterio.errors.RasterioError as exc:  # a tile the areas need is unreadable
            raise damaged_raster(info.path, exc.__cause__ or exc) from None
        for row in result.itertuples(index=False):
            i = int(getattr(row, PART_COLUMN))
            values = np.asarray(row.unique).astype(np.int64)
            fracs = np.asarray(row.frac, dtype=float)
            found.update(int(v) for v in values)
            agri_r[i] = float(row.valid) * float(fracs[np.isin(values, list(codes))].sum())
            if info.nodata is not None:
                nodata_cells[i] = float(row.all) - float(row.valid)
    nodata_r = nodata_cells * info.pixel_area + outside_r
    scale = area_3006 / area_r  # 1.0 exactly when the raster is in EPSG:3006
    agri_m2 = np.bincount(owner, weights=agri_r * info.pixel_area * scale, minlength=n)
    nodata_m2 = np.bincount(owner, weights=np.minimum(nodata_r * scale, area_3006), minlength=n)
    area_m2 = np.bincount(owner, weights=area_3006, minlength=n)
    log.info("Zonstatistik på %s för %s polygoner (%s delar) på %s s", info.path.name,
             fmt.number(n, 0), fmt.number(len(parts), 0),
             fmt.number(time.perf_counter() - start, 1))
    return ZonalFigures(agricultural_m2=agri_m2, nodata_m2=nodata_m2, area_m2=area_m2,
                        values_found=frozenset(found))


def landcover_share(agricultural_m2: float, nodata_m2: float, area_m2: float, *,
                    exclude_nodata: bool) -> float | None:
    """Agricultural share of a polygon; nodata stays in the denominator unless excluded."""
    return ratio(agricultural_m2, area_m2 - nodata_m2 if exclude_nodata else area_m2)


# The per-area raster columns of areas.csv, in the order `Landcover.area_columns` holds them.
AREA_COLUMNS = ("landcover_agricultural_ha", "landcover_share", "landcover_nodata_ha")


@dataclass(frozen=True)
class Landcover:
    """The raster figures of one analysis (`landcover_figures`): ha, shares 0–1, pp."""

    # Per area, in the order of the areas: AREA_COLUMNS as float arrays; a share is NaN
    # where it is undefined (all of an area is nodata and nodata leaves the denominator).
    area_columns: dict[str, np.ndarray]
    plans: dict[str, dict]  # per plan key: agricultural_ha, share, nodata_ha of its footprint
    # Per later plan key: newly_designated_ha, released_ha (agricultural ha of the footprint
    # differences) and share_change_pp against the baseline.
    comparisons: dict[str, dict]
    input: dict  # the raster's entry in summary.json `inputs`
    warnings: tuple[str, ...]  # Swedish, for the log and summary.json
    # the raster's digest-cache entry by path (`files.digest_entry`; none when too recent)
    digests: dict[str, dict] = field(default_factory=dict)


def _figures(z: ZonalFigures, i: int, exclude_nodata: bool) -> dict:
    return {"agricultural_ha": float(z.agricultural_m2[i]) / M2_PER_HA,
            "share": landcover_share(float(z.agricultural_m2[i]), float(z.nodata_m2[i]),
                                     float(z.area_m2[i]), exclude_nodata=exclude_nodata),
            "nodata_ha": float(z.nodata_m2[i]) / M2_PER_HA}


def landcover_figures(areas: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame, config: Config,
                      info: RasterInfo) -> Landcover:
    """The raster figures of the areas, the plans' footprints and the footprint differences
    (one zonal pass over all of them), all in EPSG:3006.

    `areas`: every area of every plan; `footprints`: one row per plan, column `plan`.
    Raises InputError when the raster meets none of the areas.
    """
    lc = info.config
    area_geoms = areas.geometry.array.to_numpy()
    fp = dict(zip(footprints["plan"], footprints.geometry.array.to_numpy(), strict=True))
    base = config.baseline.key
    later = [p.key for p in config.plans if p.key != base]
    regions: list = []
    for key in later:
        regions += [shapely.difference(fp[key], fp[base]), shapely.difference(fp[base], fp[key])]
    plan_keys = list(fp)
    geoms = np.array([*area_geoms, *(fp[k] for k in plan_keys), *regions], dtype=object)
    n = len(area_geoms)
    _check_overlap(info, geoms[:n])

    z = zonal_landcover(info, geoms)
    per_area = [_figures(z, i, lc.exclude_nodata) for i in range(n)]
    area_columns = {
        column: np.array([np.nan if f[name] is None else f[name] for f in per_area],
                         dtype=float)
        for column, name in zip(AREA_COLUMNS, ("agricultural_ha", "share", "nodata_ha"),
                                strict=True)}
    plans = {key: _figures(z, n + j, lc.exclude_nodata) for j, key in enumerate(plan_keys)}
    comparisons = {}
    for j, key in enumerate(later):
        newly = n + len(plan_keys) + 2 * j
        share_p, share_b = plans[key]["share"], plans[base]["share"]
        comparisons[key] = {
            "newly_designated_ha": float(z.agricultural_m2[newly]) / M2_PER_HA,
            "released_ha": float(z.agricultural_m2[newly + 1]) / M2_PER_HA,
            "share_change_pp": (None if share_p is None or share_b is None
                                else 100.0 * (share_p - share_b)),
        }
    return Landcover(area_columns=area_columns, plans=plans, comparisons=comparisons,
                     input=info.as_input(config.root), warnings=tuple(_warnings(info, z, n)),
                     digests={str(info.path): info.digest.entry} if info.digest.entry else {})


def _check_overlap(info: RasterInfo, area_geoms: np.ndarray) -> None:
    """Raise InputError when there are areas and the raster's extent meets none of them."""
    if not len(area_geoms):
        return
    same_crs = CRS.from_user_input(info.crs_wkt) == CRS.from_user_input(ANALYSIS_CRS)
    geoms_r = area_geoms if same_crs else gpd.GeoSeries(
        area_geoms, crs=ANALYSIS_CRS).to_crs(info.crs_wkt).array.to_numpy()
    if not shapely.intersects(geoms_r, shapely.box(*info.bounds)).any():
        raise InputError(
            f"{info.path}: marktäckerastret (utbredning {_bounds_text(info.bounds)} i "
            f"{info.crs}) överlappar inget utvecklingsområde. Åtgärd: låt [landcover] `path` "
            "peka på ett raster som täcker kommunen, eller rätta dess koordinatsystem (ett "
            "raster utan koordinatsystem behöver `crs = \"EPSG:…\"` i [landcover]).")


def _bounds_text(b: tuple[float, float, float, float]) -> str:
    return (f"x {fmt.number(b[0], 0)}–{fmt.number(b[2], 0)}, "
            f"y {fmt.number(b[1], 0)}–{fmt.number(b[3], 0)}")


def _warnings(info: RasterInfo, z: ZonalFigures, n_areas: int) -> list[str]:
    lc = info.config
    out = []
    absent = [c for c in lc.agricultural_codes if c not in z.values_found]
    if absent:
        shown = ", ".join(str(v) for v in sorted(z.values_found)[:30]) or "inga"
        out.append(f"{lc.path.name}: jordbrukskoden/-koderna {', '.join(map(str, absent))} i "
                   f"[landcover] `agricultural_codes` förekommer aldrig inom "
                   f"utvecklingsområdena (värden där: {shown}); rastersiffrorna räknar dem som "
                   "0 ha. Kontrollera koderna mot rastrets kodlista (NMD: 3 = åkermark).")
    nodata_ha = float(z.nodata_m2[:n_areas].sum()) / M2_PER_HA
    if nodata_ha > 0:
        n_with = int((z.nodata_m2[:n_areas] > 0).sum())
        rule = ("den ytan räknas inte i nämnaren (exclude_nodata = true)" if lc.exclude_nodata
                else "den ytan räknas som annat än jordbruksmark")
        out.append(f"{lc.path.name}: {fmt.hectares(nodata_ha, 2)} i {fmt.number(n_with, 0)} "
                   f"utvecklingsområde(n) saknar rasterdata (nodata-pixlar eller utanför "
                   f"rastret); {rule}. Se landcover_nodata_ha i areas.csv.")
    return out


__all__ = ["RasterInfo", "ZonalFigures", "Landcover", "AREA_COLUMNS", "inspect_raster",
           "zonal_landcover", "landcover_figures", "landcover_share"]
