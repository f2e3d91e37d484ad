"""Chroma as the VectorIndex: PersistentClient on disk by default, HttpClient for a Chroma server.

Two collections per index: `<name>` holds chunks with vectors; `<name>--articles` is the manifest of
fully ingested articles (written after their chunks), which makes an interrupted ingest resumable.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.backends.base import ArticleRecord, Vectors
from assistant.errors import BackendUnavailableError, EmptyIndexError, IndexMismatchError
from assistant.types import Chunk, Filters

log = logging.getLogger(__name__)

_MANIFEST_SUFFIX = "--articles"
# Chroma caps how many items one call may carry (SQLite variable limits); stay well below it.
_MAX_BATCH = 2000
# Values per `$in` filter: keeps each metadata query's SQL small.
_MAX_IN = 500


def date_number(date: str | None, *, end: bool = False) -> int:
    """'2024-06' -> 20240600 (or 20240699 as an inclusive upper bound); None/garbage -> 0."""
    if not date:
        return 0
    match = re.match(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", date.strip())
    if not match:
        return 0
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (99 if end else 0)
    day = int(match.group(3)) if match.group(3) else (99 if end else 0)
    return year * 10000 + month * 100 + day


def _chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
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
    }


def _chunk_from(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
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


class ChromaIndex:
    """A VectorIndex over one Chroma collection named after what makes its vectors comparable."""

    def __init__(self, client: Any, name: str, *, embedder_id: str, dim: int, location: str) -> None:
        self._client = client
        self._name = name
        self._embedder_id = embedder_id
        self._dim = dim
        self._location = location
        self._chunks: Any = None
        self._manifest: Any = None

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def persistent(cls, path: str, name: str, *, embedder_id: str, dim: int) -> ChromaIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.PersistentClient(
            path=path, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        return cls(client, name, embedder_id=embedder_id, dim=dim, location=path)

    @classmethod
    def http(
        cls, host: str, port: int, name: str, *, embedder_id: str, dim: int, ssl: bool = False
    ) -> ChromaIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        scheme = "https" if ssl else "http"
        try:
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, settings=ChromaSettings(anonymized_telemetry=False)
            )
            client.heartbeat()
        except Exception as exc:
            raise BackendUnavailableError(
                f"Cannot reach the Chroma server at {scheme}://{host}:{port}: start it with "
                f"`chroma run --path DIR --host {host} --port {port}`"
            ) from exc
        return cls(client, name, embedder_id=embedder_id, dim=dim, location=f"{scheme}://{host}:{port}")

    @classmethod
    def ephemeral(cls, name: str, *, embedder_id: str, dim: int) -> ChromaIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        return cls(client, name, embedder_id=embedder_id, dim=dim, location="memory")

    # --- collections ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._location

    def _existing_names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self._client.list_collections()]

    def _open(self, create: bool) -> tuple[Any, Any] | None:
        if self._chunks is not None:
            return self._chunks, self._manifest
        names = self._existing_names()
        if self._name not in names and not create:
            return None
        meta = {"embedder": self._embedder_id, "dim": self._dim}
        chunks = self._client.get_or_create_collection(
            self._name, configuration={"hnsw": {"space": "cosine"}}, metadata=meta, embedding_function=None
        )
        stored = chunks.metadata or {}
        if stored.get("embedder") not in (None, self._embedder_id) or stored.get("dim") not in (
            None,
            self._dim,
        ):
            raise IndexMismatchError(
                f"Collection {self._name} holds vectors of {stored.get('embedder')} "
                f"({stored.get('dim')} dims), not {self._embedder_id}: delete it or choose another "
                "index path."
            )
        manifest = self._client.get_or_create_collection(
            self._name + _MANIFEST_SUFFIX, metadata={"kind": "manifest"}, embedding_function=None
        )
        self._chunks, self._manifest = chunks, manifest
        return chunks, manifest

    def _require(self) -> tuple[Any, Any]:
        opened = self._open(create=False)
        if opened is None:
            others = [n for n in self._existing_names() if not n.endswith(_MANIFEST_SUFFIX)]
            prefix = self._name.split("-", 1)[0]
            mine = [n for n in others if n.startswith(prefix + "-")]
            if mine:
                raise IndexMismatchError(
                    f"The index at {self._location} was built with other embedding/chunking settings "
                    f"({', '.join(sorted(mine))}); the current settings need {self._name}. Run `assistant "
                    f"ingest` to build it, or switch back to the settings the index was built with."
                )
            raise EmptyIndexError(
                f"The index at {self._location} is empty: run `assistant ingest` (no path ingests the "
                "sample corpus) first."
            )
        return opened

    def _writable(self) -> tuple[Any, Any]:
        opened = self._open(create=True)
        assert opened is not None
        return opened

    def exists(self) -> bool:
        return self._open(create=False) is not None

    # --- chunks ---------------------------------------------------------------------------------------

    def count(self) -> int:
        opened = self._open(create=False)
        return 0 if opened is None else int(opened[0].count())

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        opened = self._open(create=False)
        if opened is None or not ids:
            return set()
        found: set[str] = set()
        for i in range(0, len(ids), _MAX_BATCH):
            got = opened[0].get(ids=list(ids[i : i + _MAX_BATCH]), include=[])
            found.update(got["ids"])
        return found

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        if not chunks:
            return
        if vectors.shape != (len(chunks), self._dim):
            raise ValueError(f"expected {len(chunks)} vectors of {self._dim} dims, got {vectors.shape}")
        collection, _ = self._writable()
        for i in range(0, len(chunks), _MAX_BATCH):
            part = chunks[i : i + _MAX_BATCH]
            collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + _MAX_BATCH].tolist(),
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c) for c in part],
            )

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        collection, _ = self._writable()
        for i in range(0, len(chunks), _MAX_BATCH):
            part = chunks[i : i + _MAX_BATCH]
            collection.update(ids=[c.id for c in part], metadatas=[_chunk_metadata(c) for c in part])

    def delete(self, ids: Sequence[str]) -> None:
        opened = self._open(create=False)
        if opened is None or not ids:
            return
        for i in range(0, len(ids), _MAX_BATCH):
            opened[0].delete(ids=list(ids[i : i + _MAX_BATCH]))

    def chunk_ids_of(self, article_id: str) -> list[str]:
        opened = self._open(create=False)
        if opened is None:
            return []
        return list(opened[0].get(where={"article_id": article_id}, include=[])["ids"])

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        opened = self._open(create=False)
        if opened is None or not article_ids:
            return {}
        owned: dict[str, list[str]] = {}
        unique = list(dict.fromkeys(article_ids))
        for i in range(0, len(unique), _MAX_IN):
            part = unique[i : i + _MAX_IN]
            got = opened[0].get(where={"article_id": {"$in": part}}, include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                owned.setdefault(str(meta.get("article_id", "")), []).append(cid)
        return owned

    def query(self, vector: Vectors, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        collection, _ = self._require()
        total = collection.count()
        if total == 0:
            return []
        result = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            n_results=min(k, total),
            where=where_clause(filters),
            include=["documents", "metadatas", "distances"],
        )
        hits: list[tuple[Chunk, float]] = []
        for cid, doc, meta, dist in zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        ):
            hits.append((_chunk_from(cid, doc, meta), 1.0 - float(dist)))
        return hits

    def vectors_of(self, ids: Sequence[str]) -> dict[str, Vectors]:
        collection, _ = self._require()
        got = collection.get(ids=list(ids), include=["embeddings"])
        return {
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        collection, _ = self._require()
        got = collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: _chunk_from(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        opened = self._open(create=False)
        if opened is None:
            return
        collection = opened[0]
        offset = 0
        while True:
            got = collection.get(include=["documents", "metadatas"], limit=batch_size, offset=offset)
            if not got["ids"]:
                return
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield _chunk_from(cid, doc, meta)
            offset += len(got["ids"])

    # --- article manifest -----------------------------------------------------------------------------

    def articles(self) -> dict[str, ArticleRecord]:
        opened = self._open(create=False)
        if opened is None:
            return {}
        manifest = opened[1]
        records: dict[str, ArticleRecord] = {}
        offset = 0
        while True:
            got = manifest.get(include=["documents"], limit=_MAX_BATCH, offset=offset)
            if not got["ids"]:
                break
            for doc in got["documents"]:
                record = ArticleRecord.model_validate(json.loads(doc))
                records[record.article_id] = record
            offset += len(got["ids"])
        return records

    def put_articles(self, records: Sequence[ArticleRecord]) -> None:
        if not records:
            return
        _, manifest = self._writable()
        for i in range(0, len(records), _MAX_BATCH):
            part = records[i : i + _MAX_BATCH]
            manifest.upsert(
                ids=[r.article_id for r in part],
                # The manifest needs no similarity search; a constant 1-d vector satisfies Chroma.
                embeddings=[[1.0] for _ in part],
                documents=[r.model_dump_json() for r in part],
                metadatas=[{"content_hash": r.content_hash} for r in part],
            )
        self._bump_generation()

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        opened = self._open(create=False)
        if opened is None or not article_ids:
            return
        for i in range(0, len(article_ids), _MAX_BATCH):
            opened[1].delete(ids=list(article_ids[i : i + _MAX_BATCH]))
        self._bump_generation()

    def _bump_generation(self) -> None:
        collection, _ = self._writable()
        meta = dict(collection.metadata or {})
        meta["generation"] = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        meta.pop("hnsw:space", None)
        collection.modify(metadata=meta)

    def generation(self) -> str:
        """Changes whenever the set of ingested articles changes (also from other processes)."""
        opened = self._open(create=False)
        if opened is None:
            return "empty"
        fresh = self._client.get_collection(self._name, embedding_function=None)
        return str((fresh.metadata or {}).get("generation", "none"))
