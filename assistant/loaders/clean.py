"""Cleaning an article's text: Unicode and whitespace normalised, paragraph breaks kept, obvious
boilerplate lines (credits, bare URLs, teasers, trailing appeals) dropped."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b\u2060\ufeff\u00ad]")
_MULTISPACE = re.compile(r" {2,}")

# Lines dropped anywhere: image credits, copyright lines, bare URLs, "read more" teasers.
_CREDIT_LINE = re.compile(
    r"^(?:bild|bilder|foto|fotos|fotografie|photo|photos|image|images|picture|titelbild|symbolbild|"
    r"beitragsbild|vorschaubild|bildquelle|bildnachweis|quelle bild|credit|credits|photo credit|"
    r"image credit|image source)\s*(?:\([^)]*\))?\s*:",
    re.I,
)
_COPYRIGHT_LINE = re.compile(r"^(?:©|\(c\)\s|copyright\b)", re.I)
_URL_LINE = re.compile(r"^<?(?:https?://|www\.)\S+>?$", re.I)
_READ_MORE_LINE = re.compile(
    r"^(?:mehr zum thema|lesen sie auch|lesen sie mehr|weiterlesen|auch interessant|siehe auch|"
    r"read more|related(?: articles| stories)?|see also)\s*(?:[-–—:|]|$)",
    re.I,
)
_SHORT_LINE_CHARS: Final = 200
_SHORT_LINE_WORDS: Final = 15
# Dropped only in the trailing block of an article, so a sentence *about* a donation survives.
_APPEAL = re.compile(
    r"\bunterstützen sie (?:uns|unsere[nmrs]?|unabhängigen|[\w-]+ (?:via|mit|per))\b|\bspenden sie\b|"
    r"\bjetzt spenden\b|\b(?:via|per) paypal\b|\b(?:folgen|abonnieren) sie uns\b|\babonnieren sie unseren\b|"
    r"\bsupport (?:us|our (?:independent )?journalism)\b|\bdonate (?:now|today|to us)\b|"
    r"\bbecome a (?:member|supporter|patron)\b|\bsubscribe to our\b|\bfollow us on\b",
    re.I,
)
# An appeal is a paragraph of its own; a longer line is an article's text (a CSV row is one line).
_APPEAL_LINE_CHARS: Final = 600
# No leading \s*: the regex engine then skips ahead to the teaser's first letters.
_TRAILER = re.compile(r"\b(?:Mehr zum Thema|Lesen Sie auch|Read more)\s*[-–—:]\s.*$")


def clean_text(text: str) -> str:
    """Normalise Unicode and whitespace, keep paragraph breaks, drop obvious boilerplate lines.

    Conservative: whole lines (credits, bare URLs, "Mehr zum Thema" teasers, trailing donation
    appeals) are dropped and a trailing teaser is cut; sentences are never rewritten.
    """
    text = unicodedata.normalize("NFC", text)
    text = _NEWLINES.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    lines = [_MULTISPACE.sub(" ", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if not _is_boilerplate_line(line)]
    while lines:
        last = lines[-1]
        if not last or (len(last) <= _APPEAL_LINE_CHARS and _APPEAL.search(last)):
            lines.pop()
            continue
        if teaser := _TRAILER.search(last):
            lines[-1] = last[: teaser.start()].rstrip()
        break
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _is_boilerplate_line(line: str) -> bool:
    if not line:
        return False
    if not any(ch.isalnum() for ch in line):
        return True  # separators such as "|", "***", "———"
    short = len(line) <= _SHORT_LINE_CHARS and len(line.split()) <= _SHORT_LINE_WORDS
    return bool(
        _URL_LINE.match(line)
        or (
            short and (_CREDIT_LINE.match(line) or _COPYRIGHT_LINE.match(line) or _READ_MORE_LINE.match(line))
        )
    )
