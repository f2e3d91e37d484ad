"""`assistant chat` on a real pseudo-terminal: Ctrl+C while an answer is written stops that answer
and returns to the prompt, with the conversation so far kept (issue 14, item 3).

The child is `assistant chat` (tests/support/chat_driver.py: the fake LLM, slow on demand) with the
pty as its controlling terminal, so Ctrl+C is the terminal's own SIGINT, as a person would send it.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.plugins import PLUGINS_ENV
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parents[2]
FIRST = "Welche Waffen lieferte Weißrussland an Aserbaidschan?"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


class Terminal:
    """The child on a pty: what it wrote so far, and keys to type."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes `assistant chat` on the pty
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "tests.support.chat_driver", *argv], env)
        self.pid, self.fd = pid, fd
        self.seen = ""

    def read_until(self, pattern: str, *, timeout: float = 30.0, start: int = 0) -> str:
        """The screen text (escape codes removed) from `start` once `pattern` occurs after it."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()[start:]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout} s; the terminal shows:\n{self.text()}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"the chat ended early; it showed:\n{self.text()}") from None
        return self.text()[start:]

    def text(self) -> str:
        return ANSI.sub("", self.seen)

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_output, _, _ = select.select([self.fd], [], [], 0.1)
            if with_output:
                with contextlib.suppress(OSError):  # the child closed the terminal
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"the chat did not end; it showed:\n{self.text()}")

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


@pytest.fixture
def indexed(make_settings: Callable[..., Settings], tmp_path: Path) -> dict[str, str]:
    """The environment of an `assistant` whose index holds the sample corpus (hashing embedder)."""
    settings = make_settings()
    assistant = Assistant.from_settings(settings)
    assistant.ingest()
    assistant.close()
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") or k == PLUGINS_ENV},
        "ASSISTANT_INDEX__PATH": str(settings.index.path),
        "ASSISTANT_EMBEDDING__BACKEND": "hashing",
        "ASSISTANT_LLM__BACKEND": "fake",
        "ASSISTANT_LLM__CACHE_DIR": str(settings.llm.cache_dir),
        "CHAT_DRIVER_SLOW": str(tmp_path / "slow"),
        "TERM": "xterm",
        "COLUMNS": "120",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def chat(indexed: dict[str, str]) -> Iterator[Terminal]:
    terminal = Terminal(["chat"], indexed)
    yield terminal
    terminal.kill()


def test_ctrl_c_stops_the_answer_and_returns_to_the_prompt_with_history_kept(
    chat: Terminal, indexed: dict[str, str]
) -> None:
    chat.read_until(r"Ctrl\+C stops an answer.*\n> ")
    chat.type(FIRST + "\n")
    answered = chat.read_until(r"Quellen:[\s\S]*\n> ")
    assert "Bericht: Weißrussland" in answered

    slow = Path(indexed["CHAT_DRIVER_SLOW"])
    slow.touch()
    mark = len(chat.text())
    chat.type("Und wann war das?\n")
    chat.read_until("Writing the answer", start=mark)
    chat.type("\x03")  # Ctrl+C, through the terminal: SIGINT to the chat
    stopped = chat.read_until(r"Stopped\..*\n> ", start=mark, timeout=10)
    assert "Nothing was added to the conversation" in stopped
    slow.unlink()

    mark = len(chat.text())
    chat.type("/history\n")
    history = chat.read_until(r"\n> ", start=mark)
    assert f"you: {FIRST}" in history and "assistant: Bericht: Weißrussland" in history
    assert "Und wann war das?" not in history.replace("/history", ""), "the stopped question is not kept"

    # The conversation goes on: the next question is a follow-up of the first one.
    mark = len(chat.text())
    chat.type(FIRST + "\n")
    assert "Quellen:" in chat.read_until(r"Quellen:[\s\S]*\n> ", start=mark)
    chat.type("\x04")  # Ctrl+D ends the chat
    assert chat.wait() == 0


def test_ctrl_c_stops_the_answer_even_when_code_underneath_swallows_the_interrupt(
    indexed: dict[str, str],
) -> None:
    terminal = Terminal(["chat"], {**indexed, "CHAT_DRIVER_SWALLOW": "1"})
    try:
        terminal.read_until(r"Ctrl\+C stops an answer.*\n> ")
        slow = Path(indexed["CHAT_DRIVER_SLOW"])
        slow.touch()
        terminal.type(FIRST + "\n")
        terminal.read_until("Writing the answer")
        terminal.type("\x03")  # swallowed by the draft: the chat presses it once more itself
        stopped = terminal.read_until(r"Stopped\..*\n> ", timeout=10)
        assert "Nothing was added to the conversation" in stopped
        slow.unlink()
        mark = len(terminal.text())
        terminal.type(FIRST + "\n")  # the repeat did not cut into the next answer
        assert "Quellen:" in terminal.read_until(r"Quellen:[\s\S]*\n> ", start=mark)
        assert "Stopped" not in terminal.text()[mark:]
        terminal.type("\x04")
        assert terminal.wait() == 0
    finally:
        terminal.kill()
