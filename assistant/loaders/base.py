"""What every format hands on: the file being read, the raw article it found, and skip reports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from assistant.config import IngestSettings
from assistant.types import SkippedFile

logger = logging.getLogger(__name__)

SIDECAR_NAME: Final = "_meta.json"
SUPPORTED_SUFFIXES: Final = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".csv")
ROW_SUFFIXES: Final = (".jsonl", ".csv")
METADATA_FIELDS: Final = ("title", "date", "source", "url", "language")

Meta = dict[str, str | None]


@dataclass
class FileTask:
    path: Path  # absolute, as walked (links not resolved): what skip reasons name
    resolved: Path  # the file itself: origin and identity
    root: Path
    base_id: str


@dataclass
class RawDoc:
    """One article before cleaning: raw text plus whatever metadata the format gave."""

    text: str
    origin: str
    id: str
    meta: Meta = field(default_factory=dict)
    defaults: Meta = field(default_factory=dict)  # sidecar values for row files
    label: str = ""  # names a row in skip reasons, e.g. "line 3"


@dataclass(frozen=True)
class Failure:
    """Why a file cannot be read at all."""

    reason: str


def skip(skipped: list[SkippedFile], path: Path, reason: str) -> None:
    logger.info("skipped %s: %s", path, reason)
    skipped.append(SkippedFile(path=str(path), reason=reason))


@dataclass(frozen=True)
class FileJob:
    """One file being read: what it is, the limits that apply, and where skips are reported."""

    task: FileTask
    limits: IngestSettings
    skipped: list[SkippedFile]

    def skip(self, reason: str) -> None:
        skip(self.skipped, self.task.path, reason)

    def too_long(self, text: str) -> str | None:
        """Why `text` is too long for one article, or None."""
        limit = self.limits.max_article_chars
        if len(text) <= limit:
            return None
        return (
            f"text of {len(text):,} characters is longer than the limit of {limit:,} "
            "(ASSISTANT_INGEST__MAX_ARTICLE_CHARS)"
        )


def max_file_bytes(limits: IngestSettings) -> int:
    return int(limits.max_file_mb * 1024 * 1024)
