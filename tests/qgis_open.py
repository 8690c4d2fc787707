"""Open analysis.gpkg and opjord.qgs in real QGIS and say what QGIS sees (JSON on stdout).

Run by tests/test_qgis.py with Debian's Python (`/usr/bin/python3`, python3-qgis), headless:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_open.py GPKG PROJECT PNG LAYER...

For each LAYER of the GeoPackage: whether it is valid, its renderer (type, field,
categories with label and colours) as loaded from the GeoPackage's default style, and its
field aliases. For the project: every layer's validity, provider and source, the layer
tree's groups, and the project rendered to PNG (vector layers only: the basemap needs the
network), with the number of pixels that are not white.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402  (after the platform is set)
    QgsApplication,
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def colour(c: QColor) -> str:
    return c.name() + (f"/{c.alpha()}" if c.alpha() != 255 else "")


def symbol_colours(symbol) -> list[dict]:
    out = []
    for i in range(symbol.symbolLayerCount()):
        sl = symbol.symbolLayer(i)
        props = sl.properties()
        out.append({"class": sl.layerType(), "color": colour(sl.color()),
                    "style": props.get("style"), "width": props.get("line_width"),
                    "dash": props.get("customdash") if props.get("use_custom_dash") == "1"
                    else None})
    return out


def renderer_info(layer: QgsVectorLayer) -> dict:
    r = layer.renderer()
    info = {"type": r.type()}
    if r.type() == "categorizedSymbol":
        info["field"] = r.classAttribute()
        info["categories"] = [{"value": c.value(), "label": c.label(),
                               "symbol": symbol_colours(c.symbol())} for c in r.categories()]
    elif r.type() == "singleSymbol":
        info["symbol"] = symbol_colours(r.symbol())
    return info


def tree(group: QgsLayerTreeGroup) -> list:
    out = []
    for child in group.children():
        if isinstance(child, QgsLayerTreeGroup):
            out.append({"group": child.name(), "children": tree(child)})
        elif isinstance(child, QgsLayerTreeLayer):
            out.append({"layer": child.name(), "checked": child.isVisible()})
    return out


def main() -> None:
    gpkg, project_path, png, *names = sys.argv[1:]
    app = QgsApplication([], False)
    app.initQgis()
    result: dict = {"layers": {}, "project": {}}
    for name in names:
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        fields = layer.fields()
        result["layers"][name] = {
            "valid": layer.isValid(), "features": layer.featureCount(),
            "crs": layer.crs().authid(), "renderer": renderer_info(layer),
            "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(fields)
                        if layer.attributeAlias(i)}}
    project = QgsProject.instance()
    result["project"]["read"] = project.read(project_path)
    result["project"]["crs"] = project.crs().authid()
    layers = []
    for layer in project.mapLayers().values():
        entry = {"name": layer.name(), "valid": layer.isValid(),
                 "provider": layer.providerType(), "source": layer.source()}
        if isinstance(layer, QgsVectorLayer):
            entry["features"] = layer.featureCount()
            entry["renderer"] = renderer_info(layer)
            entry["subset"] = layer.subsetString()
        layers.append(entry)
    result["project"]["layers"] = sorted(layers, key=lambda e: e["name"])
    result["project"]["tree"] = tree(project.layerTreeRoot())

    visible = [la for la in project.layerTreeRoot().checkedLayers()
               if isinstance(la, QgsVectorLayer)]
    settings = QgsMapSettings()
    settings.setLayers(visible)
    settings.setDestinationCrs(project.crs())
    extent = QgsRectangle()
    for la in visible:
        if la.featureCount():
            extent.combineExtentWith(la.extent())
    extent.scale(1.1)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(800, 800))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    result["render"] = {"saved": image.save(png, "PNG"), "path": png,
                        "layers": [la.name() for la in visible]}
    white = QColor("white").rgb()
    result["render"]["non_white"] = sum(
        1 for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)
        if image.pixel(x, y) != white)
    print(json.dumps(result, ensure_ascii=False))
    project.clear()
    app.exitQgis()


if __name__ == "__main__":
    main()
