"""Ctrl+C in `assistant chat` that always stops the answer being written.

Python turns SIGINT into a KeyboardInterrupt at the main thread's next bytecode, wherever that is.
Code underneath can swallow it: a finalizer running at that moment ("Exception ignored in ..."), a
C extension that checks for signals and clears the error, a library's broad `except`. The answer
then runs on as if the key had not been pressed (seen once in CI: `^C` echoed, the draft went on).

So a press is remembered until the answer has stopped: while it is still running, the press is
raised again every `retry_s` seconds. A repeat that arrives after the answer stopped is dropped, so
it cannot cut into the prompt that follows.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

RETRY_S = 0.5


class CtrlC:
    """`with CtrlC() as ctrl_c:` around a chat, `with ctrl_c.answering():` around each answer.
    Only in the main thread (where Python runs signal handlers)."""

    def __init__(self, *, retry_s: float = RETRY_S) -> None:
        self._retry_s = retry_s
        self._lock = threading.Lock()
        self._answering = False
        self._pressed_at: float | None = None  # during the current answer
        self._repeats = 0  # raised by the watcher, not yet run by the handler
        self._closed = threading.Event()
        self._previous: Any = None
        self._watcher = threading.Thread(target=self._watch, name="ctrl-c", daemon=True)

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():  # else Python's handling stays
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        if self._watcher.ident is not None:
            self._watcher.join(1.0)
            signal.signal(signal.SIGINT, self._previous)

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self._lock:
            self._answering, self._pressed_at = True, None
        try:
            yield
        finally:
            with self._lock:
                self._answering, self._pressed_at = False, None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        with self._lock:
            repeat = self._repeats > 0
            self._repeats -= repeat
            if not self._answering:
                if repeat:
                    return  # the answer stopped in the meantime: nothing left to stop
            elif self._pressed_at is None:
                self._pressed_at = time.monotonic()
        raise KeyboardInterrupt

    def _watch(self) -> None:
        while not self._closed.wait(self._retry_s / 2):
            with self._lock:
                pressed = self._pressed_at
                if not self._answering or pressed is None or time.monotonic() - pressed < self._retry_s:
                    continue
                self._pressed_at = time.monotonic()
                self._repeats += 1
            _thread.interrupt_main()  # the answer is still running: the press once more
