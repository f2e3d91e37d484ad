"""Contract for the LangChain face: langchain-tests' standard retriever suite against
`Assistant.as_retriever()`, and the same retriever inside a small LCEL chain."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.langchain_retriever import AssistantRetriever
from assistant.service import Assistant
from assistant.types import Filters

QUESTION = "Wann haben die russischen Friedenstruppen Berg-Karabach verlassen?"


class TestAssistantRetrieverStandard(RetrieversIntegrationTests):
    """The sample corpus under the hashing embedder (no model, no network)."""

    # The suite's async test runs under anyio's pytest plugin (the sync ones ignore the mark).
    pytestmark = pytest.mark.anyio

    @pytest.fixture(autouse=True)
    def _search(self, fake_assistant: Assistant) -> None:
        self._assistant = fake_assistant

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return AssistantRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"search": self._assistant.search}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_documents_carry_the_chunk_metadata_and_offsets(fake_assistant: Assistant) -> None:
    from assistant.loaders import load_paths

    docs = fake_assistant.as_retriever(k=4).invoke(QUESTION)
    passages = fake_assistant.search(QUESTION, k=4)
    assert [d.id for d in docs] == [p.chunk.id for p in passages]
    texts = {a.id: a.text for a in load_paths([fake_assistant.settings.sample_dir]).articles}
    for doc, passage in zip(docs, passages, strict=True):
        meta = doc.metadata
        assert set(meta) == {
            "article_id",
            "chunk_id",
            "title",
            "source",
            "date",
            "url",
            "language",
            "start",
            "end",
            "score",
        }
        assert meta["chunk_id"] == passage.chunk.id and meta["score"] == passage.score
        assert texts[meta["article_id"]][meta["start"] : meta["end"]] == doc.page_content


def test_filters_at_construction_and_per_call(fake_assistant: Assistant) -> None:
    source = fake_assistant.search(QUESTION, k=1)[0].chunk.source
    kept = fake_assistant.as_retriever(k=5, filters=Filters(sources=[source])).invoke(QUESTION)
    assert kept and {d.metadata["source"] for d in kept} == {source}
    retriever = fake_assistant.as_retriever()
    assert retriever.k == fake_assistant.settings.retrieval.k
    assert retriever.invoke(QUESTION, filters={"sources": ["no such source"]}) == []
    assert len(retriever.invoke(QUESTION, k=2)) == 2


def test_runs_inside_an_lcel_chain(fake_assistant: Assistant) -> None:
    def format_docs(docs: list[Document]) -> str:
        return "\n\n".join(f"[{d.metadata['article_id']}] {d.page_content}" for d in docs)

    chain = fake_assistant.as_retriever(k=2) | RunnableLambda(format_docs)
    context = chain.invoke(QUESTION)
    assert context.count("[") >= 2 and "Berg-Karabach" in context
    assert chain.batch([QUESTION, "Belarus Waffen Aserbaidschan"]) and isinstance(context, str)
