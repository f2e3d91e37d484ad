"""Evidence: the few sentences of the retrieved passages the model is shown, numbered from 1.

Every sentence of every passage is scored against the question with the multilingual embedder (so
an English question finds German sentences), plus a small same-language term-overlap bonus and the
passage's own hybrid score; the best fill a character budget. The neighbourhood of a quote and
whether a text holds the kind of fact a question asks for are read here too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.backends.base import Embedder
from assistant.text.questions import QuestionKind, has_number_fact, has_temporal_fact
from assistant.text.sentences import split_sentences
from assistant.text.terms import tokenize
from assistant.types import Evidence, Passage

_MIN_SENTENCE_CHARS = 25


@dataclass
class _Candidate:
    passage: Passage
    start: int  # offset in the chunk text
    end: int
    text: str


def select_evidence(
    question: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    *,
    max_evidence: int,
    max_chars: int | None = None,
) -> list[Evidence]:
    """Score every sentence of the retrieved passages against the question (cross-lingual, with e5)
    plus a small same-language term-overlap bonus; return the best, numbered from 1.

    `max_chars` caps the quoted text in total (the best sentence is always kept): prompt tokens are
    what the answer's first token waits for on a CPU, and a few long sentences can double them."""
    candidates = _sentences(passages)
    if not candidates:
        return []
    qvec = embedder.embed_queries([question])[0]
    sims = embedder.embed_passages([c.text for c in candidates]) @ qvec
    q_terms = set(tokenize(question))
    scored: list[tuple[float, _Candidate]] = []
    for cand, sim in zip(candidates, sims, strict=True):
        overlap = len(q_terms & set(tokenize(cand.text))) / max(1, len(q_terms))
        # The passage's hybrid score carries lexical and whole-chunk context a lone sentence lacks.
        scored.append((float(sim) + 0.05 * overlap + 0.03 * cand.passage.score, cand))
    scored.sort(key=lambda item: -item[0])
    evidence: list[Evidence] = []
    used = 0
    for score, cand in scored:
        if len(evidence) >= max_evidence:
            break
        if evidence and max_chars is not None and used + len(cand.text) > max_chars:
            continue  # a shorter, lower-ranked sentence may still fit
        used += len(cand.text)
        evidence.append(_to_evidence(cand, len(evidence) + 1, score))
    return evidence


def _sentences(passages: Sequence[Passage]) -> list[_Candidate]:
    """Each sentence of the passages once (overlapping chunks repeat some), short fragments left out."""
    seen: set[tuple[str, int]] = set()
    candidates: list[_Candidate] = []
    for passage in passages:
        chunk = passage.chunk
        for start, end in split_sentences(chunk.text, chunk.language):
            sentence = chunk.text[start:end]
            key = (chunk.article_id, chunk.start + start)
            if key in seen or len(sentence) < _MIN_SENTENCE_CHARS:
                continue
            seen.add(key)
            candidates.append(_Candidate(passage, start, end, sentence))
    return candidates


def _to_evidence(cand: _Candidate, marker: int, score: float) -> Evidence:
    chunk = cand.passage.chunk
    return Evidence(
        marker=marker,
        article_id=chunk.article_id,
        chunk_id=chunk.id,
        title=chunk.title,
        source=chunk.source,
        date=chunk.date,
        url=chunk.url,
        language=chunk.language,
        quote=cand.text,
        start=chunk.start + cand.start,
        end=chunk.start + cand.end,
        score=round(score, 4),
        context=chunk.text,
    )


_NEIGHBOURHOOD_CHARS = 500


def with_neighbours(evidence: Evidence, limit: int = _NEIGHBOURHOOD_CHARS) -> str:
    """The quote and the sentences before and after it in its chunk, as far as `limit` allows
    (the quote itself always)."""
    context = evidence.context
    at = context.find(evidence.quote) if context else -1
    if at < 0:
        return evidence.quote
    spans = split_sentences(context, evidence.language)
    index = next((i for i, (a, b) in enumerate(spans) if a <= at < b), None)
    if index is None:
        return evidence.quote
    start, end = at, at + len(evidence.quote)
    for i in (index - 1, index + 1):
        if 0 <= i < len(spans):
            a, b = spans[i]
            if max(end, b) - min(start, a) <= limit:
                start, end = min(start, a), max(end, b)
    return context[start:end]


def answers_kind(text: str, kind: QuestionKind, language: str) -> bool:
    """The text holds the kind of fact the question asks for (for when/how many; others: True)."""
    if kind == "when":
        return has_temporal_fact(text, language)
    if kind == "number":
        return has_number_fact(text, language)
    return True
