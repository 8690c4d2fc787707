"""The documentation against the code: docs/config.md lists exactly the keys and defaults that
`pipeline.config.load_config` accepts; docs/outputs.md lists exactly the files, layers,
columns and summary.json keys a run writes; links between the Markdown files resolve; and
nothing refers to files outside the repository.

The reference tables are found by an HTML comment right above them, e.g.
`<!-- config-keys: webmap -->` or `<!-- output-keys: summary.json plans.<plan> -->`; the
first column of such a table holds one name in backticks per row.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from conftest import X0, Y0, edit_config, make_project
from rasterio.transform import from_origin

from pipeline.cli import main
from pipeline.config import _KEYS, load_config
from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

MARKER = re.compile(r"^<!--\s*([a-z-]+):\s*(.*?)\s*-->\s*$")
NAME_CELL = re.compile(r"^`([^`]+)`$")


def marked_tables(path: Path, kind: str) -> dict[str, list[list[str]]]:
    """The rows (lists of cells) of each table marked `<!-- kind: name -->` in `path`.

    Raises AssertionError for a marker without a table, a repeated name, or a first cell that
    is not one name in backticks.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    tables: dict[str, list[list[str]]] = {}
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m or m.group(1) != kind:
            continue
        name = m.group(2)
        assert name not in tables, f"{path.name}: {kind} {name!r} is marked twice"
        body = []
        for row in lines[i + 1:]:
            if not row.startswith("|"):
                break
            cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]  # `\|` is a pipe in a cell
            body.append([c.strip() for c in cells])
        assert len(body) > 2, f"{path.name} line {i + 1}: no table under the {kind} marker"
        assert set(body[1][0]) <= set("-:"), f"{path.name} line {i + 2}: not a table header"
        rows = body[2:]
        for row in rows:
            assert NAME_CELL.match(row[0]), f"{path.name}: {row[0]!r} is not a `name` cell"
        tables[name] = rows
    return tables


def names(rows: list[list[str]]) -> list[str]:
    return [NAME_CELL.match(r[0]).group(1) for r in rows]


def differences(documented: dict[str, set[str]], actual: dict[str, set[str]], *,
                missing: str = "not documented",
                extra: str = "documented but not in the code or the output") -> list[str]:
    """Readable differences between two {section: names} maps, both directions."""
    out = []
    for section in sorted(set(documented) | set(actual)):
        doc, real = documented.get(section, set()), actual.get(section, set())
        if real - doc:
            out.append(f"{section}: {missing}: {sorted(real - doc)}")
        if doc - real:
            out.append(f"{section}: {extra}: {sorted(doc - real)}")
    return out


# ---------------------------------------------------------------------------- config.md

CONFIG_MD = DOCS / "config.md"
TOP = "top-level"


def config_tables() -> dict[str, list[list[str]]]:
    return marked_tables(CONFIG_MD, "config-keys")


def test_config_md_documents_exactly_the_accepted_keys():
    tables = config_tables()
    documented = {("" if t == TOP else t): set(names(rows)) for t, rows in tables.items()}
    for t, rows in tables.items():
        assert len(names(rows)) == len(set(names(rows))), f"[{t}] documents a key twice"
    assert differences(documented, _KEYS) == []


MINIMAL = """\
[boundary]
path = "b.gpkg"

[agricultural_land]
path = "f.gpkg"

[landcover]
path = "r.tif"

[[plans]]
key = "op2017"
path = "a.gpkg"
baseline = true

[[plans]]
key = "op2025"
path = "c.gpkg"
"""


def _loaded(config, table: str, key: str):
    """What `load_config` made of `[table] key` (for a config that leaves it out)."""
    holder = {"": config, "project": config, "plans": config.plans[1],
              "agricultural_land": config.agricultural_land}.get(table)
    if holder is None:
        holder = getattr(config, table)
    return getattr(holder, key)


def test_config_md_defaults_are_the_defaults(tmp_path):
    """Every default written as a TOML value in backticks is what load_config applies."""
    cfg = tmp_path / "opjord.toml"
    cfg.write_text(MINIMAL, encoding="utf-8")
    config = load_config(cfg, inputs_must_exist=False)
    checked = 0
    for table, rows in config_tables().items():
        for row in rows:
            literal = NAME_CELL.match(row[2])
            if table == TOP or not literal:
                continue
            key = NAME_CELL.match(row[0]).group(1)
            expected = tomllib.loads(f"v = {literal.group(1)}")["v"]
            value = _loaded(config, table, key)
            if isinstance(value, Path):
                expected = (tmp_path / expected).resolve()
            elif isinstance(value, tuple):
                value = list(value)
            assert value == expected, f"[{table}] {key}: documented {expected!r}, is {value!r}"
            checked += 1
    assert checked >= 15  # the literal defaults of docs/config.md were all found


def config_example() -> str:
    text = CONFIG_MD.read_text(encoding="utf-8")
    m = re.search(r"<!-- config-example -->\n```toml\n(.*?)```", text, re.S)
    assert m, "docs/config.md has no ```toml block under <!-- config-example -->"
    return m.group(1)


def test_config_md_full_example_loads_and_uses_every_key(tmp_path):
    cfg = tmp_path / "opjord.toml"
    cfg.write_text(config_example(), encoding="utf-8")
    config = load_config(cfg, inputs_must_exist=False)
    assert [p.key for p in config.plans] == ["op2017", "op2025"]
    raw = tomllib.loads(config_example())
    used: dict[str, set[str]] = {"": set(raw)}
    for table, value in raw.items():
        for item in value if isinstance(value, list) else [value]:
            used.setdefault(table, set()).update(item)
            if table == "plans" and "agricultural_land" in item:
                used["agricultural_land"].update(item["agricultural_land"])
            if table == "publication":
                for credit in item.get("credits", []):
                    used.setdefault("publication.credits", set()).update(credit)
    assert differences(used, _KEYS, missing="not in the full example",
                       extra="in the example but not accepted") == []


RANGE = re.compile(r"; (\d[\d ]*) to (\d[\d ]*)(?:;| \|)")  # "…; 0 to 100 000; …"


@pytest.mark.parametrize(("table", "key"), [
    ("webmap", "simplify_tolerance_m"), ("webmap", "context_buffer_m"), ("fetch", "page_size")])
def test_config_md_ranges_are_the_accepted_ranges(tmp_path, table, key):
    """The range a key's row states is what load_config accepts: both ends load, one past
    either end is refused as out of range."""
    row = next(r for r in config_tables()[table] if r[0] == f"`{key}`")
    m = RANGE.search(" | ".join(row[3:]) + " |")
    assert m, f"[{table}] {key}: the row states no range 'low to high'"
    low, high = (int(g.replace(" ", "")) for g in m.groups())
    cfg = tmp_path / "opjord.toml"
    for value, accepted in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
        cfg.write_text(f"{MINIMAL}\n[{table}]\n{key} = {value}\n", encoding="utf-8")
        if accepted:
            config = load_config(cfg, inputs_must_exist=False)
            assert getattr(getattr(config, table), key) == value
        else:
            from pipeline import fmt

            shown = re.escape(fmt.plain(value))  # config values in messages: 1 001, −1
            with pytest.raises(InputError, match=f"`{key}` = {shown} ligger utanför det tillåtna"):
                load_config(cfg, inputs_must_exist=False)


# ---------------------------------------------------------------------------- outputs.md

OUTPUTS_MD = DOCS / "outputs.md"


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """`opjord run` on the hand-made project with every optional part: a boundary, a
    land-cover raster and a plan with its own agricultural layer."""
    root = tmp_path_factory.mktemp("docs")
    cfg = make_project(root)
    arr = np.full((100, 100), 111, dtype=np.uint8)  # 10 m pixels over the boundary's box
    arr[60:, :40] = 3  # 400 × 400 m of arable in the south-west, under F1
    arr[:5, :5] = 255  # nodata; B3 also reaches outside the raster
    with rasterio.open(root / "raw" / "nmd.tif", "w", driver="GTiff", width=100, height=100,
                       count=1, dtype="uint8", crs="EPSG:3006", nodata=255,
                       transform=from_origin(X0, Y0 + 1000.0, 10.0, 10.0)) as ds:
        ds.write(arr, 1)
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[landcover]\npath = "raw/nmd.tif"\n',
                   encoding="utf-8")
    edit_config(cfg, "baseline = true", 'baseline = true\nagricultural_land = { path = '
                '"raw/blocks.gpkg", layer = "jordbruksblock" }')
    assert main(["run", "--config", str(cfg), "-q"]) == 0
    return root


def _with_placeholders(name: str, plans: list[str], slugs: list[str]) -> str:
    for key in plans:
        name = re.sub(rf"(?<![a-z0-9]){key}(?![a-z0-9])", "<plan>", name)
    for slug in slugs:
        name = name.replace(f"agricultural_ha_{slug}", "agricultural_ha_<slug>")
    return name


def test_outputs_md_lists_every_file_written(full_run):
    tables = marked_tables(OUTPUTS_MD, "output-files")
    folders = {"data/processed": full_run / "data/processed", "maps": full_run / "maps",
               "reports": full_run / "reports"}
    assert set(tables) == set(folders)
    problems = []
    for folder, path in folders.items():
        patterns = names(tables[folder])
        files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        shown = [_with_placeholders(f, ["op2017", "op2025"], []) for f in files]
        for f in shown:
            if not any(fnmatch.fnmatchcase(f, pat) for pat in patterns):
                problems.append(f"{folder}/{f} is written but not documented")
        for pat in patterns:
            if not any(fnmatch.fnmatchcase(f, pat) for f in shown):
                problems.append(f"{folder}/{pat} is documented but not written")
    assert problems == []


def _summary_sections(s: dict) -> dict[str, set[str]]:
    plan, later = next(iter(s["plans"].values())), next(iter(s["comparisons"].values()))
    vector = [i for i in s["inputs"] if i["role"] != "landcover"]
    raster = [i for i in s["inputs"] if i["role"] == "landcover"]
    return {
        "summary.json": set(s),
        "summary.json plans.<plan>": set().union(*(p for p in s["plans"].values())),
        "summary.json plans.<plan>.landcover": set(plan["landcover"]),
        "summary.json comparisons.<plan>": set().union(*s["comparisons"].values()),
        "summary.json comparisons.<plan>.landcover": set(later["landcover"]),
        "summary.json inputs[] vector": set().union(*vector),
        "summary.json inputs[].cleaning": set().union(*(i["cleaning"] for i in vector)),
        "summary.json inputs[] landcover": set().union(*raster),
        "summary.json software": set(s["software"]),
        "summary.json files": set(s["files"]),
    }


def test_outputs_md_lists_every_summary_key(full_run):
    s = json.loads((full_run / "data/processed/summary.json").read_text(encoding="utf-8"))
    assert {i["role"] for i in s["inputs"]} == {
        "boundary", "agricultural_land", "plan:op2017", "plan:op2025",
        "agricultural_land:op2017", "landcover"}  # every kind of input is in this run
    documented = {k: set(names(v)) for k, v in marked_tables(OUTPUTS_MD, "output-keys").items()}
    assert differences(documented, _summary_sections(s)) == []


def test_outputs_md_lists_every_column_layer_and_field(full_run):
    out = full_run / "data/processed"
    config = load_config(full_run / "opjord.toml")
    plans = [p.key for p in config.plans]
    slugs = ["aker", "bete"]
    found: dict[str, set[str]] = {}
    csv = pd.read_csv(out / "areas.csv", nrows=0)
    found["areas.csv"] = {_with_placeholders(c, plans, slugs) for c in csv.columns}
    layers = [str(name) for name, _ in pyogrio.list_layers(out / "analysis.gpkg")]
    found["analysis.gpkg"] = set(layers)
    source_attributes = set(pyogrio.read_info(config.agricultural_land.path,
                                              layer="jordbruksblock")["fields"])
    changes = "analysis.gpkg newly_designated released kept"
    for layer in layers:
        fields = {_with_placeholders(str(f), plans, slugs)
                  for f in pyogrio.read_info(out / "analysis.gpkg", layer=layer)["fields"]}
        if fields & source_attributes:
            fields = (fields - source_attributes) | {"<source attributes>"}
        section = changes if layer in changes.split()[1:] else f"analysis.gpkg {layer}"
        assert found.setdefault(section, fields) == fields, f"{layer} differs from its kind"
    with pd.ExcelFile(out / "opjord.xlsx") as xlsx:
        labels = {p.label: p for p in config.plans}
        found["opjord.xlsx"] = {"<label>" if n in labels else n for n in xlsx.sheet_names}
        header = pd.read_excel(xlsx, "Sammanfattning", header=2, nrows=0).columns
        found["opjord.xlsx Sammanfattning"] = {re.sub(r"^(Åker|Bete) \(ha\)$", "<class> (ha)", c)
                                               for c in header}
        sheet = pd.read_excel(xlsx, config.plans[1].label, nrows=0).columns
        found["opjord.xlsx <label>"] = {
            re.sub(r"^varav (Åker|Bete) \(ha\)$", "varav <class> (ha)", c)
            .replace(f"Status mot {config.baseline.label}", "Status mot <baseline label>")
            for c in sheet}
        found["opjord.xlsx Källor"] = set(pd.read_excel(xlsx, "Källor", nrows=0).columns)
    documented = {k: set(names(v)) for k, v in marked_tables(OUTPUTS_MD, "output-fields").items()}
    assert differences(documented, found) == []


# ---------------------------------------------------------------------------- links

LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")  # [text](target)


def github_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (code blocks skipped)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


SKIP = {"node_modules", "vendor", "_data", "_out", "build", "test-artifacts"}
GENERATED = ("maps", "reports", "data/processed")  # opjord's outputs, except their READMEs


def repository_files(pattern: str) -> list[Path]:
    """The repository's own files matching `pattern`: no hidden, vendored or generated ones."""
    out = []
    for path in ROOT.rglob(pattern):
        rel = path.relative_to(ROOT)
        if any(p.startswith(".") or p in SKIP or p.endswith(".egg-info") for p in rel.parts):
            continue
        if rel.as_posix().startswith(GENERATED) and rel.name != "README.md":
            continue
        out.append(path)
    return sorted(out)


def markdown_files() -> list[Path]:
    return repository_files("*.md")


def test_markdown_links_resolve():
    """Every relative link in the repository's Markdown reaches a file, and its #anchor a
    heading of that file."""
    broken = []
    for md in markdown_files():
        text = re.sub(r"```.*?```", "", md.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            dest = (md.parent / file).resolve() if file else md
            where = f"{md.relative_to(ROOT)}: {target}"
            if not dest.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in github_anchors(dest):
                broken.append(f"{where} (no such heading)")
    assert broken == []


def test_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme)
              if t.startswith("docs/")}
    assert {p.name for p in DOCS.glob("*.md")} <= linked


def test_nothing_refers_to_files_outside_the_repository():
    """A user who clones the project has only the repository: no sibling folders, no
    notes or issue numbers of the people who wrote it."""
    outside = re.compile(r"\.\./share[d]/|FIELD[-]NOTES|DESIGN[.]md|\bissues? [0-9]")
    found = []
    for path in [*markdown_files(), *repository_files("*.py")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if outside.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
