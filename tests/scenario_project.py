"""Helpers for the scenario page's tests: the demo run once per session, node for the JS.

The page's script (`pipeline/static/scenario.js`) exports its core under Node, so its sums
and number formats are checked against Python without a browser. Node is the one
Playwright ships (a dev dependency, as for the browser tests), so it is there wherever
the browser tests can run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import util
from pathlib import Path

import pytest

from pipeline.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_JS = ROOT / "pipeline" / "static" / "scenario.js"
_DEMO: dict[str, Path] = {}


def demo_run(tmp_path_factory) -> Path:
    """A copy of the demo config and data after `opjord run` (once per test session)."""
    if "root" not in _DEMO:
        root = tmp_path_factory.mktemp("scenario-demo")
        shutil.copytree(ROOT / "data/raw/demo", root / "data/raw/demo")
        shutil.copy(ROOT / "opjord.toml", root / "opjord.toml")
        assert main(["run", "--config", str(root / "opjord.toml"), "-q"]) == 0
        _DEMO["root"] = root
    return _DEMO["root"]


def node() -> Path:
    """Playwright's bundled Node (fails, never skips, when it is missing)."""
    spec = util.find_spec("playwright")
    path = Path(spec.origin).parent / "driver" / "node" if spec and spec.origin else None
    if path is None or not path.exists():
        pytest.fail("the JavaScript tests need Playwright's Node (pip install -e .[dev]; "
                    "bash scripts/install-test-deps installs it)")
    return path


def run_js(body: str, payload: object = None, *, data_js: Path | None = None) -> object:
    """Run `body` (a function body; `S` is the page's module, `input` the payload, `data` the
    page data when `data_js` is given) under Node and return what it returns, as JSON."""
    prelude = "globalThis.window = globalThis;\n"
    if data_js is not None:
        prelude += (f"eval(require('fs').readFileSync({json.dumps(str(data_js))}, 'utf8'));\n"
                    "const data = window.OPJORD_SCENARIO;\n")
    code = (prelude + f"const S = require({json.dumps(str(SCENARIO_JS))});\n"
            "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
            f"const out = (function () {{ {body} }})();\n"
            "process.stdout.write(JSON.stringify(out));\n")
    done = subprocess.run([str(node()), "-e", code], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"node failed: {done.stderr}")
    return json.loads(done.stdout)
