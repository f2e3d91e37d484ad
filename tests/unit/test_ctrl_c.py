"""Ctrl+C in the chat: a press that code underneath swallowed is raised again until the answer has
stopped, and a repeat that comes after the answer ended is dropped (assistant/interfaces/ctrl_c.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

import pytest

from assistant.interfaces.ctrl_c import CtrlC

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _press() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs here


def _busy(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_swallowed_press_is_raised_again_while_the_answer_runs() -> None:
    with CtrlC(retry_s=0.1) as ctrl_c, pytest.raises(KeyboardInterrupt), ctrl_c.answering():
        with contextlib.suppress(KeyboardInterrupt):  # swallowed, as a finalizer or a C extension can
            _press()
        _busy(3.0)  # the repeat ends this
        pytest.fail("the answer ran on after Ctrl+C")


def test_no_repeat_without_a_press_and_none_after_the_answer_ended() -> None:
    with CtrlC(retry_s=0.1) as ctrl_c:
        with ctrl_c.answering():
            _busy(0.5)  # no press: nothing raised
        with pytest.raises(KeyboardInterrupt), ctrl_c.answering():
            _press()
        _busy(0.5)  # the answer stopped at the first press: no repeat lands at the prompt


def test_a_press_at_the_prompt_still_interrupts_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with CtrlC(retry_s=0.1), pytest.raises(KeyboardInterrupt):
        _press()
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_python_handling_is_left_alone() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def run() -> None:
        with CtrlC():
            seen.append(signal.getsignal(signal.SIGINT))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    assert seen == [before]
