"""Finding articles by what a person remembers of them: words of the title, the source, the id or
the file (`assistant articles search` and the web UI's article table)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.backends.base import ArticleRecord


def find_articles(records: Sequence[ArticleRecord], text: str | None) -> list[ArticleRecord]:
    """The records whose title, source, id or origin contains every word of `text`, ignoring case."""
    needles = (text or "").casefold().split()
    if not needles:
        return list(records)
    found = []
    for record in records:
        haystack = " ".join((record.title, record.source, record.article_id, record.origin)).casefold()
        if all(needle in haystack for needle in needles):
            found.append(record)
    return found
