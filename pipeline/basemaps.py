"""The basemaps `[webmap] basemap` names: tile URL template, attribution (HTML) and Swedish name.

Shared by the web map (`pipeline.webmap`) and the QGIS project (`pipeline.qgis`), which must
not import the web map's libraries. `{apikey}` in a URL is filled in from the environment
variable `[webmap] api_key_env` names, only where the maps are built.
"""

from __future__ import annotations

LM_TOPOWEBB = ("https://api.lantmateriet.se/open/topowebb-ccby/v1/wmts/token/{apikey}/1.0.0/"
               "{layer}/default/3857/{z}/{y}/{x}.png")
LM_ATTRIBUTION = ('&copy; <a href="https://www.lantmateriet.se">Lantmäteriet</a> '
                  "(CC BY 4.0)")
BASEMAPS = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">'
            "OpenStreetMaps bidragsgivare</a>", "OpenStreetMap"),
    "topowebb_nedtonad": (LM_TOPOWEBB.replace("{layer}", "topowebb_nedtonad"), LM_ATTRIBUTION,
                          "Lantmäteriets topografiska webbkarta, nedtonad"),
    "topowebb": (LM_TOPOWEBB.replace("{layer}", "topowebb"), LM_ATTRIBUTION,
                 "Lantmäteriets topografiska webbkarta"),
}
