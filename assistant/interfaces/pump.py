"""An answer's events from a thread of its own, so that an interface can keep a clock running while
a step works, and stop the answer the moment the reader asks it to.

The web UI needs both: a Gradio handler only updates the page when it yields, and it can only be
cancelled at a yield. With the answer on a worker thread the handler yields a tick every fraction
of a second (the status line's elapsed time) and is stopped at once; `stop()` then ends the answer
at the worker's next Python instruction, which unwinds the stream and cancels the model's work
(the embedded model aborts its decode; Ollama's request is closed), instead of letting the draft
run to its end.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Stopped(BaseException):
    """Raised inside the worker by `Pump.stop()`: a BaseException, so no `except Exception` in the
    pipeline swallows it."""


_END = object()


class Pump(Generic[T]):
    """`for item in pump.items(tick=0.5)` yields each item, or None when `tick` seconds passed
    without one; the worker's exception is re-raised there. `stop()` ends it from anywhere."""

    def __init__(self, source: Iterator[T], *, name: str = "answer") -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._running = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Pump[T]:
        with self._lock:
            self._running = True
        self._thread.start()
        return self

    def items(self, tick: float) -> Iterator[T | None]:
        while True:
            try:
                item = self._queue.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def stop(self) -> None:
        """End the work: at once if the worker is running Python code, else as soon as it returns
        from what it waits for (a token, a search). Safe to call more than once, and after the end."""
        self._stopped.set()
        with self._lock:
            if not self._running or self._thread.ident is None:
                return
            self._running = False
            # The one way to end a generator that is executing on another thread: close() cannot.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread.ident), ctypes.py_object(Stopped)
            )

    def join(self, timeout: float) -> bool:
        """Wait for the worker to finish; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._pump()
        except Stopped:
            log.debug("answer stopped")
        finally:
            self._queue.put(_END)

    def _pump(self) -> None:
        try:
            for item in self._source:
                if self._stopped.is_set():
                    break
                self._queue.put(item)
        except Stopped:
            raise
        except BaseException as err:
            self._queue.put(err)
        finally:
            with self._lock:
                self._running = False
            close = getattr(self._source, "close", None)
            if callable(close):
                close()
