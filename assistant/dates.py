"""Dates as numbers that compare: how every index (Chroma's metadata, BM25's arrays) stores an
article's date so that date filters agree, whatever the backend."""

from __future__ import annotations

import re

_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
_FILTER_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def is_filter_date(value: str) -> bool:
    """Whether `value` is a date a filter takes: YYYY, YYYY-MM or YYYY-MM-DD."""
    return _FILTER_DATE.fullmatch(value) is not None


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
