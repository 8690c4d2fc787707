"""Read and validate `opjord.toml` (structure only; data checks live in `read`).

Relative paths are resolved against the config file's folder, never the
current directory. A Windows absolute path (`'C:\\data\\x.gpkg'`, `"C:/data/x.gpkg"`,
`'\\\\server\\share\\x.gpkg'`) is absolute on every system: on Windows as usual, and
elsewhere kept exactly as written (so it is reported as missing, with the same path).
A Windows path in double quotes is a TOML escape problem; the message says how to
write it (single quotes or forward slashes).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path, PureWindowsPath
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from pipeline import fmt
from pipeline.errors import InputError, Problems
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
    crs: str | None = None  # analysis.gpkg's layers in this CRS (None: EPSG:3006, as measured)


@dataclass(frozen=True)
class WebmapConfig:
    basemap: str = "osm"
    tile_url: str | None = None  # only for basemap = "custom"
    attribution: str | None = None  # only for basemap = "custom"
    api_key_env: str | None = None  # name of the environment variable holding the tile API key
    simplify_tolerance_m: float = 2.0  # simplification in EPSG:3006, metres
    context_buffer_m: float = 1000.0  # all farmland is shown within this distance of areas


@dataclass(frozen=True)
class FetchConfig:
    url: str = "https://epub.sjv.se/inspire/inspire/wfs"
    layer_latest: str = "inspire:senaste_arslager_block"
    layer_years: str = "inspire:arslager_block"
    page_size: int = 5000


@dataclass(frozen=True)
class CreditConfig:
    """One extra credit line from `[publication] credits`: who, for what, where."""

    source: str
    text: str
    url: str | None = None


@dataclass(frozen=True)
class PublicationConfig:
    """Who publishes the outputs and what they say: the goal, the contact, extra credits.

    `publisher` None: "<kommun>s kommun" (see `pipeline.publication.publisher`); `goal`
    None: the report's general wording (pipeline/report/texts.toml [goal] default).
    """

    publisher: str | None = None
    goal: str | None = None
    goal_id: str | None = None  # the goal's number in the municipality's plan, e.g. "3A"
    goal_source: str | None = None  # the document the goal is from
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_url: str | None = None
    credits: tuple[CreditConfig, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    kommun: str | None  # None: the outputs say "kommunen"
    kommunkod: str | None
    agricultural_land: AgriculturalSource
    plans: tuple[PlanConfig, ...]
    output: OutputConfig
    boundary: VectorSource | None = None
    landcover: LandcoverConfig | None = None
    webmap: WebmapConfig = field(default_factory=WebmapConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    publication: PublicationConfig = field(default_factory=PublicationConfig)

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


def _field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _default(cls: type, name: str) -> Any:
    """The default of dataclass `cls`'s field `name` (a fresh one for a factory)."""
    f = next(f for f in fields(cls) if f.name == name)
    return f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]


# A vector table's keys are the source's fields that a person sets (not role or table).
_VECTOR_KEYS = _field_names(VectorSource) - {"role", "table"}
_KEYS: dict[str, set[str]] = {
    "": {"project", "boundary", "agricultural_land", "landcover", "plans", "output",
         "webmap", "fetch", "publication"},
    "project": {"kommun", "kommunkod"},
    "boundary": _VECTOR_KEYS,
    "agricultural_land": _field_names(AgriculturalSource) - {"role", "table"},
    "landcover": _field_names(LandcoverConfig),
    "plans": _VECTOR_KEYS | _field_names(PlanConfig) - {"source"},
    "output": _field_names(OutputConfig),
    "webmap": _field_names(WebmapConfig),
    "fetch": _field_names(FetchConfig),
    "publication": _field_names(PublicationConfig),
    "publication.credits": _field_names(CreditConfig),
}

# [output] folders when not given, relative to the config file's folder.
OUTPUT_FOLDERS = {"processed": "data/processed", "maps": "maps", "reports": "reports"}

_PLAN_KEY = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# Bounds of the numbers in the config (inclusive). Beyond them a value is a typo or a
# mistake in units: a web map simplified by a kilometre, a context of a whole county, or
# more features per WFS request than a server answers in one go.
SIMPLIFY_TOLERANCE_MAX_M = 1000.0
CONTEXT_BUFFER_MAX_M = 100_000.0
PAGE_SIZE_MAX = 100_000

# What a TOML value must be, in the words of the messages.
_KIND_WORDS = {str: "en text", int: "ett heltal", float: "ett tal", bool: "true eller false",
               list: "en lista", dict: "en tabell"}


def _kind_text(kind: type | tuple[type, ...]) -> str:
    """E.g. "ett heltal"; a float (or int/float) is "ett tal"."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        return _KIND_WORDS[float]
    return " eller ".join(_KIND_WORDS.get(k, k.__name__) for k in kinds)


class _Reader:
    """Typed access to one TOML table, collecting problems instead of raising."""

    def __init__(self, cfg_path: Path, table: str, data: Any, problems: Problems,
                 allowed: set[str], *, inputs_must_exist: bool = True):
        self.cfg_path, self.table, self.problems = cfg_path, table, problems
        self.inputs_must_exist = inputs_must_exist
        if not isinstance(data, dict):
            self.fail("", f"ska vara en tabell, inte {_kind_text(type(data))}",
                      "skriv den som en [tabell]")
            data = {}
        self.data: dict[str, Any] = data
        for key in sorted(set(data) - allowed):
            hint = ", ".join(f"`{k}`" for k in sorted(allowed))
            self.fail(key, "är ingen känd nyckel",
                      f"ta bort den eller rätta stavningen; kända nycklar här: {hint}")

    def fail(self, key: str, problem: str, fix: str) -> None:
        where = f"{self.table} `{key}`" if key else self.table
        self.problems.add(f"{self.cfg_path}: {where} {problem}. Åtgärd: {fix}.")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *,
            required: bool = False) -> Any:
        if key not in self.data:
            if required:
                self.fail(key, "saknas", f"lägg till `{key} = …` i {self.table}")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(key, f"ska vara {_kind_text(kind)}, inte {value!r}",
                      f"skriv {_kind_text(kind)}")
            return default
        if isinstance(value, str) and not value.strip():
            self.fail(key, "är tom", "ge den ett värde eller ta bort nyckeln")
            return default
        return value

    def number(self, key: str, kind: type | tuple[type, ...], default: Any, *,
               low: float | None = None, high: float | None = None, unit: str = "",
               fix: str) -> Any:
        """A finite number within [low, high] (either bound optional), else `default` and
        a problem; `fix` says what to write instead."""
        if key not in self.data:
            return default
        value = self.get(key, kind, None)
        if value is None:
            return default
        if not math.isfinite(value):
            self.fail(key, f"= {value} är inte ett ändligt tal", fix)
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = (f"{fmt.plain(low)} till {fmt.plain(high)}"
                       if low is not None and high is not None
                       else f"minst {fmt.plain(low)}" if low is not None
                       else f"högst {fmt.plain(high)}")
            self.fail(key, f"= {fmt.plain(value)} ligger utanför det tillåtna "
                      f"({allowed}{unit})", fix)
            return default
        return value

    def path(self, key: str, *, required: bool = True, must_exist: bool = True) -> Path | None:
        value = self.get(key, str, required=required)
        if value is None:
            return None
        if any(ord(c) < 0x20 for c in value):  # "C:\temp\bilder" is valid TOML: \t, \b
            typed = "".join(_ESCAPES.get(c, (c, ""))[0] for c in value)
            found = _join_words([_ESCAPES[c][1] for c in dict.fromkeys(value) if c in _ESCAPES]
                                or ["ett styrtecken"])
            self.fail(key, f'= "{typed}" blir en sökväg med {found} i: inom dubbla '
                      "citattecken läser TOML ett omvänt snedstreck och tecknet efter det "
                      "som en escape-sekvens", windows_path_fix(f"{key} = ", typed, ""))
            return None
        path = Path(value)
        windows = PureWindowsPath(value).is_absolute()  # C:\…, C:/…, \\server\share\…
        if not path.is_absolute() and not windows:
            path = (self.cfg_path.parent / path).resolve()
        if must_exist and self.inputs_must_exist and not path.exists():
            hint = ("relativa sökvägar utgår från konfigurationsfilens mapp" if not windows
                    or os.name == "nt" else "en Windows-sökväg läses som den är skriven och "
                    "finns bara i Windows")
            self.fail(key, f"pekar på {path}, som inte finns", f"rätta sökvägen ({hint})")
        return path

    def crs(self, key: str = "crs") -> str | None:
        value = self.get(key, str)
        if value is not None:
            try:
                CRS.from_user_input(value)
            except CRSError:
                self.fail(key, f"= {value!r} är inget koordinatsystem som pyproj känner till",
                          'skriv det som "EPSG:3006" (eller den kod som data verkligen har)')
                return None
        return value


_ESCAPES = {"\t": ("\\t", "ett tabbtecken"), "\b": ("\\b", "ett backstegstecken"),
            "\n": ("\\n", "en radbrytning"), "\f": ("\\f", "ett sidmatningstecken"),
            "\r": ("\\r", "en vagnretur")}
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\(at end of document\)$")
_WINDOWS_IN_QUOTES = re.compile(r'"((?:[A-Za-z]:\\|\\\\)[^"\n]*)"')  # "C:\…" or "\\srv…"
# tomllib's messages (Python 3.11–3.13), in Swedish (str.format: `{0}` is the part in the
# message, braces doubled); the first pattern that matches the whole message is used.
_TOML_REASONS = [(re.compile(pattern), text) for pattern, text in (
    (r"Invalid value", "ogiltigt värde (t.ex. text utan citattecken)"),
    (r"Invalid statement", "ogiltig rad"),
    (r"Expected newline or end of document after a statement",
     "radbrytning saknas efter ett värde"),
    (r"Expected '=' after a key in a key/value pair", "'=' saknas efter en nyckel"),
    (r"Found invalid character (.+)", "ogiltigt tecken {0}"),
    (r"Cannot declare (.+) twice", "{0} anges två gånger"),
    (r"Cannot overwrite a value", "ett värde anges två gånger"),
    (r"Cannot (?:mutate immutable|redefine) namespace (.+)",
     "tabellen {0} kan inte anges igen här"),
    (r"Expected ']' at the end of a table declaration", "']' saknas efter tabellnamnet"),
    (r"Expected ']]' at the end of an array declaration", "']]' saknas efter tabellnamnet"),
    (r"Invalid initial character for a key part", "ogiltigt första tecken i en nyckel"),
    (r"Unclosed array", "en lista saknar ']'"),
    (r"Duplicate inline table key (.+)", "nyckeln {0} anges två gånger"),
    (r"Unclosed inline table", "en tabell saknar '}}'"),
    (r"Unescaped '\\' in a string", "ett omvänt snedstreck utan escape-sekvens i en text"),
    (r"Invalid hex value", "ogiltigt hexadecimalt värde efter \\u eller \\U"),
    (r"Escaped character is not a Unicode scalar value",
     "en escape-sekvens ger inget Unicode-tecken"),
    (r"Unterminated string", "en text saknar sitt avslutande citattecken"),
    (r"Illegal character (.+)", "otillåtet tecken {0}"),
    (r"Invalid date or datetime", "ogiltigt datum eller klockslag"),
    (r"Expected (.+)", "väntade {0}"),  # after the other "Expected …" messages
)]


def toml_reason(message: str) -> str:
    """tomllib's error message in Swedish, e.g. "Invalid value (at line 2, column 10)" →
    "rad 2, kolumn 10: ogiltigt värde (…)"; an unknown message is kept as it is."""
    where = ""
    if position := _TOML_POSITION.search(message):
        where = f"rad {position.group(1)}, kolumn {position.group(2)}: "
        message = message[:position.start()].strip()
    elif end := _TOML_END.search(message):
        where = "i slutet av filen: "
        message = message[:end.start()].strip()
    for pattern, text in _TOML_REASONS:
        if found := pattern.fullmatch(message):
            return where + text.format(*(_toml_name(g) for g in found.groups()))
    return where + f"TOML-tolken säger {message!r}"


def _toml_name(part: str) -> str:
    """A table name as tomllib writes it, "('plans', 'x')", as in the file: [plans.x]."""
    try:
        key = ast.literal_eval(part)
    except (ValueError, SyntaxError):
        return part
    if isinstance(key, tuple) and key and all(isinstance(k, str) for k in key):
        return "[" + ".".join(key) + "]"
    return part


def windows_path_fix(before: str, typed: str, after: str) -> str:
    """The fix for a Windows path typed in double quotes: single quotes or forward slashes.

    `typed` is the path as written between the quotes; doubled backslashes count once
    (a UNC path keeps its two leading ones). `before`/`after`: the rest of the line.
    """
    lead = re.match(r"\\{2,}", typed)
    path = ("\\\\" if lead else "") + re.sub(r"\\+", r"\\", typed[lead.end():] if lead else typed)
    slashed = f'{before}"{path.replace(chr(92), "/")}"{after}'.strip()
    if "'" in path:
        return f"skriv sökvägen med snedstreck framåt, {slashed}"
    literal = f"{before}'{path}'{after}".strip()
    return (f"skriv sökvägen inom enkla citattecken, {literal} (en sådan text i TOML behåller "
            f"omvända snedstreck som de är), eller med snedstreck framåt, {slashed}")


def toml_problem(cfg_path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """The paragraph for a TOML syntax error; a Windows path in double quotes gets its own."""
    message = str(exc)
    generic = (f"{cfg_path}: är inte giltig TOML ({toml_reason(message)}). Åtgärd: rätta "
               'syntaxen; text ska stå inom dubbla citattecken, t.ex. path = "data/raw/x.gpkg".')
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
    return (f"{cfg_path}, rad {number}: `{(before + found.group(0) + after).strip()}` är en "
            "Windows-sökväg inom dubbla citattecken, där TOML läser varje omvänt snedstreck "
            "som början på en escape-sekvens som \\n, så filen är inte giltig TOML. Åtgärd: "
            + windows_path_fix(before, found.group(1), after) + ".")


def _join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " och " + words[-1]


def _toml_list(values) -> str:
    return json.dumps(list(values), ensure_ascii=False)


@dataclass(frozen=True)
class _Tables:
    """Makes a `_Reader` for each table of one config file; they share one `Problems`."""

    cfg_path: Path
    problems: Problems
    inputs_must_exist: bool

    def __call__(self, name: str, data: Any, keys: str) -> _Reader:
        return _Reader(self.cfg_path, name, data, self.problems, _KEYS[keys],
                       inputs_must_exist=self.inputs_must_exist)


def _read_toml(cfg_path: Path) -> dict[str, Any]:
    """The parsed TOML file; raises InputError when it is missing or not valid TOML."""
    if not cfg_path.is_file():
        raise InputError(f"{cfg_path}: konfigurationsfilen finns inte. Åtgärd: ange den med "
                         f"--config, eller kör i en mapp med en {DEFAULT_CONFIG_NAME} (repots "
                         "egen pekar på demodata).")
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{cfg_path}: är inte sparad som UTF-8 (byte "
                         f"{exc.object[exc.start]:#04x} på position {fmt.number(exc.start, 0)} "
                         "kan inte läsas). Åtgärd: spara filen som UTF-8.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(toml_problem(cfg_path, text, exc)) from None


def _project(table: _Tables, raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """[project]: kommun and kommunkod (both optional)."""
    r = table("[project]", raw.get("project", {}), "project")
    kommun = r.get("kommun", str)
    return (None if kommun is None else nfc(kommun)), r.get("kommunkod", str)


def _vector(r: _Reader, role: str) -> VectorSource | None:
    path = r.path("path")
    if path is None:
        return None
    return VectorSource(role=role, path=path, table=r.table, layer=r.get("layer", str),
                        crs=r.crs())


def _boundary(table: _Tables, raw: dict[str, Any]) -> VectorSource | None:
    """[boundary] (optional): the municipal boundary layer."""
    if "boundary" not in raw:
        return None
    return _vector(table("[boundary]", raw["boundary"], "boundary"), "boundary")


def _agricultural_source(r: _Reader, role: str, shared: AgriculturalSource | None = None
                         ) -> AgriculturalSource | None:
    """An agricultural layer's table; a plan's own (`shared` given) must list the shared
    layer's classes, in the same order (the figures by class have one set of columns), and
    lists them when it gives none."""
    base = _vector(r, role)
    class_column = r.get("class_column", str, _default(AgriculturalSource, "class_column"))
    default = shared.classes if shared is not None else _default(AgriculturalSource, "classes")
    classes = r.get("classes", list, list(default))
    if not classes or not all(isinstance(c, str) and c for c in classes):
        r.fail("classes", "ska vara en lista med minst ett klassvärde",
               'skriv t.ex. classes = ["Åker", "Bete"]')
        classes = ["?"]
    classes = [nfc(c) for c in classes]  # compared with the data in NFC
    if len(set(classes)) != len(classes):
        r.fail("classes", "anger en klass två gånger",
               "ange varje klass en gång, i prioritetsordning")
    elif alike := [v for v in folded_targets(classes).values() if len(v) > 1]:
        r.fail("classes", "anger klasser som bara skiljer sig i versaler/gemener eller "
               "mellanslag runt texten ("
               + "; ".join(", ".join(repr(c) for c in v) for v in alike)
               + "), och värdena i data jämförs med klasserna utan hänsyn till det",
               "behåll en av dem")
    elif shared is not None and classes != list(shared.classes):
        r.fail("classes", f"= {_toml_list(classes)} skiljer sig från [agricultural_land] "
               f"`classes` = {_toml_list(shared.classes)}",
               "ange samma klasser i samma ordning som i [agricultural_land] (siffrorna per "
               "klass har en kolumn per gemensam klass), eller ta bort `classes` här för att "
               "använda de gemensamma; planens skikt kan ändå ha egna `path`, `layer` och "
               "`class_column`")
    if base is None:
        return None
    return AgriculturalSource(role=base.role, path=base.path, table=base.table,
                              layer=base.layer, crs=base.crs, class_column=class_column,
                              classes=tuple(classes))


def _agricultural(table: _Tables, raw: dict[str, Any], top: _Reader
                  ) -> AgriculturalSource | None:
    """[agricultural_land] (required): the shared field-block layer."""
    if "agricultural_land" not in raw:
        top.fail("", "saknar tabellen [agricultural_land]",
                 'lägg till en [agricultural_land] med path = "…" till jordbruksblocken')
        return None
    return _agricultural_source(
        table("[agricultural_land]", raw["agricultural_land"], "agricultural_land"),
        "agricultural_land")


def _landcover(table: _Tables, raw: dict[str, Any]) -> LandcoverConfig | None:
    """[landcover] (optional): the land-cover raster."""
    if "landcover" not in raw:
        return None
    r = table("[landcover]", raw["landcover"], "landcover")
    path = r.path("path")
    default_codes = list(_default(LandcoverConfig, "agricultural_codes"))
    codes = r.get("agricultural_codes", list, default_codes)
    if not codes or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
        r.fail("agricultural_codes", "ska vara en lista med minst en heltalskod",
               "skriv t.ex. agricultural_codes = [3] (NMD åkermark)")
        codes = default_codes
    nodata = r.number("nodata", (int, float), _default(LandcoverConfig, "nodata"),
                      fix="ange det värde rastret har för saknade data (NMD: 0), eller ta bort "
                          "`nodata` för att använda filens eget")
    if path is None:
        return None
    return LandcoverConfig(path=path, agricultural_codes=tuple(codes),
                           nodata=None if nodata is None else float(nodata), crs=r.crs(),
                           exclude_nodata=r.get("exclude_nodata", bool,
                                                _default(LandcoverConfig, "exclude_nodata")))


def _nfc_type_map(r: _Reader, type_map: dict[str, str]) -> dict[str, str]:
    """`type_map` with keys and values in NFC. Keys the data cannot tell apart (the same
    in NFC, or but for case and surrounding spaces) must map to the same value."""
    groups: dict[str, list[str]] = {}
    for key in type_map:
        groups.setdefault(fold(key), []).append(key)
    for keys in groups.values():
        if len({nfc(type_map[k]) for k in keys}) > 1:
            r.fail("type_map", "översätter nycklar som bara skiljer sig i Unicode-form, "
                   "versaler/gemener eller mellanslag runt texten till olika värden (" + ", ".join(
                       f"{k!r} = {type_map[k]!r}" for k in keys) + "), och typvärdena jämförs "
                   "med nycklarna utan hänsyn till det", "behåll en av de nycklarna")
    return {nfc(k): nfc(v) for k, v in type_map.items()}


def _type_map(r: _Reader) -> dict[str, str]:
    type_map = r.get("type_map", dict, _default(PlanConfig, "type_map"))
    if not all(isinstance(v, str) for v in type_map.values()):
        r.fail("type_map", "ska översätta typvärden till text",
               'skriv t.ex. type_map = { "Bostad" = "bostäder", "Industri" = "verksamheter" }')
        type_map = {}
    type_map = _nfc_type_map(r, type_map)
    if type_map and not r.data.get("type_column"):
        r.fail("type_map", "kräver `type_column`", "ange kolumnen som innehåller typerna")
    return type_map


def _plan(table: _Tables, number: int, raw_plan: Any,
          agricultural: AgriculturalSource | None) -> PlanConfig | None:
    """The `number`th [[plans]] table (from 1)."""
    key = raw_plan.get("key") if isinstance(raw_plan, dict) else None
    r = table(f"[[plans]] #{number}" + (f" ({key})" if isinstance(key, str) else ""),
              raw_plan, "plans")
    key = r.get("key", str, required=True)
    if key is not None and not _PLAN_KEY.match(key):
        r.fail("key", f"= {key!r} går inte att använda som plannyckel",
               "använd gemena bokstäver a–z, siffror och _, med en bokstav först, t.ex. op2017")
    source = _vector(r, f"plan:{key}")
    own_agri = None
    if "agricultural_land" in r.data:
        own_agri = _agricultural_source(
            table(f"{r.table} agricultural_land", r.data["agricultural_land"],
                  "agricultural_land"), f"agricultural_land:{key}", shared=agricultural)
    type_map = _type_map(r)
    if not (key and source):
        return None
    return PlanConfig(key=key, label=nfc(r.get("label", str, key)), source=source,
                      id_column=r.get("id_column", str), name_column=r.get("name_column", str),
                      type_column=r.get("type_column", str), type_map=type_map,
                      baseline=r.get("baseline", bool, _default(PlanConfig, "baseline")),
                      agricultural_land=own_agri)


def _plans(table: _Tables, raw: dict[str, Any], top: _Reader,
           agricultural: AgriculturalSource | None) -> tuple[PlanConfig, ...]:
    """[[plans]] (at least one): each plan, one of them the baseline."""
    raw_plans = raw.get("plans", [])
    if not isinstance(raw_plans, list) or not raw_plans:
        top.fail("", "har ingen [[plans]]-tabell",
                 "lägg till minst en [[plans]] med key, label och path")
        raw_plans = []
    plans = [plan for i, raw_plan in enumerate(raw_plans, start=1)
             if (plan := _plan(table, i, raw_plan, agricultural)) is not None]
    keys = [p.key for p in plans]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        table.problems.add(f"{table.cfg_path}: [[plans]] `key` = {dup!r} används av mer än en "
                           "plan. Åtgärd: ge varje plan en egen nyckel.")
    baselines = [p.key for p in plans if p.baseline]
    if plans and len(baselines) != 1:
        table.problems.add(
            f"{table.cfg_path}: [[plans]] ska ha exakt en plan med baseline = true (hittade "
            f"{len(baselines)}: {', '.join(baselines) or 'ingen'}). Åtgärd: markera planen som "
            "allt jämförs med (ÖP 2017) med baseline = true.")
    return tuple(plans)


def _output(table: _Tables, raw: dict[str, Any]) -> OutputConfig:
    """[output] (optional): the folders written, by default beside the config file, and the
    CRS of the GeoPackage's layers (`crs`; the figures are measured in EPSG:3006 anyway)."""
    r = table("[output]", raw.get("output", {}), "output")
    return OutputConfig(**{
        name: r.path(name, required=False, must_exist=False)
        or (table.cfg_path.parent / default).resolve()
        for name, default in OUTPUT_FOLDERS.items()}, crs=r.crs())


def _webmap(table: _Tables, raw: dict[str, Any]) -> WebmapConfig:
    """[webmap] (optional): basemap and how the web map draws the data."""
    r = table("[webmap]", raw.get("webmap", {}), "webmap")
    default = WebmapConfig()
    basemap = r.get("basemap", str, default.basemap)
    if basemap not in BASEMAPS:
        r.fail("basemap", f"= {basemap!r} är inte en av {', '.join(BASEMAPS)}",
               'använd "osm", "topowebb_nedtonad", "none", eller "custom" med tile_url och '
               "attribution")
        basemap = default.basemap
    webmap = WebmapConfig(
        basemap=basemap, tile_url=r.get("tile_url", str, default.tile_url),
        attribution=r.get("attribution", str, default.attribution),
        api_key_env=r.get("api_key_env", str, default.api_key_env),
        simplify_tolerance_m=r.number(
            "simplify_tolerance_m", float, default.simplify_tolerance_m, low=0.0,
            high=SIMPLIFY_TOLERANCE_MAX_M, unit=" m",
            fix="ange förenklingen i meter, t.ex. simplify_tolerance_m = 2 (0 behåller varje "
                "brytpunkt)"),
        context_buffer_m=r.number(
            "context_buffer_m", float, default.context_buffer_m, low=0.0,
            high=CONTEXT_BUFFER_MAX_M, unit=" m",
            fix="ange avståndet i meter, t.ex. context_buffer_m = 1000 (0 visar ingen "
                "jordbruksmark runt områdena)"))
    if basemap.startswith("topowebb") and not webmap.api_key_env:
        r.fail("basemap", f"= {basemap!r} kräver en API-nyckel från Lantmäteriet",
               'lägg till api_key_env = "LM_API_KEY" och sätt miljövariabeln LM_API_KEY till '
               "nyckeln när kartorna byggs (nyckeln skrivs aldrig i konfigurationen)")
    if webmap.api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*",
                                                          webmap.api_key_env):
        r.fail("api_key_env", f"= {webmap.api_key_env!r} är inte ett namn på en miljövariabel",
               'ange variabelns namn, t.ex. api_key_env = "LM_API_KEY", inte nyckeln själv')
    if basemap == "custom" and not (webmap.tile_url and webmap.attribution):
        r.fail("basemap", '= "custom" kräver tile_url och attribution',
               "lägg till tile_url = \"https://…/{z}/{x}/{y}.png\" och attribution = \"© …\"")
    return webmap


def _fetch(table: _Tables, raw: dict[str, Any]) -> FetchConfig:
    """[fetch] (optional): the WFS that `opjord fetch` reads."""
    r = table("[fetch]", raw.get("fetch", {}), "fetch")
    default = FetchConfig()
    return FetchConfig(
        url=r.get("url", str, default.url),
        layer_latest=r.get("layer_latest", str, default.layer_latest),
        layer_years=r.get("layer_years", str, default.layer_years),
        page_size=r.number("page_size", int, default.page_size, low=1, high=PAGE_SIZE_MAX,
                           fix="ange antalet objekt per WFS-anrop, t.ex. page_size = 5000"))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-–]{4,}[0-9]$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
GOAL_MAX_CHARS = 1000  # a goal is a sentence or two, not a chapter


def _url(r: _Reader, key: str) -> str | None:
    value = r.get(key, str)
    if value is not None and not _URL.match(value):
        r.fail(key, f"= {value!r} är ingen webbadress",
               'skriv hela adressen med https://, t.ex. "https://www.kommun.se/kontakt"')
        return None
    return value


def _credits(table: _Tables, r: _Reader) -> tuple[CreditConfig, ...]:
    """[publication] `credits`: a list of { source, text, url } tables."""
    items = r.get("credits", list, [])
    out = []
    for i, item in enumerate(items, start=1):
        c = table(f"{r.table} credits #{i}", item, "publication.credits")
        source, text = c.get("source", str, required=True), c.get("text", str, required=True)
        url = _url(c, "url")
        if source and text:
            out.append(CreditConfig(source=nfc(source), text=nfc(text), url=url))
    return tuple(out)


def _publication(table: _Tables, raw: dict[str, Any]) -> PublicationConfig:
    """[publication] (optional): publisher, goal and its source, contact, extra credits."""
    r = table("[publication]", raw.get("publication", {}), "publication")
    email = r.get("contact_email", str)
    if email is not None and not _EMAIL.match(email):
        r.fail("contact_email", f"= {email!r} är ingen e-postadress",
               'skriv adressen som namn@kommun.se, t.ex. contact_email = "kontakt@kommun.se"')
        email = None
    phone = r.get("contact_phone", str)
    if phone is not None and not _PHONE.match(phone):
        r.fail("contact_phone", f"= {phone!r} är inget telefonnummer",
               'skriv numret med siffror, mellanslag och bindestreck, t.ex. '
               'contact_phone = "011-15 00 00" eller "+46 11 15 00 00"')
        phone = None
    goal = r.get("goal", str)
    if goal is not None and len(goal) > GOAL_MAX_CHARS:
        r.fail("goal", f"är {fmt.number(len(goal), 0)} tecken lång (högst "
               f"{fmt.number(GOAL_MAX_CHARS, 0)})", "skriv målets formulering, inte hela "
               "dokumentet; källan anges i `goal_source`")
        goal = None
    goal_id = r.get("goal_id", str)
    if goal_id is not None and len(goal_id) > 20:
        r.fail("goal_id", f"= {goal_id!r} är längre än 20 tecken",
               'ange målets nummer eller korta namn, t.ex. goal_id = "3A"')
        goal_id = None
    texts = {k: (None if v is None else " ".join(nfc(v).split()))
             for k, v in (("publisher", r.get("publisher", str)), ("goal", goal),
                          ("goal_id", goal_id), ("goal_source", r.get("goal_source", str)))}
    return PublicationConfig(**texts, contact_email=email, contact_phone=phone,
                             contact_url=_url(r, "contact_url"), credits=_credits(table, r))


def load_config(path: str | Path, *, inputs_must_exist: bool = True) -> Config:
    """Read and validate the TOML config at `path`; raise InputError listing every problem.

    `inputs_must_exist=False` accepts input paths that do not exist yet (for `opjord fetch`,
    which creates them).
    """
    cfg_path = Path(path).resolve()
    raw = _read_toml(cfg_path)
    problems = Problems()
    table = _Tables(cfg_path, problems, inputs_must_exist)
    top = table("konfigurationsfilen", raw, "")
    kommun, kommunkod = _project(table, raw)
    boundary = _boundary(table, raw)
    agricultural = _agricultural(table, raw, top)
    landcover = _landcover(table, raw)
    plans = _plans(table, raw, top, agricultural)
    output = _output(table, raw)
    webmap = _webmap(table, raw)
    fetch = _fetch(table, raw)
    publication = _publication(table, raw)
    problems.raise_if_any()
    assert agricultural is not None
    return Config(path=cfg_path, kommun=kommun, kommunkod=kommunkod,
                  agricultural_land=agricultural, plans=plans, output=output,
                  boundary=boundary, landcover=landcover, webmap=webmap, fetch=fetch,
                  publication=publication)
