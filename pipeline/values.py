"""Text values compared as people read them: Unicode NFC, and variants by case or spaces.

"Åker" written as A + combining ring (NFD, as some Windows and macOS tools store it) is
the same text as "Åker" (NFC) to a person, so every class, type and id value from the
data or the config is compared in NFC, silently. A value that differs from a configured
one only by case or surrounding white space ("åker ", "ÅKER") is taken as that value
too, but reported (`Variant`, `variant_warning`): a layer written that way would
otherwise lose its land without a word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from pipeline import fmt


def nfc(value: str) -> str:
    """`value` in Unicode normal form C (composed: "A" + U+030A becomes "Å")."""
    return unicodedata.normalize("NFC", value)


def fold(value: str) -> str:
    """The key two values share when they differ only by case or surrounding white space."""
    return nfc(nfc(value).strip().casefold())


def folded_targets(targets: Iterable[str]) -> dict[str, list[str]]:
    """The targets (NFC) by their `fold` key; a key with two targets is ambiguous."""
    out: dict[str, list[str]] = {}
    for t in dict.fromkeys(nfc(t) for t in targets):
        out.setdefault(fold(t), []).append(t)
    return out


def _resolve_uniques(uniques: Iterable[object], targets: tuple[str, ...]
                     ) -> tuple[list[str], list[bool]]:
    """Per unique value: its NFC text, or the target it is a variant of; and whether it is.

    An exact (NFC) match wins; otherwise a value whose `fold` equals exactly one target's
    is taken as that target. Anything else stays as its NFC text.
    """
    exact = set(targets)
    by_fold = {k: v[0] for k, v in folded_targets(targets).items() if len(v) == 1}
    texts, variant = [], []
    for u in uniques:
        text = nfc(str(u))
        if text not in exact and fold(text) in by_fold:
            texts.append(by_fold[fold(text)])
            variant.append(True)
        else:
            texts.append(text)
            variant.append(False)
    return texts, variant


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def canonical(values: pd.Series, targets: Iterable[str] = ()) -> pd.Series:
    """`values` as text in NFC; a value that differs from one of `targets` only by case or
    surrounding white space becomes that target. Missing values stay missing (pd.NA)."""
    targets = tuple(nfc(t) for t in targets)
    codes, uniques = _factorize(values)
    texts, _ = _resolve_uniques(uniques, targets)
    out = np.array(texts + [pd.NA], dtype=object)[codes]  # code -1 takes the NA at the end
    return pd.Series(out, index=values.index, dtype="string")


def ranks(values: pd.Series, targets: tuple[str, ...]) -> np.ndarray:
    """Per value, the position of the target it is (after `canonical`) in `targets`, or -1."""
    targets = tuple(nfc(t) for t in targets)
    codes, uniques = _factorize(values)
    texts, _ = _resolve_uniques(uniques, targets)
    position = {t: k for k, t in enumerate(targets)}
    lookup = np.array([position.get(t, -1) for t in texts] + [-1], dtype=np.int64)
    return lookup[codes]


@dataclass(frozen=True)
class Variant:
    """Values taken as `target` though they differ from it by case or white space."""

    value: str  # as in the data, in NFC
    target: str  # the configured value it counts as
    features: int
    area_ha: float  # the features' own area (not clipped, overlaps not resolved)


def distinct(values: pd.Series, targets: Iterable[str] = ()) -> set[str]:
    """The distinct values after `canonical`, missing ones left out (reads each value once)."""
    _, uniques = _factorize(values)
    return set(_resolve_uniques(uniques, tuple(nfc(t) for t in targets))[0])


def variants(values: pd.Series, targets: Iterable[str], geoms: np.ndarray) -> list[Variant]:
    """The variants of `targets` among `values` (see `canonical`), with their number of
    features and area in ha (of `geoms`, the features' geometries in a metric CRS), in
    order of value."""
    targets = tuple(nfc(t) for t in targets)
    codes, uniques = _factorize(values)
    texts, variant = _resolve_uniques(uniques, targets)
    found: dict[str, list] = {}
    geoms = np.asarray(geoms, dtype=object)
    for k in np.flatnonzero(variant):
        rows = codes == k
        entry = found.setdefault(nfc(str(uniques[k])), [texts[k], 0, 0.0])
        entry[1] += int(rows.sum())
        entry[2] += float(shapely.area(geoms[rows]).sum())
    return [Variant(value=v, target=t, features=n, area_ha=m2 / 10_000.0)
            for v, (t, n, m2) in sorted(found.items())]


def quoted(value: str) -> str:
    """A value in quotes with its spaces visible: 'åker ', 'Bete\\t'."""
    return repr(value)


def empty_text(values: pd.Series) -> np.ndarray:
    """True where a value is missing or only white space."""
    text = values.astype("string")
    return (text.isna() | (text.str.strip() == "")).fillna(True).to_numpy(dtype=bool)


def variant_warning(where: str, what: str, found: list[Variant], *, one: str, many: str,
                    fix: str) -> str:
    """One Swedish warning listing each variant, e.g.
    "…: 'åker ' → 'Åker' (2 objekt, 20,00 ha); 'ÅKER' → 'Åker' (1 objekt, 4,00 ha). …"."""
    items = "; ".join(
        f"{quoted(v.value)} → {quoted(v.target)} ({fmt.number(v.features, 0)} "
        f"{one if v.features == 1 else many}, {fmt.hectares(v.area_ha, 2)})" for v in found)
    return f"{where}: {what}: {items}. {fix}"


def usable_ids(ids: pd.Series) -> set[str]:
    """The ids that can match another plan's: neither missing nor only white space."""
    return set(ids[~empty_text(ids)].astype(str))
