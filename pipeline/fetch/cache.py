"""Fetched pages on disk, so an interrupted fetch resumes where it stopped."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import fmt
from pipeline.fetch.store import utc_now
from pipeline.fetch.wfs import Query
from pipeline.files import write_text_atomic


class PageCache:
    """Pages on disk under `folder`, keyed by the query; written atomically.

    `meta.json` records the query and the server's total; if the total changes
    between runs the server's data changed and the cached pages are discarded.
    """

    def __init__(self, folder: Path, query: Query, log: Callable[[str], None]):
        self.folder, self.query, self.log = folder, query, log

    def _page_path(self, start: int) -> Path:
        return self.folder / f"page-{start:09d}.json"

    def open(self, hits: int | None) -> None:
        """Create the folder, or reuse it when its recorded total matches `hits`."""
        meta_path = self.folder / "meta.json"
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                meta = {}
            if meta.get("hits") != hits or meta.get("query") != self.query.describe():
                self.log(f"  cache: servern anger nu {_count(hits)} objekt, men sidorna i "
                         f"cachen hämtades när den angav {_count(meta.get('hits'))}; börjar "
                         "om från början")
                self.clear()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not meta_path.exists():
            write_text_atomic(meta_path, json.dumps(
                {"query": self.query.describe(), "hits": hits, "created": utc_now()},
                indent=1))

    def get(self, start: int) -> list[dict[str, Any]] | None:
        """The cached features of the page at `start`; None if absent or damaged."""
        path = self._page_path(start)
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_bytes())
            return doc["features"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            return None

    def put(self, start: int, features: list[dict[str, Any]]) -> None:
        """Store the page at `start`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self._page_path(start), json.dumps(
            {"start": start, "features": features}, ensure_ascii=False))

    def cached_pages(self) -> int:
        return len(list(self.folder.glob("page-*.json"))) if self.folder.exists() else 0

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _count(hits: Any) -> str:
    return fmt.number(hits, 0) if isinstance(hits, int) else "ett okänt antal"
