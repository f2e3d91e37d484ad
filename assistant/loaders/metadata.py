"""An article's metadata: from the folder's `_meta.json` sidecar, the file itself, or the text
(date lines, the first line or sentence as title, the detected language), and its content hash.

Precedence: sidecar > the file (front matter, HTML meta tags, jsonl fields, csv columns) > the
sidecar's values for every row of a row file > inference from the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from pathlib import Path
from typing import Final

from assistant.config import IngestSettings
from assistant.loaders.base import METADATA_FIELDS, SIDECAR_NAME, Meta, RawDoc, max_file_bytes, skip
from assistant.loaders.clean import clean_text
from assistant.text.language import detect_language
from assistant.text.sentences import split_sentences
from assistant.types import Article, SkippedFile

logger = logging.getLogger(__name__)

# Languages an article may be detected in; anything else in a news feed is rare enough to be a misfire.
ARTICLE_LANGUAGES: Final = ("de", "en", "fr", "es", "it", "nl", "pl", "pt", "ru", "tr", "uk")
TITLE_MAX_CHARS: Final = 200  # a first line up to this long, followed by more text, is a headline
_TITLE_SENTENCE_CHARS: Final = 150  # a first sentence used as title is cut to this
_TITLE_SCAN_CHARS: Final = 2000
_LEADING_DATE = re.compile(r"\Adate\s*[:=]?\s*(\d{4}(?:-\d{2}(?:-\d{2})?)?)\b\s*", re.I)
_WHITESPACE = re.compile(r"\s+")


def finish_article(doc: RawDoc, overrides: Meta) -> Article | None:
    """The cleaned article with its metadata settled; None when nothing is left after cleaning."""
    text = clean_text(doc.text)
    inferred_date = None
    leading = _LEADING_DATE.match(text)
    if leading:
        # A "date 2024-06" token opening the text is metadata, not prose.
        inferred_date = normalize_date(leading.group(1))
        text = text[leading.end() :].lstrip()
    if not text:
        return None
    meta: Meta = {key: None for key in METADATA_FIELDS}
    for layer in (doc.defaults, doc.meta, overrides):
        for key, value in layer.items():
            if value is not None and str(value).strip():
                meta[key] = str(value).strip()
    date = normalize_date(meta["date"]) or inferred_date or _date_from_top_lines(text)
    language = _normalize_language(meta["language"]) or detect_language(
        text, default="und", languages=ARTICLE_LANGUAGES
    )
    title = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", meta["title"] or "")).strip()
    article = Article(
        id=doc.id,
        text=text,
        title=title or infer_title(text, language),
        source=meta["source"] or "",
        date=date,
        language=language,
        url=meta["url"],
        origin=doc.origin,
    )
    article.content_hash = content_hash(article)
    return article


def content_hash(article: Article) -> str:
    """sha256 over the cleaned text and the metadata a reader sees; the origin path is not part of it."""
    payload = [article.text, article.title, article.source, article.date, article.language, article.url]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def read_sidecar(folder: Path, skipped: list[SkippedFile], limits: IngestSettings) -> dict[str, Meta]:
    """File name -> metadata, from the folder's `_meta.json`; a broken sidecar is reported and ignored."""
    path = folder / SIDECAR_NAME
    try:
        if not path.is_file():
            return {}
        if path.stat().st_size > max_file_bytes(limits):
            skip(skipped, path, f"metadata sidecar larger than {limits.max_file_mb:g} MB, ignored")
            return {}
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        skip(skipped, path, f"unreadable metadata sidecar, ignored: {exc}")
        return {}
    if not isinstance(data, dict):
        skip(skipped, path, "metadata sidecar is not a JSON object, ignored")
        return {}
    sidecar: dict[str, Meta] = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue  # comments
        if not isinstance(entry, dict):
            logger.warning("%s: entry %r is not an object, ignored", path, name)
            continue
        sidecar[name] = _sidecar_values(path, name, entry)
    return sidecar


def _sidecar_values(path: Path, name: str, entry: dict[str, object]) -> Meta:
    values: Meta = {}
    for key, value in entry.items():
        if key not in METADATA_FIELDS:
            logger.warning("%s: unknown field %r for %r, ignored", path, key, name)
        elif value is not None:  # null means unknown: keep what is inferred
            values[key] = str(value)
    return values


_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})")
_SLASHED_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def normalize_date(value: str | None) -> str | None:
    """ISO date or partial date (YYYY, YYYY-MM, YYYY-MM-DD) from common spellings; None if unknown."""
    if not value:
        return None
    value = value.strip()
    match = _ISO_DATE.match(value)
    if match and (len(value) == match.end() or value[match.end()] in "T "):
        year, month, day = match.groups()
        return _valid_date(int(year), int(month) if month else None, int(day) if day else None)
    match = _DOTTED_DATE.fullmatch(value)
    if match:
        return _valid_date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    match = _SLASHED_DATE.fullmatch(value)
    # Slashes are ambiguous (27/09 vs 09/27): accept only what reads the same either way or is unambiguous.
    if match:
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if first > 12 or first == second:
            return _valid_date(year, second, first)
        if second > 12:
            return _valid_date(year, first, second)
    logger.debug("unrecognised date %r ignored", value)
    return None


def _valid_date(year: int, month: int | None, day: int | None) -> str | None:
    try:
        if day is not None and month is not None:
            return dt.date(year, month, day).isoformat()
        if month is not None:
            return dt.date(year, month, 1).isoformat()[:7]
        return f"{year:04d}" if 1 <= year <= 9999 else None
    except ValueError:
        return None


def _date_from_top_lines(text: str) -> str | None:
    """A line near the top that is nothing but a date ("27/09/2023") dates the article."""
    for line in text.split("\n", 8)[:8]:
        if 8 <= len(line) <= 10 and line[0].isdigit():
            date = normalize_date(line)
            if date:
                return date
    return None


def _normalize_language(value: str | None) -> str | None:
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def infer_title(text: str, language: str = "und") -> str:
    """The first line when it reads as a headline, else the first sentence, shortened."""
    first_line, _, rest = text.partition("\n")
    first_line = first_line.strip()
    if (
        rest.strip()
        and len(first_line) <= TITLE_MAX_CHARS
        and len(split_sentences(first_line, language)) <= 1
    ):
        return first_line
    # The first sentence is all that is used, and a longer one is cut: the text's start will do.
    spans = split_sentences(text[:_TITLE_SCAN_CHARS], language)
    if not spans:
        return ""
    sentence = text[spans[0][0] : spans[0][1]]
    if len(sentence) <= _TITLE_SENTENCE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, _TITLE_SENTENCE_CHARS)
    return sentence[: cut if cut > 0 else _TITLE_SENTENCE_CHARS].rstrip(" ,;:–-") + "…"
