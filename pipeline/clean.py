"""Clean geometries: polygonal only, 2D, valid, non-empty, inside Sweden.

Every repair and drop is counted in a `CleanReport`, which the CLI prints and
summary.json records.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline import fmt
from pipeline.config import VectorSource
from pipeline.errors import InputError
from pipeline.parallel import elementwise

log = logging.getLogger(__name__)

# A generous box around Sweden in EPSG:3006 (m). Coordinates outside it after
# reprojection almost always mean a wrong or missing CRS label.
SWEDEN_3006 = (200_000.0, 6_050_000.0, 1_000_000.0, 7_750_000.0)

# A feature's FID in its layer (what QGIS shows as its id), kept by `read_source(fid=True)`
# through reading so that cleaning can name the features it repairs or drops.
FID = "_opjord_fid"
NAMES_SHOWN = 10  # features named in a message; the rest are counted

_POLYGONAL = np.array(["Polygon", "MultiPolygon"])
_NON_POLYGONAL = {"Point", "MultiPoint", "LineString", "MultiLineString", "LinearRing"}


@dataclass
class CleanReport:
    """Counts of what cleaning did to one source (features, not parts)."""

    features_read: int = 0
    null_dropped: int = 0  # features without a geometry
    empty_dropped: int = 0  # empty, or nothing polygonal left after repair
    repaired: int = 0  # invalid geometries repaired with make_valid
    z_dropped: int = 0  # features whose Z (or M) values were dropped
    non_polygonal_parts_dropped: int = 0  # features of a collection that lost point/line parts
    features_kept: int = 0
    # The features repaired and dropped, by name (`feature_names`): for messages only.
    repaired_names: tuple[str, ...] = field(default=(), repr=False)
    dropped_names: tuple[str, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, int]:
        """The counts (summary.json `inputs[].cleaning`)."""
        out = asdict(self)
        del out["repaired_names"], out["dropped_names"]
        return out

    def describe(self) -> str:
        """One Swedish line for the CLI, e.g. '5 123 behållna; 2 lagade (make_valid), 1 tomt
        borttaget; lagade: U-003 (fid 3), fid 7; borttagna: fid 9' (numbers through `fmt`;
        at most `NAMES_SHOWN` names of each kind, then how many more)."""
        notes = [_count(v, one, many) for v, one, many in (
            (self.repaired, "lagat (make_valid)", "lagade (make_valid)"),
            (self.null_dropped, "utan geometri borttaget", "utan geometri borttagna"),
            (self.empty_dropped, "tomt borttaget", "tomma borttagna"),
            (self.z_dropped, "med Z-värden borttagna", "med Z-värden borttagna"),
            (self.non_polygonal_parts_dropped, "med punkt-/linjedelar bortklippta",
             "med punkt-/linjedelar bortklippta")) if v]
        named = [f"{what}: {names_listing(names)}" for what, names in (
            ("lagade", self.repaired_names), ("borttagna", self.dropped_names)) if names]
        return (_count(self.features_kept, "behållet", "behållna")
                + (f"; {', '.join(notes)}" if notes else "")
                + "".join(f"; {n}" for n in named))


def names_listing(names: list[str] | tuple[str, ...], shown: int = NAMES_SHOWN) -> str:
    """The first `shown` names, then how many more: "fid 3, fid 9 och 4 till"."""
    first = ", ".join(names[:shown])
    rest = len(names) - shown
    return first if rest <= 0 else f"{first} och {fmt.number(rest, 0)} till"


def feature_names(gdf: gpd.GeoDataFrame, which: np.ndarray, id_column: str | None = None
                  ) -> tuple[str, ...]:
    """How a person finds the features `which` (bool per row) in QGIS: by id (`id_column`)
    and FID, e.g. "U-003 (fid 3)", or "fid 3"; without a FID column by the feature's number
    (1 = the first read)."""
    rows = np.flatnonzero(which)
    if FID in gdf.columns:
        where = [f"fid {f}" for f in gdf[FID].to_numpy()[rows].tolist()]
    else:
        where = [f"objekt {i + 1}" for i in rows.tolist()]
    if id_column and id_column in gdf.columns:
        ids = gdf[id_column].to_numpy()[rows].tolist()
        where = [w if pd.isna(i) or str(i).strip() == "" else f"{str(i).strip()} ({w})"
                 for i, w in zip(ids, where, strict=True)]
    return tuple(where)


def _count(n: int, one: str, many: str) -> str:
    """E.g. "1 tomt borttaget", "2 tomma borttagna" (features: "objekt", neuter)."""
    return f"{fmt.number(n, 0)} {one if n == 1 else many}"


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (Polygon/MultiPolygon, or empty Polygon).

    Collections keep their polygonal members; points and lines are discarded.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    types = shapely.get_type_id(geoms)
    # 3 Polygon, 6 MultiPolygon, 7 GeometryCollection
    for i in np.flatnonzero(~np.isin(types, (3, 6))):
        parts = shapely.get_parts(geoms[i])
        polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
        if not polys:
            out[i] = shapely.Polygon()
        else:
            flat = shapely.get_parts(np.array(polys, dtype=object))
            out[i] = flat[0] if len(flat) == 1 else shapely.MultiPolygon(list(flat))
    return out


def clean_polygons(gdf: gpd.GeoDataFrame, source: VectorSource, *, layer: str | None = None,
                   id_column: str | None = None) -> tuple[gpd.GeoDataFrame, CleanReport]:
    """Return the polygonal, 2D, valid, non-empty features of `gdf` and what was done.

    The report names the features repaired and dropped (`feature_names`: by `id_column`
    and the FID column when `gdf` has them); the FID column is not kept.
    Raises InputError if the layer holds points or lines, or lies outside Sweden.
    """
    where = f"{source.path}" + (f" (skikt {layer!r})" if layer else "")
    report = CleanReport(features_read=len(gdf))
    geoms = gdf.geometry.array.to_numpy().copy()

    null = shapely.is_missing(geoms)
    report.null_dropped = int(null.sum())

    types = shapely.get_type_id(geoms)
    type_names = np.array(["Missing", "Point", "LineString", "LinearRing", "Polygon",
                           "MultiPoint", "MultiLineString", "MultiPolygon",
                           "GeometryCollection"])[types + 1]
    bad = np.isin(type_names, list(_NON_POLYGONAL)) & ~null
    if bad.any():
        kinds = ", ".join(sorted(set(type_names[bad])))
        raise InputError(
            f"{where}: {fmt.number(int(bad.sum()), 0)} av {fmt.number(len(gdf), 0)} objekt är "
            f"{kinds}, inte polygoner. Analysen mäter ytor, så {source.table} måste peka på "
            "ett polygonskikt. Åtgärd: välj polygonskiktet (t.ex. med `layer = \"…\"`), eller "
            "gör om data till polygoner i QGIS.")

    has_z = shapely.has_z(geoms) & ~null
    report.z_dropped = int(has_z.sum())
    if has_z.any():
        geoms[has_z] = shapely.force_2d(geoms[has_z])

    collections = (type_names == "GeometryCollection") & ~null
    invalid = ~elementwise(shapely.is_valid, geoms) & ~null
    report.repaired = int(invalid.sum())
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                            keep_collapsed=False)
    needs_trim = (collections | invalid) & ~null
    if needs_trim.any():
        before = shapely.get_num_geometries(geoms[needs_trim])
        trimmed = polygonal(geoms[needs_trim])
        lost = collections[needs_trim] & (shapely.get_num_geometries(trimmed) < before)
        report.non_polygonal_parts_dropped = int(lost.sum())
        geoms[needs_trim] = trimmed

    empty = ~null & (shapely.is_empty(geoms) | (shapely.area(geoms) <= 0))
    report.empty_dropped = int(empty.sum())
    keep = ~null & ~empty
    report.repaired_names = feature_names(gdf, invalid & keep, id_column)
    report.dropped_names = feature_names(gdf, null | empty, id_column)
    out = gdf.loc[keep].drop(columns=[FID], errors="ignore")
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], index=out.index, crs=gdf.crs))
    out = out.reset_index(drop=True)
    report.features_kept = len(out)

    check_in_sweden(out, source, where=where)
    return out, report


def outside_sweden(bounds: np.ndarray) -> np.ndarray:
    """True for each (xmin, ymin, xmax, ymax) row in EPSG:3006 that lies wholly outside Sweden."""
    xmin, ymin, xmax, ymax = SWEDEN_3006
    return ((bounds[:, 2] < xmin) | (bounds[:, 0] > xmax) | (bounds[:, 3] < ymin)
            | (bounds[:, 1] > ymax))


def outside_sweden_message(where: str, source: VectorSource, what: str,
                           b: tuple[float, float, float, float]) -> str:
    return (f"{where}: {what} långt utanför Sverige efter omprojicering till EPSG:3006 "
            f"(utbredning {'; '.join(fmt.number(v, 0) for v in b)}). Den vanliga orsaken är "
            "fel angivet koordinatsystem, t.ex. koordinater i SWEREF 99 16 30 (EPSG:3010) "
            "märkta som EPSG:3006, eller grader märkta som meter. Åtgärd: ge filen dess rätta "
            f"koordinatsystem, eller sätt `crs = \"EPSG:…\"` i {source.table}.")


def check_in_sweden(gdf: gpd.GeoDataFrame, source: VectorSource, *, where: str) -> None:
    """Raise InputError if features in EPSG:3006 lie far outside Sweden."""
    if gdf.empty:
        return
    outside = outside_sweden(shapely.bounds(gdf.geometry.array.to_numpy()))
    if outside.any():
        raise InputError(outside_sweden_message(
            where, source, f"{fmt.number(int(outside.sum()), 0)} av "
            f"{fmt.number(len(gdf), 0)} objekt ligger",
            tuple(gdf.total_bounds)))
