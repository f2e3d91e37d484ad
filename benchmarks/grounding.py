"""Grounding of one answer, scored the same way for ours and the baseline.

Per answer: does every sentence carry a marker that points at a source it was given, do the
numbers and dates of each sentence occur in what it cites, does it pass the project's verifier
(which also checks names), and does it state the known-correct facts. Sentence segmentation and
marker parsing are the project's (assistant.cite), so both sides are cut into sentences alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.cite import parse_markers, verify_answer
from assistant.text.facts import number_facts
from assistant.types import Evidence

_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# "I don't know" and kin, English and German: a sentence like this, uncited, is an abstention.
_DECLINE = re.compile(
    r"\b(do(?:n'?t| not) know|cannot answer|can'?t answer|no information|not (?:mentioned|provided|specified|"
    r"stated|given)|does not (?:say|mention|specify)|weiß (?:es |ich )?nicht|keine (?:angaben|informationen)|"
    r"nicht (?:erwähnt|angegeben|bekannt|beantworten))\b",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fact_found(alternatives: Sequence[str], answer: str) -> bool:
    """Whether one of the alternatives occurs in the answer (eval-metric semantics when available)."""
    try:
        from assistant.evaluation.claims import matches
    except ImportError:  # the eval package is optional for the benchmark
        matches = None
    for alt in alternatives:
        if matches is not None:
            if matches(alt, answer):
                return True
        elif alt.startswith("re:"):
            if re.search(alt[3:], answer, re.IGNORECASE):
                return True
        elif _fold(alt) in _fold(answer):
            return True
    return False


def sources_as_evidence(
    sources: Mapping[int, str], titles: Mapping[int, str] | None = None
) -> list[Evidence]:
    """Whatever the model was shown as [n] (an evidence sentence, a whole chunk, a citation quote)."""
    return [
        Evidence(
            marker=marker,
            article_id=f"source-{marker}",
            chunk_id=f"source-{marker}",
            title=(titles or {}).get(marker, ""),
            quote=text,
            start=0,
            end=len(text),
            context=text,
        )
        for marker, text in sources.items()
    ]


def score_answer(
    text: str,
    sources: Mapping[int, str],
    *,
    question: str,
    language: str,
    facts: Sequence[Sequence[str]],
    abstained: bool | None = None,
    titles: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Score `text` against the `sources` it could cite. `abstained` None: decided from the text (the
    model declined, or every sentence is an uncited coverage note such as "I don't know")."""
    evidence = sources_as_evidence(sources, titles)
    check = verify_answer(text, evidence, question=question, language=language)
    sentences = []
    for s in check.sentences:
        markers = parse_markers(s.text)
        valid = bool(markers) and all(m in sources for m in markers)
        cited_text = " ".join(sources[m] for m in markers if m in sources)
        numbers = number_facts(_MARKERS.sub(" ", s.text))
        unsupported = sorted(numbers - number_facts(cited_text)) if numbers else []
        sentences.append(
            {
                "text": s.text,
                "valid_marker": valid,
                "numbers_supported": not unsupported,
                "unsupported_numbers": unsupported,
                "passes_verifier": s.kept and bool(s.markers),
                "verifier_reason": s.reason,
            }
        )
    if abstained is None:
        abstained = (
            check.declined
            or not text.strip()
            or all(
                s.reason == "uncited coverage note" or (not s.markers and bool(_DECLINE.search(s.text)))
                for s in check.sentences
            )
        )
    found = [fact_found(alts, text) for alts in facts]
    answered = not abstained
    all_cited = answered and bool(sentences) and all(s["valid_marker"] for s in sentences)
    numbers_ok = answered and all(s["numbers_supported"] for s in sentences)
    return {
        "abstained": abstained,
        "sentences": len(sentences),
        "sentences_with_valid_marker": sum(s["valid_marker"] for s in sentences),
        "sentences_numbers_supported": sum(s["numbers_supported"] for s in sentences),
        "sentences_passing_verifier": sum(s["passes_verifier"] for s in sentences),
        "every_sentence_cited": all_cited,
        "numbers_supported": numbers_ok,
        "grounded": all_cited and numbers_ok,
        "verifier_clean": answered and bool(sentences) and all(s["passes_verifier"] for s in sentences),
        "facts_found": sum(found),
        "facts_total": len(found),
        "correct": answered and all(found),
        "detail": sentences,
    }


def aggregate(scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts over a set of scored answers (the Markdown shows these next to each other)."""
    n = len(scores)
    return {
        "questions": n,
        "answered": sum(not s["abstained"] for s in scores),
        "grounded": sum(bool(s["grounded"]) for s in scores),
        "every_sentence_cited": sum(bool(s["every_sentence_cited"]) for s in scores),
        "numbers_supported": sum(bool(s["numbers_supported"]) for s in scores),
        "verifier_clean": sum(bool(s["verifier_clean"]) for s in scores),
        "correct": sum(bool(s["correct"]) for s in scores),
        "facts_found": sum(s["facts_found"] for s in scores),
        "facts_total": sum(s["facts_total"] for s in scores),
        "sentences": sum(s["sentences"] for s in scores),
        "sentences_with_valid_marker": sum(s["sentences_with_valid_marker"] for s in scores),
    }
