"""The `opjord fetch` command: arguments, the area to fetch, and the run.

Progress goes to stderr and the config lines to use the fetched file go to stdout,
both in Swedish; the manifest entry (English keys) goes to `manifest.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import __version__, fmt
from pipeline.config import Config, FetchConfig, VectorSource
from pipeline.errors import InputError
from pipeline.fetch.cache import PageCache
from pipeline.fetch.http import HttpPolicy
from pipeline.fetch.paging import fetch_features
from pipeline.fetch.store import (
    ATTRIBUTION,
    LICENCE,
    LICENCE_URL,
    MANIFEST_NAME,
    OUTPUT_LAYER,
    read_manifest,
    update_manifest,
    utc_now,
    write_geopackage,
)
from pipeline.fetch.wfs import (
    CLASS_COLUMN,
    CLASSES,
    EASTING,
    NORTHING,
    SRS_NAME,
    Query,
    coordinate,
    features_to_frame,
    in_sweden,
)

DATASETS = ("jordbruksblock",)
CACHE_DIR_NAME = ".opjord-cache"

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FetchOptions:
    """What `opjord fetch` is asked to do (`options_from_args` builds it from the CLI).

    None means "from the config, else the default": `bbox` (EPSG:3006 metres, easting
    first) from [boundary]; `url`, `layer` and `page_size` from [fetch]; `out` is
    data/raw/jordbruksblock_<year>.gpkg beside the config. `year` None is the latest
    årslager. `timeout` and `retry_wait` are seconds. `sleep` and `log` replace
    `time.sleep` and the stderr logger (tests record retry waits instead of sleeping).
    """

    dataset: str = "jordbruksblock"
    year: int | None = None
    bbox: Box | None = None
    out: Path | None = None
    url: str | None = None
    layer: str | None = None
    page_size: int | None = None
    timeout: float = 60.0
    retries: int = 5
    retry_wait: float = 2.0
    fresh: bool = False
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] | None = None


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the `opjord fetch` arguments to `parser`."""
    parser.description = (
        "Hämtar Jordbruksverkets jordbruksblock (öppna data, "
        f"{ATTRIBUTION}) från deras WFS-tjänst till en GeoPackage i data/raw/.")
    parser.add_argument("dataset", choices=DATASETS, help="vad som ska hämtas")
    parser.add_argument("--year", default="latest", metavar="latest|ÅÅÅÅ",
                        help="årslager: 'latest' (standard; skiktet med det senaste årslagret) "
                             "eller ett år, t.ex. 2017 (skiktet med alla årslager, filtrerat på "
                             "arslager)")
    parser.add_argument("--bbox", metavar="MINX,MINY,MAXX,MAXY",
                        help="område i meter i EPSG:3006 (easting,northing); standard: "
                             "omslutande rektangel för [boundary] i konfigurationen, och de "
                             "block som skär gränsen behålls")
    parser.add_argument("--out", type=Path, metavar="SÖKVÄG",
                        help="GeoPackage att skriva (standard data/raw/jordbruksblock_<år>.gpkg "
                             "bredvid konfigurationen)")
    parser.add_argument("--url", metavar="URL",
                        help="WFS-tjänstens adress (standard [fetch] url, annars "
                             "Jordbruksverkets)")
    parser.add_argument("--layer", metavar="NAMN",
                        help="objekttypens namn (standard [fetch] layer_latest eller "
                             "layer_years)")
    parser.add_argument("--page-size", type=int, metavar="N",
                        help="objekt per förfrågan (standard [fetch] page_size, 5000)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SEKUNDER",
                        help="tidsgräns för nätverket per förfrågan (standard 60)")
    parser.add_argument("--retries", type=int, default=5, metavar="N",
                        help="nya försök per förfrågan efter tidsgräns, 5xx och 429 "
                             "(standard 5)")
    parser.add_argument("--retry-wait", type=float, default=2.0, metavar="SEKUNDER",
                        help="första väntetiden före ett nytt försök; fördubblas varje gång "
                             "(standard 2)")
    parser.add_argument("--fresh", action="store_true",
                        help="bortse från sidor som en tidigare, avbruten hämtning har "
                             "sparat i cachen")


def options_from_args(args: argparse.Namespace, *,
                      sleep: Callable[[float], None] = time.sleep,
                      log: Callable[[str], None] | None = None) -> FetchOptions:
    """The options of a parsed `opjord fetch` command line; bad --year or --bbox raise
    InputError here, before anything is fetched."""
    return FetchOptions(
        dataset=args.dataset, year=parse_year(args.year),
        bbox=parse_bbox(args.bbox) if args.bbox else None, out=args.out, url=args.url,
        layer=args.layer, page_size=args.page_size, timeout=args.timeout,
        retries=args.retries, retry_wait=args.retry_wait, fresh=args.fresh,
        sleep=sleep, log=log)


def parse_year(value: str | None) -> int | None:
    """'latest' → None; '2017' → 2017; anything else is an InputError."""
    if value is None or value.strip().lower() == "latest":
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}", text) and 1990 <= int(text) <= 2100:
        return int(text)
    raise InputError(f"--year {value!r} är inget år. Åtgärd: ange --year latest eller ett "
                     "fyrsiffrigt årslager, t.ex. --year 2017.")


def parse_bbox(value: str) -> Box:
    """'minx,miny,maxx,maxy' in EPSG:3006 metres → tuple; checks order and plausibility."""
    fix = ("Åtgärd: ange --bbox minx,miny,maxx,maxy i meter i EPSG:3006 (SWEREF 99 TM), "
           "easting först, t.ex. --bbox 515000,6460000,620000,6530000.")
    try:
        parts = [float(p) for p in value.replace(" ", "").split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise InputError(f"--bbox {value!r} är inte fyra tal. {fix}")
    minx, miny, maxx, maxy = parts
    if not (minx < maxx and miny < maxy):
        raise InputError(f"--bbox {value!r}: minimum måste vara mindre än maximum på båda "
                         f"axlarna. {fix}")
    if not in_sweden(minx, miny, maxx, maxy):
        swapped = NORTHING[0] <= minx <= NORTHING[1] and EASTING[0] <= miny <= EASTING[1]
        hint = (" Det ser ut som northing,easting: byt plats på axlarna." if swapped else
                " Grader (EPSG:4326) godtas inte.")
        raise InputError(f"--bbox {value!r} ligger inte i SWEREF 99 TM över Sverige.{hint} "
                         f"{fix}")
    return minx, miny, maxx, maxy


def boundary_geometry(source: VectorSource):  # -> shapely geometry in EPSG:3006
    """The union of the boundary layer, in EPSG:3006.

    Read as the analysis reads it (`read.inspect_source`, `read.read_source`): a damaged
    file, a missing CRS or an unreadable layer is an InputError naming the file.
    """
    from pipeline.read import inspect_source, read_source

    try:
        frame = read_source(inspect_source(source))
    except InputError as exc:
        raise InputError([f"{p} (Eller ange --bbox i stället.)" for p in exc.problems]) from None
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise InputError(f"{source.path}: {source.table} har ingen geometri. Åtgärd: peka den "
                         "på kommungränsen, eller ange --bbox.")
    return frame.to_crs(SRS_NAME).geometry.make_valid().union_all()


def _config_path_text(path: Path, root: Path | None) -> str:
    path = path.resolve()
    if root is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(root.resolve()).as_posix()
    return path.as_posix()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(options: FetchOptions, config: Config | None) -> int:
    """`opjord fetch jordbruksblock`: fetch, validate, write GeoPackage + manifest entry.

    Progress goes to stderr; the config lines to use go to stdout. Returns 0, or
    raises InputError (exit 2) with nothing written to the output path.
    """
    started = time.monotonic()
    log = options.log or _stderr
    fetch_cfg = config.fetch if config is not None else FetchConfig()
    year = options.year
    url = options.url or fetch_cfg.url
    layer = options.layer or (fetch_cfg.layer_latest if year is None else fetch_cfg.layer_years)
    page_size = options.page_size if options.page_size is not None else fetch_cfg.page_size
    if page_size < 1:
        raise InputError(f"--page-size {page_size} (eller [fetch] page_size) måste vara minst "
                         "1. Åtgärd: använd t.ex. 1000.")
    if options.retries < 0 or options.timeout <= 0:
        raise InputError("--retries måste vara minst 0 och --timeout större än 0. Åtgärd: "
                         "t.ex. --timeout 60 --retries 5.")

    within = None
    area = "blocks intersecting the bbox (not cut)"  # manifest.json: English
    if options.bbox is not None:
        bbox = options.bbox
    elif config is not None and config.boundary is not None:
        within = boundary_geometry(config.boundary)
        bbox = tuple(float(v) for v in within.bounds)
        area = ("blocks intersecting the boundary "
                f"{_config_path_text(config.boundary.path, config.root)} (not cut)")
        log(f"område: omslutande rektangel för {config.boundary.path.name} "
            f"({','.join(coordinate(round(v)) for v in bbox)}, EPSG:3006)")
    else:
        where = (f"{config.path} saknar [boundary]" if config is not None
                 else "det finns ingen konfigurationsfil")
        raise InputError(
            f"opjord fetch behöver ett område, men --bbox är inte angiven och {where}. "
            "Åtgärd: lägg till en tabell [boundary] (kommungränsen) i konfigurationen, eller "
            "ange --bbox minx,miny,maxx,maxy i meter i EPSG:3006. Hela Sverige (1,1 miljoner "
            "block) hämtas inte som standard.")

    root = config.root if config is not None else Path.cwd()
    raw_dir = (options.out.parent if options.out else root / "data" / "raw").resolve()
    manifest_path = raw_dir / MANIFEST_NAME
    read_manifest(manifest_path)  # fail before fetching if it is unreadable

    # blockid repeats across years in the all-years layer: sort and dedupe on both there.
    all_years = year is not None or layer == fetch_cfg.layer_years
    sort_by = ("blockid", "arslager") if all_years else ("blockid",)
    query = Query(url=url, layer=layer, year=year, bbox=bbox, page_size=page_size,
                  sort_by=sort_by)
    policy = HttpPolicy(timeout=options.timeout, retries=options.retries,
                        backoff=options.retry_wait, log=log, sleep=options.sleep)
    cache = PageCache(raw_dir / CACHE_DIR_NAME / f"jordbruksblock-{query.cache_key()}",
                      query, log)
    if options.fresh:
        cache.clear()
    elif pages := cache.cached_pages():
        log(f"fortsätter: {fmt.number(pages, 0)} {'sida' if pages == 1 else 'sidor'} finns "
            f"redan i cachen {cache.folder}")

    features, hits = fetch_features(query, policy, cache, log)
    frame = features_to_frame(features, query, within)

    years = sorted(int(y) for y in frame["arslager"].dropna().unique()) if (
        "arslager" in frame.columns) else []
    label = str(year) if year is not None else (str(years[0]) if len(years) == 1 else "latest")
    out = (options.out if options.out else raw_dir / f"jordbruksblock_{label}.gpkg").resolve()
    if out.suffix.lower() != ".gpkg":
        raise InputError(f"--out {out}: utdata måste vara en GeoPackage. Åtgärd: ange en "
                         "sökväg som slutar på .gpkg.")
    fetched_at = utc_now()
    digest = write_geopackage(
        frame, out, f"{ATTRIBUTION}. Jordbruksverkets jordbruksblock från {url}, skikt {layer}"
        f"{'' if year is None else f', årslager {year}'}, hämtade {fetched_at} av opjord.")
    entry = {
        "dataset": "jordbruksblock",
        "path": out.name,
        "layer": OUTPUT_LAYER,
        "source": {"service": "WFS 2.0.0", **query.describe()},
        "hits": hits,
        "features_fetched": len(features),
        "feature_count": len(frame),
        "area": area,
        "arslager": years,
        "fetched_at": fetched_at,
        "sha256": digest,
        "crs": SRS_NAME,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "attribution": ATTRIBUTION,
        "software": f"opjord {__version__}",
    }
    update_manifest(manifest_path, out.name, entry)
    cache.clear()
    with contextlib.suppress(OSError):
        cache.folder.parent.rmdir()  # only if no other fetch left pages there

    seconds = fmt.number(time.monotonic() - started, 1)
    log(f"skrev {out} ({fmt.number(len(frame), 0)} block, årslager "
        f"{', '.join(map(str, years)) or '?'}) och {manifest_path.name} på {seconds}{fmt.NBSP}s")
    rel = _config_path_text(out, config.root if config is not None else None)
    print("\n".join(config_lines(rel, fetched_at, url, layer, year)))
    return 0


def config_lines(path: str, fetched_at: str, url: str, layer: str,
                 year: int | None) -> list[str]:
    """The opjord.toml lines that use the fetched file at `path` (relative to the config).

    With a `year`, also the one-line form for a single plan's [[plans]] table.
    """
    classes = "[" + ", ".join(f'"{c}"' for c in CLASSES) + "]"
    lines = [
        "",
        f"# {ATTRIBUTION} — hämtade {fetched_at} från {url} ({layer})",
        "[agricultural_land]",
        f'path = "{path}"',
        f'layer = "{OUTPUT_LAYER}"',
        f'class_column = "{CLASS_COLUMN}"',
        f"classes = {classes}",
    ]
    if year is not None:
        lines += ["",
                  f"# eller, för att mäta en plan (t.ex. ÖP {year}) mot blocken från {year},",
                  "# i den planens [[plans]]-tabell:",
                  f'agricultural_land = {{ path = "{path}", layer = "{OUTPUT_LAYER}", '
                  f'class_column = "{CLASS_COLUMN}", classes = {classes} }}']
    return lines
