"""Loading: every supported file under the given paths, one article at a time, each file read by
the module of its format; what cannot be loaded is reported in `skipped`, never fatal."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final

from pydantic import BaseModel, Field

from assistant.config import IngestSettings
from assistant.loaders.base import (
    ROW_SUFFIXES,
    SUPPORTED_SUFFIXES,
    Failure,
    FileJob,
    FileTask,
    Meta,
    RawDoc,
    max_file_bytes,
)
from assistant.loaders.csv import CsvOptions, read_csv
from assistant.loaders.decode import SNIFF_BYTES, decode, megabytes, not_regular, open_regular, sniff_encoding
from assistant.loaders.html import read_html
from assistant.loaders.ids import ArticleIds
from assistant.loaders.jsonl import read_jsonl
from assistant.loaders.markdown import read_markdown
from assistant.loaders.metadata import finish_article, read_sidecar
from assistant.loaders.txt import read_txt
from assistant.loaders.walk import check_path, collect
from assistant.types import Article, SkippedFile

logger = logging.getLogger(__name__)

# Whole-file formats: decoded text in, (plain text, metadata) out.
_READERS: Final[dict[str, Callable[[str], tuple[str, Meta]]]] = {
    ".txt": read_txt,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
}


class LoadResult(BaseModel):
    """Articles loaded, files skipped (with a reason), and every file considered."""

    articles: list[Article] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(
        default_factory=list,
        description="Whole files or folders, or single jsonl/csv rows (the reason names the row).",
    )
    files: list[str] = Field(
        default_factory=list,
        description="Absolute path of every file considered, loaded or skipped, excluding hidden files and "
        "sidecars. An indexed article whose origin file (see `origin_file`) is not here has vanished.",
    )


class ArticleStream:
    """Every supported file under `paths` (files or folders, recursively, in sorted order), loaded
    lazily: iterate to get the articles one by one; `skipped` and `files` fill up meanwhile.

    jsonl and csv files are read row by row, so memory stays bounded whatever their size. One bad
    file, folder or row never aborts the run: it is reported in `skipped`. Raises InputError at
    construction if a path does not exist.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        csv: CsvOptions | None = None,
        limits: IngestSettings | None = None,
        ids: ArticleIds | None = None,
    ) -> None:
        for path in paths:
            check_path(Path(path))
        self._paths = [Path(p) for p in paths]
        self._csv = csv or CsvOptions()
        self._limits = limits or IngestSettings()
        self._ids = ids or ArticleIds()
        self.skipped: list[SkippedFile] = []
        self.files: list[str] = []
        self.loaded = 0

    def __iter__(self) -> Iterator[Article]:
        tasks = collect(self._paths, self.skipped, self.files)
        sidecars: dict[Path, dict[str, Meta]] = {}
        for task in tasks:
            folder = task.resolved.parent
            if folder not in sidecars:
                sidecars[folder] = read_sidecar(folder, self.skipped, self._limits)
            yield from self._articles(task, sidecars[folder].get(task.resolved.name, {}))
        logger.info(
            "loaded %d articles from %d files (%d skipped)", self.loaded, len(self.files), len(self.skipped)
        )

    def _articles(self, task: FileTask, sidecar: Meta) -> Iterator[Article]:
        """The articles of one file. The sidecar entry of a row file applies to each row, below what
        the row itself says; that of a whole file overrides what the file says."""
        job = FileJob(task, self._limits, self.skipped)
        is_row_file = task.resolved.suffix.lower() in ROW_SUFFIXES
        first_of: dict[str, str] = {}  # id -> origin, duplicates within one file
        try:
            for doc in _read_file(job, self._csv):
                if is_row_file:
                    doc.defaults = sidecar
                article = self._finish(doc, job, {} if is_row_file else sidecar, first_of)
                if article is not None:
                    self.loaded += 1
                    yield article
        except Exception as exc:  # one bad file never aborts a run
            logger.debug("failed to parse %s", task.resolved, exc_info=True)
            job.skip(f"could not be parsed: {type(exc).__name__}: {exc}")

    def _finish(self, doc: RawDoc, job: FileJob, overrides: Meta, first_of: dict[str, str]) -> Article | None:
        where = f"{doc.label}: " if doc.label else ""
        if doc.id in first_of:
            job.skip(f"{where}duplicate article id {doc.id!r} (first loaded from {first_of[doc.id]})")
            return None
        first_of[doc.id] = doc.origin
        article = finish_article(doc, overrides)
        if article is None:
            job.skip(f"{where}empty after cleaning")
            return None
        article.id = self._ids.assign(article.id, article.origin)
        return article


def load_paths(
    paths: Sequence[Path], *, csv: CsvOptions | None = None, limits: IngestSettings | None = None
) -> LoadResult:
    """All of `ArticleStream(paths)` at once. Raises InputError if a path does not exist."""
    stream = ArticleStream(paths, csv=csv, limits=limits)
    articles = list(stream)
    return LoadResult(articles=articles, skipped=stream.skipped, files=stream.files)


def _read_file(job: FileJob, csv_options: CsvOptions) -> Iterator[RawDoc]:
    path = job.task.resolved
    suffix = path.suffix.lower()
    special = not_regular(path)
    if special is None and suffix not in SUPPORTED_SUFFIXES:
        special = Failure(f"unsupported file type {suffix or '(no extension)'!r}")
    if special is not None:
        job.skip(special.reason)
        return
    opened = open_regular(path)
    if isinstance(opened, Failure):
        job.skip(opened.reason)
        return
    handle, size = opened
    with handle:
        if suffix in ROW_SUFFIXES:
            yield from _read_rows(handle, job, csv_options)
            return
        limit = max_file_bytes(job.limits)
        data = handle.read(limit + 1)
    if len(data) > limit:
        job.skip(
            f"larger than the limit for one article ({megabytes(max(size, len(data)))} > "
            f"{job.limits.max_file_mb:g} MB; raise ASSISTANT_INGEST__MAX_FILE_MB to load it)"
        )
        return
    if not data.strip():
        job.skip("empty file")
        return
    decoded = decode(data, path)
    if isinstance(decoded, Failure):
        job.skip(decoded.reason)
        return
    text, meta = _READERS[suffix](decoded)
    too_long = job.too_long(text)
    if too_long:
        job.skip(too_long)
        return
    yield RawDoc(text, str(path), job.task.base_id, meta=meta)


def _read_rows(handle: BinaryIO, job: FileJob, csv_options: CsvOptions) -> Iterator[RawDoc]:
    is_csv = job.task.resolved.suffix.lower() == ".csv"
    encoding = sniff_encoding(handle, csv_options.encoding if is_csv else None)
    if isinstance(encoding, Failure):
        job.skip(encoding.reason)
        return
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    if not head.strip() and len(head) < SNIFF_BYTES:
        job.skip("empty file")
        return
    # Not universal newlines for jsonl: JSON strings may hold U+2028 or a lone \r; "\n" ends a line.
    text = io.TextIOWrapper(
        handle, encoding=encoding, errors="surrogateescape", newline="" if is_csv else "\n"
    )
    try:
        if is_csv:
            yield from read_csv(text, encoding, job, csv_options)
        else:
            yield from read_jsonl(text, encoding, job)
    except UnicodeDecodeError as exc:  # e.g. broken UTF-16, which surrogateescape cannot carry
        job.skip(f"not valid {encoding} text ({exc.reason}); the rest of the file was skipped")
    finally:
        text.detach()
