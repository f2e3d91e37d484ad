"""`assistant eval`: argparse arguments in, gate verdict out (exit 1 when a metric regresses)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from assistant.backends.base import ChatModel
from assistant.config import Settings, default_eval_reports_dir, default_evals_dir
from assistant.errors import InputError
from assistant.evaluation.cases import dump_cases, import_feedback, load_cases, select_cases
from assistant.evaluation.report import render_summary
from assistant.evaluation.runner import run_eval

log = logging.getLogger(__name__)

# The eval indexes distractors: keep them out of the user's own collection.
EVAL_INDEX_PREFIX = "eval"


def _judge_model(settings: Settings) -> ChatModel:
    from assistant.backends import factory

    llm: dict[str, object] = {"backend": "ollama"}
    if settings.llm.backend != "ollama":
        llm["model"] = None  # the Ollama default chat model, not the embedded model's name
    return factory.make_chat_model(settings.replaced(llm=llm))


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import Assistant

    if args.import_feedback:
        # Drafts for a human to review and paste into cases.yaml: nothing is run or indexed.
        print(dump_cases(import_feedback(args.import_feedback)), end="")
        return 0
    evals = default_evals_dir()
    cases_path: Path = args.cases or evals / "cases.yaml"
    all_cases = load_cases(cases_path)
    cases = select_cases(all_cases, tags=args.tags or None, limit=args.limit)
    if not cases:
        raise InputError(f"No case in {cases_path} matches --tags {' '.join(args.tags or [])}")
    if args.update_baseline and len(cases) != len(all_cases):
        raise InputError("--update-baseline needs the whole case set: drop --limit/--tags")
    if args.allow_regression and not args.update_baseline:
        raise InputError("--allow-regression only applies together with --update-baseline")
    if settings.index.prefix == "news":
        settings = settings.replaced(index={"prefix": EVAL_INDEX_PREFIX})
    judge = _judge_model(settings) if args.judge else None

    assistant = Assistant.from_settings(settings)
    try:
        outcome = run_eval(
            assistant,
            cases,
            out_dir=args.out or default_eval_reports_dir(),
            baseline_path=args.baseline or evals / "baseline.json",
            update_baseline=args.update_baseline,
            allow_regression=args.allow_regression,
            progress=True,
            include_distractors=False if args.no_distractors else None,
            judge=judge,
            cases_file=cases_path,
        )
    finally:
        assistant.close()

    report = outcome.report
    verdict = "PASSED" if outcome.passed else "FAILED"
    print(f"eval {verdict}: {report.n_cases} cases, {report.backend}/{report.model}")
    print("\n".join(render_summary(report)))
    for failure in outcome.failures:
        print(f"regression: {failure}")
    if report.skipped:
        print(f"skipped {len(report.skipped)} case(s) that need the distractor corpus")
    if outcome.baseline_updated:
        print(f"baseline updated: {report.baseline_path}")
    for path in outcome.report_paths.values():
        print(f"report: {path}")
    return outcome.exit_code
