"""`python -m benchmarks [--quick] [--out DIR] [--only ingest,retrieval,answer,memory]`"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.corpus import DEFAULT_GNAD, ROOT
from benchmarks.questions import QUESTIONS
from benchmarks.report import performance_table, write_report
from benchmarks.runner import SECTIONS, RunConfig, Runner, rebuild


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x.replace("_", "")) for x in text.split(",") if x.strip())


def _default_work(quick: bool) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-assistant" / "bench" / ("quick" if quick else "full")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Ingest, retrieval, answer and memory benchmarks, side by side with the LangChain "
        "standard recipe on the same models. Writes <out>/<name>.json and <name>.md.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes for CI: seeds + a few GNAD articles")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results folder")
    p.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma list of sections ({','.join(SECTIONS)})"
    )
    p.add_argument("--name", default=None, help="result file name (default <mode>-<date>)")
    p.add_argument(
        "--work", type=Path, default=None, help="scratch folder for indexes (default ~/.cache/...)"
    )
    p.add_argument("--gnad", type=Path, default=DEFAULT_GNAD, help="the GNAD test csv (skipped when absent)")
    p.add_argument("--quick-articles", type=int, default=10, help="--quick: GNAD International articles used")
    p.add_argument("--sizes", type=_ints, default=None, help="chunk counts for retrieval latency")
    p.add_argument("--synthetic-chunks", type=int, default=None, help="chunks of the synthetic ingest corpus")
    p.add_argument("--rounds", type=int, default=None, help="rounds over the retrieval queries")
    p.add_argument("--anchors", type=int, default=None, help="real chunks embedded as synthetic anchors")
    p.add_argument(
        "--questions",
        default=None,
        help=f"comma list of answer question ids ({','.join(q.id for q in QUESTIONS)})",
    )
    p.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many s for a quiet machine")
    p.add_argument("--quiet-load", type=float, default=1.5, help="1-min load average that counts as quiet")
    p.add_argument("--keep-work", action="store_true", help="keep the synthetic indexes after the run")
    p.add_argument(
        "--rebuild",
        type=Path,
        default=None,
        metavar="JSON",
        help="re-derive the tables and verdicts of a stored result from its phases (no measuring)",
    )
    p.add_argument(
        "--summary",
        type=Path,
        default=None,
        metavar="JSON",
        help="print the README performance table of a result",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_from(args: argparse.Namespace, argv: Sequence[str]) -> RunConfig:
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"error: unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    questions = tuple(q.strip() for q in args.questions.split(",")) if args.questions else None
    known = {q.id for q in QUESTIONS}
    if questions and not set(questions) <= known:
        raise SystemExit(f"error: unknown question id(s) {sorted(set(questions) - known)}")
    quick = bool(args.quick)
    return RunConfig(
        quick=quick,
        out=args.out,
        work=args.work or _default_work(quick),
        gnad=args.gnad,
        only=only,
        name=args.name,
        quick_articles=args.quick_articles if args.quick_articles > 0 else None,
        sizes=args.sizes or ((1_000,) if quick else (1_000, 10_000, 100_000)),
        synthetic_chunks=args.synthetic_chunks or (1_000 if quick else 100_000),
        rounds=args.rounds or (2 if quick else 3),
        anchors=args.anchors or (30 if quick else 200),
        questions=questions or (("lachin-corridor", "general-strike-date") if quick else None),
        wait_quiet_s=args.wait_quiet,
        quiet_load=args.quiet_load,
        keep_work=args.keep_work,
        command="python -m benchmarks " + " ".join(argv),
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("benchmarks").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.summary is not None:
        print(performance_table(json.loads(args.summary.read_text(encoding="utf-8"))))
        return 0
    if args.rebuild is not None:
        stored = json.loads(args.rebuild.read_text(encoding="utf-8"))
        json_path, md_path = write_report(rebuild(stored), args.rebuild.parent)
        print(f"rewrote {json_path} and {md_path} from the stored phases")
        return 0
    cfg = config_from(args, argv)
    result = Runner(cfg).run()
    json_path, md_path = write_report(result, cfg.out)
    print(f"wrote {json_path} and {md_path}")
    failed = [k for k, p in result["phases"].items() if not p.get("ok")]
    if failed:
        print(f"failed phases: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
