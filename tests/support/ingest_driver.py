"""`assistant <args>` in a child process, with one fault injected into the index, for the crash and
concurrency tests (tests/integration/test_ingest_faults.py).

    python -m tests.support.ingest_driver [--before FILE] [--after FILE] [--fault METHOD:N:ACTION] -- ARGS...

At the N-th call of ChromaIndex.METHOD, ACTION happens:
  kill-before / kill-after   SIGKILL this process before or after the call (nothing is flushed,
                             nothing cleaned up: as a power cut or the OOM killer would)
  pause                      create $DRIVER_READY, then wait until $DRIVER_GO exists, then go on

--before/--after write `snapshot()` of the index (from the environment's settings) as JSON before
and after running `assistant ARGS` (no ARGS: only the snapshot). The test process itself never opens
these indexes: Chroma caches an open index per process and would not see the child's writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.backends import index_chroma
from assistant.config import Settings
from assistant.interfaces.cli import main
from assistant.service import Assistant

QUERY = "Peskow bestätigte den Abzug der Friedenstruppen"


def snapshot(assistant: Assistant) -> dict[str, Any]:
    """Everything an index holds that a clean ingest would also hold, in comparable form."""
    index = assistant.index
    stored = sorted(index.iter_chunks(complete_only=False), key=lambda c: c.id)
    vectors = index.vectors_of([c.id for c in stored]) if stored else {}
    stats = assistant.stats()
    search = [p.chunk.id for p in assistant.search(QUERY, k=10)] if stats.articles else []
    return {
        "stored": [
            {**c.model_dump(), "vector": hashlib.sha256(np.round(vectors[c.id], 5).tobytes()).hexdigest()}
            for c in stored
        ],
        "visible": sorted(c.id for c in index.iter_chunks()),
        "manifest": {aid: r.model_dump() for aid, r in sorted(index.articles().items())},
        "stats": {"articles": stats.articles, "chunks": stats.chunks},
        "stored_count": index.stored_count(),
        "search": search,
    }


def _write_snapshot(path: str) -> None:
    settings = Settings()
    Path(path).write_text(json.dumps(snapshot(Assistant.from_settings(settings))), encoding="utf-8")


def _pause() -> None:
    Path(os.environ["DRIVER_READY"]).write_text(str(os.getpid()), encoding="utf-8")
    go = Path(os.environ["DRIVER_GO"])
    deadline = time.monotonic() + 300  # never outlive a test run that forgot us
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit(99)
        time.sleep(0.05)


def install(spec: str) -> None:
    method, nth, action = spec.split(":")
    target = int(nth)
    original: Callable[..., Any] = getattr(index_chroma.ChromaIndex, method)
    calls = 0

    def wrapped(self: index_chroma.ChromaIndex, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        hit = calls == target
        if hit and action == "kill-before":
            os.kill(os.getpid(), signal.SIGKILL)
        if hit and action == "pause":
            _pause()
        result = original(self, *args, **kwargs)
        if hit and action == "kill-after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(index_chroma.ChromaIndex, method, wrapped)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before")
    parser.add_argument("--after")
    parser.add_argument("--fault")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    args = [a for a in options.args if a != "--"]
    if options.before:
        _write_snapshot(options.before)
    code = 0
    if args:
        if options.fault:
            install(options.fault)
        code = main(args)
    if options.after:
        _write_snapshot(options.after)
    return code


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1:]))
