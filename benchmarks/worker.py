"""Runs one benchmark phase in this process: `python -m benchmarks.worker PHASE ARGS.json OUT.json`.

Writes {"ok", "result" | "error", "peak_rss_mb", "phase_s", "cpu_s", "load_before", "load_after"} to
OUT.json.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

# Set before chromadb is imported anywhere in this process.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m benchmarks.worker PHASE ARGS.json OUT.json", file=sys.stderr)
        return 2
    name, args_path, out_path = argv
    logging.basicConfig(level=logging.WARNING, format="  [%(name)s] %(message)s", stream=sys.stderr)
    logging.getLogger("benchmarks").setLevel(logging.INFO)

    from benchmarks.machine import load_average, peak_rss_mb
    from benchmarks.phases import PHASES

    args = json.loads(Path(args_path).read_text(encoding="utf-8"))
    load_before = load_average()
    cpu_before = os.times()
    started = time.perf_counter()
    payload: dict[str, object]
    try:
        result = PHASES[name](args)
        payload = {"ok": True, "result": result}
    except Exception as exc:  # reported to the runner, which records it next to the figures
        traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        payload = {"ok": False, "error": f"{type(exc).__name__}: {first_line}", "detail": str(exc)}
    payload.update(
        peak_rss_mb=peak_rss_mb(),
        phase_s=round(time.perf_counter() - started, 3),
        # CPU seconds of this process: less sensitive than wall time to other jobs on a shared machine.
        cpu_s=round(sum(os.times()[:2]) - sum(cpu_before[:2]), 3),
        load_before=load_before,
        load_after=load_average(),
    )
    Path(out_path).write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
    return 0 if payload["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
