"""Dates as numbers that compare: how every index (Chroma's metadata, BM25's arrays) stores an
article's date so that date filters agree, whatever the backend."""

from __future__ import annotations

import datetime
import re

_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
_FILTER_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def is_filter_date(value: str) -> bool:
    """Whether `value` is a date a filter takes: YYYY, YYYY-MM or YYYY-MM-DD, and one the calendar
    has (2024-13-45 is not)."""
    if _FILTER_DATE.fullmatch(value) is None:
        return False
    parts = [int(p) for p in value.split("-")]
    try:
        datetime.date(parts[0], *[*parts[1:], 1, 1][:2])
    except ValueError:
        return False
    return True


def date_number(date: str | None, *, end: bool = False) -> int:
    """'2024-06' -> 20240600 (or 20240699 as an inclusive upper bound); None/garbage -> 0."""
    if not date:
        return 0
    match = _PARTIAL_ISO.match(date.strip())
    if not match:
        return 0
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (99 if end else 0)
    day = int(match.group(3)) if match.group(3) else (99 if end else 0)
    return year * 10000 + month * 100 + day
