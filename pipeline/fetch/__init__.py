"""`opjord fetch jordbruksblock`: Jordbruksverket's field blocks from a WFS 2.0 server.

The blocks are requested in EPSG:3006 as GeoJSON, page by page (WFS 2.0 `count` +
`startIndex` with a stable `sortBy`), after one `resultType=hits` request for the
total. Every page is cached on disk as soon as it arrives, so an interrupted fetch
resumes where it stopped. Only when all pages are in, the set is validated (count
equals the server's total, no repeated blocks, right year, right place, SWEREF 99 TM
coordinates) and written atomically as a GeoPackage, with an entry in the folder's
`manifest.json` (URL, layer, filter, time, count, sha256, licence and attribution).

The modules, from the bottom up:

- `wfs`: requests (`Query`, `request_url`), answers (`parse_hits`, `parse_page`,
  `exception_report_text`) and features → GeoDataFrame (`features_to_frame`);
- `http`: GET with timeouts and retries (`HttpPolicy`, `http_get`);
- `cache`: the pages on disk (`PageCache`);
- `paging`: the total, then every page (`fetch_features`);
- `store`: the GeoPackage and `manifest.json`;
- `command`: the command line (`configure_parser`, `FetchOptions`, `run`).

Server differences handled (tests/wfs_support.py runs MapServer for the tests):

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

# What pipeline.cli and the tests use; the rest lives in the modules above.
from pipeline.fetch.cache import PageCache
from pipeline.fetch.command import (
    CACHE_DIR_NAME,
    FetchOptions,
    configure_parser,
    options_from_args,
    parse_bbox,
    parse_year,
    run,
)
from pipeline.fetch.http import HttpPolicy
from pipeline.fetch.paging import fetch_features
from pipeline.fetch.wfs import (
    FetchError,
    Query,
    WfsExceptionReport,
    exception_report_text,
    features_to_frame,
    request_url,
)

__all__ = [
    "CACHE_DIR_NAME", "FetchError", "FetchOptions", "HttpPolicy", "PageCache", "Query",
    "WfsExceptionReport", "configure_parser", "exception_report_text", "features_to_frame",
    "fetch_features", "options_from_args", "parse_bbox", "parse_year", "request_url", "run",
]
