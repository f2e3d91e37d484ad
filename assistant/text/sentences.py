"""Sentence spans (German and English) with exact character offsets into the text.

Every line break is a boundary; a full stop ends a sentence unless it belongs to an abbreviation
(data/abbreviations.yaml), an initial, or an ordinal ("am 10. November", "im 20. Jahrhundert").
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text.normalize import data_file

# Sentence-final punctuation, optionally followed by closing quotes/brackets, then whitespace or end.
# „ (U+201E) and ‚ are German opening quotes, so they never close a sentence.
_TERMINATOR = re.compile(r"[.!?…]+[\"'“”‘’»«›‹)\]]*(?=\s|$)")
_OPENERS = "\"'„“‚‘«»›‹([{"
_LINE = re.compile(r"[^\n]+")
_LETTER = re.compile(r"[^\W\d_]")
_DOTTED_ABBREV = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # z.B, U.S, e.g, i.e, d.h
_NUMBER = re.compile(r"\d{1,3}(?:[.,]\d{3})*|\d+")
_NEXT_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _abbreviations() -> dict[str, frozenset[str]]:
    data = data_file("abbreviations.yaml")
    common = frozenset(data["common"])
    de, en = common | frozenset(data["de"]), common | frozenset(data["en"])
    return {"de": de, "en": en, "any": de | en}


@lru_cache(maxsize=1)
def _months() -> frozenset[str]:
    return frozenset(w for forms in data_file("calendar.yaml")["months"].values() for w in forms)


@lru_cache(maxsize=1)
def _ordinal_context() -> frozenset[str]:
    return frozenset(data_file("abbreviations.yaml")["ordinal_context"])


def split_sentences(text: str, language: str = "de") -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` into `text`, without surrounding whitespace.

    Every line break is a boundary (cleaned articles only keep meaningful ones). `language`
    ("de", "en"; anything else uses both) selects the abbreviation list.
    """
    abbreviations = _abbreviations().get(language) or _abbreviations()["any"]
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        line_start, line_end = line.span()
        cut = line_start
        for match in _TERMINATOR.finditer(text, line_start, line_end):
            end = match.end()
            if end < line_end and _is_boundary(text, match.start(), end, line_end, abbreviations):
                _add_span(text, cut, end, spans)
                cut = end
        _add_span(text, cut, line_end, spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def _is_boundary(
    text: str, punct_start: int, punct_end: int, line_end: int, abbreviations: frozenset[str]
) -> bool:
    nxt = punct_end
    while nxt < line_end and (text[nxt].isspace() or text[nxt] in _OPENERS):
        nxt += 1
    if nxt >= line_end:
        return True
    following = text[nxt]
    if following.islower():
        # Nothing starts a sentence in lower case; this covers "…", "?“, fragte er" and "e.g. the".
        return False
    punct = text[punct_start:punct_end]
    if punct != ".":
        return True
    token_start = punct_start
    while token_start > 0 and not text[token_start - 1].isspace() and text[token_start - 1] not in _OPENERS:
        token_start -= 1
    token = text[token_start:punct_start]
    if not token:
        return True
    lowered = token.lower()
    if _NUMBER.fullmatch(token):
        return not _is_ordinal(text, token_start, token, nxt, line_end)
    if lowered in abbreviations:
        return False
    if lowered == "no":  # "No. 10", but "said no. Then"
        return not following.isdigit()
    # Initials and split abbreviations: "J. R. R. Tolkien", "z. B.", "u. a.", "U.S.", "e.g."
    return not (len(token) == 1 and _LETTER.match(token)) and not _DOTTED_ABBREV.fullmatch(token)


def _is_ordinal(text: str, number_start: int, number: str, next_start: int, line_end: int) -> bool:
    next_word = _NEXT_WORD.match(text, next_start, line_end)
    if next_word and next_word.group().lower() in _months():
        return True  # "10. November 2020", "1. Mai"
    if len(number) > 3 or not number.isdigit():
        return False  # "1990." and "2.000." end sentences
    # The word before the number decides: "am 19.", "im 20. Jahrhundert", "zum 2. Mal".
    end = number_start
    while end > 0 and text[end - 1] in " (":
        end -= 1
    start = end
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    return text[start:end].lower() in _ordinal_context()
