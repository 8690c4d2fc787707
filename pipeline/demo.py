"""Deterministic synthetic demo data for opjord (``opjord demo``).

Everything except the municipal boundary is *synthetic*: the field blocks and the
development areas are invented around roughly placed real place names so that the
pipeline has something realistic-looking to chew on. None of the figures computed
from these files are Norrköping's figures.

Units: coordinates in metres (EPSG:3006 SWEREF 99 TM unless stated otherwise),
areas in hectares (1 ha = 10 000 m²).

The output is byte-identical between runs on the same software versions: all
randomness comes from fixed-seed ``numpy.random.default_rng`` generators, the
GeoPackage timestamp is pinned through GDAL's ``OGR_CURRENT_DATE``, the GeoTIFF
carries no date/time tag (GDAL writes none unless asked) and no .aux.xml sidecar, and
files are written in a fixed order with fixed feature order.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import math
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon

from pipeline.files import replacing, write_bytes_atomic, write_text_atomic

__all__ = ["generate_demo", "DEMO_FILES", "SEED"]

SEED = 20170619  # ÖP 2017 adoption date; any fixed value works
ANALYSIS_CRS = "EPSG:3006"
OP2025_CRS = "EPSG:3010"
GPKG_TIMESTAMP = "2026-01-01T00:00:00Z"
BOUNDARY_RESOURCE = "norrkoping_kommungrans.geojson"

DEMO_FILES = (
    "kommungrans.geojson",
    "jordbruksblock.gpkg",
    "utvecklingsomraden_op2017.gpkg",
    "utvecklingsomraden_op2025.gpkg",
    "nmd.tif",
    "DEMODATA.txt",
    "README.md",
)

GRID = 0.01  # coordinate precision of generated geometries, metres
SHRINK_M = 4.0  # negative buffer applied to field cells, metres (gap ≈ 8 m)
MIN_BLOCK_HA = 1.0
MAX_BLOCK_HA = 20.0
N_CLEARINGS = 16  # small farmland pockets outside the main plains

# Approximate village / district centres in EPSG:3006 (metres). Placed by hand
# from rough coordinates; good enough for a demo, not a gazetteer.
PLACES: dict[str, tuple[float, float]] = {
    "Norrköping": (568_700.0, 6_495_100.0),
    "Åby": (568_400.0, 6_503_400.0),
    "Krokek": (581_100.0, 6_503_900.0),
    "Skärblacka": (552_000.0, 6_492_300.0),
    "Kimstad": (556_500.0, 6_489_800.0),
    "Östra Husby": (591_100.0, 6_493_700.0),
    "Östra Ny": (598_900.0, 6_493_400.0),
    "Kvillinge": (550_500.0, 6_496_200.0),
    "Svärtinge": (561_500.0, 6_500_500.0),
    "Jursla": (565_000.0, 6_502_700.0),
}


# ---------------------------------------------------------------------------
# small geometry helpers


def _ellipse(cx: float, cy: float, a: float, b: float, rot_deg: float, n: int = 48) -> Polygon:
    """Ellipse with semi-axes a, b (m), rotated rot_deg counter-clockwise."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    r = math.radians(rot_deg)
    x = a * np.cos(t)
    y = b * np.sin(t)
    xs = cx + x * math.cos(r) - y * math.sin(r)
    ys = cy + x * math.sin(r) + y * math.cos(r)
    return Polygon(np.column_stack([xs, ys]))


def _blob(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    area_ha: float,
    *,
    elong: float = 1.3,
    rot_deg: float | None = None,
    wobble: float = 0.18,
    n: int = 22,
) -> Polygon:
    """Irregular star-shaped polygon of about area_ha hectares centred on (cx, cy)."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 5):
        r += wobble / k * rng.uniform(0.5, 1.0) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
    rot = math.radians(rng.uniform(0, 180) if rot_deg is None else rot_deg)
    x = r * np.cos(t) * elong
    y = r * np.sin(t) / elong
    xs = x * math.cos(rot) - y * math.sin(rot)
    ys = x * math.sin(rot) + y * math.cos(rot)
    unit = Polygon(np.column_stack([xs, ys]))
    scale = math.sqrt(area_ha * 10_000.0 / unit.area)
    return Polygon(np.column_stack([cx + xs * scale, cy + ys * scale]))


def _largest_polygon(geom: shapely.Geometry) -> Polygon:
    """The largest polygon part of a (multi)polygon or collection."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return max(parts, key=lambda p: p.area)


def _snap(geom: shapely.Geometry) -> shapely.Geometry:
    """Round coordinates to GRID metres, keeping the geometry valid."""
    return shapely.set_precision(geom, GRID)


def _read_boundary_3006() -> Polygon:
    """The packaged municipal boundary, reprojected to EPSG:3006."""
    gdf = gpd.read_file(io.BytesIO(_boundary_bytes()), engine="pyogrio")  # EPSG:4326
    return gdf.to_crs(ANALYSIS_CRS).geometry.iloc[0]


def _boundary_bytes() -> bytes:
    """Bytes of the packaged boundary GeoJSON (EPSG:4326)."""
    return importlib.resources.files("pipeline").joinpath("data", BOUNDARY_RESOURCE).read_bytes()


# ---------------------------------------------------------------------------
# landscape: where farmland may lie


@dataclass(frozen=True)
class _Zone:
    """A farmland zone: ellipse (m), mean field-cell size (ha), pasture probability."""

    cx: float
    cy: float
    a: float
    b: float
    rot: float
    cell_ha: float
    p_bete: float


ZONES: tuple[_Zone, ...] = (
    _Zone(561_500, 6_490_800, 9_000, 4_300, 18, 8.0, 0.12),  # Östgötaslätten SW of the city
    _Zone(573_000, 6_490_300, 5_200, 2_600, 8, 7.0, 0.15),  # Klinga / Vrinnevi, S
    _Zone(564_500, 6_501_800, 6_800, 2_500, 4, 5.5, 0.25),  # Åby / Jursla / Svärtinge, N
    _Zone(580_700, 6_503_200, 2_300, 1_100, 15, 3.5, 0.45),  # Krokek
    _Zone(591_000, 6_492_800, 6_500, 3_300, 12, 8.0, 0.18),  # Östra Husby, Vikbolandet W
    _Zone(601_500, 6_490_000, 7_000, 3_200, 22, 8.0, 0.20),  # Östra Ny, Vikbolandet E
    _Zone(554_300, 6_490_600, 3_800, 2_300, -30, 5.0, 0.30),  # Skärblacka / Kimstad
    _Zone(550_300, 6_496_000, 2_200, 1_100, 10, 3.5, 0.40),  # Kvillinge
)


def _water() -> shapely.Geometry:
    """Approximate Bråviken and lake Glan (no fields, no development areas)."""
    inner = shapely.LineString([(572_300, 6_497_800), (578_000, 6_498_700)])
    inner = inner.buffer(500, quad_segs=4)
    outer = shapely.LineString(
        [(578_000, 6_498_700), (583_000, 6_499_400), (590_000, 6_500_300),
         (597_000, 6_500_000), (603_000, 6_498_500)]
    ).buffer(1_200, quad_segs=4)
    braviken = shapely.union(inner, outer)
    glan = _ellipse(556_400, 6_497_600, 3_600, 1_300, 8, n=32)
    return shapely.union(braviken, glan)


def _roads() -> shapely.Geometry:
    """A few main roads (E4, rv 51, rv 55, Vikbolandsvägen), 30 m wide corridors."""
    lines = shapely.MultiLineString([
        [(552_000, 6_480_000), (562_000, 6_488_500), (568_700, 6_495_100),
         (575_000, 6_500_800), (582_000, 6_505_000)],
        [(568_700, 6_495_100), (563_000, 6_499_000), (556_000, 6_503_500)],
        [(568_700, 6_495_100), (566_000, 6_486_500), (563_000, 6_479_000)],
        [(570_000, 6_494_500), (580_000, 6_494_000), (590_000, 6_494_300),
         (600_000, 6_491_000), (612_000, 6_485_500)],
        [(568_700, 6_495_100), (556_000, 6_492_500), (546_000, 6_491_000)],
    ])
    return lines.buffer(15.0, quad_segs=2)


def _zone_shape(z: _Zone, rng: np.random.Generator) -> Polygon:
    """Irregular outline of a farmland zone (roughly its ellipse, with lobes), metres."""
    return _blob(
        rng, z.cx, z.cy, math.pi * z.a * z.b / 10_000.0,
        elong=math.sqrt(z.a / z.b), rot_deg=z.rot, wobble=0.45, n=64,
    )


def _clearing_zones(boundary: Polygon, rng: np.random.Generator) -> list[_Zone]:
    """Small farmland pockets in forest valleys, away from the big zones and the areas."""
    free = boundary.buffer(-1_500.0, quad_segs=4).difference(
        shapely.union_all(
            [_water().buffer(800.0, quad_segs=4),
             shapely.Point(PLACES["Norrköping"]).buffer(6_000, quad_segs=8)]
            + [_ellipse(z.cx, z.cy, z.a + 1_200, z.b + 1_200, z.rot, n=32) for z in ZONES]
            + [shapely.Point(PLACES[a.place][0] + a.dx, PLACES[a.place][1] + a.dy).buffer(2_000)
               for a in AREAS]
        )
    )
    shapely.prepare(free)
    minx, miny, maxx, maxy = free.bounds
    out: list[_Zone] = []
    while len(out) < N_CLEARINGS:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not free.contains(shapely.Point(x, y)):
            continue
        if any(math.hypot(x - z.cx, y - z.cy) < 3_500 for z in out):
            continue
        a = rng.uniform(700, 1_600)
        out.append(_Zone(x, y, a, a * rng.uniform(0.4, 0.7), rng.uniform(0, 180), 3.0, 0.4))
    return out


def _farmland_zones(
    boundary: Polygon, rng: np.random.Generator
) -> list[tuple[_Zone, shapely.Geometry]]:
    """Zones with the polygons where field blocks may lie (inside the boundary,
    off water, roads, town and village cores and forest islands)."""
    zones = list(ZONES) + _clearing_zones(boundary, rng)
    inner = boundary.buffer(-150.0, quad_segs=4)
    exclude = [
        _water(),
        _roads(),
        shapely.Point(PLACES["Norrköping"]).buffer(3_200, quad_segs=8),  # the city
    ]
    for name, (x, y) in PLACES.items():
        if name != "Norrköping":
            exclude.append(shapely.Point(x, y).buffer(550, quad_segs=6))  # village cores
    # forest islands and wetlands inside the farmland
    for z in zones:
        for _ in range(int(z.a * z.b / 4e6)):
            ang = rng.uniform(0, 2 * math.pi)
            rad = math.sqrt(rng.uniform(0, 1))
            px = z.cx + rad * z.a * math.cos(ang)
            py = z.cy + rad * z.b * math.sin(ang)
            exclude.append(_blob(rng, px, py, rng.uniform(15, 90), elong=1.6, n=14))
    blocked = shapely.union_all(exclude)
    out: list[tuple[_Zone, shapely.Geometry]] = []
    for z in zones:  # zones may touch; each takes only what earlier ones left
        g = _zone_shape(z, rng).intersection(inner).difference(blocked)
        out.append((z, g))
        blocked = shapely.union(blocked, g)
    return out


# ---------------------------------------------------------------------------
# field blocks


def _field_cells(
    zone_geom: shapely.Geometry, cell_ha: float, rng: np.random.Generator
) -> list[Polygon]:
    """Voronoi cells of random points inside zone_geom, clipped and shrunk (m)."""
    minx, miny, maxx, maxy = zone_geom.bounds
    n = int(zone_geom.area / (cell_ha * 10_000.0))
    # rejection-sample points inside the zone (vectorised)
    xs = rng.uniform(minx, maxx, n * 4)
    ys = rng.uniform(miny, maxy, n * 4)
    pts = shapely.points(xs, ys)
    shapely.prepare(zone_geom)
    pts = pts[shapely.contains(zone_geom, pts)][:n]
    extent = shapely.box(minx - 1_000, miny - 1_000, maxx + 1_000, maxy + 1_000)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent, ordered=True)
    )
    cells = shapely.intersection(cells, zone_geom)
    cells = shapely.buffer(cells, -SHRINK_M, join_style="mitre")
    parts = shapely.get_parts(cells)
    parts = parts[shapely.get_type_id(parts) == 3]
    parts = _snap(parts)
    parts = shapely.get_parts(parts)  # set_precision may split thin necks
    parts = parts[shapely.get_type_id(parts) == 3]
    area = shapely.area(parts) / 10_000.0
    # keep real-sized fields; drop some more at random as farmsteads/forest (natural gaps)
    keep = (area >= MIN_BLOCK_HA + 0.05) & (area <= MAX_BLOCK_HA - 0.05)
    keep &= rng.uniform(size=len(parts)) > 0.07
    return list(parts[keep])


def _bowtie(cell: Polygon) -> Polygon:
    """Self-intersecting 'bow-tie' from four vertices of a convex cell (invalid on purpose)."""
    ring = np.asarray(cell.exterior.coords)[:-1]
    k = len(ring)
    a, b, c, d = (ring[i * k // 4] for i in range(4))
    return Polygon([a, c, b, d])  # edges a-c and b-d cross


def _make_blocks(boundary: Polygon) -> gpd.GeoDataFrame:
    """Synthetic Jordbruksverket-like field blocks in EPSG:3006."""
    rng = np.random.default_rng(SEED)
    zones = _farmland_zones(boundary, rng)
    geoms: list[shapely.Geometry] = []
    classes: list[str] = []
    for z, zg in zones:
        cells = _field_cells(zg, z.cell_ha, rng)
        geoms.extend(cells)
        classes.extend(np.where(rng.uniform(size=len(cells)) < z.p_bete, "Bete", "Åker").tolist())

    all_zones = shapely.union_all([zg for _, zg in zones])
    shapely.prepare(all_zones)
    areas = np.array([g.area / 10_000.0 for g in geoms])
    tree = shapely.STRtree(geoms)
    extra_geoms: list[Polygon] = []

    def shifted_copy(i: int) -> Polygon | None:
        """Copy of block i moved ~35 % of its width, inside the zones, overlapping only block i."""
        g = geoms[i]
        step = 0.35 * math.sqrt(g.area)
        ang = rng.uniform(0, 2 * math.pi)
        moved = shapely.affinity.translate(g, step * math.cos(ang), step * math.sin(ang))
        others = [geoms[j] for j in tree.query(moved) if j != i] + extra_geoms
        if others:
            moved = moved.difference(shapely.union_all(others).buffer(SHRINK_M, quad_segs=2))
        moved = _largest_polygon(_snap(moved.intersection(all_zones)))
        ha = moved.area / 10_000.0
        if MIN_BLOCK_HA + 0.05 <= ha <= MAX_BLOCK_HA - 0.05 and moved.intersects(g):
            return moved
        return None

    # ~10 pasture blocks partly overlapping arable blocks ("first class wins")
    # and 5 same-class overlapping pairs (coverage union)
    order = rng.permutation(len(geoms))
    extra_classes: list[str] = []
    used: set[int] = set()
    n_bete_on_aker = n_same = 0
    for i in order:
        if n_bete_on_aker >= 10 and n_same >= 5:
            break
        if not 3.0 <= areas[i] <= 15.0:
            continue
        want_bete = n_bete_on_aker < 10 and classes[i] == "Åker"
        want_same = not want_bete and n_same < 5
        if not (want_bete or want_same):
            continue
        moved = shifted_copy(int(i))
        if moved is None:
            continue
        used.add(int(i))
        extra_geoms.append(moved)
        if want_bete:
            extra_classes.append("Bete")
            n_bete_on_aker += 1
        else:
            extra_classes.append(classes[i])
            n_same += 1

    # two invalid bow-tie blocks (GPKG stores them; clean must repair them)
    n_bow = 0
    for i in order:
        if n_bow >= 2:
            break
        g = geoms[i]
        if int(i) in used or not 8.0 <= areas[i] <= 15.0:
            continue
        if not shapely.equals(g, g.convex_hull):
            continue
        bow = _bowtie(g)
        fixed = shapely.make_valid(bow)
        if bow.is_valid or not MIN_BLOCK_HA + 0.5 <= fixed.area / 10_000.0 <= MAX_BLOCK_HA:
            continue
        geoms[i] = bow
        used.add(int(i))
        n_bow += 1

    geoms.extend(extra_geoms)
    classes.extend(extra_classes)
    ha = [round(shapely.make_valid(g).area / 10_000.0, 2) for g in geoms]
    # unique 11-digit block ids
    ids: set[int] = set()
    while len(ids) < len(geoms):
        ids.update(int(v) for v in rng.integers(10**10, 10**11, len(geoms) - len(ids)))
    blockid = sorted(ids)
    perm = rng.permutation(len(geoms))
    blockid_arr = np.array([f"{v:011d}" for v in blockid])[np.argsort(perm)]
    gdf = gpd.GeoDataFrame(
        {
            "blockid": blockid_arr,
            "agoslag": classes,
            "kategori": "Jordbruksblock",
            "areal": np.array(ha, dtype="float64"),
            "region_kod": "05",
            "arslager": np.full(len(geoms), 2024, dtype="int32"),
        },
        geometry=gpd.GeoSeries(geoms),
        crs=ANALYSIS_CRS,
    )
    return gdf.sort_values("blockid", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# development areas


@dataclass(frozen=True)
class _AreaSpec:
    """A development area: id, name, type, centre offset (m) from a place, size (ha)."""

    omr_id: str
    namn: str
    typ: str
    place: str
    dx: float
    dy: float
    ha: float
    status: str  # kept / changed / removed / new


B, V, M, H, T = "bostäder", "verksamheter", "blandad bebyggelse", "handel", "teknisk försörjning"

AREAS: tuple[_AreaSpec, ...] = (
    # --- city edge: south-west / west / south plains (farmland) ---
    _AreaSpec("U-001", "Ljunga norra", B, "Norrköping", -4_300, -1_700, 95, "kept"),
    _AreaSpec("U-002", "Ljunga södra", B, "Norrköping", -4_500, -3_300, 80, "removed"),
    _AreaSpec("U-003", "Klinga verksamhetsområde", V, "Norrköping", 1_300, -4_100, 210, "kept"),
    _AreaSpec("U-004", "Klinga handelsplats", H, "Norrköping", 2_300, -3_900, 60, "kept"),
    _AreaSpec("U-005", "Borg gärde", B, "Norrköping", -6_200, -2_800, 140, "removed"),
    _AreaSpec("U-006", "Vrinnevi östra", M, "Norrköping", 3_900, -2_400, 70, "kept"),
    _AreaSpec("U-007", "Smedby södra", B, "Norrköping", -1_400, -3_700, 55, "changed"),
    _AreaSpec("U-008", "Ektorp västra", B, "Norrköping", -2_800, -3_600, 45, "kept"),
    _AreaSpec("U-009", "Skälv ängar", B, "Norrköping", -5_900, -600, 120, "removed"),
    _AreaSpec("U-010", "Kallerstad verksamheter", V, "Norrköping", -3_300, 1_900, 250, "kept"),
    _AreaSpec("U-011", "Ingelsta handelsområde", H, "Norrköping", -2_600, 2_800, 80, "kept"),
    _AreaSpec("U-012", "Händelö logistikpark", V, "Norrköping", 5_400, 0, 290, "kept"),
    _AreaSpec("U-013", "Lindö strand", B, "Norrköping", 3_700, 1_500, 80, "kept"),
    _AreaSpec("U-014", "Navestad östra", B, "Norrköping", 3_300, -300, 70, "kept"),
    _AreaSpec("U-015", "Hageby gärde", M, "Norrköping", 200, -3_500, 40, "changed"),
    _AreaSpec("U-016", "Mässvägen reningsverk", T, "Norrköping", 6_200, -2_200, 12, "kept"),
    _AreaSpec("U-017", "Såpkullen", B, "Norrköping", -7_800, -4_000, 160, "removed"),
    _AreaSpec("U-018", "Kvarnberget", M, "Norrköping", -4_600, 900, 120, "changed"),
    # --- Åby / Jursla / Svärtinge ---
    _AreaSpec("U-019", "Åby västra", B, "Åby", -1_500, -300, 90, "kept"),
    _AreaSpec("U-020", "Åby södra", B, "Åby", 300, -1_500, 75, "removed"),
    _AreaSpec("U-021", "Åby verksamhetsområde", V, "Åby", 1_700, -700, 50, "kept"),
    _AreaSpec("U-022", "Jursla gärde", B, "Jursla", 300, -900, 45, "kept"),
    _AreaSpec("U-023", "Svärtinge by", B, "Svärtinge", 900, 500, 35, "kept"),
    _AreaSpec("U-024", "Svärtinge östra", B, "Svärtinge", 1_600, -900, 60, "changed"),
    # --- Krokek / Kolmården ---
    _AreaSpec("U-025", "Krokek centrum", M, "Krokek", -300, 900, 45, "kept"),
    _AreaSpec("U-026", "Krokek södra", B, "Krokek", -600, -1_000, 40, "removed"),
    _AreaSpec("U-027", "Kolmårdens strand", B, "Krokek", 2_200, 1_300, 150, "kept"),
    # --- Skärblacka / Kimstad / Kvillinge ---
    _AreaSpec("U-028", "Skärblacka ängar", B, "Skärblacka", 900, -800, 50, "kept"),
    _AreaSpec("U-029", "Skärblacka bruk", V, "Skärblacka", -700, 900, 60, "kept"),
    _AreaSpec("U-030", "Kimstad östra", B, "Kimstad", 1_100, 300, 40, "removed"),
    _AreaSpec("U-031", "Kimstad stationsområde", M, "Kimstad", -500, -900, 20, "kept"),
    _AreaSpec("U-032", "Kvillinge norra", B, "Kvillinge", 200, 1_200, 40, "kept"),
    # --- Vikbolandet ---
    _AreaSpec("U-033", "Östra Husby södra", B, "Östra Husby", 300, -1_100, 45, "removed"),
    _AreaSpec("U-034", "Östra Husby norra", B, "Östra Husby", -400, 1_000, 25, "kept"),
    _AreaSpec("U-035", "Östra Ny kyrkby", B, "Östra Ny", 700, 600, 30, "kept"),
    _AreaSpec("U-036", "Vikbolandsvägen verksamheter", V, "Östra Husby", 2_600, 300, 35, "changed"),
    _AreaSpec("U-037", "Östra Ny vattenverk", T, "Östra Ny", -1_300, 1_600, 8, "kept"),
    _AreaSpec("U-038", "Lindö park", B, "Norrköping", 4_700, 1_400, 50, "kept"),
    _AreaSpec("U-039", "Ingelsta östra", V, "Norrköping", -1_700, 3_300, 90, "kept"),
    _AreaSpec("U-040", "Marielund", B, "Norrköping", 900, 3_200, 45, "kept"),
    # --- new in the later plan: mostly woodland and brownfield, off farmland ---
    _AreaSpec("U-041", "Hagebyhöga skogsstad", B, "Åby", 4_000, -300, 120, "new"),
    _AreaSpec("U-042", "Kolmårdsporten", M, "Krokek", -3_300, 2_000, 90, "new"),
    _AreaSpec("U-043", "Åby skogsbacke", B, "Åby", 500, 1_900, 70, "new"),
    _AreaSpec("U-044", "Inre hamnen", M, "Norrköping", 2_400, 1_300, 25, "new"),
    _AreaSpec("U-045", "Jursla backe", B, "Jursla", -800, 2_100, 45, "new"),
    _AreaSpec("U-046", "Skärblacka västra", B, "Skärblacka", -2_600, 2_200, 35, "new"),
    _AreaSpec("U-047", "Kolmårdsvägen verksamheter", V, "Åby", 2_800, 2_600, 110, "new"),
    _AreaSpec("U-048", "Krokek norra", B, "Krokek", 300, 2_700, 40, "new"),
    _AreaSpec("U-049", "Arkösundsvägen solpark", T, "Östra Ny", 3_300, -5_200, 180, "new"),
    _AreaSpec("U-050", "Kimstad skogsbryn", B, "Kimstad", 2_000, -5_800, 30, "new"),
    _AreaSpec("U-051", "Herstadberg norra", B, "Norrköping", -1_500, 4_300, 30, "new"),
    _AreaSpec("U-052", "Kvillinge skog", B, "Kvillinge", -1_500, 1_500, 20, "new"),
)

OVERLAP_PAIR = ("U-003", "U-004")  # two kept areas that partly overlap
HOLE_AREA = "U-001"  # kept area with an interior ring around a farm
MULTI_AREA = "U-028"  # kept area in two parts
MULTI_AREA_2025 = "U-041"  # a new two-part area in the later plan


def _area_geometry(
    spec: _AreaSpec, allowed: shapely.Geometry, taken: shapely.Geometry, seed: int
) -> shapely.Geometry:
    """Base geometry of one area in EPSG:3006: inside `allowed`, ≥ 25 m from `taken`."""
    rng = np.random.default_rng([SEED, seed])
    px, py = PLACES[spec.place]
    cx, cy = px + spec.dx, py + spec.dy
    free = allowed.difference(taken.buffer(25.0, quad_segs=4))
    if spec.omr_id in (MULTI_AREA, MULTI_AREA_2025):
        a = _blob(rng, cx, cy, spec.ha * 0.6)
        b = _blob(rng, cx + 1.2 * math.sqrt(spec.ha * 1e4), cy + 300, spec.ha * 0.4)
        g = MultiPolygon([_largest_polygon(a.intersection(free)),
                          _largest_polygon(b.intersection(free))])
    else:
        g = _largest_polygon(_blob(rng, cx, cy, spec.ha).intersection(free))
        if spec.omr_id == HOLE_AREA:
            # a farm left out of the area: an interior ring with fields inside it
            hole = _blob(rng, cx + 150, cy - 100, spec.ha * 0.16, elong=1.1, wobble=0.05, n=12)
            g = g.difference(hole)
    return _snap(g)


def _changed_geometry(base: shapely.Geometry, allowed: shapely.Geometry, seed: int) -> Polygon:
    """Reshaped version of a changed area: one side cut away, edges rounded off."""
    rng = np.random.default_rng([SEED, 1_000 + seed])
    c = base.centroid
    minx, miny, maxx, maxy = base.bounds
    w = max(maxx - minx, maxy - miny)
    ang = rng.uniform(0, 2 * math.pi)
    # keep the part on one side of a line just off the centroid
    half = shapely.affinity.rotate(
        shapely.box(c.x - 2 * w, c.y - 0.15 * w, c.x + 2 * w, c.y + 2 * w), ang, origin=c,
        use_radians=True,
    )
    g = _largest_polygon(base.intersection(half))
    g = g.buffer(30.0, quad_segs=3).buffer(-30.0, quad_segs=3).intersection(base)
    return _largest_polygon(_snap(g.intersection(allowed)))


def _make_areas(boundary: Polygon) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Development areas of ÖP 2017 and of the later plan, both in EPSG:3006.

    Areas keep 25 m apart except the designed overlapping pair."""
    allowed = boundary.buffer(-100.0, quad_segs=4).difference(_water())
    rows17: list[dict] = []
    rows25: list[dict] = []
    placed: list[shapely.Geometry] = []
    for n, spec in enumerate(AREAS):
        taken = shapely.union_all(placed) if placed else shapely.Polygon()
        if spec.omr_id == OVERLAP_PAIR[1]:
            taken = shapely.Polygon()  # overlaps its partner on purpose
        g = _area_geometry(spec, allowed, taken, n)
        placed.append(g)
        row = {"omr_id": spec.omr_id, "namn": spec.namn, "typ": spec.typ}
        if spec.status != "new":
            rows17.append({**row, "geometry": g})
        if spec.status in ("kept", "new"):
            rows25.append({**row, "geometry": g})
        elif spec.status == "changed":
            rows25.append({**row, "geometry": _changed_geometry(g, allowed, n)})
    op17 = gpd.GeoDataFrame(rows17, geometry="geometry", crs=ANALYSIS_CRS)
    op25 = gpd.GeoDataFrame(rows25, geometry="geometry", crs=ANALYSIS_CRS)
    return op17, op25


# ---------------------------------------------------------------------------
# land-cover raster (NMD-like)

NMD_RES = 10.0  # metres, as NMD
NMD_NODATA = 255
NMD_BLOCK = 256  # GeoTIFF tile size, pixels
NMD_MARGIN_M = 200.0  # raster extent = the boundary's bounds plus this, on the 10 m grid
# Designed differences between the raster and the field blocks (the vector path):
FALLOW_SHARE = 0.08  # Åker blocks picked (whole blocks) until ≥ 8 % of Åker area: painted 42
N_ARABLE_OUTSIDE = 40  # arable fields outside the blocks (blobs next to blocks), painted 3
ARABLE_OUTSIDE_HA = (2.0, 6.0)  # size range of those blobs before blocks are painted over them
NODATA_AREA = "U-010"  # a pixel-aligned nodata patch (255) sits inside this area
NODATA_PATCH_M = (300.0, 200.0)  # width, height of the patch, metres
# Forest classes (NMD 111–118, skog ej på våtmark) with their weights in the background
FOREST = ((111, 0.30), (112, 0.25), (113, 0.15), (114, 0.08), (115, 0.10), (116, 0.02),
          (117, 0.03), (118, 0.07))
NMD_COLORS = {2: (190, 180, 110), 3: (255, 230, 120), 41: (220, 200, 180), 42: (200, 220, 120),
              51: (200, 40, 40), 52: (240, 120, 100), 53: (110, 110, 110), 61: (70, 130, 220),
              62: (30, 80, 180), 111: (30, 110, 50), 112: (20, 90, 60), 113: (40, 120, 70),
              114: (60, 140, 60), 115: (110, 170, 70), 116: (90, 160, 40), 117: (100, 160, 60),
              118: (170, 200, 130)}


@dataclass(frozen=True)
class LandcoverDesign:
    """Polygons (EPSG:3006) that the demo raster paints, in painting order.

    A pixel takes the class of the last layer containing its centre: … → `outside` (3) →
    `bete` (42) → `fallow` (42) → `aker` (3) → `nodata` (255). So the raster's åkermark is
    non-fallow Åker ∪ (outside − Bete − fallow Åker), minus the nodata patch, up to the
    10 m pixel edges (`arable_in`).
    """

    grid: tuple[float, float, int, int]  # west, north, width, height (pixels)
    fallow: np.ndarray  # Åker blocks painted 42 (not arable in the raster)
    aker: np.ndarray  # the other Åker blocks, painted 3
    bete: np.ndarray  # Bete blocks, painted 42
    outside: shapely.Geometry  # arable fields outside the blocks, painted 3 before them
    nodata: shapely.Geometry  # pixel-aligned box painted 255
    fallow_share: float  # area of fallow blocks / area of all Åker blocks (sums of areas)
    outside_ha: float  # area of `outside` not under any block

    def arable_in(self, region: shapely.Geometry) -> shapely.Geometry:
        """The designed åkermark inside `region` (exact polygons, no pixels)."""
        def clip(geoms: np.ndarray) -> shapely.Geometry:
            near = geoms[shapely.intersects(geoms, region)]
            return shapely.union_all(shapely.intersection(near, region))

        aker, fallow, bete = clip(self.aker), clip(self.fallow), clip(self.bete)
        extra = shapely.difference(shapely.intersection(self.outside, region),
                                   shapely.union(bete, fallow))
        return shapely.difference(shapely.union(aker, extra), self.nodata)


def landcover_design(boundary: Polygon, blocks: gpd.GeoDataFrame,
                     op17: gpd.GeoDataFrame) -> LandcoverDesign:
    """The designed differences between the demo raster and the field blocks (deterministic).

    - `FALLOW_SHARE`: whole Åker blocks, in random order, until they make up ≥ 8 % of the
      Åker block area, are fallow or grazed (NMD 42, not åkermark);
    - `N_ARABLE_OUTSIDE` arable fields (NMD 3) lie next to blocks, outside them, a quarter
      of them centred in ÖP 2017 areas;
    - a nodata patch (255) lies inside area `NODATA_AREA`.
    """
    rng = np.random.default_rng([SEED, 7])
    minx, miny, maxx, maxy = boundary.bounds
    west = math.floor((minx - NMD_MARGIN_M) / NMD_RES) * NMD_RES
    south = math.floor((miny - NMD_MARGIN_M) / NMD_RES) * NMD_RES
    east = math.ceil((maxx + NMD_MARGIN_M) / NMD_RES) * NMD_RES
    north = math.ceil((maxy + NMD_MARGIN_M) / NMD_RES) * NMD_RES
    grid = (west, north, int(round((east - west) / NMD_RES)),
            int(round((north - south) / NMD_RES)))

    geoms = shapely.make_valid(blocks.geometry.array.to_numpy())
    area = shapely.area(geoms)
    is_aker = (blocks["agoslag"] == "Åker").to_numpy()
    aker_idx = np.flatnonzero(is_aker)
    order = rng.permutation(aker_idx)
    cum = np.cumsum(area[order])
    n_fallow = int(np.searchsorted(cum, FALLOW_SHARE * area[aker_idx].sum())) + 1
    fallow_mask = np.zeros(len(geoms), dtype=bool)
    fallow_mask[order[:n_fallow]] = True

    # arable fields outside the blocks: centred 40–250 m from a block, off water and towns
    tree = shapely.STRtree(geoms)
    avoid = shapely.union_all([_water(), _roads().buffer(20.0, quad_segs=2),
                               shapely.Point(PLACES["Norrköping"]).buffer(3_200, quad_segs=8)])
    shapely.prepare(avoid)
    in_areas = shapely.union_all(op17.geometry.array.to_numpy())
    shapely.prepare(in_areas)
    inner = boundary.buffer(-300.0, quad_segs=4)
    shapely.prepare(inner)
    blobs: list[Polygon] = []
    while len(blobs) < N_ARABLE_OUTSIDE:
        want_area = len(blobs) < N_ARABLE_OUTSIDE // 4
        i = int(rng.integers(len(geoms)))
        c = shapely.centroid(geoms[i])
        ang, dist = rng.uniform(0, 2 * math.pi), rng.uniform(200.0, 500.0)
        p = shapely.Point(c.x + dist * math.cos(ang), c.y + dist * math.sin(ang))
        d_block = shapely.distance(p, geoms[tree.query_nearest(p)[0]])
        if not (40.0 <= d_block <= 250.0) or avoid.contains(p) or not inner.contains(p):
            continue
        if want_area != bool(in_areas.contains(p)):
            continue
        blobs.append(_blob(rng, p.x, p.y, rng.uniform(*ARABLE_OUTSIDE_HA), elong=1.4, n=16))
    outside = _snap(shapely.difference(shapely.union_all(blobs), avoid))
    under = geoms[tree.query(outside, predicate="intersects")]
    outside_free = shapely.difference(outside, shapely.union_all(under))

    target = op17.loc[op17["omr_id"] == NODATA_AREA].geometry.iloc[0]
    c = shapely.centroid(target)
    x0 = math.floor(c.x / NMD_RES) * NMD_RES
    y0 = math.floor(c.y / NMD_RES) * NMD_RES
    w, h = NODATA_PATCH_M
    nodata = shapely.box(x0 - w / 2, y0 - h / 2, x0 + w / 2, y0 + h / 2)
    return LandcoverDesign(
        grid=grid, fallow=geoms[fallow_mask], aker=geoms[is_aker & ~fallow_mask],
        bete=geoms[~is_aker], outside=outside, nodata=nodata,
        fallow_share=float(area[fallow_mask].sum() / area[aker_idx].sum()),
        outside_ha=float(shapely.area(outside_free) / 10_000.0))


def _forest_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Forest stands of ~400 m with wavy edges: classes 111–118 (uint8)."""
    cell = 40  # pixels
    codes = np.array([c for c, _ in FOREST], dtype=np.uint8)
    weights = np.array([w for _, w in FOREST])
    coarse = rng.choice(codes, size=(height // cell + 3, width // cell + 3),
                        p=weights / weights.sum())

    def wave(n: int) -> np.ndarray:
        """Smooth offsets of at most 15 pixels along an axis of n pixels."""
        walk = np.cumsum(rng.normal(0.0, 1.0, n))
        walk -= np.linspace(walk[0], walk[-1], n)
        smooth = np.convolve(walk, np.ones(25) / 25.0, mode="same")
        return np.clip(np.rint(smooth), -15, 15).astype(np.int32)

    shift_rows = wave(width)  # per column: moves the stand edges up/down
    shift_cols = wave(height)  # per row: moves the stand edges left/right
    out = np.empty((height, width), dtype=np.uint8)
    cols = np.arange(width, dtype=np.int32)
    for r0 in range(0, height, 512):
        rows = np.arange(r0, min(r0 + 512, height), dtype=np.int32)
        ri = (rows[:, None] + cell + shift_rows[None, :]) // cell
        ci = (cols[None, :] + cell + shift_cols[rows][:, None]) // cell
        out[r0:r0 + len(rows)] = coarse[ri, ci]
    return out


def _paint(arr: np.ndarray, transform, geoms, value: int) -> None:
    """Burn geometries into arr in place (pixels whose centre is inside)."""
    from rasterio.features import rasterize

    shapes = [(g, value) for g in geoms if g is not None and not shapely.is_empty(g)]
    if shapes:
        rasterize(shapes, out=arr, transform=transform, all_touched=False)


def _make_landcover(boundary: Polygon, blocks: gpd.GeoDataFrame, op17: gpd.GeoDataFrame
                    ) -> tuple[np.ndarray, object, LandcoverDesign]:
    """The NMD-like class array (uint8), its transform and the design it was painted from."""
    from rasterio.transform import from_origin

    design = landcover_design(boundary, blocks, op17)
    west, north, width, height = design.grid
    transform = from_origin(west, north, NMD_RES, NMD_RES)
    rng = np.random.default_rng([SEED, 8])
    arr = _forest_background(rng, height, width)
    blocks_all = shapely.make_valid(blocks.geometry.array.to_numpy())
    # open land with vegetation around the fields (margins, farmyards, grazing)
    _paint(arr, transform, shapely.buffer(blocks_all, 25.0, quad_segs=2), 42)
    glan = _ellipse(556_400, 6_497_600, 3_600, 1_300, 8, n=32)
    water = _water()
    _paint(arr, transform, [shapely.difference(water, glan)], 62)  # Bråviken: sea bay
    _paint(arr, transform, [glan], 61)  # lake Glan
    built = [shapely.Point(PLACES["Norrköping"]).buffer(3_200, quad_segs=8)]
    built += [shapely.Point(xy).buffer(550, quad_segs=6) for name, xy in PLACES.items()
              if name != "Norrköping"]
    mask = np.zeros(arr.shape, dtype=np.uint8)
    _paint(mask, transform, [shapely.difference(shapely.union_all(built), water)], 1)
    where = np.flatnonzero(mask)  # buildings (51) scattered in other built-up land (52)
    arr.flat[where] = np.where(rng.uniform(size=len(where)) < 0.3, 51, 52).astype(np.uint8)
    _paint(arr, transform, [_roads()], 53)
    _paint(arr, transform, [design.outside], 3)
    _paint(arr, transform, design.bete, 42)
    _paint(arr, transform, design.fallow, 42)
    _paint(arr, transform, design.aker, 3)
    _paint(arr, transform, [design.nodata], NMD_NODATA)
    return arr, transform, design


def _write_geotiff(target: pathlib.Path, arr: np.ndarray, transform) -> None:
    """Tiled DEFLATE GeoTIFF, EPSG:3006, nodata 255, colour table; no timestamp tags."""
    import rasterio

    profile = {"driver": "GTiff", "width": arr.shape[1], "height": arr.shape[0], "count": 1,
               "dtype": "uint8", "crs": ANALYSIS_CRS, "transform": transform,
               "nodata": NMD_NODATA, "tiled": True, "blockxsize": NMD_BLOCK,
               "blockysize": NMD_BLOCK, "compress": "deflate", "zlevel": 6,
               "predictor": 1, "interleave": "band"}
    with replacing(target) as tmp, rasterio.Env(GDAL_PAM_ENABLED="NO"), \
            rasterio.open(tmp, "w", **profile) as ds:
        ds.write(arr, 1)
        ds.write_colormap(1, {k: (*v, 255) for k, v in NMD_COLORS.items()})
        ds.update_tags(1, CLASSES="NMD-like classes: 3 åkermark, 42 övrig öppen mark med "
                       "vegetation, 51/52/53 exploaterad mark, 61 sjö, 62 hav, 111–118 skog")


# ---------------------------------------------------------------------------
# writing


@contextlib.contextmanager
def _pinned_gpkg_timestamp() -> Iterator[None]:
    """Pin GDAL's GeoPackage last_change timestamp; restore the previous setting."""
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_gpkg(
    target: pathlib.Path, gdf: gpd.GeoDataFrame, layer: str, *, promote_to_multi: bool
) -> None:
    """Write one layer to a new GeoPackage atomically (timestamp pinned)."""
    with replacing(target) as tmp, _pinned_gpkg_timestamp():
        pyogrio.write_dataframe(
            gdf, tmp, layer=layer, driver="GPKG", promote_to_multi=promote_to_multi
        )


DEMODATA_TEXT = (
    "Syntetiska demodata för opjord – inte Norrköpings kommuns siffror.\n"
    "Synthetic demo data for opjord - not Norrköping municipality's figures.\n"
)


def _readme(n_blocks: int, n17: int, n25: int, design: LandcoverDesign) -> str:
    """README.md text for the demo folder."""
    counts = {k: sum(a.status == k for a in AREAS) for k in ("kept", "changed", "removed", "new")}
    changes = ", ".join(f"{n} {k}" for k, n in counts.items())
    return f"""# opjord demo data (syntetiska demodata)

**These data are synthetic.** The field blocks and development areas are invented
around roughly placed real place names. Figures computed from them are *not*
Norrköping municipality's figures and must never be presented as such.
Only the municipal boundary is real (and strongly generalised).

Regenerate byte-identically with `opjord demo` (code: `pipeline/demo.py`,
fixed random seed {SEED}; identical bytes on the same GDAL/PROJ/GEOS versions).
`DEMODATA.txt` marks the folder as demo data: the pipeline sets `demo: true` in
its outputs when an input's folder holds that file.

## Files

- `kommungrans.geojson` (EPSG:4326): Norrköping's municipal boundary, one
  polygon, 95 vertices; columns `kommunkod`, `kommun`. Real but generalised.
- `jordbruksblock.gpkg`, layer `jordbruksblock` (EPSG:3006, SWEREF 99 TM):
  {n_blocks} synthetic field blocks shaped like Jordbruksverket's.
- `utvecklingsomraden_op2017.gpkg`, layer `utvecklingsomraden` (EPSG:3006):
  {n17} synthetic development areas standing in for ÖP 2017.
- `utvecklingsomraden_op2025.gpkg`, layer `utvecklingsomraden` (**EPSG:3010**,
  SWEREF 99 16 30, on purpose, to exercise reprojection): {n25} synthetic
  development areas standing in for a later plan.
- `nmd.tif` (EPSG:3006): a synthetic land-cover raster imitating Naturvårdsverket's
  NMD base layer: uint8, 10 m pixels, {design.grid[2]} × {design.grid[3]} px (the
  boundary's bounds plus {NMD_MARGIN_M:.0f} m), tiled {NMD_BLOCK} × {NMD_BLOCK},
  DEFLATE-compressed, with a colour table; nodata = {NMD_NODATA}.
- `DEMODATA.txt`: marker file (see above).

## The land-cover raster and how it differs from the blocks (by design)

Codes: 3 åkermark, 42 övrig öppen mark med vegetation, 51/52/53 exploaterad mark
(byggnad / ej byggnad / väg), 61 sjö (Glan), 62 hav (Bråviken), 111–118 skog
ej på våtmark (background stands of ~400 m), {NMD_NODATA} nodata. Painted in this order,
the last layer containing a pixel's centre wins: forest → 42 in a 25 m margin
around all blocks → water → built-up land → roads → arable fields outside the
blocks (3) → Bete blocks (42: NMD has no pasture class) → fallow Åker blocks (42)
→ the other Åker blocks (3) → nodata patch.

- Fallow or grazed: whole Åker blocks, {design.fallow_share * 100:.2f} % of the Åker
  block area ({len(design.fallow)} blocks; target {FALLOW_SHARE * 100:.0f} %), are 42, not 3.
- Arable outside the blocks: {N_ARABLE_OUTSIDE} fields next to blocks, {design.outside_ha:.1f} ha
  not under any block, are 3 ({N_ARABLE_OUTSIDE // 4} of them centred in ÖP 2017 areas).
- Nodata: a {NODATA_PATCH_M[0]:.0f} × {NODATA_PATCH_M[1]:.0f} m pixel-aligned patch inside
  {NODATA_AREA}.

So with `agricultural_codes = [3]` the raster finds less agricultural land than the
blocks (Åker + Bete): the difference is the Bete blocks, the fallow Åker blocks and
the nodata patch, minus the arable land outside blocks, up to the 10 m pixel edges.
`pipeline.demo.landcover_design` returns these polygons; the tests compare the raster
figures with them.

## Columns

`jordbruksblock`: `blockid` (text, 11 digits, unique), `agoslag` ("Åker" or
"Bete"), `kategori` (text), `areal` (ha, 2 decimals, area of the polygon),
`region_kod` (text, "05"), `arslager` (integer, 2024).

`utvecklingsomraden`: `omr_id` (text, e.g. "U-001"), `namn` (text), `typ`
("bostäder", "verksamheter", "blandad bebyggelse", "handel", "teknisk försörjning").

## Built-in test cases

- Blocks: about 80 % Åker / 20 % Bete, 1–20 ha, all inside the boundary,
  separated by ~8 m gaps; 10 Bete blocks partly overlap Åker blocks ("first
  class wins"), 5 pairs of same-class blocks overlap, and 2 blocks are invalid
  self-intersecting "bow-ties" (repaired by the pipeline's clean step; `areal`
  is the area of the repaired shape).
- Plans: in both plans {OVERLAP_PAIR[0]} and {OVERLAP_PAIR[1]} overlap, {HOLE_AREA} has a
  hole with farmland inside it, {MULTI_AREA} is a two-part MultiPolygon. Relative
  to ÖP 2017 the later plan keeps most areas unchanged (same id and geometry;
  after the round trip through EPSG:3010 they differ at sub-millimetre level),
  reshapes some (same id), removes some and adds new ones (new ids):
  {changes}.
  The removed areas lie mostly on farmland and the new ones mostly off it, so
  the agricultural share falls (by design, not by any real decision).

## Sources, licence, attribution

- `kommungrans.geojson`: the Norrköping feature of `swedish_municipalities.geojson`
  from GitHub okfse/sweden-geojson (simplified there with mapshaper to 2 % of
  the vertices), taken from opendatasoft's "sverige-kommuner-municipalities-of-sweden",
  originally converted from Valmyndigheten's (Swedish Election Authority) data.
  Strongly generalised (95 vertices): its outline and area are approximate, and
  parts of real Norrköping (e.g. around Kvillinge) fall outside it. The
  repository says "Feel free to reuse" but has no formal licence file; credit
  Valmyndigheten, opendatasoft and okfse/sweden-geojson when redistributing.
- All other files: synthetic, generated by opjord; released with the project
  under its licence (MIT). They imitate the *schema* of Jordbruksverket's open
  field-block data (CC BY 4.0) but contain none of it.
"""


def generate_demo(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the demo data set into out_dir and return the written files.

    Deterministic (fixed seed, pinned GeoPackage timestamp): two runs give
    byte-identical files. Each file is written atomically (temporary file in
    out_dir, then os.replace). Takes a few seconds.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    boundary = _read_boundary_3006()
    blocks = _make_blocks(boundary)
    op17, op25 = _make_areas(boundary)
    op25_3010 = op25.to_crs(OP2025_CRS)

    paths = [out_dir / name for name in DEMO_FILES]
    write_bytes_atomic(paths[0], _boundary_bytes())
    # blocks: Polygon layer; plans: MultiPolygon layers, as municipal GIS exports usually are
    _write_gpkg(paths[1], blocks, "jordbruksblock", promote_to_multi=False)
    _write_gpkg(paths[2], op17, "utvecklingsomraden", promote_to_multi=True)
    _write_gpkg(paths[3], op25_3010, "utvecklingsomraden", promote_to_multi=True)
    landcover, transform, design = _make_landcover(boundary, blocks, op17)
    _write_geotiff(paths[4], landcover, transform)
    del landcover
    write_text_atomic(paths[5], DEMODATA_TEXT)
    write_text_atomic(paths[6], _readme(len(blocks), len(op17), len(op25), design))
    return paths
