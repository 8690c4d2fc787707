"""Read and validate `opjord.toml` (structure only; data checks live in `read`).

Relative paths are resolved against the config file's folder, never the
current directory. A Windows absolute path (`'C:\\data\\x.gpkg'`, `"C:/data/x.gpkg"`,
`'\\\\server\\share\\x.gpkg'`) is absolute on every system: on Windows as usual, and
elsewhere kept exactly as written (so it is reported as missing, with the same path).
A Windows path in double quotes is a TOML escape problem; the message says how to
write it (single quotes or forward slashes).
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from pipeline.errors import Problems
from pipeline.values import fold, folded_targets, nfc

DEFAULT_CONFIG_NAME = "opjord.toml"

# Basemaps the web map knows by name; "none" gives a map with data layers only.
BASEMAPS = ("osm", "topowebb_nedtonad", "topowebb", "none", "custom")


@dataclass(frozen=True)
class VectorSource:
    """A vector input: `role` is e.g. "boundary", "agricultural_land" or "plan:op2017"."""

    role: str
    path: Path
    table: str  # config table for messages, e.g. "[[plans]] op2017"
    layer: str | None = None
    crs: str | None = None


@dataclass(frozen=True)
class AgriculturalSource(VectorSource):
    """Agricultural land: features whose `class_column` is one of `classes` count.

    `classes` are in priority order: where two classes overlap, the first wins.
    """

    class_column: str = "agoslag"
    classes: tuple[str, ...] = ("Åker", "Bete")


@dataclass(frozen=True)
class PlanConfig:
    key: str
    label: str
    source: VectorSource
    id_column: str | None = None
    name_column: str | None = None
    type_column: str | None = None
    # Maps this plan's type values to one shared vocabulary (e.g. ÖP 2017's "Bostad" →
    # "bostäder"), so plans with different schemas compare; unmapped values stay as they are.
    type_map: dict[str, str] = field(default_factory=dict)
    baseline: bool = False
    agricultural_land: AgriculturalSource | None = None  # None: the shared layer


@dataclass(frozen=True)
class LandcoverConfig:
    """Land-cover raster (e.g. NMD): pixels with `agricultural_codes` count."""

    path: Path
    agricultural_codes: tuple[int, ...] = (3,)
    nodata: float | None = None
    crs: str | None = None
    exclude_nodata: bool = False  # True: nodata leaves the denominator


@dataclass(frozen=True)
class OutputConfig:
    processed: Path
    maps: Path
    reports: Path


@dataclass(frozen=True)
class WebmapConfig:
    basemap: str = "osm"
    tile_url: str | None = None  # only for basemap = "custom"
    attribution: str | None = None  # only for basemap = "custom"
    simplify_tolerance_m: float = 2.0  # simplification in EPSG:3006, metres
    context_buffer_m: float = 1000.0  # all farmland is shown within this distance of areas


@dataclass(frozen=True)
class FetchConfig:
    url: str = "https://epub.sjv.se/inspire/inspire/wfs"
    layer_latest: str = "inspire:senaste_arslager_block"
    layer_years: str = "inspire:arslager_block"
    page_size: int = 5000


@dataclass(frozen=True)
class Config:
    path: Path
    kommun: str
    kommunkod: str | None
    agricultural_land: AgriculturalSource
    plans: tuple[PlanConfig, ...]
    output: OutputConfig
    boundary: VectorSource | None = None
    landcover: LandcoverConfig | None = None
    webmap: WebmapConfig = field(default_factory=WebmapConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)

    @property
    def root(self) -> Path:
        """The config file's folder: relative paths start here."""
        return self.path.parent

    @property
    def baseline(self) -> PlanConfig:
        return next(p for p in self.plans if p.baseline)

    def agricultural_for(self, plan: PlanConfig) -> AgriculturalSource:
        """The agricultural layer a plan is measured against."""
        return plan.agricultural_land or self.agricultural_land

    def vector_sources(self) -> list[VectorSource]:
        """Every vector input once, in a stable order."""
        sources: list[VectorSource] = []
        if self.boundary is not None:
            sources.append(self.boundary)
        sources.append(self.agricultural_land)
        for plan in self.plans:
            sources.append(plan.source)
            if plan.agricultural_land is not None:
                sources.append(plan.agricultural_land)
        return sources


_KEYS: dict[str, set[str]] = {
    "": {"project", "boundary", "agricultural_land", "landcover", "plans", "output",
         "webmap", "fetch"},
    "project": {"kommun", "kommunkod"},
    "boundary": {"path", "layer", "crs"},
    "agricultural_land": {"path", "layer", "crs", "class_column", "classes"},
    "landcover": {"path", "agricultural_codes", "nodata", "crs", "exclude_nodata"},
    "plans": {"key", "label", "path", "layer", "crs", "id_column", "name_column",
              "type_column", "type_map", "baseline", "agricultural_land"},
    "output": {"processed", "maps", "reports"},
    "webmap": {"basemap", "tile_url", "attribution", "simplify_tolerance_m",
               "context_buffer_m"},
    "fetch": {"url", "layer_latest", "layer_years", "page_size"},
}

_PLAN_KEY = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# Bounds of the numbers in the config (inclusive). Beyond them a value is a typo or a
# mistake in units: a web map simplified by a kilometre, a context of a whole county, or
# more features per WFS request than a server answers in one go.
SIMPLIFY_TOLERANCE_MAX_M = 1000.0
CONTEXT_BUFFER_MAX_M = 100_000.0
PAGE_SIZE_MAX = 100_000


class _Reader:
    """Typed access to one TOML table, collecting problems instead of raising."""

    def __init__(self, cfg_path: Path, table: str, data: Any, problems: Problems,
                 allowed: set[str], *, inputs_must_exist: bool = True):
        self.cfg_path, self.table, self.problems = cfg_path, table, problems
        self.inputs_must_exist = inputs_must_exist
        if not isinstance(data, dict):
            self.fail("", f"must be a table, not {type(data).__name__}",
                      "write it as a [table] section")
            data = {}
        self.data: dict[str, Any] = data
        for key in sorted(set(data) - allowed):
            hint = ", ".join(f"`{k}`" for k in sorted(allowed))
            self.fail(key, "is not a known key",
                      f"remove it or correct its spelling; known keys here: {hint}")

    def fail(self, key: str, problem: str, fix: str) -> None:
        where = f"{self.table} `{key}`" if key else self.table
        self.problems.add(f"{self.cfg_path}: {where} {problem}. Fix: {fix}.")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *,
            required: bool = False) -> Any:
        if key not in self.data:
            if required:
                self.fail(key, "is missing", f"add `{key} = …` to {self.table}")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(key, f"must be a {names}, not {value!r}", f"write a {names} value")
            return default
        if isinstance(value, str) and not value.strip():
            self.fail(key, "is empty", "give a value or remove the key")
            return default
        return value

    def number(self, key: str, kind: type | tuple[type, ...], default: Any, *,
               low: float | None = None, high: float | None = None, unit: str = "",
               fix: str) -> Any:
        """A finite number within [low, high] (either bound optional), else `default` and
        a problem; `fix` says what to write instead."""
        value = self.get(key, kind, default)
        if value is None or value is default:
            return value
        if not math.isfinite(value):
            self.fail(key, f"= {value} is not a finite number", fix)
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = (f"{low:g} to {high:g}" if low is not None and high is not None
                       else f"at least {low:g}" if low is not None else f"at most {high:g}")
            self.fail(key, f"= {value:g} is out of range (allowed: {allowed}{unit})", fix)
            return default
        return value

    def path(self, key: str, *, required: bool = True, must_exist: bool = True) -> Path | None:
        value = self.get(key, str, required=required)
        if value is None:
            return None
        if any(ord(c) < 0x20 for c in value):  # "C:\temp\bilder" is valid TOML: \t, \b
            typed = "".join(_ESCAPES.get(c, (c, ""))[0] for c in value)
            found = _join_words([_ESCAPES[c][1] for c in dict.fromkeys(value) if c in _ESCAPES]
                                or ["a control character"])
            self.fail(key, f'= "{typed}" reads as a path with {found} in it: in double quotes, '
                      "TOML takes a backslash and the letter after it as an escape",
                      windows_path_fix(f"{key} = ", typed, ""))
            return None
        path = Path(value)
        windows = PureWindowsPath(value).is_absolute()  # C:\…, C:/…, \\server\share\…
        if not path.is_absolute() and not windows:
            path = (self.cfg_path.parent / path).resolve()
        if must_exist and self.inputs_must_exist and not path.exists():
            hint = ("relative paths start at the config file's folder" if not windows
                    or os.name == "nt" else "a Windows path is read as it is written and "
                    "exists only on Windows")
            self.fail(key, f"points at {path}, which does not exist",
                      f"correct the path ({hint})")
        return path

    def crs(self, key: str = "crs") -> str | None:
        value = self.get(key, str)
        if value is not None:
            try:
                CRS.from_user_input(value)
            except CRSError:
                self.fail(key, f"= {value!r} is not a CRS pyproj knows",
                          'write it as "EPSG:3006" (or the code your data really uses)')
                return None
        return value


_ESCAPES = {"\t": ("\\t", "a tab"), "\b": ("\\b", "a backspace"), "\n": ("\\n", "a line break"),
            "\f": ("\\f", "a form feed"), "\r": ("\\r", "a carriage return")}
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
_WINDOWS_IN_QUOTES = re.compile(r'"((?:[A-Za-z]:\\|\\\\)[^"\n]*)"')  # "C:\…" or "\\srv…"


def windows_path_fix(before: str, typed: str, after: str) -> str:
    """The fix for a Windows path typed in double quotes: single quotes or forward slashes.

    `typed` is the path as written between the quotes; doubled backslashes count once
    (a UNC path keeps its two leading ones). `before`/`after`: the rest of the line.
    """
    lead = re.match(r"\\{2,}", typed)
    path = ("\\\\" if lead else "") + re.sub(r"\\+", r"\\", typed[lead.end():] if lead else typed)
    slashed = f'{before}"{path.replace(chr(92), "/")}"{after}'.strip()
    if "'" in path:
        return f"write the path with forward slashes, {slashed}"
    literal = f"{before}'{path}'{after}".strip()
    return (f"write the path in single quotes, {literal} (a TOML literal string keeps "
            f"backslashes as they are), or with forward slashes, {slashed}")


def toml_problem(cfg_path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """The paragraph for a TOML syntax error; a Windows path in double quotes gets its own."""
    generic = (f"{cfg_path}: not valid TOML ({exc}). Fix: correct the syntax; strings need "
               'double quotes, e.g. path = "data/raw/x.gpkg".')
    message = str(exc)
    position = _TOML_POSITION.search(message)
    if position is None or not message.startswith(("Unescaped '\\'", "Invalid hex value")):
        return generic
    number = int(position.group(1))
    lines = text.split("\n")  # as tomllib counts lines
    found = _WINDOWS_IN_QUOTES.search(lines[number - 1]) if number <= len(lines) else None
    if found is None:
        return generic
    line = lines[number - 1]
    before, after = line[:found.start()], re.sub(r"\s*#.*$", "", line[found.end():])
    return (f"{cfg_path}, line {number}: `{(before + found.group(0) + after).strip()}` is a "
            "Windows path in double quotes, where TOML reads each backslash as the start of "
            "an escape such as \\n, so the file is not valid TOML. Fix: "
            + windows_path_fix(before, found.group(1), after) + ".")


def _join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _vector(r: _Reader, role: str) -> VectorSource | None:
    path = r.path("path")
    if path is None:
        return None
    return VectorSource(role=role, path=path, table=r.table, layer=r.get("layer", str),
                        crs=r.crs())


def _agricultural(r: _Reader, role: str, shared: AgriculturalSource | None = None
                  ) -> AgriculturalSource | None:
    """An agricultural layer's table; a plan's own (`shared` given) must list the shared
    layer's classes, in the same order (the figures by class have one set of columns), and
    lists them when it gives none."""
    base = _vector(r, role)
    class_column = r.get("class_column", str, "agoslag")
    default = list(shared.classes) if shared is not None else ["Åker", "Bete"]
    classes = r.get("classes", list, default)
    if not classes or not all(isinstance(c, str) and c for c in classes):
        r.fail("classes", "must be a non-empty list of class values",
               'write e.g. classes = ["Åker", "Bete"]')
        classes = ["?"]
    classes = [nfc(c) for c in classes]  # compared with the data in NFC
    if len(set(classes)) != len(classes):
        r.fail("classes", "lists a class twice", "list each class once, in priority order")
    elif alike := [v for v in folded_targets(classes).values() if len(v) > 1]:
        r.fail("classes", "lists classes that differ only by case or surrounding spaces ("
               + "; ".join(", ".join(repr(c) for c in v) for v in alike)
               + "), and data values are matched with the classes regardless of those",
               "keep one of them")
    elif shared is not None and classes != list(shared.classes):
        r.fail("classes", f"= {_toml_list(classes)} differ from [agricultural_land] `classes` "
               f"= {_toml_list(shared.classes)}",
               "list the same classes in the same order as in [agricultural_land] (the "
               "figures per class have one column per shared class), or remove `classes` "
               "here to use the shared ones; the plan's layer may still have its own path, "
               "layer and class_column")
    if base is None:
        return None
    return AgriculturalSource(role=base.role, path=base.path, table=base.table,
                              layer=base.layer, crs=base.crs, class_column=class_column,
                              classes=tuple(classes))


def _nfc_type_map(r: _Reader, type_map: dict[str, str]) -> dict[str, str]:
    """`type_map` with keys and values in NFC. Keys the data cannot tell apart (the same
    in NFC, or but for case and surrounding spaces) must map to the same value."""
    groups: dict[str, list[str]] = {}
    for key in type_map:
        groups.setdefault(fold(key), []).append(key)
    for keys in groups.values():
        if len({nfc(type_map[k]) for k in keys}) > 1:
            r.fail("type_map", "maps keys that differ only by Unicode form, case or surrounding "
                   "spaces to different values (" + ", ".join(
                       f"{k!r} = {type_map[k]!r}" for k in keys) + "), and type values are "
                   "matched with the keys regardless of those", "keep one of those keys")
    return {nfc(k): nfc(v) for k, v in type_map.items()}


def _toml_list(values) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def load_config(path: str | Path, *, inputs_must_exist: bool = True) -> Config:
    """Read and validate the TOML config at `path`; raise InputError listing every problem.

    `inputs_must_exist=False` accepts input paths that do not exist yet (for `opjord fetch`,
    which creates them).
    """
    cfg_path = Path(path).resolve()
    problems = Problems()

    def table(name: str, data: Any, keys: str) -> _Reader:
        return _Reader(cfg_path, name, data, problems, _KEYS[keys],
                       inputs_must_exist=inputs_must_exist)

    if not cfg_path.is_file():
        problems.add(f"{cfg_path}: the config file does not exist. Fix: pass --config PATH, or "
                     f"run in a folder with an {DEFAULT_CONFIG_NAME} (the repository's own points "
                     "at the demo data).")
        problems.raise_if_any()
    try:
        text = cfg_path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        problems.add(f"{cfg_path}: not valid TOML ({exc}). Fix: save the file as UTF-8.")
        problems.raise_if_any()
    except tomllib.TOMLDecodeError as exc:
        problems.add(toml_problem(cfg_path, text, exc))
        problems.raise_if_any()

    top = table("the config file", raw, "")
    project = table("[project]", raw.get("project", {}), "project")
    kommun = nfc(project.get("kommun", str, "Norrköping"))
    kommunkod = project.get("kommunkod", str)

    boundary = None
    if "boundary" in raw:
        boundary = _vector(table("[boundary]", raw["boundary"], "boundary"), "boundary")

    agricultural = None
    if "agricultural_land" not in raw:
        top.fail("agricultural_land", "is missing",
                 'add an [agricultural_land] table with path = "…" to the field blocks')
    else:
        agricultural = _agricultural(
            table("[agricultural_land]", raw["agricultural_land"], "agricultural_land"),
            "agricultural_land")

    landcover = None
    if "landcover" in raw:
        r = table("[landcover]", raw["landcover"], "landcover")
        lc_path = r.path("path")
        codes = r.get("agricultural_codes", list, [3])
        if not codes or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
            r.fail("agricultural_codes", "must be a non-empty list of integer class codes",
                   "write e.g. agricultural_codes = [3] (NMD åkermark)")
            codes = [3]
        nodata = r.number("nodata", (int, float), None,
                          fix="give the value the raster uses for missing data (NMD: 0), or "
                              "remove `nodata` to use the file's own")
        if lc_path is not None:
            landcover = LandcoverConfig(path=lc_path, agricultural_codes=tuple(codes),
                                        nodata=None if nodata is None else float(nodata),
                                        crs=r.crs(),
                                        exclude_nodata=r.get("exclude_nodata", bool, False))

    plans: list[PlanConfig] = []
    raw_plans = raw.get("plans", [])
    if not isinstance(raw_plans, list) or not raw_plans:
        top.fail("plans", "has no plan", "add at least one [[plans]] table with key, label, path")
        raw_plans = []
    for i, raw_plan in enumerate(raw_plans, start=1):
        key = raw_plan.get("key") if isinstance(raw_plan, dict) else None
        r = table(f"[[plans]] #{i}" + (f" ({key})" if isinstance(key, str) else ""),
                  raw_plan, "plans")
        key = r.get("key", str, required=True)
        if key is not None and not _PLAN_KEY.match(key):
            r.fail("key", f"= {key!r} is not a usable plan key",
                   "use lower-case letters, digits and _ starting with a letter, e.g. op2017")
        source = _vector(r, f"plan:{key}")
        own_agri = None
        if "agricultural_land" in r.data:
            own_agri = _agricultural(
                table(f"{r.table} agricultural_land", r.data["agricultural_land"],
                      "agricultural_land"), f"agricultural_land:{key}", shared=agricultural)
        type_map = r.get("type_map", dict, {})
        if not all(isinstance(v, str) for v in type_map.values()):
            r.fail("type_map", "must map type values to text",
                   'write e.g. type_map = { "Bostad" = "bostäder", "Industri" = "verksamheter" }')
            type_map = {}
        type_map = _nfc_type_map(r, type_map)
        if type_map and not r.data.get("type_column"):
            r.fail("type_map", "needs `type_column`", "name the column that holds the types")
        if key and source:
            plans.append(PlanConfig(
                key=key, label=nfc(r.get("label", str, key)), source=source,
                id_column=r.get("id_column", str), name_column=r.get("name_column", str),
                type_column=r.get("type_column", str), type_map=dict(type_map),
                baseline=r.get("baseline", bool, False),
                agricultural_land=own_agri))
    keys = [p.key for p in plans]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        problems.add(f"{cfg_path}: [[plans]] key {dup!r} is used by more than one plan. "
                     "Fix: give every plan its own key.")
    baselines = [p.key for p in plans if p.baseline]
    if plans and len(baselines) != 1:
        problems.add(f"{cfg_path}: [[plans]] must have exactly one plan with baseline = true "
                     f"(found {len(baselines)}: {', '.join(baselines) or 'none'}). Fix: mark the "
                     "plan everything is compared with (ÖP 2017) with baseline = true.")

    out = table("[output]", raw.get("output", {}), "output")
    output = OutputConfig(*(out.path(k, required=False, must_exist=False)
                            or (cfg_path.parent / default).resolve()
                            for k, default in (("processed", "data/processed"), ("maps", "maps"),
                                               ("reports", "reports"))))

    w = table("[webmap]", raw.get("webmap", {}), "webmap")
    basemap = w.get("basemap", str, "osm")
    if basemap not in BASEMAPS:
        w.fail("basemap", f"= {basemap!r} is not one of {', '.join(BASEMAPS)}",
               'use "osm", "topowebb_nedtonad", "none", or "custom" with tile_url and attribution')
        basemap = "osm"
    webmap = WebmapConfig(
        basemap=basemap, tile_url=w.get("tile_url", str), attribution=w.get("attribution", str),
        simplify_tolerance_m=w.number(
            "simplify_tolerance_m", float, 2.0, low=0.0, high=SIMPLIFY_TOLERANCE_MAX_M,
            unit=" m", fix="give the simplification in metres, e.g. 2 (0 keeps every vertex)"),
        context_buffer_m=w.number(
            "context_buffer_m", float, 1000.0, low=0.0, high=CONTEXT_BUFFER_MAX_M, unit=" m",
            fix="give the distance in metres, e.g. 1000 (0 shows no farmland around the "
                "areas)"))
    if basemap == "custom" and not (webmap.tile_url and webmap.attribution):
        w.fail("basemap", '= "custom" needs tile_url and attribution',
               "add tile_url = \"https://…/{z}/{x}/{y}.png\" and attribution = \"© …\"")

    f = table("[fetch]", raw.get("fetch", {}), "fetch")
    page_size = f.number("page_size", int, None, low=1, high=PAGE_SIZE_MAX,
                         fix="give the features per WFS request, e.g. 5000")
    fetch = FetchConfig(**{k: v for k, v in (
        ("url", f.get("url", str)), ("layer_latest", f.get("layer_latest", str)),
        ("layer_years", f.get("layer_years", str)), ("page_size", page_size),
    ) if v is not None})

    problems.raise_if_any()
    assert agricultural is not None
    return Config(path=cfg_path, kommun=kommun, kommunkod=kommunkod,
                  agricultural_land=agricultural, plans=tuple(plans), output=output,
                  boundary=boundary, landcover=landcover, webmap=webmap, fetch=fetch)
