"""Compact, per-zoom web geometries for the map's context layers (drawn on a canvas).

The context layers (farmland around the areas, the agricultural pieces, the change
layers, the boundary) can hold tens of thousands of polygons at real size. Instead of
inline GeoJSON they are written as small JavaScript files under `maps/data/`, one per
level and tile holding every layer's part, each a call `opjordKontext.data(level, tile,
{layer: payload})` (`pipeline/static/kontext.js` decodes it and draws it on one Leaflet
canvas). Script files, not `fetch()`: browsers
refuse `fetch()` of `file:` URLs, and a `<script src>` loads from the file system and
from any static web server alike.

Per zoom level (`LEVELS`) the shapes are simplified in EPSG:3006 with topology kept
(`shapely.simplify(..., preserve_topology=True)`) at a tolerance near one screen pixel of
that zoom, then cut into square tiles (a feature belongs to the tile of its centre; it is
never clipped): the overview level is one file loaded with the page, the finer levels load
tile by tile when the view needs them. Coordinates (longitude/latitude) are rounded to a
quantum of at most half the level's tolerance and written as Google's encoded polyline
(zig-zag varints of the difference to the previous vertex, 6 bits a printable character):
about a fifth of GeoJSON's size, ASCII that sits in a JavaScript string, and decoded
without a library. Each ring's closing vertex is left out. Display only: every figure on
the pages comes from the analysis, never from these shapes.

Payload: {"d": decimals, "c": encoded vertices, "n": vertices per ring, "r": rings per
polygon, "p": polygons per feature, "t": {field: [text per feature]}}.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer

from pipeline import ANALYSIS_CRS
from pipeline.parallel import elementwise

WEB_CRS = "EPSG:4326"
M_PER_DEGREE = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
MAX_DECIMALS = 6  # ≈ 0.1 m, as the GeoJSON layers


@dataclass(frozen=True)
class Level:
    """One level of detail: shown from `min_zoom` (Leaflet zoom) up to the next level's."""

    min_zoom: int
    tolerance_m: float  # simplification in EPSG:3006, metres (at least the configured one)
    tile_m: float | None  # square tiles of this side in EPSG:3006; None: one file


# Tolerances near one screen pixel at the level's lowest zoom at 58° N (z0: ≈ 82 km/px):
# z ≤ 11: 40 m (≈ 1 px at z11); z12–13: 10 m (≈ 1 px at z13); z ≥ 14: the configured one.
LEVELS = (Level(0, 40.0, None), Level(12, 10.0, 20_000.0), Level(14, 0.0, 5_000.0))


def decimals_for(tolerance_m: float) -> int:
    """Decimal places of degrees whose quantum is at most half the tolerance (max 6)."""
    if tolerance_m <= 0:
        return MAX_DECIMALS
    return min(MAX_DECIMALS, max(1, math.ceil(math.log10(M_PER_DEGREE / (tolerance_m / 2)))))


def _zigzag(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)  # as the algorithm's "invert if < 0"


def _chunks(values: np.ndarray) -> np.ndarray:
    """Characters per value of the encoded polyline (5 bits each, at least one)."""
    u = _zigzag(values)
    chunks = np.ones(len(u), dtype=np.int64)
    rest = u >> np.uint64(5)
    while rest.any():
        chunks += rest > 0
        rest >>= np.uint64(5)
    return chunks


def polyline(values: np.ndarray) -> str:
    """Google's encoded polyline of integer `values` (already differences), vectorised."""
    u = _zigzag(values)
    chunks = _chunks(values)
    start = np.cumsum(chunks) - chunks
    out = np.empty(int(chunks.sum()), dtype=np.uint8)
    for k in range(int(chunks.max(initial=0))):
        sel = chunks > k
        bits = (u[sel] >> np.uint64(5 * k)) & np.uint64(31)
        more = (chunks[sel] > k + 1).astype(np.uint64) << np.uint64(5)
        out[start[sel] + k] = (bits | more) + np.uint64(63)
    return out.tobytes().decode("ascii")


def decode_polyline(text: str) -> list[int]:
    """The integers of an encoded polyline (the reverse of `polyline`; for tests)."""
    out, value, shift = [], 0, 0
    for ch in text:
        b = ord(ch) - 63
        value |= (b & 31) << shift
        shift += 5
        if b < 32:
            out.append(~(value >> 1) if value & 1 else value >> 1)
            value, shift = 0, 0
    return out


@dataclass(frozen=True)
class Tile:
    id: str
    bounds: tuple[float, float, float, float]  # south, west, north, east (degrees)
    payload: str  # this layer's part of the tile file (JSON)


@dataclass(frozen=True)
class CompactLayer:
    """One context layer's tiles: `levels[i]` lists its tiles of `LEVELS[i]`.

    All layers share one tile grid per level, and a tile's file holds every layer's part
    (`data_files`), so a view needs a few files, not a few per layer.
    """

    index: int
    levels: list[list[Tile]] = field(default_factory=list)

    def spec(self) -> list[dict]:
        """The levels as the page's script needs them (zoom, tile ids and boxes)."""
        return [{"minZoom": LEVELS[i].min_zoom, "tiles": [[t.id, *t.bounds] for t in tiles]}
                for i, tiles in enumerate(self.levels)]


def tile_path(level: int, tile: str) -> str:
    """The file of one tile, relative to maps/ (as `assets/kontext.js` builds it)."""
    return f"data/n{level}-{tile}.js"


def data_files(layers: list[CompactLayer]) -> dict[str, str]:
    """The tile files of all layers: path below maps/ -> JavaScript."""
    parts: dict[tuple[int, str], list[str]] = {}
    for layer in layers:
        for number, tiles in enumerate(layer.levels):
            for t in tiles:
                parts.setdefault((number, t.id), []).append(f'"{layer.index}":{t.payload}')
    return {tile_path(n, tile): f'opjordKontext.data({n},"{tile}",{{{",".join(p)}}});\n'
            for (n, tile), p in sorted(parts.items())}


def _tile_ids(geoms: np.ndarray, tile_m: float | None) -> np.ndarray:
    """Per geometry, the id of the tile holding its bounding box's centre ("0": one tile)."""
    if tile_m is None:
        return np.full(len(geoms), "0", dtype=object)
    b = shapely.bounds(geoms)
    cx = np.floor((b[:, 0] + b[:, 2]) / 2 / tile_m).astype(np.int64)
    cy = np.floor((b[:, 1] + b[:, 3]) / 2 / tile_m).astype(np.int64)
    return np.char.add(np.char.add(cx.astype(str), "_"), cy.astype(str)).astype(object)


def _safe_json(value: object) -> str:
    """JSON of a list or string: nothing can end a <script>, and no brace, so no Jinja
    delimiter ("{{", "{%") appears when folium re-reads inline scripts as templates."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("{", "\\u007b"), ("}", "\\u007d")):
        text = text.replace(ch, code)
    return text


def encode_level(geoms: np.ndarray, merge: np.ndarray, props: dict[str, np.ndarray],
                 level: Level, decimals: int, to_web: Transformer) -> list[Tile]:
    """The tiles of one level of simplified geometries: tile, merge, project, encode.

    Vectorised over the whole level: one multipolygon per (tile, merge value), sorted by
    tile, so each tile's rings, vertices and characters are one slice of the arrays.
    """
    parts, index = shapely.get_parts(geoms, return_index=True)
    ok = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, index = parts[ok], index[ok]
    if not len(parts):
        return []
    names, tile_code = np.unique(_tile_ids(geoms, level.tile_m).astype(str), return_inverse=True)
    width = int(merge.max(initial=0)) + 1
    groups, first, inverse = np.unique(tile_code[index] * width + merge[index],
                                       return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    multi = shapely.multipolygons(parts[order], indices=inverse[order])
    multi = shapely.normalize(multi)  # shells clockwise, holes anticlockwise: "nonzero" fill
    source_row = index[first]  # per multipolygon, its first source feature (for props)
    group_tile = groups // width
    _, coords, (ring_off, poly_off, geom_off) = shapely.to_ragged_array(multi)
    lon, lat = to_web.transform(coords[:, 0], coords[:, 1])
    keep = np.ones(len(coords), dtype=bool)
    keep[ring_off[1:] - 1] = False  # the closing vertex of each ring
    scale = 10.0 ** decimals
    q = np.column_stack([np.round(lat[keep] * scale), np.round(lon[keep] * scale)])
    q = q.astype(np.int64)
    kept_off = ring_off - np.arange(len(ring_off))  # ring starts among the kept vertices
    tile_geom = np.searchsorted(group_tile, np.arange(len(names) + 1))  # geometries per tile
    tile_vertex = kept_off[poly_off[geom_off[tile_geom]]]
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = tile_vertex[:-1][tile_vertex[:-1] < len(q)]
    deltas[starts] = q[starts]  # each tile starts from zero
    values = deltas.ravel()
    text = polyline(values)
    char_off = np.concatenate([[0], np.cumsum(_chunks(values))])
    n = np.diff(kept_off)
    r, pc = np.diff(poly_off), np.diff(geom_off)
    tiles = []
    for t, name in enumerate(names):
        g0, g1 = tile_geom[t], tile_geom[t + 1]
        if g0 == g1:
            continue
        p0, p1 = geom_off[g0], geom_off[g1]
        r0, r1 = poly_off[p0], poly_off[p1]
        v0, v1 = kept_off[r0], kept_off[r1]
        rows = source_row[g0:g1]
        texts = ",".join(f"{json.dumps(k)}:{_safe_json(v[rows].tolist())}"
                         for k, v in props.items())
        payload = (f'{{"d":{decimals},"c":{_safe_json(text[char_off[2 * v0]:char_off[2 * v1]])},'
                   f'"n":{_safe_json(n[r0:r1].tolist())},"r":{_safe_json(r[p0:p1].tolist())},'
                   f'"p":{_safe_json(pc[g0:g1].tolist())},"t":{{{texts}}}}}')
        lo, hi = q[v0:v1].min(axis=0) / scale, q[v0:v1].max(axis=0) / scale
        tiles.append(Tile(str(name), (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                          payload))
    return tiles


def level_tolerances(tolerance_m: float) -> list[float]:
    """Per level, the bound (m) on the distance of its shapes from the source.

    Each level is simplified from the next finer one (cheaper than from the source each
    time), so its bound is the sum of the tolerances down to the finest.
    """
    tols = [max(level.tolerance_m, tolerance_m) for level in LEVELS]
    return [sum(tols[i:]) for i in range(len(tols))]


def compact_layer(geoms: np.ndarray, *, index: int, tolerance_m: float,
                  props: dict[str, list[str]] | None = None,
                  merge: np.ndarray | None = None) -> CompactLayer:
    """Encode one layer (geometries in EPSG:3006) at every level of `LEVELS`.

    `props`: text per feature for the tooltip (plain text; the page sets it as text).
    `merge`: features with the same value in one tile become one multipolygon (they must
    then share their props); None keeps every feature on its own. Each level is
    simplified (topology kept) from the next finer one; see `level_tolerances`.
    """
    geoms = np.asarray(geoms, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms[keep]
    merge = (np.arange(len(keep)) if merge is None else np.asarray(merge))[keep]
    props = {k: np.asarray(v, dtype=object)[keep] for k, v in (props or {}).items()}
    to_web = Transformer.from_crs(ANALYSIS_CRS, WEB_CRS, always_xy=True)
    levels: list[list[Tile]] = [[] for _ in LEVELS]
    for number in reversed(range(len(LEVELS))):
        level = LEVELS[number]
        tol = max(level.tolerance_m, tolerance_m)
        if tol > 0:  # in chunks in threads, as the analysis' vectorised calls
            geoms = elementwise(shapely.simplify, geoms, tolerance=tol, preserve_topology=True)
        levels[number] = encode_level(geoms, merge.astype(np.int64), props, level,
                                      decimals_for(tol), to_web)
    return CompactLayer(index, levels)


def decode_tile(text: str) -> tuple[list[shapely.MultiPolygon], dict[str, list]]:
    """One layer's payload (`Tile.payload`) back to MultiPolygons in longitude/latitude and
    its props (for tests; `assets/kontext.js` does the same in the page)."""
    payload = json.loads(text)
    values = decode_polyline(payload["c"])
    scale = 10.0 ** -payload["d"]
    lat = np.cumsum(values[0::2]) * scale
    lon = np.cumsum(values[1::2]) * scale
    out, vertex, ring, poly = [], 0, 0, 0
    for n_polys in payload["p"]:
        polygons = []
        for _ in range(n_polys):
            rings = []
            for _ in range(payload["r"][poly]):
                n = payload["n"][ring]
                rings.append(list(zip(lon[vertex:vertex + n], lat[vertex:vertex + n],
                                      strict=True)))
                vertex += n
                ring += 1
            polygons.append(shapely.Polygon(rings[0], rings[1:]))
            poly += 1
        out.append(shapely.MultiPolygon(polygons))
    return out, payload["t"]
