"""Same inputs, same bytes: the web map pages and the report across runs and processes.

folium/branca draw every element's id from os.urandom; `webmap.stable_ids` numbers
them instead. These tests run the whole CLI twice in separate processes (different
hash seeds) and compare every file, and check that the ids are still unique.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import folium
import pytest
from conftest import make_project as make_plain_project
from webmap_project import make_project

import pipeline
from pipeline import webmap

ROOT = Path(pipeline.__file__).resolve().parent.parent
ELEMENT_NAME = re.compile(r"^[a-z_]+_\d+$")  # what get_name() gives after stable_ids


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("reproducible"))


def tree(root) -> list:
    """Every element under `root`, depth first."""
    out = [root]
    for child in root._children.values():
        out += tree(child)
    return out


def declared_names(page: str) -> list[str]:
    """JavaScript names declared with var/let/function that carry an element id."""
    names = re.findall(r"\b(?:var|let|const|function)\s+([A-Za-z_$][\w$]*)", page)
    return [n for n in names if re.search(r"_\d+(_|$)", n)]


def html_ids(page: str) -> list[str]:
    return re.findall(r"""\bid=(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", page)


def run_cli(folder: Path, cfg: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1700000000",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "-q", "--config",
                           str(cfg)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_processes_write_byte_identical_maps_and_report(tmp_path):
    """Two copies of one project, run by two processes with different hash seeds."""
    (tmp_path / "a").mkdir()
    make_plain_project(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same input bytes (a GeoPackage
    for name, seed in (("a", "1"), ("b", "2")):     # written twice differs in its timestamps)
        run_cli(tmp_path / name, tmp_path / name / "opjord.toml", seed)
    for sub in ("maps", "reports"):
        first, second = files_under(tmp_path / "a" / sub), files_under(tmp_path / "b" / sub)
        assert sorted(first) == sorted(second)
        assert {webmap.OVERVIEW, webmap.INDEX, "uppfoljning_3a.md"} & set(first)
        differing = [name for name in first if first[name] != second[name]]
        assert differing == [], f"{sub}/: {differing} differ between two identical runs"


def test_rendering_twice_gives_the_same_page_parts(mapped):
    processed = webmap.read_processed(mapped.output.processed)
    layers = webmap.build_layers(mapped, processed)
    first = webmap.render_map(mapped, layers)
    second = webmap.render_map(mapped, layers)
    assert first == second
    page = (mapped.output.maps / webmap.OVERVIEW).read_text(encoding="utf-8")
    assert first["script"] in page and first["map"] in page
    assert not re.search(r"[0-9a-f]{32}", page)  # no random folium id is left on the page


def test_ids_on_the_overview_page_are_unique(mapped):
    page = (mapped.output.maps / webmap.OVERVIEW).read_text(encoding="utf-8")
    names = declared_names(page)
    # 1 map, 1 tile layer, no layer control (the page's panel), a feature group per layer,
    # GeoJSON for each plan's areas (the context layers are canvas tiles, `pipeline.webdata`)
    kinds = Counter(re.sub(r"_\d+.*$", "", n) for n in names if ELEMENT_NAME.match(n))
    assert kinds["map"] == 1 and kinds["tile_layer"] == 1 and kinds["layer_control"] == 0
    assert kinds["feature_group"] >= 5 and kinds["geo_json"] == 2
    assert [n for n, c in Counter(names).items() if c > 1] == []
    ids = ["".join(parts) for parts in html_ids(page)]
    assert re.search(r"\bvar (map_\d+) = L\.map", page).group(1) in ids  # the map's <div>
    assert [i for i, c in Counter(ids).items() if c > 1] == []


def test_overview_map_for_the_notebook_is_deterministic(mapped):
    first = webmap.overview_map(mapped).get_root().render()
    second = webmap.overview_map(mapped).get_root().render()
    assert first == second
    assert not re.search(r"[0-9a-f]{32}", first)
    assert [n for n, c in Counter(declared_names(first)).items() if c > 1] == []


def test_stable_ids_numbers_the_tree_and_follows_copied_names():
    """Ids are unique in tree order; child keys and a default layer_name follow the id."""
    m = folium.Map(location=[58.6, 16.2], tiles=None)
    group = folium.FeatureGroup(name="Grupp").add_to(m)
    data = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"namn": "A"},
        "geometry": {"type": "Point", "coordinates": [16.2, 58.6]}}]}
    layer = folium.GeoJson(data, tooltip=folium.GeoJsonTooltip(fields=["namn"])).add_to(group)
    random_id = layer._id
    assert layer.layer_name == f"macro_element_{random_id}"  # folium copied the random id
    webmap.stable_ids(m.get_root())
    elements = tree(m.get_root())
    assert [e._id for e in elements] == [str(i) for i in range(len(elements))]
    assert len({e.get_name() for e in elements}) == len(elements)
    assert m.get_name() == "map_" + str(elements.index(m))
    assert layer.layer_name == f"macro_element_{layer._id}"
    assert group.layer_name == "Grupp"  # a name given by the caller is kept
    for element in elements:
        for key, child in element._children.items():
            assert key in (child.get_name(), "header", "html", "script", "meta_http",
                           "css_style", "map_style")  # explicit names stay as they were
    html = m.get_root().render()
    assert f"{layer.get_name()}.addTo({group.get_name()})" in html
