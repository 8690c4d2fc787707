#!/usr/bin/env python
"""Where one `opjord analyse` process spends its time, phase by phase (run on demand).

    python benchmarks/phases.py benchmarks/_data/national/opjord.toml [--runs 7]

Each run is a fresh process that imports opjord, wraps the main phases (reading,
cleaning, the overlay, each output file) with a wall clock, and runs `opjord analyse -q`
on the config. Printed: the median over the runs of each phase's wall time (s), in the
order the phases start; a phase called more than once is numbered (#1, #2, …). Phases
nest (`read_inputs` holds `_read_clean`), so the lines do not add up. The wrapping
costs a little; use it for proportions, `run_benchmarks.py` for whole-process times.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys

PHASES = {
    "pipeline.analyse": ["read_inputs", "inspect_inputs", "_read_clean", "read_plan_areas",
                         "analyse_frames", "_overlay", "_area_status", "_plan_faces",
                         "_measure_plan"],
    "pipeline.export": ["write_processed", "write_gpkg", "_write_layer", "write_qgis_project",
                        "write_xlsx", "areas_table", "scenario_data"],
    "pipeline.qgis": ["write_styles"],
    "pipeline.clean": ["clean_polygons"],
}

CHILD = r"""
import functools, importlib, json, sys, threading, time
T0 = time.perf_counter()
import pipeline.cli as cli
phases = json.loads(sys.argv[1])
mods = {m: importlib.import_module(m) for m in phases}
imported = time.perf_counter() - T0
log = []

def wrap(mod, name):
    func = getattr(mod, name)

    @functools.wraps(func)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            log.append((start - T0, time.perf_counter() - start, name))
    return timed

# Patch the function where it is defined and wherever it was imported by name.
for m, names in phases.items():
    for name in names:
        original = getattr(mods[m], name)
        for other in list(sys.modules.values()):
            if getattr(other, "__name__", "").startswith("pipeline") and \
                    getattr(other, name, None) is original:
                setattr(other, name, wrap(other, name))
code = cli.main(["analyse", "-q", "--config", sys.argv[2]])
log.sort()
print(json.dumps({"code": code, "imports_s": imported,
                  "total_s": time.perf_counter() - T0, "phases": log}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = collections.defaultdict(list)
    order: dict[str, float] = {}
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(PHASES), args.config],
                              capture_output=True, text=True, check=True)
        out = json.loads(done.stdout.strip().splitlines()[-1])
        if out["code"] != 0:
            sys.exit(f"opjord analyse exited {out['code']}: {done.stderr[-2000:]}")
        times["(imports)"].append(out["imports_s"])
        order.setdefault("(imports)", -1.0)
        seen: collections.Counter = collections.Counter()
        for start, wall, name in out["phases"]:
            seen[name] += 1
            key = f"{name}#{seen[name]}"
            times[key].append(wall)
            order.setdefault(key, start)
        times["(whole main, before exit)"].append(out["total_s"])
        order.setdefault("(whole main, before exit)", 1e9)
    print(f"median of {args.runs} fresh processes, wall seconds:")
    for key in sorted(times, key=order.get):
        print(f"{statistics.median(times[key]):8.3f}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
