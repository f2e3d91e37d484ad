"""BM25 over the indexed chunks: built once per index generation, cached on disk, queried in numpy.

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
import math
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.backends.index_chroma import date_number
from assistant.text.language import SUPPORTED
from assistant.text.terms import tokenize
from assistant.types import Chunk, Filters

log = logging.getLogger(__name__)

# 3: terms from assistant.text (Snowball stems per chunk language); older caches are rebuilt.
_FORMAT = 3


def chunk_terms(chunk: Chunk) -> list[str]:
    """A chunk's terms, stemmed in its language; the first chunk of an article also has the title's."""
    text = chunk.title + "\n" + chunk.text if chunk.index == 0 else chunk.text
    return tokenize(text, chunk.language)


def query_terms(query: str) -> set[str]:
    """The query's terms under every supported language's stemmer (see the module docstring)."""
    return {term for language in SUPPORTED for term in tokenize(query, language)}


@dataclass
class Bm25Index:
    """Inverted index with per-chunk metadata needed for filtering (no texts: those stay in Chroma)."""

    generation: str
    ids: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    date_nums: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    doc_len: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    postings: dict[str, tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]] = field(default_factory=dict)
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, chunks: Iterable[Chunk], generation: str) -> Bm25Index:
        index = cls(generation=generation)
        lengths: list[int] = []
        dates: list[int] = []
        raw: dict[str, tuple[list[int], list[int]]] = {}
        for i, chunk in enumerate(chunks):
            index.ids.append(chunk.id)
            index.article_ids.append(chunk.article_id)
            index.languages.append(chunk.language)
            index.sources.append(chunk.source)
            dates.append(date_number(chunk.date))
            terms = chunk_terms(chunk)
            lengths.append(len(terms))
            for term, tf in Counter(terms).items():
                docs, tfs = raw.setdefault(term, ([], []))
                docs.append(i)
                tfs.append(tf)
        index.doc_len = np.asarray(lengths, dtype=np.float32)
        index.date_nums = np.asarray(dates, dtype=np.int64)
        index.postings = {
            t: (np.asarray(d, dtype=np.int32), np.asarray(f, dtype=np.float32)) for t, (d, f) in raw.items()
        }
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def _mask(self, filters: Filters | None) -> npt.NDArray[np.bool_] | None:
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if filters.sources:
            allowed = set(filters.sources)
            mask &= np.fromiter((s in allowed for s in self.sources), dtype=bool, count=len(self.ids))
        if filters.languages:
            langs = set(filters.languages)
            mask &= np.fromiter((lg in langs for lg in self.languages), dtype=bool, count=len(self.ids))
        if filters.date_from:
            mask &= self.date_nums >= date_number(filters.date_from)
        if filters.date_to:
            mask &= (self.date_nums <= date_number(filters.date_to, end=True)) & (self.date_nums > 0)
        return mask

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        n = len(self.ids)
        if n == 0:
            return []
        scores = np.zeros(n, dtype=np.float32)
        avgdl = float(self.doc_len.mean()) or 1.0
        for term in sorted(query_terms(query)):  # a fixed order: float sums, hence ties, repeat
            posting = self.postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            idf = math.log(1.0 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            norm = tfs + self.k1 * (1.0 - self.b + self.b * self.doc_len[docs] / avgdl)
            scores[docs] += idf * tfs * (self.k1 + 1.0) / norm
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
        try:
            with self._file.open("rb") as fh:
                fmt, stored = pickle.load(fh)
        except Exception:  # a corrupt or foreign cache is rebuilt, never trusted
            log.warning("ignoring unreadable lexical cache %s", self._file)
            return None
        if fmt != _FORMAT or not isinstance(stored, Bm25Index) or stored.generation != generation:
            return None
        return stored

    def _save(self, index: Bm25Index) -> None:
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self._file.name, dir=self._file.parent)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((_FORMAT, index), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file)
        except OSError as exc:
            log.warning("could not write the lexical cache %s: %s", self._file, exc)
