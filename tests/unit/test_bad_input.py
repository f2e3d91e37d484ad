"""One bad file, folder or row never costs the others (issue 12, items 1-5).

The corpus is tests/fixtures/bad; special files (symlink loops, FIFOs, devices, unreadable folders,
over-long paths) are made here, in temporary folders, because they cannot be committed.
"""

from __future__ import annotations

import collections
import errno
import json
import os
import shutil
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.errors import InputError
from assistant.interfaces.cli import main
from assistant.loaders import ArticleStream, CsvOptions, LoadResult, load_paths

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "fixtures" / "bad"
OK_TEXT = "Ein Artikel\n\nDie Regierung in Wien hat heute ein neues Gesetz beschlossen, sagte ein Sprecher.\n"


def reasons(result: LoadResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = collections.defaultdict(list)
    for skipped in result.skipped:
        out[Path(skipped.path).name].append(skipped.reason)
    return out


def ids(result: LoadResult) -> list[str]:
    return [a.id for a in result.articles]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "in"
    path.mkdir()
    (path / "ok.txt").write_text(OK_TEXT, encoding="utf-8")
    return path


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`assistant ...` in-process with the hashing embedder, the fake LLM and a temporary index."""
    monkeypatch.setenv("ASSISTANT_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    monkeypatch.setenv("ASSISTANT_INDEX__PATH", str(tmp_path / "vectorstore"))
    monkeypatch.setenv("ASSISTANT_LLM__CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _finishes(fn: Callable[[], object]) -> object:
    """Run fn in a thread; fail (instead of hanging the suite) if it never returns."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "loading never finished: a special file was read"
    return box[0]


# --- 1. symlink loops


def test_symlink_loop_is_reported_and_the_rest_is_ingested(
    folder: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    (folder / "a.txt").symlink_to("b.txt")
    (folder / "b.txt").symlink_to("a.txt")
    code, out, err = cli("ingest", str(folder))
    assert code == 0, err
    assert out.startswith("added 1,")
    assert f"skipped {folder / 'a.txt'}: symbolic link loop" in out
    assert f"skipped {folder / 'b.txt'}: symbolic link loop" in out
    assert "Traceback" not in err


def test_a_symlink_loop_named_on_the_command_line_is_skipped(
    folder: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    (folder / "a.txt").symlink_to("a.txt")
    code, out, _ = cli("ingest", str(folder / "a.txt"), str(folder / "ok.txt"))
    assert code == 0
    assert out.startswith("added 1,") and "symbolic link loop" in out


def test_links_to_folders_are_not_followed(folder: Path) -> None:
    (folder / "up").symlink_to("..")
    result = load_paths([folder])
    assert ids(result) == ["ok"]
    assert reasons(result)["up"] == ["link to a folder, not followed"]


# --- 2. one NUL byte costs one row, not the file


def test_a_nul_byte_in_one_jsonl_line_skips_only_that_line() -> None:
    result = load_paths([BAD / "nul-line.jsonl"])
    assert ids(result) == ["feed-1", "feed-3"]
    assert reasons(result)["nul-line.jsonl"] == ["line 2: contains NUL bytes (binary data)"]


def test_a_nul_byte_in_one_csv_row_skips_only_that_row() -> None:
    result = load_paths([BAD / "nul-row.csv"], csv=CsvOptions(id_column="id"))
    assert ids(result) == ["c-1", "c-3"]
    assert reasons(result)["nul-row.csv"] == ["row 2: contains NUL bytes (binary data)"]


def test_a_file_of_binary_data_is_still_skipped_whole() -> None:
    result = load_paths([ROOT / "tests" / "fixtures" / "loaders" / "binary.txt"])
    assert ids(result) == []
    assert reasons(result)["binary.txt"] == ["binary file (contains NUL bytes)"]


# --- 3. only regular files are read


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_skipped_instead_of_blocking(folder: Path) -> None:
    os.mkfifo(folder / "pipe.txt")
    result = _finishes(lambda: load_paths([folder]))
    assert isinstance(result, LoadResult)
    assert ids(result) == ["ok"]
    assert reasons(result)["pipe.txt"] == ["not a regular file (a named pipe): only regular files are read"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_character_device_is_skipped_instead_of_read_forever(folder: Path) -> None:
    # A link to /dev/zero reads like `mknod zero.txt c 1 5` without needing root.
    (folder / "zero.txt").symlink_to("/dev/zero")
    result = _finishes(lambda: load_paths([folder, folder / "zero.txt"]))
    assert isinstance(result, LoadResult)
    assert ids(result) == ["ok"]
    assert reasons(result)["zero.txt"] == [
        "not a regular file (a character device): only regular files are read"
    ]


# --- 4. size limits and bounded memory


def test_an_oversized_article_file_is_skipped_with_the_limit_named(folder: Path) -> None:
    with (folder / "huge.txt").open("w", encoding="utf-8") as f:
        for _ in range(10 * 1024):  # 10 MB of prose
            f.write(
                "Der Stadtrat hat heute lange über den neuen Haushalt beraten und ihn beschlossen. " * 12
                + "\n"
            )
    result = load_paths([folder])
    assert ids(result) == ["ok"]
    (reason,) = reasons(result)["huge.txt"]
    assert reason.startswith("larger than the limit for one article (9.")
    assert "MB > 5 MB" in reason and "ASSISTANT_INGEST__MAX_FILE_MB" in reason


def test_the_limits_are_settings(folder: Path) -> None:
    (folder / "long.jsonl").write_text(
        json.dumps({"id": "short", "text": "Kurz und gut."})
        + "\n"
        + json.dumps({"id": "long", "text": "Ein sehr langer Artikel. " * 100})
        + "\n",
        encoding="utf-8",
    )
    limits = IngestSettings(max_file_mb=0.00005, max_article_chars=1000)  # 52 bytes
    result = load_paths([folder], limits=limits)
    assert ids(result) == ["short"]
    assert reasons(result)["ok.txt"][0].startswith("larger than the limit for one article")
    assert reasons(result)["long.jsonl"] == [
        "line 2: text of 2,500 characters is longer than the limit of 1,000 "
        "(ASSISTANT_INGEST__MAX_ARTICLE_CHARS)"
    ]
    assert ids(load_paths([folder])) == ["short", "long", "ok"]


def test_large_jsonl_files_are_read_row_by_row(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    # Short texts (cheap to clean) on long lines (an unused field): what is measured is the reading.
    padding = "x" * 40_000
    with feed.open("w", encoding="utf-8") as f:
        for n in range(500):  # about 20 MB
            row = {"id": f"r{n}", "text": f"Meldung Nummer {n} aus dem Rathaus.", "extra": padding}
            f.write(json.dumps(row) + "\n")
    size = feed.stat().st_size
    load_paths([BAD / "ok.txt"])  # loads the language model, which is not what is measured
    stream = ArticleStream([feed])
    tracemalloc.start()
    try:
        count = 0
        for _ in stream:
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 500 and stream.skipped == []
    # The whole file held at once would take more than its size; a stream holds a row at a time.
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte file"


# --- 5. the smaller cases


def test_an_unterminated_csv_quote_is_reported() -> None:
    result = load_paths([BAD / "unterminated.csv"], csv=CsvOptions(id_column="id"))
    assert ids(result) == ["u-1", "u-4"]
    (reason,) = reasons(result)["unterminated.csv"]
    assert reason.startswith('row 2: lines 3-4 were read as one row: a quote (") is not closed')


def test_a_quote_left_open_to_the_end_of_the_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        'text\n"Erster Artikel."\n"Zweiter, offen\nund weiter\n', encoding="utf-8"
    )
    result = load_paths([tmp_path])
    assert ids(result) == ["t:1"]
    assert reasons(result)["t.csv"][0].startswith("row 2: lines 3-4 were read as one row")


def test_a_legitimate_multiline_csv_field_is_kept() -> None:
    result = load_paths(
        [ROOT / "tests" / "fixtures" / "loaders" / "table.csv"], csv=CsvOptions(id_column="id")
    )
    assert ids(result) == ["c-1", "c-3"]


def test_utf16_without_bom_is_detected() -> None:
    (article,) = load_paths([BAD / "utf16-nobom.txt"]).articles
    assert article.title == "Grüße aus Köln"
    assert "Dombauhütte" in article.text


def test_utf16_jsonl_without_bom_is_detected(tmp_path: Path) -> None:
    line = json.dumps(
        {"id": "x", "text": "Grüße aus Köln, wo der Dom heute geschlossen bleibt."}, ensure_ascii=False
    )
    (tmp_path / "f.jsonl").write_bytes((line + "\n").encode("utf-16-be"))
    assert ids(load_paths([tmp_path])) == ["x"]


def test_a_deeply_nested_html_page_loads() -> None:
    (article,) = load_paths([BAD / "deep.html"]).articles
    assert (
        article.text == "Die Brücke über den Kanal ist nach der Sanierung wieder für den Verkehr freigegeben."
    )


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a folder unreadable: chmod 000, or for root (whom permissions do not stop) an os.scandir
    that answers EACCES for it, as the kernel does for everyone else."""
    changed: list[Path] = []

    def make(path: Path) -> None:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            real = os.scandir

            def scandir(target: object = ".") -> object:
                if Path(os.fspath(target)) == path:  # type: ignore[call-overload]
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
                return real(target)  # type: ignore[call-overload]

            monkeypatch.setattr(os, "scandir", scandir)
        else:
            path.chmod(0)
            changed.append(path)

    yield make
    for path in changed:
        path.chmod(0o755)


def test_an_unreadable_folder_is_reported(folder: Path, unreadable: Callable[[Path], None]) -> None:
    locked = folder / "locked"
    locked.mkdir()
    (locked / "secret.txt").write_text(OK_TEXT, encoding="utf-8")
    unreadable(locked)
    result = load_paths([folder])
    assert ids(result) == ["ok"]
    assert reasons(result)["locked"] == ["folder cannot be read: Permission denied"]


def test_a_path_over_the_system_limit_is_reported(folder: Path) -> None:
    # Build the tree relative to open folders: the full path is too long for any call that takes one.
    name = "d" * 240
    fd = os.open(folder, os.O_RDONLY)
    depth = 0
    try:
        while len(str(folder)) + depth * (len(name) + 1) < 4200:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            depth += 1
        article = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(article, OK_TEXT.encode())
        os.close(article)
    finally:
        os.close(fd)
    result = load_paths([folder])
    assert "ok" in ids(result)
    too_long = [s for s in result.skipped if "File name too long" in s.reason]
    assert len(too_long) == 1 and too_long[0].reason == "folder cannot be read: File name too long"


def test_an_over_long_path_argument_is_one_line(cli: Callable[..., tuple[int, str, str]]) -> None:
    with pytest.raises(InputError, match="File name too long"):
        load_paths([Path("x" * 5000)])
    code, out, err = cli("ingest", "x" * 5000)
    assert code == 2 and out == ""
    assert err.startswith("error: Cannot use the path xxx") and err.count("\n") == 1 and len(err) < 300


def test_a_dangling_symlink_is_reported_under_its_own_name(folder: Path) -> None:
    (folder / "gone.txt").symlink_to("nowhere.txt")
    result = load_paths([folder])
    assert ids(result) == ["ok"]
    (skipped,) = result.skipped
    assert skipped.path == str(folder / "gone.txt")
    assert skipped.reason == "broken symbolic link: its target 'nowhere.txt' does not exist"


def test_the_whole_bad_corpus_loads_what_it_can(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(BAD, folder)
    result = load_paths([folder])
    assert sorted(ids(result)) == sorted(
        [
            "deep",
            "feed-1",
            "feed-3",
            "nul-row:1",
            "nul-row:3",
            "ok",
            "unterminated:1",
            "unterminated:3",
            "utf16-nobom",
        ]
    )
    assert sorted(reasons(result)) == ["nul-line.jsonl", "nul-row.csv", "unterminated.csv"]
