"""Progress on the terminal while an answer is worked on: the current step with its elapsed time,
and the sentences that have passed verification so far.

On a terminal it redraws in place (a clock thread ticks the elapsed time) and clears itself before
the answer is printed, so nothing provisional stays on screen. Elsewhere (a pipe, a log file) each
step and sentence is one line, stamped with the seconds since the question was asked.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_TICK_S = 0.2
# Steps shorter than this are not worth a line of their own in the summary.
SLOW_STEP_S = 1.0


class StatusLine:
    """`step(text)` when a step starts, `sentence(text)` when one passes, `close()` at the end."""

    def __init__(
        self, stream: TextIO, *, live: bool | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._live = stream.isatty() if live is None else live
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._step: tuple[str, float] | None = None
        self._done: list[tuple[str, float]] = []
        self._rows = 0  # terminal rows the sentences take (live mode), erased at close
        self._closed = threading.Event()
        self._ticker: threading.Thread | None = None
        if self._live:
            self._ticker = threading.Thread(target=self._tick, name="status-line", daemon=True)
            self._ticker.start()

    @property
    def live(self) -> bool:
        return self._live

    @property
    def steps(self) -> list[tuple[str, float]]:
        """Finished steps and how long each took, in order."""
        return list(self._done)

    def step(self, text: str) -> None:
        with self._lock:
            self._finish_step()
            self._step = (text, self._clock())
            if self._live:
                self._draw_status()
            else:
                self._line(text)

    def sentence(self, text: str) -> None:
        with self._lock:
            if not self._live:
                self._line(f"✓ {text}")
                return
            self._clear_status()
            shown = f"✓ {text}"
            self._stream.write(shown + "\n")
            self._rows += _rows(shown)
            self._draw_status()

    def close(self) -> None:
        """Finish the last step and clear what live mode drew. Safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._ticker is not None:
            self._ticker.join(1.0)
        with self._lock:
            self._finish_step()
            if self._live:
                self._clear_status()
                if self._rows:
                    self._stream.write(f"\x1b[{self._rows}A\x1b[J")
                    self._rows = 0
            self._stream.flush()

    def summary(self) -> str:
        """ "12.7 s: writing the answer 8.4 s, checking … 3.1 s" (steps over a second), or ""."""
        total = self._clock() - self._started
        slow = [
            f"{text[:1].lower()}{text[1:]} {seconds:.1f} s"
            for text, seconds in self._done
            if seconds >= SLOW_STEP_S
        ]
        if total < SLOW_STEP_S:
            return ""
        return f"{total:.1f} s" + (f": {', '.join(slow)}" if slow else "")

    # --- drawing (called with the lock held) ----------------------------------------------------------

    def _finish_step(self) -> None:
        if self._step is not None:
            text, since = self._step
            self._done.append((text, self._clock() - since))
            self._step = None

    def _line(self, text: str) -> None:
        self._stream.write(f"[{self._clock() - self._started:6.1f} s] {text}\n")
        self._stream.flush()

    def _draw_status(self) -> None:
        if self._step is None:
            return
        text, since = self._step
        elapsed = self._clock() - since
        spinner = _SPINNER[int(elapsed / _TICK_S) % len(_SPINNER)]
        line = f"{spinner} {text} · {elapsed:.0f} s" if elapsed >= SLOW_STEP_S else f"{spinner} {text}"
        width = max(10, shutil.get_terminal_size().columns - 1)
        self._stream.write("\r\x1b[2K" + line[:width])
        self._stream.flush()

    def _clear_status(self) -> None:
        self._stream.write("\r\x1b[2K")

    def _tick(self) -> None:
        while not self._closed.wait(_TICK_S):
            with self._lock:
                if not self._closed.is_set():
                    self._draw_status()


def _rows(text: str) -> int:
    columns = max(1, shutil.get_terminal_size().columns)
    return sum(max(1, -(-len(line) // columns)) for line in text.split("\n"))
