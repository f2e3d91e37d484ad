"""`assistant eval`: argparse arguments in, gate verdict out (exit 1 when a metric regresses)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from assistant.backends.base import ChatModel
from assistant.config import Settings
from assistant.errors import InputError
from assistant.evaluation.cases import dump_cases, import_feedback, load_cases, select_cases
from assistant.evaluation.report import render_summary
from assistant.evaluation.runner import (
    DISTRACTOR_FILE,
    DISTRACTOR_LABEL,
    default_corpora_dir,
    run_eval,
)
from assistant.evaluation.schema import EvalOutcome
from assistant.paths import default_eval_reports_dir, default_evals_dir

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
    if getattr(args, "import_feedback", None):
        # Drafts for a human to review and paste into cases.yaml: nothing is run or indexed.
        print(dump_cases(import_feedback(args.import_feedback)), end="")
        return 0
    suite = getattr(args, "suite", "news")
    if suite == "xquad":
        return _run_xquad(args, settings)
    if suite == "perturbations":
        return _run_perturbations(args, settings)
    return _run_news(args, settings)


def _print_outcome(outcome: EvalOutcome) -> int:
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


def _run_xquad(args: argparse.Namespace, settings: Settings) -> int:
    """XQuAD-dev (../shared/xquad-dev): a sample by default, `--full` for all 612 items x 2 languages."""
    from assistant.evaluation.xquad import load_xquad, prepare_xquad, sample
    from assistant.service import Assistant

    folder: Path = args.data or default_corpora_dir().parent / "xquad-dev"
    if not (folder / "xquad.de.json").is_file():
        if args.smoke:  # CI on a machine without ../shared: nothing to ask, nothing to gate
            print(f"eval SKIPPED: XQuAD-dev not found in {folder}")
            return 0
        raise InputError(f"XQuAD-dev not found in {folder} (give --data FOLDER)")
    data = load_xquad(folder)
    smoke = args.smoke or "smoke" in (args.tags or [])
    if args.full:
        cases = data.cases
    elif smoke:
        cases = sample(data.cases, 3, held_out=1, seed="smoke")  # 8 asks: CI's subset
    else:
        cases = sample(data.cases, args.sample, held_out=max(1, args.sample // 4), seed=args.seed)
    if args.limit:
        cases = cases[: args.limit]
    if args.update_baseline and not (args.full or smoke):
        raise InputError("--update-baseline needs the whole suite or its smoke subset: add --full or --smoke")
    evals = default_evals_dir()
    settings = settings.replaced(index={"prefix": "evalxquad"})
    assistant = Assistant.from_settings(settings)
    try:
        outcome = run_eval(
            assistant,
            cases,
            out_dir=(args.out or default_eval_reports_dir()) / "xquad",
            baseline_path=args.baseline or evals / f"baseline-xquad{'-smoke' if smoke else ''}.json",
            update_baseline=args.update_baseline,
            allow_regression=args.allow_regression,
            progress=True,
            cases_file=folder,
            prepare=lambda a, progress: prepare_xquad(a, data, folder, progress=progress),
        )
    finally:
        assistant.close()
    return _print_outcome(outcome)


def _run_perturbations(args: argparse.Namespace, settings: Settings) -> int:
    """The verifier against faithful and perturbed claims (evals/perturbations.yaml)."""
    import json

    from assistant.evaluation.perturbations import load_items, run_items, summarize
    from assistant.loaders import CsvOptions, load_paths
    from assistant.service import Assistant

    evals = default_evals_dir()
    items = load_items(args.cases or evals / "perturbations.yaml")
    if args.split:
        items = [i for i in items if i.split == args.split]
    if args.smoke:  # every fourth claim: all kinds, both splits, a quarter of the time
        items = items[::4]
    if args.limit:
        items = items[: args.limit]
    articles = {a.id: (a.title, a.text) for a in load_paths([settings.sample_dir]).articles}
    gnad = default_corpora_dir() / DISTRACTOR_FILE
    if gnad.is_file() and any(":" in i.article for i in items):
        for a in load_paths([gnad], csv=CsvOptions.gnad(labels=[DISTRACTOR_LABEL])).articles:
            articles[a.id] = (a.title, a.text)
    assistant = Assistant.from_settings(settings)
    try:
        results, skipped = run_items(assistant, items, articles)
    finally:
        assistant.close()
    summary = {split: summarize([r for r in results if r.split == split]) for split in ("dev", "test")}
    summary["all"] = summarize(results)
    out = (args.out or default_eval_reports_dir()) / "perturbations.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"summary": summary, "skipped": skipped, "claims": [r.__dict__ for r in results]},
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    for split, values in summary.items():
        if values["claims"]:
            shown = ", ".join(f"{k} {v}" for k, v in values.items() if v is not None)
            print(f"{split}: {shown}")
    if skipped:
        print(f"skipped {len(skipped)} item(s) whose corpus is not available: {', '.join(skipped)}")
    print(f"report: {out}")
    floors_file = "baseline-perturbations-smoke.json" if args.smoke else "baseline-perturbations.json"
    floors = json.loads((args.baseline or evals / floors_file).read_text("utf-8"))
    failed = [
        f"{name} = {summary['all'][name]} is below {floor}"
        for name, floor in floors["thresholds"].items()
        if summary["all"].get(name) is not None and float(summary["all"][name] or 0) < floor
    ]
    for failure in failed:
        print(f"regression: {failure}")
    print("eval FAILED" if failed else "eval PASSED")
    return 1 if failed else 0


def _run_news(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import Assistant

    evals = default_evals_dir()
    cases_path: Path = args.cases or evals / "cases.yaml"
    all_cases = load_cases(cases_path)
    tags = ["smoke"] if args.smoke else args.tags
    cases = select_cases(all_cases, tags=tags or None, limit=args.limit)
    if not cases:
        raise InputError(f"No case in {cases_path} matches --tags {' '.join(tags or [])}")
    if args.update_baseline and len(cases) != len(all_cases) and not (args.smoke and not args.limit):
        raise InputError("--update-baseline needs the whole case set or --smoke: drop --limit/--tags")
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
            baseline_path=args.baseline or evals / ("baseline-smoke.json" if args.smoke else "baseline.json"),
            update_baseline=args.update_baseline,
            allow_regression=args.allow_regression,
            progress=True,
            include_distractors=False if args.no_distractors else None,
            judge=judge,
            cases_file=cases_path,
        )
    finally:
        assistant.close()
    return _print_outcome(outcome)
