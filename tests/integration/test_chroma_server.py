"""The scale-out path: ingest, search, ask and eval through the CLI against a real Chroma server
(`chroma run` from the chromadb package), configured only by ASSISTANT_INDEX__HOST/PORT."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.plugins import PLUGINS_ENV

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 300.0


def _chroma_cli() -> str:
    # The console script of the chromadb package installed in this interpreter's environment.
    beside = Path(sys.executable).with_name("chroma")
    if beside.is_file():
        return str(beside)
    found = shutil.which("chroma")
    if found is None:
        pytest.fail("the `chroma` command of the chromadb package is not installed next to the interpreter")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _local_env(extra: dict[str, str]) -> dict[str, str]:
    kept = ("ASSISTANT_CONFIG", PLUGINS_ENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") or k in kept}
    no_proxy = ",".join(x for x in (env.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
    env.update(ANONYMIZED_TELEMETRY="False", NO_PROXY=no_proxy, no_proxy=no_proxy, **extra)
    return env


def _heartbeat(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Chroma server on a free localhost port with its data in a temp folder; stopped afterwards."""
    base = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log_path = base / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [_chroma_cli(), "run", "--path", str(base / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_local_env({}),
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _heartbeat(port):
                if proc.poll() is not None:
                    pytest.fail(
                        f"chroma run exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(f"no heartbeat from chroma run within {STARTUP_TIMEOUT_S:.0f} s")
                time.sleep(0.25)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.interfaces.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result.stdout


def _server_env(port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return _local_env(
        {
            "ASSISTANT_INDEX__HOST": "127.0.0.1",
            "ASSISTANT_INDEX__PORT": str(port),
            # Must stay unused: with a host set, nothing is written to a local index folder.
            "ASSISTANT_INDEX__PATH": str(tmp_path / "local-index"),
            "ASSISTANT_LLM__CACHE_DIR": str(tmp_path / "cache"),
            **extra,
        }
    )


def _server_collections(port: int) -> dict[str, int]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(
        host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return {name: client.get_collection(name).count() for name in names}


def test_ingest_search_ask_and_eval_against_the_server(chroma_server: int, tmp_path: Path) -> None:
    env = _server_env(chroma_server, tmp_path, ASSISTANT_EMBEDDING__BACKEND="hashing")

    out = _ok(_cli(["ingest"], env))
    assert "added 5" in out
    assert "unchanged 5" in _ok(_cli(["ingest"], env))  # idempotent against the server too

    hits = json.loads(_ok(_cli(["search", "Peskow Abzug", "-k", "3", "--json"], env)))
    assert hits and hits[0]["article_id"] == "002_5656326da5719992"

    answer = json.loads(
        _ok(_cli(["ask", "--backend", "fake", "--json", "Wer hat den Abzug bestätigt?"], env))
    )
    assert answer["backend"] == "fake" and not answer["abstained"] and answer["citations"]

    stats = json.loads(_ok(_cli(["stats", "--json"], env)))
    assert stats["location"] == f"http://127.0.0.1:{chroma_server}" and stats["articles"] == 5

    # The chunks live in the server; the BM25 cache lands under the configured cache folder.
    collections = _server_collections(chroma_server)
    assert collections.get(stats["collection"]) == stats["chunks"] > 0
    assert list((tmp_path / "cache" / "lexical").glob("*.bm25.pkl"))
    assert not (tmp_path / "local-index").exists()

    reports = tmp_path / "reports"
    result = _cli(
        [
            "eval",
            "--backend",
            "fake",
            "--no-distractors",
            "--limit",
            "3",
            "--baseline",
            str(tmp_path / "no-baseline.json"),
            "--out",
            str(reports),
        ],
        env,
    )
    _ok(result)
    assert (reports / "eval-report.json").is_file()


@pytest.mark.model
def test_real_embedder_against_the_server(chroma_server: int, tmp_path: Path) -> None:
    env = _server_env(chroma_server, tmp_path)  # default embedder: e5 on CTranslate2

    assert "added 5" in _ok(_cli(["ingest"], env))
    hits = json.loads(_ok(_cli(["search", "When did Russian peacekeepers leave Karabakh?", "--json"], env)))
    assert hits[0]["article_id"] == "002_5656326da5719992"
    # German, because the fake model cannot translate: it quotes its first passage as the answer.
    question = "Wer bestätigte den Abzug der russischen Truppen aus Berg-Karabach?"
    answer = json.loads(_ok(_cli(["ask", "--backend", "fake", "--json", question], env)))
    assert answer["citations"] and answer["citations"][0]["article_id"] == "002_5656326da5719992"
    assert any(name.startswith("news-e5smallq4ct2int8") for name in _server_collections(chroma_server))
    assert list((tmp_path / "cache" / "lexical").glob("*.bm25.pkl"))


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    env = _server_env(_free_port(), tmp_path, ASSISTANT_EMBEDDING__BACKEND="hashing")
    for args in (["search", "Abzug"], ["ingest"]):
        result = _cli(args, env)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: Cannot reach the Chroma server"), result.stderr
        assert "chroma run" in lines[0]
