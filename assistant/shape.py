"""The shape of a draft answer, attribute first: one line per claim,

    [n] «words copied from evidence n» Answer: the sentence in the reader's language

The model names its evidence before it writes, copies the words that hold the answer, and only
then phrases them; the copied words are what the verifier holds the sentence to. For the embedded
model a GBNF grammar makes any other shape impossible (a marker that is not among the evidence, a
"copy" that is not in it); other backends get the same instructions and are parsed leniently,
also when they answer in the older free form ("sentence [1].").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.types import Evidence

NO_ANSWER = "NO_ANSWER"
LABELS = {"en": "Answer:", "de": "Antwort:"}
_OPEN, _CLOSE = "«", "»"
_MAX_LINES = 3
_MAX_SENTENCES_PER_LINE = 2
_MARKER_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# The copy is delimited by « » (the grammar's own marks; evidence never holds them, see
# sanitize_quote); models without the grammar may use other quote marks.
_LINE = re.compile(
    r"^\s*(?P<markers>(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+)"
    r"(?:«(?P<span>[^»\n]*)»\s*|[\"“„](?P<span2>[^\"”“\n]*)[\"”“]\s*(?=(?:Answer|Antwort)\s*:))?"
    r"(?:(?:Answer|Antwort)\s*:\s*)?(?P<sentence>.*)$"
)
_LABEL = re.compile(r"^\s*(?:Answer|Antwort)\s*:\s*", re.IGNORECASE)


def label_for(language: str) -> str:
    return LABELS.get(language, LABELS["en"])


@dataclass(frozen=True)
class DraftLine:
    """One claim of a draft: the evidence it names, the words it copied, the sentence it states."""

    markers: list[int] = field(default_factory=list)
    span: str = ""
    sentence: str = ""


@dataclass(frozen=True)
class Draft:
    lines: list[DraftLine]
    declined: bool = False


def parse_markers(text: str) -> list[int]:
    found: list[int] = []
    for group in _MARKER_GROUP.findall(text):
        for part in re.split(r"\s*[,;]\s*", group):
            number = int(part)
            if number not in found:
                found.append(number)
    return found


def strip_markers(text: str) -> str:
    return _MARKER_GROUP.sub("", text)


def parse_draft(draft: str, language: str = "en") -> Draft:
    """The lines of a draft in either shape; NO_ANSWER anywhere means the model declined."""
    text = draft.strip()
    if not text or NO_ANSWER in text.upper().replace(" ", "_"):
        return Draft([], declined=True)
    lines: list[DraftLine] = []
    free: list[str] = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if match is None:
            if raw.strip():
                free.append(raw.strip())
            continue
        sentence = match.group("sentence").strip()
        markers = parse_markers(match.group("markers")) + [
            m for m in parse_markers(sentence) if m not in parse_markers(match.group("markers"))
        ]
        span = (match.group("span") or match.group("span2") or "").strip()
        sentence = _LABEL.sub("", sentence)
        # A line holds one claim; a model that writes on gets each sentence checked on its own.
        for piece in _sentences(strip_markers(sentence), language)[:_MAX_SENTENCES_PER_LINE]:
            lines.append(DraftLine(markers, span, piece))
    if free:
        lines.extend(_free_form(" ".join(free), language))
    return Draft(lines[: _MAX_LINES * 2])


def _sentences(text: str, language: str) -> list[str]:
    from assistant.text.sentences import split_sentences

    return [_tidy(text[a:b]) for a, b in split_sentences(text, language) if text[a:b].strip()]


def _free_form(text: str, language: str) -> list[DraftLine]:
    """ "The war ended in 2020 [2]. The articles give no cost." -> one line per sentence."""
    from assistant.text.sentences import split_sentences

    out: list[DraftLine] = []
    pieces: list[str] = []
    for start, end in split_sentences(text, language):
        piece = text[start:end].strip()
        # A marker split off after the period ("... begun. [1]") belongs to the sentence before.
        if pieces and re.fullmatch(r"(\s*\[\d+(?:\s*[,;]\s*\d+)*\])+[.]?", piece):
            pieces[-1] = pieces[-1] + " " + piece
        elif piece:
            pieces.append(piece)
    for piece in pieces:
        out.append(DraftLine(parse_markers(piece), "", _tidy(strip_markers(piece))))
    return out


def _tidy(sentence: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(sentence.split())).strip()


def sanitize_quote(text: str) -> str:
    """Evidence as the model sees it: one line, no span delimiters, no tags it could close."""
    text = re.sub(r"</?evidence[^>]*>|</?question>|</?text>", " ", text, flags=re.IGNORECASE)
    return " ".join(text.replace(_OPEN, '"').replace(_CLOSE, '"').split())


def format_evidence(evidence: Sequence[Evidence]) -> str:
    # Quotes only: titles and dates cost prompt tokens (the main CPU latency) and were measured to
    # lure the small model into citing a publication date as the date of an event.
    return "\n".join(f"[{e.marker}] {sanitize_quote(e.quote)}" for e in evidence)


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answer_grammar(evidence: Sequence[Evidence], language: str) -> str:
    """GBNF for 1-3 lines citing only these evidence markers, each copy a run of whole words of
    its evidence, or NO_ANSWER."""
    rules: list[str] = []
    alternatives: list[str] = []
    label = label_for(language)
    for e in evidence:
        tokens = re.findall(r"\S+\s*", sanitize_quote(e.quote))
        if not tokens:
            continue
        m = e.marker
        for i, token in enumerate(tokens):
            word = token.rstrip()
            more = f" ({_literal(' ')} e{m}w{i + 1})?" if i + 1 < len(tokens) else ""
            rules.append(f"e{m}w{i} ::= {_literal(word)}{more}")
        rules.append(f"span{m} ::= " + " | ".join(f"e{m}w{i}" for i in range(len(tokens))))
        alternatives.append(f'"[{m}] {_OPEN}" span{m} "{_CLOSE} {label} " sentence')
    if not alternatives:
        return f"root ::= {_literal(NO_ANSWER)}"
    rules.append("line ::= " + " | ".join(alternatives))
    rules.append(r'sentence ::= [^\n\[\]«»] [^\n\[\]«»]* "\n"')
    rules.append(f"root ::= {_literal(NO_ANSWER)} | line" + " line?" * (_MAX_LINES - 1))
    return "\n".join(rules)


def span_in_quote(span: str, quote: str) -> bool:
    """The copied words occur in the quote (whitespace and quote marks aside)."""

    def squash(text: str) -> str:
        return " ".join(sanitize_quote(text).split()).casefold()

    return bool(span.strip()) and squash(span) in squash(quote)
