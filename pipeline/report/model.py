"""A small document model that the report is built in and rendered from (Markdown, HTML).

Blocks hold text that is already final: the renderers only escape it for their format.
Inline parts are plain text, `Code` (verbatim names, hashes, versions) or `Link`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class Code:
    """Verbatim text: file names, hashes, versions, messages from the analysis."""

    text: str


@dataclass
class Link:
    text: str
    href: str  # relative, already URL-quoted


Inline = str | Code | Link
Cell = str | list[Inline]


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    parts: list[Inline]
    role: str = ""  # "citable", "lead" or "" (a CSS class in HTML)


@dataclass
class Bullets:
    items: list[list[Inline]]


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    row_header: bool = True  # first column names the row


@dataclass
class Figure:
    name: str  # file name in figures/
    png: bytes
    alt: str
    caption: str
    size: tuple[int, int]  # pixels


Block = Heading | Para | Bullets | Table | Figure

# (kind, number, caption) -> the numbered caption; kind is "table" or "figure"
Numbering = Callable[[str, int, str], str]


class _Doc:
    """The blocks of one document; tables and figures are numbered as they are added."""

    def __init__(self, numbered: Numbering) -> None:
        self.blocks: list[Block] = []
        self.n_tables = 0
        self.n_figures = 0
        self._numbered = numbered

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def table(self, caption: str, header: list[str], rows: list[list[Cell]], *,
              numeric: Iterable[int] = (), row_header: bool = True) -> int:
        self.n_tables += 1
        self.blocks.append(Table(self._numbered("table", self.n_tables, caption), header, rows,
                                 set(numeric), row_header))
        return self.n_tables

    def figure(self, name: str, png: bytes, size: tuple[int, int], alt: str,
               caption: str) -> int:
        self.n_figures += 1
        self.blocks.append(Figure(name, png, alt,
                                  self._numbered("figure", self.n_figures, caption), size))
        return self.n_figures

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]
