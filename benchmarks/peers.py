#!/usr/bin/env python
"""Same-work peers of `opjord analyse`: the DESIGN figures in SQL (run on demand, not a test).

    python benchmarks/peers.py duckdb  <opjord.toml>            # read + SQL in DuckDB spatial
    python benchmarks/peers.py pg-load <opjord.toml> <port>     # load into PostGIS (ogr2ogr)
    python benchmarks/peers.py pg-query <opjord.toml> <port>    # the SQL in PostGIS (psql)
    python benchmarks/peers.py floor-imports <opjord.toml>      # opjord's imports only
    python benchmarks/peers.py floor-read <opjord.toml>         # + reading what opjord reads

Each peer prints one line `RESULT {json}` with the figures of summary.json (ha; shares 0–1):
per plan the development area, the agricultural ha per class in the footprint (areas ∩ the
boundary, overlapping field blocks counted once, the class earlier in `classes` first, then
the lower fid), the share and the share of the municipal total; per later plan the newly
designated, released and kept ha; the municipal total |F ∩ M| (|F| without a boundary);
and per area the agricultural ha per class (not clipped to the boundary).
`run_benchmarks.py` compares them with opjord's summary.json and areas.csv.

The peers read exactly the features opjord reads: with a boundary, the agricultural
features meeting the boundary or an area's envelope (through the GeoPackage's R-tree, by
the mask's bounding box, then the exact test in SQL); without one, the whole layer.
DuckDB's `ST_Read` (spatial 1.5.5) has no spatial filter and scans the national layer in
~17 s, so the DuckDB peer reads through pyogrio's Arrow reader (the same reader and index
as opjord) and hands the WKB to DuckDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

T0 = time.perf_counter()


def _config(path: str) -> tuple[Path, dict]:
    cfg = Path(path).resolve()
    return cfg.parent, tomllib.loads(cfg.read_text(encoding="utf-8"))


def _mask_box(folder: Path, c: dict):
    """(boundary WKB or None, mask WKB or None, mask bbox or None) as opjord's read uses them."""
    import numpy as np
    import pyogrio
    import shapely

    if "boundary" not in c:
        return None, None, None
    b = pyogrio.read_dataframe(folder / c["boundary"]["path"], use_arrow=True)
    boundary = shapely.union_all(b.geometry.array.to_numpy())
    envs = [shapely.envelope(pyogrio.read_dataframe(folder / p["path"], use_arrow=True)
                             .geometry.array.to_numpy()) for p in c["plans"]]
    mask = shapely.union_all(np.concatenate([[boundary], *envs]))
    return shapely.to_wkb(boundary), shapely.to_wkb(mask), mask.bounds


def _read_arrow(path: Path, columns: list[str], bbox=None, layer=None):
    import pyogrio

    _, table = pyogrio.read_arrow(path, layer=layer, columns=columns, bbox=bbox,
                                  return_fids=True)
    return table


# ----------------------------------------------------------------------------- the SQL
# One dialect per engine; {agg} is the union aggregate, {cls} the CASE giving the class rank.

def sql_figures(agg: str, dump: str, has_boundary: bool) -> list[tuple[str, str]]:
    """(name, query) of the figure queries over tables blocks(fid, rnk, geom),
    areas(plan, area_id, geom) and m(geom) (one row; absent without a boundary).

    `agg` is the engine's union aggregate, `dump` its query of a table's polygons
    ({cols} kept, {table})."""
    inter = ("CASE WHEN ST_Within(c.geom, {a}) THEN ST_Area(c.geom) "
             "ELSE ST_Area(ST_Intersection({a}, c.geom)) END")
    clip = "ST_Intersection({g}, (SELECT geom FROM m))" if has_boundary else "{g}"
    return [
        # Coverage: each block loses the union of the blocks before it that meet it.
        ("cutters", f"""
CREATE TABLE cutters AS
SELECT a.fid, {agg}(o.geom) AS cut
FROM blocks a JOIN blocks o ON ST_Intersects(a.geom, o.geom)
WHERE o.rnk < a.rnk OR (o.rnk = a.rnk AND o.fid < a.fid)
GROUP BY a.fid"""),
        ("cov", """
CREATE TABLE cov AS
SELECT b.fid, b.rnk, CASE WHEN k.cut IS NULL THEN b.geom
                          ELSE ST_Difference(b.geom, k.cut) END AS geom
FROM blocks b LEFT JOIN cutters k ON k.fid = b.fid"""),
        ("per_area", """
SELECT ar.plan, ar.area_id, c.rnk,
       sum(CASE WHEN ST_Within(c.geom, ar.geom) THEN ST_Area(c.geom)
                ELSE ST_Area(ST_Intersection(ar.geom, c.geom)) END) AS m2
FROM areas ar JOIN cov c ON ST_Intersects(ar.geom, c.geom)
GROUP BY ar.plan, ar.area_id, c.rnk"""),
        ("fp", f"""
CREATE TABLE fp AS
SELECT plan, {clip.format(g=f"{agg}(geom)")} AS geom FROM areas GROUP BY plan"""),
        # The footprints and change regions in their disjoint polygons: each piece is then
        # intersected with a small polygon, not the whole footprint.
        ("fp_parts", "CREATE TABLE fp_parts AS " + dump.format(cols="plan", table="fp")),
        ("plan", f"""
SELECT f.plan, c.rnk, sum({inter.format(a="f.geom")}) AS m2
FROM fp_parts f JOIN cov c ON ST_Intersects(f.geom, c.geom) GROUP BY f.plan, c.rnk"""),
        ("dev", "SELECT plan, ST_Area(geom) FROM fp"),
        ("chg", """
CREATE TABLE chg AS
SELECT l.plan, r.kind, r.geom
FROM fp l JOIN fp b ON b.plan = '{base}' AND l.plan <> '{base}'
CROSS JOIN LATERAL (VALUES ('newly_designated', ST_Difference(l.geom, b.geom)),
                           ('released', ST_Difference(b.geom, l.geom)),
                           ('kept', ST_Intersection(l.geom, b.geom))) AS r(kind, geom)"""),
        ("chg_parts", "CREATE TABLE chg_parts AS " + dump.format(cols="plan, kind",
                                                                 table="chg")),
        ("change", f"""
SELECT r.plan, r.kind, sum({inter.format(a="r.geom")})
FROM chg_parts r JOIN cov c ON ST_Intersects(r.geom, c.geom)
GROUP BY r.plan, r.kind"""),
        ("municipal", """
SELECT sum(CASE WHEN ST_Within(c.geom, m.geom) THEN ST_Area(c.geom)
                ELSE ST_Area(ST_Intersection(c.geom, m.geom)) END)
FROM cov c JOIN m ON ST_Intersects(c.geom, m.geom)""" if has_boundary else
         "SELECT sum(ST_Area(geom)) FROM cov"),
    ]


def figures(rows: dict[str, list], c: dict) -> dict:
    """The summary figures from the rows of `sql_figures`' queries."""
    classes = c["agricultural_land"]["classes"]
    base = next(p["key"] for p in c["plans"] if p.get("baseline"))
    municipal = (rows["municipal"][0][0] or 0.0) / 1e4
    plans = {}
    dev = {p: m2 / 1e4 for p, m2 in rows["dev"]}
    for p in c["plans"]:
        by = {classes[r]: 0.0 for r in range(len(classes))}
        for plan, rnk, m2 in rows["plan"]:
            if plan == p["key"]:
                by[classes[rnk]] = m2 / 1e4
        agri = sum(by.values())
        d = dev.get(p["key"], 0.0)
        plans[p["key"]] = {"development_area_ha": d, "agricultural_ha": agri,
                           "agricultural_ha_by_class": by,
                           "share": agri / d if d else None,
                           "share_of_municipal_agricultural_land":
                               agri / municipal if municipal else None}
    comparisons: dict = {}
    for plan, kind, m2 in rows["change"]:
        comparisons.setdefault(plan, {})[f"{kind}_ha"] = m2 / 1e4
    per_area: dict = {}
    for plan, area_id, rnk, m2 in rows["per_area"]:
        per_area.setdefault(f"{plan}/{area_id}", {})[classes[rnk]] = m2 / 1e4
    return {"plans": plans, "comparisons": comparisons, "municipal_agricultural_ha": municipal,
            "per_area": per_area, "baseline": base}


def _class_case(c: dict, column: str) -> str:
    classes = c["agricultural_land"]["classes"]
    whens = " ".join(f"WHEN '{v}' THEN {k}" for k, v in enumerate(classes))
    return f"CASE {column} {whens} END"


# ----------------------------------------------------------------------------- DuckDB


def duckdb_peer(cfg: str) -> dict:
    import duckdb
    import duckdb_extension_spatial
    import pyarrow as pa

    folder, c = _config(cfg)
    t_import = time.perf_counter()
    ext = (Path(duckdb_extension_spatial.__file__).parent / "extensions"
           / f"v{duckdb.__version__}" / "spatial.duckdb_extension")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    boundary, mask, box = _mask_box(folder, c)
    agri = c["agricultural_land"]
    blocks = _read_arrow(folder / agri["path"], [agri["class_column"]], bbox=box,
                         layer=agri.get("layer"))
    geom_col = next(n for n in blocks.column_names if n not in ("OGC_FID", "fid",
                                                                   agri["class_column"]))
    con.register("blocks_in", blocks)
    plans = []
    for p in c["plans"]:
        t = _read_arrow(folder / p["path"], [p["id_column"]])
        g = next(n for n in t.column_names if n not in (p["id_column"], "OGC_FID", "fid"))
        plans.append(pa.table({"plan": [p["key"]] * len(t), "area_id": t[p["id_column"]],
                               "wkb": t[g]}))
    con.register("areas_in", pa.concat_tables(plans))
    t_read = time.perf_counter()
    fid = "OGC_FID" if "OGC_FID" in blocks.column_names else "fid"
    g_blocks, g_areas = _geometry(con, "blocks_in", geom_col), _geometry(con, "areas_in", "wkb")
    keep = f"AND ST_Intersects({g_blocks}, ST_GeomFromWKB($mask))" if mask else ""
    con.execute(f"""CREATE TABLE blocks AS SELECT {fid} AS fid,
                    {_class_case(c, agri['class_column'])} AS rnk,
                    {g_blocks} AS geom FROM blocks_in
                    WHERE {agri['class_column']} IN ({", ".join(f"'{v}'" for v in agri['classes'])})
                    {keep}""", {"mask": mask} if mask else {})
    con.execute(f"CREATE TABLE areas AS SELECT plan, area_id, {g_areas} AS geom FROM areas_in")
    if boundary is not None:
        con.execute("CREATE TABLE m AS SELECT ST_GeomFromWKB($b) AS geom", {"b": boundary})
    rows = {}
    base = next(p["key"] for p in c["plans"] if p.get("baseline"))
    dump = ("SELECT {cols}, geom FROM (SELECT {cols}, unnest(ST_Dump(geom), recursive := true) "
            "FROM {table})")
    for name, q in sql_figures("ST_Union_Agg", dump, boundary is not None):
        cur = con.execute(q.replace("{base}", base))
        rows[name] = [] if q.lstrip().startswith("CREATE") else cur.fetchall()
    out = figures(rows, c)
    out["timing"] = {"imports_s": t_import - T0, "read_s": t_read - t_import,
                     "sql_s": time.perf_counter() - t_read,
                     "blocks_read": con.execute("SELECT count(*) FROM blocks").fetchone()[0]}
    return out


def _geometry(con, table: str, column: str) -> str:
    """The SQL for a registered Arrow column as GEOMETRY (DuckDB reads geoarrow.wkb as one)."""
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    return column if types[column].startswith("GEOMETRY") else f"ST_GeomFromWKB({column})"


# ----------------------------------------------------------------------------- PostGIS


def _psql(port: str, sql: str, *, db: str = "bench") -> str:
    """The output of a script (every statement's rows, tab-separated) run by psql."""
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", db,
                           "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                           "-f", "-"], input=sql, check=True, capture_output=True,
                          text=True).stdout


def pg_load(cfg: str, port: str) -> dict:
    """Load the features opjord reads into PostGIS with ogr2ogr, with GiST indexes."""
    folder, c = _config(cfg)
    _, _, box = _mask_box(folder, c)
    pg = f"PG:host=127.0.0.1 port={port} user=postgres dbname=bench"
    agri = c["agricultural_land"]
    common = ["-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid",
              "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES", "-nlt",
              "PROMOTE_TO_MULTI"]
    spat = ["-spat", *(str(v) for v in box)] if box else []
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(folder / agri["path"]),
                    agri.get("layer", ""), "-nln", "blocks_in", "-preserve_fid", "-select",
                    agri["class_column"], *spat, *common], check=True)
    for p in c["plans"]:
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(folder / p["path"]), "-nln",
                        f"areas_{p['key']}", "-select", p["id_column"], *common], check=True)
    if "boundary" in c:
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(folder / c["boundary"]["path"]),
                        "-nln", "m_in", *common], check=True)
    return {"timing": {"load_s": time.perf_counter() - T0}}


def pg_query(cfg: str, port: str) -> dict:
    folder, c = _config(cfg)
    agri = c["agricultural_land"]
    has_boundary = "boundary" in c
    prep = ["DROP TABLE IF EXISTS blocks, areas, m, cutters, cov, fp, fp_parts, chg, chg_parts"]
    mask = ""
    if has_boundary:
        prep.append("CREATE TABLE m AS SELECT ST_Union(geom) AS geom FROM m_in")
        envs = " UNION ALL ".join(f"SELECT ST_Envelope(geom) AS geom FROM areas_{p['key']}"
                                  for p in c["plans"])
        mask = (f"AND ST_Intersects(b.geom, (SELECT ST_Union(geom) FROM "
                f"(SELECT geom FROM m UNION ALL {envs}) x))")
    prep.append(f"""CREATE TABLE blocks AS SELECT b.fid, {_class_case(c, agri['class_column'])}
                    AS rnk, b.geom FROM blocks_in b WHERE {agri['class_column']} IN
                    ({", ".join(f"'{v}'" for v in agri['classes'])}) {mask}""")
    prep.append("CREATE INDEX ON blocks USING gist (geom)")
    prep.append("CREATE TABLE areas AS " + " UNION ALL ".join(
        f"SELECT '{p['key']}'::text AS plan, {p['id_column']}::text AS area_id, geom "
        f"FROM areas_{p['key']}" for p in c["plans"]))
    prep.append("CREATE INDEX ON areas USING gist (geom); ANALYZE blocks; ANALYZE areas")
    port_ = port
    base = next(p["key"] for p in c["plans"] if p.get("baseline"))
    queries = sql_figures("ST_Union", "SELECT {cols}, (ST_Dump(geom)).geom AS geom FROM {table}",
                          has_boundary)
    rows: dict[str, list] = {}
    script = ";\n".join(prep) + ";\n"
    for name, q in queries:
        q = q.replace("{base}", base)
        if q.lstrip().startswith("CREATE"):
            script += q + ";\n"
            if name in ("cov", "fp_parts", "chg_parts"):
                script += f"CREATE INDEX ON {name} USING gist (geom);\n"
        else:
            script += f"SELECT '{name}', x.* FROM ({q}) x;\n"
    out = _psql(port_, script)
    for line in out.splitlines():
        if not line.strip():
            continue
        name, *vals = line.split("\t")
        rows.setdefault(name, []).append([_num(v) for v in vals])
    for name, _ in queries:
        rows.setdefault(name, [])
    if not rows["municipal"]:
        rows["municipal"] = [[0.0]]
    result = figures(rows, c)
    result["timing"] = {"query_s": time.perf_counter() - T0}
    return result


def _num(v: str):
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


# ----------------------------------------------------------------------------- floors


def floor_imports(cfg: str) -> dict:
    """What `opjord analyse` imports before it does anything (its modules)."""
    import pipeline.analyse  # noqa: F401
    import pipeline.cli  # noqa: F401
    import pipeline.export  # noqa: F401

    return {"timing": {"imports_s": time.perf_counter() - T0}}


def floor_read(cfg: str) -> dict:
    """The imports plus reading exactly the features opjord reads (plans, boundary, the
    agricultural features meeting the boundary or an area's envelope), no cleaning."""
    import shapely

    import pipeline.cli  # noqa: F401
    import pipeline.export  # noqa: F401
    from pipeline.analyse import _envelopes, agricultural_sources, inspect_inputs
    from pipeline.config import load_config
    from pipeline.read import read_source

    t = time.perf_counter()
    config = load_config(cfg)
    infos = inspect_inputs(config)
    areas = {p.key: read_source(infos[p.source.role]) for p in config.plans}
    mask = None
    if config.boundary is not None:
        b = read_source(infos["boundary"])
        mask = shapely.union_all([shapely.union_all(b.geometry.array.to_numpy()),
                                  _envelopes(areas)])
    n = 0
    for role in agricultural_sources(config):
        n += len(read_source(infos[role], mask=mask))
    for info in infos.values():
        info.sha256  # noqa: B018 - the digest is part of what every run needs
    return {"timing": {"imports_s": t - T0, "read_s": time.perf_counter() - t,
                       "blocks_read": n}}


def main() -> int:
    what, cfg, *rest = sys.argv[1:]
    run = {"duckdb": duckdb_peer, "pg-load": pg_load, "pg-query": pg_query,
           "floor-imports": floor_imports, "floor-read": floor_read}[what]
    out = run(cfg, *rest)
    print("RESULT " + json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)  # as a fresh process ends: no time spent freeing what the figures built


if __name__ == "__main__":
    sys.exit(main())
