"""What the user typed, checked: the question and the filters of the settings accordion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.config import Settings
from assistant.dates import is_filter_date
from assistant.errors import InputError
from assistant.interfaces.options import resolve_sources
from assistant.types import Filters

EXAMPLE_QUESTIONS = [
    "When did Russian peacekeepers leave Karabakh?",
    "Welche Waffen lieferte Weißrussland an Aserbaidschan?",
    "What did Armenia ask Russia for when the border fighting escalated?",
    "Who won the 2022 football World Cup?",
]


def make_filters(
    sources: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    *,
    known_sources: Mapping[str, int] | None = None,
) -> Filters | None:
    """Filters from the settings accordion; None when nothing is set. Sources are matched to
    `known_sources` ignoring case. Raises InputError on a bad date or a source the index lacks."""
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        value = (value or "").strip()
        if value and not is_filter_date(value):
            raise InputError(
                f"{label} date {value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2024-06-30."
            )
        dates.append(value or None)
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise InputError(f"From date {dates[0]} is after To date {dates[1]}: nothing could match.")
    if sources:
        sources = resolve_sources([s for s in sources if s.strip()], known_sources)
    filters = Filters(
        sources=list(sources) or None if sources else None,
        languages=list(languages) or None if languages else None,
        date_from=dates[0],
        date_to=dates[1],
    )
    return None if filters.is_empty() else filters


def check_question(question: str, settings: Settings) -> str:
    """The stripped question, or InputError when it is empty or longer than the configured limit."""
    question = question.strip()
    if not question:
        raise InputError("Please type a question.")
    limit = settings.answer.max_question_chars
    if len(question) > limit:
        raise InputError(
            f"Your question is {len(question)} characters long; the limit is {limit}. Please shorten it."
        )
    return question
