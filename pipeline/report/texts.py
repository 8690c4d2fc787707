"""The report's wording: every fixed text is in `texts.toml`, filled in with Jinja2.

A municipality changes a heading, a caption or a method paragraph in `texts.toml`
without touching Python. Each text is a Jinja2 template (`{{ plan }}`, `{% if … %}`)
whose variables are the figures, already formatted in Swedish by `pipeline.fmt`, and
the labels from the data. A text renders to a tiny inline markup that the document
model knows:

- `` `text` `` is verbatim text (`Code`: file names, hashes, versions);
- `[text](href)` is a link;
- a run of spaces and line breaks is one space, so texts may be wrapped freely.

A value from the data never turns into markup: it is escaped on the way in (a
backslash before `` ` [ ] ( ) \\ `` and white space), so a label such as
"ÖP `2025` [x]" stays as it is, spaces and all. The filters for the texts:
`code` (verbatim), `join(sep)` and `listing(conjunction)` ("A, B och C").
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import jinja2
import jinja2.meta

from pipeline.errors import InputError
from pipeline.report.model import Code, Inline, Link

TEXTS = "texts.toml"
_SPECIAL = frozenset("\\`[]() \t\r\n")
_SPACE = frozenset(" \t\r\n")


class Markup(str):
    """Text in the inline markup, inserted into another text as it is."""


def escape(value: object) -> Markup:
    """A value as markup that reads as the value itself (markup is kept as it is)."""
    if isinstance(value, Markup):
        return value
    return Markup("".join("\\" + c if c in _SPECIAL else c for c in str(value)))


def code(value: object) -> Markup:
    """The `code` filter: the value as verbatim text."""
    return Markup("`" + escape(value) + "`")


def join(values: Iterable[object], separator: str = "") -> Markup:
    """The `join` filter: the values, escaped, with the text's own separator between them."""
    return Markup(separator.join(escape(v) for v in values))


def listing(values: Iterable[object], conjunction: str) -> Markup:
    """The `listing` filter: "A, B och C" (the conjunction is the text's own word)."""
    items = [escape(v) for v in values]
    if len(items) < 2:
        return Markup("".join(items))
    return Markup(", ".join(items[:-1]) + f" {conjunction} " + items[-1])


def _tokens(markup: str) -> list[tuple[str, bool]]:
    """Characters with "escaped" flags; white space runs become one space, trimmed."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(markup):
        c = markup[i]
        if c == "\\" and i + 1 < len(markup) and markup[i + 1] in _SPECIAL:
            out.append((markup[i + 1], True))
            i += 2
        elif c in _SPACE:
            while i < len(markup) and markup[i] in _SPACE:
                i += 1
            out.append((" ", False))
        else:
            out.append((c, False))
            i += 1
    while out and out[0] == (" ", False):
        out.pop(0)
    while out and out[-1] == (" ", False):
        out.pop()
    return out


def _find(tokens: list[tuple[str, bool]], start: int, char: str) -> int | None:
    return next((i for i in range(start, len(tokens)) if tokens[i] == (char, False)), None)


def _text(tokens: list[tuple[str, bool]]) -> str:
    return "".join(c for c, _ in tokens)


def parse(markup: str) -> list[Inline]:
    """Inline parts from markup; a `` ` `` or `[` that opens nothing is plain text."""
    tokens = _tokens(markup)
    parts: list[Inline] = []
    text: list[str] = []

    def emit(part: Inline) -> None:
        if text:
            parts.append("".join(text))
            text.clear()
        parts.append(part)

    i = 0
    while i < len(tokens):
        if tokens[i] == ("`", False) and (end := _find(tokens, i + 1, "`")) is not None:
            emit(Code(_text(tokens[i + 1:end])))
            i = end + 1
            continue
        if tokens[i] == ("[", False) and (mid := _find(tokens, i + 1, "]")) is not None \
                and tokens[mid + 1:mid + 2] == [("(", False)] \
                and (end := _find(tokens, mid + 2, ")")) is not None:
            emit(Link(_text(tokens[i + 1:mid]), _text(tokens[mid + 2:end])))
            i = end + 1
            continue
        text.append(tokens[i][0])
        i += 1
    if text:
        parts.append("".join(text))
    return parts


def plain_text(parts: Iterable[Inline]) -> str:
    """The text of inline parts without their markup (headings, captions, alt texts)."""
    return "".join(p if isinstance(p, str) else p.text for p in parts)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, finalize=escape,
                             autoescape=False)
    env.filters.update(code=code, join=join, listing=listing)
    return env


class Texts:
    """The report's texts from one TOML file; `key` is a dotted path such as "method.heading"."""

    def __init__(self, table: Mapping[str, object], source: str) -> None:
        self.source = source  # the file, for messages
        self._table = table
        self._env = _environment()
        self._compiled: dict[str, tuple[jinja2.Template, set[str]]] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> Texts:
        """The texts of `path`, by default opjord's own `texts.toml` (this package), each
        one compiled (see `check`)."""
        if path is None:
            resource = importlib.resources.files(__package__).joinpath(TEXTS)
            source, text = str(resource), resource.read_text(encoding="utf-8")
        else:
            source = str(path)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: rapportens texter kan inte läsas ({exc}). Ange en "
                                 "befintlig textfil i UTF-8.") from exc
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source}: rapportens texter kan inte läsas, TOML-syntaxen är "
                             f"fel ({exc}). Rätta raden, till exempel ett citattecken som "
                             "saknas; en text över flera rader skrivs inom ''' och '''.") from exc
        texts = cls(table, source)
        texts.check()
        return texts

    def check(self) -> None:
        """Compile every text, so that a syntax error shows even in a branch not taken."""
        def walk(node: object, key: str) -> None:
            if isinstance(node, dict):
                for name, value in node.items():
                    walk(value, f"{key}.{name}" if key else name)
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    self._compile(f"{key}.{i + 1}", item)
            else:
                self._compile(key, node)

        walk(self._table, "")

    def _get(self, key: str) -> object:
        node: object = self._table
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise InputError(f"{self.source}: texten `{key}` saknas. Lägg till den igen; "
                                 f"opjords original av {TEXTS} visar hur den ska se ut.")
            node = node[part]
        return node

    def _compile(self, key: str, source: object) -> tuple[jinja2.Template, set[str]]:
        """The text as a template, and the names it uses."""
        if not isinstance(source, str):
            raise InputError(f"{self.source}: texten `{key}` ska vara en textsträng inom "
                             f"citattecken, men är {_kind(source)}. Skriv den som i opjords "
                             f"original av {TEXTS}.")
        if key not in self._compiled:
            try:
                ast = self._env.parse(source)
                template = self._env.from_string(ast)
            except jinja2.TemplateSyntaxError as exc:
                raise InputError(f"{self.source}: texten `{key}` har fel i mallsyntaxen på rad "
                                 f"{exc.lineno} i texten ({exc.message}). Kontrollera att "
                                 "varje {{ … }} och {% … %} är stängt och att namnen är "
                                 "stavade som i originalet.") from exc
            self._compiled[key] = template, jinja2.meta.find_undeclared_variables(ast)
        return self._compiled[key]

    def _template(self, key: str, source: object, values: Mapping[str, object]
                  ) -> jinja2.Template:
        template, names = self._compile(key, source)
        unknown = names - set(values)
        if unknown:
            raise InputError(f"{self.source}: texten `{key}` använder "
                             f"{', '.join(sorted(unknown))}, som inte finns för den här "
                             "texten. Namn som texten kan använda: "
                             f"{', '.join(sorted(values)) or 'inga'}.")
        return template

    def _render(self, key: str, source: object, values: Mapping[str, object]) -> Markup:
        template = self._template(key, source, values)
        try:
            return Markup(template.render(**values))
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            raise InputError(f"{self.source}: texten `{key}` kan inte fyllas i ({exc}). "
                             "Jämför den med opjords original av "
                             f"{TEXTS}.") from exc

    def markup(self, key: str, **values: object) -> Markup:
        """The text as markup, to be inserted as a value into another text."""
        return self._render(key, self._get(key), values)

    def inline(self, key: str, **values: object) -> list[Inline]:
        """The text as inline parts (a paragraph, a list item, a table cell)."""
        return parse(self.markup(key, **values))

    def plain(self, key: str, **values: object) -> str:
        """The text without markup (a heading, a caption, a column name, an alt text)."""
        return plain_text(self.inline(key, **values))

    def _items(self, key: str, values: Mapping[str, object]) -> list[list[Inline]]:
        items = self._get(key)
        if not isinstance(items, list):
            raise InputError(f"{self.source}: texten `{key}` ska vara en lista av texter "
                             f"inom [ och ], men är {_kind(items)}. Skriv den som i opjords "
                             f"original av {TEXTS}.")
        return [parse(self._render(f"{key}.{i + 1}", item, values))
                for i, item in enumerate(items)]

    def inline_list(self, key: str, **values: object) -> list[list[Inline]]:
        """A list of texts as inline parts, without the ones that come out empty."""
        return [parts for parts in self._items(key, values) if parts]

    def plain_list(self, key: str, **values: object) -> list[str]:
        """A list of texts without markup (column names), every one kept."""
        return [plain_text(parts) for parts in self._items(key, values)]

    def mapping(self, key: str, names: Iterable[str]) -> dict[str, str]:
        """The plain texts of table `key` for each of `names` (e.g. a status by its code)."""
        return {name: self.plain(f"{key}.{name}") for name in names}


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "en tabell"
    if isinstance(value, list):
        return "en lista"
    if isinstance(value, str):
        return "en text"
    return f"värdet {value!r}"
