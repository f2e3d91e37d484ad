"""What a chunk, a manifest page and a search filter look like in Chroma: metadata both ways and
the `where` clause. Plain mappings, no client: the index (index_chroma.py) does the calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from assistant.backends.base import ArticleRecord
from assistant.dates import date_number
from assistant.types import Chunk, Filters


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "article_id": chunk.article_id,
        "title": chunk.title,
        "source": chunk.source,
        "date": chunk.date or "",
        "date_num": date_number(chunk.date),
        "language": chunk.language,
        "url": chunk.url or "",
        "origin": chunk.origin,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
        "article_hash": chunk.article_hash,
    }


def chunk_from(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=str(meta.get("article_id", "")),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        index=int(meta.get("index", 0)),
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        date=str(meta["date"]) if meta.get("date") else None,
        language=str(meta.get("language", "und")),
        url=str(meta["url"]) if meta.get("url") else None,
        origin=str(meta.get("origin", "")),
        article_hash=str(meta.get("article_hash", "")),
    )


def where_clause(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.languages:
        clauses.append({"language": {"$in": list(filters.languages)}})
    if filters.date_from:
        clauses.append({"date_num": {"$gte": date_number(filters.date_from)}})
    if filters.date_to:
        clauses.append({"date_num": {"$lte": date_number(filters.date_to, end=True)}})
    if filters.date_to and not filters.date_from:
        # Undated articles match no date range (the lexical side agrees).
        clauses.append({"date_num": {"$gt": 0}})
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


def article_records(documents: list[str]) -> list[ArticleRecord]:
    """Manifest documents (one JSON record each) as records."""
    return [ArticleRecord.model_validate(json.loads(doc)) for doc in documents]
