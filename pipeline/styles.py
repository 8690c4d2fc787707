"""The layers' look, shared by the web map (`pipeline.webmap`) and the QGIS styles
(`pipeline.qgis`): colours, line widths (pixels), dash patterns (pixels, dash gap …) and the
legend's names and words. One definition, so QGIS shows a layer as the web map does.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class LayerStyle:
    """One map layer's look and its legend entry; colours meet WCAG 2.1 AA (≥ 3:1 on white)."""

    key: str  # stable id: CSS class `opjord-<key>` on the layer's SVG paths
    name: str  # Swedish layer name (plain text; escaped where it is used)
    description: str  # how it looks, in words, for the legend (not colour alone)
    color: str
    weight: float = 2.0
    dash: str | None = None
    fill_color: str | None = None  # None: outline only
    fill_opacity: float = 0.0
    show: bool = True

    @property
    def css_class(self) -> str:
        return f"opjord-{self.key}"

    def leaflet(self) -> dict:
        style = {"color": self.color, "weight": self.weight, "opacity": 1.0,
                 "fill": True, "fillColor": self.fill_color or self.color,
                 "fillOpacity": self.fill_opacity if self.fill_color else 0.0}
        if self.dash:
            style["dashArray"] = self.dash
        return style

    def swatch(self) -> Markup:
        """An inline SVG legend swatch (decorative: the text label carries the meaning)."""
        fill = html.escape(self.fill_color or "none")
        dash = f' stroke-dasharray="{html.escape(self.dash)}"' if self.dash else ""
        return Markup(
            '<svg class="swatch" width="40" height="22" viewBox="0 0 40 22" aria-hidden="true" '
            f'focusable="false"><rect x="2" y="3" width="36" height="16" fill="{fill}" '
            f'fill-opacity="{self.fill_opacity if self.fill_color else 0}" '
            f'stroke="{html.escape(self.color)}" stroke-width="{min(self.weight, 3)}"{dash}/>'
            "</svg>")


PLAN_LINES = [  # (colour, dash, words): baseline first, then later plans in order
    ("#1a1a1a", "10 6", "svart streckad kantlinje"),
    ("#7b1fa2", None, "lila heldragen kantlinje"),
    ("#00695c", "2 5", "grön prickad kantlinje"),
    ("#a33c00", "14 5 3 5", "brun streck-prickad kantlinje"),
]
CLASS_FILLS = [  # (outline, fill, words) per agricultural class in config order
    ("#7a5a00", "#f2c84b", "gul yta"),
    ("#2e6b12", "#8bc34a", "grön yta"),
    ("#5d4037", "#bcaaa4", "brun yta"),
    ("#37474f", "#b0bec5", "grå yta"),
]


def plan_style(key: str, label: str, index: int) -> LayerStyle:
    """The baseline (index 0) gets a wider line, so it shows around a later plan's same edge."""
    color, dash, words = PLAN_LINES[index % len(PLAN_LINES)]
    return LayerStyle(key=f"omraden-{key}", name=f"Utvecklingsområden {label}",
                      description=words, color=color, weight=5.0 if index == 0 else 3.0, dash=dash,
                      fill_color=color, fill_opacity=0.06)


def class_style(value: str, index: int) -> LayerStyle:
    outline, fill, words = CLASS_FILLS[index % len(CLASS_FILLS)]
    return LayerStyle(key=f"jordbruk-{index}", name=f"Jordbruksmark i utvecklingsområden: {value}",
                      description=f"{words}, tunn kantlinje", color=outline, weight=1.0,
                      fill_color=fill, fill_opacity=0.65)


def change_styles(key: str, label: str, base_label: str) -> tuple[LayerStyle, LayerStyle]:
    newly = LayerStyle(key=f"ny-{key}",
                       name=f"Nyutpekad jordbruksmark i {label} (ej i {base_label})",
                       description="röd yta med tjock heldragen kantlinje", color="#b00020",
                       weight=2.5, fill_color="#e53950", fill_opacity=0.45)
    released = LayerStyle(key=f"frislappt-{key}",
                          name=f"Frisläppt jordbruksmark: i {base_label} men inte i {label}",
                          description="blå yta med prickad kantlinje", color="#0050a0",
                          weight=2.5, dash="3 4", fill_color="#4f8fd6", fill_opacity=0.4)
    return newly, released


CONTEXT_STYLE = LayerStyle(key="omgivning", name="All jordbruksmark nära utvecklingsområdena",
                           description="ljusgrön yta, tunn kantlinje", color="#5f6f2d", weight=0.8,
                           fill_color="#d4e2a8", fill_opacity=0.45)
BOUNDARY_STYLE = LayerStyle(key="kommungrans", name="Kommungräns",
                            description="grå streck-prickad linje", color="#404040", weight=2.5,
                            dash="14 6 3 6")


def kept_style(key: str, label: str, base_label: str) -> LayerStyle:
    """Farmland in both the plan and the baseline (QGIS only: the web map does not show it)."""
    return LayerStyle(key=f"kvar-{key}",
                      name=f"Jordbruksmark i både {label} och {base_label}",
                      description="grå yta med tunn kantlinje", color="#455a64", weight=1.0,
                      fill_color="#b0bec5", fill_opacity=0.45)


def footprint_style(key: str, label: str, index: int) -> LayerStyle:
    """A plan's footprint (QGIS only): the plan's line, no fill, hidden at first."""
    line = plan_style(key, label, index)
    return LayerStyle(key=f"fotavtryck-{key}", name=f"Samlade utvecklingsområden {label}",
                      description=line.description, color=line.color, weight=line.weight,
                      dash=line.dash, show=False)
