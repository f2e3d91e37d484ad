"""Deterministic eval metrics: pure functions over a Case, the Answer and the retrieved passages,
plus their aggregation over a run. Independent of the answer pipeline's own verifier on purpose."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from assistant.backends.base import Message
from assistant.evaluation.cases import Case
from assistant.evaluation.claims import (
    MARKER,
    SentenceSupport,
    answer_language,
    answer_markers,
    citation_support,
    matches,
    soft_normalise,
    split_sentences,
    strip_markers,
)
from assistant.prompts import PromptTemplate
from assistant.types import Answer, Passage

# --- facts and forbidden claims --------------------------------------------------------------------


def fact_hits(case: Case, answer_text: str) -> list[bool]:
    """Per fact of the case: does the answer state one of its alternatives?"""
    return [any(matches(alt, answer_text) for alt in fact) for fact in case.facts]


def forbidden_hits(case: Case, answer_text: str) -> list[str]:
    """The case's forbidden matchers that occur in the answer."""
    return [f for f in case.forbidden if matches(f, answer_text)]


# --- retrieval -------------------------------------------------------------------------------------


class RetrievalScores(BaseModel):
    article_recall: float
    article_rr: float
    chunk_recall: float | None = None
    chunk_rr: float | None = None


def _squash(text: str) -> str:
    return " ".join(soft_normalise(text).split())


def evidence_in_chunk(evidence: str, chunk_text: str) -> bool:
    return _squash(evidence) in _squash(chunk_text)


def retrieval_scores(case: Case, passages: Sequence[Passage], k: int) -> RetrievalScores | None:
    """Recall@k and reciprocal rank, by article and by chunk (a chunk is relevant when it belongs to an
    expected article and contains one of the case's evidence excerpts). None for cases without targets."""
    if not case.expected_articles:
        return None
    top = list(passages)[:k]
    expected = set(case.expected_articles)
    found = {p.chunk.article_id for p in top} & expected
    article_rr = next((1.0 / i for i, p in enumerate(top, 1) if p.chunk.article_id in expected), 0.0)
    scores = RetrievalScores(article_recall=len(found) / len(expected), article_rr=article_rr)
    if case.evidence:
        relevant = [p for p in top if p.chunk.article_id in expected]
        held = [e for e in case.evidence if any(evidence_in_chunk(e, p.chunk.text) for p in relevant)]
        scores.chunk_recall = len(held) / len(case.evidence)
        scores.chunk_rr = next(
            (
                1.0 / i
                for i, p in enumerate(top, 1)
                if p.chunk.article_id in expected
                and any(evidence_in_chunk(e, p.chunk.text) for e in case.evidence)
            ),
            0.0,
        )
    return scores


# --- citations -------------------------------------------------------------------------------------


def citation_validity(answer: Answer) -> tuple[int, int]:
    """(valid, total) markers in the answer text; valid = a citation with that marker exists."""
    known = {c.marker for c in answer.citations}
    markers = answer_markers(answer.answer)
    return sum(m in known for m in markers), len(markers)


def quote_fidelity(answer: Answer, article_texts: Mapping[str, str]) -> tuple[int, int]:
    """(faithful, total) citations; faithful = the quote is non-empty and occurs verbatim in the cited
    article's text. A citation of an article the corpus does not hold is unfaithful."""
    ok = 0
    for c in answer.citations:
        text = article_texts.get(c.article_id)
        if text is not None and c.quote.strip() and c.quote in text:
            ok += 1
    return ok, len(answer.citations)


# --- per-case scores and aggregation ---------------------------------------------------------------

# How the answer pipeline reports a draft sentence its verifier rejected (Answer.notes).
DROPPED_NOTE_PREFIX = "dropped:"


class CaseScores(BaseModel):
    """Everything measured on one case; None where a measure does not apply."""

    abstained: bool
    abstention_correct: bool
    retrieval: RetrievalScores | None = None
    markers_valid: int = 0
    markers_total: int = 0
    quotes_faithful: int = 0
    quotes_total: int = 0
    support: list[SentenceSupport] = Field(default_factory=list)
    fact_hits: list[bool] = Field(default_factory=list)
    forbidden_hits: list[str] = Field(default_factory=list)
    language_ok: bool = True
    source_hit: bool | None = Field(
        default=None, description="Answered case with expected articles: does a citation come from one?"
    )
    mode: str = "generated"
    draft_rejected: int = Field(default=0, description="Draft sentences the pipeline's verifier dropped.")

    @property
    def fact_recall(self) -> float | None:
        return sum(self.fact_hits) / len(self.fact_hits) if self.fact_hits else None

    @property
    def correct_in_language(self) -> bool | None:
        """All facts stated, in the question's language (None for cases without facts)."""
        if not self.fact_hits:
            return None
        return all(self.fact_hits) and self.language_ok and not self.abstained

    @property
    def passed(self) -> bool:
        """A case passes when every applicable check does."""
        return (
            self.abstention_correct
            and all(self.fact_hits)
            and not self.forbidden_hits
            and self.markers_valid == self.markers_total
            and self.quotes_faithful == self.quotes_total
            and all(s.supported for s in self.support)
        )


def score_case(
    case: Case, answer: Answer, passages: Sequence[Passage], article_texts: Mapping[str, str], k: int
) -> CaseScores:
    """All deterministic measures of one answered case."""
    abstained = answer.abstained
    scores = CaseScores(
        abstained=abstained,
        abstention_correct=abstained != case.answerable,
        retrieval=retrieval_scores(case, passages, k),
        language_ok=answer_language(answer.answer, answer.language) == case.language,
        forbidden_hits=[] if abstained else forbidden_hits(case, answer.answer),
        mode=answer.mode,
        draft_rejected=sum(note.startswith(DROPPED_NOTE_PREFIX) for note in answer.notes),
    )
    if case.answerable and case.facts:
        scores.fact_hits = [False] * len(case.facts) if abstained else fact_hits(case, answer.answer)
    if not abstained:
        scores.markers_valid, scores.markers_total = citation_validity(answer)
        scores.support = citation_support(answer, case.language)
        if case.expected_articles:
            expected = set(case.expected_articles)
            scores.source_hit = any(c.article_id in expected for c in answer.citations)
    scores.quotes_faithful, scores.quotes_total = quote_fidelity(answer, article_texts)
    return scores


Direction = Literal["min", "max"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    direction: Direction  # "min": higher is better (threshold is a floor); "max": a ceiling
    description: str
    tolerance: float  # ratchet slack: absolute, or relative for latencies
    relative: bool = False
    min_slack: float = 0.0  # absolute lower bound of a relative slack (latency of a fast fake model)
    gated: bool = True  # False: reported only; a CI gate on wall-clock time fails on a busy machine
    invariant: bool = False  # a guarantee, not a rate: no case's worth of slack on a small set


# Tolerances (the ratchet's slack) are about one case's worth for the case counts of evals/cases.yaml,
# so a single answer flipping on another CPU does not fail CI but two do. On a smaller set the slack
# is one case's worth of that set (baseline.ratchet_threshold, case_counts). Latency slack is relative.
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "retrieval_article_recall", "min", "Share of expected articles among the top-k passages.", 0.02
    ),
    MetricSpec(
        "retrieval_article_mrr",
        "min",
        "Mean reciprocal rank of the first passage of an expected article.",
        0.02,
    ),
    MetricSpec(
        "retrieval_chunk_recall", "min", "Share of evidence excerpts contained in a top-k chunk.", 0.02
    ),
    MetricSpec(
        "retrieval_chunk_mrr",
        "min",
        "Mean reciprocal rank of the first chunk holding an evidence excerpt.",
        0.02,
    ),
    MetricSpec(
        "citation_validity", "min", "Share of [n] markers that resolve to a citation.", 0.01, invariant=True
    ),
    MetricSpec(
        "quote_fidelity",
        "min",
        "Share of citations whose quote occurs verbatim in the cited article.",
        0.01,
        invariant=True,
    ),
    MetricSpec(
        "citation_support",
        "min",
        "Share of claim sentences whose numbers/dates/names are in their cited quotes.",
        0.03,
    ),
    MetricSpec(
        "fact_recall",
        "min",
        "Mean share of required facts stated (answer-expected cases; abstaining scores 0).",
        0.03,
    ),
    MetricSpec(
        "forbidden_claim_rate",
        "max",
        "Share of cases with forbidden patterns whose answer makes such a claim.",
        0.07,
    ),
    MetricSpec(
        "abstention_accuracy", "min", "Share of cases where abstaining matches `not answerable`.", 0.04
    ),
    MetricSpec("false_abstention_rate", "max", "Share of answerable cases that abstained.", 0.05),
    MetricSpec("false_answer_rate", "max", "Share of unanswerable cases that got an answer.", 0.15),
    MetricSpec(
        "language_match",
        "min",
        "Share of answers the reader gets in the question's language (quoted passages count, names do not).",
        0.03,
    ),
    MetricSpec(
        "correct_in_language",
        "min",
        "Share of answerable cases whose answer states every fact, in the question's language (STR-EM).",
        0.03,
    ),
    MetricSpec("correct_in_language_en", "min", "correct_in_language over the English questions.", 0.04),
    MetricSpec("correct_in_language_de", "min", "correct_in_language over the German questions.", 0.04),
    MetricSpec(
        "source_hit",
        "min",
        "Share of answered cases with expected articles where a citation comes from one of them.",
        0.03,
    ),
    MetricSpec(
        "draft_rejection_rate",
        "max",
        "Share of answers whose model draft had sentences the verifier dropped.",
        0.05,
    ),
    MetricSpec(
        "extractive_rate", "max", "Share of non-abstained answers that fell back to quoting evidence.", 0.05
    ),
    MetricSpec(
        "error_rate", "max", "Share of cases where the assistant raised an error.", 0.0, invariant=True
    ),
    # Speed is measured by benchmarks/, not gated here: reported for context only.
    MetricSpec("latency_p50_s", "max", "Median seconds per ask() (wall clock).", 0.0, gated=False),
    MetricSpec("latency_p95_s", "max", "95th percentile seconds per ask() (nearest rank).", 0.0, gated=False),
    MetricSpec(
        "judge_faithfulness", "min", "Optional LLM judge: share of answer sentences it finds supported.", 0.05
    ),
)
METRIC_SPECS: dict[str, MetricSpec] = {m.name: m for m in METRICS}


@dataclass
class CaseRecord:
    """What aggregation needs of one case: the case, its scores (None when it errored), its latency."""

    case: Case
    scores: CaseScores | None
    latency_s: float | None = None
    judge_sentences: tuple[int, int] | None = None  # (supported, total) from the optional judge


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(records: Sequence[CaseRecord]) -> dict[str, float | None]:
    """Run-level metrics (see METRICS); None where no case applies."""
    return {name: value for name, (value, _) in _measures(records).items()}


def case_counts(records: Sequence[CaseRecord]) -> dict[str, int]:
    """How many cases each metric is measured over: one case flipping moves a share by 1/n, which
    is what the ratchet's slack must allow for on a small set (the CI smoke subset)."""
    return {name: n for name, (_, n) in _measures(records).items()}


def _share(flags: Sequence[bool]) -> tuple[float | None, int]:
    return _ratio(sum(flags), len(flags)), len(flags)


def _citation_measures(s: Sequence[CaseScores]) -> dict[str, tuple[float | None, int]]:
    retrieval = [x.retrieval for x in s if x.retrieval is not None]
    chunk_r = [x.chunk_recall for x in retrieval if x.chunk_recall is not None]
    chunk_rr = [x.chunk_rr for x in retrieval if x.chunk_rr is not None]
    with_claims = [x for x in s if x.support]
    claims = [sent for x in with_claims for sent in x.support]
    return {
        "retrieval_article_recall": (_mean([x.article_recall for x in retrieval]), len(retrieval)),
        "retrieval_article_mrr": (_mean([x.article_rr for x in retrieval]), len(retrieval)),
        "retrieval_chunk_recall": (_mean(chunk_r), len(chunk_r)),
        "retrieval_chunk_mrr": (_mean(chunk_rr), len(chunk_rr)),
        "citation_validity": (
            _ratio(sum(x.markers_valid for x in s), sum(x.markers_total for x in s)),
            sum(bool(x.markers_total) for x in s),
        ),
        "quote_fidelity": (
            _ratio(sum(x.quotes_faithful for x in s), sum(x.quotes_total for x in s)),
            sum(bool(x.quotes_total) for x in s),
        ),
        "citation_support": (_ratio(sum(c.supported for c in claims), len(claims)), len(with_claims)),
    }


def _measures(records: Sequence[CaseRecord]) -> dict[str, tuple[float | None, int]]:
    """Per metric: (value, number of cases it is measured over)."""
    scored = [r for r in records if r.scores is not None]
    s = [r.scores for r in scored if r.scores is not None]
    facts = [x.fact_recall for x in s if x.fact_recall is not None]
    with_forbidden = [r.scores for r in scored if r.case.forbidden and r.scores is not None]
    answerable = [r.scores for r in scored if r.case.answerable and r.scores is not None]
    unanswerable = [r.scores for r in scored if not r.case.answerable and r.scores is not None]
    answered = [x for x in s if not x.abstained]
    latencies = [r.latency_s for r in scored if r.latency_s is not None]
    judged = [r.judge_sentences for r in scored if r.judge_sentences is not None]

    def correct(language: str | None) -> tuple[float | None, int]:
        return _share(
            [
                bool(r.scores.correct_in_language)
                for r in scored
                if r.scores is not None
                and r.scores.correct_in_language is not None
                and (language is None or r.case.language == language)
            ]
        )

    return {
        **_citation_measures(s),
        "fact_recall": (_mean(facts), len(facts)),
        "forbidden_claim_rate": _share([bool(x.forbidden_hits) for x in with_forbidden]),
        "abstention_accuracy": _share([x.abstention_correct for x in s]),
        "false_abstention_rate": _share([x.abstained for x in answerable]),
        "false_answer_rate": _share([not x.abstained for x in unanswerable]),
        "language_match": _share([x.language_ok for x in s]),
        "correct_in_language": correct(None),
        "correct_in_language_en": correct("en"),
        "correct_in_language_de": correct("de"),
        "source_hit": _share([x.source_hit for x in s if x.source_hit is not None]),
        "draft_rejection_rate": _share([x.draft_rejected > 0 for x in s]),
        "extractive_rate": _share([x.mode == "extractive" for x in answered]),
        "error_rate": _share([r.scores is None for r in records]),
        "latency_p50_s": (percentile(latencies, 50), len(latencies)),
        "latency_p95_s": (percentile(latencies, 95), len(latencies)),
        "judge_faithfulness": (
            _ratio(sum(j[0] for j in judged), sum(j[1] for j in judged)) if judged else None,
            len(judged),
        ),
    }


# --- optional LLM judge ----------------------------------------------------------------------------

_VERDICT = re.compile(r"^\s*(\d+)\s*[:.)-]\s*(SUPPORTED|UNSUPPORTED)\b", re.IGNORECASE | re.MULTILINE)


def judge_messages(answer: Answer, template: PromptTemplate) -> tuple[list[Message], list[str]]:
    """The judge prompt (prompts/judge.md) for an answer, and the claim sentences it asks about
    (sentences with a marker: an uncited note such as "no date is given" claims nothing)."""
    sentences = [strip_markers(s).strip() for s in split_sentences(answer.answer) if MARKER.search(s)]
    sentences = [re.sub(r"\s+([.,;:!?])", r"\1", " ".join(s.split())) for s in sentences if s]
    evidence = "\n".join(f"[{c.marker}] {c.quote}" for c in answer.citations) or "(none)"
    listing = "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, 1))
    return template.render(evidence=evidence, sentences=listing), sentences


def parse_verdicts(reply: str, n_sentences: int) -> list[bool]:
    """Per sentence, True when the judge said SUPPORTED; missing or unparseable verdicts count as False."""
    verdicts = [False] * n_sentences
    for m in _VERDICT.finditer(reply):
        i = int(m.group(1))
        if 1 <= i <= n_sentences:
            verdicts[i - 1] = m.group(2).upper() == "SUPPORTED"
    return verdicts
