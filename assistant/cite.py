"""Citations: check every draft line against the evidence it cites, and renumber what survives.
The model proposes; this module (and the meaning checks in answer.py) decide what the reader sees.

The checks here are the anchors, cheap and exact: the markers exist, the copied words are in the
cited evidence, the sentence is in the reader's language, and its numbers, dates and names occur in
what it cites (across languages and spellings, see assistant.text). A number or name may also come
from the question when the cited passage mentions it too: "How many interceptions in 2015?" may be
answered with "in 2015" although only the passage around the quote names the year. A false premise
does not get through that way: the name or number has to be in the cited article text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.shape import Draft, DraftLine, parse_draft, parse_markers, span_in_quote, strip_markers
from assistant.text.facts import number_facts
from assistant.text.language import detect_language
from assistant.text.lexicon import Lexicon
from assistant.text.names import Name, alias_group, name_candidates, name_in_compound, name_supported
from assistant.text.normalize import fold, words
from assistant.text.questions import QuestionKind, has_number_fact, has_temporal_fact, question_kind
from assistant.text.terms import negation_words, tokenize
from assistant.types import Citation, Evidence

__all__ = ["SentenceCheck", "Verification", "finalize", "parse_markers", "strip_markers", "verify_answer"]

_MARKER_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MIN_WORDS = 2
_NOT_IN_CITED = " not in the cited evidence"


@dataclass
class SentenceCheck:
    text: str  # the sentence as the reader would see it, markers included
    markers: list[int]
    kept: bool
    reason: str = ""
    note: bool = False  # says what the sources lack, asserts nothing checkable
    sentence: str = ""  # without markers
    span: str = ""  # the words the model copied from its evidence ("" if none or not found)
    soft_names: list[str] = field(default_factory=list)  # ordinary words not found verbatim
    answers_kind: bool = True  # holds the kind of fact the question asks for (a time, a number)
    language_ok: bool = True
    untranslated: list[str] = field(default_factory=list)  # words left in the other language
    plain: str = ""  # why it was dropped, in words for the reader
    recited_from: list[int] = field(default_factory=list)  # the markers the model gave, if moved


@dataclass
class Verification:
    sentences: list[SentenceCheck] = field(default_factory=list)
    declined: bool = False
    kind: QuestionKind = "other"

    @property
    def kept(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.kept]

    @property
    def dropped(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if not s.kept]

    @property
    def has_cited_claim(self) -> bool:
        """A kept, cited sentence that asserts something (not only what the sources lack)."""
        return any(s.kept and s.markers and not s.note for s in self.sentences)

    @property
    def only_notes(self) -> bool:
        """Everything kept says what the sources lack: the model found no answer."""
        kept = self.kept
        return bool(kept) and all(s.note for s in kept)


def render(sentence: str, markers: Sequence[int]) -> str:
    body = sentence.strip().rstrip(".!?;:,").strip()
    tail = "".join(f"[{m}]" for m in markers)
    return f"{body} {tail}." if tail else f"{body}."


def verify_answer(
    draft: str,
    evidence: list[Evidence],
    *,
    question: str,
    language: str,
    instructions: str = "",
    lexicon: Lexicon | None = None,
) -> Verification:
    """Check each line of `draft` (either shape, see assistant.shape) against the evidence it cites.
    `instructions` is the prompt the model saw: small models copy its example answers verbatim."""
    parsed: Draft = parse_draft(draft, language)
    result = Verification(declined=parsed.declined, kind=question_kind(question))
    by_marker = {e.marker: e for e in evidence}
    example_text = " ".join(words(fold(instructions)))
    for line in parsed.lines:
        result.sentences.append(
            _check_line(line, by_marker, question, language, example_text, lexicon, result.kind)
        )
    return result


def _restates(sentence: str, numbers: set[str], question: str, language: str) -> bool:
    """A sentence that answers a wh-question adds a term of its own (a name, a date, a verb); one
    made only of the question's terms answers nothing ("Which spinoff debuted in 1980?" -> "A
    spinoff debuted in 1980"). Yes/no questions (kind "other") may be answered by restating them.
    A number is a term too, also as a word ("Two jets landed"), although stopword lists hold it."""
    if detect_language(question, default=language) != language:
        return False
    if numbers - number_facts(question, language):
        return False
    terms = set(tokenize(sentence, language))
    return bool(terms) and terms <= set(tokenize(question, language))


def untranslated_words(sentence: str, language: str, lexicon: Lexicon | None) -> list[str]:
    """German words an English sentence left as they were ("caused by Pocken"); names known in
    both languages (the alias table: "Berg-Karabach") are not among them."""
    if language != "en" or lexicon is None:
        return []
    return [w for w in lexicon.untranslated_german(sentence) if not alias_group(w)]


def _is_note(sentence: str, numbers: set[str], names: Sequence[object]) -> bool:
    # "The articles give no date for it": says what the sources lack, asserts nothing checkable.
    return bool(negation_words() & {fold(w) for w in words(sentence)}) and not numbers and not names


def _check_line(
    line: DraftLine,
    by_marker: dict[int, Evidence],
    question: str,
    language: str,
    example_text: str,
    lexicon: Lexicon | None,
    kind: QuestionKind,
) -> SentenceCheck:
    sentence = line.sentence
    markers = line.markers
    check = SentenceCheck(render(sentence, markers), markers, False, sentence=sentence)
    if len(words(sentence)) < _MIN_WORDS:
        check.reason = check.plain = "says nothing"
        return check
    sentence_language = detect_language(sentence, default=language)
    numbers = number_facts(sentence, sentence_language)
    names = name_candidates(sentence, sentence_language, lexicon)
    check.note = _is_note(sentence, numbers, names)
    if not check.note and kind != "other" and _restates(sentence, numbers, question, sentence_language):
        check.reason = "only restates the question"
        check.plain = "it only repeats the question"
        return check
    core = " ".join(words(fold(sentence)))
    if example_text and not check.note and len(core) >= 15 and core in example_text:
        check.reason = "copied from the prompt's examples"
        check.plain = "it repeats an example of the instructions"
        return check
    if not markers:
        check.kept = check.note
        check.reason = "uncited coverage note" if check.note else "states facts without a citation"
        check.plain = "" if check.note else "it cites no passage"
        return check
    unknown = [m for m in markers if m not in by_marker]
    if unknown:
        check.reason = f"cites {unknown}, which is not among the evidence"
        check.plain = "it cites a passage that does not exist"
        return check
    facts = _Facts(sentence_language, numbers, names)
    first = _check_cited(
        check, line, [by_marker[m] for m in markers], question, language, facts, lexicon, kind
    )
    if first.kept or not first.reason.endswith(_NOT_IN_CITED):
        return first
    # Citation repair: a small model often copies from one passage and writes its sentence from
    # another. When one other passage holds every number and name of the sentence, the sentence
    # cites that one instead, and the meaning checks judge it against it. Never a blend of
    # passages: a date of one event beside the name of another is what the anchors are there for.
    for other in (m for m in by_marker if m not in markers):
        trial = SentenceCheck(render(sentence, [other]), [other], False, note=check.note, sentence=sentence)
        trial = _check_cited(trial, line, [by_marker[other]], question, language, facts, lexicon, kind)
        if trial.kept:
            trial.recited_from = list(markers)
            return trial
    return first


@dataclass(frozen=True)
class _Facts:
    """What a draft sentence asserts that can be looked up: its language, numbers and names."""

    language: str
    numbers: set[str]
    names: Sequence[Name]


def _check_cited(
    check: SentenceCheck,
    line: DraftLine,
    cited: list[Evidence],
    question: str,
    language: str,
    facts: _Facts,
    lexicon: Lexicon | None,
    kind: QuestionKind,
) -> SentenceCheck:
    """The anchors of a sentence that cites passages: its numbers and names must be in them."""
    sentence, sentence_language, numbers, names = line.sentence, facts.language, facts.numbers, facts.names
    if line.span and any(span_in_quote(line.span, e.quote) for e in cited):
        check.span = line.span
    check.untranslated = untranslated_words(sentence, language, lexicon)
    check.language_ok = sentence_language == language and not check.untranslated
    quoted = " ".join(e.quote for e in cited)
    context = " ".join(f"{e.title} {e.context or e.quote}" for e in cited)
    # Facts the question brought in count when the cited article text has them as well.
    from_question = number_facts(question) & number_facts(context)
    unsupported = sorted(numbers - number_facts(quoted) - from_question)
    if unsupported:
        shown = ", ".join(n.replace(":", " ") for n in unsupported)  # "2021", "month 5", "season summer"
        check.reason = f"{shown}{_NOT_IN_CITED}"
        check.plain = f"{_plain_facts(unsupported)} is not in the cited passage"
        return check
    surroundings = " ".join(f"{e.title} {e.quote}" for e in cited)
    missing = _unsupported_names(check, names, question, surroundings, context, lexicon)
    if missing:
        check.reason = f"{', '.join(missing)}{_NOT_IN_CITED}"
        check.plain = f"{', '.join(missing)} is not in the cited passage"
        return check
    if kind == "when":
        check.answers_kind = has_temporal_fact(sentence, sentence_language)
    elif kind == "number":
        check.answers_kind = has_number_fact(sentence, sentence_language)
    check.kept = True
    return check


def _unsupported_names(
    check: SentenceCheck,
    names: Sequence[Name],
    question: str,
    surroundings: str,
    context: str,
    lexicon: Lexicon | None,
) -> list[str]:
    """The names neither the quotes (with their titles) nor, for names the question brought in,
    the cited articles hold. Weaker matches go to `check.soft_names` for the meaning check."""
    question_names = {fold(n.text) for n in name_candidates(question, detect_language(question), lexicon)}
    missing: list[str] = []
    for name in names:
        if name_supported(name.text, surroundings):
            continue
        if fold(name.text) in question_names and name_supported(name.text, context):
            continue
        # Ordinary words, names only inside a compound, and names the article states next to the
        # quote ("Sergei" of "Sergei Aleinik"): the meaning check must then be sure.
        if name.soft or name_in_compound(name.text, surroundings) or name_supported(name.text, context):
            check.soft_names.append(name.text)
        else:
            missing.append(name.text)
    return missing


def _plain_facts(facts: Sequence[str]) -> str:
    kinds = {
        "month": "the month",
        "weekday": "the weekday",
        "season": "the season",
        "daypart": "the time of day",
        "period": "the time",
        "magnitude": "the amount",
    }
    return ", ".join(kinds.get(f.split(":", 1)[0], "") or f for f in facts)


def finalize(kept: list[SentenceCheck], evidence: list[Evidence]) -> tuple[str, list[Citation]]:
    """Join kept sentences, renumber markers 1..n in order of first use, and build citations."""
    by_marker = {e.marker: e for e in evidence}
    order: list[int] = []
    for s in kept:
        for m in s.markers:
            if m not in order:
                order.append(m)
    new_number = {old: i + 1 for i, old in enumerate(order)}

    def renumber(match: re.Match[str]) -> str:
        parts = [int(p) for p in re.split(r"\s*[,;]\s*", match.group(1))]
        return "".join(f"[{new_number[p]}]" for p in parts if p in new_number)

    text = " ".join(_MARKER_GROUP.sub(renumber, s.text) for s in kept)
    # "... begun. [1]" -> "... begun [1]."
    text = re.sub(r"([.!?])\s*((?:\[\d+\])+)", r" \2\1", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    citations = [to_citation(by_marker[old], new_number[old]) for old in order]
    return text.strip(), citations


def to_citation(e: Evidence, marker: int) -> Citation:
    fields = e.model_dump(include=set(Citation.model_fields))
    fields["marker"] = marker
    return Citation(**fields)
