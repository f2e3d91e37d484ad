"""Measuring wrappers around the project's backends, and a stand-in embedder for pipeline-only runs."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from assistant.backends.base import ArticleRecord, ChatModel, Embedder, Message, Vectors
from assistant.backends.index_chroma import ChromaIndex
from assistant.types import Chunk, Filters


class TimedEmbedder:
    """Forwards to an Embedder and adds up the seconds and texts spent in it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.passage_s = 0.0
        self.passages = 0
        self.query_s = 0.0
        self.queries = 0

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __getattr__(self, name: str) -> Any:  # relevance_floor and other optional attributes
        return getattr(self.inner, name)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        started = time.perf_counter()
        out = self.inner.embed_passages(texts)
        self.passage_s += time.perf_counter() - started
        self.passages += len(texts)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        started = time.perf_counter()
        out = self.inner.embed_queries(texts)
        self.query_s += time.perf_counter() - started
        self.queries += len(texts)
        return out


class StandInEmbedder:
    """Deterministic pseudo-random unit vectors at next to no cost: isolates load/chunk/upsert time.

    The vectors carry no meaning; the embedding cost of a real model is accounted for separately."""

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def id(self) -> str:
        return f"standin-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    relevance_floor = 0.0
    translation_floor = 0.0

    def _encode(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            out[i] = rng.standard_normal(self._dim, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


class TimedIndex(ChromaIndex):
    """A ChromaIndex that adds up the seconds spent in each storage call (for the ingest breakdown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def _timing(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        with self._timing("existing_ids"):
            return super().existing_ids(ids)

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        with self._timing("chunk_ids_by_article"):
            return super().chunk_ids_by_article(article_ids)

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        with self._timing("upsert"):
            super().upsert(chunks, vectors)

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        with self._timing("update_metadata"):
            super().update_metadata(chunks)

    def delete(self, ids: Sequence[str]) -> None:
        with self._timing("delete"):
            super().delete(ids)

    def articles(self) -> dict[str, ArticleRecord]:
        with self._timing("articles"):
            return super().articles()

    def put_articles(self, records: Sequence[ArticleRecord]) -> None:
        with self._timing("put_articles"):
            super().put_articles(records)

    def query(self, vector: Vectors, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        with self._timing("query"):
            return super().query(vector, k, filters)

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        with self._timing("get_chunks"):
            return super().get_chunks(ids)

    def vectors_of(self, ids: Sequence[str]) -> dict[str, Vectors]:
        with self._timing("vectors_of"):
            return super().vectors_of(ids)

    def generation(self) -> str:
        with self._timing("generation"):
            return super().generation()

    def reset_timers(self) -> None:
        self.seconds.clear()
        self.calls.clear()


class RecordingChatModel:
    """Forwards to a ChatModel and keeps, per stream() call, the kind of prompt, the text and the
    model's own generation stats (prompt tokens, tokens reused from the KV cache, prefill seconds)
    when it has them; per choose() call (the meaning checks), its seconds."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []
        self.checks: list[float] = []  # seconds of each choose() call

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def model(self) -> str:
        return self.inner.model

    def __getattr__(self, name: str) -> Any:  # load_seconds, last_stats
        return getattr(self.inner, name)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        try:
            for piece in self.inner.stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop, grammar=grammar
            ):
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(piece)
                yield piece
        finally:
            stats = getattr(self.inner, "last_stats", None)
            record: dict[str, Any] = {
                "system_prompt": " ".join(system.split())[:60],
                "first_piece_s": None if first is None else round(first, 3),
                "seconds": round(time.perf_counter() - started, 3),
                "text": "".join(pieces),
            }
            if stats is not None and dataclasses.is_dataclass(stats) and not isinstance(stats, type):
                fields = dataclasses.asdict(stats)
                record.update({k: round(v, 3) if isinstance(v, float) else v for k, v in fields.items()})
            self.calls.append(record)

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """The verifier's yes/no checks: timed, counted apart from the generations."""
        started = time.perf_counter()
        try:
            return self.inner.choose(messages, choices)
        finally:
            self.checks.append(round(time.perf_counter() - started, 3))

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()
