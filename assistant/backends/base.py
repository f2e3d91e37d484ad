"""The protocols every backend implements: ChatModel, Embedder, VectorIndex."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Literal, Protocol, TypedDict, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from assistant.types import Chunk, Filters

Vectors = npt.NDArray[np.float32]


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM. Implementations raise assistant.errors types, never raw client errors."""

    @property
    def backend(self) -> str:
        """Short backend name: 'embedded', 'ollama', or the name a plugin registered it under."""
        ...

    @property
    def model(self) -> str:
        """Model identifier as reported in answers and eval reports."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        """Yield text pieces of the reply as they are generated. `grammar` (GBNF) constrains the
        reply where the backend can; others ignore it (callers parse leniently)."""
        ...

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """The probability of each choice as the start of the reply (they sum to 1). Used for
        yes/no checks: one prompt, no generated text to parse."""
        ...


def complete(model: ChatModel, messages: Sequence[Message], **kwargs: object) -> str:
    """Non-streaming convenience over ChatModel.stream."""
    return "".join(model.stream(messages, **kwargs))  # type: ignore[arg-type]


def choose(model: ChatModel, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
    """ChatModel.choose, checked: as many probabilities as choices, each in [0, 1]."""
    scores = model.choose(messages, choices)
    if len(scores) != len(choices) or any(not 0.0 <= p <= 1.0 for p in scores):
        raise ValueError(f"{model.backend} returned scores {scores!r} for {list(choices)!r}")
    return scores


@runtime_checkable
class Embedder(Protocol):
    """Text -> unit-length float32 vectors. Queries and passages may be embedded differently (e5)."""

    @property
    def id(self) -> str:
        """Identifies the vector space: vectors from embedders with different ids are not comparable."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def relevance_floor(self) -> float:
        """Question-sentence similarity below which nothing is taken as relevant (scales differ
        between embedders; calibrated per embedder)."""
        ...

    @property
    def translation_floor(self) -> float:
        """Similarity of a text and its translation (both embedded as passages) below which the
        translation is taken to say something else; 0 where not calibrated (the check is off)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...


class ArticleRecord(BaseModel):
    """What the index remembers of an article: written only after all its chunks are stored."""

    article_id: str
    content_hash: str
    origin: str = ""
    title: str = ""
    source: str = ""
    language: str = "und"
    date: str | None = None
    chunk_ids: list[str] = Field(default_factory=list)


@runtime_checkable
class VectorIndex(Protocol):
    """Chunks with their vectors and metadata, plus a manifest of fully ingested articles.

    A chunk is visible (counted, searched, listed) only once its article's record is in the
    manifest, so an interrupted write is never half-seen; `stored_*` methods see every stored chunk.
    """

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str: ...

    @property
    def read_only(self) -> bool:
        """True when the index can be read but not written (reads work, writes raise)."""
        ...

    def writing(self, timeout: float = 0.0) -> AbstractContextManager[None]:
        """Hold the right to write: one writer at a time. Raises IndexBusyError when another holds it
        for longer than `timeout` seconds, IndexReadOnlyError when the index cannot be written."""
        ...

    def generation(self) -> str:
        """Changes whenever the set of ingested articles changes (also from other processes)."""
        ...

    def count(self) -> int:
        """Chunks of complete articles: what search can return."""
        ...

    def stored_count(self) -> int:
        """Every chunk stored, also those of articles not (yet) complete."""
        ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None: ...

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Refresh stored metadata (offsets, title...) of chunks whose text, hence vector, is unchanged."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """The stored chunk ids of each of these articles (absent: none stored), in one batched lookup."""
        ...

    def stored_chunks_by_article(self, article_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """For each article, its stored chunks: chunk id -> the article content hash they were written
        for ('' when unknown). Absent: none stored."""
        ...

    def orphan_chunk_ids(self) -> list[str]:
        """Stored chunks of articles the manifest does not list at all."""
        ...

    def query(self, vector: Vectors, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Nearest visible chunks, best first, with cosine similarity."""
        ...

    def vectors_of(self, ids: Sequence[str]) -> dict[str, Vectors]:
        """The stored vector of each of these chunks (absent: not stored)."""
        ...

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        """Every visible chunk."""
        ...

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]: ...

    def articles(self) -> dict[str, ArticleRecord]: ...

    def put_articles(self, records: Sequence[ArticleRecord]) -> None: ...

    def delete_articles(self, article_ids: Sequence[str]) -> None: ...
