"""JSON Lines (.jsonl): one article per line, a JSON object with `text` and optionally `id` and the
metadata fields; a bad line is skipped and named, the others are loaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from assistant.loaders.base import METADATA_FIELDS, FileJob, RawDoc
from assistant.loaders.rows import line_limit, row_problem, text_lines


def read_jsonl(text: TextIO, encoding: str, job: FileJob) -> Iterator[RawDoc]:
    """The articles of a jsonl file, line by line."""
    max_line = line_limit(job.limits)
    for number, line in enumerate(text_lines(text, max_line), start=1):
        label = f"line {number}"
        if line is None:
            job.skip(f"{label}: longer than {max_line:,} characters, skipped")
            continue
        if not line.strip():
            continue
        doc = _article(line, number, encoding, job)
        if isinstance(doc, str):
            job.skip(f"{label}: {doc}")
        else:
            yield doc


def _article(line: str, number: int, encoding: str, job: FileJob) -> RawDoc | str:
    """The article of one line, or why there is none."""
    problem = row_problem(line, encoding)
    if problem:
        return problem
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg})"
    if not isinstance(record, dict):
        return "not a JSON object"
    try:
        body = _row_value(record.get("text"), "text")
        meta = {key: _row_value(record.get(key), key) for key in METADATA_FIELDS}
        row_id = _row_value(record.get("id"), "id")
    except ValueError as exc:
        return str(exc)
    if not body or not body.strip():
        return "missing or empty 'text'"
    too_long = job.too_long(body)
    if too_long:
        return too_long
    task = job.task
    article_id = row_id.strip() if row_id and row_id.strip() else f"{task.base_id}:{number}"
    return RawDoc(body, f"{task.resolved}#{number}", article_id, meta=meta, label=f"line {number}")


def _row_value(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and name in ("id", "date"):
        return str(value)
    raise ValueError(f"field {name!r} must be a string")
