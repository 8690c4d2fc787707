"""Whole-layer figures streamed by spatial partitions (`analyse.stream_layer`) equal the
figures of the layer read in one pass: hand-made and random overlapping blocks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import box, edit_config, write_layer

from pipeline import analyse as A
from pipeline.config import load_config
from pipeline.overlay import area_of_coverage, union


def _setup(cfg):
    config = load_config(cfg)
    infos = A.inspect_inputs(config)
    return config, infos, config.agricultural_land, infos[config.agricultural_land.role]


def test_streamed_total_counts_overlaps_once_across_partitions(project):
    # One feature per partition: every overlap is between features of different partitions.
    # Blocks (conftest): 16 ha Åker, Bete 4 ha of which 2 ha under the Åker block, 4 ha,
    # 4 ha crossing the boundary (1 ha inside), Skog not counted: |F| = 26 ha, |F ∩ M| = 23.
    config, infos, source, info = _setup(project)
    whole = A.stream_layer(info, source, None, None, part_features=1)
    assert whole.municipal_m2 == pytest.approx(26e4)
    assert whole.cleaning.features_read == 5 and whole.cleaning.features_kept == 5
    b, _ = A._read_clean(infos["boundary"])
    m = union(b.geometry.array.to_numpy())
    inside = A.stream_layer(info, source, m, m, part_features=1)
    assert inside.municipal_m2 == pytest.approx(23e4)
    assert sorted(inside.values) == ["Bete", "Skog", "Åker"]


def test_streamed_total_equals_one_pass_on_random_overlapping_blocks(tmp_path, project):
    rng = np.random.default_rng(7)
    n = 300
    xy = rng.uniform(0, 3000, (n, 2))
    size = rng.uniform(20, 250, (n, 2))
    geoms = [box(x, y, x + w, y + h) for (x, y), (w, h) in zip(xy, size, strict=True)]
    geoms[3] = shapely.Polygon([(box(0, 0, 1, 1).bounds[0] + dx, box(0, 0, 1, 1).bounds[1] + dy)
                                for dx, dy in ((0, 0), (100, 100), (100, 0), (0, 100))])  # bowtie
    geoms[5] = shapely.MultiPolygon([box(0, 0, 50, 50), box(2900, 2900, 2950, 2950)])  # far apart
    classes = rng.choice(["Åker", "Bete", "Skog", "åker "], n, p=[0.5, 0.3, 0.1, 0.1])
    write_layer(tmp_path / "raw" / "random.gpkg",
                [{"agoslag": c, "geometry": g} for c, g in zip(classes, geoms, strict=True)],
                layer="jordbruksblock")
    edit_config(project, 'path = "raw/blocks.gpkg"', 'path = "raw/random.gpkg"')
    config, infos, source, info = _setup(project)
    farmland, report = A._read_clean(info)
    expected = area_of_coverage(farmland, source.class_column, source.classes, None)
    for parts in (1, 7, 60, 1000):
        got = A.stream_layer(info, source, None, None, part_features=parts)
        assert got.municipal_m2 == pytest.approx(expected, rel=1e-12)
        assert got.cleaning == report  # the bowtie repaired once
        want = A.variants(farmland[source.class_column], source.classes,
                          farmland.geometry.array.to_numpy())
        assert [(v.value, v.target, v.features) for v in got.variants] == \
            [(v.value, v.target, v.features) for v in want]
        assert [v.area_ha for v in got.variants] == pytest.approx([v.area_ha for v in want],
                                                                  rel=1e-12)
    region = shapely.box(*box(500, 500, 2200, 2600).bounds)
    mask = shapely.union_all([region, box(2800, 0, 3000, 200)])
    masked, masked_report = A._read_clean(info, mask=mask)
    expected = area_of_coverage(masked, source.class_column, source.classes, region)
    got = A.stream_layer(info, source, region, mask, part_features=9)
    assert got.municipal_m2 == pytest.approx(expected, rel=1e-12)
    assert got.cleaning == masked_report


def test_analyse_streamed_gives_the_same_summary(project, monkeypatch):
    config = load_config(project)
    before = A.analyse(config)
    monkeypatch.setattr(A, "STREAM_MIN_FEATURES", 0)
    monkeypatch.setattr(A, "PART_FEATURES", 2)
    edit_config(project, 'path = "raw/boundary.gpkg"', 'path = "raw/boundary.gpkg"')
    assert A.read_inputs(load_config(project)).municipal_m2  # the streamed path was taken
    after = A.analyse(load_config(project))
    assert after.municipal_agricultural_ha == pytest.approx(before.municipal_agricultural_ha,
                                                            rel=1e-12)
    for key, plan in before.plans.items():
        for k, v in plan.items():
            assert after.plans[key][k] == (pytest.approx(v, rel=1e-12)
                                           if isinstance(v, float) else v)
    assert after.cleaning == before.cleaning
    assert after.areas.drop(columns="geometry").equals(before.areas.drop(columns="geometry"))
