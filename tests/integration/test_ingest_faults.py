"""Fault injection (issue 12): an ingest SIGKILLed at several points, and two ingests at once (A and
edited-A), each followed by a normal run, must leave the index equal to a clean ingest: the same
chunk ids, texts, metadata and vectors, the same manifest, the same counts. Between the kill and the
next run, only complete articles may be visible (searchable, counted).

Every ingest under test runs in a child process (tests/support/ingest_driver.py), killed with
SIGKILL at the N-th call of an index method: no `finally`, no flush, like a power cut.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.service import Assistant
from tests.support.ingest_driver import snapshot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "articles"
EDITED = "002_5656326da5719992.txt"
RETITLED = "003_a76e6dd3ce9b940e.txt"
REMOVED = "004_5b23b2942ce73acf.txt"
NEW_ARTICLE = (
    "Neue Fähre über die Donau\n\nDie neue Fähre zwischen den beiden Ufern der Donau nimmt am Montag den "
    "Betrieb auf. Sie fährt jede halbe Stunde und bietet Platz für vierzig Fahrräder.\n"
)
# Small batches, so an ingest of the sample corpus writes many times and can be cut in many places.
ENV = {
    "ASSISTANT_EMBEDDING__BACKEND": "hashing",
    "ASSISTANT_LLM__BACKEND": "fake",
    "ASSISTANT_EMBEDDING__BATCH_SIZE": "2",
    "ASSISTANT_INDEX__WRITE_BATCH": "3",
}


def make_a(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(SAMPLE, folder)
    return folder


def edit_to_a2(folder: Path) -> None:
    """A': one article with a changed ending, one retitled, one new; the rest unchanged."""
    path = folder / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace("D.W.", "Ein neuer Schlusssatz."), "utf-8")
    path = folder / RETITLED
    text = path.read_text(encoding="utf-8")
    path.write_text("Militär-Abkommen unterzeichnet\n\n" + text, "utf-8")
    (folder / "005_neue_faehre.txt").write_text(NEW_ARTICLE, encoding="utf-8")


class Indexes:
    """Runs the CLI in child processes against one index folder; clean references in this process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.path = tmp / "index"
        self.env = {
            **os.environ,
            **ENV,
            "ASSISTANT_INDEX__PATH": str(self.path),
            "ASSISTANT_LLM__CACHE_DIR": str(tmp / "cache"),
            "PYTHONPATH": str(ROOT),
        }
        self._step = 0

    def child(self, *args: str, fault: str | None = None, before: bool = False, after: bool = False) -> Any:
        self._step += 1
        cmd = [sys.executable, "-m", "tests.support.ingest_driver"]
        files = {}
        for name, wanted in (("before", before), ("after", after)):
            if wanted:
                files[name] = self.tmp / f"snapshot-{self._step}-{name}.json"
                cmd += [f"--{name}", str(files[name])]
        if fault:
            cmd += ["--fault", fault]
        cmd += ["--", *args]
        done = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        snaps = {
            name: json.loads(path.read_text(encoding="utf-8"))
            for name, path in files.items()
            if path.exists()
        }
        return done, snaps

    def spawn(self, *args: str, fault: str, ready: Path, go: Path) -> subprocess.Popen[str]:
        env = {**self.env, "DRIVER_READY": str(ready), "DRIVER_GO": str(go)}
        cmd = [sys.executable, "-m", "tests.support.ingest_driver", "--fault", fault, "--", *args]
        return subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def _in_process(self, path: Path) -> Assistant:
        settings = Settings(
            index={"path": str(path), "write_batch": 3},  # type: ignore[arg-type]
            embedding={"backend": "hashing", "batch_size": 2},  # type: ignore[arg-type]
            llm={"backend": "fake", "cache_dir": str(self.tmp / "cache")},  # type: ignore[arg-type]
        )
        return Assistant.from_settings(settings)

    def prepare(self, corpus: Path) -> None:
        """Ingest `corpus` into the index under test, here (quicker than a child; this process does
        not open that index again, so Chroma's per-process cache cannot hide a child's writes)."""
        assert self._in_process(self.path).ingest([corpus]).added == 5

    def reference(self, name: str, steps: list[tuple[list[Path], bool]]) -> dict[str, Any]:
        """A clean index built by uninterrupted ingests (paths, prune) in this process."""
        assistant = self._in_process(self.tmp / f"reference-{name}")
        for paths, prune in steps:
            assistant.ingest(paths, prune=prune)
        return snapshot(assistant)


@pytest.fixture
def indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Indexes:
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    return Indexes(tmp_path)


def assert_only_complete_articles_visible(snap: dict[str, Any], versions: list[dict[str, Any]]) -> None:
    """After a kill: every visible chunk belongs to a manifest record that lists it, every record is
    whole, and every article is visible as exactly one clean version (old or new), never a mix."""
    manifest = snap["manifest"]
    listed = sorted(cid for record in manifest.values() for cid in record["chunk_ids"])
    assert snap["visible"] == listed
    stored = {c["id"]: c for c in snap["stored"]}
    assert set(listed) <= set(stored), "a manifest record lists a chunk that is not stored"
    for article_id, record in manifest.items():
        clean = [v["manifest"].get(article_id) for v in versions]
        assert record in clean, f"{article_id}: the manifest holds no clean version of it"
        version = versions[clean.index(record)]
        expected = {c["id"]: c for c in version["stored"] if c["article_id"] == article_id}
        assert {cid: stored[cid]["text"] for cid in record["chunk_ids"]} == {
            cid: c["text"] for cid, c in expected.items()
        }
    assert snap["stats"] == {"articles": len(manifest), "chunks": len(listed)}
    assert set(snap["search"]) <= set(listed)


def assert_equal_to_clean(snap: dict[str, Any], clean: dict[str, Any]) -> None:
    assert [c["id"] for c in snap["stored"]] == [c["id"] for c in clean["stored"]]
    assert snap["stored"] == clean["stored"]  # texts, offsets, metadata, versions, vectors
    assert snap["manifest"] == clean["manifest"]
    assert (snap["stats"], snap["stored_count"], snap["visible"]) == (
        clean["stats"],
        clean["stored_count"],
        clean["visible"],
    )
    assert snap["search"] == clean["search"]


# (name, fault, scenario): where an ingest is cut. "fresh": ingest A into an empty index; "update":
# A is indexed, the files become A'; "prune": A is indexed, one file is deleted, ingest --prune.
KILLS = [
    ("fresh: after the first chunks", "upsert:1:kill-after", "fresh"),
    ("fresh: after the first articles completed", "put_articles:1:kill-after", "fresh"),
    ("update: after the new chunks", "upsert:1:kill-after", "update"),
    ("update: after refreshing reused chunks", "update_metadata:1:kill-after", "update"),
    ("update: after the new records, before stale chunks go", "put_articles:1:kill-after", "update"),
    ("update: before stale chunks go", "delete:1:kill-before", "update"),
    ("prune: after the records, before the chunks", "delete_articles:1:kill-after", "prune"),
]


@pytest.mark.parametrize(("fault", "scenario"), [k[1:] for k in KILLS], ids=[k[0] for k in KILLS])
def test_a_killed_ingest_is_completed_by_the_next(
    indexes: Indexes, tmp_path: Path, fault: str, scenario: str
) -> None:
    corpus = make_a(tmp_path / "corpus")
    args = ["ingest", str(corpus)]
    clean_a = indexes.reference("a", [([corpus], False)])
    if scenario != "fresh":
        indexes.prepare(corpus)
    if scenario == "update":
        edit_to_a2(corpus)
    elif scenario == "prune":
        (corpus / REMOVED).unlink()
        args.append("--prune")
    clean_final = indexes.reference("final", [([corpus], scenario == "prune")])
    killed, _ = indexes.child(*args, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    rerun, snaps = indexes.child(*args, before=True, after=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert_only_complete_articles_visible(snaps["before"], [clean_a, clean_final])
    assert_equal_to_clean(snaps["after"], clean_final)


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300  # a hang guard, not a timing assertion
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the first ingest ended early: {process.communicate()}")
        assert time.monotonic() < deadline, "the first ingest never reached its pause"
        time.sleep(0.05)


@pytest.fixture
def paused(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(indexes: Indexes, *args: str, fault: str) -> subprocess.Popen[str]:
        ready, go = tmp_path / "ready", tmp_path / "go"
        process = indexes.spawn(*args, fault=fault, ready=ready, go=go)
        started.append(process)
        _wait_for(ready, process)
        return process

    yield start
    (tmp_path / "go").touch()
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_two_ingests_at_once_a_and_edited_a(
    indexes: Indexes, tmp_path: Path, paused: Callable[..., subprocess.Popen[str]]
) -> None:
    # The first ingest has loaded A and written chunks; it pauses before marking articles complete.
    corpus = make_a(tmp_path / "corpus")
    first = paused(indexes, "ingest", str(corpus), fault="put_articles:1:pause")
    edit_to_a2(corpus)
    second, _ = indexes.child("ingest", str(corpus))
    assert second.returncode == 75
    assert second.stderr.startswith(f"error: Another ingest is running on {indexes.path} (pid {first.pid}, ")
    assert second.stderr.count("\n") == 1 and second.stdout == ""
    (tmp_path / "go").touch()
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert out.startswith("added 5,")
    # The second, run again, turns A into A'; the index equals a clean ingest of A'.
    again, snaps = indexes.child("ingest", str(corpus), after=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("added 1, updated 2, unchanged 3,")
    assert_equal_to_clean(snaps["after"], indexes.reference("a2", [([corpus], False)]))


def test_two_ingests_at_once_of_a_and_an_edited_copy(
    indexes: Indexes, tmp_path: Path, paused: Callable[..., subprocess.Popen[str]]
) -> None:
    # The case: `ingest A & ingest B &` with B holding edited versions of A's files.
    a = make_a(tmp_path / "a")
    b = make_a(tmp_path / "b")
    edit_to_a2(b)
    first = paused(indexes, "ingest", str(a), fault="upsert:2:pause")
    second, _ = indexes.child("ingest", str(b))
    assert second.returncode == 75 and "Another ingest is running" in second.stderr
    (tmp_path / "go").touch()
    assert first.wait(timeout=600) == 0
    again, snaps = indexes.child("ingest", str(b), after=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("added 6, updated 0, unchanged 0,")  # B's files are other articles
    assert_equal_to_clean(snaps["after"], indexes.reference("ab", [([a], False), ([b], False)]))
