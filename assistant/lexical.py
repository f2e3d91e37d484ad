"""BM25 over the indexed chunks: built once per index generation, cached on disk, scored by bm25s.

Why bm25s and not the numpy postings this module had (benchmarks/results/bm25-2026-12-01.md): the
same terms give the same rankings (48 of 48 top-40 lists identical at 10k and 100k chunks, every
eval metric equal), and bm25s's sparse matrix takes 2-5x less memory once loaded (14 vs 68 MB at
10k chunks, 73 vs 164 MB at 100k), loads and saves faster and builds in 0.8-0.9x the CPU; its build
peaks higher at 100k (682 vs 589 MiB). Every search process holds the index, a build runs once per
generation, and the scorer is one fewer thing written by hand.

Terms come from the text layer (`assistant.text.terms`: stop-words lists, Snowball stems). A chunk
is stemmed with its own language's stemmer; a query with every supported language's stemmer (the
union of the terms), because the question's language often differs from the chunk's and a query
term can only match a chunk term that was stemmed the same way. Measured on 2026-12-01 (ct2
embedder, k = 5, search only; news: evals/cases.yaml without history + the GNAD `International`
distractors, 37 cases; XQuAD-dev: 522 answerable questions per language over the German paragraphs;
all chunks of both corpora are German), article recall / MRR (news also chunk recall / MRR):

| query terms                  | news (hybrid)           | XQuAD en (hybrid) | XQuAD de (hybrid) |
| ---------------------------- | ----------------------- | ----------------- | ----------------- |
| old (textproc.py, removed)   | .946 .912 .865 .768     | .992 .914         | .994 .967         |
| chunk's language (German)    | .946 .912 .865 .768     | .992 .914         | .994 .965         |
| query's language             | .946 .912 .865 .782     | .990 .911         | .994 .965         |
| both stemmers (kept)         | .946 .912 .865 .768     | .992 .914         | .994 .967         |

BM25 alone (the same cases, lexical ranking only) tells them apart more: XQuAD en article recall
.776 (old), .780 (chunk's language), .674 (query's language), .799 (both); news .851 / .824 / .824 /
.824; XQuAD de .971 / .973 / .973 / .973. The query's language alone loses English questions over
German text; both stemmers keep what the chunk's stemmer finds and add the shared Latin and Greek
roots, which the English stemmer brings to the German stem ("theory"/"Theorie" -> "theori",
"historical"/"historisch" -> "histor", "family"/"Familie" -> "famili"). Hybrid results equal the old
tokenizer's, with one source of word knowledge instead of hand-written lists. (The first three rows
detect the query's language with textproc's detector, the last with `assistant.text.language`, as
the retriever now does; with the old detector "both" gave .966 on XQuAD de.)
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.dates import date_number
from assistant.text.language import SUPPORTED
from assistant.text.terms import tokenize
from assistant.types import Chunk, Filters

log = logging.getLogger(__name__)


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG when imported; how much a library logs is the application's
    # choice, so its logger goes back to inheriting the application's level.
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


# 3: terms from assistant.text; 4: bm25s. A cache of another format or bm25s version is rebuilt.
_FORMAT = 4


def cache_format() -> str:
    from importlib.metadata import version

    return f"{_FORMAT}/bm25s-{version('bm25s')}"


def chunk_terms(chunk: Chunk) -> list[str]:
    """A chunk's terms, stemmed in its language; the first chunk of an article also has the title's."""
    text = chunk.title + "\n" + chunk.text if chunk.index == 0 else chunk.text
    return tokenize(text, chunk.language)


def query_terms(query: str) -> set[str]:
    """The query's terms under every supported language's stemmer (see the module docstring)."""
    return {term for language in SUPPORTED for term in tokenize(query, language)}


def _codes(values: list[str]) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Distinct values and each item's position among them: filter masks compare small integers."""
    names = sorted(set(values))
    position = {name: i for i, name in enumerate(names)}
    return names, np.fromiter((position[v] for v in values), dtype=np.int32, count=len(values))


def _positions(names: list[str], wanted: list[str]) -> list[int]:
    keep = set(wanted)
    return [i for i, name in enumerate(names) if name in keep]


@dataclass
class Bm25Index:
    """bm25s over the chunks' terms, with the per-chunk metadata filters need (no texts: those stay
    in Chroma). Scores are Lucene's BM25 (k1 1.2, b 0.75)."""

    generation: str
    ids: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # distinct values; per chunk: source_codes
    languages: list[str] = field(default_factory=list)
    source_codes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    language_codes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    date_nums: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    model: Any = None  # a bm25s.BM25, None while there are no chunks
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, chunks: Iterable[Chunk], generation: str) -> Bm25Index:
        bm25s = _bm25s()

        index = cls(generation=generation)
        sources: list[str] = []
        languages: list[str] = []
        dates: list[int] = []
        corpus: list[list[str]] = []
        for chunk in chunks:
            index.ids.append(chunk.id)
            index.article_ids.append(chunk.article_id)
            sources.append(chunk.source)
            languages.append(chunk.language)
            dates.append(date_number(chunk.date))
            corpus.append(chunk_terms(chunk))
        index.sources, index.source_codes = _codes(sources)
        index.languages, index.language_codes = _codes(languages)
        index.date_nums = np.asarray(dates, dtype=np.int64)
        if corpus:
            index.model = bm25s.BM25(k1=index.k1, b=index.b, method="lucene")
            index.model.index(corpus, show_progress=False)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def _mask(self, filters: Filters | None) -> npt.NDArray[np.bool_] | None:
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if filters.sources:
            mask &= np.isin(self.source_codes, _positions(self.sources, filters.sources))
        if filters.languages:
            mask &= np.isin(self.language_codes, _positions(self.languages, filters.languages))
        if filters.date_from:
            mask &= self.date_nums >= date_number(filters.date_from)
        if filters.date_to:
            mask &= (self.date_nums <= date_number(filters.date_to, end=True)) & (self.date_nums > 0)
        return mask

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if self.model is None:
            return []
        term_ids = self.model.get_tokens_ids(sorted(query_terms(query)))
        if not term_ids:
            return []
        scores: npt.NDArray[np.float32] = self.model.get_scores_from_ids(term_ids)
        mask = self._mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = min(k, int(np.count_nonzero(scores)))
        if top == 0:
            return []
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best]


class LexicalCache:
    """Keeps the BM25 index of one collection current: in memory, backed by a pickle on disk."""

    def __init__(self, cache_file: Path | None) -> None:
        self._file = cache_file
        self._index: Bm25Index | None = None

    def get(self, generation: str, chunks: Callable[[], Iterable[Chunk]]) -> Bm25Index:
        if self._index is not None and self._index.generation == generation:
            return self._index
        loaded = self._load(generation)
        if loaded is None:
            log.info("building the lexical index (generation %s)", generation)
            loaded = Bm25Index.build(chunks(), generation)
            self._save(loaded)
        self._index = loaded
        return loaded

    def invalidate(self) -> None:
        self._index = None

    def _load(self, generation: str) -> Bm25Index | None:
        if self._file is None or not self._file.is_file():
            return None
        _bm25s()  # the pickle imports it: quiet its logger first
        try:
            with self._file.open("rb") as fh:
                fmt, stored = pickle.load(fh)
        except Exception:  # a corrupt or foreign cache is rebuilt, never trusted
            log.warning("ignoring unreadable lexical cache %s", self._file)
            return None
        if fmt != cache_format() or not isinstance(stored, Bm25Index) or stored.generation != generation:
            return None
        return stored

    def _save(self, index: Bm25Index) -> None:
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self._file.name, dir=self._file.parent)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((cache_format(), index), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file)
        except OSError as exc:
            log.warning("could not write the lexical cache %s: %s", self._file, exc)
