"""Who publishes the outputs and whose data they use: the publisher, the goal, the contact
for the accessibility statement, and the credits that the map, the report and the workbook
show. Everything municipality-specific comes from the config (`[project]`,
`[publication]`); nothing here names a municipality.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Config

# The credit of each basemap the web map knows by name ("custom" takes the config's own
# attribution, "none" needs none).
BASEMAP_CREDITS = {
    "osm": ("OpenStreetMap-bidragsgivare", "Bakgrundskarta, licens ODbL",
            "https://www.openstreetmap.org/copyright"),
    "topowebb": ("Lantmäteriet", "Bakgrundskarta Topografisk webbkarta, licens CC BY 4.0",
                 "https://www.lantmateriet.se"),
    "topowebb_nedtonad": ("Lantmäteriet", "Bakgrundskarta Topografisk webbkarta nedtonad, "
                          "licens CC BY 4.0", "https://www.lantmateriet.se"),
}
FIELD_BLOCKS = ("Jordbruksverket", "Jordbruksblock (jordbruksmark), licens CC BY 4.0",
                "https://jordbruksverket.se")
NMD = ("Naturvårdsverket", "Nationella marktäckedata (NMD), licens CC0",
       "https://www.naturvardsverket.se")


@dataclass(frozen=True)
class Credit:
    """One credit: `source` is who is credited, `text` what of theirs is used (and on which
    terms), `url` where to read more (or None)."""

    source: str
    text: str
    url: str | None = None

    def line(self) -> str:
        """E.g. "Jordbruksverket: Jordbruksblock (jordbruksmark), licens CC BY 4.0"."""
        return f"{self.source}: {self.text}"


@dataclass(frozen=True)
class Publication:
    """What the outputs say about who publishes them (`publication(config)`): `goal` None is
    the report's general wording, `goal_source` and `goal_id` None leave them out, `contact`
    is `contact_lines`."""

    publisher: str
    goal: str | None
    goal_id: str | None
    goal_source: str | None
    contact: tuple[tuple[str, str, str | None], ...]
    credits: tuple[Credit, ...]


def publication(config: Config) -> Publication:
    """The publisher, the goal, the contact and the credits of this config."""
    pub = config.publication
    return Publication(publisher=publisher(config), goal=pub.goal, goal_id=pub.goal_id,
                       goal_source=pub.goal_source, contact=tuple(contact_lines(config)),
                       credits=tuple(credits(config)))


def publisher(config: Config) -> str:
    """Who publishes: `[publication] publisher`, else "<kommun>s kommun", else "kommunen"."""
    if config.publication.publisher:
        return config.publication.publisher
    if config.kommun:
        from pipeline.results import genitive

        return f"{genitive(config.kommun)} kommun"
    return "kommunen"


def credits(config: Config) -> list[Credit]:
    """Every credit the outputs show, in this order: the agricultural layer (field blocks),
    the land-cover raster when one is configured, the basemap of `[webmap] basemap`, the
    publisher for its plans, then `[publication] credits` as configured."""
    out = [Credit(*FIELD_BLOCKS)]
    if config.landcover is not None:
        out.append(Credit(*NMD))
    basemap = config.webmap.basemap
    if basemap in BASEMAP_CREDITS:
        out.append(Credit(*BASEMAP_CREDITS[basemap]))
    elif basemap == "custom" and config.webmap.attribution:
        out.append(Credit(config.webmap.attribution, "Bakgrundskarta", None))
    plans = ", ".join(p.label for p in config.plans)
    out.append(Credit(publisher(config), f"Översiktsplanernas utvecklingsområden ({plans})"))
    out.extend(Credit(c.source, c.text, c.url) for c in config.publication.credits)
    return out


def contact_lines(config: Config) -> list[tuple[str, str, str | None]]:
    """The configured contact ways as (label, text, href): e-post, telefon, webb; empty
    when none is configured."""
    pub = config.publication
    out: list[tuple[str, str, str | None]] = []
    if pub.contact_email:
        out.append(("E-post", pub.contact_email, f"mailto:{pub.contact_email}"))
    if pub.contact_phone:
        digits = "".join(ch for ch in pub.contact_phone if ch.isdigit() or ch == "+")
        out.append(("Telefon", pub.contact_phone, f"tel:{digits}"))
    if pub.contact_url:
        out.append(("Webb", pub.contact_url, pub.contact_url))
    return out
