#!/usr/bin/env python
"""Benchmark of the scenario page `maps/scenario.html` (run on demand, not a test).

    python benchmarks/bench_scenario.py [--scales demo,county] [--toggles 400]
                                        [--out benchmarks/_data] [--no-readme]

For each scale: the inputs (the bundled demo; the county scale of `run_benchmarks.py`, made
by its own generator, 1 000 areas per plan), `opjord analyse` and `opjord map` in a fresh
subprocess of this checkout, then in headless Chromium (Debian's /usr/bin/chromium through
Playwright, every non-file request aborted) with the page opened from the file system:

* the size of the page's data (`scenario-data.js`, raw and gzipped) and of everything the page
  loads (HTML, data, scripts, style sheets);
* the time from navigation to the page being ready (data parsed, table built, figures shown);
* **one recomputation**: `OpjordScenario.figures` (the sums over the faces) after toggling a
  random area, timed in batches of 100 (Chromium coarsens `performance.now()`), per call;
* **one toggle through the page**: a click on a random area's checkbox, from the click to
  the new figures in the page and the map restyled (synchronous; the browser's paint is
  not included), each timed alone;
* **the address**: the page rewrites the URL fragment 250 ms after the last change
  (`history.replaceState`, which costs far more than the sums); timed alone, after a
  random toggle, with the fragment's length.

The table is printed and written between the scenario markers of `benchmarks/README.md`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_benchmarks as rb  # noqa: E402  (the generator and machine facts, not duplicated)

REPO = HERE.parent
START, END = "<!-- scenario:start -->", "<!-- scenario:end -->"
CHROMIUM = os.environ.get("OPJORD_CHROMIUM", "/usr/bin/chromium")


def _cli(config: Path, *command: str) -> float:
    """Run `python -m pipeline.cli <command> --config <config> -q` of this checkout; seconds."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.cli", *command, "--config", str(config),
                    "-q"], check=True, env=env, cwd=config.parent)
    return time.perf_counter() - t


def prepare(scale: str, out: Path) -> tuple[Path, dict]:
    """The scale's config after analyse and map (reused when its maps exist)."""
    if scale == "demo":
        folder = out / "scenario-demo"
        if not (folder / "opjord.toml").exists():
            shutil.copytree(REPO / "data/raw/demo", folder / "data/raw/demo", dirs_exist_ok=True)
            shutil.copy(REPO / "opjord.toml", folder / "opjord.toml")
        config = folder / "opjord.toml"
        maps = folder / "maps"
    else:
        rb.generate(rb.SCALES[scale], out)
        config = out / scale / "opjord.toml"
        maps = out / scale / "out" / "maps"
    timings = {}
    if not (maps / "scenario.html").exists():
        timings["analyse_s"] = _cli(config, "analyse")
        timings["map_s"] = _cli(config, "map")
    return maps, timings


MEASURE = r"""([toggles, batch]) => {
    const api = window.opjordScenario, S = window.OpjordScenario, m = api.model;
    let seed = 12345;
    const rand = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    // the sums alone, in batches (performance.now() is coarsened)
    const sel = api.state.selected.slice();
    const perCall = [];
    for (let i = 0; i < toggles / 10; i++) {
        const t = performance.now();
        for (let k = 0; k < batch; k++) {
            const a = rand(m.nAreas); sel[a] ^= 1;
            S.figures(m, sel, api.state.role);
        }
        perCall.push((performance.now() - t) / batch);
    }
    // a click on a checkbox: figures, URL and map restyle, synchronously
    document.getElementById('filter-plan').value = '';
    document.getElementById('filter-plan').dispatchEvent(new Event('change'));
    const boxes = document.querySelectorAll('#scenario-tabell input[type=checkbox]');
    const click = [];
    for (let i = 0; i < toggles; i++) {
        const box = boxes[rand(boxes.length)];
        const t = performance.now();
        box.click();
        click.push(performance.now() - t);
    }
    // the address written after the pause (history.replaceState with the fragment)
    const url = [];
    for (let i = 0; i < 20; i++) {
        boxes[rand(boxes.length)].click();
        const t = performance.now();
        api.url();
        url.push(performance.now() - t);
    }
    const stats = xs => { const s = xs.slice().sort((a, b) => a - b);
        return {median: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)],
                max: s[s.length - 1]}; };
    return {compute_ms: stats(perCall), click_ms: stats(click), url_ms: stats(url),
            url_chars: location.hash.length, faces: m.area.length,
            areas: m.nAreas, memberships: m.cover.length};
}"""


def measure(maps: Path, toggles: int) -> dict:
    from playwright.sync_api import sync_playwright

    page_files = ["scenario.html", "scenario-data.js", "assets/scenario.js", "assets/opjord.css",
                  "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css"]
    sizes = {name: (maps / name).stat().st_size for name in page_files}
    gz = {name: len(gzip.compress((maps / name).read_bytes(), 6)) for name in page_files}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                    "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        foreign = []
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                   else (foreign.append(r.request.url), r.abort()))
        loads = []
        for _ in range(3):
            page.goto((maps / "scenario.html").as_uri())
            page.wait_for_function("window.opjordScenario !== undefined")
            loads.append(page.evaluate("performance.now()"))
        result = page.evaluate(MEASURE, [toggles, 100])
        browser.close()
    assert not foreign, foreign
    return {**result, "ready_ms": min(loads), "data_bytes": sizes["scenario-data.js"],
            "data_gzip": gz["scenario-data.js"], "page_bytes": sum(sizes.values()),
            "page_gzip": sum(gz.values()), "html_bytes": sizes["scenario.html"]}


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def table(results: dict) -> str:
    rows = ["| scale | areas | faces (in boundary) | memberships | data (gzip) | page total "
            "(gzip) | ready | one recomputation: median (p95) | one toggle through the page: "
            "median (p95, max) | address after the pause: median (fragment) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        c, k = r["compute_ms"], r["click_ms"]
        rows.append(
            f"| {name} | {r['areas']:,} | {r['faces']:,} | {r['memberships']:,} | "
            f"{_mb(r['data_bytes'])} ({_mb(r['data_gzip'])}) | {_mb(r['page_bytes'])} "
            f"({_mb(r['page_gzip'])}) | {r['ready_ms']:.0f} ms | {1000 * c['median']:.0f} µs "
            f"({1000 * c['p95']:.0f} µs) | {k['median']:.2f} ms ({k['p95']:.2f}, "
            f"{k['max']:.2f} ms) | {r['url_ms']['median']:.1f} ms "
            f"({r['url_chars']:,} characters) |")
    return "\n".join(rows)


def verdicts(results: dict) -> list[str]:
    out = []
    for name, r in results.items():
        worst = r["click_ms"]["p95"]
        ok = "met" if worst < 16 else "NOT met"
        out.append(f"- {name}: a toggle recomputes and shows the figures in "
                   f"{r['click_ms']['median']:.2f} ms (p95 {worst:.2f} ms) — target "
                   f"well under 16 ms: **{ok}**; the sums alone take "
                   f"{1000 * r['compute_ms']['median']:.0f} µs.")
    return out


def write_readme(results: dict, timings: dict, toggles: int, argv: list[str]) -> str:
    info = rb.machine_info()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                            capture_output=True, check=False).stdout.strip() or "?"
    prep = "; ".join(f"{n}: analyse {t['analyse_s']:.0f} s, map {t['map_s']:.0f} s"
                     for n, t in timings.items() if t)
    block = "\n".join([
        f"Run on {dt.date.today().isoformat()} at commit `{commit}` (`{' '.join(argv)}`), "
        f"{toggles} toggles per scale, on {info['cpu']} (shared; load before "
        f"{info['load_before']}), Chromium headless.", "", table(results), "",
        *verdicts(results)]
        + ([f"\nPreparing the inputs took {prep}."] if prep else []))
    rb.replace_block(START, END, block + "\n")
    return block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="demo,county")
    parser.add_argument("--out", default=str(HERE / "_data"))
    parser.add_argument("--toggles", type=int, default=400)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    results, timings = {}, {}
    for name in [s.strip() for s in args.scales.split(",") if s.strip()]:
        maps, timings[name] = prepare(name, out)
        results[name] = measure(maps, args.toggles)
        print(json.dumps({name: results[name]}), flush=True)
    (out / "scenario_results.json").write_text(json.dumps(results, indent=1))
    argv = ["python", "benchmarks/bench_scenario.py", "--scales", args.scales,
            "--toggles", str(args.toggles)]
    if args.no_readme:
        print(table(results))
        print("\n".join(verdicts(results)))
    else:
        print(write_readme(results, timings, args.toggles, argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
