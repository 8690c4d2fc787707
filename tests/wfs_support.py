"""A real WFS 2.0 server for tests: MapServer's `mapserv` run as CGI on 127.0.0.1.

- `make_blocks()` builds the field-block fixture (two årslager, 2017 and 2024, many
  blockids in both years, one- and multi-part blocks, Swedish characters);
- `write_mapfile()` writes a MapServer mapfile serving it as `inspire:arslager_block`
  (all years) and `inspire:senaste_arslager_block` (2024), WFS 2.0, EPSG:3006,
  GeoJSON through the OGR driver, typed attributes;
- `MapServerCGI` runs a stdlib HTTP server that executes `mapserv` once per request
  (QUERY_STRING for GET, stdin for POST) like any CGI web server would;
- `FaultProxy` sits in front and injects faults (status codes, delays, truncated or
  cut bodies, exception reports, empty pages, dropped connections) on chosen
  requests, recording every request it sees.

Run `python tests/wfs_support.py` to start the server by hand and print its URL.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
from shapely.geometry import MultiPolygon, Polygon, box

MAPSERV = shutil.which("mapserv")

# Blocks lie on a 6 × 5 grid, 300 m apart, south-west corner here (EPSG:3006).
ORIGIN_E, ORIGIN_N = 568_000.0, 6_496_000.0
N_BLOCKS = 30
IDS_2017 = range(0, 25)  # blocks 0–24 exist in 2017
IDS_2024 = range(5, 30)  # blocks 5–29 in 2024: 5–24 are in both years


def block_id(i: int) -> str:
    return f"{5810000000 + i:011d}"  # 11 digits like Jordbruksverket's blockid


def _shape(i: int, year: int) -> Polygon | MultiPolygon:
    col, row = i % 6, i // 6
    e, n = ORIGIN_E + col * 300, ORIGIN_N + row * 300
    grow = 20 if year == 2024 and i % 4 == 0 else 0  # some blocks changed shape
    main = box(e, n, e + 200 + grow, n + 150)
    if i % 5 == 0:  # multi-part blocks
        return MultiPolygon([main, box(e + 230, n, e + 280, n + 60)])
    if i % 7 == 3:  # a block with a hole
        return Polygon(main.exterior.coords, [box(e + 50, n + 50, e + 80, n + 80).exterior.coords])
    return main


def make_blocks() -> gpd.GeoDataFrame:
    """All field blocks of both årslager (the `arslager_block` layer)."""
    rows = []
    for year, ids in ((2017, IDS_2017), (2024, IDS_2024)):
        for i in ids:
            geom = _shape(i, year)
            agoslag = "Åker" if i % 3 else "Bete"
            if year == 2024 and i % 6 == 1:
                agoslag = "Bete"  # land use changed between the years
            rows.append({
                "blockid": block_id(i),
                "agoslag": agoslag,
                "kategori": "Åkermark" if agoslag == "Åker" else "Betesmark",
                "areal": round(geom.area / 10_000, 2),
                "region_kod": "05",
                "arslager": year,
                "geometry": geom,
            })
    return gpd.GeoDataFrame(rows, crs="EPSG:3006")


def write_blocks_gpkg(path: Path) -> gpd.GeoDataFrame:
    blocks = make_blocks()
    blocks.to_file(path, layer="arslager_block", driver="GPKG")
    blocks[blocks.arslager == 2024].to_file(path, layer="senaste_arslager_block", driver="GPKG")
    return blocks


_MAPFILE = """MAP
  NAME "jordbruksblock_test"
  EXTENT 500000 6400000 700000 6600000
  PROJECTION "init=epsg:3006" END
  WEB
    METADATA
      "wfs_title" "opjord test WFS"
      "wfs_onlineresource" "http://127.0.0.1/"
      "wfs_srs" "EPSG:3006"
      "wfs_enable_request" "*"
      "wfs_getfeature_formatlist" "geojson"
      "wfs_namespace_prefix" "inspire"
      "wfs_namespace_uri" "http://example.invalid/inspire"
    END
  END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json"
    FORMATOPTION "FORM=SIMPLE"
    FORMATOPTION "STORAGE=memory"
  END
{layers}
END
"""

_LAYER = """  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{gpkg}"
    DATA "{name}"
    PROJECTION "init=epsg:3006" END
    METADATA
      "wfs_title" "{name}"
      "gml_include_items" "all"
      "gml_types" "auto"
      "wfs_use_default_extent_for_getfeature" "false"
    END
  END
"""


def write_mapfile(folder: Path, gpkg: Path) -> tuple[Path, Path]:
    """Write the mapfile and MapServer 8's config file; return (mapfile, config)."""
    proj_lib = next((p for p in ("/usr/share/proj", "/usr/local/share/proj")
                     if Path(p, "proj.db").exists()), "/usr/share/proj")
    layers = "".join(_LAYER.format(name=n, gpkg=gpkg)
                     for n in ("arslager_block", "senaste_arslager_block"))
    mapfile = folder / "jordbruksblock.map"
    mapfile.write_text(_MAPFILE.format(layers=layers, proj_lib=proj_lib), encoding="utf-8")
    conf = folder / "mapserver.conf"
    conf.write_text(f'CONFIG\n  ENV\n    MS_MAPFILE "{mapfile}"\n  END\nEND\n', encoding="utf-8")
    return mapfile, conf


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 (random port) in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/wfs"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass


class _CgiHandler(_Quiet):
    def _run(self, method: str) -> None:
        owner: MapServerCGI = self.server.owner  # type: ignore[attr-defined]
        path, _, query = self.path.partition("?")
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "opjord-test-cgi",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "MAPSERVER_CONFIG_FILE": str(owner.config),
            "MS_MAPFILE": str(owner.mapfile),
            "PROJ_DATA": os.environ.get("PROJ_DATA", "/usr/share/proj"),
        }
        key = (method, query, body)
        out = owner.memo.get(key) if owner.memoize else None
        if out is None:
            proc = subprocess.run([owner.mapserv], input=body, env=env, capture_output=True,
                                  timeout=30, check=False)
            out = proc.stdout if proc.stdout else (
                b"Status: 500 mapserv failed\r\nContent-Type: text/plain\r\n\r\n" + proc.stderr)
            owner.memo[key] = out
        sep = out.find(b"\r\n\r\n")
        head, payload = (out[:sep], out[sep + 4:]) if sep >= 0 else (b"", out)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self._run("GET")

    def do_POST(self):  # noqa: N802
        self._run("POST")


class MapServerCGI(_Server):
    """`mapserv` behind a stdlib CGI gateway: a real WFS 2.0 server.

    Every distinct request runs `mapserv` once; with `memoize` (the default) its raw
    CGI output is kept and replayed for identical requests, like a caching reverse
    proxy, because the data never changes during the tests and each `mapserv` start
    costs ~0.15 s. Faults are injected by `FaultProxy`, never by this cache.
    """

    def __init__(self, mapfile: Path, config: Path, mapserv: str | None = None,
                 memoize: bool = True):
        self.mapfile, self.config = mapfile, config
        self.mapserv = mapserv or MAPSERV or "mapserv"
        self.memoize = memoize
        self.memo: dict[tuple[str, str, bytes], bytes] = {}
        super().__init__(_CgiHandler)


# ---------------------------------------------------------------- fault injection


def params_of(path: str) -> dict[str, str]:
    """Query parameters of a request path, upper-cased keys."""
    query = urllib.parse.urlsplit(path).query
    return {k.upper(): v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}


def is_page(params: dict[str, str], start: int | None = None) -> bool:
    """A GetFeature page request (not hits), optionally at `start`."""
    if params.get("RESULTTYPE", "").lower() == "hits" or "STARTINDEX" not in params:
        return False
    return start is None or int(params["STARTINDEX"]) == start


@dataclass
class Fault:
    """Inject `kind` into the next `times` requests that `match`.

    kinds: "status" (answer `status` with optional `retry_after`), "delay" (wait
    `seconds`, then answer normally), "truncate" (valid HTTP, first half of the body),
    "cut" (announce the full length, send half, close), "exception" (HTTP 200 with an
    OWS ExceptionReport, like GeoServer), "empty" (an empty FeatureCollection),
    "drop" (close the connection without answering), "strip_filter" (forward without
    FILTER, like a server that ignores it), "gzip" (answer with Content-Encoding gzip).
    """

    kind: str
    match: Callable[[dict[str, str]], bool] = is_page
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 1.0
    hits: int = 0


EXCEPTION_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">
  <ows:Exception exceptionCode="NoApplicableCode">
    <ows:ExceptionText>java.lang.RuntimeException: Error occurred reading the feature
      collection: too many concurrent requests</ows:ExceptionText>
  </ows:Exception>
</ows:ExceptionReport>
"""

EMPTY_PAGE = b'{"type": "FeatureCollection", "features": []}'


class _ProxyHandler(_Quiet):
    def do_GET(self):  # noqa: N802
        proxy: FaultProxy = self.server.owner  # type: ignore[attr-defined]
        params = params_of(self.path)
        fault = proxy.take_fault(params)
        proxy.requests.append(params)
        kind = fault.kind if fault else None
        try:
            if kind == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind == "status":
                body = b"<html><body>Service Unavailable</body></html>"
                self.send_response(fault.status)
                if fault.retry_after is not None:
                    self.send_header("Retry-After", fault.retry_after)
                self._send(body, "text/html")
                return
            if kind == "exception":
                self.send_response(200)
                self._send(EXCEPTION_REPORT, "text/xml")
                return
            if kind == "empty":
                self.send_response(200)
                self._send(EMPTY_PAGE, "application/json")
                return
            if kind == "delay":
                time.sleep(fault.seconds)
            path = self.path
            if kind == "strip_filter":
                kept = [(k, v) for k, v in urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(path).query) if k.upper() != "FILTER"]
                path = "/wfs?" + urllib.parse.urlencode(kept)
            status, headers, body = proxy.forward(path)
            self.send_response(status)
            ctype = headers.get("Content-Type", "application/octet-stream")
            if kind == "gzip":
                self.send_header("Content-Encoding", "gzip")
                self._send(gzip.compress(body), ctype)
            elif kind == "truncate":
                self._send(body[: len(body) // 2], ctype)
            elif kind == "cut":
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
            else:
                self._send(body, ctype)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (timeout test)

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FaultProxy(_Server):
    """HTTP proxy in front of `upstream` that injects `faults` and records requests."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        super().__init__(_ProxyHandler)

    def add(self, *faults: Fault) -> FaultProxy:
        self.faults.extend(faults)
        return self

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()

    def take_fault(self, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and fault.match(params):
                    fault.hits += 1
                    return fault
        return None

    def forward(self, path: str) -> tuple[int, dict[str, str], bytes]:
        query = urllib.parse.urlsplit(path).query
        try:
            with self._direct.open(f"{self.upstream}?{query}", timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def page_starts(self) -> list[int]:
        """startIndex of every page request seen, in order."""
        return [int(p["STARTINDEX"]) for p in self.requests if is_page(p)]


@dataclass
class LocalWfs:
    """The running fixture: server, proxy and the expected data."""

    server: MapServerCGI
    proxy: FaultProxy
    blocks: gpd.GeoDataFrame
    folder: Path


if __name__ == "__main__":  # manual use: python tests/wfs_support.py
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="opjord-wfs-"))
    write_blocks_gpkg(tmp / "blocks.gpkg")
    with MapServerCGI(*write_mapfile(tmp, tmp / "blocks.gpkg")) as srv:
        print(f"WFS at {srv.url}  (data in {tmp}); Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
