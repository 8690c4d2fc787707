#!/usr/bin/env python
"""Benchmark of the web maps at Norrköping and county size (run on demand, not a test).

    python benchmarks/bench_webmap.py [--scales norrkoping,county] [--repeat 3]

Uses the synthetic inputs of `run_benchmarks.py` (generated into benchmarks/_data when
missing; `opjord analyse` is run once when its outputs are missing). Per scale:

* the map step: `python -m pipeline.cli map --config <generated toml>` in a fresh process
  (wall time with Python start-up and imports, CPU time, peak RSS from wait4);
* the overview page in headless Chromium (Debian's, via Playwright), opened from file://
  and built with `basemap = "none"` (a copy of the generated config, `opjord_webmap.toml`,
  so basemap tiles neither count nor add noise): the bytes of every
  file the page loads before the user zooms (raw and gzip -6, as a web server would send
  them), the SVG paths and canvases in the map, the shapes drawn on the canvas, the load
  event and the moment every layer is drawn (the mark `opjord-ritad` that
  `assets/kontext.js` sets in the frame after the last overview file ran), both from
  navigation start (Performance API), and the JavaScript heap (`performance.memory`);
* a zoom tour: ten development areas in turn at zoom 15 (the finest level, loaded tile by
  tile as <script> elements): time until the view's tiles are drawn, bytes loaded, the
  decoded tiles kept and the peak JavaScript heap (memory stays bounded: decoded tiles out
  of view are dropped beyond a fixed number).

The results table in benchmarks/README.md (between the webmap markers) is rewritten.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_benchmarks import (  # noqa: E402
    REPO,
    SCALES,
    generate,
    machine_info,
    replace_block,
    run_child,
)

START, END = "<!-- webmap:start -->", "<!-- webmap:end -->"
CHROMIUM = os.environ.get("OPJORD_CHROMIUM", "/usr/bin/chromium")
TARGETS = {  # scale: (map step s, gzipped KB before zoom, data drawn s): the speed targets
    "norrkoping": (2.0, 500, 0.5),
    "county": (10.0, 2000, 1.5),
}
TOUR = 10  # areas visited at zoom 15


def ensure_analysis(scale: str, out: Path) -> Path:
    """The generated config with `basemap = "none"`, its analysis run if missing."""
    folder = out / scale
    text = (folder / "opjord.toml").read_text(encoding="utf-8")
    cfg = folder / "opjord_webmap.toml"
    cfg.write_text(text.replace("[output]", '[webmap]\nbasemap = "none"\n\n[output]'),
                   encoding="utf-8")
    if not (folder / "out" / "processed" / "summary.json").exists():
        (folder / "logs").mkdir(exist_ok=True)
        run_child([sys.executable, "-m", "pipeline.cli", "analyse", "--config", str(cfg)],
                  folder / "logs" / "webmap_analyse.log")
    return cfg


def map_step(cfg: Path, log: Path) -> dict:
    r = run_child([sys.executable, "-m", "pipeline.cli", "map", "--config", str(cfg)], log)
    r.pop("output")
    return r


def _file_bytes(urls: list[str]) -> tuple[int, int, int]:
    """Files, raw bytes and gzip -6 bytes of the file: URLs (each file once)."""
    paths = sorted({Path(unquote(urlsplit(u).path)) for u in urls})
    raw = sum(p.stat().st_size for p in paths)
    gz = sum(len(gzip.compress(p.read_bytes(), 6)) for p in paths)
    return len(paths), raw, gz


def _tour_points(cfg: Path, n: int) -> list[tuple[float, float]]:
    import geopandas as gpd

    gpkg = cfg.parent / "out" / "processed" / "analysis.gpkg"
    areas = gpd.read_file(gpkg, layer="areas")
    pts = areas.geometry.representative_point().to_crs("EPSG:4326")
    step = max(1, len(pts) // n)
    return [(p.y, p.x) for p in list(pts)[::step][:n]]


def page_run(browser, maps: Path, points: list[tuple[float, float]]) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    files: list[str] = []
    errors: list[str] = []

    page.on("request", lambda r: files.append(r.url) if r.url.startswith("file:")
            else errors.append(f"request to {r.url}"))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def heap() -> float:  # precise with --enable-precise-memory-info
        return page.evaluate("performance.memory.usedJSHeapSize") / 2**20

    page.goto((maps / "oversikt.html").as_uri())
    page.wait_for_load_state("load")
    page.evaluate("""() => new Promise(done => {
        const t = setInterval(() => {
            if (document.documentElement.getAttribute('data-karta-ritad')) {
                clearInterval(t); done();
            }
        }, 20);
    })""")
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const mark = performance.getEntriesByName('opjord-ritad')[0];
        const map = document.querySelector('.opjord-karta');
        let drawn = 0;
        for (const g of Object.values(window.opjord.layers)) {
            drawn += window.opjordKontext.drawn(g);
        }
        return {load_s: nav.loadEventEnd / 1000, drawn_s: mark.startTime / 1000,
                svg_paths: map.querySelectorAll('svg path').length,
                canvases: map.querySelectorAll('canvas').length, canvas_shapes: drawn,
                zoom: window.opjord.map.getZoom()};
    }""")
    n, raw, gz = _file_bytes(files)
    result = {**timing, "files": n, "raw_kb": raw / 1024, "gz_kb": gz / 1024,
              "heap_mib": heap()}
    before = len(files)
    tour, peak = [], result["heap_mib"]
    for lat, lon in points:
        # In the page: set the view, wait for its tiles, then for the frame that draws them.
        tour.append(page.evaluate("""([lat, lon]) => new Promise(done => {
            const t0 = performance.now();
            window.opjord.map.setView([lat, lon], 15, {animate: false});
            const t = setInterval(() => {
                if (window.opjordKontext.pending() === 0) {
                    clearInterval(t);
                    requestAnimationFrame(() => done((performance.now() - t0) / 1000));
                }
            }, 10);
        })""", [lat, lon]))
        peak = max(peak, heap())
    n2, raw2, gz2 = _file_bytes(files[before:])
    result.update({"tour_s_max": max(tour) if tour else 0.0,
                   "tour_s_median": sorted(tour)[len(tour) // 2] if tour else 0.0,
                   "tour_files": n2, "tour_gz_kb": gz2 / 1024, "tour_peak_heap_mib": peak,
                   "tiles_kept": page.evaluate(
                       "() => Object.values(window.opjordKontext.shown()).flat().length"),
                   "decoded": page.evaluate("() => window.opjordKontext.decoded()"),
                   "errors": errors})
    context.close()
    return result


def _mm(runs: list[dict], key: str) -> tuple[float, float]:
    vals = [r[key] for r in runs]
    return min(vals), max(vals)


def table(results: dict) -> str:
    rows = ["| scale | map step: s (max) | CPU s | peak MiB | files before zoom | KB raw "
            "| KB gzip | SVG paths | canvases | canvas shapes | load event s (max) "
            "| data drawn s (max) | JS heap MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, res in results.items():
        m, p = res["map"], res["page"]
        w, d, lo = _mm(m, "wall_s"), _mm(p, "drawn_s"), _mm(p, "load_s")
        rows.append(
            f"| {name} | **{w[0]:.2f}** ({w[1]:.2f}) | {_mm(m, 'cpu_s')[0]:.1f} "
            f"| {_mm(m, 'rss_mib')[1]:.0f} | {p[0]['files']} | {p[0]['raw_kb']:,.0f} "
            f"| **{p[0]['gz_kb']:,.0f}** | {p[0]['svg_paths']:,} | {p[0]['canvases']} "
            f"| {p[0]['canvas_shapes']:,} | {lo[0]:.2f} ({lo[1]:.2f}) "
            f"| **{d[0]:.2f}** ({d[1]:.2f}) | {_mm(p, 'heap_mib')[1]:.0f} |")
    rows += ["", f"Zoom tour ({TOUR} development areas in turn at zoom 15, finest level):", "",
             "| scale | slowest view drawn s | median s | tile files loaded | KB gzip "
             "| decoded tiles at the end | peak JS heap MiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, res in results.items():
        p = res["page"][0]
        rows.append(f"| {name} | {p['tour_s_max']:.2f} | {p['tour_s_median']:.2f} "
                    f"| {p['tour_files']} | {p['tour_gz_kb']:,.0f} | {p['decoded']} "
                    f"| {max(r['tour_peak_heap_mib'] for r in res['page']):.0f} |")
    return "\n".join(rows)


def verdicts(results: dict) -> list[str]:
    out = []
    for name, res in results.items():
        step, kb, drawn = TARGETS[name]
        w = _mm(res["map"], "wall_s")[0]
        gz = res["page"][0]["gz_kb"]
        d = _mm(res["page"], "drawn_s")[0]

        def ok(x: bool) -> str:
            return "met" if x else "NOT met"

        out.append(f"- {name}: map step {w:.2f} s (target < {step:g} s: **{ok(w < step)}**), "
                   f"{gz:,.0f} KB gzipped before zoom (target < {kb:,} KB: **{ok(gz < kb)}**), "
                   f"data drawn {d:.2f} s after navigation start (target < {drawn:g} s: "
                   f"**{ok(d < drawn)}**).")
    return out


def write_readme(results: dict, info: dict, argv: list[str], repeat: int) -> str:
    body = textwrap.dedent(f"""\
        Run on {info['date']} at commit `{info['commit']}`, {repeat} repeats (map step and page
        load each), min and (max). Machine: {info['cpu']}, {info['ram_gib']} GiB RAM; load
        average before the run: {info['load_before']} (shared machine: expect noise).

        Command: `{' '.join(argv)}`

        """) + table(results) + "\n\nTargets:\n\n" + \
        "\n".join(verdicts(results)) + "\n"
    replace_block(START, END, body)
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="norrkoping,county")
    parser.add_argument("--out", default=str(HERE / "_data"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    names = [s.strip() for s in args.scales.split(",") if s.strip()]
    if set(names) - set(TARGETS):
        parser.error(f"scales: choose from {', '.join(TARGETS)}")
    info = machine_info()
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--enable-precise-memory-info"])
        for name in names:
            generate(SCALES[name], out)
            cfg = ensure_analysis(name, out)
            logs = out / name / "logs"
            logs.mkdir(exist_ok=True)
            maps = cfg.parent / "out" / "maps"
            points = _tour_points(cfg, TOUR)
            res: dict = {"map": [], "page": []}
            for i in range(args.repeat):
                res["map"].append(map_step(cfg, logs / f"webmap_map_{i}.log"))
                res["page"].append(page_run(browser, maps, points))
                print(f"  {name} run {i + 1}: map {res['map'][-1]['wall_s']:.2f} s, page drawn "
                      f"{res['page'][-1]['drawn_s']:.2f} s, {res['page'][-1]['gz_kb']:.0f} KB gz",
                      flush=True)
            results[name] = res
        browser.close()
    (out / "webmap_results.json").write_text(json.dumps({"info": info, "results": results},
                                                        indent=1))
    argv = ["python", "benchmarks/bench_webmap.py", "--scales", ",".join(names),
            "--repeat", str(args.repeat)]
    if args.no_readme:
        print(table(results))
        print("\n".join(verdicts(results)))
    else:
        print(write_readme(results, info, argv, args.repeat))
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
