"""The measured phases. Each runs in its own process (benchmarks.worker), so its peak RSS is its own
and no phase warms a cache for the next. A phase takes and returns JSON-able dicts."""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.backends import factory
from assistant.backends.base import ArticleRecord, Embedder
from assistant.config import Settings
from assistant.loaders import CsvOptions
from assistant.service import Assistant
from assistant.types import Answer, Article, FinalEvent
from benchmarks import baseline, corpus, grounding
from benchmarks.instruments import RecordingChatModel, StandInEmbedder, TimedEmbedder, TimedIndex
from benchmarks.questions import QUESTIONS, Question
from benchmarks.stats import rate, summarize

log = logging.getLogger("benchmarks")

Phase = Callable[[dict[str, Any]], dict[str, Any]]
PHASES: dict[str, Phase] = {}

# Surely answerable from the seeds, so it reaches the model (loading it) in both pipelines; not scored.
WARMUP_QUESTION = "Was berichtete Politico über Waffenlieferungen von Weißrussland an Aserbaidschan?"


def phase(fn: Phase) -> Phase:
    PHASES[fn.__name__] = fn
    return fn


# --- helpers ---------------------------------------------------------------------------------------


def _settings(index_dir: str | Path, **sections: dict[str, Any]) -> Settings:
    return Settings(index={"path": str(index_dir)}, **sections)  # type: ignore[arg-type]


def _csv(args: dict[str, Any]) -> CsvOptions | None:
    if not args.get("gnad_csv"):
        return None
    labels = args.get("gnad_labels")
    return CsvOptions.gnad(labels=labels or None)


def _embedder(settings: Settings, standin: bool) -> Embedder:
    return StandInEmbedder() if standin else factory.make_embedder(settings)


def _timed_index(settings: Settings, embedder: Embedder) -> TimedIndex:
    settings.index.path.mkdir(parents=True, exist_ok=True)
    name = factory.collection_name(settings, embedder)
    index = TimedIndex.persistent(str(settings.index.path), name, embedder_id=embedder.id, dim=embedder.dim)
    assert isinstance(index, TimedIndex)
    return index


def _fresh(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


class _Clock:
    """Adds up the seconds spent inside patched module functions (load_paths, chunk_article)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


def _instrument_ingest() -> tuple[_Clock, Callable[[], None]]:
    import assistant.ingest as ingest_module

    clock = _Clock()
    stream = ingest_module.ArticleStream

    class TimedStream(stream):
        """Loading is lazy (ingest reads its input as a stream): every step of the iteration counts."""

        def __iter__(self) -> Iterator[Article]:
            articles = super().__iter__()
            while True:
                started = time.perf_counter()
                try:
                    article = next(articles)
                except StopIteration:
                    return
                finally:
                    clock.seconds["load_paths"] += time.perf_counter() - started
                yield article

    originals: dict[str, Any] = {"ArticleStream": stream, "chunk_article": ingest_module.chunk_article}
    ingest_module.ArticleStream = TimedStream  # type: ignore[misc]
    ingest_module.chunk_article = clock.wrap("chunk_article", ingest_module.chunk_article)

    def restore() -> None:
        for name, fn in originals.items():
            setattr(ingest_module, name, fn)

    return clock, restore


def _round(values: dict[str, float], digits: int = 3) -> dict[str, float]:
    return {k: round(v, digits) for k, v in values.items()}


# --- ingest ----------------------------------------------------------------------------------------


@phase
def ingest_ours(args: dict[str, Any]) -> dict[str, Any]:
    """The assistant's ingest of `paths` into a fresh (or, with fresh=False, the existing) index."""
    index_dir = Path(args["index_dir"])
    if args.get("fresh", True):
        _fresh(index_dir)
    settings = _settings(index_dir)
    embedder = TimedEmbedder(_embedder(settings, args.get("standin", False)))
    index = _timed_index(settings, embedder)
    assistant = Assistant(settings, embedder=embedder, index=index)
    clock, restore = _instrument_ingest()
    try:
        started = time.perf_counter()
        report = assistant.ingest([Path(p) for p in args["paths"]], csv=_csv(args))
        total = time.perf_counter() - started
    finally:
        restore()
    storage = sum(index.seconds.values())
    articles = report.added + report.updated + report.unchanged
    result = {
        "articles": articles,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": len(report.skipped),
        "chunks": report.chunks_embedded + report.chunks_reused,
        "chunks_embedded": report.chunks_embedded,
        "chunks_in_index": index.count(),
        "seconds": round(total, 3),
        "articles_per_s": rate(articles, total),
        "chunks_per_s": rate(report.chunks_embedded, total),
        "embed_s": round(embedder.passage_s, 3),
        "embed_share": round(embedder.passage_s / total, 4) if total > 0 else None,
        "embed_s_per_chunk": round(embedder.passage_s / embedder.passages, 4) if embedder.passages else None,
        "load_s": round(clock.seconds["load_paths"], 3),
        "chunk_s": round(clock.seconds["chunk_article"], 3),
        "storage_s": round(storage, 3),
        "storage_detail_s": _round(dict(index.seconds)),
        "storage_calls": dict(index.calls),
        "other_s": round(
            total
            - embedder.passage_s
            - storage
            - clock.seconds["load_paths"]
            - clock.seconds["chunk_article"],
            3,
        ),
        "embedder": embedder.id,
        "collection": index.name,
    }
    if args.get("build_lexical"):
        # The first search after an ingest builds the BM25 index and caches it on disk.
        started = time.perf_counter()
        assistant.search("Abzug der Truppen", k=5)
        result["first_search_s"] = round(time.perf_counter() - started, 3)
    return result


@phase
def ingest_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """The LangChain recipe: load (same loaders), split 1000/200, Chroma.from_documents."""
    store_dir = Path(args["store_dir"])
    _fresh(store_dir)
    settings = _settings(store_dir)
    embeddings = baseline.ProjectEmbeddings(
        _embedder(settings, args.get("standin", False)), batch_size=settings.embedding.batch_size
    )
    from assistant.loaders import load_paths

    started = time.perf_counter()
    loaded = load_paths([Path(p) for p in args["paths"]], csv=_csv(args))
    docs = baseline.documents(loaded.articles)
    loaded_at = time.perf_counter()
    chunks = baseline.splitter().split_documents(docs)
    split_at = time.perf_counter()
    store = baseline.from_documents(chunks, embeddings, store_dir)
    total = time.perf_counter() - started
    stored = time.perf_counter() - split_at - embeddings.document_s
    return {
        "articles": len(loaded.articles),
        "chunks": len(chunks),
        "chunks_in_index": int(store._collection.count()),
        "seconds": round(total, 3),
        "articles_per_s": rate(len(loaded.articles), total),
        "chunks_per_s": rate(len(chunks), total),
        "embed_s": round(embeddings.document_s, 3),
        "embed_share": round(embeddings.document_s / total, 4) if total > 0 else None,
        "embed_s_per_chunk": round(embeddings.document_s / embeddings.documents, 4)
        if embeddings.documents
        else None,
        "load_s": round(loaded_at - started, 3),
        "chunk_s": round(split_at - loaded_at, 3),
        "storage_s": round(stored, 3),
        "embedder": embeddings.embedder.id,
        "batch_size": embeddings.batch_size,
    }


@phase
def reingest_ours(args: dict[str, Any]) -> dict[str, Any]:
    """Ingest the same, unchanged files again: nothing may be embedded."""
    args = {**args, "fresh": False}
    return ingest_ours(args)


@phase
def synthetic_corpus(args: dict[str, Any]) -> dict[str, Any]:
    """Write a jsonl of made-up articles from the corpus' sentences, cut into `chunks` chunks."""
    from assistant.loaders import load_paths

    out = Path(args["out"])
    loaded = load_paths([Path(p) for p in args["paths"]], csv=_csv(args))
    pool = corpus.sentence_pool(loaded.articles)
    records, chunks = corpus.synthetic_articles(pool, int(args["chunks"]), Settings().chunking)
    corpus.write_jsonl(records, out)
    return {"path": str(out), "articles": len(records), "chunks": chunks, "sentences": len(pool)}


# --- retrieval -------------------------------------------------------------------------------------


@phase
def anchors(args: dict[str, Any]) -> dict[str, Any]:
    """Embed `count` real chunks of the corpus (the seeds always included): the centres around which
    the synthetic retrieval corpora are scattered."""
    from assistant.chunking import chunk_article
    from assistant.loaders import load_paths

    settings = _settings(args["work"])
    loaded = load_paths([Path(p) for p in args["paths"]], csv=_csv(args))
    chunks = [c for a in loaded.articles for c in chunk_article(a, settings.chunking)]
    seeds = [c for c in chunks if c.source and not c.source.startswith("gnad10k")]
    rest = [c for c in chunks if c not in seeds]
    rng = random.Random(3)
    count = int(args["count"])
    picked = seeds[:count] + rng.sample(rest, min(len(rest), max(0, count - len(seeds))))
    embedder = TimedEmbedder(factory.make_embedder(settings))
    vectors = embedder.embed_passages([c.text for c in picked])
    out = Path(args["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out.with_suffix(".npy"), vectors)
    out.with_suffix(".json").write_text(
        json.dumps({"texts": [c.text for c in picked], "languages": [c.language for c in picked]}),
        encoding="utf-8",
    )
    return {
        "anchors": len(picked),
        "embed_s": round(embedder.passage_s, 3),
        "embed_s_per_chunk": round(embedder.passage_s / max(1, len(picked)), 4),
    }


def _load_anchors(path: str) -> tuple[list[str], list[str], np.ndarray]:
    base = Path(path)
    meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    return meta["texts"], meta["languages"], np.load(base.with_suffix(".npy"))


@phase
def build_synthetic_ours(args: dict[str, Any]) -> dict[str, Any]:
    """Upsert `size` synthetic chunks with their vectors straight into a ChromaIndex (no embedding),
    write the article manifest, then run the first search (which builds and caches BM25)."""
    size = int(args["size"])
    index_dir = Path(args["index_dir"])
    _fresh(index_dir)
    texts, languages, vectors = _load_anchors(args["anchors"])
    started = time.perf_counter()
    chunks, vecs = corpus.synthetic_chunks(size, texts, languages, vectors)
    generated = time.perf_counter() - started
    settings = _settings(index_dir)
    embedder = factory.make_embedder(settings)
    index = factory.make_index(settings, embedder)
    started = time.perf_counter()
    index.upsert(chunks, vecs)
    upserted = time.perf_counter() - started
    by_article: dict[str, list[str]] = defaultdict(list)
    for c in chunks:
        by_article[c.article_id].append(c.id)
    first = {c.article_id: c for c in reversed(chunks)}
    started = time.perf_counter()
    index.put_articles(
        [
            ArticleRecord(
                article_id=aid,
                content_hash=aid,
                origin="synthetic",
                title=first[aid].title,
                source=first[aid].source,
                language=first[aid].language,
                date=first[aid].date,
                chunk_ids=ids,
            )
            for aid, ids in by_article.items()
        ]
    )
    manifest = time.perf_counter() - started
    assistant = Assistant(settings, embedder=embedder, index=index)
    started = time.perf_counter()
    assistant.search("Abzug der Truppen", k=5)
    first_search = time.perf_counter() - started
    return {
        "size": size,
        "chunks_in_index": index.count(),
        "generate_s": round(generated, 3),
        "upsert_s": round(upserted, 3),
        "manifest_s": round(manifest, 3),
        "first_search_s": round(first_search, 3),
    }


@phase
def build_synthetic_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """The same synthetic chunks and vectors into a LangChain Chroma store via add_texts."""
    size = int(args["size"])
    store_dir = Path(args["store_dir"])
    _fresh(store_dir)
    texts, languages, vectors = _load_anchors(args["anchors"])
    chunks, vecs = corpus.synthetic_chunks(size, texts, languages, vectors)
    embeddings = baseline.PrecomputedEmbeddings()
    from langchain_chroma import Chroma

    started = time.perf_counter()
    store = Chroma(
        collection_name=baseline.COLLECTION,
        embedding_function=embeddings,
        persist_directory=str(store_dir),
        client_settings=baseline.client_settings(),
    )
    batch = 5000
    for i in range(0, size, batch):
        part = chunks[i : i + batch]
        embeddings.pending = vecs[i : i + batch]
        store.add_texts(
            [c.text for c in part],
            metadatas=[{"article_id": c.article_id, "title": c.title, "source": c.source} for c in part],
            ids=[c.id for c in part],
        )
    return {"size": size, "upsert_s": round(time.perf_counter() - started, 3)}


def _query_rounds(queries: list[str], rounds: int) -> Iterator[str]:
    for _ in range(rounds):
        yield from queries


@phase
def search_ours(args: dict[str, Any]) -> dict[str, Any]:
    """Latency of dense-only, BM25-only and hybrid search over an existing index, per query, with a
    breakdown of the hybrid path (query embedding, Chroma calls, the rest: BM25, fusion, Python)."""
    settings = _settings(args["index_dir"])
    embedder = TimedEmbedder(factory.make_embedder(settings))
    index = _timed_index(settings, embedder)
    assistant = Assistant(settings, embedder=embedder, index=index)
    queries = list(args["queries"])
    k = int(args.get("k", 5))

    started = time.perf_counter()
    assistant.search(queries[0], k=k)  # loads the model and the BM25 cache of this index
    first = time.perf_counter() - started
    for q in queries[: int(args.get("warmup", 3))]:
        assistant.search(q, k=k)

    dense: list[float] = []
    lexical: list[float] = []
    hybrid: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)
    for q in _query_rounds(queries, int(args.get("rounds", 3))):
        e0, s0 = embedder.query_s, dict(index.seconds)
        t = time.perf_counter()
        assistant.search(q, k=k)
        hybrid.append(time.perf_counter() - t)
        embed = embedder.query_s - e0
        delta = {name: index.seconds[name] - s0.get(name, 0.0) for name in index.seconds}
        parts["query_embedding"].append(embed)
        parts["chroma_query"].append(delta.get("query", 0.0))
        parts["chroma_fetch_missing"].append(delta.get("get_chunks", 0.0) + delta.get("vectors_of", 0.0))
        parts["generation_check"].append(delta.get("generation", 0.0))
        parts["bm25_fusion_other"].append(hybrid[-1] - embed - sum(delta.values()))

        t = time.perf_counter()
        vec = embedder.embed_queries([q])[0]
        index.query(vec, k)
        dense.append(time.perf_counter() - t)

        t = time.perf_counter()
        # What the retriever's lexical side does: check the index generation, then BM25.
        assistant._lexical_index().search(q, k)
        lexical.append(time.perf_counter() - t)

    return {
        "chunks": index.count(),
        "queries": len(queries),
        "first_search_s": round(first, 3),
        "dense_ms": summarize(dense, scale=1000),
        "bm25_ms": summarize(lexical, scale=1000),
        "hybrid_ms": summarize(hybrid, scale=1000),
        "hybrid_parts_ms": {name: summarize(v, scale=1000) for name, v in parts.items()},
    }


@phase
def search_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """Latency of the recipe's retrieval: similarity_search(q, k=4) (query embedding included)."""
    settings = _settings(args["store_dir"])
    embeddings = baseline.ProjectEmbeddings(factory.make_embedder(settings))
    store = baseline.open_store(Path(args["store_dir"]), embeddings)
    queries = list(args["queries"])
    started = time.perf_counter()
    store.similarity_search(queries[0], k=baseline.TOP_K)
    first = time.perf_counter() - started
    for q in queries[: int(args.get("warmup", 3))]:
        store.similarity_search(q, k=baseline.TOP_K)
    times: list[float] = []
    embeds: list[float] = []
    for q in _query_rounds(queries, int(args.get("rounds", 3))):
        e0 = embeddings.query_s
        t = time.perf_counter()
        store.similarity_search(q, k=baseline.TOP_K)
        times.append(time.perf_counter() - t)
        embeds.append(embeddings.query_s - e0)
    return {
        "chunks": int(store._collection.count()),
        "queries": len(queries),
        "first_search_s": round(first, 3),
        "similarity_search_ms": summarize(times, scale=1000),
        "query_embedding_ms": summarize(embeds, scale=1000),
    }


# --- answers ---------------------------------------------------------------------------------------


def _questions(ids: list[str] | None) -> list[Question]:
    return [q for q in QUESTIONS if ids is None or q.id in ids]


def _load_seconds(llm: object) -> float | None:
    seconds = getattr(llm, "load_seconds", None)
    return round(seconds, 3) if isinstance(seconds, float) else None


@phase
def answer_ours(args: dict[str, Any]) -> dict[str, Any]:
    """Ask each question through Assistant.ask_stream; time the first draft token and the final
    answer; score the verified answer and, for comparison, the unverified draft."""
    settings = _settings(args["index_dir"])
    embedder = factory.make_embedder(settings)
    llm = RecordingChatModel(factory.make_chat_model(settings))  # loads the model on first use
    assistant = Assistant(settings, embedder=embedder, index=factory.make_index(settings, embedder), llm=llm)
    ensure = assistant.ingest([Path(p) for p in args["paths"]], csv=_csv(args))
    backend, model = assistant.llm_info
    floor = settings.answer.min_relevance
    if floor is None:
        floor = float(getattr(assistant.embedder, "relevance_floor", 0.5))

    def ask(question: str) -> tuple[Answer, str, float, list[dict[str, Any]], list[float]]:
        """The answer, its first draft, total seconds, and this question's LLM calls and checks.

        The reader sees no draft tokens, only verified sentences: first token and first verified
        sentence are the answer's own timings (from the start of the question)."""
        started_calls, started_checks = len(llm.calls), len(llm.checks)
        started = time.perf_counter()
        answer: Answer | None = None
        for event in assistant.ask_stream(question):
            if isinstance(event, FinalEvent):
                answer = event.answer
        assert answer is not None
        calls = llm.calls[started_calls:]
        # The first generation of a question is its draft (the benchmark asks no follow-ups).
        draft = str(calls[0].get("text", "")) if calls else ""
        return answer, draft, time.perf_counter() - started, calls, llm.checks[started_checks:]

    warm, _, cold_total, _, _ = ask(WARMUP_QUESTION)
    cold = {
        "first_token_s": warm.timings.first_token_s,
        "first_sentence_s": warm.timings.first_sentence_s,
        "total_s": round(cold_total, 3),
        "question": WARMUP_QUESTION,
        "model_load_s": _load_seconds(llm),
    }

    rows = []
    for q in _questions(args.get("questions")):
        answer, draft, total, calls, checks = ask(q.text)
        facts = [list(f) for f in q.facts]
        final = grounding.score_answer(
            answer.answer,
            {c.marker: c.quote for c in answer.citations},
            titles={c.marker: c.title for c in answer.citations},
            question=q.text,
            language=answer.language,
            facts=facts,
            abstained=answer.abstained,
        )
        # The draft cites the evidence the model was shown: the sentences above the relevance floor.
        shown = [e for e in answer.evidence if e.score >= floor]
        draft_score = (
            grounding.score_answer(
                draft,
                {e.marker: e.quote for e in shown},
                titles={e.marker: e.title for e in shown},
                question=q.text,
                language=answer.language,
                facts=facts,
            )
            if draft
            else None
        )
        rows.append(
            {
                "id": q.id,
                "language": q.language,
                "question": q.text,
                "first_token_s": answer.timings.first_token_s,
                "first_sentence_s": answer.timings.first_sentence_s,
                "total_s": round(total, 3),
                "retrieve_s": answer.timings.retrieve_s,
                "checks": len(checks),
                "checks_s": round(sum(checks), 3),
                "mode": answer.mode,
                "answer": answer.answer,
                "draft": draft,
                "cited_articles": sorted({c.article_id for c in answer.citations}),
                "expected_article": q.article,
                # The answer prompt's own stats; later calls (translating quotes) are listed apart.
                "llm_stats": calls[0] if calls else None,
                "llm_calls": calls,
                "grounding": final,
                "draft_grounding": draft_score,
            }
        )
    assistant.close()
    return {
        "backend": backend,
        "model": model,
        "index_chunks": assistant.index.count(),
        "ensure_ingest": {"added": ensure.added, "unchanged": ensure.unchanged, "seconds": ensure.seconds},
        "cold": cold,
        "questions": rows,
    }


@phase
def answer_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """The recipe: similarity_search(k=4), the four chunks stuffed into one prompt, the same ChatModel
    streamed; the raw output is what the reader would see."""
    settings = _settings(args["store_dir"])
    embeddings = baseline.ProjectEmbeddings(factory.make_embedder(settings))
    store = baseline.open_store(Path(args["store_dir"]), embeddings)
    llm = RecordingChatModel(factory.make_chat_model(settings))
    backend, model = factory.describe_chat_model(settings)

    def ask(question: str) -> tuple[list[Any], str, float | None, float]:
        started = time.perf_counter()
        docs = store.similarity_search(question, k=baseline.TOP_K)
        messages = baseline.stuff_messages(question, docs)
        first: float | None = None
        pieces: list[str] = []
        for piece in llm.stream(
            messages, max_tokens=settings.llm.max_tokens, temperature=settings.llm.temperature
        ):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
        return docs, "".join(pieces), first, time.perf_counter() - started

    _, _, cold_first, cold_total = ask(WARMUP_QUESTION)
    cold = {
        "first_token_s": None if cold_first is None else round(cold_first, 3),
        "total_s": round(cold_total, 3),
        "question": WARMUP_QUESTION,
        "model_load_s": _load_seconds(llm),
    }

    rows = []
    for q in _questions(args.get("questions")):
        docs, text, first, total = ask(q.text)
        sources = {i: d.page_content for i, d in enumerate(docs, start=1)}
        score = grounding.score_answer(
            text,
            sources,
            titles={i: str(d.metadata.get("title", "")) for i, d in enumerate(docs, start=1)},
            question=q.text,
            language=q.language,
            facts=[list(f) for f in q.facts],
        )
        rows.append(
            {
                "id": q.id,
                "language": q.language,
                "question": q.text,
                "first_token_s": None if first is None else round(first, 3),
                "total_s": round(total, 3),
                "answer": text,
                "retrieved_articles": [str(d.metadata.get("article_id")) for d in docs],
                "expected_article": q.article,
                "llm_stats": llm.calls[-1] if llm.calls else None,
                "llm_calls": llm.calls[-1:],
                "grounding": score,
            }
        )
    llm.close()
    return {"backend": backend, "model": model, "cold": cold, "questions": rows}
