"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused with weights that depend on
whether a passage is in the question's language, then capped per article."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from assistant.backends.base import Embedder, VectorIndex
from assistant.config import RetrievalSettings
from assistant.errors import InputError
from assistant.lexical import Bm25Index
from assistant.text.language import detect_language
from assistant.text.names import alias_forms
from assistant.types import Chunk, Filters, Passage

log = logging.getLogger(__name__)


def _minmax(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-9:
        return {key: 1.0 for key in values}
    return {key: (v - lo) / (hi - lo) for key, v in values.items()}


class Retriever:
    """Why weighted score fusion and not plain RRF: BM25 matches across languages only on names and
    numbers, so for an English question over German text its ranking is mostly noise and RRF lets
    that noise outvote the embedding. Lexical evidence is therefore weighted by language match, and
    dense similarity is computed for every candidate (also the lexical-only ones) so both sides are
    compared on the same passages."""

    def __init__(
        self,
        settings: RetrievalSettings,
        embedder: Embedder,
        index: VectorIndex,
        lexical: Callable[[], Bm25Index],
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._index = index
        self._lexical = lexical

    def search(
        self, query: str, *, k: int | None = None, filters: Filters | None = None, language: str | None = None
    ) -> list[Passage]:
        query = query.strip()
        if not query:
            raise InputError("The query is empty: type a question or some keywords.")
        k = k or self._settings.k
        n = max(self._settings.candidates, k * 4)
        q_lang = language or detect_language(query, default="en")
        qvec = self._embedder.embed_queries([query])[0]

        dense_hits = self._index.query(qvec, n, filters)
        chunks: dict[str, Chunk] = {c.id: c for c, _ in dense_hits}
        dense: dict[str, float] = {c.id: s for c, s in dense_hits}
        # Names in the other language's spelling too (Belarus/Weißrussland, ECB/EZB): BM25 matches
        # across languages on names only, and then only on the ones spelled alike.
        lexical_query = " ".join([query, *alias_forms(query, q_lang)])
        lexical = dict(self._lexical().search(lexical_query, n, filters))

        missing = [cid for cid in lexical if cid not in chunks]
        if missing:
            for chunk in self._index.get_chunks(missing):
                chunks[chunk.id] = chunk
            for cid, vec in self._index.vectors_of(missing).items():
                dense[cid] = float(np.dot(vec, qvec))
        if not chunks:
            return []

        dense_n = _minmax(dense)
        top_lex = max(lexical.values()) if lexical else 0.0
        s = self._settings
        fused: list[Passage] = []
        for cid, chunk in chunks.items():
            lex = lexical.get(cid, 0.0)
            lex_n = lex / top_lex if top_lex > 0 else 0.0
            w_lex = s.lexical_weight if chunk.language == q_lang else s.cross_lingual_lexical_weight
            score = s.dense_weight * dense_n.get(cid, 0.0) + w_lex * lex_n
            fused.append(
                Passage(chunk=chunk, score=score, dense_score=dense.get(cid), lexical_score=lex or None)
            )
        fused.sort(key=lambda p: (-p.score, p.chunk.id))
        return self._cap_per_article(fused, k)

    def _cap_per_article(self, ranked: list[Passage], k: int) -> list[Passage]:
        per: dict[str, int] = {}
        kept: list[Passage] = []
        for passage in ranked:
            aid = passage.chunk.article_id
            if per.get(aid, 0) >= self._settings.per_article:
                continue
            per[aid] = per.get(aid, 0) + 1
            kept.append(passage)
            if len(kept) == k:
                break
        return kept
