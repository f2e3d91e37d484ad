"""The Chroma client on disk and its faults: opening a folder (a private copy when it is read-only),
the one-writer lock, and every Chroma, SQLite or OS failure as a typed error that names the index
and what to do. The index itself (index_chroma.py) only calls these."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import (
    AssistantError,
    BackendUnavailableError,
    IndexBusyError,
    IndexFullError,
    IndexReadOnlyError,
    IndexStorageError,
)

log = logging.getLogger(__name__)

_SQLITE_FILE = "chroma.sqlite3"
LOCK_FILE = "ingest.lock"
# Below this much free space a failed write is put down to a full disk (SQLite and the HNSW files
# need room for journals and compaction, so they fail well before the last byte).
_LOW_DISK_BYTES = 64 * 1024 * 1024
_READ_ONLY_MARKERS = ("readonly database", "read-only file system", "read only file system")
_FULL_MARKERS = ("database or disk is full", "no space left", "disk quota exceeded")


def _short(text: str, limit: int = 200) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _error_numbers(exc: BaseException) -> set[int]:
    numbers: set[int] = set()
    seen: BaseException | None = exc
    while seen is not None and len(numbers) < 10:
        if isinstance(seen, OSError) and seen.errno is not None:
            numbers.add(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return numbers


def _free_bytes(path: str) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def writable(folder: Path) -> bool:
    """Whether this process may write the index folder (access() also knows read-only mounts)."""
    database = folder / _SQLITE_FILE
    return os.access(folder, os.W_OK) and (not database.exists() or os.access(database, os.W_OK))


def persistent_client(path: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=path, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def copy_for_reading(folder: Path) -> Path:
    """A private copy of a read-only index, for reading: Chroma writes to its database on open (its
    migrations and log compaction), which a read-only folder refuses."""
    copy = Path(tempfile.mkdtemp(prefix="news-assistant-readonly-"))
    ignore = shutil.ignore_patterns(LOCK_FILE + "*", "*.bm25.pkl*")
    shutil.copytree(folder, copy / "index", ignore=ignore)
    size = sum(f.stat().st_size for f in (copy / "index").rglob("*") if f.is_file())
    log.info("the index folder %s is read-only: reading a copy (%.1f MB) in %s", folder, size / 1e6, copy)
    return copy


def read_only_error(location: str) -> IndexReadOnlyError:
    return IndexReadOnlyError(
        f"The index folder {location} is read-only: ingesting needs to write there. Make it writable, or "
        "set ASSISTANT_INDEX__PATH to a writable copy (searching and asking work as they are)."
    )


def translate(exc: BaseException, location: str, doing: str, *, local: bool) -> AssistantError:
    """A Chroma, SQLite or OS failure as one line that says what happened to which index, and what
    to do. The original stays attached as the cause (shown with -vv)."""
    text = f"{type(exc).__name__}: {exc}".lower()
    numbers = _error_numbers(exc)
    if not local:
        if isinstance(exc, OSError) or "connect" in text or "timed out" in text:
            return BackendUnavailableError(
                f"Cannot reach the Chroma server at {location} while {doing} ({_short(str(exc))}): "
                "check that it is running."
            )
        return IndexStorageError(f"The Chroma server at {location} failed while {doing}: {_short(str(exc))}")
    if errno.EROFS in numbers or any(m in text for m in _READ_ONLY_MARKERS):
        return read_only_error(location)
    free = _free_bytes(location)
    if (
        numbers & {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
        or any(m in text for m in _FULL_MARKERS)
        or (free is not None and free < _LOW_DISK_BYTES)
    ):
        left = f" ({free / 1e6:.1f} MB left)" if free is not None else ""
        return IndexFullError(
            f"The disk holding the index at {location} is full{left} while {doing}: free some space, "
            "then run `assistant ingest` again (what was stored before is intact, and the interrupted "
            "articles are completed)."
        )
    if numbers & {errno.EACCES, errno.EPERM}:
        return IndexReadOnlyError(
            f"No permission to use the index folder {location} while {doing}: check its owner and "
            "permissions."
        )
    return IndexStorageError(
        f"The index at {location} failed while {doing}: {_short(str(exc)) or type(exc).__name__}. "
        "Run `assistant ingest` again; if it keeps failing, move the folder away and ingest anew."
    )


def _holder(lock_path: Path) -> str:
    try:
        note = lock_path.with_name(lock_path.name + ".owner").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" ({note})" if note else ""


def _note_holder(lock_path: Path) -> None:
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    with contextlib.suppress(OSError):  # only a courtesy for the busy message
        lock_path.with_name(lock_path.name + ".owner").write_text(
            f"pid {os.getpid()}, started {started}", encoding="utf-8"
        )


def open_folder(path: str) -> tuple[Any, bool, Path | None]:
    """A client for the index folder `path` (created if missing): (client, read_only, copy). A folder
    this process cannot write is opened from a private copy (`copy`, the caller removes it)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexReadOnlyError(
            f"The index folder {path} does not exist and cannot be created ({exc.strerror}): "
            "set ASSISTANT_INDEX__PATH to a folder you can write."
        ) from None
    read_only = not writable(folder)
    try:
        if not read_only:
            try:
                return persistent_client(path), False, None
            except Exception as exc:
                if not any(m in str(exc).lower() for m in _READ_ONLY_MARKERS):
                    raise
                read_only = True  # writable by permissions, yet refused (e.g. a file attribute)
        copy = copy_for_reading(folder)
        return persistent_client(str(copy / "index")), True, copy
    except AssistantError:
        raise
    except Exception as exc:
        raise translate(exc, path, "opening the index", local=True) from exc


@contextlib.contextmanager
def writer_lock(lock_path: Path, location: str, timeout: float) -> Iterator[None]:
    """The one-writer lock next to the data: the operating system's (flock), so a killed ingest
    never leaves it stuck. IndexBusyError when another holder keeps it past `timeout` seconds."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusyError(
            f"Another ingest is running on {location}{_holder(lock_path)}: wait for it "
            "to finish, then run this one again."
        ) from None
    except OSError as exc:
        raise translate(exc, location, "locking the index for writing", local=True) from exc
    try:
        _note_holder(lock_path)
        yield
    finally:
        lock.release()


def connect(host: str, port: int, name: str, *, ssl: bool) -> tuple[Any, str, Path]:
    """A client for a Chroma server: (client, location, lock path). The lock excludes writers on
    this machine only: run ingest from one machine at a time (README)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    location = f"{'https' if ssl else 'http'}://{host}:{port}"
    try:
        client = chromadb.HttpClient(
            host=host, port=port, ssl=ssl, settings=ChromaSettings(anonymized_telemetry=False)
        )
        client.heartbeat()
    except Exception as exc:
        raise BackendUnavailableError(
            f"Cannot reach the Chroma server at {location}: start it with "
            f"`chroma run --path DIR --host {host} --port {port}`"
        ) from exc
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{host}_{port}_{name}")
    return client, location, Path(tempfile.gettempdir()) / f"news-assistant-{safe}.{LOCK_FILE}"
