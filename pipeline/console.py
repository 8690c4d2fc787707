"""Console output that never fails on an encoding (Windows code pages, `> logg.txt`).

A Windows console or scheduled task often writes in cp1252 or cp850, and a plain
`ascii` locale exists too; none of them has "−" (U+2212, the minus sign in
`fmt`), and ascii has no "å". `safe_console()` makes stdout and stderr degrade
instead of raising: typographic characters become their ASCII look-alikes
("−" → "-", "…" → "...", "²" → "2"), accented letters lose the accent where
the stream cannot write them ("å" → "a"), anything else becomes "?". Streams
that can encode all of Unicode (UTF-8) are left as they are; files opjord writes
are always UTF-8 and not affected.
"""

from __future__ import annotations

import codecs
import sys
import unicodedata

ERRORS = "opjord-ascii"  # the codecs error handler registered by `safe_console`

# Characters without an NFKD decomposition to ASCII, by their ASCII look-alike
# ("…", "²" and the no-break space decompose by themselves).
ASCII_LOOKALIKES = {
    "\u2212": "-",  # minus sign, as in fmt.MINUS
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",  # dashes
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
    "\u00d7": "x", "\u2192": "->", "\u2264": "<=", "\u2265": ">=", "\u2248": "~",
    "\u2229": "&", "\u222a": "|", "\u2022": "*", "\u00a9": "(c)",
    "\u00e6": "ae", "\u00c6": "AE", "\u00f8": "o", "\u00d8": "O", "\u00df": "ss",
}


def ascii_lookalike(char: str) -> str:
    """An ASCII stand-in for one character: a look-alike, the unaccented letter, or "?"."""
    if char in ASCII_LOOKALIKES:
        return ASCII_LOOKALIKES[char]
    decomposed = unicodedata.normalize("NFKD", char)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain if plain and plain.isascii() and plain.isprintable() else "?"


def _handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return "".join(ascii_lookalike(c) for c in text), exc.end


def encodes_all_unicode(encoding: str | None) -> bool:
    """True for the UTF encodings, which can write any character."""
    try:
        name = codecs.lookup(encoding or "ascii").name
    except LookupError:
        return False
    return name.startswith("utf")


def safe_console() -> None:
    """Make sys.stdout and sys.stderr replace what their encoding cannot write.

    Only text streams in a non-UTF encoding are changed (their encoding is kept,
    the error handler becomes `ERRORS`); a missing stream (pythonw, a service)
    or one without `reconfigure` is left alone.
    """
    codecs.register_error(ERRORS, _handler)
    for stream in (sys.stdout, sys.stderr):
        if stream is None or not hasattr(stream, "reconfigure"):
            continue
        if encodes_all_unicode(getattr(stream, "encoding", None)):
            continue
        stream.reconfigure(errors=ERRORS)
