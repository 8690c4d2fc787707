#!/usr/bin/env python
"""Benchmarks for opjord against same-work peers (run on demand, not a test).

    python benchmarks/run_benchmarks.py [--scales norrkoping,county,national,national_whole]
                                        [--out benchmarks/_data] [--repeat 3] [--no-postgis]

For each case the script generates synthetic inputs (deterministic, seeded; kept in
`--out`, which is gitignored) and then times, interleaved run by run, fresh subprocesses
(peak memory per process from `wait4`'s ru_maxrss): `opjord analyse`, the floors
(imports; imports + reading what opjord reads), the DuckDB and PostGIS peers computing
the same figures in SQL (`benchmarks/peers.py`; PostGIS in a private cluster on
127.0.0.1 that the script starts and stops) and geopandas.overlay as context. Each
peer's figures are compared with opjord's summary.json and areas.csv on every run. The
cases measured replace theirs in `benchmarks/results.json` (the latest measurement of
every case), and the table of all of them (medians, each row with its series) is printed
and written between the result markers of `benchmarks/README.md`.

Synthetic data
--------------
Field blocks are Voronoi cells of Poisson points (one global process, tiled in 50 km
tiles with a seed per tile, so the Norrköping blocks are the same at every scale),
kept where a smooth random "farmland" field is high, shrunk towards their generator
(gaps for roads and ditches), densified to 10–30 vertices and jittered, kept at
1–20 ha; ~1 % are enlarged instead of shrunk so they overlap their neighbours. They carry
Jordbruksverket's attributes and are written as MultiPolygons in EPSG:3006 to a
GeoPackage (with its R-tree spatial index). Development areas are lobed star polygons
of 5–300 ha around a few towns, ~10 % overlapping another area of the same plan; the
later plan keeps 60 % of the baseline's areas, changes 15 %, drops 25 % and adds as many.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
RESULTS = HERE / "results.json"  # the latest measurement of every case (committed)

SEED = 20240617
TILE = 50_000.0  # m; global tile grid anchored at (0, 6 000 000)
ORIGIN = (0.0, 6_000_000.0)
SWEDEN = (266_000.0, 6_132_000.0, 920_000.0, 7_680_000.0)  # EPSG:3006 extent of Sweden
LAMBDA = 14.0e-6  # Poisson generators per m² (14 per km²) where the field is above T0
T0, T1 = -0.35, 0.05  # generators above T0 bound the cells; cells above T1 become blocks
SHRINK, GROW, P_GROW = 0.90, 1.08, 0.01
CLASSES = ("Åker", "Bete")
TYPES = ("bostäder", "verksamheter", "blandad bebyggelse", "handel", "logistik", "skola")


@dataclass(frozen=True)
class Scale:
    name: str
    areas: int  # per plan
    towns: int
    boundary_factor: float  # linear scale of Norrköping's outline about its centroid
    national: bool  # blocks across Sweden's extent, not only inside the boundary
    description: str


SCALES = {
    "norrkoping": Scale("norrkoping", 100, 6, 1.0, False,
                        "~12 000 blocks in Norrköping's outline, 100 areas/plan"),
    "county": Scale("county", 1000, 40, 10 ** 0.5, False,
                    "~120 000 blocks in a county-size outline, 1 000 areas/plan"),
    "national": Scale("national", 100, 6, 1.0, True,
                      "~1.2 M blocks across Sweden; Norrköping's boundary and 100 areas/plan"),
}


# --------------------------------------------------------------------------- generation


def _waves(n: int = 10):
    """Random plane waves making a smooth field of mean 0, sd 1 (wavelengths 3–25 km)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    theta = rng.uniform(0, 2 * np.pi, n)
    k = 2 * np.pi / rng.uniform(3_000, 25_000, n)
    return np.column_stack([k * np.cos(theta), k * np.sin(theta)]), rng.uniform(0, 2 * np.pi, n)


def farm_field(x, y, national: bool):
    """The smooth 'farmland' field; nationally it fades north of Mälardalen and on the coasts."""
    import numpy as np

    kvec, phase = _waves()
    f = np.zeros(len(x))
    for (kx, ky), ph in zip(kvec, phase, strict=True):
        f += np.cos(kx * x + ky * y + ph)
    f *= np.sqrt(2.0 / len(phase))
    if national:
        # Farmland is dense in Götaland/Svealand, sparse in Norrland, thin at the edges.
        f -= np.clip((y - 6_550_000.0) / 70_000.0, 0, None) * 1.3
        f -= np.clip((np.abs(x - 560_000.0) - 140_000.0) / 60_000.0, 0, None)
    return f


def norrkoping_outline():
    """Norrköping's (generalised) outline in EPSG:3006, from the package data."""
    import geopandas as gpd
    import shapely

    gdf = gpd.read_file(REPO / "pipeline/data/norrkoping_kommungrans.geojson").to_crs(3006)
    return shapely.union_all(gdf.geometry.array)


def scaled(geom, factor: float):
    import shapely.affinity

    return geom if factor == 1 else shapely.affinity.scale(geom, factor, factor, origin="centroid")


def _densify_jitter(cells, gens, rng):
    """Shrink (or grow) convex cells towards their generators, densify to 10–30 vertices,
    jitter; returns polygons (invalid results fall back to the plain shrunk cell)."""
    import numpy as np
    import shapely

    n = len(cells)
    factor = np.where(rng.random(n) < P_GROW, GROW, SHRINK)
    coords, idx = shapely.get_coordinates(cells, return_index=True)
    same = idx[1:] == idx[:-1]  # edge j -> j+1 inside one ring (closing vertex included)
    start = np.flatnonzero(same)
    a, b = coords[start], coords[start + 1]
    ring = idx[start]
    vec = b - a
    length = np.hypot(vec[:, 0], vec[:, 1])
    perim = np.bincount(ring, weights=length, minlength=n)
    target = rng.integers(10, 31, n)  # vertices wanted per block
    maxlen = perim / target
    k = np.maximum(1, np.ceil(length / maxlen[ring]).astype(np.int64))
    rep = np.repeat(np.arange(len(start)), k)
    first = np.repeat(np.cumsum(k) - k, k)
    t = (np.arange(len(rep)) - first) / k[rep]
    pts = a[rep] + t[:, None] * vec[rep]
    rid = ring[rep]
    g = gens[rid]
    pts = g + factor[rid, None] * (pts - g)
    scale = np.sqrt(shapely.area(cells))[rid]
    pts += rng.normal(0, 1, pts.shape) * (0.005 * scale)[:, None]
    polys = shapely.polygons(shapely.linearrings(pts, indices=rid))
    bad = ~shapely.is_valid(polys)
    if bad.any():
        plain = shapely.get_coordinates(cells[bad], return_index=True)
        pc, pi = plain
        gg = gens[np.flatnonzero(bad)][pi]
        pc = gg + factor[np.flatnonzero(bad)][pi, None] * (pc - gg)
        polys[bad] = shapely.polygons(shapely.linearrings(pc, indices=pi))
    return polys


def blocks_in_tile(ti: int, tj: int, *, national: bool, region=None):
    """Field blocks whose generator lies in tile (ti, tj) (and in `region` when given)."""
    import numpy as np
    import shapely

    x0, y0 = ORIGIN[0] + ti * TILE, ORIGIN[1] + tj * TILE
    rng = np.random.default_rng([SEED, ti, tj])
    n = rng.poisson(LAMBDA * TILE * TILE)
    xy = rng.uniform(0, TILE, (n, 2)) + (x0, y0)
    f = farm_field(xy[:, 0], xy[:, 1], national)
    keep = f > T0
    xy, f = xy[keep], f[keep]
    if len(xy) < 3:
        return None
    box = shapely.box(x0, y0, x0 + TILE, y0 + TILE)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy),
                                                       extend_to=box, ordered=True))
    block = f > T1
    if region is not None:
        block &= shapely.contains_xy(region, xy[:, 0], xy[:, 1])
    if not block.any():
        return None
    cells, xy = cells[block], xy[block]
    shapely.prepare(box)
    edge = ~shapely.contains_properly(box, cells)
    cells[edge] = shapely.intersection(cells[edge], box)  # cells on the tile edge stop at it
    polys = _densify_jitter(cells, xy, rng)
    area = shapely.area(polys)
    ok = (area >= 1e4) & (area <= 20e4)
    polys, area = polys[ok], area[ok]
    return polys, rng.random(len(polys))


def tiles_for(bounds) -> list[tuple[int, int]]:
    import math

    xmin, ymin, xmax, ymax = bounds
    i0, i1 = math.floor((xmin - ORIGIN[0]) / TILE), math.ceil((xmax - ORIGIN[0]) / TILE)
    j0, j1 = math.floor((ymin - ORIGIN[1]) / TILE), math.ceil((ymax - ORIGIN[1]) / TILE)
    return [(i, j) for j in range(j0, j1) for i in range(i0, i1)]


def write_blocks(path: Path, tiles, *, national: bool, region=None, chunk: int = 300_000) -> int:
    """Generate the blocks tile by tile and append them to a GeoPackage in chunks."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    if path.exists():
        path.unlink()
    buf_geoms, buf_u, written = [], [], 0

    def flush() -> None:
        nonlocal buf_geoms, buf_u, written
        if not buf_geoms:
            return
        polys = np.concatenate(buf_geoms)
        u = np.concatenate(buf_u)
        m = len(polys)
        multi = shapely.multipolygons(polys, indices=np.arange(m))
        ids = pd.Series(np.arange(written + 1, written + m + 1)).astype(str).str.zfill(9)
        frame = gpd.GeoDataFrame({
            "blockid": ("05" + ids).to_numpy(dtype=object),
            "agoslag": np.where(u < 0.78, CLASSES[0], CLASSES[1]).astype(object),
            "kategori": np.where(u < 0.97, "Jordbruksblock", "Åkerholme").astype(object),
            "areal": np.round(shapely.area(polys) / 1e4, 2),
            "region_kod": np.full(m, "05", dtype=object),
            "arslager": np.full(m, 2024, dtype=np.int32),
        }, geometry=multi, crs="EPSG:3006")
        frame.to_file(path, layer="jordbruksblock", driver="GPKG", engine="pyogrio",
                      use_arrow=True, append=written > 0, promote_to_multi=True)
        written += m
        buf_geoms, buf_u = [], []

    pending = 0
    for ti, tj in tiles:
        got = blocks_in_tile(ti, tj, national=national, region=region)
        if got is None:
            continue
        buf_geoms.append(got[0])
        buf_u.append(got[1])
        pending += len(got[0])
        if pending >= chunk:
            flush()
            pending = 0
    flush()
    return written


def make_areas(region, n: int, towns: int, seed: int):
    """`n` lobed star polygons of 5–300 ha around `towns` town centres inside `region`."""
    import numpy as np
    import shapely

    rng = np.random.default_rng([SEED, seed])
    xmin, ymin, xmax, ymax = region.bounds
    spread = 0.06 * ((xmax - xmin) * (ymax - ymin)) ** 0.5

    def inside(k):
        out = np.empty((0, 2))
        while len(out) < k:
            p = rng.uniform((xmin, ymin), (xmax, ymax), (4 * k, 2))
            out = np.vstack([out, p[shapely.contains_xy(region, p[:, 0], p[:, 1])]])
        return out[:k]

    centres_town = inside(towns)
    centres = np.empty((0, 2))
    while len(centres) < n:
        t = centres_town[rng.integers(0, towns, 4 * n)]
        p = t + rng.normal(0, spread, t.shape)
        centres = np.vstack([centres, p[shapely.contains_xy(region, p[:, 0], p[:, 1])]])
    centres = centres[:n]
    ha = np.exp(rng.uniform(np.log(5), np.log(300), n))
    radius = np.sqrt(ha * 1e4 / np.pi)
    # ~10 % overlap the previous area of the plan
    lap = rng.random(n) < 0.10
    lap[0] = False
    centres[lap] = centres[np.flatnonzero(lap) - 1] + rng.normal(0, 1, (lap.sum(), 2)) * \
        radius[np.flatnonzero(lap) - 1, None] * 0.7
    return star_polygons(centres, ha, rng)


def star_polygons(centres, ha, rng):
    import numpy as np
    import shapely

    n, m = len(centres), 40
    theta = np.linspace(0, 2 * np.pi, m, endpoint=False)[None, :]
    r = np.ones((n, m))
    for harmonic in (2, 3, 5):
        amp = rng.uniform(0, 0.18, (n, 1))
        r += amp * np.cos(harmonic * theta + rng.uniform(0, 2 * np.pi, (n, 1)))
    r *= 1 + rng.normal(0, 0.02, (n, m))
    xy = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=-1)
    unit = shapely.area(shapely.polygons(xy))
    xy *= np.sqrt(ha * 1e4 / unit)[:, None, None]
    return shapely.polygons(xy + centres[:, None, :])


def write_plans(folder: Path, region, scale: Scale) -> None:
    import geopandas as gpd
    import numpy as np
    import shapely

    n = scale.areas
    rng = np.random.default_rng([SEED, 7, n])
    base = make_areas(region, n, scale.towns, seed=1)
    base_ids = np.array([f"A{i:04d}" for i in range(1, n + 1)], dtype=object)
    u = rng.random(n)
    kept, changed, removed = u < 0.60, (u >= 0.60) & (u < 0.75), u >= 0.75
    grown = base[changed].copy()
    cen = shapely.get_coordinates(shapely.centroid(grown))
    for i, g in enumerate(grown):  # the changed areas grow, the largest shrink
        c = shapely.get_coordinates(g)
        f = 1.2 if g.area < 150e4 else 0.85
        grown[i] = shapely.Polygon(cen[i] + (c - cen[i]) * f)
    added = make_areas(region, int(removed.sum()), scale.towns, seed=2)
    later = np.concatenate([base[kept], grown, added])
    later_ids = np.concatenate([base_ids[kept], base_ids[changed],
                                [f"B{i:04d}" for i in range(1, len(added) + 1)]])
    for key, geoms, ids in (("op2017", base, base_ids), ("op2025", later, later_ids)):
        k = len(geoms)
        gpd.GeoDataFrame({
            "omr_id": ids,
            "namn": [f"Utvecklingsområde {i}" for i in ids],
            "typ": [TYPES[i % len(TYPES)] for i in range(k)],
        }, geometry=geoms, crs="EPSG:3006").to_file(
            folder / f"utvecklingsomraden_{key}.gpkg", engine="pyogrio")


CONFIG = """\
# Generated by benchmarks/run_benchmarks.py (synthetic benchmark data, scale {scale}).
[project]
kommun = "Benchmark {scale}"
kommunkod = "0581"

[boundary]
path = "{boundary}"

[agricultural_land]
path = "{blocks}"
layer = "jordbruksblock"
class_column = "agoslag"
classes = ["Åker", "Bete"]

[[plans]]
key = "op2017"
label = "ÖP 2017"
path = "utvecklingsomraden_op2017.gpkg"
id_column = "omr_id"
name_column = "namn"
type_column = "typ"
baseline = true

[[plans]]
key = "op2025"
label = "ÖP 2025"
path = "utvecklingsomraden_op2025.gpkg"
id_column = "omr_id"
name_column = "namn"
type_column = "typ"

[output]
processed = "out/processed"
maps = "out/maps"
reports = "out/reports"
"""


def generate(scale: Scale, out: Path) -> dict:
    """Write the inputs of one scale (skipped if already there); return facts about them."""
    import geopandas as gpd
    import pyogrio
    import shapely

    folder = out / scale.name
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "opjord.toml"
    done = folder / "GENERATED.json"
    if done.exists() and cfg.exists():
        return json.loads(done.read_text())
    t = time.perf_counter()
    region = scaled(norrkoping_outline(), scale.boundary_factor)
    gpd.GeoDataFrame({"namn": [f"Benchmark {scale.name}"]}, geometry=[region],
                     crs="EPSG:3006").to_file(folder / "boundary.gpkg", engine="pyogrio")
    write_plans(folder, region, scale)
    if scale.national:
        blocks = out / "jordbruksblock_national.gpkg"
        if not blocks.exists():
            tmp = blocks.with_suffix(".tmp.gpkg")
            write_blocks(tmp, tiles_for(SWEDEN), national=True)
            tmp.rename(blocks)
    else:
        blocks = folder / "jordbruksblock.gpkg"
        write_blocks(blocks, tiles_for(region.bounds), national=False, region=region)
    cfg.write_text(CONFIG.format(scale=scale.name, boundary="boundary.gpkg",
                                 blocks=os.path.relpath(blocks, folder)), encoding="utf-8")
    info = pyogrio.read_info(blocks, layer="jordbruksblock", force_feature_count=True)
    facts = {"blocks": int(info["features"]), "blocks_file_mb": blocks.stat().st_size / 2**20,
             "boundary_km2": shapely.area(region) / 1e6, "areas_per_plan": scale.areas,
             "generated_s": time.perf_counter() - t}
    done.write_text(json.dumps(facts))
    return facts


# --------------------------------------------------------------------------- measuring

BASELINE = r"""
import sys, time
t0 = time.perf_counter()
import geopandas as gpd, pandas as pd, shapely
cfg, mode = sys.argv[1], sys.argv[2]
import tomllib, pathlib
folder = pathlib.Path(cfg).parent
c = tomllib.loads(pathlib.Path(cfg).read_text(encoding="utf-8"))
t1 = time.perf_counter()
plans = {p["key"]: gpd.read_file(folder / p["path"], engine="pyogrio", use_arrow=True)
         .to_crs(3006) for p in c["plans"]}
agri = c["agricultural_land"]
kwargs = {}
if mode == "bbox":  # only the blocks in the bounding box of all plan areas
    kwargs["bbox"] = tuple(shapely.union_all([shapely.box(*g.total_bounds)
                                              for g in plans.values()]).bounds)
blocks = gpd.read_file(folder / agri["path"], layer=agri.get("layer"), engine="pyogrio",
                       use_arrow=True, columns=[agri["class_column"]], **kwargs).to_crs(3006)
blocks = blocks[blocks[agri["class_column"]].isin(agri["classes"])]
t2 = time.perf_counter()
total = 0.0
for key, areas in plans.items():
    areas = areas.reset_index(drop=True)
    areas["area_row"] = areas.index
    pieces = gpd.overlay(areas[["area_row", "geometry"]], blocks, how="intersection")
    ha = pieces.geometry.area.groupby(pieces["area_row"]).sum() / 1e4
    total += ha.sum()
t3 = time.perf_counter()
print(f"RESULT read_s={t2 - t1:.3f} overlay_s={t3 - t2:.3f} blocks_read={len(blocks)} "
      f"per_area_total_ha={total:.3f}")
"""

# The measured cases: (scale whose inputs are used, config file in its folder).
CASES = {
    "norrkoping": ("norrkoping", "opjord.toml"),
    "county": ("county", "opjord.toml"),
    "national": ("national", "opjord.toml"),
    "national_whole": ("national", "opjord_whole.toml"),  # the same inputs, no boundary
}
CASE_TEXT = {
    "norrkoping": "Norrköping size (12k blocks, 100 areas per plan)",
    "county": "county size (130k blocks, 1,000 areas per plan)",
    "national": "one municipality with its boundary, national 1.2M layer",
    "national_whole": "the national layer without a boundary",
}
PG_PORT = "54329"
WHOLE_REPEAT = 2  # repeats of the case without a boundary (each run reads the whole layer)
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def whole_config(folder: Path) -> Path:
    """The national config without its boundary (every figure over the whole layer)."""
    text = (folder / "opjord.toml").read_text(encoding="utf-8")
    text = re.sub(r"\[boundary\]\npath = \"[^\"]*\"\n\n", "", text)
    text = text.replace('"out/', '"out_whole/')
    path = folder / "opjord_whole.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_child(argv: list[str], log_path: Path) -> dict:
    """Run a fresh process; wall time, CPU time (user + system), peak RSS (MiB, from wait4)
    and its output."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONHASHSEED="0", MPLBACKEND="Agg")
    with open(log_path, "w", encoding="utf-8") as log:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{text[-3000:]}")
    # ru_maxrss of a child is its own peak; psql/ogr2ogr children of a peer are included
    # by wait4 only once they are reaped, which the peer does before it exits.
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "output": text}


def _result(text: str) -> dict:
    m = re.search(r"^RESULT (.*)$", text, re.MULTILINE)
    if m is None:
        return {}
    body = m.group(1)
    if body.startswith("{"):
        return json.loads(body)
    return {k: float(v) for k, v in (kv.split("=") for kv in body.split())}


def _sv_float(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1).replace("\u00a0", "").replace(" ", "").replace(",", ".")) \
        if m else None


def opjord_figures(cfg: Path) -> dict:
    """opjord's figures in the peers' shape, from summary.json and areas.csv."""
    import csv
    import tomllib

    c = tomllib.loads(cfg.read_text(encoding="utf-8"))
    processed = cfg.parent / c["output"]["processed"]
    s = json.loads((processed / "summary.json").read_text(encoding="utf-8"))
    sys.path.insert(0, str(REPO))
    from pipeline.indicators import class_columns

    cols = class_columns(tuple(c["agricultural_land"]["classes"]))
    per_area = {}
    with open(processed / "areas.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            per_area[f"{row['plan']}/{row['area_id']}"] = {k: float(row[v]) for k, v in
                                                          cols.items()}
    return {"plans": s["plans"], "comparisons": s["comparisons"],
            "municipal_agricultural_ha": s["municipal_agricultural_ha"]["agricultural_land"],
            "per_area": per_area}


def agreement(ours: dict, peer: dict) -> float:
    """The largest relative difference (to the figure, floor 1 ha) between opjord's figures
    and a peer's: per plan, per comparison, the municipal total and per area and class."""
    pairs = [(ours["municipal_agricultural_ha"], peer["municipal_agricultural_ha"])]
    for key, p in peer["plans"].items():
        o = ours["plans"][key]
        pairs += [(o["development_area_ha"], p["development_area_ha"]),
                  (o["agricultural_ha"], p["agricultural_ha"])]
        pairs += [(o["agricultural_ha_by_class"][k], v)
                  for k, v in p["agricultural_ha_by_class"].items()]
        if o["share"] is not None:
            pairs.append((o["share"] * 1e4, p["share"] * 1e4))  # shares on a 0–10 000 scale
    for key, p in peer["comparisons"].items():
        pairs += [(ours["comparisons"][key][k], v) for k, v in p.items()]
    for key, o in ours["per_area"].items():
        got = peer["per_area"].get(key, {})
        pairs += [(v, got.get(k, 0.0)) for k, v in o.items()]
    return max(abs(a - b) / max(abs(a), 1.0) for a, b in pairs)


def pg_cluster(out: Path) -> Path | None:
    """Start a private PostgreSQL cluster with PostGIS on 127.0.0.1:PG_PORT (data in `out`),
    or None when PostgreSQL or PostGIS is not installed."""
    data = out / "pg"
    if not (PG_BIN / "initdb").exists() or not list(
            Path("/usr/share/postgresql").glob("*/extension/postgis.control")):
        return None
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if user:
            subprocess.run(["chown", "postgres", str(data)], check=True)
        subprocess.run([*user, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                        "-A", "trust"], check=True, capture_output=True)
    running = subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(data), "status"],
                             capture_output=True).returncode == 0
    subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(data / "log.txt"), "-o",
                    f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 "
                    "-c shared_buffers=512MB -c work_mem=256MB -c fsync=off "
                    "-c synchronous_commit=off -c max_parallel_workers_per_gather=2",
                    "start"], check=True, capture_output=True) if not running else None
    psql = ["psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", "postgres", "-X", "-q"]
    exists = subprocess.run([*psql, "-At", "-c",
                             "SELECT 1 FROM pg_database WHERE datname = 'bench'"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not exists:
        subprocess.run([*psql, "-c", "CREATE DATABASE bench"], check=True)
    subprocess.run([*psql, "-d", "bench", "-c", "CREATE EXTENSION IF NOT EXISTS postgis"],
                   check=True, capture_output=True)
    return data


def pg_stop(data: Path) -> None:
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                   capture_output=True)


def measure(case: str, out: Path, repeat: int, pg: bool) -> dict:
    scale, cfg_name = CASES[case]
    folder = out / scale
    cfg = whole_config(folder) if case == "national_whole" else folder / cfg_name
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    py = sys.executable
    peers = str(HERE / "peers.py")
    jobs = [("opjord", [py, "-m", "pipeline.cli", "analyse", "--config", str(cfg)]),
            ("floor_imports", [py, peers, "floor-imports", str(cfg)]),
            ("floor_read", [py, peers, "floor-read", str(cfg)])]
    if case != "national_whole":  # the peers at the sizes the issue compares them
        jobs.append(("duckdb", [py, peers, "duckdb", str(cfg)]))
        if pg:
            jobs += [("pg_load", [py, peers, "pg-load", str(cfg), PG_PORT]),
                     ("pg_query", [py, peers, "pg-query", str(cfg), PG_PORT])]
        jobs.append(("gpd_bbox", [py, "-c", BASELINE, str(cfg), "bbox"]))
    result: dict = {name: [] for name, _ in jobs}
    result["agreement"] = {}
    if case == "national_whole":  # minutes per run on a shared machine: fewer repeats
        repeat = min(repeat, WHOLE_REPEAT)
    # A first opjord run makes the digest cache (as any second run on a project has).
    run_child(jobs[0][1], logs / "opjord_warmup.log")
    for i in range(repeat):  # interleaved, so that load from other jobs hits all alike
        for name, argv in jobs:
            r = run_child(argv, logs / f"{name}_{i}.log")
            text = r.pop("output")
            if name == "opjord":
                r["analysis_s"] = _sv_float(r"Analysen klar på ([\d,]+) s", text)
                m = re.search(r"i (\d+) delar", text)
                r["partitions"] = int(m.group(1)) if m else None
                ours = opjord_figures(cfg)
            else:
                got = _result(text)
                r.update(got.pop("timing", {}) if "timing" in got else got)
                if name in ("duckdb", "pg_query") and got.get("plans"):
                    d = agreement(ours, got)
                    result["agreement"].setdefault(name, []).append(d)
                    r["agreement"] = d
            result[name].append(r)
            extra = f", agreement {r['agreement']:.1e}" if "agreement" in r else ""
            print(f"  {case} {name} run {i + 1}: {r['wall_s']:.2f} s, "
                  f"{r['rss_mib']:.0f} MiB{extra}", flush=True)
    return result


# --------------------------------------------------------------------------- reporting


def machine_info() -> dict:
    import geopandas
    import numpy
    import pandas
    import pyogrio
    import pyproj
    import shapely

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    except OSError:
        mem_kb = 0
    return {
        "date": dt.date.today().isoformat(),
        "cpu": f"{os.cpu_count()} × {cpu}" if cpu else str(os.cpu_count()),
        "ram_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": (f"Python {platform.python_version()}, geopandas {geopandas.__version__}, "
                     f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
                     f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}), "
                     f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}), "
                     f"numpy {numpy.__version__}, pandas {pandas.__version__}"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                 capture_output=True, text=True).stdout.strip(),
    }


def _med(runs: list[dict], key: str = "wall_s") -> float:
    vals = sorted(r[key] for r in runs if r.get(key) is not None)
    if not vals:
        return float("nan")
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def _peak(runs: list[dict]) -> float:
    return max((r["rss_mib"] for r in runs), default=float("nan"))


def _cell(res: dict, name: str) -> str:
    if not res.get(name):
        return "—"
    return f"{_med(res[name]):.2f} s, {_peak(res[name]):.0f} MiB"


def table(cases: dict) -> str:
    """The results table: one row per case of the record (`RESULTS`), each from the series
    (run) it was last measured in."""
    rows = ["| case | series | opjord `analyse` | DuckDB spatial, same figures "
            "| PostGIS load + query | DuckDB ÷ opjord | PostGIS query ÷ opjord "
            "| agreement (max rel. diff) | floor: imports / + reading | opjord ÷ read floor "
            "| gpd.overlay bbox (context) |",
            "|---|---|---|---|---|---:|---:|---|---|---:|---|"]
    for case, entry in cases.items():
        res = entry["result"]
        o = _med(res["opjord"])
        dd = _med(res["duckdb"]) if res.get("duckdb") else None
        pq = _med(res["pg_query"]) if res.get("pg_query") else None
        pgl = _med(res["pg_load"]) if res.get("pg_load") else None
        agree = ", ".join(f"{k} {max(v):.0e}" for k, v in res.get("agreement", {}).items())
        pg_cell = (f"{pgl:.2f} + {pq:.2f} s, {_peak(res['pg_query']):.0f} MiB (client)"
                   if pq is not None else "—")
        rows.append(
            f"| {CASE_TEXT[case]} | {entry['series']} "
            f"| **{o:.2f} s**, {_peak(res['opjord']):.0f} MiB "
            f"| {_cell(res, 'duckdb')} | {pg_cell} "
            f"| {f'{dd / o:.2f}' if dd else '—'} | {f'{pq / o:.2f}' if pq else '—'} "
            f"| {agree or '—'} "
            f"| {_med(res['floor_imports']):.2f} / {_med(res['floor_read']):.2f} s "
            f"| {o / _med(res['floor_read']):.2f}× | {_cell(res, 'gpd_bbox')} |")
    return "\n".join(rows)


def verdicts(cases: dict) -> list[str]:
    results = {case: entry["result"] for case, entry in cases.items()}
    out = []
    for case in ("norrkoping", "national", "county"):
        if case not in results:
            continue
        res = results[case]
        o = _med(res["opjord"])
        for peer, label in (("duckdb", "DuckDB"), ("pg_query", "PostGIS's query")):
            if res.get(peer):
                r = _med(res[peer]) / o
                out.append(f"- {CASE_TEXT[case]}: {label} ÷ opjord = {r:.2f} — target ≥ 1.0: "
                           f"**{'met' if r >= 1 else 'NOT met'}**.")
    if "national_whole" in results:
        res = results["national_whole"]
        o, rss = _med(res["opjord"]), _peak(res["opjord"])
        parts = res["opjord"][0].get("partitions")
        out.append(f"- {CASE_TEXT['national_whole']}: {o:.1f} s (target < 25.8 s: "
                   f"**{'met' if o < 25.8 else 'NOT met'}**), peak {rss:.0f} MiB (target ≤ "
                   f"1 GiB: **{'met' if rss <= 1024 else 'NOT met'}**), {parts} partitions.")
    if "national" in results:
        res = results["national"]
        r = _med(res["opjord"]) / _med(res["floor_read"])
        out.append(f"- rerun, national case: opjord ÷ import+read floor = {r:.2f} — target "
                   f"≤ 1.3: **{'met' if r <= 1.3 else 'NOT met'}**.")
    return out


def load_record(path: Path = RESULTS) -> dict:
    """The results record: the latest measurement of every case, and the series (runs)
    they come from. An unreadable or older-format file starts a new record."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"series": {}, "cases": {}}
    if not isinstance(record, dict) or set(record) != {"series", "cases"}:
        return {"series": {}, "cases": {}}
    return record


def add_series(record: dict, results: dict, facts: dict, info: dict, argv: list[str],
               repeat: int) -> dict:
    """A new record: `record` with this run's cases replaced (the other cases kept as they
    were measured) and series no longer referred to dropped. Series are numbered 1, 2, …
    in order of their runs."""
    n = max((int(k) for k in record["series"]), default=0) + 1
    cases = {**record["cases"]}
    for case, res in results.items():
        scale = CASES[case][0]
        cases[case] = {"series": n, "result": res, "facts": {"scale": scale, **facts[scale]}}
    used = {str(c["series"]) for c in cases.values()}
    series = {k: v for k, v in record["series"].items() if k in used}
    series[str(n)] = {"info": info, "argv": argv, "repeat": repeat}
    return {"series": series, "cases": {c: cases[c] for c in CASES if c in cases}}


def write_readme(record: dict) -> str:
    """Rewrite the results block of benchmarks/README.md from the record."""
    runs = []
    for key, s in record["series"].items():
        info = s["info"]
        runs.append(f"- **Series {key}**: {info['date']} at commit `{info['commit']}`, "
                    f"{s['repeat']} interleaved repeats, load average before the run "
                    f"{info['load_before']}; `{' '.join(s['argv'])}`.")
    last = record["series"][max(record["series"], key=int)]["info"]
    scales = {}
    for entry in record["cases"].values():
        scales.setdefault(entry["facts"]["scale"], entry["facts"])
    gen = "\n".join(f"| {k} | {SCALES[k].description} | {v['blocks']:,} | "
                    f"{v['blocks_file_mb']:,.0f} | {v['boundary_km2']:,.0f} |"
                    for k, v in scales.items())
    body = textwrap.dedent("""\
        Each cell is the **median** wall time of a fresh process (Python start-up and imports
        included) and its highest peak resident memory (ru_maxrss). The runs of one case are
        interleaved (opjord, the floors, the peers, then again), and its ratios are medians
        of that series: a ratio ≥ 1 means opjord is at least as fast. Each row gives its
        series; rows from different series do not compare with each other.

        """) + "\n".join(runs) + textwrap.dedent(f"""

        Machine: {last['cpu']}, {last['ram_gib']} GiB RAM, {last['os']}. **The 2 cores are
        shared with other jobs** (other sessions' tests may run at the same time): absolute
        times drift by a factor of 2 or more over minutes; the interleaving keeps the ratios
        fair, but they too carry noise of ±10–20 %.
        {last['versions']}.

        | scale | what | blocks in layer | layer MB | boundary km² |
        |---|---|---:|---:|---:|
        """) + gen + "\n\n" + table(record["cases"]) + "\n\nTargets:\n\n" + \
        "\n".join(verdicts(record["cases"])) + "\n"
    replace_block(START, END, body)
    return body


def replace_block(start: str, end: str, body: str, readme: Path = README) -> None:
    """Put `body` between the markers `start` and `end` of benchmarks/README.md (appended
    with its markers when they are not there yet); the rest of the file stays as it is.
    Every benchmark script rewrites its own block this way."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    block = f"{start}\n{body}{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def compile_pipeline() -> None:
    """Byte-compile the measured opjord package, as `pip install` does: with
    PYTHONDONTWRITEBYTECODE set (or a read-only tree) every run would compile its ~30
    modules from source again, a cost no installed opjord pays."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("pipeline")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            compileall.compile_dir(folder, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="norrkoping,county,national,national_whole")
    parser.add_argument("--out", default=str(HERE / "_data"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    names = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = set(names) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(CASES)}")
    info = machine_info()
    facts, results = {}, {}
    for scale in dict.fromkeys(CASES[n][0] for n in names):
        t = time.perf_counter()
        facts[scale] = generate(SCALES[scale], out)
        print(f"{scale}: {facts[scale]['blocks']:,} blocks ready "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
    if args.generate_only:
        return 0
    compile_pipeline()
    pg = None if args.no_postgis else pg_cluster(out)
    if pg is None and not args.no_postgis:
        print("PostgreSQL/PostGIS not installed: the PostGIS peer is left out", flush=True)
    try:
        for name in names:
            results[name] = measure(name, out, args.repeat, pg is not None)
    finally:
        if pg is not None:
            pg_stop(pg)
    argv = ["python", "benchmarks/run_benchmarks.py", "--scales", ",".join(names),
            "--repeat", str(args.repeat)]
    (out / "last_run.json").write_text(json.dumps({"info": info, "facts": facts,
                                                   "results": results}, indent=1))
    if args.no_readme:
        record = add_series({"series": {}, "cases": {}}, results, facts, info, argv,
                            args.repeat)
        print(table(record["cases"]))
        print("\n".join(verdicts(record["cases"])))
    else:
        record = add_series(load_record(), results, facts, info, argv, args.repeat)
        RESULTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        print(write_readme(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
