"""What kind of answer a question asks for (a time, a number, a person, ...), from the question
words in data/questions.yaml. The answer stage uses it to tell an answer from a related fact."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from assistant.text.facts import number_facts
from assistant.text.normalize import data_file, fold

QuestionKind = Literal["when", "number", "who", "where", "why", "how", "what", "other"]

# Temporal facts (see facts.number_facts) that answer "when": any year-like number too.
_TEMPORAL_PREFIXES = ("month:", "weekday:", "season:", "daypart:", "period:")
_YEAR = re.compile(r"^(1[0-9]\d\d|20\d\d)$")


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out: list[tuple[str, re.Pattern[str]]] = []
    for kind, by_language in data_file("questions.yaml")["kinds"].items():
        phrases = sorted({fold(p) for forms in by_language.values() for p in forms}, key=len, reverse=True)
        alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
        # Anywhere, as whole words: "Für wen spielte…", "Mit wie vielen…", "…took how many teams?".
        out.append((kind, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")))
    return out


def question_kind(question: str) -> QuestionKind:
    folded = fold(question).strip(" ¿?¡!\"'„“”«»")
    for kind, pattern in _patterns():
        if pattern.search(folded):
            return kind  # type: ignore[return-value]
    return "other"


def has_temporal_fact(text: str, language: str = "und") -> bool:
    facts = number_facts(text, language)
    return any(f.startswith(_TEMPORAL_PREFIXES) or _YEAR.match(f) for f in facts)


def has_number_fact(text: str, language: str = "und") -> bool:
    return any(not f.startswith(_TEMPORAL_PREFIXES) for f in number_facts(text, language))


@lru_cache(maxsize=1)
def _references() -> frozenset[str]:
    data = data_file("questions.yaml")["references"]
    return frozenset(fold(w) for forms in data.values() for w in forms)


def has_reference(question: str) -> bool:
    """The question still points back into a conversation ("he", "dabei", "that mission")."""
    from assistant.text.normalize import words

    return any(fold(w) in _references() for w in words(question))
