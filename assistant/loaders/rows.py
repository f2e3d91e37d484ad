"""What jsonl and csv files share: they are read as a stream of lines, never whole, and every row
is checked on its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from assistant.config import IngestSettings

# Unpaired surrogates only come from bytes the file's encoding cannot decode (errors="surrogateescape").
_UNDECODABLE = re.compile("[\ud800-\udfff]")


def text_lines(text: TextIO, max_chars: int) -> Iterator[str | None]:
    """Lines of `text`; None for a line longer than `max_chars`, which is read past, never held."""
    while line := text.readline(max_chars + 1):
        if len(line) > max_chars and not line.endswith("\n"):
            while (rest := text.readline(max_chars)) and not rest.endswith("\n"):
                pass
            yield None
        else:
            yield line


def line_limit(limits: IngestSettings) -> int:
    # JSON escapes ("\u00fc") and CSV quoting make a row longer than its text; never less than 1 MB.
    return max(1 << 20, 8 * limits.max_article_chars)


def row_problem(raw: str, encoding: str) -> str | None:
    """Why a row's raw text cannot be an article (binary data, bytes of another encoding), or None."""
    if "\x00" in raw:
        return "contains NUL bytes (binary data)"
    if _UNDECODABLE.search(raw):
        return f"not valid {encoding} text"
    return None
