"""What the user typed, checked: the question and the filters of the settings accordion."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.config import Settings
from assistant.dates import is_filter_date
from assistant.errors import InputError
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
) -> Filters | None:
    """Filters from the settings accordion; None when nothing is set. Raises InputError on bad dates."""
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        value = (value or "").strip()
        if value and not is_filter_date(value):
            raise InputError(f"{label} date {value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD.")
        dates.append(value or None)
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
