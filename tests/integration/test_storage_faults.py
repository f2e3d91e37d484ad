"""A real read-only index folder and a real full disk (issue 12, items 9 and 10), in a private mount
namespace (`unshare`): a read-only bind mount of the index, a tiny tmpfs for it. Skipped where the
system allows neither (tests/unit/test_index_faults.py covers the same paths with injected faults).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.service import Assistant
from tests.support.ingest_driver import snapshot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["Regierung", "Gesetz", "Wien", "Minister", "Bericht", "Zahlen", "Wirtschaft", "Sprecher"]


@cache
def _unshare() -> list[str] | None:
    """The unshare command that gives a private mount namespace here, or None."""
    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        return None
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for cmd in (["unshare", "-m"], ["unshare", "-rm"]) if as_root else (["unshare", "-rm"],):
        probe = [
            *cmd,
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt || exit 1",
        ]
        try:
            if subprocess.run(probe, capture_output=True, timeout=60).returncode == 0:
                return [*cmd, "--propagation", "private"]
        except (OSError, subprocess.SubprocessError):
            continue
    return None


needs_namespace = pytest.mark.skipif(_unshare() is None, reason="no private mount namespace (unshare) here")


def _env(index: Path, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_EMBEDDING__BACKEND": "hashing",
        "ASSISTANT_LLM__BACKEND": "fake",
        "ASSISTANT_INDEX__PATH": str(index),
        "ASSISTANT_LLM__CACHE_DIR": str(tmp / "cache"),
        "ASSISTANT_ANSWER__MIN_RELEVANCE": "0.3",
        "PYTHONPATH": str(ROOT),
    }


def _in_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [*(_unshare() or []), "sh", "-c", script]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


def _cli(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "assistant.interfaces.cli", *args])


def _clean(index: Path, tmp: Path, corpus: Path) -> dict[str, object]:
    settings = Settings(
        index={"path": str(index)},  # type: ignore[arg-type]
        embedding={"backend": "hashing"},  # type: ignore[arg-type]
        llm={"backend": "fake", "cache_dir": str(tmp / "cache")},  # type: ignore[arg-type]
    )
    assistant = Assistant.from_settings(settings)
    assistant.ingest([corpus])
    return snapshot(assistant)


@needs_namespace
def test_a_read_only_index_folder_is_read_and_ingest_says_why(tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = _env(index, tmp_path)
    subprocess.run(shlex.split(_cli("ingest")), env=env, cwd=ROOT, check=True, capture_output=True)
    out = tmp_path / "out"
    out.mkdir()
    steps = {
        "stats": _cli("stats", "--json"),
        "search": _cli("search", "Peskow Abzug", "-k", "2", "--json"),
        "ask": _cli("ask", "Wer hat den Abzug bestätigt?", "--json"),
        "ingest": _cli("ingest"),
    }
    script = f"mount --bind {index} {index} && mount -o remount,bind,ro {index} {index} || exit 90\n"
    script += f"touch {index}/probe 2>/dev/null && exit 91\n"  # really read-only?
    for name, command in steps.items():
        script += f"{command} > {out / name}.out 2> {out / name}.err; echo $? > {out / name}.rc\n"
    done = _in_namespace(script, env)
    assert done.returncode == 0, done.stderr

    def result(name: str) -> tuple[int, str, str]:
        rc = int((out / f"{name}.rc").read_text())
        return rc, (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text()

    for name in ("stats", "search", "ask"):
        rc, stdout, stderr = result(name)
        assert rc == 0 and "Traceback" not in stderr, (name, stderr)
        json.loads(stdout)
    assert json.loads(result("stats")[1])["articles"] == 5
    rc, stdout, stderr = result("ingest")
    assert (rc, stdout) == (1, "")
    assert stderr.startswith(f"error: The index folder {index} is read-only: ingesting needs to write there.")
    assert stderr.count("\n") == 1


@needs_namespace
def test_a_full_disk_is_one_line_and_the_next_ingest_completes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(120):  # about 1.3 MB of text: more than the 1.5 MB tmpfs holds as an index
        sentences = (" ".join(WORDS[(n + i + j) % len(WORDS)] for j in range(12)) + "." for i in range(90))
        (corpus / f"a{n:03d}.txt").write_text(f"Artikel {n}\n\n" + " ".join(sentences), encoding="utf-8")
    disk = tmp_path / "disk"
    disk.mkdir()
    index = disk / "index"
    env = _env(index, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    after = tmp_path / "after.json"
    script = f"""
mount -t tmpfs -o size=1500k tmpfs {disk} || exit 90
{_cli("ingest", str(corpus))} > {out}/full.out 2> {out}/full.err; echo $? > {out}/full.rc
{_cli("stats", "--json")} > {out}/stats.out 2> {out}/stats.err; echo $? > {out}/stats.rc
mount -o remount,size=64m {disk} || exit 91
{_cli("ingest", str(corpus))} > {out}/again.out 2> {out}/again.err; echo $? > {out}/again.rc
{shlex.join([sys.executable, "-m", "tests.support.ingest_driver", "--after", str(after)])} || exit 92
"""
    done = _in_namespace(script, env)
    assert done.returncode == 0, done.stderr
    messages = [
        line
        for line in (out / "full.err").read_text().replace("\r", "\n").splitlines()
        if line.strip() and not line.startswith("embedding")
    ]
    assert (out / "full.rc").read_text().strip() == "1"
    assert len(messages) == 1 and messages[0].startswith(
        f"error: The disk holding the index at {index} is full"
    )
    assert (out / "stats.rc").read_text().strip() == "0", (out / "stats.err").read_text()
    assert (out / "again.rc").read_text().strip() == "0", (out / "again.err").read_text()
    snap = json.loads(after.read_text(encoding="utf-8"))
    clean = _clean(tmp_path / "reference", tmp_path, corpus)
    assert snap["manifest"] == clean["manifest"]
    assert snap["stored"] == clean["stored"]
    assert snap["stats"] == clean["stats"]
