"""Article identity: ids unique per source and stable across runs, and the file behind an origin."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping

from assistant.loaders.base import ROW_SUFFIXES

logger = logging.getLogger(__name__)


def origin_file(origin: str) -> str:
    """The file part of `Article.origin` (`path` or `path#row` for jsonl/csv rows)."""
    path, sep, row = origin.rpartition("#")
    if sep and row.isdigit() and path.lower().endswith(ROW_SUFFIXES):
        return path
    return origin


def _origin_tag(origin: str) -> str:
    return hashlib.sha256(origin_file(origin).encode()).hexdigest()[:8]


class ArticleIds:
    """Makes article ids unique per source and stable across runs.

    An article's natural id is the path of its file relative to what was ingested, without the
    suffix (`000_10b77cea8b010999`, `2024/ezb`), or the id a jsonl/csv row carries, or
    `<stem>:<row>[:<hash>]` for rows without one. `held` maps the ids already in the index to the
    origins of their articles.

    - A file already in the index keeps its id, however it is named now (the folder or the file
      itself given on the command line, a sibling with the same stem added later).
    - Otherwise the natural id is used whenever it is free, so the ids of the sample corpus and of
      the GNAD rows the evals cite never change; an id whose file is gone (the corpus was moved) is
      taken over, so moving a corpus updates it instead of duplicating it.
    - An id held by another file that still exists, in this run or in the index, becomes
      `<id>~<8 hex of sha256(the file's path)>`, again the same on every run.

    Why not always include the full path: ids are shown and cited, and would change whenever a
    corpus moves. Why not a content hash: an edited article must replace its old version, not sit
    next to it (web uploads have no lasting path and are named by content: see interfaces/web/uploads.py).
    """

    def __init__(
        self, held: Mapping[str, str] | None = None, *, exists: Callable[[str], bool] = os.path.exists
    ) -> None:
        self._held = {article_id: origin_file(origin) for article_id, origin in (held or {}).items()}
        # Whole-file articles by origin; rows are not, as a row's id follows its text (row_id_hash).
        self._by_origin = {
            origin: article_id for article_id, origin in (held or {}).items() if origin_file(origin) == origin
        }
        self._exists = exists
        self._claimed: dict[str, str] = {}  # id -> origin file, this run

    def assign(self, natural: str, origin: str) -> str:
        """The id for an article whose natural id is `natural`, loaded from `origin`."""
        file = origin_file(origin)
        previous = self._by_origin.get(origin) if file == origin else None
        if previous is not None and self._claimed.get(previous, file) == file:
            chosen = previous
        else:
            alternative = f"{natural}~{_origin_tag(file)}"
            claimed = self._claimed.get(natural)
            held = self._held.get(natural)
            kept_before = file in (self._held.get(alternative), self._claimed.get(alternative))
            taken = (claimed is not None and claimed != file) or (
                claimed is None and held is not None and held != file and self._exists(held)
            )
            chosen = alternative if kept_before or taken else natural
        if chosen != natural:
            logger.debug("article from %s has the id %r (its natural id %r is taken)", file, chosen, natural)
        self._claimed.setdefault(chosen, file)
        return chosen
