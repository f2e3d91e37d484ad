"""Load news articles from files and folders (txt, md, html, jsonl, csv) into cleaned `Article`s.

Metadata comes from, in order of precedence: a per-folder `_meta.json` sidecar, the file itself
(front matter, HTML meta tags, jsonl fields, csv columns), then inference from the text.
"""

from __future__ import annotations

import codecs
import csv as csvlib
import datetime as dt
import errno
import hashlib
import io
import itertools
import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

import yaml
from charset_normalizer import from_bytes
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from pydantic import BaseModel, ConfigDict, Field, model_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from assistant.chunking import split_sentences
from assistant.config import IngestSettings
from assistant.errors import InputError
from assistant.types import Article, SkippedFile

logger = logging.getLogger(__name__)

SIDECAR_NAME: Final = "_meta.json"
SUPPORTED_SUFFIXES: Final = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".csv")
_ROW_SUFFIXES: Final = (".jsonl", ".csv")

# Languages the identifier may answer; anything else in a news feed is rare enough to be a misfire.
DETECTABLE_LANGUAGES: Final = ("de", "en", "fr", "es", "it", "nl", "pl", "pt", "ru", "tr", "uk")
_LANGUAGE_MIN_CONFIDENCE: Final = 0.6
_LANGUAGE_MIN_LETTERS: Final = 20
_LANGUAGE_SAMPLE_CHARS: Final = 1500  # plenty for a confident guess; the identifier is the slow part

TITLE_MAX_CHARS: Final = 200  # a first line up to this long, followed by more text, is a headline
_TITLE_SENTENCE_CHARS: Final = 150  # a first sentence used as title is cut to this
_METADATA_FIELDS: Final = ("title", "date", "source", "url", "language")

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


def origin_file(origin: str) -> str:
    """The file part of `Article.origin` (`path` or `path#row` for jsonl/csv rows)."""
    path, sep, row = origin.rpartition("#")
    if sep and row.isdigit() and path.lower().endswith(_ROW_SUFFIXES):
        return path
    return origin


# ---------------------------------------------------------------------------------------------
# Article identity


def _origin_tag(origin: str) -> str:
    return hashlib.sha256(origin_file(origin).encode()).hexdigest()[:8]


class ArticleIds:
    """Makes article ids unique per source and stable across runs.

    An article's natural id is the path of its file relative to what was ingested, without the
    suffix (`000_10b77cea8b010999`, `2024/ezb`), or the id a jsonl/csv row carries, or
    `<stem>:<row>[:<hash>]` for rows without one. `held` maps the ids already in the index to the
    origins of their articles.

    - A file already in the index keeps its id, however it is named now (the folder or the file
      itself given on the command line, a sibling with the same stem added later).
    - Otherwise the natural id is used whenever it is free, so the ids of the sample corpus and of
      the GNAD rows the evals cite never change; an id whose file is gone (the corpus was moved) is
      taken over, so moving a corpus updates it instead of duplicating it.
    - An id held by another file that still exists, in this run or in the index, becomes
      `<id>~<8 hex of sha256(the file's path)>`, again the same on every run.

    Why not always include the full path: ids are shown and cited, and would change whenever a
    corpus moves. Why not a content hash: an edited article must replace its old version, not sit
    next to it (web uploads have no lasting path and are named by content: see interfaces/web.py).
    """

    def __init__(
        self, held: Mapping[str, str] | None = None, *, exists: Callable[[str], bool] = os.path.exists
    ) -> None:
        self._held = {article_id: origin_file(origin) for article_id, origin in (held or {}).items()}
        # Whole-file articles by origin; rows are not, as a row's id follows its text (row_id_hash).
        self._by_origin = {
            origin: article_id for article_id, origin in (held or {}).items() if origin_file(origin) == origin
        }
        self._exists = exists
        self._claimed: dict[str, str] = {}  # id -> origin file, this run

    def assign(self, natural: str, origin: str) -> str:
        """The id for an article whose natural id is `natural`, loaded from `origin`."""
        file = origin_file(origin)
        previous = self._by_origin.get(origin) if file == origin else None
        if previous is not None and self._claimed.get(previous, file) == file:
            chosen = previous
        else:
            alternative = f"{natural}~{_origin_tag(file)}"
            claimed = self._claimed.get(natural)
            held = self._held.get(natural)
            kept_before = file in (self._held.get(alternative), self._claimed.get(alternative))
            taken = (claimed is not None and claimed != file) or (
                claimed is None and held is not None and held != file and self._exists(held)
            )
            chosen = alternative if kept_before or taken else natural
        if chosen != natural:
            logger.debug("article from %s has the id %r (its natural id %r is taken)", file, chosen, natural)
        self._claimed.setdefault(chosen, file)
        return chosen


# ---------------------------------------------------------------------------------------------
# Entry point


@dataclass
class _FileTask:
    path: Path  # absolute, as walked (links not resolved): what skip reasons name
    resolved: Path  # the file itself: origin and identity
    root: Path
    base_id: str


@dataclass
class _RawDoc:
    """One article before cleaning: raw text plus whatever metadata the format gave."""

    text: str
    origin: str
    id: str
    meta: dict[str, str | None] = field(default_factory=dict)
    defaults: dict[str, str | None] = field(default_factory=dict)  # sidecar values for row files
    label: str = ""  # names a row in skip reasons, e.g. "line 3"


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
        tasks = _collect(self._paths, self.skipped, self.files)
        sidecars: dict[Path, dict[str, dict[str, str | None]]] = {}
        for task in tasks:
            folder = task.resolved.parent
            if folder not in sidecars:
                sidecars[folder] = _read_sidecar(folder, self.skipped, self._limits)
            overrides = sidecars[folder].get(task.resolved.name, {})
            is_row_file = task.resolved.suffix.lower() in _ROW_SUFFIXES
            first_of: dict[str, str] = {}  # id -> origin, duplicates within one file
            try:
                for doc in _parse_file(task, self._csv, self._limits, overrides, self.skipped):
                    article = self._finish(doc, task, {} if is_row_file else overrides, first_of)
                    if article is not None:
                        self.loaded += 1
                        yield article
            except Exception as exc:  # one bad file never aborts a run
                logger.debug("failed to parse %s", task.resolved, exc_info=True)
                _skip(self.skipped, task.path, f"could not be parsed: {type(exc).__name__}: {exc}")
        logger.info(
            "loaded %d articles from %d files (%d skipped)", self.loaded, len(self.files), len(self.skipped)
        )

    def _finish(
        self, doc: _RawDoc, task: _FileTask, overrides: dict[str, str | None], first_of: dict[str, str]
    ) -> Article | None:
        where = f"{doc.label}: " if doc.label else ""
        if doc.id in first_of:
            reason = f"{where}duplicate article id {doc.id!r} (first loaded from {first_of[doc.id]})"
            _skip(self.skipped, task.path, reason)
            return None
        first_of[doc.id] = doc.origin
        article = _finish(doc, overrides=overrides)
        if article is None:
            _skip(self.skipped, task.path, f"{where}empty after cleaning")
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


def check_path(path: Path) -> None:
    """InputError unless `path` exists (a broken or looping link counts: it is reported when loaded)."""
    try:
        if path.exists() or path.is_symlink():
            return
    except OSError as exc:  # e.g. ENAMETOOLONG: exists() only swallows "not found"
        raise InputError(f"Cannot use the path {_short(path)}: {exc.strerror}") from None
    raise InputError(f"No such file or folder: {path}")


def _short(path: Path | str, limit: int = 120) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def _skip(skipped: list[SkippedFile], path: Path, reason: str) -> None:
    logger.info("skipped %s: %s", path, reason)
    skipped.append(SkippedFile(path=str(path), reason=reason))


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _collect(paths: Sequence[Path], skipped: list[SkippedFile], files: list[str]) -> list[_FileTask]:
    """Walk the inputs in a deterministic order, dedupe, and give each file a readable stable id."""
    tasks: list[_FileTask] = []
    seen: set[Path] = set()
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            candidates = list(_walk(root, skipped))
        elif root.name == SIDECAR_NAME:
            _skip(skipped, _absolute(root), "metadata sidecar, read together with its folder")
            continue
        else:
            # An explicitly named file is loaded even if its name starts with "_" or ".".
            candidates = [root]
            root = root.parent
        for path in candidates:
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop before Python 3.13
                _skip(skipped, _absolute(path), _unresolvable(path, exc))
                files.append(str(_absolute(path)))
                continue
            if resolved in seen:
                continue
            seen.add(resolved)
            relative = path.relative_to(root)
            tasks.append(_FileTask(_absolute(path), resolved, root, relative.with_suffix("").as_posix()))
            files.append(str(resolved))
    _disambiguate(tasks)
    return tasks


def _unresolvable(path: Path, exc: BaseException) -> str:
    error = getattr(exc, "errno", None)
    if isinstance(exc, RuntimeError) or error == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself), not followed"
    if error == errno.ENAMETOOLONG:
        return "path too long for this system"
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symbolic link: its target {target!r} does not exist"
    strerror = getattr(exc, "strerror", None) or str(exc)
    return f"cannot be read: {strerror}"


def _walk(root: Path, skipped: list[SkippedFile]) -> Iterator[Path]:
    """Files under `root` in sorted order, depth first (as os.walk top-down), skipping hidden names.

    Unlike os.walk it reports what it cannot enter (permission denied, a path too long for the
    system) and links to folders, which it does not follow (a link to a parent would never end).
    """
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            _skip(skipped, _absolute(folder), f"folder cannot be read: {exc.strerror or exc}")
            continue
        subfolders: list[Path] = []
        for entry in listing:
            if _is_hidden(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                    continue
                if entry.is_symlink() and entry.is_dir():
                    _skip(skipped, _absolute(path), "link to a folder, not followed")
                    continue
            except OSError:
                pass  # a link loop or a broken link: reported when the file is opened
            yield path
        folders.extend(reversed(subfolders))


def _disambiguate(tasks: list[_FileTask]) -> None:
    """Ids are the relative path without suffix; files of one folder that differ only in their suffix
    (`y.txt`, `y.md`) keep it. Clashes between inputs are ArticleIds' to settle, the same way whether
    the inputs come in one run or in several."""
    groups: dict[tuple[Path, str], list[_FileTask]] = {}
    for task in tasks:
        groups.setdefault((_absolute(task.root), task.base_id), []).append(task)
    for (root, _), group in groups.items():
        if len(group) > 1:
            for task in group:
                task.base_id = task.path.relative_to(root).as_posix()
    for task in tasks:
        logger.debug("file %s -> id %s", task.resolved, task.base_id)


def _read_sidecar(
    folder: Path, skipped: list[SkippedFile], limits: IngestSettings
) -> dict[str, dict[str, str | None]]:
    path = folder / SIDECAR_NAME
    try:
        if not path.is_file():
            return {}
        if path.stat().st_size > _max_file_bytes(limits):
            _skip(skipped, path, f"metadata sidecar larger than {limits.max_file_mb:g} MB, ignored")
            return {}
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _skip(skipped, path, f"unreadable metadata sidecar, ignored: {exc}")
        return {}
    if not isinstance(data, dict):
        _skip(skipped, path, "metadata sidecar is not a JSON object, ignored")
        return {}
    sidecar: dict[str, dict[str, str | None]] = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue  # comments
        if not isinstance(entry, dict):
            logger.warning("%s: entry %r is not an object, ignored", path, name)
            continue
        values: dict[str, str | None] = {}
        for key, value in entry.items():
            if key not in _METADATA_FIELDS:
                logger.warning("%s: unknown field %r for %r, ignored", path, key, name)
            elif value is not None:  # null means unknown: keep what is inferred
                values[key] = str(value)
        sidecar[name] = values
    return sidecar


# ---------------------------------------------------------------------------------------------
# Opening files


@dataclass(frozen=True)
class _Failure:
    reason: str


def _max_file_bytes(limits: IngestSettings) -> int:
    return int(limits.max_file_mb * 1024 * 1024)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "a special file"


def _not_regular(path: Path) -> _Failure | None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _Failure(f"cannot be read: {exc.strerror or exc}")
    if stat.S_ISREG(mode):
        return None
    return _Failure(f"not a regular file ({_file_kind(mode)}): only regular files are read")


def _open_regular(path: Path) -> tuple[BinaryIO, int] | _Failure:
    """Open a regular file for reading; anything else (a FIFO would block forever, /dev/zero never
    ends) is refused. O_NONBLOCK plus fstat on the opened file leaves no window to swap the file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return _Failure(f"cannot be read: {exc.strerror or exc}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return _Failure(f"not a regular file ({_file_kind(info.st_mode)}): only regular files are read")
    return os.fdopen(fd, "rb"), info.st_size


# ---------------------------------------------------------------------------------------------
# Formats


def _parse_file(
    task: _FileTask,
    csv_options: CsvOptions,
    limits: IngestSettings,
    overrides: dict[str, str | None],
    skipped: list[SkippedFile],
) -> Iterator[_RawDoc]:
    path = task.resolved
    suffix = path.suffix.lower()
    special = _not_regular(path)
    if special is None and suffix not in SUPPORTED_SUFFIXES:
        special = _Failure(f"unsupported file type {suffix or '(no extension)'!r}")
    if special is not None:
        _skip(skipped, task.path, special.reason)
        return
    opened = _open_regular(path)
    if isinstance(opened, _Failure):
        _skip(skipped, task.path, opened.reason)
        return
    handle, size = opened
    with handle:
        if suffix in _ROW_SUFFIXES:
            yield from _parse_rows(handle, task, csv_options, limits, overrides, skipped)
            return
        limit = _max_file_bytes(limits)
        data = handle.read(limit + 1)
    if len(data) > limit:
        _skip(
            skipped,
            task.path,
            f"larger than the limit for one article ({_megabytes(max(size, len(data)))} > "
            f"{limits.max_file_mb:g} MB; raise ASSISTANT_INGEST__MAX_FILE_MB to load it)",
        )
        return
    if not data.strip():
        _skip(skipped, task.path, "empty file")
        return
    decoded = _decode(data, path)
    if isinstance(decoded, _Failure):
        _skip(skipped, task.path, decoded.reason)
        return
    origin = str(path)
    if suffix == ".txt":
        doc = _RawDoc(_unwrap_hard_wraps(decoded), origin, task.base_id)
    elif suffix in (".md", ".markdown"):
        front, body = _split_front_matter(decoded)
        text, heading = _strip_markdown(body)
        meta = dict(front)
        if heading and not meta.get("title"):
            meta["title"] = heading
        doc = _RawDoc(text, origin, task.base_id, meta=meta)
    else:
        text, meta = _extract_html(decoded)
        doc = _RawDoc(text, origin, task.base_id, meta=meta)
    too_long = _too_long(doc.text, limits)
    if too_long:
        _skip(skipped, task.path, too_long)
        return
    yield doc


def _too_long(text: str, limits: IngestSettings) -> str | None:
    if len(text) <= limits.max_article_chars:
        return None
    return (
        f"text of {len(text):,} characters is longer than the limit of {limits.max_article_chars:,} "
        "(ASSISTANT_INGEST__MAX_ARTICLE_CHARS)"
    )


_WESTERN_LANGUAGES: Final = frozenset(
    {"German", "English", "French", "Spanish", "Portuguese", "Italian", "Dutch", "Danish", "Swedish"}
    | {"Norwegian", "Finnish", "Unknown"}
)


def _decode(data: bytes, path: Path) -> str | _Failure:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return _Failure("invalid UTF-16 text")
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            return _Failure("binary file (contains NUL bytes)")
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            return _Failure("binary file (contains NUL bytes)")
        logger.debug("%s has no BOM but reads as %s", path, utf16)
        return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    encoding = _guess_single_byte(data)
    if encoding is None:
        return _Failure("not UTF-8 and no text encoding could be detected")
    logger.debug("%s is not UTF-8; decoded as %s", path, encoding)
    return data.decode(encoding, errors="replace")


def _guess_single_byte(data: bytes) -> str | None:
    best = from_bytes(data).best()
    if best is None:
        return None
    if best.encoding != "cp1252" and best.language in _WESTERN_LANGUAGES:
        # charset-normalizer picks among equally plausible single-byte code pages somewhat arbitrarily
        # (cp1250 turns "São" into "Săo"); for Western European text Windows-1252 is the likely one.
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return "cp1252"
    return str(best.encoding)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'-be' when the NUL bytes sit at every other position, as in UTF-16 without a byte
    order mark (Latin text has a zero high byte in every character); None for other binary data."""
    sample = data[:8192]
    if len(sample) < 16 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.02:
        encoding = "utf-16-le"
    elif zeros_even > 0.3 and zeros_odd < 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    return encoding if controls <= len(text) * 0.01 else None


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


# --- Markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def _split_front_matter(text: str) -> tuple[dict[str, str | None], str]:
    text = text.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter ({str(exc).splitlines()[0]})") from exc
    meta: dict[str, str | None] = {}
    if isinstance(data, dict):
        for key in _METADATA_FIELDS:
            value = data.get(key)
            if key == "language" and value is None:
                value = data.get("lang")
            if isinstance(value, dt.datetime | dt.date):
                meta[key] = value.isoformat()
            elif value is not None:
                meta[key] = str(value)
    elif data is not None:
        raise ValueError("front matter is not a YAML mapping")
    return meta, text[match.end() :]


_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_ATX = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_QUOTE = re.compile(r"^\s{0,3}>\s?")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+")
_MD_ORDERED = re.compile(r"^\s*\d+[.)]\s+")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_INLINE: Final = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images: alt texts are mostly credits
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),
)


def _md_inline(line: str) -> str:
    for pattern, replacement in _MD_INLINE:
        line = pattern.sub(replacement, line)
    return line


def _strip_markdown(body: str) -> tuple[str, str | None]:
    """Markdown to plain text: keep the words, drop the syntax; soft line breaks join paragraphs.

    Returns the text and the first heading (a title candidate).
    """
    out: list[str] = []
    paragraph: list[str] = []
    first_heading: str | None = None
    in_fence = False

    def flush() -> None:
        if paragraph:
            out.append(" ".join(paragraph))
            paragraph.clear()

    lines = re.sub(r"<!--.*?-->", "", body, flags=re.S).split("\n")
    for i, raw in enumerate(lines):
        if _MD_FENCE.match(raw):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(raw)
            continue
        line = raw
        while _MD_QUOTE.match(line):
            line = _MD_QUOTE.sub("", line, count=1)
        if not line.strip():
            flush()
            out.append("")
            continue
        if _MD_REF_DEF.match(line) or (_MD_TABLE_RULE.match(line) and "|" in line):
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        heading = _MD_ATX.match(line)
        if heading is None and line.strip() and _MD_SETEXT.match(nxt) and not paragraph:
            heading = re.match(r"\s*(.*?)\s*$", line)
        if heading is not None:
            flush()
            text = _md_inline(heading.group(1)).strip()
            if text:
                first_heading = first_heading or text
                out.extend([text, ""])
            continue
        if _MD_SETEXT.match(line):
            continue  # setext underline or thematic break
        if line.lstrip().startswith("|"):
            flush()
            cells = [_md_inline(cell.strip()) for cell in line.strip().strip("|").split("|")]
            out.append(" | ".join(cell for cell in cells if cell))
            continue
        if _MD_BULLET.match(line) or _MD_ORDERED.match(line):
            flush()
            line = _MD_BULLET.sub("", line)
        hard_break = line.endswith(("  ", "\\"))
        paragraph.append(_md_inline(line.rstrip().rstrip("\\").strip()))
        if hard_break:
            flush()
    flush()
    return "\n".join(out), first_heading


# --- HTML

_HTML_DROP_TAGS: Final = (
    *("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe", "svg", "button"),
    *("template", "select", "dialog", "object", "embed", "canvas", "input", "textarea", "label", "menu"),
)
_HTML_DROP_ROLES: Final = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu"}
)
# Matched against single class/id tokens, between word separators, so "article-header" is safe.
_HTML_BOILERPLATE = re.compile(
    r"(?:^|[-_])(?:cookies?|consent|gdpr|cmp|banner|newsletter|subscribe|subscription|paywall|promo|"
    r"advert|advertisement|ad|ads|adslot|sponsor|sponsored|social|share|sharing|related|recommended|"
    r"breadcrumbs?|comments?|popup|modal|overlay|sidebar|outbrain|taboola)(?:$|[-_])",
    re.I,
)
_HTML_PARAGRAPH_TAGS: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "figure"}
    | {"section", "article", "main"}
)
_HTML_LINE_TAGS: Final = frozenset(
    {"div", "li", "tr", "dt", "dd", "figcaption", "address", "br", "hr", "caption", "details", "summary"}
)
_WHITESPACE = re.compile(r"\s+")


def _extract_html(html: str) -> tuple[str, dict[str, str | None]]:
    tree = LexborHTMLParser(html)
    meta: dict[str, str | None] = {}

    def content(selector: str, attribute: str = "content") -> str | None:
        node = tree.css_first(selector)
        value = node.attributes.get(attribute) if node is not None else None
        return value.strip() if value and value.strip() else None

    def text_of(selector: str) -> str | None:
        node = tree.css_first(selector)
        value = _WHITESPACE.sub(" ", node.text()).strip() if node is not None else ""
        return value or None

    meta["title"] = content('meta[property="og:title"]') or text_of("h1") or text_of("title")
    meta["date"] = (
        content('meta[property="article:published_time"]')
        or content('meta[itemprop="datePublished"]')
        or content('meta[name="date"]')
        or content("time[datetime]", "datetime")
    )
    meta["url"] = content('link[rel="canonical"]', "href") or content('meta[property="og:url"]')
    meta["source"] = content('meta[property="og:site_name"]')
    meta["language"] = content("html[lang]", "lang")

    for tag in _HTML_DROP_TAGS:
        for node in tree.css(tag):
            node.decompose()
    body = tree.body
    if body is None:
        return "", meta
    total = len(body.text())
    for node in body.css("[class], [id], [role], [hidden], [aria-hidden]"):
        if node.tag in ("html", "body", "main", "article") or node.parent is None:
            continue
        attrs = node.attributes
        tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".split()
        boilerplate = any(_HTML_BOILERPLATE.search(token) for token in tokens)
        # Never drop a container of most of the page because of an unlucky class name.
        if boilerplate and len(node.text()) > total / 2:
            boilerplate = False
        if (
            boilerplate
            or (attrs.get("role") or "").lower() in _HTML_DROP_ROLES
            or "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
        ):
            node.decompose()
    articles = sorted(body.css("article"), key=lambda node: len(node.text()), reverse=True)
    main = articles[0] if articles else (tree.css_first("main") or tree.css_first('[role="main"]') or body)
    parts: list[str] = []
    _html_text(main, parts)
    return "".join(parts), meta


def _html_text(root: LexborNode, parts: list[str]) -> None:
    # Iterative: a page nested thousands of levels deep must not hit the recursion limit.
    stack: list[tuple[Iterator[LexborNode], str]] = [(iter(root.iter(include_text=True)), "")]
    while stack:
        children, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(closing)
            continue
        if child.is_text_node:
            parts.append(_WHITESPACE.sub(" ", child.text_content or ""))
        elif child.is_element_node:
            tag = child.tag or ""
            separator = "\n\n" if tag in _HTML_PARAGRAPH_TAGS else "\n" if tag in _HTML_LINE_TAGS else ""
            parts.append(separator)
            stack.append((iter(child.iter(include_text=True)), separator))


# --- Rows: jsonl and csv, read as a stream

_SNIFF_BYTES: Final = 64 * 1024
_CHECK_BLOCK: Final = 1024 * 1024
# Unpaired surrogates only come from bytes the file's encoding cannot decode (errors="surrogateescape").
_UNDECODABLE = re.compile("[\ud800-\udfff]")


def _sniff_encoding(handle: BinaryIO, explicit: str | None) -> str | _Failure:
    """The encoding of a row file, from its BOM, its NUL pattern or a pass over it (memory stays at a
    block: a file that is UTF-8 up to row 9,000 and then not is judged by all of it, not its start)."""
    if explicit is not None:
        return explicit
    head = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is not None:
            return utf16
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while block := handle.read(_CHECK_BLOCK):
            decoder.decode(block)
            offset += len(block)
        decoder.decode(b"", final=True)
        handle.seek(0)
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = offset + exc.start
    handle.seek(max(0, bad - _SNIFF_BYTES // 2))
    sample = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    guess = _guess_single_byte(sample)
    if guess is None:
        return _Failure("not UTF-8 and no text encoding could be detected")
    return guess


def _text_lines(text: TextIO, max_chars: int) -> Iterator[str | None]:
    """Lines of `text`; None for a line longer than `max_chars`, which is read past, never held."""
    while line := text.readline(max_chars + 1):
        if len(line) > max_chars and not line.endswith("\n"):
            while (rest := text.readline(max_chars)) and not rest.endswith("\n"):
                pass
            yield None
        else:
            yield line


def _line_limit(limits: IngestSettings) -> int:
    # JSON escapes ("\u00fc") and CSV quoting make a row longer than its text; never less than 1 MB.
    return max(1 << 20, 8 * limits.max_article_chars)


def _row_problem(raw: str, encoding: str) -> str | None:
    if "\x00" in raw:
        return "contains NUL bytes (binary data)"
    if _UNDECODABLE.search(raw):
        return f"not valid {encoding} text"
    return None


def _parse_rows(
    handle: BinaryIO,
    task: _FileTask,
    csv_options: CsvOptions,
    limits: IngestSettings,
    overrides: dict[str, str | None],
    skipped: list[SkippedFile],
) -> Iterator[_RawDoc]:
    is_csv = task.resolved.suffix.lower() == ".csv"
    encoding = _sniff_encoding(handle, csv_options.encoding if is_csv else None)
    if isinstance(encoding, _Failure):
        _skip(skipped, task.path, encoding.reason)
        return
    head = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if not head.strip() and len(head) < _SNIFF_BYTES:
        _skip(skipped, task.path, "empty file")
        return
    # Not universal newlines for jsonl: JSON strings may hold U+2028 or a lone \r; "\n" ends a line.
    text = io.TextIOWrapper(
        handle, encoding=encoding, errors="surrogateescape", newline="" if is_csv else "\n"
    )
    rows = _parse_csv if is_csv else _parse_jsonl
    try:
        yield from rows(text, encoding, task, csv_options, limits, overrides, skipped)
    except UnicodeDecodeError as exc:  # e.g. broken UTF-16, which surrogateescape cannot carry
        _skip(
            skipped, task.path, f"not valid {encoding} text ({exc.reason}); the rest of the file was skipped"
        )
    finally:
        text.detach()


def _row_value(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and name in ("id", "date"):
        return str(value)
    raise ValueError(f"field {name!r} must be a string")


def _parse_jsonl(
    text: TextIO,
    encoding: str,
    task: _FileTask,
    csv_options: CsvOptions,
    limits: IngestSettings,
    defaults: dict[str, str | None],
    skipped: list[SkippedFile],
) -> Iterator[_RawDoc]:
    max_line = _line_limit(limits)
    for number, line in enumerate(_text_lines(text, max_line), start=1):
        label = f"line {number}"
        if line is None:
            _skip(skipped, task.path, f"{label}: longer than {max_line:,} characters, skipped")
            continue
        if not line.strip():
            continue
        problem = _row_problem(line, encoding)
        if problem:
            _skip(skipped, task.path, f"{label}: {problem}")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            _skip(skipped, task.path, f"{label}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            _skip(skipped, task.path, f"{label}: not a JSON object")
            continue
        try:
            body = _row_value(record.get("text"), "text")
            meta = {key: _row_value(record.get(key), key) for key in _METADATA_FIELDS}
            row_id = _row_value(record.get("id"), "id")
        except ValueError as exc:
            _skip(skipped, task.path, f"{label}: {exc}")
            continue
        if not body or not body.strip():
            _skip(skipped, task.path, f"{label}: missing or empty 'text'")
            continue
        too_long = _too_long(body, limits)
        if too_long:
            _skip(skipped, task.path, f"{label}: {too_long}")
            continue
        article_id = row_id.strip() if row_id and row_id.strip() else f"{task.base_id}:{number}"
        origin = f"{task.resolved}#{number}"
        yield _RawDoc(body, origin, article_id, meta=meta, defaults=defaults, label=label)


class _RecordedLines:
    """Feeds lines to csv.reader and keeps those of the current record, so every row can be checked
    for NUL bytes, undecodable bytes and quotes that swallowed the lines after them."""

    def __init__(self, text: TextIO, max_chars: int) -> None:
        self._lines = _text_lines(text, max_chars)
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


def _parse_csv(
    text: TextIO,
    encoding: str,
    task: _FileTask,
    options: CsvOptions,
    limits: IngestSettings,
    defaults: dict[str, str | None],
    skipped: list[SkippedFile],
) -> Iterator[_RawDoc]:
    lines = _RecordedLines(text, _line_limit(limits))
    reader = csvlib.reader(lines, delimiter=options.delimiter, quotechar=options.quotechar)
    columns = options.columns()
    indexes: dict[str, int] = {}
    try:
        if options.has_header:
            header = [cell.strip().lower() for cell in next(reader, [])]
            for name, column in columns.items():
                if isinstance(column, int):
                    indexes[name] = column
                elif column.strip().lower() in header:
                    indexes[name] = header.index(column.strip().lower())
                else:
                    found = ", ".join(header)
                    _skip(skipped, task.path, f"no column {column!r} in the header (found: {found})")
                    return
        else:
            indexes = {name: column for name, column in columns.items() if isinstance(column, int)}
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
                _skip(skipped, task.path, f"row {number} (line {first_line}): malformed CSV ({exc}), skipped")
                continue
            number += 1
            doc = _csv_row(row, number, first_line, lines, encoding, indexes, task, options, limits, skipped)
            if doc is not None:
                doc.defaults = defaults
                yield doc
    except _LineTooLong as exc:
        _skip(
            skipped,
            task.path,
            f"line {exc.line} is longer than {lines.max_chars:,} characters: not a CSV of articles; "
            "the rest of the file was skipped",
        )


def _csv_row(
    row: list[str],
    number: int,
    first_line: int,
    lines: _RecordedLines,
    encoding: str,
    indexes: dict[str, int],
    task: _FileTask,
    options: CsvOptions,
    limits: IngestSettings,
    skipped: list[SkippedFile],
) -> _RawDoc | None:
    if not any(cell.strip() for cell in row):
        return None
    label = f"row {number}"
    if indexes["text"] >= len(row):
        _skip(skipped, task.path, f"{label}: only {len(row)} fields, no text column")
        return None
    values = {name: (row[i].strip() or None) if i < len(row) else None for name, i in indexes.items()}
    body = row[indexes["text"]]
    if not body.strip():
        _skip(skipped, task.path, f"{label}: empty text")
        return None
    if options.labels is not None and values.get("label") not in options.labels:
        return None
    raw = "".join(lines.current)
    problem = _row_problem(raw, encoding)
    if problem is None and len(lines.current) > 1 and not _quotes_balanced(raw, options):
        last = first_line + len(lines.current) - 1
        problem = (
            f"lines {first_line}-{last} were read as one row: a quote ({options.quotechar}) is not closed "
            "where it should be, so the lines after it ended up in this row's text; fix the quoting"
        )
    problem = problem or _too_long(body, limits)
    if problem:
        _skip(skipped, task.path, f"{label}: {problem}")
        return None
    source = values.get("source") or options.source_name
    if values.get("label"):
        source = f"{source}/{values['label']}" if source else values["label"]
    meta = {key: values.get(key) for key in _METADATA_FIELDS}
    meta["source"] = source
    article_id = values.get("id") or f"{task.base_id}:{number}"
    if not values.get("id") and options.row_id_hash:
        article_id += ":" + hashlib.sha256(body.strip().encode()).hexdigest()[:8]
    return _RawDoc(body, f"{task.resolved}#{number}", article_id, meta=meta, label=label)


# ---------------------------------------------------------------------------------------------
# Cleaning and metadata


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
_TRAILER = re.compile(r"\s*\b(?:Mehr zum Thema|Lesen Sie auch|Read more)\s*[-–—:]\s.*$")
_LEADING_DATE = re.compile(r"\Adate\s*[:=]?\s*(\d{4}(?:-\d{2}(?:-\d{2})?)?)\b\s*", re.I)


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
        if not last or _APPEAL.search(last):
            lines.pop()
            continue
        cut = _TRAILER.sub("", last)
        if cut != last:
            lines[-1] = cut
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


_NON_LETTERS = re.compile(r"[\W\d_]+")


@lru_cache(maxsize=1)
def _language_identifier() -> LanguageIdentifier:
    # Our own instance, so restricting the languages does not change py3langid's global one.
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(DETECTABLE_LANGUAGES))
    return identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` among DETECTABLE_LANGUAGES, or 'und' when unsure or too short."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS]
    if len(_NON_LETTERS.sub("", sample)) < _LANGUAGE_MIN_LETTERS:
        return "und"
    language, confidence = _language_identifier().classify(sample)
    return str(language) if confidence >= _LANGUAGE_MIN_CONFIDENCE else "und"


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
    spans = split_sentences(text, language)
    if not spans:
        return ""
    sentence = text[spans[0][0] : spans[0][1]]
    if len(sentence) <= _TITLE_SENTENCE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, _TITLE_SENTENCE_CHARS)
    return sentence[: cut if cut > 0 else _TITLE_SENTENCE_CHARS].rstrip(" ,;:–-") + "…"


def content_hash(article: Article) -> str:
    """sha256 over the cleaned text and the metadata a reader sees; the origin path is not part of it."""
    payload = [article.text, article.title, article.source, article.date, article.language, article.url]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _finish(doc: _RawDoc, overrides: dict[str, str | None]) -> Article | None:
    text = clean_text(doc.text)
    inferred_date = None
    leading = _LEADING_DATE.match(text)
    if leading:
        # A "date 2024-06" token opening the text is metadata, not prose.
        inferred_date = normalize_date(leading.group(1))
        text = text[leading.end() :].lstrip()
    if not text:
        return None
    meta: dict[str, str | None] = {key: None for key in _METADATA_FIELDS}
    for layer in (doc.defaults, doc.meta, overrides):
        for key, value in layer.items():
            if value is not None and str(value).strip():
                meta[key] = str(value).strip()
    date = normalize_date(meta["date"]) or inferred_date or _date_from_top_lines(text)
    language = _normalize_language(meta["language"]) or detect_language(text)
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
