"""Storage faults are one line that says what to do, never a traceback (issue 12, items 9 and 10):
a read-only index can still be read, a full disk loses nothing and the next ingest completes."""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.backends import chroma_storage
from assistant.backends.factory import make_index
from assistant.config import Settings
from assistant.errors import IndexFullError, IndexReadOnlyError, IndexStorageError
from assistant.interfaces.cli import main
from assistant.service import Assistant
from tests.support.fakes import HashingEmbedder

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "articles"
QUESTION = "Wer hat den Abzug der Friedenstruppen bestätigt?"


def _assistant(settings: Settings) -> Assistant:
    embedder = HashingEmbedder()
    return Assistant(settings, embedder=embedder, index=make_index(settings, embedder))


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def cli(
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    settings = make_settings()
    monkeypatch.setenv("ASSISTANT_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    monkeypatch.setenv("ASSISTANT_INDEX__PATH", str(settings.index.path))
    monkeypatch.setenv("ASSISTANT_LLM__CACHE_DIR", str(settings.llm.cache_dir))
    monkeypatch.setenv("ASSISTANT_ANSWER__MIN_RELEVANCE", "0.3")  # hashing vectors score low

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --- 9. a read-only index


def test_a_read_only_index_can_be_read_but_not_ingested(
    make_settings: Callable[..., Settings],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()
    assert cli("ingest")[0] == 0
    before = _digest(settings.index.path)
    # As a read-only mount or another user's folder looks to this process; the same with a real
    # read-only folder: tests/integration/test_storage_faults.py.
    monkeypatch.setattr(chroma_storage, "writable", lambda folder: False)
    code, out, err = cli("stats")
    assert code == 0 and "articles:  5" in out and "Traceback" not in err
    code, out, err = cli("search", "Peskow Abzug", "-k", "2", "-v")  # -v: with article ids
    assert code == 0 and "#002_5656326da5719992" in out
    code, out, err = cli("ask", QUESTION, "--json")
    assert code == 0 and '"answer"' in out
    code, out, err = cli("ingest")
    assert code == 1 and out == ""
    assert err == (
        f"error: The index folder {settings.index.path} is read-only: ingesting needs to write there. "
        "Make it writable, or set ASSISTANT_INDEX__PATH to a writable copy (searching and asking work "
        "as they are).\n"
    )
    # Nothing in the folder was written, not even by the reads (they used a private copy) ...
    lexical = {k: v for k, v in _digest(settings.index.path).items() if not k.endswith(".bm25.pkl")}
    assert lexical == {k: v for k, v in before.items() if not k.endswith(".bm25.pkl")}


def test_the_read_only_copy_is_private_and_removed(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import tempfile

    settings = make_settings()
    _assistant(settings).ingest()
    monkeypatch.setattr(chroma_storage, "writable", lambda folder: False)
    before = set(Path(tempfile.gettempdir()).glob("news-assistant-readonly-*"))
    assistant = _assistant(settings)
    copies = set(Path(tempfile.gettempdir()).glob("news-assistant-readonly-*")) - before
    assert len(copies) == 1
    assert assistant.index.read_only and assistant.stats().articles == 5
    with pytest.raises(IndexReadOnlyError):
        assistant.ingest()
    del assistant
    gc.collect()
    assert not [p for p in copies if p.exists()]


def test_an_index_folder_that_cannot_be_created_is_one_line(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    settings = make_settings(index={"path": str(blocker / "index")})
    with pytest.raises(IndexReadOnlyError, match=r"does not exist and cannot be created \(Not a directory\)"):
        _assistant(settings)


# --- 10. a full disk


class _Full:
    """Makes the N-th chunk write fail inside Chroma, as it does when the disk fills up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: BaseException, nth: int = 2) -> None:
        from chromadb.api.models.Collection import Collection

        self.error = error
        self.nth = nth
        self.calls = 0
        self.active = True
        original = Collection.upsert

        def upsert(collection: Any, *args: Any, **kwargs: Any) -> Any:
            if collection.name.endswith("--articles"):
                return original(collection, *args, **kwargs)
            self.calls += 1
            if self.active and self.calls == self.nth:
                raise self.error
            return original(collection, *args, **kwargs)

        monkeypatch.setattr(Collection, "upsert", upsert)


def _messages(err: str) -> list[str]:
    """stderr without the progress bars."""
    lines = err.replace("\r", "\n").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("embedding")]


def _compaction_error() -> BaseException:
    from chromadb.errors import InternalError

    return InternalError("Error in compaction: Failed to apply logs to the metadata segment")


@pytest.mark.parametrize(
    ("error", "free"),
    [
        pytest.param(lambda: _compaction_error(), 300_000, id="chroma compaction, little space left"),
        pytest.param(lambda: OSError(errno.ENOSPC, "No space left on device"), 10**12, id="ENOSPC"),
        pytest.param(lambda: _sqlite_full(), 10**12, id="sqlite full"),
    ],
)
def test_a_full_disk_is_one_line_and_the_next_ingest_completes(
    make_settings: Callable[..., Settings],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    error: Callable[[], BaseException],
    free: int,
) -> None:
    settings = make_settings()
    monkeypatch.setenv("ASSISTANT_EMBEDDING__BATCH_SIZE", "2")
    monkeypatch.setenv("ASSISTANT_INDEX__WRITE_BATCH", "2")
    monkeypatch.setattr(chroma_storage, "_free_bytes", lambda path: free)
    full = _Full(monkeypatch, error())
    code, out, err = cli("ingest")
    assert code == 1 and out == ""
    (message,) = _messages(err)
    assert message.startswith(f"error: The disk holding the index at {settings.index.path} is full")
    assert message.endswith("(what was stored before is intact, and the interrupted articles are completed).")
    assert cli("stats")[0] == 0  # reading still works
    full.active = False
    code, out, _ = cli("ingest")
    assert code == 0 and out.startswith("added ")
    reference = _assistant(make_settings(index={"path": str(tmp_path / "reference")}))
    reference.ingest()
    done = _assistant(settings)
    assert sorted((c.id, c.text) for c in done.index.iter_chunks(complete_only=False)) == sorted(
        (c.id, c.text) for c in reference.index.iter_chunks(complete_only=False)
    )
    assert done.index.articles().keys() == reference.index.articles().keys()


def _sqlite_full() -> BaseException:
    import sqlite3

    return sqlite3.OperationalError("database or disk is full")


def test_other_storage_failures_are_one_line(
    make_settings: Callable[..., Settings],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()
    monkeypatch.setattr(chroma_storage, "_free_bytes", lambda path: 10**12)
    _Full(monkeypatch, _compaction_error(), nth=1)
    code, _, err = cli("ingest")
    assert code == 1
    assert _messages(err) == [
        f"error: The index at {settings.index.path} failed while storing chunks: Error in compaction: "
        "Failed to apply logs to the metadata segment. Run `assistant ingest` again; if it keeps failing, "
        "move the folder away and ingest anew."
    ]
    assert isinstance(chroma_storage.translate(_compaction_error(), "x", "y", local=True), IndexStorageError)


def test_unexpected_errors_in_stats_and_search_are_one_line(
    cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("ingest")[0] == 0

    def broken(self: Any) -> Any:
        raise ValueError("something nobody expected\nsecond line")

    monkeypatch.setattr(Assistant, "stats", broken)
    code, _, err = cli("stats")
    assert (code, err) == (
        1,
        "error: unexpected ValueError: something nobody expected (run with -vv for details)\n",
    )
    with pytest.raises(ValueError):
        main(["-vv", "stats"])


def test_disk_full_classification_uses_free_space(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chroma_storage, "_free_bytes", lambda path: 1000)
    assert isinstance(
        chroma_storage.translate(_compaction_error(), "/x", "storing", local=True), IndexFullError
    )
    monkeypatch.setattr(chroma_storage, "_free_bytes", lambda path: 10**12)
    assert isinstance(
        chroma_storage.translate(_compaction_error(), "/x", "storing", local=True), IndexStorageError
    )
    ro = OSError(errno.EROFS, "Read-only file system")
    assert isinstance(chroma_storage.translate(ro, "/x", "storing", local=True), IndexReadOnlyError)


def test_ids_another_process_is_still_writing_are_left_out(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A web UI or Slack bot reading while a CLI ingest writes: its Chroma has some new manifest
    # records and texts before their vectors, and a get() naming such an id fails as a whole.
    from chromadb.api.models.Collection import Collection
    from chromadb.errors import InternalError

    assistant = _assistant(make_settings())
    assistant.ingest()
    chunks = sorted(assistant.index.iter_chunks(), key=lambda c: c.id)
    lagging = chunks[0].id
    original = Collection.get

    def get(collection: Any, ids: Any = None, **kwargs: Any) -> Any:
        if ids is not None and lagging in ids:
            raise InternalError("Error executing plan: Internal error: Error finding id")
        return original(collection, ids=ids, **kwargs)

    monkeypatch.setattr(Collection, "get", get)
    wanted = [c.id for c in chunks[:3]]
    assert assistant.index.get_chunks(wanted) == chunks[1:3]
    assert set(assistant.index.vectors_of(wanted)) == {c.id for c in chunks[1:3]}
    assert assistant.search("Peskow bestätigte den Abzug", k=5)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "being changed by another process" in warnings[0].getMessage()
