"""CSV (.csv): one article per row, in the columns `CsvOptions` names; a bad row is skipped and
named, the others are loaded. A preset reads the GNAD corpus."""

from __future__ import annotations

import codecs
import csv as csvlib
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.loaders.base import METADATA_FIELDS, FileJob, RawDoc
from assistant.loaders.rows import line_limit, row_problem, text_lines

Column = str | int


class CsvOptions(BaseModel):
    """How to read `.csv` files. Columns are header names (with `has_header`) or 0-based indexes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    has_header: bool = True
    text_column: Column = Field(default="text", description="The article text (required).")
    id_column: Column | None = None
    title_column: Column | None = None
    date_column: Column | None = None
    source_column: Column | None = None
    url_column: Column | None = None
    language_column: Column | None = None
    label_column: Column | None = Field(
        default=None,
        description="A category; kept as `<source>/<label>` in Article.source (which has no category field), "
        "so it can be filtered on and shows in citations.",
    )
    source_name: str | None = Field(default=None, description="Source of rows without a source column value.")
    labels: tuple[str, ...] | None = Field(
        default=None,
        description="Only rows whose label column is one of these (e.g. the GNAD 'International' subset); "
        "other rows are left out silently.",
    )
    row_id_hash: bool = Field(
        default=False,
        description="Rows without an id column get `<stem>:<row>:<8 hex of sha256(text)>` instead of "
        "`<stem>:<row>`, so an inserted or deleted row changes the ids after it instead of silently "
        "reassigning them to other texts.",
    )
    encoding: str | None = Field(default=None, description="None: UTF-8, else charset-normalizer's guess.")

    @model_validator(mode="after")
    def _check(self) -> CsvOptions:
        if not self.has_header:
            named = [name for name, value in self.columns().items() if isinstance(value, str)]
            if named:
                raise ValueError(f"columns {named} are named but has_header is False; use 0-based indexes")
        if self.labels is not None and self.label_column is None:
            raise ValueError("labels filters on the label column: set label_column too")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError as exc:
                raise ValueError(str(exc)) from exc
        return self

    def columns(self) -> dict[str, Column]:
        """The configured columns by field name ("text", "title", ...)."""
        names = ("text", "id", "title", "date", "source", "url", "language", "label")
        return {name: value for name in names if (value := getattr(self, f"{name}_column")) is not None}

    @classmethod
    def gnad(cls, labels: Sequence[str] | None = None) -> CsvOptions:
        """The 10k German News Articles Dataset (GNAD): `label;'text'`, no header.

        Each row becomes source `gnad10k/<label>` (e.g. `gnad10k/International`) and id
        `<file stem>:<row>:<text hash prefix>`.
        """
        return cls(
            delimiter=";",
            quotechar="'",
            has_header=False,
            label_column=0,
            text_column=1,
            source_name="gnad10k",
            row_id_hash=True,
            labels=tuple(labels) if labels else None,
        )


def read_csv(text: TextIO, encoding: str, job: FileJob, options: CsvOptions) -> Iterator[RawDoc]:
    """The articles of a csv file, row by row."""
    lines = _RecordedLines(text, line_limit(job.limits))
    reader = csvlib.reader(lines, delimiter=options.delimiter, quotechar=options.quotechar)
    try:
        indexes = _column_indexes(reader, options, job)
        if indexes is None:
            return
        number = 0
        while True:
            lines.current = []
            first_line = lines.number + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csvlib.Error as exc:
                number += 1
                job.skip(f"row {number} (line {first_line}): malformed CSV ({exc}), skipped")
                continue
            number += 1
            doc = _article(row, _Row(number, first_line, lines.current), indexes, encoding, job, options)
            if isinstance(doc, str):
                job.skip(f"row {number}: {doc}")
            elif doc is not None:
                yield doc
    except _LineTooLong as exc:
        job.skip(
            f"line {exc.line} is longer than {lines.max_chars:,} characters: not a CSV of articles; "
            "the rest of the file was skipped"
        )


def _column_indexes(reader: Iterator[list[str]], options: CsvOptions, job: FileJob) -> dict[str, int] | None:
    """Field name -> column index, from the header when there is one (None: a column is missing)."""
    columns = options.columns()
    if not options.has_header:
        return {name: column for name, column in columns.items() if isinstance(column, int)}
    header = [cell.strip().lower() for cell in next(reader, [])]
    indexes: dict[str, int] = {}
    for name, column in columns.items():
        if isinstance(column, int):
            indexes[name] = column
        elif column.strip().lower() in header:
            indexes[name] = header.index(column.strip().lower())
        else:
            job.skip(f"no column {column!r} in the header (found: {', '.join(header)})")
            return None
    return indexes


@dataclass(frozen=True)
class _Row:
    """Where a record stands in the file: its number, its first line and the lines it was read from."""

    number: int
    first_line: int
    lines: list[str]


def _article(
    row: list[str], where: _Row, indexes: dict[str, int], encoding: str, job: FileJob, options: CsvOptions
) -> RawDoc | str | None:
    """The article of one row, why there is none (a string), or None for a row left out silently."""
    if not any(cell.strip() for cell in row):
        return None
    if indexes["text"] >= len(row):
        return f"only {len(row)} fields, no text column"
    values = {name: (row[i].strip() or None) if i < len(row) else None for name, i in indexes.items()}
    body = row[indexes["text"]]
    if not body.strip():
        return "empty text"
    if options.labels is not None and values.get("label") not in options.labels:
        return None
    problem = _record_problem(where, encoding, options) or job.too_long(body)
    if problem:
        return problem
    source = values.get("source") or options.source_name
    if values.get("label"):
        source = f"{source}/{values['label']}" if source else values["label"]
    meta = {key: values.get(key) for key in METADATA_FIELDS}
    meta["source"] = source
    article_id = values.get("id") or f"{job.task.base_id}:{where.number}"
    if not values.get("id") and options.row_id_hash:
        article_id += ":" + hashlib.sha256(body.strip().encode()).hexdigest()[:8]
    origin = f"{job.task.resolved}#{where.number}"
    return RawDoc(body, origin, article_id, meta=meta, label=f"row {where.number}")


def _record_problem(where: _Row, encoding: str, options: CsvOptions) -> str | None:
    raw = "".join(where.lines)
    problem = row_problem(raw, encoding)
    if problem is None and len(where.lines) > 1 and not _quotes_balanced(raw, options):
        last = where.first_line + len(where.lines) - 1
        problem = (
            f"lines {where.first_line}-{last} were read as one row: a quote ({options.quotechar}) is not "
            "closed where it should be, so the lines after it ended up in this row's text; fix the quoting"
        )
    return problem


class _RecordedLines:
    """Feeds lines to csv.reader and keeps those of the current record, so every row can be checked
    for NUL bytes, undecodable bytes and quotes that swallowed the lines after them."""

    def __init__(self, text: TextIO, max_chars: int) -> None:
        self._lines = text_lines(text, max_chars)
        self.max_chars = max_chars
        self.number = 0  # physical lines read
        self.current: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if line is None:
            raise _LineTooLong(self.number)
        self.current.append(line)
        return line.replace("\x00", "")  # Python < 3.11's csv rejects NUL; the row is skipped anyway


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _quotes_balanced(raw: str, options: CsvOptions) -> bool:
    """Whether a record read over several lines is one well-formed record, and not an unclosed quote
    that ran on until the next quote character (or the end of the file)."""
    try:
        rows = list(
            csvlib.reader(
                io.StringIO(raw.replace("\x00", ""), newline=""),
                delimiter=options.delimiter,
                quotechar=options.quotechar,
                strict=True,
            )
        )
    except csvlib.Error:
        return False
    return len(rows) == 1
