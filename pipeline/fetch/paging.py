"""Paging through a WFS 2.0 result: the total, then `count` + `startIndex` pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pipeline import fmt
from pipeline.fetch.cache import PageCache
from pipeline.fetch.http import HttpPolicy, http_get
from pipeline.fetch.wfs import (
    FetchError,
    Query,
    check_page_year,
    feature_key,
    parse_hits,
    parse_page,
    request_url,
)


def get_hits(query: Query, policy: HttpPolicy) -> int | None:
    """The server's total for `query` (None if the server does not know it)."""
    return http_get(request_url(query.url, query.hits_params()), policy, parse_hits,
                    "antalsfrågan (resultType=hits)")


def fetch_page(query: Query, start: int, policy: HttpPolicy, what: str,
               ) -> list[dict[str, Any]]:
    """Fetch one page (GeoJSON features) starting at `start`; `what` names it in messages."""
    return http_get(request_url(query.url, query.page_params(start)), policy, parse_page, what)


def fetch_features(query: Query, policy: HttpPolicy, cache: PageCache | None = None,
                   progress: Callable[[str], None] | None = None,
                   ) -> tuple[list[dict[str, Any]], int | None]:
    """All features of `query` as GeoJSON dicts, plus the server's total.

    Pages advance by the number of features actually returned, so a server that
    caps pages below `page_size` is still read completely. Raises FetchError when
    paging stops short of the total, the server repeats features (it ignores
    `startIndex` or the sort is not stable) or returns more than it announced.
    """
    progress = progress or policy.log
    hits = get_hits(query, policy)
    if cache is not None:
        cache.open(hits)
    total_pages = "?" if hits is None else str(max(math.ceil(hits / query.page_size), 1))
    progress(f"{query.layer}: {'okänt antal' if hits is None else fmt.number(hits, 0)} objekt "
             f"på {total_pages} {'sida' if total_pages == '1' else 'sidor'} om "
             f"{fmt.number(query.page_size, 0)}")
    features: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    start, page_no = 0, 0
    while hits is None or start < hits:
        page_no += 1
        page = cache.get(start) if cache is not None else None
        source = "från cachen"
        if page is None:
            page = fetch_page(query, start, policy,
                              f"sidan {page_no}/{total_pages} (startIndex {start})")
            check_page_year(query, page, start)
            source = "hämtad"
            if cache is not None and page:
                cache.put(start, page)
        else:
            check_page_year(query, page, start)
        n = len(page)
        keys = {feature_key(f, query.key_columns) for f in page}
        progress(f"  sida {page_no}/{total_pages}: objekt {fmt.number(start + 1, 0)}–"
                 f"{fmt.number(start + n, 0)}"
                 f"{'' if hits is None else f' av {fmt.number(hits, 0)}'} ({source})")
        if n == 0:
            if hits is None:
                break
            raise FetchError(
                f"{query.url}: sidorna tog slut för tidigt: servern angav {fmt.number(hits, 0)} "
                f"objekt i skiktet {query.layer} men gav inga från startIndex {start} och framåt "
                f"({fmt.number(len(features), 0)} mottagna). Inget skrevs. Åtgärd: kör "
                "kommandot igen senare (de mottagna sidorna ligger i cachen); kvarstår felet "
                "begränsar servern sidindelningen: pröva en mindre --page-size eller en mindre "
                "--bbox.")
        if hits is None and keys <= seen:
            raise FetchError(
                f"{query.url}: sidan vid startIndex {start} upprepar objekt som redan har tagits "
                "emot: servern bortser från startIndex, så sidindelning fungerar inte. Inget "
                "skrevs. Åtgärd: använd en WFS 2.0-server med sidindelning eller en --page-size "
                "som är större än hela resultatet.")
        seen |= keys
        features.extend(page)
        start += n
        if hits is None and n < query.page_size:
            break
    if hits is not None and len(seen) != hits:
        problem = ("färre olika objekt än den angav: sidorna överlappar, så sorteringen är "
                   "inte stabil eller så ändrades data under hämtningen"
                   if len(seen) < hits else
                   "fler objekt än den angav: data ändrades under hämtningen")
        raise FetchError(
            f"{query.url}: skiktet {query.layer}: servern angav {fmt.number(hits, 0)} objekt "
            f"men gav {fmt.number(len(features), 0)} med {fmt.number(len(seen), 0)} olika "
            f"{'+'.join(query.key_columns)}; {problem}. Inget skrevs. Åtgärd: ta bort "
            f"cachemappen {cache.folder if cache else '(ingen)'} och kör kommandot igen.")
    return features, hits
