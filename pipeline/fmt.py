"""Swedish number formatting for user-facing text: 1 234,5 ha, 18,4 %, −4,7 procentenheter.

Rounding is half away from zero on the decimal value as shown (Decimal), not
banker's rounding and not binary-float artefacts (2,675 → 2,68).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"  # between a number and its unit, and as thousands separator
MINUS = "\u2212"  # typographic minus sign


def round_half_away(value: float, decimals: int) -> Decimal:
    """Round to `decimals` places, halves away from zero, via the shortest repr of `value`."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals),
                                                 rounding=ROUND_HALF_UP)


def number(value: float | None, decimals: int = 1, *, sign: bool = False,
           thousands: str = NBSP) -> str:
    """Format a number the Swedish way: space thousands, comma decimal, minus sign.

    `sign=True` writes "+" for positive values (used for changes). None gives "–".
    """
    if value is None:
        return "–"
    d = round_half_away(value, decimals)
    if d == 0:
        d = abs(d)  # no "−0,0"
    negative = d < 0
    whole, _, frac = f"{abs(d):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = thousands.join(groups) + ("," + frac if decimals > 0 else "")
    if negative:
        return MINUS + text
    return ("+" + text) if sign and d > 0 else text


def plain(value: float, max_decimals: int = 10) -> str:
    """A number as written, with the decimals it has (at most `max_decimals`), the Swedish
    way: 1000 -> "1 000", -0.5 -> "−0,5", 2.0 -> "2". For values in messages (config
    numbers, raster resolutions), not for measured figures (those use `number`). nan and
    inf stay as TOML writes them."""
    if not math.isfinite(value):
        return str(float(value))
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    decimals = min(max(0, -exponent), max_decimals) if isinstance(exponent, int) else 0
    return number(value, decimals)


def hectares(value: float | None, decimals: int = 1) -> str:
    """E.g. 1 234,5 ha."""
    return f"{number(value, decimals)}{NBSP}ha"


def percent(share: float | None, decimals: int = 1) -> str:
    """A share 0–1 as percent with a space before %: 0.184 -> 18,4 %."""
    if share is None:
        return "–"
    # Scale in decimal, not binary: 0.2435 is 24.35 % (→ 24,4 %), not 24.349999… (→ 24,3 %).
    scaled = float(Decimal(repr(float(share))).scaleb(2))
    return f"{number(scaled, decimals)}{NBSP}%"


def percentage_points(pp: float | None, decimals: int = 1, *, sign: bool = True) -> str:
    """A change in percentage points, e.g. −4,7 procentenheter."""
    return "–" if pp is None else f"{number(pp, decimals, sign=sign)} procentenheter"
