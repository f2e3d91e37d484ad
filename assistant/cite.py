"""Citations: parse [n] markers, verify every answer sentence against the evidence it cites, and
renumber what survives. The model proposes; this module decides what the reader sees."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.chunking import split_sentences
from assistant.textproc import fold, name_candidates, name_supported, number_facts, words
from assistant.types import Citation, Evidence

NO_ANSWER = "NO_ANSWER"
_MARKER_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NEGATION = frozenset(
    [
        "not",
        "no",
        "none",
        "neither",
        "nor",
        "never",
        "nothing",
        "unknown",
        "unclear",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keiner",
        "keines",
        "nie",
        "nichts",
        "unbekannt",
        "unklar",
        "ohne",
    ]
)


@dataclass
class SentenceCheck:
    text: str
    markers: list[int]
    kept: bool
    reason: str = ""
    note: bool = False


@dataclass
class Verification:
    sentences: list[SentenceCheck] = field(default_factory=list)
    declined: bool = False

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


def parse_markers(sentence: str) -> list[int]:
    found: list[int] = []
    for group in _MARKER_GROUP.findall(sentence):
        for part in re.split(r"\s*[,;]\s*", group):
            number = int(part)
            if number not in found:
                found.append(number)
    return found


def strip_markers(sentence: str) -> str:
    return _MARKER_GROUP.sub("", sentence)


def _answer_sentences(text: str, language: str) -> list[str]:
    spans = split_sentences(text, language)
    out: list[str] = []
    for start, end in spans:
        piece = text[start:end].strip()
        # A marker split off after the period ("... begun. [1]") belongs to the previous sentence.
        if out and re.fullmatch(r"(\s*\[\d+(?:\s*[,;]\s*\d+)*\])+[.]?", piece):
            out[-1] = out[-1] + " " + piece
        elif piece:
            out.append(piece)
    return out


def verify_answer(
    draft: str, evidence: list[Evidence], *, question: str, language: str, instructions: str = ""
) -> Verification:
    """Keep a sentence only if its markers exist and its numbers and names occur in what it cites.
    `instructions` is the prompt the model saw: small models copy its example answers verbatim."""
    text = draft.strip()
    result = Verification()
    if not text or NO_ANSWER in text.upper().replace(" ", "_"):
        result.declined = True
        return result
    by_marker = {e.marker: e for e in evidence}
    example_text = " ".join(words(fold(instructions)))
    for sentence in _answer_sentences(text, language):
        markers = parse_markers(sentence)
        bare = strip_markers(sentence)
        numbers = number_facts(bare)
        names = name_candidates(bare)
        # "The articles give no date for it": says what the sources lack, asserts nothing checkable.
        is_note = bool(_NEGATION & {fold(w) for w in words(bare)}) and not numbers and not names
        core = " ".join(words(fold(bare)))
        if instructions and not is_note and len(core) >= 15 and core in example_text:
            result.sentences.append(
                SentenceCheck(sentence, markers, False, "copied from the prompt's examples")
            )
            continue
        if not markers:
            if is_note:
                result.sentences.append(SentenceCheck(sentence, [], True, "uncited coverage note", note=True))
            else:
                result.sentences.append(SentenceCheck(sentence, [], False, "states facts without a citation"))
            continue
        unknown = [m for m in markers if m not in by_marker]
        if unknown:
            result.sentences.append(
                SentenceCheck(sentence, markers, False, f"cites {unknown}, which is not among the evidence")
            )
            continue
        cited = [by_marker[m] for m in markers]
        quoted = " ".join(e.quote for e in cited)
        unsupported_numbers = sorted(numbers - number_facts(quoted))
        if unsupported_numbers:
            shown = ", ".join(n.replace("month:", "month ") for n in unsupported_numbers)
            result.sentences.append(
                SentenceCheck(sentence, markers, False, f"{shown} not in the cited evidence")
            )
            continue
        # Names must be in the cited quote or its article's title. Not the question: that is how a
        # false premise ("according to the article, X said ...") would slip through.
        surroundings = " ".join(f"{e.title} {e.quote}" for e in cited)
        missing = [n for n in names if not name_supported(n, surroundings)]
        if missing:
            result.sentences.append(
                SentenceCheck(sentence, markers, False, f"{', '.join(missing)} not in the cited evidence")
            )
            continue
        result.sentences.append(SentenceCheck(sentence, markers, True, note=is_note))
    return result


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
