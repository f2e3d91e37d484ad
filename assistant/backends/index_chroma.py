"""Chroma as the VectorIndex: PersistentClient on disk by default, HttpClient for a Chroma server.

Two collections per index: `<name>` holds chunks with vectors; `<name>--articles` is the manifest of
fully ingested articles (written after their chunks), which makes an interrupted ingest resumable.
The manifest is also what readers trust: search, iteration and counts only show chunks the manifest
lists, so an article is visible once complete and a half-written one never is (see `_visible`).

Every Chroma or OS failure leaves this module as a typed error that names the index and what to do
(chroma_storage.py: read-only folder, full disk, a damaged file, an unreachable server); a read-only
index is read from a private copy, because Chroma writes to its database even when opened only to
read. How chunks and filters map to Chroma's metadata is in chroma_records.py.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.backends.base import ArticleRecord, Vectors
from assistant.backends.chroma_records import article_records, chunk_from, chunk_metadata, where_clause
from assistant.backends.chroma_storage import (
    LOCK_FILE,
    connect,
    open_folder,
    read_only_error,
    translate,
    writer_lock,
)
from assistant.errors import (
    AssistantError,
    EmptyIndexError,
    IndexMismatchError,
)
from assistant.types import Chunk, Filters

log = logging.getLogger(__name__)

_MANIFEST_SUFFIX = "--articles"
# Chroma caps how many items one call may carry (SQLite variable limits); stay well below it.
_MAX_BATCH = 2000
# Values per `$in` filter: keeps each metadata query's SQL small.
_MAX_IN = 500


class ChromaIndex:
    """A VectorIndex over one Chroma collection named after what makes its vectors comparable."""

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        embedder_id: str,
        dim: int,
        location: str,
        read_only: bool = False,
        lock_path: Path | None = None,
    ) -> None:
        self._client = client
        self._name = name
        self._embedder_id = embedder_id
        self._dim = dim
        self._location = location
        self._read_only = read_only
        self._lock_path = lock_path
        self._chunks: Any = None
        self._manifest: Any = None
        self._visible: tuple[str, frozenset[str]] | None = None
        self._warned_stale = False

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def persistent(cls, path: str, name: str, *, embedder_id: str, dim: int) -> ChromaIndex:
        """The index in folder `path` (created if missing). A folder this process cannot write is
        opened from a private copy: reads work, writes raise IndexReadOnlyError."""
        client, read_only, copy = open_folder(path)
        lock = Path(path) / LOCK_FILE
        index = cls(
            client, name, embedder_id=embedder_id, dim=dim, location=path, read_only=read_only, lock_path=lock
        )
        if copy is not None:
            weakref.finalize(index, shutil.rmtree, str(copy), True)
        return index

    @classmethod
    def http(
        cls, host: str, port: int, name: str, *, embedder_id: str, dim: int, ssl: bool = False
    ) -> ChromaIndex:
        client, location, lock = connect(host, port, name, ssl=ssl)
        return cls(client, name, embedder_id=embedder_id, dim=dim, location=location, lock_path=lock)

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

    @property
    def read_only(self) -> bool:
        """True when the index folder cannot be written: reads work (from a copy), writes raise."""
        return self._read_only

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except AssistantError:
            raise
        except Exception as exc:
            local = self._location not in ("memory",) and "://" not in self._location
            raise translate(exc, self._location, doing, local=local) from exc

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
        if self._read_only:
            raise read_only_error(self._location)
        opened = self._open(create=True)
        assert opened is not None
        return opened

    # --- writers --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, timeout: float = 0.0) -> Iterator[None]:
        """Hold the right to write this index: one writer at a time (a lock file next to the data).

        Raises IndexBusyError when another process (or thread) holds it for longer than `timeout`
        seconds, IndexReadOnlyError when the folder cannot be written. The lock is the operating
        system's (flock), so a killed ingest never leaves it stuck.
        """
        if self._read_only:
            raise read_only_error(self._location)
        if self._lock_path is None:
            yield
            return
        with writer_lock(self._lock_path, self._location, timeout):
            yield

    # --- chunks ---------------------------------------------------------------------------------------

    def count(self) -> int:
        """Chunks of complete articles: what search can return (an interrupted write is not counted)."""
        return len(self._visible_ids())

    def stored_count(self) -> int:
        """Every chunk stored, also those of articles not (yet) complete."""
        with self._guard("counting chunks"):
            opened = self._open(create=False)
            return 0 if opened is None else int(opened[0].count())

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        with self._guard("looking up chunks"):
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
        with self._guard("storing chunks"):
            collection, _ = self._writable()
            for i in range(0, len(chunks), _MAX_BATCH):
                part = chunks[i : i + _MAX_BATCH]
                collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=vectors[i : i + _MAX_BATCH].tolist(),
                    documents=[c.text for c in part],
                    metadatas=[chunk_metadata(c) for c in part],
                )

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        with self._guard("updating chunk metadata"):
            collection, _ = self._writable()
            for i in range(0, len(chunks), _MAX_BATCH):
                part = chunks[i : i + _MAX_BATCH]
                collection.update(ids=[c.id for c in part], metadatas=[chunk_metadata(c) for c in part])

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._guard("deleting chunks"):
            opened = self._open(create=False)
            if opened is None:
                return
            self._writable()
            for i in range(0, len(ids), _MAX_BATCH):
                opened[0].delete(ids=list(ids[i : i + _MAX_BATCH]))

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        return {aid: list(stored) for aid, stored in self.stored_chunks_by_article(article_ids).items()}

    def stored_chunks_by_article(self, article_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """For each article, its stored chunks: chunk id -> the article content hash they were written
        for ('' when unknown, as in indexes from before it was recorded). Absent: none stored."""
        with self._guard("looking up chunks"):
            opened = self._open(create=False)
            if opened is None or not article_ids:
                return {}
            owned: dict[str, dict[str, str]] = {}
            unique = list(dict.fromkeys(article_ids))
            for i in range(0, len(unique), _MAX_IN):
                part = unique[i : i + _MAX_IN]
                got = opened[0].get(where={"article_id": {"$in": part}}, include=["metadatas"])
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    aid = str(meta.get("article_id", ""))
                    owned.setdefault(aid, {})[cid] = str(meta.get("article_hash", ""))
            return owned

    def orphan_chunk_ids(self, batch_size: int = 5000) -> list[str]:
        """Stored chunks of articles the manifest does not list at all (left by an interrupted write
        of an article that was then never ingested again). They are invisible, only taking space."""
        with self._guard("looking for orphaned chunks"):
            opened = self._open(create=False)
            if opened is None:
                return []
            listed = set(self.articles())
            orphans: list[str] = []
            offset = 0
            while True:
                got = opened[0].get(include=["metadatas"], limit=batch_size, offset=offset)
                if not got["ids"]:
                    return orphans
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    if str(meta.get("article_id", "")) not in listed:
                        orphans.append(cid)
                offset += len(got["ids"])

    def query(self, vector: Vectors, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        with self._guard("searching"):
            collection, _ = self._require()
            total = collection.count()
            if total == 0:
                return []
            visible = self._visible_ids()
            n = min(k, total)
            while True:
                result = collection.query(
                    query_embeddings=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
                    n_results=n,
                    where=where_clause(filters),
                    include=["documents", "metadatas", "distances"],
                )
                hits = [
                    (chunk_from(cid, doc, meta), 1.0 - float(dist))
                    for cid, doc, meta, dist in zip(
                        result["ids"][0],
                        result["documents"][0],
                        result["metadatas"][0],
                        result["distances"][0],
                        strict=True,
                    )
                ]
                kept = [hit for hit in hits if hit[0].id in visible]
                if len(kept) >= k or len(hits) < n or n >= total:
                    return kept[:k]
                # Chunks of incomplete articles took places: ask for more (rare: only after a crash or
                # while another process writes).
                n = min(total, 2 * n + len(hits) - len(kept))

    def vectors_of(self, ids: Sequence[str]) -> dict[str, Vectors]:
        with self._guard("reading vectors"):
            collection, _ = self._require()
            got = self._get_by_ids(collection, ids, ["embeddings"])
            return {
                cid: np.asarray(vec, dtype=np.float32)
                for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
            }

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        with self._guard("reading chunks"):
            collection, _ = self._require()
            got = self._get_by_ids(collection, ids, ["documents", "metadatas"])
            by_id = {
                cid: chunk_from(cid, doc, meta)
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            }
            return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(self, batch_size: int = 1000, *, complete_only: bool = True) -> Iterator[Chunk]:
        """Every chunk of a complete article (all stored chunks with `complete_only=False`)."""
        with self._guard("reading chunks"):
            opened = self._open(create=False)
        if opened is None:
            return
        visible = self._visible_ids() if complete_only else None
        collection = opened[0]
        offset = 0
        while True:
            with self._guard("reading chunks"):
                got = collection.get(include=["documents", "metadatas"], limit=batch_size, offset=offset)
            if not got["ids"]:
                return
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if visible is None or cid in visible:
                    yield chunk_from(cid, doc, meta)
            offset += len(got["ids"])

    def _get_by_ids(self, collection: Any, ids: Sequence[str], include: list[str]) -> dict[str, list[Any]]:
        """collection.get(ids=...), tolerating ids this process's Chroma cannot find yet.

        Chroma's embedded mode keeps the vector part of the index per process: while another process
        ingests, a long-running reader (the web UI, the Slack bot) sees new manifest records and
        chunk texts before their vectors, and asking for such an id fails the whole call ("Error
        finding id"). Then the ids are fetched one by one and the ones not there yet left out, so the
        search answers from what this process has; it catches up by itself.
        """
        try:
            return dict(collection.get(ids=list(ids), include=include))
        except Exception as exc:
            if "error finding id" not in str(exc).lower():
                raise
        if not self._warned_stale:
            self._warned_stale = True
            log.warning(
                "The index at %s is being changed by another process: chunks this process cannot read "
                "yet are left out of its searches until it catches up.",
                self._location,
            )
        merged: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
        for cid in ids:
            try:
                one = collection.get(ids=[cid], include=include)
            except Exception as exc:
                if "error finding id" not in str(exc).lower():
                    raise
                continue
            for key in merged:
                merged[key].extend(one[key])
        return merged

    def _visible_ids(self) -> frozenset[str]:
        """The chunk ids the manifest lists, cached per generation.

        Why not a visibility flag in the chunk metadata, set last: Chroma applies a `where` filter by
        scanning the metadata, which made every search about 100 ms slower at 20k chunks (measured),
        and an edited article would still need two writes to flip. The manifest record is already
        written last, in one call, so it serves as the flag; filtering happens after the search.
        """
        generation = self.generation()
        if self._visible is None or self._visible[0] != generation:
            ids = frozenset(cid for record in self.articles().values() for cid in record.chunk_ids)
            self._visible = (generation, ids)
        return self._visible[1]

    # --- article manifest -----------------------------------------------------------------------------

    def articles(self) -> dict[str, ArticleRecord]:
        with self._guard("reading the article manifest"):
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
                records.update((r.article_id, r) for r in article_records(got["documents"]))
                offset += len(got["ids"])
            return records

    def put_articles(self, records: Sequence[ArticleRecord]) -> None:
        if not records:
            return
        with self._guard("writing the article manifest"):
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
        if not article_ids:
            return
        with self._guard("writing the article manifest"):
            opened = self._open(create=False)
            if opened is None:
                return
            self._writable()
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
        with self._guard("reading the index"):
            opened = self._open(create=False)
            if opened is None:
                return "empty"
            fresh = self._client.get_collection(self._name, embedding_function=None)
            return str((fresh.metadata or {}).get("generation", "none"))
