"""Numeric and temporal facts a claim can get wrong, in a canonical form that compares across
German and English: numbers (separators normalised, spelled-out numbers via text2num, number
compounds such as "eintägig" or "three-day"), dates, months, seasons, weekdays, parts of the day
and of a period ("Anfang 2022" / "early 2022")."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache

from assistant.text.normalize import data_file, fold, words

log = logging.getLogger(__name__)

# 2.000 / 2,000 / 2 000 / 1.5 / 10. / 2020 / 27/09/2023 / 2023-09-27. Digits written onto letters
# belong to a name, not a figure: Report24, G7, MH17 (the name check holds those; S-400 still counts).
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,\u00a0 ]\d{3})+(?![\d])|(?<![^\W_])\d+(?:[.,]\d+)?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\b")
_SLASH_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")


def canonical_number(raw: str) -> str:
    compact = raw.replace("\u00a0", "").replace(" ", "")
    # Thousands separators (German 2.000, English 2,000) vs decimals (1.5 / 1,5).
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", compact):
        return str(int(re.sub(r"[.,]", "", compact)))
    if re.fullmatch(r"\d+[.,]\d+", compact):
        return str(float(compact.replace(",", ".")))
    return str(int(compact))


# A whole number in thousands groups, each language its own way (2.000 / 2,000); a decimal part after
# it ("1.160,5") leaves it alone.
_GROUPED = re.compile(r"(?<![\w.,])[1-9]\d{0,2}(?:[.,]\d{3})+(?![\d]|[.,]\d)")
_GROUP_MARK = {"en": ",", "de": "."}


def numbers_as_read(sentence: str, language: str, sources: Sequence[tuple[str, str]]) -> str:
    """The whole numbers a sentence copied from its sources, written the reader's way: an English
    sentence over a German passage's "1.160.000" says "1,160,000" (a small model writes "1.160,000"),
    a German one over an English "2,000" says "2.000". Only numbers a source writes in thousands
    groups of its own language (`sources`: text and language pairs) are rewritten, so a decimal is
    never taken for a whole number."""
    mark = _GROUP_MARK.get(language)
    if mark is None:
        return sentence
    whole: set[str] = set()
    for text, source_language in sources:
        own = _GROUP_MARK.get(source_language)
        for match in _GROUPED.finditer(text):
            if own is not None and set(re.findall(r"[.,]", match.group(0))) == {own}:
                whole.add(re.sub(r"[.,]", "", match.group(0)))

    def rewrite(match: re.Match[str]) -> str:
        raw = match.group(0)
        return mark.join(re.split(r"[.,]", raw)) if re.sub(r"[.,]", "", raw) in whole else raw

    return _GROUPED.sub(rewrite, sentence) if whole else sentence


@lru_cache(maxsize=1)
def _calendar() -> dict[str, dict[str, str]]:
    data = data_file("calendar.yaml")
    tables: dict[str, dict[str, str]] = {}
    for kind in ("months", "seasons", "weekdays", "day_parts", "period_parts"):
        tables[kind] = {fold(w): str(key) for key, forms in data[kind].items() for w in forms}
    return tables


def is_calendar_word(word: str) -> bool:
    """A month, weekday, season or part of the day: a fact to check as such, not a name."""
    folded = fold(word)
    cal = _calendar()
    return any(folded in cal[kind] for kind in ("months", "weekdays", "seasons", "day_parts"))


def month_number(word: str) -> int | None:
    value = _calendar()["months"].get(fold(word))
    return int(value) if value is not None else None


def _spelled_out(text: str, language: str) -> str:
    """Spelled-out numbers as digits ("vier" -> "4", "twenty-five" -> "25"); "one"/"ein" stay."""
    try:
        from text_to_num import alpha2digit
    except ImportError:  # pragma: no cover - a core dependency
        return text
    out = text
    for lang in (language,) if language in ("de", "en") else ("de", "en"):
        try:
            # threshold=2: "zwei"/"two" and up; "ein"/"one" are articles far more often than numbers.
            out = alpha2digit(out.replace("-", " - "), lang, threshold=2).replace(" - ", "-")
        except Exception as err:  # text2num is strict about odd input; the digits still count
            log.debug("text2num failed on %r: %s", text[:60], err)
    return out


@lru_cache(maxsize=1)
def _compounds() -> tuple[list[str], re.Pattern[str]]:
    data = data_file("numbers.yaml")
    rests = "|".join(re.escape(r) for r in data["compound_rests"])
    return sorted(data["compound_numbers"], key=len, reverse=True), re.compile(rf"(?:{rests})\w{{0,3}}$")


def _compound_numbers(text: str) -> set[str]:
    """Numbers inside German compounds: "eintägigen" (1, ignored), "sechswöchigen" (6)."""
    number_words, rest_pattern = _compounds()
    facts: set[str] = set()
    for word in words(text):
        for part in word.lower().split("-"):
            for number_word in number_words:
                if part.startswith(number_word) and rest_pattern.match(part, len(number_word)):
                    value = _german_number(number_word)
                    if value is not None and value >= 2:
                        facts.add(str(value))
                    break
    return facts


def _german_number(word: str) -> int | None:
    try:
        from text_to_num import text2num

        return int(text2num(word, "de"))
    except Exception:
        return None


# Vague plural amounts compare by magnitude: "hunderttausende" is "hundreds of thousands", and
# neither is 100 or 1000. Longest phrases first.
_MAGNITUDES = (
    (r"hundreds of thousands|hunderttausende\w*", "100000"),
    (r"tens of thousands|zehntausende\w*", "10000"),
    (r"(?:a few |several |many )?thousands|tausende\w*|einige tausend|mehrere tausend", "1000"),
    (
        r"(?:a few |several |many )?hundreds|(?:a few|several) hundred|hunderte\w*"
        r"|einige hundert|mehrere hundert",
        "100",
    ),
    (r"millions|millionen(?=\s+(?:von|menschen|\w+e[nr]\b))", "1000000"),
)
_MAGNITUDE = re.compile(
    "|".join(f"(?P<m{i}>\\b(?:{pattern})\\b)" for i, (pattern, _) in enumerate(_MAGNITUDES)), re.IGNORECASE
)


def _magnitudes(text: str) -> tuple[str, set[str]]:
    found: set[str] = set()

    def mark(match: re.Match[str]) -> str:
        index = int(next(k for k, v in match.groupdict().items() if v)[1:])
        found.add(f"magnitude:{_MAGNITUDES[index][1]}")
        return " "

    return _MAGNITUDE.sub(mark, text), found


def number_facts(text: str, language: str = "und") -> set[str]:
    """Canonical numeric and temporal facts: numbers as digits, 'month:N', 'season:NAME',
    'weekday:N', 'daypart:NAME', 'period:early|mid|late' (only right before a year or month),
    'magnitude:N' for vague amounts ("Tausende", "hundreds of thousands")."""
    # "100, 000" (a model's spacing) is one number, like "100,000".
    text = re.sub(r"(\d)([.,]) (\d{3})\b", r"\1\2\3", text)
    text, facts = _magnitudes(text)
    facts |= _digit_facts(_spelled_out(text, language))
    facts |= _compound_numbers(text)
    facts |= _calendar_facts(text)
    return facts


def _digit_facts(numeric: str) -> set[str]:
    """Dates (ISO and d/m/y) and numbers written in digits."""
    facts: set[str] = set()
    remaining = numeric
    for match in _ISO_DATE.finditer(numeric):
        facts.add(str(int(match.group(1))))
        facts.add(f"month:{int(match.group(2))}")
        if match.group(3):
            facts.add(str(int(match.group(3))))
        remaining = remaining.replace(match.group(0), " ")
    for match in _SLASH_DATE.finditer(numeric):
        facts.update({str(int(match.group(1))), f"month:{int(match.group(2))}", str(int(match.group(3)))})
        remaining = remaining.replace(match.group(0), " ")
    for match in _NUMBER.finditer(remaining):
        facts.add(canonical_number(match.group(0)))
    return facts


def _calendar_facts(text: str) -> set[str]:
    """Months, seasons, weekdays, parts of the day and of a period, written as words."""
    facts: set[str] = set()
    cal = _calendar()
    tokens = words(text)
    for i, word in enumerate(tokens):
        lower = fold(word)
        # Compounds count too: "Herbstoffensive" is about autumn, "Samstagabend" a Saturday.
        for key, season in cal["seasons"].items():
            if lower == key or (lower.startswith(key) and len(key) >= 6):
                facts.add(f"season:{season}")
        for key, weekday in cal["weekdays"].items():
            if lower == key or (lower.startswith(key) and len(key) >= 6):
                facts.add(f"weekday:{weekday}")
        part = cal["day_parts"].get(lower)
        if part is not None:
            facts.add(f"daypart:{part}")
        month = cal["months"].get(lower)
        if month is not None and (len(word) > 3 or word[:1].isupper()):
            # "may"/"mai" as ordinary words are too common to count unless capitalised.
            if lower in ("may", "mai") and not word[:1].isupper():
                continue
            facts.add(f"month:{month}")
        period = cal["period_parts"].get(lower)
        if period is not None:
            following = tokens[i + 1 : i + 4]
            if any(_YEAR.fullmatch(t) or cal["months"].get(fold(t)) for t in following):
                facts.add(f"period:{period}")
    return facts
