"""Plain text (.txt): hard-wrapped paragraphs are joined again."""

from __future__ import annotations

import itertools
import re

from assistant.loaders.base import Meta


def read_txt(text: str) -> tuple[str, Meta]:
    """The text of a .txt file, and no metadata (it has none)."""
    return _unwrap_hard_wraps(text), {}


def _unwrap_hard_wraps(text: str) -> str:
    """Re-join paragraphs of hard-wrapped plain text, where single line breaks are not boundaries.

    Only when nearly every line that continues a paragraph has about the same, short width.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    continued = [
        len(line.rstrip()) for line, nxt in itertools.pairwise(lines) if line.strip() and nxt.strip()
    ]
    if len(continued) < 4:
        return text
    width = max(continued)
    if width > 100 or sum(n >= 0.6 * width for n in continued) < 0.8 * len(continued):
        return text
    paragraphs = re.split(r"\n[ \t]*\n", "\n".join(lines))
    return "\n\n".join(" ".join(part.strip() for part in p.split("\n")) for p in paragraphs)
