"""The scenario page `maps/scenario.html`: tick development areas, see the exact share.

Every area of every plan is a candidate. The page's JavaScript (`static/scenario.js`)
sums the precomputed faces of `processed.scenario` (scenario.json, `pipeline.scenario`)
for the ticked areas, so the share, farmland and footprint hectares, the change against
the baseline, the goal verdict and the ratio-trap caveat are exact and instant, with no
geometry. The data loads as a script (`scenario-data.js`, `window.OPJORD_SCENARIO`):
pages open from file:// cannot fetch().

The page data is scenario.json made compact: only the faces inside the boundary (the
others never count), their covering areas in CSR form (offsets into one flat list),
farmland m² per face and class flattened per layer, the areas as columns. Figures are
not rounded (the sums must equal `opjord scenario`). Texts the page shows (goal verdicts,
the caveat) come from the contract, `pipeline.results`, as templates.

The small folium map draws the areas of each plan (no basemap: the page requests
nothing from any host); clicking an area ticks it. The table is the accessible way to
do the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import folium
import numpy as np
from branca.element import MacroElement
from folium.template import Template
from markupsafe import Markup

from pipeline import fmt
from pipeline.config import Config
from pipeline.results import (
    SCENARIO_DATA,
    Processed,
    goal_text,
    ratio_trap_text,
    role_label,
)
from pipeline.styles import BOUNDARY_STYLE, plan_style


@dataclass(frozen=True)
class MapKit:
    """What the small map takes from `pipeline.webmap` (handed in: webmap imports this module).

    new_map() -> an empty folium map with the pages' Swedish controls; features(gdf, props)
    -> simplified GeoJSON in EPSG:4326; esc: HTML escape; bounds(geojsons) -> fit bounds;
    parts(map) -> head, map and script of the rendered map (stable ids, vendored Leaflet).
    The layers' looks come from `pipeline.styles`, as the overview map's do.
    """

    new_map: Callable
    features: Callable
    esc: Callable
    bounds: Callable
    parts: Callable


def page_data(config: Config, processed: Processed) -> dict:
    """The page's data from scenario.json and areas.csv (see the module docstring)."""
    data = processed.scenario
    faces = data["faces"]
    inside = np.asarray(faces["inside"], dtype=bool)
    keep = np.flatnonzero(inside)
    covers = [faces["areas"][i] for i in keep]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in covers])]).astype(int)
    plan_index = {p["key"]: i for i, p in enumerate(data["plans"])}
    areas = data["areas"]
    table = processed.areas
    same_order = (len(table) == len(areas)
                  and list(table["plan"]) == [a["plan"] for a in areas]
                  and list(table["area_id"]) == [a["area_id"] for a in areas])
    if not same_order:
        table = table.set_index(["plan", "area_id"]).loc[
            [(a["plan"], a["area_id"]) for a in areas]].reset_index()
    effect = table.get("share_effect_pp")
    return {
        "schema": 1,
        "run_id": data["run_id"],
        "classes": data["classes"],
        "baseline": data["baseline"],
        "layers": [{"role": r, "label": role_label(r, config)} for r in data["layers"]],
        "plans": data["plans"],
        "areas": {
            "plan": [plan_index[a["plan"]] for a in areas],
            "id": [a["area_id"] for a in areas],
            "name": [a["name"] for a in areas],
            "type": [a["type"] for a in areas],
            "area_ha": [a["area_ha"] for a in areas],
            "agricultural_ha": [_num(v) for v in table["agricultural_ha"]],
            "share": [_num(v) for v in table["share"]],
            "effect_pp": None if effect is None else [_num(v) for v in effect],
        },
        "faces": {
            "area_m2": [faces["area_m2"][i] for i in keep],
            "offsets": offsets.tolist(),
            "areas": [a for c in covers for a in c],
            "agricultural_m2": {role: [v for i in keep for v in rows[i]]
                                for role, rows in faces["agricultural_m2"].items()},
        },
        "texts": page_texts(),
    }


def _num(value) -> float | None:
    return None if value is None or value != value else float(value)


# Stand-ins whose formatted text is replaced by a placeholder: the caveat's wording stays
# `results.ratio_trap_text`, the page fills in a selection's figures.
_TRAP_FIGURES = {"share": 0.9111, "base_share": 0.9222, "agricultural": 5555.5,
                 "base_agricultural": 2222.2, "development": 7777.7, "base_development": 8888.8}


def caveat_template() -> str:
    """`ratio_trap_text` with {plan}, {base}, {share}, {agricultural}, {increase}, … for
    the page's script to fill in."""
    f = _TRAP_FIGURES
    text = ratio_trap_text(
        {"label": "{plan}", "share": f["share"], "agricultural_ha": f["agricultural"],
         "development_area_ha": f["development"]},
        {"label": "{base}", "share": f["base_share"], "agricultural_ha": f["base_agricultural"],
         "development_area_ha": f["base_development"]})
    shown = {name: fmt.percent(v) if "share" in name else fmt.hectares(v) for name, v in f.items()}
    shown["increase"] = fmt.hectares(f["agricultural"] - f["base_agricultural"])
    for name, value in shown.items():
        text = text.replace(value, "{" + name + "}")
    return text


def page_texts() -> dict[str, str]:
    """The Swedish texts the page's script fills in ({name} placeholders)."""
    return {
        "goal_met": goal_text(True, reason=True),
        "goal_not_met": goal_text(False, reason=True),
        "goal_unknown": goal_text(None),
        "caveat": caveat_template(),
        "checkbox": "Ta med {id} {name} ({plan})",
        "shown": "Visar {n} av {total} områden.",
        "live": "{n} områden valda. Andel jordbruksmark {share}, jordbruksmark {agricultural}, "
                "utvecklingsområden {development}, förändring mot {base} {change}. {goal}.",
        "unknown": "{n} område-id i länken finns inte i underlaget och hoppades över: {ids}.",
        "csv_name": "scenario-urval.csv",
        "selection": "scenariot",  # as `opjord scenario` says it
    }


def data_script(data: dict) -> str:
    """scenario-data.js: the data as one assignment (loads from file:// as a script)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = re.sub(r"(?i)</script", r"<\\/script", text)  # harmless if ever inlined
    return f"window.OPJORD_SCENARIO = {text};\n"


# ---------------------------------------------------------------------------- the map


class _ScenarioHooks(MacroElement):
    """`window.opjordScenarioMap`: show a plan's areas, restyle by selection, clicks."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map.get_name() }};
    var layers = {
        {%- for key, layer in this.layers.items() %}
        {{ key|tojson }}: {{ layer.get_name() }},
        {%- endfor %}
    };
    var styles = {{ this.styles|tojson }};
    var byArea = {}, planOf = {}, handlers = [];
    Object.keys(layers).forEach(function (key) {
        layers[key].eachLayer(function (l) {
            var n = l.feature.properties.n;
            byArea[n] = l;
            planOf[n] = key;
            l.on("click", function () { handlers.forEach(function (h) { h(n); }); });
        });
    });
    function style(n, on) {
        var s = styles[planOf[n]];
        return {color: s.color, weight: on ? s.weight + 1 : 1.5, dashArray: on ? null : "4 4",
                fillColor: s.color, fillOpacity: on ? 0.45 : 0.04, opacity: 1};
    }
    window.opjordScenarioMap = {
        map: map, layers: layers, byArea: byArea,
        showPlan: function (key) {
            Object.keys(layers).forEach(function (k) {
                if (key === "" || k === key) { map.addLayer(layers[k]); }
                else { map.removeLayer(layers[k]); }
            });
        },
        restyle: function (selected) {
            Object.keys(byArea).forEach(function (n) {
                byArea[n].setStyle(style(n, !!selected[n]));
            });
        },
        restyleOne: function (n, on) { if (byArea[n]) { byArea[n].setStyle(style(n, on)); } },
        onToggle: function (h) { handlers.push(h); }
    };
})();
{% endmacro %}
""")

    def __init__(self, map_: folium.Map, layers: dict[str, folium.GeoJson], styles: dict):
        super().__init__()
        self._name = "OpjordScenarioHooks"
        self.map, self.layers, self.styles = map_, layers, styles


def scenario_map(config: Config, processed: Processed, kit: MapKit) -> dict[str, Markup]:
    """The small folium map of every plan's areas, as page parts (head, map, script)."""
    data = processed.scenario
    tolerance = config.webmap.simplify_tolerance_m
    m = kit.new_map()
    areas_geo = processed.layer("areas")
    number = {(a["plan"], a["area_id"]): i for i, a in enumerate(data["areas"])}
    labels = {p["key"]: p["label"] for p in data["plans"]}
    layers: dict[str, folium.GeoJson] = {}
    styles: dict[str, dict] = {}
    shapes = []
    for index, plan in enumerate(data["plans"]):
        key = plan["key"]
        geo = areas_geo[areas_geo["plan"] == key] if areas_geo is not None else None
        if geo is None or geo.empty:
            continue
        props = [{"n": number[(key, str(i))], "id": kit.esc(i), "namn": kit.esc(nm)}
                 for i, nm in zip(geo["area_id"].astype(str), geo["name"], strict=True)]
        features = kit.features(geo, props, tolerance_m=tolerance)
        style = plan_style(key, labels[key], index)
        styles[key] = {"color": style.color, "weight": style.weight}
        layer = folium.GeoJson(
            features, style={"color": style.color, "weight": 1.5, "fillOpacity": 0.04},
            className=f"opjord-scenario-{index}",
            tooltip=folium.GeoJsonTooltip(fields=["id", "namn"], aliases=["Område-id", "Namn"],
                                          sticky=True, class_name="opjord-tooltip"))
        layer.add_to(m)
        layers[key] = layer
        shapes.append(features)
    boundary = processed.layer("boundary")
    if boundary is not None and not boundary.empty:
        folium.GeoJson(kit.features(boundary, None, tolerance_m=tolerance),
                       style=BOUNDARY_STYLE.leaflet(), interactive=False,
                       className=BOUNDARY_STYLE.css_class).add_to(m)
    _ScenarioHooks(m, layers, styles).add_to(m)
    bounds = kit.bounds(shapes)
    if bounds:
        m.fit_bounds(bounds, padding=(10, 10))
    return kit.parts(m)


# ---------------------------------------------------------------------------- the page


def build_scenario(config: Config, processed: Processed, env, common: dict, kit: MapKit
                   ) -> dict[str, str]:
    """The scenario page and its data script: file name (in maps/) -> text.

    `env` is the pages' Jinja environment and `common` what every page gets."""
    data = page_data(config, processed)
    types = sorted({t for t in data["areas"]["type"] if t}, key=str.casefold)
    html = env.get_template("scenario.html.j2").render(
        **common, parts=scenario_map(config, processed, kit), plans=data["plans"],
        layers=data["layers"], types=types, data_script=SCENARIO_DATA,
        effect=data["areas"]["effect_pp"] is not None, goal_unknown=goal_text(None))
    return {common["pages"]["scenario"]: html, SCENARIO_DATA: data_script(data)}
