"""The LangChain face: the assistant's hybrid search as a `langchain_core` `BaseRetriever`, one
`Document` per passage with the chunk's metadata, for people who build their own chains on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from assistant.types import Filters, Passage

# search(query, *, k, filters) -> ranked passages: Assistant.search, or anything with its contract.
SearchFunction = Callable[..., list[Passage]]


def to_document(passage: Passage) -> Document:
    """The chunk's text as page_content; `start`/`end` are character offsets into the article's text."""
    chunk = passage.chunk
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            "article_id": chunk.article_id,
            "chunk_id": chunk.id,
            "title": chunk.title,
            "source": chunk.source,
            "date": chunk.date,
            "url": chunk.url,
            "language": chunk.language,
            "start": chunk.start,
            "end": chunk.end,
            "score": passage.score,
        },
    )


class AssistantRetriever(BaseRetriever):
    """Build with `Assistant.as_retriever(k=..., filters=...)`. `invoke(query, k=..., filters=...)`
    overrides either for one call; filters may be a `Filters` or a dict of its fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: SearchFunction = Field(description="Hybrid search: Assistant.search.")
    k: int = Field(default=5, ge=1, le=50, description="Documents returned.")
    filters: Filters | None = Field(default=None, description="Sources, languages, date range.")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k") or self.k)
        filters = kwargs.get("filters", self.filters)
        if isinstance(filters, dict):
            filters = Filters.model_validate(filters)
        return [to_document(p) for p in self.search(query, k=k, filters=filters)]
