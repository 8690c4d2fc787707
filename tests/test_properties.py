"""Invariants of the indicators (hypothesis), on in-memory frames through `analyse_frames`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import X0, Y0
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.analyse import analyse_frames
from pipeline.config import AgriculturalSource, Config, OutputConfig, PlanConfig, VectorSource

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def make_config(*, boundary: bool) -> Config:
    p = Path("in-memory")
    plans = tuple(PlanConfig(key=k, label=k, source=VectorSource(role=f"plan:{k}", path=p,
                                                                 table=k),
                             id_column="id", baseline=(k == "base")) for k in ("base", "later"))
    return Config(path=p / "opjord.toml", kommun="T", kommunkod=None,
                  agricultural_land=AgriculturalSource(role="agricultural_land", path=p,
                                                       table="[agricultural_land]"),
                  plans=plans, output=OutputConfig(p, p, p),
                  boundary=VectorSource(role="boundary", path=p, table="b") if boundary else None)


rect = st.tuples(st.integers(0, 900), st.integers(0, 900), st.integers(10, 400),
                 st.integers(10, 400)).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))
farm = st.lists(st.tuples(rect, st.sampled_from(["Åker", "Bete", "Skog"])), min_size=1,
                max_size=6)
areas = st.lists(rect, min_size=1, max_size=4)


def frames(base, later, fields, dx=0.0, dy=0.0, extra=()):
    def b(r):
        return shapely.box(X0 + dx + r[0], Y0 + dy + r[1], X0 + dx + r[2], Y0 + dy + r[3])

    def plan(rs):
        return gpd.GeoDataFrame({"area_id": [str(i) for i in range(len(rs))], "name": "",
                                 "type": ""}, geometry=[b(r) for r in rs], crs=3006)
    rows = list(fields) + list(extra)
    farmland = gpd.GeoDataFrame({"agoslag": [c for _, c in rows]},
                                geometry=[b(r) for r, _ in rows], crs=3006)
    return {"base": plan(base), "later": plan(later)}, {"agricultural_land": farmland}, b


def run(base, later, fields, *, boundary=True, dx=0.0, dy=0.0, extra=()):
    plans, farmland, b = frames(base, later, fields, dx, dy, extra)
    m = b((0, 0, 1000, 1000)) if boundary else None
    return analyse_frames(make_config(boundary=boundary), plans, farmland, m)


@SETTINGS
@given(areas, areas, farm, st.booleans())
def test_shares_are_within_0_and_1(base, later, fields, boundary):
    a = run(base, later, fields, boundary=boundary)
    for p in a.plans.values():
        assert 0.0 <= p["share"] <= 1.0 + 1e-12
        municipal = a.municipal_agricultural_ha["agricultural_land"]
        if municipal == 0:  # no counted class at all: no share of nothing
            assert p["share_of_municipal_agricultural_land"] is None
        else:
            assert 0.0 <= p["share_of_municipal_agricultural_land"] <= 1.0 + 1e-12
        assert p["agricultural_ha"] <= p["development_area_ha"] + 1e-9
    assert ((a.areas["share"] >= 0) & (a.areas["share"] <= 1 + 1e-12)).all()
    c = a.comparisons["later"]
    # With one shared layer: change = newly designated − released; plan = newly + kept.
    assert c["agricultural_ha_change"] == pytest.approx(c["newly_designated_ha"]
                                                        - c["released_ha"], abs=1e-6)
    assert a.plans["later"]["agricultural_ha"] == pytest.approx(
        c["newly_designated_ha"] + c["kept_ha"], abs=1e-6)


@SETTINGS
@given(areas, areas, farm, st.integers(-50_000, 50_000), st.integers(-50_000, 50_000))
def test_translation_changes_nothing(base, later, fields, dx, dy):
    a = run(base, later, fields)
    b = run(base, later, fields, dx=dx, dy=dy)
    for key in a.plans:
        for k in ("development_area_ha", "agricultural_ha", "share"):
            assert b.plans[key][k] == pytest.approx(a.plans[key][k], rel=1e-9, abs=1e-9)
    assert b.areas["agricultural_ha"].to_numpy() == pytest.approx(
        a.areas["agricultural_ha"].to_numpy(), rel=1e-9, abs=1e-9)


@SETTINGS
@given(areas, areas, farm, st.data())
def test_splitting_a_block_changes_nothing(base, later, fields, data):
    i = data.draw(st.integers(0, len(fields) - 1))
    (x1, y1, x2, y2), cls = fields[i]
    cut = data.draw(st.integers(x1 + 1, x2 - 1))
    split = fields[:i] + [((x1, y1, cut, y2), cls), ((cut, y1, x2, y2), cls)] + fields[i + 1:]
    a, b = run(base, later, fields), run(base, later, split)
    for key in a.plans:
        assert b.plans[key]["agricultural_ha_by_class"] == pytest.approx(
            a.plans[key]["agricultural_ha_by_class"], abs=1e-9)
    assert b.municipal_agricultural_ha == pytest.approx(a.municipal_agricultural_ha, abs=1e-9)
    assert b.areas["agricultural_ha"].to_numpy() == pytest.approx(
        a.areas["agricultural_ha"].to_numpy(), abs=1e-9)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400), st.integers(10, 90),
                          st.integers(10, 90)).map(
    lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])), min_size=1, max_size=3),
    farm, st.sampled_from(["Åker", "Bete"]))
def test_farmland_outside_areas_changes_only_the_municipal_total(base, fields, cls):
    # Areas stay in the lower-left 500 × 500 m; the extra block lies in the upper right.
    extra = [((600, 600, 900, 900), cls)]
    a = run(base, base, fields)
    b = run(base, base, fields, extra=extra)
    for key in a.plans:
        for k in ("development_area_ha", "agricultural_ha", "share"):
            assert b.plans[key][k] == pytest.approx(a.plans[key][k], abs=1e-9)
    assert b.areas["agricultural_ha"].to_numpy() == pytest.approx(
        a.areas["agricultural_ha"].to_numpy(), abs=1e-9)
    grown = b.municipal_agricultural_ha["agricultural_land"]
    before = a.municipal_agricultural_ha["agricultural_land"]
    # The extra 9 ha count once, minus whatever part of them the other blocks already covered.
    assert before < grown <= before + 9.0 + 1e-9
