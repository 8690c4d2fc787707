"""Benchmark: land-cover zonal statistics on a large synthetic NMD-like raster.

Run on demand (not a test):

    python benchmarks/bench_zonal.py            # both raster sizes, all methods
    python benchmarks/bench_zonal.py --sizes small

Creates tiled (256 × 256), DEFLATE-compressed uint8 GeoTIFFs under benchmarks/_data/
(gitignored), written strip by strip so the raster is never held in memory:

- small:  8 000 × 8 000 px (64 Mpx)
- large: 50 000 × 160 000 px (8 Gpx, NMD-sized)

Both hold the same 60 × 40 km "study region" of mixed classes (3 åkermark, 42, 111,
112, 61 in 50 × 50 px patches) at the same place; everything else is forest (111), so
the files compress. 100 non-overlapping development-area-like polygons (20–300 ha)
lie in the study region.

Each method runs in its own subprocess (fresh interpreter), which reports its own
time and peak resident memory (ru_maxrss); each is run --repeat times (median time,
highest peak):

- ``opjord``: pipeline.zonal.zonal_landcover (exactextract, exact partial pixels,
  windowed reads per polygon part, GDAL cache 64 MB)
- ``rasterstats``: rasterstats.zonal_stats(categorical=True) (pixel centres, one
  window per polygon; benchmark-only dependency: ``pip install rasterstats``)
- ``bincount_window``: read the window around all polygons once, rasterize the
  polygons' labels on it (pixel centres), np.bincount(label × 256 + class)
- ``bincount_full``: the same over the whole raster (only run where it fits in RAM)

Results go to benchmarks/_out/bench_zonal.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
OUT = HERE / "_out"
SIZES = {"small": (8_000, 8_000), "large": (50_000, 160_000)}  # width, height (px)
WEST, NORTH = 400_000.0, 7_700_000.0  # top-left corner, EPSG:3006
RES = 10.0
REGION = (1_000, 1_000, 6_000, 4_000)  # col, row, width, height of the study region (px)
PATCH = 50
CODES = (3, 3, 3, 42, 111, 111, 112, 61)
N_AREAS = 100
AGRI = (3,)
METHODS = ("opjord", "rasterstats", "bincount_window", "bincount_full")


def _region_patches():
    import numpy as np

    rng = np.random.default_rng(581)
    _, _, w, h = REGION
    return rng.choice(np.array(CODES, dtype=np.uint8), size=(h // PATCH, w // PATCH))


def make_raster(name: str) -> Path:
    """Write the synthetic raster strip by strip (memory: one strip of 256 rows)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    width, height = SIZES[name]
    path = DATA / f"nmd_{name}_{width}x{height}.tif"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    patches = _region_patches()
    c0, r0, rw, rh = REGION
    tmp = path.with_suffix(".tmp.tif")
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1,
               "dtype": "uint8", "crs": "EPSG:3006", "nodata": 255,
               "transform": from_origin(WEST, NORTH, RES, RES), "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate",
               "BIGTIFF": "IF_SAFER"}
    start = time.perf_counter()
    with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(tmp, "w", **profile) as ds:
        for top in range(0, height, 256):
            rows = min(256, height - top)
            strip = np.full((rows, width), 111, dtype=np.uint8)
            lo, hi = max(top, r0), min(top + rows, r0 + rh)
            if lo < hi:
                rr = (np.arange(lo, hi) - r0) // PATCH
                cc = np.arange(rw) // PATCH
                strip[lo - top:hi - top, c0:c0 + rw] = patches[rr[:, None], cc[None, :]]
            ds.write(strip, 1, window=Window(0, top, width, rows))
    tmp.rename(path)
    print(f"wrote {path.name}: {path.stat().st_size / 1e6:.1f} MB in "
          f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path


def make_areas() -> Path:
    """100 non-overlapping blobs of 20–300 ha in the study region, EPSG:3006."""
    import geopandas as gpd
    import numpy as np
    import shapely

    path = DATA / "areas.gpkg"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2017)
    c0, r0, rw, rh = REGION
    x0, y1 = WEST + c0 * RES, NORTH - r0 * RES
    x1, y0 = x0 + rw * RES, y1 - rh * RES
    geoms: list = []
    while len(geoms) < N_AREAS:
        ha = rng.uniform(20, 300)
        r = math.sqrt(ha * 1e4 / math.pi)
        cx, cy = rng.uniform(x0 + 2 * r, x1 - 2 * r), rng.uniform(y0 + 2 * r, y1 - 2 * r)
        t = np.linspace(0, 2 * math.pi, 40, endpoint=False)
        rad = r * (1 + 0.2 * np.cos(3 * t + rng.uniform(0, 6)))
        g = shapely.Polygon(np.column_stack([cx + rad * np.cos(t), cy + 0.8 * rad * np.sin(t)]))
        if any(g.distance(o) < 20 for o in geoms):
            continue
        geoms.append(g)
    gpd.GeoDataFrame({"area": [f"B-{i:03d}" for i in range(N_AREAS)]}, geometry=geoms,
                     crs="EPSG:3006").to_file(path, engine="pyogrio")
    return path


# --- the methods (each in a fresh subprocess) -----------------------------------------------


def run_opjord(raster: Path, areas) -> list[float]:
    from pipeline.config import LandcoverConfig
    from pipeline.zonal import inspect_raster, zonal_landcover

    info = inspect_raster(LandcoverConfig(path=raster, agricultural_codes=AGRI))
    z = zonal_landcover(info, areas.geometry.array.to_numpy())
    return (z.agricultural_m2 / 1e4).tolist()


def run_rasterstats(raster: Path, areas) -> list[float]:
    from rasterstats import zonal_stats

    stats = zonal_stats(areas, str(raster), categorical=True, nodata=255)
    return [sum(s.get(c, 0) for c in AGRI) * RES * RES / 1e4 for s in stats]


def _bincount(ds, areas, window) -> list[float]:
    import numpy as np
    from rasterio.features import rasterize

    arr = ds.read(1, window=window)
    labels = rasterize(((g, i + 1) for i, g in enumerate(areas.geometry)), out_shape=arr.shape,
                       transform=ds.window_transform(window), fill=0, dtype="int32")
    counts = np.bincount(labels.ravel().astype(np.int64) * 256 + arr.ravel(),
                         minlength=(len(areas) + 1) * 256).reshape(-1, 256)
    return (counts[1:, list(AGRI)].sum(axis=1) * RES * RES / 1e4).tolist()


def run_bincount_window(raster: Path, areas) -> list[float]:
    import rasterio
    from rasterio.windows import from_bounds

    with rasterio.open(raster) as ds:
        window = from_bounds(*areas.total_bounds, transform=ds.transform).round_offsets(
            ).round_lengths()
        return _bincount(ds, areas, window)


def run_bincount_full(raster: Path, areas) -> list[float]:
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(raster) as ds:
        return _bincount(ds, areas, Window(0, 0, ds.width, ds.height))


def child(method: str, raster: Path, areas_path: Path) -> None:
    import geopandas as gpd

    areas = gpd.read_file(areas_path)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    ha = globals()[f"run_{method}"](raster, areas)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": method, "seconds": seconds, "peak_rss_mb": peak,
                      "rss_after_imports_mb": rss_before, "agricultural_ha": ha}))


def parent(sizes: list[str], methods: list[str], repeat: int) -> None:
    import rasterio

    areas = make_areas()
    results = []
    for name in sizes:
        raster = make_raster(name)
        with rasterio.open(raster) as ds:
            full_bytes = ds.width * ds.height * 5  # uint8 + int32 labels
        for method in methods:
            if method == "bincount_full" and full_bytes > 0.5 * _ram_bytes():
                results.append({"size": name, "method": method, "skipped":
                                f"needs ~{full_bytes / 1e9:.0f} GB"})
                continue
            env = dict(os.environ, PYTHONPATH=str(HERE.parent))
            runs = []
            for _ in range(repeat):
                out = subprocess.run([sys.executable, __file__, "--child", method, str(raster),
                                      str(areas)], capture_output=True, text=True, env=env,
                                     check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = dict(runs[0])
            r["seconds_all"] = [x["seconds"] for x in runs]
            r["seconds"] = sorted(r["seconds_all"])[len(runs) // 2]  # median
            r["peak_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
            r.update(size=name, raster=raster.name, raster_mb=raster.stat().st_size / 1e6)
            results.append(r)
            print(f"{name} {method}: {r['seconds']:.2f} s, peak {r['peak_rss_mb']:.0f} MB",
                  file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_zonal.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results))


def _ram_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def table(results: list[dict]) -> str:
    import numpy as np

    ref = {r["size"]: np.array(r["agricultural_ha"]) for r in results
           if r.get("method") == "opjord"}
    lines = ["| raster | method | median time (s) | ratio to opjord | peak RSS (MB) | "
             "RSS after imports (MB) | agricultural ha (sum of 100 areas) | "
             "max abs. diff. per area vs opjord (ha) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    base_t = {r["size"]: r["seconds"] for r in results if r.get("method") == "opjord"}
    for r in results:
        w, h = SIZES[r["size"]]
        label = f"{r['size']} {w:,} × {h:,}"
        if "skipped" in r:
            lines.append(f"| {label} | {r['method']} | skipped ({r['skipped']}) | | | | | |")
            continue
        ha = np.array(r["agricultural_ha"])
        diff = np.abs(ha - ref[r["size"]]).max() if r["size"] in ref else float("nan")
        lines.append(f"| {label} | {r['method']} | {r['seconds']:.2f} | "
                     f"{r['seconds'] / base_t[r['size']]:.2f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['rss_after_imports_mb']:.0f} | {ha.sum():,.2f} | {diff:.3f} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per method (median time)")
    args = ap.parse_args()
    parent(args.sizes, args.methods, args.repeat)


if __name__ == "__main__":
    main()
