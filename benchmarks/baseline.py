"""The baseline: the LangChain standard RAG recipe with the same models as the assistant.

RecursiveCharacterTextSplitter(1000, 200) -> Chroma.from_documents -> similarity_search(k=4) -> the
four chunks stuffed into one prompt (LangChain's RAG-tutorial prompt) -> the project's ChatModel.
The only addition to the stock prompt numbers the chunks and asks for [n] markers, so the baseline's
grounding can be scored the same way as ours; its output is never verified or filtered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from assistant.backends.base import Embedder, Message
from assistant.types import Article

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
COLLECTION = "langchain"

# LangChain's RAG tutorial prompt (hub "rlm/rag-prompt"), plus the citation request.
STUFF_SYSTEM = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
    "to answer the question. If you don't know the answer, just say that you don't know. Use three "
    "sentences maximum and keep the answer concise. Cite the number of the context piece that supports "
    "each sentence in square brackets, like [1].\n\n{context}"
)
STUFF_HUMAN = "{question}"


class ProjectEmbeddings(Embeddings):
    """A project Embedder as a LangChain Embeddings: documents in passage form, queries in query form.

    Embeds in batches of `batch_size` like the assistant's ingest does, and adds up its seconds."""

    def __init__(self, embedder: Embedder, batch_size: int = 16) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.document_s = 0.0
        self.documents = 0
        self.query_s = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self.embedder.embed_passages(texts[i : i + self.batch_size]).tolist())
        self.document_s += time.perf_counter() - started
        self.documents += len(texts)
        return out

    def embed_query(self, text: str) -> list[float]:
        started = time.perf_counter()
        vector = self.embedder.embed_queries([text])[0].tolist()
        self.query_s += time.perf_counter() - started
        return vector


class PrecomputedEmbeddings(Embeddings):
    """Hands out vectors set in `pending` to the next embed_documents call (synthetic corpora are
    stored through the public add_texts path without a model); queries go to a real embedder."""

    def __init__(self, query_embedder: Embedder | None = None) -> None:
        self.pending: np.ndarray | None = None
        self._query = query_embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.pending is None or len(self.pending) != len(texts):
            raise RuntimeError("PrecomputedEmbeddings: set `pending` to one vector per text first")
        out = self.pending.tolist()
        self.pending = None
        return out

    def embed_query(self, text: str) -> list[float]:
        if self._query is None:
            raise RuntimeError("PrecomputedEmbeddings has no query embedder")
        return self._query.embed_queries([text])[0].tolist()


def splitter() -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)


def documents(articles: Sequence[Article]) -> list[Document]:
    return [
        Document(
            page_content=a.text,
            metadata={"article_id": a.id, "title": a.title, "source": a.source, "language": a.language},
        )
        for a in articles
    ]


def client_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def from_documents(docs: list[Document], embeddings: Embeddings, store_dir: Path) -> Any:
    from langchain_chroma import Chroma

    return Chroma.from_documents(
        docs,
        embeddings,
        persist_directory=str(store_dir),
        collection_name=COLLECTION,
        client_settings=client_settings(),
    )


def open_store(store_dir: Path, embeddings: Embeddings) -> Any:
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=COLLECTION,
        embedding_function=embeddings,
        persist_directory=str(store_dir),
        client_settings=client_settings(),
        create_collection_if_not_exists=False,
    )


def stuff_messages(question: str, docs: Sequence[Document]) -> list[Message]:
    """The stuff prompt through LangChain's ChatPromptTemplate, as project Message dicts."""
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", STUFF_SYSTEM), ("human", STUFF_HUMAN)])
    context = "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(docs, start=1))
    rendered = prompt.format_messages(context=context, question=question)
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": str(m.content)} for m in rendered]  # type: ignore[misc]
