"""WFS 2.0 without the network: requests, answers, and fetched features as a frame.

`Query` builds the request parameters (hits and pages, the FES 2.0 filter, the bbox
in the URN CRS's northing,easting order); `parse_hits`, `parse_page` and
`exception_report_text` read the server's answers; `features_to_frame` checks the
fetched GeoJSON features and normalises them (MultiPolygons, typed attributes,
SWEREF 99 TM axes, only blocks in the requested area).
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from pipeline import fmt
from pipeline.errors import InputError

CRS_URN = "urn:ogc:def:crs:EPSG::3006"  # WFS 2.0: northing,easting in requests
SRS_NAME = "EPSG:3006"  # output CRS; GeoJSON coordinates are always easting,northing
JSON_FORMAT = "application/json"
CLASS_COLUMN = "agoslag"
CLASSES = ("Åker", "Bete")

# Plausible SWEREF 99 TM coordinates for Sweden (easting, northing), generous margins, metres.
EASTING = (0.0, 1_500_000.0)
NORTHING = (5_800_000.0, 8_000_000.0)

_FES_NS = "http://www.opengis.net/fes/2.0"
_GML_NS = "http://www.opengis.net/gml/3.2"


class FetchError(InputError):
    """The fetch failed in a way the user must act on (server down, bad answer, …).

    An InputError so the CLI prints one paragraph and exits 2 instead of a traceback.
    Nothing has been written to the output path; fetched pages stay in the cache.
    """


class WfsExceptionReport(FetchError):
    """The server answered with an OGC ExceptionReport instead of features."""


class Retryable(Exception):
    """A transient failure worth another attempt (5xx, 429, timeout, cut or bad body).

    Raised by the answer parsers; `http.http_get` catches it and retries.
    """


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
                f"<gml:lowerCorner>{coordinate(miny)} {coordinate(minx)}</gml:lowerCorner>"
                f"<gml:upperCorner>{coordinate(maxy)} {coordinate(maxx)}</gml:upperCorner>"
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
            params["BBOX"] = ",".join(coordinate(v) for v in (miny, minx, maxy, maxx)) + (
                "," + CRS_URN)
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


def coordinate(value: float) -> str:
    """A coordinate (metres) as compact request text: 568000, not 568000.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def request_url(base: str, params: dict[str, str]) -> str:
    """`base` with `params` as query string (keeps any query already in `base`)."""
    sep = "&" if urllib.parse.urlsplit(base).query else "?"
    return base + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def selection_text(query: Query) -> str:
    """What `query` asks for, in Swedish: "arslager = 2017 och bbox … (EPSG:3006)"."""
    parts = []
    if query.year is not None:
        parts.append(f"{query.year_column} = {query.year}")
    if query.bbox is not None:
        parts.append(f"bbox {','.join(coordinate(v) for v in query.bbox)} (EPSG:3006)")
    return " och ".join(parts) or "hela skiktet"


# ---------------------------------------------------------------- answers


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
    return "; ".join(m for m in messages if m) or "(tom undantagsrapport)"


def parse_hits(body: bytes) -> int | None:
    """`numberMatched` from a `resultType=hits` FeatureCollection (None if 'unknown')."""
    if not body.strip():
        raise Retryable("svaret på antalsfrågan var tomt")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise Retryable(f"svaret på antalsfrågan är inte giltig XML ({exc})") from exc
    value = root.get("numberMatched")
    if value is None:
        value = root.get("numberOfFeatures")  # WFS 1.1 servers
    if value is None or value == "unknown":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise Retryable(f"numberMatched={value!r} är inte ett tal") from exc


def parse_page(body: bytes) -> list[dict[str, Any]]:
    """The features of one GeoJSON page; a cut-off or malformed body is retryable."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if body.lstrip()[:1] == b"<":
            start = " ".join(body[:120].decode("utf-8", "replace").split())
            raise Retryable(f"svaret är inte JSON utan HTML/XML: {start!r}") from exc
        raise Retryable(f"svaret är inte fullständig JSON ({fmt.number(len(body), 0)} byte; "
                        f"{exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise Retryable("svaret är JSON men ingen GeoJSON-FeatureCollection")
    for feature in doc["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise Retryable("ett objekt i svaret saknar properties")
    return doc["features"]


def text_value(value: Any) -> str:
    """An attribute value as the text it compares by: 2017.0 → "2017", None → ""."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def feature_key(feature: dict[str, Any], columns: tuple[str, ...]) -> tuple[str, ...]:
    """The values of `columns` that identify `feature` (e.g. blockid, arslager)."""
    props = feature.get("properties") or {}
    return tuple(text_value(props.get(c)) for c in columns)


def check_page_year(query: Query, features: list[dict[str, Any]], start: int) -> None:
    """FetchError unless every feature of the page at `start` has the requested year."""
    if query.year is None:
        return
    wrong = sorted({text_value((f.get("properties") or {}).get(query.year_column))
                    for f in features} - {str(query.year)})
    if wrong:
        raise FetchError(
            f"{query.url}: bad skiktet {query.layer} om {query.year_column} = {query.year}, "
            f"men sidan vid startIndex {start} innehåller {query.year_column} "
            f"{', '.join(wrong[:5])}: servern bortsåg från filtret. Inget skrevs. "
            "Åtgärd: kontrollera --layer (--year kräver skiktet med alla årslager) och att "
            f"skiktet har en kolumn {query.year_column!r}.")


# ---------------------------------------------------------------- features → frame


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
            f"{query.url}: skiktet {query.layer} saknar "
            f"{'kolumnen' if len(missing) == 1 else 'kolumnerna'} {', '.join(missing)} "
            f"(det har {', '.join(c for c in frame.columns if c != 'geometry')}). Inget "
            "skrevs. Åtgärd: peka --layer på Jordbruksverkets skikt med jordbruksblock.")
    geoms = frame.geometry.array
    if frame.geometry.isna().any() or shapely.is_empty(geoms).any():
        bad = frame.loc[frame.geometry.isna() | shapely.is_empty(geoms), "blockid"]
        raise FetchError(f"{query.url}: {fmt.number(len(bad), 0)} jordbruksblock utan geometri "
                         f"(blockid {', '.join(map(str, bad[:5]))}). Inget skrevs. Åtgärd: "
                         "rapportera det till Jordbruksverket, eller hämta igen senare.")
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise FetchError(f"{query.url}: skiktet {query.layer} innehåller geometrier av typen "
                         f"{', '.join(sorted(kinds))}, men polygoner väntades. Inget skrevs. "
                         "Åtgärd: peka --layer på skiktet med jordbruksblockens polygoner.")
    geometry = _to_sweref_axes(frame.geometry, query)
    frame = frame.set_geometry(gpd.GeoSeries(_as_multipolygons(geometry.values),
                                             index=frame.index, crs=SRS_NAME))

    frame["blockid"] = frame["blockid"].map(text_value)
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
                f"{query.url}: inget jordbruksblock i skiktet {query.layer} skär "
                "kommungränsen. Inget skrevs. Åtgärd: kontrollera [boundary] i "
                "konfigurationen (path, crs) eller ange --bbox.")
    elif query.bbox is not None:
        # A server may match on envelopes only (PostGIS "loose bbox"): drop those blocks,
        # but a block whose envelope misses the bbox means the bbox was ignored.
        minx, miny, maxx, maxy = query.bbox
        bounds = shapely.bounds(np.asarray(frame.geometry.values))
        ignored = ((bounds[:, 0] > maxx) | (bounds[:, 2] < minx)
                   | (bounds[:, 1] > maxy) | (bounds[:, 3] < miny))
        if ignored.any():
            raise FetchError(
                f"{query.url}: {fmt.number(int(ignored.sum()), 0)} block ligger utanför det "
                f"begärda området {selection_text(query)}: servern bortsåg från bboxen eller "
                "bytte plats på axlarna. Inget skrevs. Åtgärd: rapportera serverns beteende; "
                "bboxen skickas som northing,easting med koordinatsystemet "
                f"{CRS_URN}.")
        frame = frame[np.asarray(frame.intersects(shapely.box(*query.bbox)))]
        if frame.empty:
            raise _no_blocks(query)
    frame = frame.sort_values(list(query.key_columns), kind="stable").reset_index(drop=True)
    columns = [c for c in frame.columns if c != "geometry"] + ["geometry"]
    return frame[columns]


def _no_blocks(query: Query) -> FetchError:
    return FetchError(
        f"{query.url}: skiktet {query.layer} gav inga jordbruksblock för "
        f"{selection_text(query)}. Ett jordbruksmarksskikt utan objekt kan inte analyseras, "
        "så inget skrevs. Åtgärd: kontrollera --bbox (meter i EPSG:3006, minx,miny,maxx,maxy "
        "= easting,northing), --year och --layer.")


def in_sweden(minx: float, miny: float, maxx: float, maxy: float) -> bool:
    """Whether the box lies in SWEREF 99 TM over Sweden, easting first (metres)."""
    return (EASTING[0] <= minx and maxx <= EASTING[1]
            and NORTHING[0] <= miny and maxy <= NORTHING[1])


def _to_sweref_axes(geoseries, query: Query):
    """Check coordinates are SWEREF 99 TM easting,northing; fix wholesale-swapped axes."""
    import geopandas as gpd
    import numpy as np
    import shapely

    minx, miny, maxx, maxy = geoseries.total_bounds
    if in_sweden(minx, miny, maxx, maxy):
        return geoseries
    if in_sweden(miny, minx, maxy, maxx):
        return gpd.GeoSeries(shapely.transform(np.asarray(geoseries.values),
                                               lambda c: c[:, ::-1]),
                             index=geoseries.index, crs=SRS_NAME)
    low, high = (", ".join(fmt.number(v, 0) for v in xy) for xy in ((minx, miny), (maxx, maxy)))
    raise FetchError(
        f"{query.url}: skiktet {query.layer} gav koordinater från ({low}) till ({high}), "
        "vilket inte är SWEREF 99 TM (EPSG:3006) i Sverige. Inget skrevs. Åtgärd: servern "
        "följde inte srsName=EPSG:3006; rapportera det eller använd en annan tjänst.")


def _as_multipolygons(geoms):
    import numpy as np
    import shapely

    out = np.asarray(geoms, dtype=object).copy()
    is_poly = shapely.get_type_id(out) == 3
    if is_poly.any():
        out[is_poly] = [shapely.MultiPolygon([g]) for g in out[is_poly]]
    return out
