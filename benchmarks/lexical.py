"""BM25 (assistant/lexical.py, on bm25s): the eval's and XQuAD-dev's retrieval metrics with search
only, and build, query and memory at 10k and 100k chunks, one process per phase.

    python -m benchmarks.lexical quality                 # eval + XQuAD retrieval metrics
    python -m benchmarks.lexical corpus --chunks 100000  # the synthetic chunks, once, to the work folder
    python -m benchmarks.lexical tokenize --chunks 100000  # what a build spends on terms
    python -m benchmarks.lexical build --chunks 100000   # one process: build + write the cache
    python -m benchmarks.lexical query --chunks 100000   # one process: load the cache + queries

`quality`: the eval's corpus (samples + GNAD `International`, `prepare_corpus`) and XQuAD-dev's
German paragraphs (`prepare_xquad`), each in an index of its own in the work folder; every case with
expected articles and no history searched with the project's `Retriever` (hybrid, as users get it)
and with the BM25 index alone (top 40, at most `per_article` per article, as the retriever caps),
scored by `retrieval_scores` at k = 5. `build` and `query` print one JSON line each, so that a
whole-process timer can run them. The comparison that chose bm25s over the numpy postings lexical.py
had before (`--impl`, `agree`) is in benchmarks/results/bm25-2026-12-01.md and this module's history.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pickle
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings
from assistant.lexical import Bm25Index, cache_format, chunk_terms
from assistant.types import Chunk, Filters, Passage
from benchmarks.corpus import DEFAULT_GNAD, SEED_DIR, synthetic_chunks
from benchmarks.questions import RETRIEVAL_QUERIES

log = logging.getLogger("benchmarks.lexical")

_EVAL_K = 5
_CANDIDATES = 40
XQUAD_DIR = Path(__file__).resolve().parents[2] / "shared" / "xquad-dev"
FILTERS = Filters(languages=["de"], date_from="2018-01-01")


def default_work() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-assistant" / "bench" / "bm25"


class Lexical(Protocol):
    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]: ...


def save(index: Bm25Index, path: Path) -> int:
    """Writes the index as LexicalCache does; returns the bytes on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump((cache_format(), index), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path.stat().st_size


def load(path: Path) -> Bm25Index:
    with path.open("rb") as fh:
        index: Bm25Index = pickle.load(fh)[1]
    return index


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _ms(values: list[float]) -> dict[str, float]:
    values = sorted(v * 1000 for v in values)
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))], 2),
        "mean": round(sum(values) / len(values), 2),
    }


# --- the synthetic corpora ---------------------------------------------------------------------------


def corpus_file(work: Path, size: int) -> Path:
    return work / f"synthetic-{size}.pkl"


def make_corpus(work: Path, size: int, gnad: Path = DEFAULT_GNAD) -> Path:
    """`size` chunks whose texts reshuffle the sentences of real chunks (samples + all of GNAD),
    benchmarks.corpus.synthetic_chunks' texts and metadata (no vectors needed here)."""
    from assistant.chunking import chunk_article
    from assistant.loaders import CsvOptions, load_paths

    target = corpus_file(work, size)
    if target.is_file():
        return target
    chunking = Settings().chunking
    articles = load_paths([SEED_DIR]).articles
    if gnad.is_file():
        articles += load_paths([gnad], csv=CsvOptions.gnad()).articles
    anchors = [c for a in articles for c in chunk_article(a, chunking)]
    chunks, _ = synthetic_chunks(
        size,
        [c.text for c in anchors],
        [c.language for c in anchors],
        np.zeros((len(anchors), 1), np.float32),
    )
    work.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        pickle.dump(chunks, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return target


def _chunks(work: Path, size: int) -> list[Chunk]:
    with corpus_file(work, size).open("rb") as fh:
        chunks: list[Chunk] = pickle.load(fh)
    return chunks


def cache_path(work: Path, size: int) -> Path:
    return work / "cache" / f"synthetic-{size}.bm25.pkl"


def run_build(work: Path, size: int) -> dict[str, Any]:
    chunks = _chunks(work, size)
    gc.collect()
    rss0 = _rss_mb()
    started = time.perf_counter()
    index = Bm25Index.build(chunks, "bench")
    build_s = time.perf_counter() - started
    gc.collect()
    rss1 = _rss_mb()
    started = time.perf_counter()
    size_bytes = save(index, cache_path(work, size))
    return {
        "chunks": len(chunks),
        "build_s": round(build_s, 3),
        "save_s": round(time.perf_counter() - started, 3),
        "cache_mb": round(size_bytes / 2**20, 1),
        "rss_growth_build_mb": round(rss1 - rss0, 1),
    }


def run_tokenize(work: Path, size: int) -> dict[str, Any]:
    """What a build spends on terms: every chunk's, with the text layer's tokenizer."""
    chunks = _chunks(work, size)
    started = time.perf_counter()
    n = sum(len(chunk_terms(c)) for c in chunks)
    return {"chunks": len(chunks), "terms": n, "tokenize_s": round(time.perf_counter() - started, 3)}


def run_query(work: Path, size: int, rounds: int = 5) -> dict[str, Any]:
    gc.collect()
    rss0 = _rss_mb()
    started = time.perf_counter()
    index = load(cache_path(work, size))
    load_s = time.perf_counter() - started
    gc.collect()
    rss1 = _rss_mb()
    queries = list(RETRIEVAL_QUERIES)
    for q in queries[:3]:
        index.search(q, _CANDIDATES)
    plain: list[float] = []
    filtered: list[float] = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            index.search(q, _CANDIDATES)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(q, _CANDIDATES, FILTERS)
            filtered.append(time.perf_counter() - t)
    return {
        "chunks": len(index),
        "load_s": round(load_s, 3),
        "rss_loaded_index_mb": round(rss1 - rss0, 1),
        "queries": len(plain),
        "top": _CANDIDATES,
        "query_ms": _ms(plain),
        "filtered_query_ms": _ms(filtered),
    }


# --- retrieval metrics -------------------------------------------------------------------------------


class _CachedQueries:
    """The embedder, with query vectors remembered: each case is searched twice."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cache: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        for t in texts:
            if t not in self._cache:
                self._cache[t] = self._inner.embed_queries([t])[0]
        return np.stack([self._cache[t] for t in texts])


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(sum(kept) / len(kept), 3) if kept else None


def score_cases(
    assistant: Any, cases: Sequence[Any], lexical: Lexical, *, bm25_alone: bool
) -> dict[str, Any]:
    from assistant.evaluation.metrics import retrieval_scores
    from assistant.retrieve import Retriever

    retriever = Retriever(assistant.settings.retrieval, assistant.embedder, assistant.index, lambda: lexical)
    per_article = assistant.settings.retrieval.per_article
    scores = []
    for case in cases:
        if bm25_alone:
            hits = lexical.search(case.question, _CANDIDATES)
            chunks = {c.id: c for c in assistant.index.get_chunks([cid for cid, _ in hits])}
            seen: dict[str, int] = {}
            passages: list[Passage] = []
            for cid, score in hits:
                aid = chunks[cid].article_id
                if seen.get(aid, 0) < per_article and len(passages) < _EVAL_K:
                    seen[aid] = seen.get(aid, 0) + 1
                    passages.append(Passage(chunk=chunks[cid], score=score))
        else:
            passages = retriever.search(case.question, k=_EVAL_K)
        scores.append(retrieval_scores(case, passages, _EVAL_K))
    kept = [s for s in scores if s is not None]
    return {
        "cases": len(kept),
        "article_recall": _mean(s.article_recall for s in kept),
        "article_mrr": _mean(s.article_rr for s in kept),
        "chunk_recall": _mean(s.chunk_recall for s in kept),
        "chunk_mrr": _mean(s.chunk_rr for s in kept),
    }


def _assistant(work: Path, name: str, prefix: str) -> Any:
    from assistant.service import Assistant

    assistant = Assistant.from_settings(
        Settings(index={"path": str(work / f"index-{name}"), "prefix": prefix})
    )
    assistant.embedder = _CachedQueries(assistant.embedder)
    return assistant


def suites(work: Path) -> list[tuple[str, Any, list[Any]]]:
    """(name, assistant, cases) of the news eval and of XQuAD-dev's English and German questions."""
    from assistant.evaluation.cases import load_cases
    from assistant.evaluation.runner import prepare_corpus
    from assistant.evaluation.xquad import load_xquad, prepare_xquad
    from assistant.paths import default_evals_dir

    news = _assistant(work, "news", "eval")
    info = prepare_corpus(news, include_distractors=None)
    cases = [
        c for c in load_cases(default_evals_dir() / "cases.yaml") if c.expected_articles and not c.history
    ]
    found = [(f"news{'' if info.distractors else ' (no distractors)'}", news, cases)]
    if (XQUAD_DIR / "xquad.de.json").is_file():
        xquad = _assistant(work, "xquad", "evalxquad")
        data = load_xquad(XQUAD_DIR)
        prepare_xquad(xquad, data, XQUAD_DIR)
        for lang in ("en", "de"):
            xcases = [c for c in data.cases if c.expected_articles and c.language == lang]
            found.append((f"xquad-{lang}", xquad, xcases))
    return found


def quality(work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, assistant, cases in suites(work):
        chunks = list(assistant.index.iter_chunks())
        index = Bm25Index.build(chunks, "bench")
        out[name] = {
            "chunks": len(chunks),
            "hybrid": score_cases(assistant, cases, index, bm25_alone=False),
            "bm25_alone": score_cases(assistant, cases, index, bm25_alone=True),
        }
        log.info("%s %s", name, out[name])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lexical", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("quality", "corpus", "tokenize", "build", "query"))
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--work", type=Path, default=default_work())
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    actions: dict[str, Callable[[], Any]] = {
        "quality": lambda: quality(args.work),
        "corpus": lambda: {"corpus": str(make_corpus(args.work, args.chunks))},
        "tokenize": lambda: run_tokenize(args.work, args.chunks),
        "build": lambda: run_build(args.work, args.chunks),
        "query": lambda: run_query(args.work, args.chunks, args.rounds),
    }
    print(json.dumps(actions[args.what](), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
