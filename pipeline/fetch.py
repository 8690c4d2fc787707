"""`opjord fetch jordbruksblock`: Jordbruksverket's field blocks from a WFS 2.0 server.

The blocks are requested in EPSG:3006 as GeoJSON, page by page (WFS 2.0 `count` +
`startIndex` with a stable `sortBy`), after one `resultType=hits` request for the
total. Every page is cached on disk as soon as it arrives, so an interrupted fetch
resumes where it stopped. Only when all pages are in, the set is validated (count
equals the server's total, no repeated blocks, right year, right place, SWEREF 99 TM
coordinates) and written atomically as a GeoPackage, with an entry in the folder's
`manifest.json` (URL, layer, filter, time, count, sha256, licence and attribution).

Server differences handled here (see docs/fetch.md, "Server notes"):

- a bbox is sent with the URN CRS `urn:ogc:def:crs:EPSG::3006` and therefore in
  northing,easting order (the CRS's official axis order in WFS 2.0);
- `resultType=hits` is requested *without* a JSON outputFormat (MapServer answers
  that with an empty body) and `numberMatched` is read from the XML;
- `FILTER` and `BBOX` are never sent together (MapServer: 400); with a year, the
  bbox goes into the FES 2.0 filter as `And(PropertyIsEqualTo arslager, BBOX)`;
- GeoServer's `CQL_FILTER` is not used (MapServer ignores it silently); instead
  every page is checked against the requested year, so a server that ignores the
  filter is caught on the first page;
- one-part blocks may come back as `Polygon`: every geometry becomes MultiPolygon;
- attribute values may come back as strings: `areal` becomes float, `arslager`
  integer, `blockid` text.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import gzip
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from pipeline import __version__
from pipeline.config import Config, FetchConfig, VectorSource
from pipeline.errors import InputError

DATASETS = ("jordbruksblock",)
OUTPUT_LAYER = "jordbruksblock"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Jordbruksblock © Jordbruksverket, CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
CRS_URN = "urn:ogc:def:crs:EPSG::3006"  # WFS 2.0: northing,easting in requests
SRS_NAME = "EPSG:3006"  # output CRS; GeoJSON coordinates are always easting,northing
JSON_FORMAT = "application/json"
CLASS_COLUMN = "agoslag"
CLASSES = ("Åker", "Bete")
CACHE_DIR_NAME = ".opjord-cache"
MANIFEST_NAME = "manifest.json"
USER_AGENT = f"opjord/{__version__} (fetch jordbruksblock; Python urllib)"

# Plausible SWEREF 99 TM coordinates for Sweden (easting, northing), generous margins.
_EASTING = (0.0, 1_500_000.0)
_NORTHING = (5_800_000.0, 8_000_000.0)

_FES_NS = "http://www.opengis.net/fes/2.0"
_GML_NS = "http://www.opengis.net/gml/3.2"


# ---------------------------------------------------------------- errors


class FetchError(InputError):
    """The fetch failed in a way the user must act on (server down, bad answer, …).

    An InputError so the CLI prints one paragraph and exits 2 instead of a traceback.
    Nothing has been written to the output path; fetched pages stay in the cache.
    """


class WfsExceptionReport(FetchError):
    """The server answered with an OGC ExceptionReport instead of features."""


class _Retryable(Exception):
    """Internal: a transient failure worth another attempt (5xx, 429, timeout, cut body)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# ---------------------------------------------------------------- request building


@dataclass(frozen=True)
class Query:
    """One logical GetFeature request; paging turns it into many HTTP requests.

    `bbox` is (minx, miny, maxx, maxy) = (min easting, min northing, max easting,
    max northing) in EPSG:3006 metres; `year` None means "the layer as it is" (the
    latest-year layer), otherwise features are filtered on `arslager = year`.
    """

    url: str
    layer: str
    year: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    page_size: int = 5000
    sort_by: tuple[str, ...] = ("blockid",)
    year_column: str = "arslager"

    def filter_xml(self) -> str | None:
        """The FES 2.0 filter for a year (with the bbox inside it), or None."""
        if self.year is None:
            return None
        parts = [
            "<fes:PropertyIsEqualTo>"
            f"<fes:ValueReference>{xml_escape(self.year_column)}</fes:ValueReference>"
            f"<fes:Literal>{self.year}</fes:Literal>"
            "</fes:PropertyIsEqualTo>"
        ]
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            # No ValueReference: the layer's default geometry (its name differs per server).
            parts.append(
                f'<fes:BBOX><gml:Envelope srsName="{CRS_URN}">'
                f"<gml:lowerCorner>{_num(miny)} {_num(minx)}</gml:lowerCorner>"
                f"<gml:upperCorner>{_num(maxy)} {_num(maxx)}</gml:upperCorner>"
                "</gml:Envelope></fes:BBOX>"
            )
        body = parts[0] if len(parts) == 1 else "<fes:And>" + "".join(parts) + "</fes:And>"
        return f'<fes:Filter xmlns:fes="{_FES_NS}" xmlns:gml="{_GML_NS}">{body}</fes:Filter>'

    def _selection(self) -> dict[str, str]:
        params = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                  "TYPENAMES": self.layer}
        fes = self.filter_xml()
        if fes is not None:
            params["FILTER"] = fes
        elif self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            params["BBOX"] = ",".join(_num(v) for v in (miny, minx, maxy, maxx)) + "," + CRS_URN
        return params

    def hits_params(self) -> dict[str, str]:
        """Parameters for the total count (XML answer; no JSON outputFormat on purpose)."""
        return {**self._selection(), "RESULTTYPE": "hits"}

    def page_params(self, start: int) -> dict[str, str]:
        """Parameters for the page of at most `page_size` features from `start` (0-based)."""
        return {**self._selection(), "OUTPUTFORMAT": JSON_FORMAT, "SRSNAME": SRS_NAME,
                "SORTBY": ",".join(self.sort_by), "COUNT": str(self.page_size),
                "STARTINDEX": str(start)}

    def describe(self) -> dict[str, Any]:
        """A JSON-able description, used for the manifest and the cache key."""
        return {"url": self.url, "layer": self.layer, "year": self.year,
                "bbox_epsg3006": list(self.bbox) if self.bbox else None,
                "filter": self.filter_xml(), "sort_by": list(self.sort_by),
                "page_size": self.page_size, "srs_name": SRS_NAME,
                "output_format": JSON_FORMAT}

    def cache_key(self) -> str:
        """Stable hash of everything that decides which features land on which page."""
        canonical = json.dumps(self.describe(), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Columns identifying one feature: blockid, plus arslager on the all-years layer."""
        return self.sort_by


def _num(value: float) -> str:
    """Coordinates as compact text: 568000 not 568000.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def request_url(base: str, params: dict[str, str]) -> str:
    """`base` with `params` as query string (keeps any query already in `base`)."""
    sep = "&" if urllib.parse.urlsplit(base).query else "?"
    return base + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# ---------------------------------------------------------------- HTTP with retries


@dataclass
class HttpPolicy:
    """Timeouts and retries. `backoff` is the first wait; each retry doubles it.

    `sleep` and `log` are injectable so tests run fast and quiet.
    """

    timeout: float = 60.0
    retries: int = 5
    backoff: float = 2.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        base = self.backoff * 2 ** (attempt - 1)
        return min(base * (1 + 0.25 * random.random()), self.max_wait)


def _retry_after(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def exception_report_text(body: bytes) -> str | None:
    """The message of an OGC (OWS/WFS) ExceptionReport in `body`, or None if it is not one."""
    head = body[:4096].lstrip()
    if not head.startswith(b"<") or b"Exception" not in head:
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        text = body[:500].decode("utf-8", "replace")
        return " ".join(text.split())
    if "Exception" not in root.tag:
        return None
    messages = []
    for exc in root.iter():
        if exc.tag.endswith("}Exception") or exc.tag in ("Exception", "ServiceException"):
            code = exc.get("exceptionCode") or exc.get("code") or ""
            locator = exc.get("locator") or ""
            texts = [" ".join((t.text or "").split()) for t in exc.iter()
                     if t.tag.endswith("ExceptionText") or t is exc]
            text = " ".join(t for t in texts if t)
            prefix = ", ".join(p for p in (code, f"locator {locator}" if locator else "") if p)
            messages.append(f"{prefix}: {text}" if prefix else text)
    return "; ".join(m for m in messages if m) or "(empty exception report)"


def _read_body(resp: http.client.HTTPResponse) -> bytes:
    body = resp.read()
    if (resp.headers.get("Content-Encoding") or "").lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise _Retryable(f"the gzip-compressed answer was cut off ({exc})") from exc
    return body


def http_get(url: str, policy: HttpPolicy, parse: Callable[[bytes], Any],
             what: str) -> Any:
    """GET `url` and return `parse(body)`, retrying transient failures.

    Retried with exponential backoff (honouring Retry-After): connection errors,
    timeouts, HTTP 5xx and 429, bodies cut short, and anything `parse` rejects by
    raising `_Retryable` (e.g. truncated JSON). An OGC ExceptionReport raises
    `WfsExceptionReport` at once; other 4xx answers raise `FetchError`.
    """
    request = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT, "Accept-Encoding": "gzip",
        "Accept": "application/json, text/xml;q=0.9, */*;q=0.1"})
    attempts = policy.retries + 1
    last = ""
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as resp:
                body = _read_body(resp)
            report = exception_report_text(body)
            if report is not None:
                raise WfsExceptionReport(_exception_message(url, report, what))
            return parse(body)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read()
            except (OSError, http.client.HTTPException):
                body = b""
            report = exception_report_text(body)
            if exc.code == 429 or exc.code >= 500:
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                last = f"HTTP {exc.code} {exc.reason}" + (f" ({report})" if report else "")
            elif report is not None:
                raise WfsExceptionReport(_exception_message(url, report, what)) from None
            else:
                snippet = " ".join(body[:300].decode("utf-8", "replace").split())
                raise FetchError(
                    f"{url}: the WFS server refused the {what} with HTTP {exc.code} "
                    f"{exc.reason}{': ' + snippet if snippet else ''}. Fix: check --url and "
                    "--layer (or [fetch] url/layer_latest/layer_years in the config) against "
                    "the server's GetCapabilities.") from None
        except _Retryable as exc:
            last, retry_after = str(exc), exc.retry_after
        except (TimeoutError, ConnectionError, http.client.HTTPException,
                urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            kind = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(
                reason) else "connection failed"
            last = f"{kind} ({type(reason).__name__}: {reason})"
        if attempt < attempts:
            wait = policy.wait_for(attempt, retry_after)
            policy.log(f"  {what}: {last}; retry {attempt}/{policy.retries} in {wait:.1f} s")
            policy.sleep(wait)
    raise FetchError(
        f"{url}: the {what} failed {attempts} times; last problem: {last}. Fix: check the "
        "network and that the WFS server is up (try the URL in a browser), then run the "
        "same command again; pages already fetched are cached and will not be fetched "
        "again. --timeout and --retries give a slow server more time.")


def _exception_message(url: str, report: str, what: str) -> str:
    return (f"{url}: the WFS server answered the {what} with an exception report instead "
            f"of features: {report}. Nothing was written. Fix: check --url, --layer and "
            "--year (or [fetch] in the config) against the server's GetCapabilities; if the "
            "message speaks of too many features or a timeout, try a smaller --page-size.")


# ---------------------------------------------------------------- hits and pages


def parse_hits(body: bytes) -> int | None:
    """`numberMatched` from a `resultType=hits` FeatureCollection (None if 'unknown')."""
    if not body.strip():
        raise _Retryable("the hits answer was empty")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise _Retryable(f"the hits answer is not valid XML ({exc})") from exc
    value = root.get("numberMatched")
    if value is None:
        value = root.get("numberOfFeatures")  # WFS 1.1 servers
    if value is None or value == "unknown":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise _Retryable(f"numberMatched={value!r} is not a number") from exc


def get_hits(query: Query, policy: HttpPolicy) -> int | None:
    """The server's total for `query` (None if the server does not know it)."""
    return http_get(request_url(query.url, query.hits_params()), policy, parse_hits,
                    "count request (resultType=hits)")


def parse_page(body: bytes) -> list[dict[str, Any]]:
    """The features of one GeoJSON page; a cut-off or malformed body is retryable."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if body.lstrip()[:1] == b"<":
            start = " ".join(body[:120].decode("utf-8", "replace").split())
            raise _Retryable(f"the answer is not JSON but markup: {start!r}") from exc
        raise _Retryable(f"the answer is not complete JSON ({len(body)} bytes; {exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise _Retryable("the answer is JSON but not a GeoJSON FeatureCollection")
    for feature in doc["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise _Retryable("a feature in the answer has no properties")
    return doc["features"]


def fetch_page(query: Query, start: int, policy: HttpPolicy,
               what: str | None = None) -> list[dict[str, Any]]:
    """Fetch one page (GeoJSON features) starting at `start`."""
    return http_get(request_url(query.url, query.page_params(start)), policy, parse_page,
                    what or f"page at startIndex {start}")


# ---------------------------------------------------------------- page cache


class PageCache:
    """Pages on disk under `folder`, keyed by the query; written atomically.

    `meta.json` records the query and the server's total; if the total changes
    between runs the server's data changed and the cached pages are discarded.
    """

    def __init__(self, folder: Path, query: Query, log: Callable[[str], None]):
        self.folder, self.query, self.log = folder, query, log

    def _page_path(self, start: int) -> Path:
        return self.folder / f"page-{start:09d}.json"

    def open(self, hits: int | None) -> None:
        """Create the folder, or reuse it when its recorded total matches `hits`."""
        meta_path = self.folder / "meta.json"
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                meta = {}
            if meta.get("hits") != hits or meta.get("query") != self.query.describe():
                self.log(f"  cache: the server now reports {hits} features, the cached pages "
                         f"were fetched when it reported {meta.get('hits')}; starting afresh")
                self.clear()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not meta_path.exists():
            _write_atomic(meta_path, json.dumps(
                {"query": self.query.describe(), "hits": hits,
                 "created": _now()}, indent=1).encode())

    def get(self, start: int) -> list[dict[str, Any]] | None:
        path = self._page_path(start)
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_bytes())
            return doc["features"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            return None

    def put(self, start: int, features: list[dict[str, Any]]) -> None:
        data = json.dumps({"start": start, "features": features}, ensure_ascii=False)
        _write_atomic(self._page_path(start), data.encode("utf-8"))

    def cached_pages(self) -> int:
        return len(list(self.folder.glob("page-*.json"))) if self.folder.exists() else 0

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------- paging


def _feature_key(feature: dict[str, Any], columns: Iterable[str]) -> tuple[str, ...]:
    props = feature.get("properties") or {}
    return tuple(_text(props.get(c)) for c in columns)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _check_page_year(query: Query, features: list[dict[str, Any]], start: int) -> None:
    if query.year is None:
        return
    wrong = sorted({_text((f.get("properties") or {}).get(query.year_column))
                    for f in features} - {str(query.year)})
    if wrong:
        raise FetchError(
            f"{query.url}: asked layer {query.layer} for {query.year_column} = {query.year}, "
            f"but the page at startIndex {start} holds {query.year_column} "
            f"{', '.join(wrong[:5])}: the server ignored the filter. Nothing was written. "
            "Fix: check --layer (the all-years layer is needed for --year) and that the "
            f"layer has a column {query.year_column!r}.")


def fetch_features(query: Query, policy: HttpPolicy, cache: PageCache | None = None,
                   progress: Callable[[str], None] | None = None,
                   ) -> tuple[list[dict[str, Any]], int | None]:
    """All features of `query` as GeoJSON dicts, plus the server's total.

    Pages advance by the number of features actually returned, so a server that
    caps pages below `page_size` is still read completely. Raises FetchError when
    paging stops short of the total, the server repeats features (it ignores
    `startIndex` or the sort is not stable) or returns more than it announced.
    """
    progress = progress or policy.log
    hits = get_hits(query, policy)
    if cache is not None:
        cache.open(hits)
    total_pages = "?" if hits is None else str(max(math.ceil(hits / query.page_size), 1))
    progress(f"{query.layer}: {'unknown number of' if hits is None else hits} features, "
             f"{total_pages} page(s) of {query.page_size}")
    features: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    start, page_no = 0, 0
    while hits is None or start < hits:
        page_no += 1
        page = cache.get(start) if cache is not None else None
        source = "cached"
        if page is None:
            page = fetch_page(query, start, policy, f"page {page_no}/{total_pages} "
                              f"(startIndex {start})")
            _check_page_year(query, page, start)
            source = "fetched"
            if cache is not None and page:
                cache.put(start, page)
        else:
            _check_page_year(query, page, start)
        n = len(page)
        keys = {_feature_key(f, query.key_columns) for f in page}
        progress(f"  page {page_no}/{total_pages}: features {start + 1}–{start + n}"
                 f"{'' if hits is None else f' of {hits}'} ({source})")
        if n == 0:
            if hits is None:
                break
            raise FetchError(
                f"{query.url}: paging stopped short: the server reported {hits} features "
                f"for layer {query.layer} but returned none from startIndex {start} on "
                f"({len(features)} received). Nothing was written. Fix: run the command "
                "again later (the pages received are cached); if it persists the server "
                "caps paging: try a smaller --page-size, or a smaller --bbox.")
        if hits is None and keys <= seen:
            raise FetchError(
                f"{query.url}: the page at startIndex {start} repeats features already "
                "received: the server ignores startIndex, so paging cannot work. Nothing "
                "was written. Fix: use a WFS 2.0 server with paging or a --page-size "
                "larger than the whole result.")
        seen |= keys
        features.extend(page)
        start += n
        if hits is None and n < query.page_size:
            break
    if hits is not None and len(seen) != hits:
        problem = ("fewer distinct features than it announced: pages overlap, so the sort "
                   "order is not stable or the data changed while paging"
                   if len(seen) < hits else
                   "more features than it announced: the data changed while paging")
        raise FetchError(
            f"{query.url}: layer {query.layer}: the server reported {hits} features but "
            f"returned {len(features)} with {len(seen)} distinct "
            f"{'+'.join(query.key_columns)}; {problem}. Nothing was written. Fix: delete "
            f"the cache folder {cache.folder if cache else '(none)'} and run the command "
            "again.")
    return features, hits


# ---------------------------------------------------------------- features → GeoPackage


def features_to_frame(features: list[dict[str, Any]], query: Query,
                      within: Any | None = None):  # -> geopandas.GeoDataFrame
    """Validate and normalise fetched GeoJSON features into a GeoDataFrame in EPSG:3006.

    MultiPolygon geometries, typed `areal`/`arslager`/`blockid`, duplicates by the key
    columns dropped, sorted by key; with `within` (a shapely geometry in EPSG:3006)
    only blocks intersecting it are kept (their geometry is not cut).
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    if not features:
        raise _no_blocks(query)
    frame = gpd.GeoDataFrame.from_features(features, crs=SRS_NAME)
    missing = [c for c in (*query.key_columns, CLASS_COLUMN) if c not in frame.columns]
    if missing:
        raise FetchError(
            f"{query.url}: layer {query.layer} has no column {', '.join(missing)} "
            f"(it has {', '.join(c for c in frame.columns if c != 'geometry')}). Nothing was "
            "written. Fix: point --layer at Jordbruksverket's field-block layer.")
    geoms = frame.geometry.array
    if frame.geometry.isna().any() or shapely.is_empty(geoms).any():
        bad = frame.loc[frame.geometry.isna() | shapely.is_empty(geoms), "blockid"]
        raise FetchError(f"{query.url}: {len(bad)} field block(s) without geometry "
                         f"(blockid {', '.join(map(str, bad[:5]))}). Nothing was written. "
                         "Fix: report it to the data provider, or fetch again later.")
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise FetchError(f"{query.url}: layer {query.layer} holds {', '.join(sorted(kinds))} "
                         "geometries, expected polygons. Nothing was written. Fix: point "
                         "--layer at the field-block polygon layer.")
    geometry = _to_sweref_axes(frame.geometry, query)
    frame = frame.set_geometry(gpd.GeoSeries(_as_multipolygons(geometry.values),
                                             index=frame.index, crs=SRS_NAME))

    frame["blockid"] = frame["blockid"].map(_text)
    if "areal" in frame.columns:
        frame["areal"] = pd.to_numeric(frame["areal"], errors="coerce").astype("float64")
    if query.year_column in frame.columns:
        years = pd.to_numeric(frame[query.year_column], errors="coerce")
        frame[query.year_column] = years.astype("int64" if years.notna().all() else "Int64")
    for column in frame.columns:
        if column != "geometry" and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))

    frame = frame.drop_duplicates(subset=list(query.key_columns), keep="first")
    if within is not None:
        keep = frame.intersects(within)
        frame = frame[np.asarray(keep)]
        if frame.empty:
            raise FetchError(
                f"{query.url}: no field block of layer {query.layer} intersects the "
                "municipal boundary. Nothing was written. Fix: check [boundary] in the "
                "config (path, crs) or give --bbox.")
    elif query.bbox is not None:
        # A server may match on envelopes only (PostGIS "loose bbox"): drop those blocks,
        # but a block whose envelope misses the bbox means the bbox was ignored.
        minx, miny, maxx, maxy = query.bbox
        bounds = shapely.bounds(np.asarray(frame.geometry.values))
        ignored = ((bounds[:, 0] > maxx) | (bounds[:, 2] < minx)
                   | (bounds[:, 1] > maxy) | (bounds[:, 3] < miny))
        if ignored.any():
            raise FetchError(
                f"{query.url}: {int(ignored.sum())} block(s) lie outside the requested "
                f"bbox {_selection_text(query)}: the server ignored the bbox or swapped its "
                "axes. Nothing was written. Fix: report the server's behaviour; the bbox is "
                "sent as northing,easting with the URN CRS urn:ogc:def:crs:EPSG::3006.")
        frame = frame[np.asarray(frame.intersects(shapely.box(*query.bbox)))]
        if frame.empty:
            raise _no_blocks(query)
    frame = frame.sort_values(list(query.key_columns), kind="stable").reset_index(drop=True)
    columns = [c for c in frame.columns if c != "geometry"] + ["geometry"]
    return frame[columns]


def _no_blocks(query: Query) -> FetchError:
    return FetchError(
        f"{query.url}: layer {query.layer} returned no field blocks for "
        f"{_selection_text(query)}. An agricultural layer without features cannot be "
        "analysed, so nothing was written. Fix: check --bbox (EPSG:3006 metres, "
        "minx,miny,maxx,maxy = easting,northing), --year and --layer.")


def _to_sweref_axes(geoseries, query: Query):
    """Check coordinates are SWEREF 99 TM easting,northing; fix wholesale-swapped axes."""
    import geopandas as gpd
    import numpy as np
    import shapely

    minx, miny, maxx, maxy = geoseries.total_bounds
    in_range = (_EASTING[0] <= minx and maxx <= _EASTING[1]
                and _NORTHING[0] <= miny and maxy <= _NORTHING[1])
    if in_range:
        return geoseries
    swapped = (_NORTHING[0] <= minx and maxx <= _NORTHING[1]
               and _EASTING[0] <= miny and maxy <= _EASTING[1])
    if swapped:
        return gpd.GeoSeries(shapely.transform(np.asarray(geoseries.values),
                                               lambda c: c[:, ::-1]),
                             index=geoseries.index, crs=SRS_NAME)
    raise FetchError(
        f"{query.url}: layer {query.layer} returned coordinates from ({minx:.0f}, {miny:.0f}) "
        f"to ({maxx:.0f}, {maxy:.0f}), which are not SWEREF 99 TM (EPSG:3006) in Sweden. "
        "Nothing was written. Fix: the server did not honour srsName=EPSG:3006; report it or "
        "use another endpoint.")


def _as_multipolygons(geoms):
    import numpy as np
    import shapely

    out = np.asarray(geoms, dtype=object).copy()
    is_poly = shapely.get_type_id(out) == 3
    if is_poly.any():
        out[is_poly] = [shapely.MultiPolygon([g]) for g in out[is_poly]]
    return out


def _selection_text(query: Query) -> str:
    parts = []
    if query.year is not None:
        parts.append(f"{query.year_column} = {query.year}")
    if query.bbox is not None:
        parts.append(f"bbox {','.join(_num(v) for v in query.bbox)} (EPSG:3006)")
    return " and ".join(parts) or "the whole layer"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_geopackage(frame, path: Path, description: str = ATTRIBUTION) -> str:
    """Write `frame` as layer `jordbruksblock` to `path` atomically; return its sha256.

    `description` goes into gpkg_contents (QGIS shows it), so the attribution
    travels with the file even without the manifest.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".gpkg")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        frame.to_file(tmp, layer=OUTPUT_LAYER, driver="GPKG", engine="pyogrio",
                      promote_to_multi=True, layer_options={"DESCRIPTION": description})
        digest = sha256_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
        raise
    return digest


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at `path` ({"schema", "files": {name: entry}}), empty if absent."""
    if not path.exists():
        return {"schema": "opjord.manifest/1", "files": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
            raise ValueError("no `files` table")
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: the data manifest cannot be read ({exc}). Nothing was fetched. Fix: "
            "repair the JSON or move the file away (it is rebuilt by the next fetch).") from exc
    return doc


def update_manifest(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Set `files[name] = entry` in the manifest at `path`, atomically."""
    doc = read_manifest(path)
    doc["files"][name] = entry
    _write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- CLI


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the `opjord fetch` arguments to `parser`."""
    parser.description = (
        "Fetch Jordbruksverket's field blocks (jordbruksblock, open data, "
        f"{ATTRIBUTION}) from their WFS into a GeoPackage in data/raw/.")
    parser.add_argument("dataset", choices=DATASETS, help="what to fetch")
    parser.add_argument("--year", default="latest", metavar="latest|YYYY",
                        help="årslager: 'latest' (default; the latest-year layer) or a year "
                             "such as 2017 (the all-years layer filtered on arslager)")
    parser.add_argument("--bbox", metavar="MINX,MINY,MAXX,MAXY",
                        help="area in EPSG:3006 metres (easting,northing); default: the "
                             "bounding box of [boundary] in the config, keeping blocks that "
                             "intersect the boundary")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="output GeoPackage (default data/raw/jordbruksblock_<year>.gpkg "
                             "next to the config)")
    parser.add_argument("--url", help="WFS endpoint (default [fetch] url, or Jordbruksverket's)")
    parser.add_argument("--layer", help="feature type name (default [fetch] layer_latest or "
                                        "layer_years)")
    parser.add_argument("--page-size", type=int, metavar="N",
                        help="features per request (default [fetch] page_size, 5000)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="per-request network timeout (default 60)")
    parser.add_argument("--retries", type=int, default=5, metavar="N",
                        help="retries per request on timeouts, 5xx and 429 (default 5)")
    parser.add_argument("--retry-wait", type=float, default=2.0, metavar="SECONDS",
                        help="first wait before a retry; doubles each time (default 2)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore pages cached by an earlier, interrupted fetch")


def parse_year(value: str | None) -> int | None:
    """'latest' → None; '2017' → 2017; anything else is an InputError."""
    if value is None or value.strip().lower() == "latest":
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}", text) and 1990 <= int(text) <= 2100:
        return int(text)
    raise InputError(f"--year {value!r} is not a year. Fix: give --year latest or a four-digit "
                     "årslager such as --year 2017.")


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """'minx,miny,maxx,maxy' in EPSG:3006 metres → tuple; checks order and plausibility."""
    fix = ("Fix: give --bbox minx,miny,maxx,maxy in EPSG:3006 (SWEREF 99 TM) metres, easting "
           "first, e.g. Norrköping --bbox 515000,6460000,620000,6530000.")
    try:
        parts = [float(p) for p in value.replace(" ", "").split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise InputError(f"--bbox {value!r} is not four numbers. {fix}")
    minx, miny, maxx, maxy = parts
    if not (minx < maxx and miny < maxy):
        raise InputError(f"--bbox {value!r}: the minimum must be below the maximum on both "
                         f"axes. {fix}")
    if not (_EASTING[0] <= minx and maxx <= _EASTING[1]
            and _NORTHING[0] <= miny and maxy <= _NORTHING[1]):
        swapped = (_NORTHING[0] <= minx <= _NORTHING[1] and _EASTING[0] <= miny <= _EASTING[1])
        hint = (" It looks like northing,easting: swap the axes." if swapped else
                " Degrees (EPSG:4326) are not accepted.")
        raise InputError(f"--bbox {value!r} is not in SWEREF 99 TM over Sweden.{hint} {fix}")
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
        raise InputError([f"{p} (Or give --bbox instead.)" for p in exc.problems]) from None
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise InputError(f"{source.path}: {source.table} has no geometry. Fix: point it at the "
                         "municipal boundary, or give --bbox.")
    return frame.to_crs(SRS_NAME).geometry.make_valid().union_all()


def _config_path_text(path: Path, root: Path | None) -> str:
    path = path.resolve()
    if root is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(root.resolve()).as_posix()
    return path.as_posix()


def run(args: argparse.Namespace, config: Config | None) -> int:
    """`opjord fetch jordbruksblock`: fetch, validate, write GeoPackage + manifest entry.

    Progress goes to stderr; the config lines to use go to stdout. Returns 0, or
    raises InputError (exit 2) with nothing written to the output path. Optional
    attributes `args.sleep` and `args.log` (callables) replace `time.sleep` and the
    stderr logger; the tests use them to record retry waits instead of sleeping.
    """
    started = time.monotonic()
    log: Callable[[str], None] = getattr(args, "log", None) or (
        lambda msg: print(msg, file=sys.stderr, flush=True))
    fetch_cfg = config.fetch if config is not None else FetchConfig()
    year = parse_year(args.year)
    url = args.url or fetch_cfg.url
    layer = args.layer or (fetch_cfg.layer_latest if year is None else fetch_cfg.layer_years)
    page_size = args.page_size if args.page_size is not None else fetch_cfg.page_size
    if page_size < 1:
        raise InputError(f"--page-size {page_size} must be at least 1. Fix: use e.g. 1000.")
    if args.retries < 0 or args.timeout <= 0:
        raise InputError("--retries must be ≥ 0 and --timeout > 0. Fix: e.g. --timeout 60 "
                         "--retries 5.")

    within = None
    if args.bbox:
        bbox = parse_bbox(args.bbox)
    elif config is not None and config.boundary is not None:
        within = boundary_geometry(config.boundary)
        bbox = tuple(float(v) for v in within.bounds)
        log(f"area: the bounding box of {config.boundary.path.name} "
            f"({','.join(_num(round(v)) for v in bbox)}, EPSG:3006)")
    else:
        where = (f"{config.path} has no [boundary]" if config is not None
                 else "there is no config file")
        raise InputError(
            f"opjord fetch needs an area, but --bbox is not given and {where}. Fix: add a "
            "[boundary] table (the municipal boundary) to the config, or give --bbox "
            "minx,miny,maxx,maxy in EPSG:3006 metres. Fetching all of Sweden (1.1 million "
            "blocks) is not done by default.")

    root = config.root if config is not None else Path.cwd()
    raw_dir = (args.out.parent if args.out else root / "data" / "raw").resolve()
    manifest_path = raw_dir / MANIFEST_NAME
    read_manifest(manifest_path)  # fail before fetching if it is unreadable

    # blockid repeats across years in the all-years layer: sort and dedupe on both there.
    all_years = year is not None or layer == fetch_cfg.layer_years
    sort_by = ("blockid", "arslager") if all_years else ("blockid",)
    query = Query(url=url, layer=layer, year=year, bbox=bbox, page_size=page_size,
                  sort_by=sort_by)
    policy = HttpPolicy(timeout=args.timeout, retries=args.retries, backoff=args.retry_wait,
                        log=log, sleep=getattr(args, "sleep", None) or time.sleep)
    cache = PageCache(raw_dir / CACHE_DIR_NAME / f"jordbruksblock-{query.cache_key()}",
                      query, log)
    if args.fresh:
        cache.clear()
    elif cache.cached_pages():
        log(f"resuming: {cache.cached_pages()} page(s) cached in {cache.folder}")

    features, hits = fetch_features(query, policy, cache, log)
    frame = features_to_frame(features, query, within)

    years = sorted(int(y) for y in frame["arslager"].dropna().unique()) if (
        "arslager" in frame.columns) else []
    label = str(year) if year is not None else (str(years[0]) if len(years) == 1 else "latest")
    out = (args.out if args.out else raw_dir / f"jordbruksblock_{label}.gpkg").resolve()
    if out.suffix.lower() != ".gpkg":
        raise InputError(f"--out {out}: the output must be a GeoPackage. Fix: give a path "
                         "ending in .gpkg.")
    digest = write_geopackage(
        frame, out, f"{ATTRIBUTION}. Jordbruksverket's field blocks from {url}, layer {layer}"
        f"{'' if year is None else f', arslager {year}'}, fetched {_now()} by opjord.")
    entry = {
        "dataset": "jordbruksblock",
        "path": out.name,
        "layer": OUTPUT_LAYER,
        "source": {"service": "WFS 2.0.0", **query.describe()},
        "hits": hits,
        "features_fetched": len(features),
        "feature_count": len(frame),
        "area": ("blocks intersecting the boundary "
                 f"{_config_path_text(config.boundary.path, config.root)} (not cut)"
                 if within is not None and config is not None and config.boundary else
                 "blocks intersecting the bbox (not cut)"),
        "arslager": years,
        "fetched_at": _now(),
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

    rel = _config_path_text(out, config.root if config is not None else None)
    log(f"wrote {out} ({len(frame)} blocks, årslager {', '.join(map(str, years)) or '?'}) "
        f"and {manifest_path.name} in {time.monotonic() - started:.1f} s")
    lines = [
        "",
        f"# {ATTRIBUTION} — fetched {entry['fetched_at']} from {url} ({layer})",
        "[agricultural_land]",
        f'path = "{rel}"',
        f'layer = "{OUTPUT_LAYER}"',
        f'class_column = "{CLASS_COLUMN}"',
        "classes = [" + ", ".join(f'"{c}"' for c in CLASSES) + "]",
    ]
    if year is not None:
        lines += ["",
                  f"# or, to measure one plan (e.g. ÖP {year}) against the blocks of {year},",
                  "# inside that plan's [[plans]] table:",
                  f'agricultural_land = {{ path = "{rel}", layer = "{OUTPUT_LAYER}", '
                  f'class_column = "{CLASS_COLUMN}", classes = ['
                  + ", ".join(f'"{c}"' for c in CLASSES) + "] }"]
    print("\n".join(lines))
    return 0
