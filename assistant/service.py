"""The composition root: `Assistant` wires settings, LLM, embedder and index, and is the one API
every interface (CLI, web, Slack, evals, benchmarks) calls."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answer import Answerer
from assistant.backends import factory
from assistant.backends.base import ArticleRecord, ChatModel, Embedder, VectorIndex, choose
from assistant.config import Settings
from assistant.errors import EmptyIndexError, GenerationError, InputError
from assistant.followup import rewrite_question, search_query
from assistant.ingest import ingest_paths
from assistant.lexical import Bm25Index, LexicalCache
from assistant.loaders import CsvOptions
from assistant.prompts import Prompts
from assistant.retrieve import Retriever
from assistant.text.language import detect_language
from assistant.text.lexicon import Lexicon
from assistant.types import (
    Answer,
    AnswerEvent,
    Evidence,
    Filters,
    FinalEvent,
    IndexStats,
    IngestReport,
    Passage,
    StatusEvent,
    Timings,
    Turn,
)

if TYPE_CHECKING:
    from assistant.langchain_retriever import AssistantRetriever

log = logging.getLogger(__name__)

# progress(stage, done, total): stage is a short label such as "embedding".
ProgressCallback = Callable[[str, int, int], None]


class Assistant:
    """Build with `Assistant.from_settings(settings)`; pass fakes to __init__ in tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder,
        index: VectorIndex,
        llm: ChatModel | Callable[[], ChatModel] | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.prompts = Prompts(settings.prompts_dir)
        self._llm_lock = threading.Lock()
        self._llm: ChatModel | None = None
        self._warm = False
        self._llm_factory: Callable[[], ChatModel]
        if llm is None:
            self._llm_factory = lambda: factory.make_chat_model(settings)
        elif isinstance(llm, ChatModel):
            self._llm = llm
            self._llm_factory = lambda: llm
        else:
            self._llm_factory = llm
        self._lexical_lock = threading.Lock()
        self._lexical = LexicalCache(self._lexical_cache_file())
        self._retriever = Retriever(settings.retrieval, embedder, index, self._lexical_index)
        self._lexicon_lock = threading.Lock()
        self._lexicon: Lexicon | None = None
        self._answerer = Answerer(
            settings=settings.answer,
            llm_settings=settings.llm,
            prompts=self.prompts,
            embedder=embedder,
            llm=self.llm,
            lexicon=self.lexicon,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, must_exist: bool = False) -> Assistant:
        """`must_exist`: raise EmptyIndexError instead of creating an index where there is none (for
        commands that only read)."""
        if must_exist and not factory.index_exists(settings):
            raise EmptyIndexError(
                f"There is no index at {settings.index.path}: run `assistant ingest` to build one (no path "
                "ingests the sample articles), or point ASSISTANT_INDEX__PATH at an existing index."
            )
        embedder = factory.make_embedder(settings)
        index = factory.make_index(settings, embedder)
        return cls(settings, embedder=embedder, index=index)

    # --- wiring -------------------------------------------------------------------------------------

    def _lexical_cache_file(self) -> Path | None:
        idx = self.settings.index
        if self.index.location == "memory":
            return None
        if idx.host:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{idx.host}_{idx.port}_{self.index.name}")
            return self.settings.llm.cache_dir / "lexical" / f"{safe}.bm25.pkl"
        return idx.path / f"{self.index.name}.bm25.pkl"

    def _lexical_index(self) -> Bm25Index:
        with self._lexical_lock:
            return self._lexical.get(self.index.generation(), self.index.iter_chunks)

    def lexicon(self) -> Lexicon:
        """Word knowledge for telling names from ordinary words, loaded on first use."""
        with self._lexicon_lock:
            if self._lexicon is None:
                self._lexicon = Lexicon.load(self.settings.llm.cache_dir)
            return self._lexicon

    def llm(self) -> ChatModel:
        """The chat model, created on first use (loading a local model takes seconds)."""
        with self._llm_lock:
            if self._llm is None:
                self._llm = self._llm_factory()
            return self._llm

    @property
    def llm_info(self) -> tuple[str, str]:
        """(backend, model) of the configured LLM, without loading it."""
        if self._llm is not None:
            return self._llm.backend, self._llm.model
        return factory.describe_chat_model(self.settings)

    @property
    def prompt_hashes(self) -> dict[str, str]:
        return self.prompts.hashes

    # --- operations -----------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        prune: bool = False,
        csv: CsvOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest files/folders (None: the sample corpus). Idempotent; `prune` drops vanished files."""
        targets = list(paths) if paths else [self.settings.sample_dir]
        report = ingest_paths(
            targets,
            embedder=self.embedder,
            index=self.index,
            chunking=self.settings.chunking,
            batch_size=self.settings.embedding.batch_size,
            write_batch=self.settings.index.write_batch,
            prune=prune,
            csv=csv,
            progress=progress,
            options=self.settings.ingest,
        )
        self._lexical.invalidate()
        return report

    def search(self, query: str, *, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        return self._retriever.search(query, k=k, filters=filters)

    def as_retriever(self, *, k: int | None = None, filters: Filters | None = None) -> AssistantRetriever:
        """This assistant's hybrid search as a LangChain retriever (a `langchain_core` BaseRetriever)."""
        from assistant.langchain_retriever import AssistantRetriever

        return AssistantRetriever(search=self.search, k=k or self.settings.retrieval.k, filters=filters)

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[AnswerEvent]:
        """StatusEvent/SentenceEvent while working (sentences only once verified), then one FinalEvent.

        rewrite (follow-ups) -> retrieve -> answer: each stage gets what the one before produced."""
        started = time.perf_counter()
        question = question.strip()
        s = self.settings.answer
        if not question:
            raise InputError("The question is empty.")
        if len(question) > s.max_question_chars:
            raise InputError(
                f"The question is too long ({len(question)} characters; the limit is "
                f"{s.max_question_chars}). Please shorten it."
            )
        language = detect_language(question, default="en")
        timings = Timings()
        standalone = question
        if history and s.history_turns:
            yield StatusEvent(text="Reading the question in the light of the conversation")
            t0 = time.perf_counter()
            standalone = rewrite_question(self.llm(), self.prompts, question, history, s.history_turns)
            timings.rewrite_s = round(time.perf_counter() - t0, 3)
        yield StatusEvent(text="Searching the articles")
        t0 = time.perf_counter()
        query = search_query(standalone, history)
        passages = self._retriever.search(query, k=k, filters=filters, language=language)
        timings.retrieve_s = round(time.perf_counter() - t0, 3)
        yield from self._answerer.stream(
            question, passages, language=language, standalone=standalone, started=started, timings=timings
        )

    def check_claim(self, claim: str, evidence: list[Evidence], language: str) -> tuple[bool, str, str]:
        """Check one sentence against evidence as answers are checked: (kept, stage, reason)."""
        return self._answerer.check_claim(claim, evidence, language)

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer with verified citations, or abstain. Raises assistant.errors types."""
        for event in self.ask_stream(question, history=history, k=k, filters=filters):
            if isinstance(event, FinalEvent):
                return event.answer
        raise GenerationError("The answer stream ended without a final answer.")

    def warm_up(self) -> Iterator[StatusEvent]:
        """The one-time work before the first answer, each step announced as it starts: assembling
        the bundled model (first use only) and loading the model. Nothing once it is loaded."""
        with self._llm_lock:
            if self._warm:
                return
        setup = factory.chat_model_setup(self.settings) if self._llm is None else None
        if setup is not None:
            yield StatusEvent(text=setup[0])
            setup[1]()
        backend, model = self.llm_info
        yield StatusEvent(text=f"Loading the model ({backend} · {model})")
        # A one-token check loads the weights (the embedded model loads on its first call, Ollama
        # on its first request) without writing anything.
        choose(self.llm(), [{"role": "user", "content": "Reply with yes."}], ["yes", "no"])
        with self._llm_lock:
            self._warm = True

    def articles(self) -> list[ArticleRecord]:
        """Every ingested article (title, source, date, language, its chunks), by title."""
        records = self.index.articles().values()
        return sorted(records, key=lambda r: (r.title.casefold(), r.article_id))

    def delete_articles(self, article_ids: Sequence[str]) -> list[ArticleRecord]:
        """Remove these articles and their chunks from the index (ids it does not hold are ignored);
        returns what was removed. Ingesting an article's file again adds it back."""
        with self.index.writing(self.settings.ingest.lock_timeout_s):
            records = self.index.articles()
            gone = [records[a] for a in dict.fromkeys(article_ids) if a in records]
            if not gone:
                return []
            owned = self.index.chunk_ids_by_article([r.article_id for r in gone])
            # The manifest first, as ingest's prune does: from then on the article is invisible.
            self.index.delete_articles([r.article_id for r in gone])
            self.index.delete([cid for r in gone for cid in owned.get(r.article_id, [])])
        self._lexical.invalidate()
        return gone

    def stats(self) -> IndexStats:
        records = self.index.articles()
        return IndexStats(
            collection=self.index.name,
            embedder=self.embedder.id,
            articles=len(records),
            chunks=self.index.count(),
            sources=dict(Counter(r.source or "unknown" for r in records.values()).most_common()),
            languages=dict(Counter(r.language for r in records.values()).most_common()),
            location=self.index.location,
        )

    def close(self) -> None:
        llm = self._llm
        close = getattr(llm, "close", None)
        if callable(close):
            close()
