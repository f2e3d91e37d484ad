"""What kind of answer a question asks for (a time, a number, a person, ...), from the question
words in data/questions.yaml. The answer stage uses it to tell an answer from a related fact."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

from assistant.text.facts import number_facts
from assistant.text.normalize import data_file, fold
from assistant.text.sentences import split_sentences

QuestionKind = Literal["when", "number", "who", "where", "why", "how", "what", "other"]

# Temporal facts (see facts.number_facts) that answer "when": any year-like number too.
_TEMPORAL_PREFIXES = ("month:", "weekday:", "season:", "daypart:", "period:")
_YEAR = re.compile(r"^(1[0-9]\d\d|20\d\d)$")


def _alternation(phrases: Iterable[str]) -> str:
    """A regex alternative of the phrases, longest first, any run of spaces between their words."""
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(set(phrases), key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out: list[tuple[str, re.Pattern[str]]] = []
    for kind, by_language in data_file("questions.yaml")["kinds"].items():
        alternatives = _alternation({fold(p) for forms in by_language.values() for p in forms})
        # Anywhere, as whole words: "Für wen spielte…", "Mit wie vielen…", "…took how many teams?".
        out.append((kind, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")))
    return out


def question_kind(question: str) -> QuestionKind:
    folded = fold(question).strip(" ¿?¡!\"'„“”«»")
    for kind, pattern in _patterns():
        if pattern.search(folded):
            return kind  # type: ignore[return-value]
    return "other"


@lru_cache(maxsize=2)
def _auxiliaries(language: str = "en") -> frozenset[str]:
    return frozenset(fold(w) for w in data_file("questions.yaml")["auxiliaries"][language])


@lru_cache(maxsize=4)
def _openings(kind: str) -> dict[str, re.Pattern[str]]:
    """Per language: a phrase of `kind` ("when", "why") opening the question or one of its
    sentences, and the verb after it."""
    out: dict[str, re.Pattern[str]] = {}
    for language, phrases in data_file("questions.yaml")["kinds"][kind].items():
        alternatives = _alternation(phrases)
        out[language] = re.compile(
            rf"(?:^|(?<=[.!?:;]\s))(?:{alternatives})\s+(?P<verb>[^\W\d_]+)(?=\s+\S)", re.I
        )
    return out


def _without_opening(question: str, kind: str) -> str | None:
    """The question with its opening `kind` phrase left out, when a verb it inverts follows:
    "When did the peacekeepers leave?" -> "Did the peacekeepers leave?"."""
    question = question.strip()
    for language, pattern in _openings(kind).items():
        for match in pattern.finditer(question):
            verb = match.group("verb")
            # English inverts an auxiliary ("When did …"); a German verb after "wann" is lower case,
            # where "When Putin …" or "Wann Putin …" would open a clause instead.
            inverted = fold(verb) in _auxiliaries() if language == "en" else verb[:1].islower()
            if inverted:
                return question[: match.start()] + verb[:1].upper() + verb[1:] + question[match.end() :]
    return None


def event_question(question: str, kind: QuestionKind = "when") -> str | None:
    """A "when" or "how many" question as the yes/no question about its event: "When did the
    peacekeepers leave Karabakh?" -> "Did the peacekeepers leave Karabakh?", "Wann findet der Besuch
    statt?" -> "Findet der Besuch statt?", "How many people were killed in the fighting?" -> "Were
    people killed in the fighting?". A passage that reports the event but gives no date or figure
    answers the second one: the reader is then told what the articles say, and that they give no
    date or figure. None when no such phrase opens the question (or one of its sentences) followed
    by its verb, or, for "how many", by what is counted and then its verb."""
    if kind == "when":
        return _without_opening(question, "when")
    if kind == "number":
        return _without_count(question)
    return None


# "How many <what is counted> <auxiliary> …" / "Wie viele <Nomen> <Verb> …": what is counted is at
# most a few words, ending in a noun (German: capitalised).
_COUNTED_WORDS = 4
_DO = frozenset({"do", "does", "did"})


@lru_cache(maxsize=1)
def _counts() -> dict[str, re.Pattern[str]]:
    """Per language: a counting phrase opening the question, one of its sentences or a clause after
    a comma ("According to the article, how many …"), and the words after it."""
    return {
        language: re.compile(rf"(?:^|(?<=[.!?:;,]\s))(?:{_alternation(phrases)})\s+(?P<rest>.+)$", re.I)
        for language, phrases in data_file("questions.yaml")["counting"].items()
    }


def _without_count(question: str) -> str | None:
    """ "How many people were killed in X?" -> "Were people killed in X?", "How much did Azerbaijan
    pay?" -> "Did Azerbaijan pay?", "Wie viele Menschen leben dort?" -> "Leben Menschen dort?" (word
    order left as it falls: the judge reads meaning). Only counting phrases ("how old is" asks for
    an attribute, not an event), and no English object moved into its clause ("How many soldiers
    did Russia send?" stays None)."""
    for language, pattern in _counts().items():
        match = pattern.search(question.strip())
        if match is None:
            continue
        tokens = match.group("rest").split()
        for i, token in enumerate(tokens[: _COUNTED_WORDS + 1]):
            word = fold(token.strip(",;?"))
            if language == "en":
                found = word in _auxiliaries() and (i == 0 or word not in _DO)
            elif i == 0:
                found = word in _auxiliaries("de")
            else:
                found = token[:1].islower() and tokens[i - 1][:1].isupper()
            if found:
                opening = match.string[: match.start()].rstrip()
                verb = token if opening.endswith(",") else token[:1].upper() + token[1:]
                return " ".join([opening, verb, *tokens[:i], *tokens[i + 1 :]]).strip()
    return None


def premise_question(question: str, language: str) -> str | None:
    """What the question takes for granted, as a yes/no question of its own; None when it takes
    nothing for granted beyond what it asks.

    Two shapes: a statement before the question ("According to the article, Peskov said the
    withdrawal would end this year. Why will it take that long?" -> "Is this true: According to the
    article, Peskov said …?"), and "why" ("Why did Lukashenko send troops?" -> "Did Lukashenko
    send troops?"). When the question as asked finds no answer, the articles may still say whether
    its premise holds: that is the answer then, and a false premise is corrected, not built on."""
    question = question.strip()
    parts = [question[start:end] for start, end in split_sentences(question, language)]
    statements = [p for p in parts[:-1] if not p.endswith("?")]
    if statements and parts[-1].endswith("?"):
        statement = " ".join(statements).rstrip(" .!:;")
        templates = data_file("questions.yaml")["statement_check"]
        template = str(templates.get(language) or templates["en"])
        return template.format(statement=statement)
    return _without_opening(question, "why")


def has_temporal_fact(text: str, language: str = "und") -> bool:
    facts = number_facts(text, language)
    return any(f.startswith(_TEMPORAL_PREFIXES) or _YEAR.match(f) for f in facts)


# A year after a temporal preposition is a date, not the figure a "how many" asks for ("das seit 1970
# abgeholzte Land", "in 2019"); a count that looks like a year ("2000 Soldaten") has none before it.
_DATED_YEAR = re.compile(
    r"(?<!\w)(?:seit|since|im|in|bis|until|till|ab|from|before|nach|after|anno|"
    r"anfang|ende|mitte|early|late|mid|jahr(?:e|es)?|year)\s+(?:dem\s+|den\s+|the\s+)?"
    r"(?:jahr(?:e|en)?\s+|year\s+)?(?:1[5-9]\d\d|20\d\d)(?:er|s)?(?!\w)",
    re.IGNORECASE,
)


def has_number_fact(text: str, language: str = "und") -> bool:
    undated = _DATED_YEAR.sub(" ", text)
    return any(not f.startswith(_TEMPORAL_PREFIXES) for f in number_facts(undated, language))


@lru_cache(maxsize=1)
def _references() -> frozenset[str]:
    data = data_file("questions.yaml")["references"]
    return frozenset(fold(w) for forms in data.values() for w in forms)


def has_reference(question: str) -> bool:
    """The question still points back into a conversation ("he", "dabei", "that mission")."""
    from assistant.text.normalize import words

    return any(fold(w) in _references() for w in words(question))
