"""Runs the eval cases through an Assistant, scores them, compares with (or ratchets) the committed
baseline and writes the JSON and Markdown reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.backends.base import ChatModel, complete
from assistant.errors import AssistantError, InputError
from assistant.evaluation import metrics as m
from assistant.evaluation.baseline import (
    Baseline,
    Failure,
    compare,
    load_baseline,
    ratchet,
    save_baseline,
)
from assistant.evaluation.cases import Case
from assistant.evaluation.report import write_reports
from assistant.evaluation.schema import CaseResult, CitationView, EvalOutcome, EvalReport, RetrievedView
from assistant.followup import search_query
from assistant.prompts import PromptTemplate
from assistant.types import Answer, Passage

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

_CHECKOUT = Path(__file__).resolve().parents[2]
DISTRACTOR_LABEL = "International"
DISTRACTOR_FILE = "gnad10k-test.csv"
_NO_LABEL = "\x00none"


def default_corpora_dir() -> Path:
    """`../shared/corpora` next to the checkout (present for developers and CI, absent on a fresh clone)."""
    return _CHECKOUT.parent / "shared" / "corpora"


# --- corpus ----------------------------------------------------------------------------------------


@dataclass
class CorpusInfo:
    """What prepare_corpus indexed, and the cleaned text of every article, for quote fidelity."""

    seed_dir: Path
    distractors: bool
    distractor_source: Path | None = None
    article_texts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def prepare_corpus(
    assistant: Assistant,
    include_distractors: bool | None = None,
    *,
    corpora_dir: Path | None = None,
    progress: bool = False,
) -> CorpusInfo:
    """Index the sample corpus, plus the GNAD `International` articles when `include_distractors` is
    True (None: when the csv exists). Ingestion is idempotent, so reruns cost seconds."""
    from assistant.loaders import CsvOptions, load_paths

    started = time.perf_counter()
    seed_dir = Path(assistant.settings.sample_dir)
    source = (corpora_dir or default_corpora_dir()) / DISTRACTOR_FILE
    if include_distractors is None:
        include_distractors = source.is_file()
        if not include_distractors:
            log.info("no distractor corpus at %s: evaluating on the sample corpus only", source)
    elif include_distractors and not source.is_file():
        raise InputError(f"The distractor corpus is missing: {source} (run without distractors instead)")

    callback = _ingest_progress() if progress else None
    report = assistant.ingest([seed_dir], prune=True, progress=callback)
    log.info(
        "sample corpus: %d added, %d updated, %d unchanged", report.added, report.updated, report.unchanged
    )
    texts = {a.id: a.text for a in load_paths([seed_dir]).articles}
    info = CorpusInfo(seed_dir=seed_dir, distractors=include_distractors)
    if include_distractors:
        # Read in place (CC BY-NC-SA: never copied); filtered rows keep their row numbers, hence ids.
        options = CsvOptions.gnad(labels=[DISTRACTOR_LABEL])
        report = assistant.ingest([source], prune=True, csv=options, progress=callback)
        log.info(
            "distractors: %d added, %d updated, %d unchanged", report.added, report.updated, report.unchanged
        )
        texts.update({a.id: a.text for a in load_paths([source], csv=options).articles})
        info.distractor_source = source
    elif source.is_file():
        # Take distractors a previous run indexed out again (a label matching no row loads nothing,
        # and prune drops what came from the file), so the index holds exactly this run's corpus.
        report = assistant.ingest([source], prune=True, csv=CsvOptions.gnad(labels=[_NO_LABEL]))
        if report.removed:
            log.info("distractors removed from the eval index: %d", report.removed)
    info.article_texts = texts
    info.seconds = round(time.perf_counter() - started, 3)
    return info


def _ingest_progress() -> Any:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if total == 0:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"indexing ({stage})", unit="chunk", leave=False)
        bar.total, bar.n = total, done
        bar.refresh()
        if done >= total:
            bar.close()
            bars.pop(stage, None)

    return update


def _judge_answer(judge: ChatModel, answer: Answer, template: PromptTemplate) -> tuple[int, int] | None:
    messages, sentences = m.judge_messages(answer, template)
    if not sentences:
        return None
    reply = complete(judge, messages, max_tokens=16 * len(sentences) + 32, temperature=0.0)
    verdicts = m.parse_verdicts(reply, len(sentences))
    return sum(verdicts), len(verdicts)


def _run_case(
    assistant: Assistant,
    case: Case,
    *,
    k: int,
    article_texts: Mapping[str, str],
    judge: ChatModel | None,
) -> tuple[CaseResult, m.CaseRecord]:
    result = CaseResult(
        id=case.id,
        question=case.question,
        language=case.language,
        category=case.category,
        tags=sorted(case.all_tags),
        answerable=case.answerable,
        expected_articles=list(case.expected_articles),
        followup=bool(case.history),
    )
    started = time.perf_counter()
    try:
        answer = assistant.ask(case.question, history=case.history, k=k)
    except AssistantError as err:
        result.error = f"{type(err).__name__}: {err}"
        result.latency_s = round(time.perf_counter() - started, 3)
        log.warning("case %s failed: %s", case.id, result.error)
        return result, m.CaseRecord(case=case, scores=None, latency_s=result.latency_s)
    latency = time.perf_counter() - started

    passages: list[Passage] = []
    if case.expected_articles:
        try:
            # What the answer searched: a follow-up's rewrite, with the previous question when the
            # rewrite still points back ("he", "the mission").
            query = search_query(answer.standalone_question or case.question, case.history)
            passages = assistant.search(query, k=k)
        except AssistantError as err:
            result.notes.append(f"search failed: {err}")
    scores = m.score_case(case, answer, passages, article_texts, k)

    judged: tuple[int, int] | None = None
    if judge is not None and not answer.abstained:
        try:
            judged = _judge_answer(judge, answer, assistant.prompts["judge"])
        except AssistantError as err:
            result.notes.append(f"judge failed: {err}")

    _record_answer(result, answer, passages)
    result.latency_s = round(latency, 3)
    result.scores = scores
    result.fact_recall = scores.fact_recall
    result.judge = judged
    result.passed = scores.passed
    return result, m.CaseRecord(case=case, scores=scores, latency_s=latency, judge_sentences=judged)


def _record_answer(result: CaseResult, answer: Answer, passages: Sequence[Passage]) -> None:
    result.answer = answer.answer
    result.abstained = answer.abstained
    result.mode = answer.mode
    result.answer_language = answer.language
    result.standalone_question = answer.standalone_question
    result.citations = [
        CitationView(marker=c.marker, article_id=c.article_id, quote=c.quote, start=c.start, end=c.end)
        for c in answer.citations
    ]
    result.notes = list(answer.notes) + result.notes
    result.retrieved = [
        RetrievedView(rank=i, article_id=p.chunk.article_id, chunk_id=p.chunk.id, score=round(p.score, 4))
        for i, p in enumerate(passages, 1)
    ]


def _run_cases(
    assistant: Assistant,
    runnable: Sequence[Case],
    *,
    k: int,
    corpus: CorpusInfo,
    judge: ChatModel | None,
    progress: bool,
) -> tuple[list[CaseResult], list[m.CaseRecord]]:
    from tqdm import tqdm

    results: list[CaseResult] = []
    records: list[m.CaseRecord] = []
    bar = tqdm(runnable, desc="eval", unit="case", disable=not progress)
    for case in bar:
        bar.set_postfix_str(case.id[:32])
        result, record = _run_case(assistant, case, k=k, article_texts=corpus.article_texts, judge=judge)
        results.append(result)
        records.append(record)
    bar.close()
    return results, records


@dataclass(frozen=True)
class _Run:
    """What one eval run was: its assistant and settings, its corpus and cases, when it started."""

    assistant: Assistant
    info: Mapping[str, str]
    started_at: dt.datetime
    t0: float
    judge: ChatModel | None
    k: int
    cases_file: Path | None
    corpus: CorpusInfo
    runnable: Sequence[Case]
    skipped: dict[str, str]


def _report(
    run: _Run,
    *,
    values: dict[str, float | None],
    baseline: Baseline,
    baseline_path: Path,
    baseline_updated: bool,
    failures: Sequence[Failure],
    results: list[CaseResult],
) -> EvalReport:
    info, judge = run.info, run.judge
    return EvalReport(
        started_at=run.started_at.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - run.t0, 3),
        passed=not failures,
        backend=info["backend"],
        model=info["model"],
        embedder=info["embedder"],
        index=info["index"],
        prompt_hashes=dict(getattr(run.assistant, "prompt_hashes", {}) or {}),
        judge_model=None if judge is None else f"{judge.backend}:{judge.model}",
        k=run.k,
        cases_file=None if run.cases_file is None else str(run.cases_file),
        n_cases=len(run.runnable),
        distractors=run.corpus.distractors,
        skipped=run.skipped,
        metrics=values,
        thresholds=baseline.thresholds,
        failures=[
            {"metric": f.metric, "value": f.value, "threshold": f.threshold, "direction": f.direction}
            for f in failures
        ],
        baseline_path=str(baseline_path),
        baseline_placeholder=baseline.placeholder,
        baseline_updated=baseline_updated,
        environment={"python": platform.python_version(), "platform": platform.platform()},
        cases=results,
    )


def _runnable(cases: Sequence[Case], corpus: CorpusInfo) -> tuple[list[Case], dict[str, str]]:
    """The cases this corpus can answer, and why the others are skipped."""
    skipped: dict[str, str] = {}
    runnable: list[Case] = []
    for case in cases:
        if case.needs_distractors and not corpus.distractors:
            skipped[case.id] = "needs the GNAD distractor corpus, which is not indexed"
        else:
            runnable.append(case)
    if not runnable:
        raise InputError("Every selected case needs the distractor corpus, which is not available.")
    return runnable, skipped


def _ratchet_and_save(
    baseline: Baseline,
    path: Path,
    values: Mapping[str, float | None],
    runnable: Sequence[Case],
    source: Mapping[str, Any],
    k: int,
    allow_regression: bool,
    cases: Mapping[str, int],
) -> Baseline:
    digest = hashlib.sha256("\n".join(sorted(c.id for c in runnable)).encode()).hexdigest()[:12]
    keys = ("backend", "model", "embedder", "n_cases")
    updated_from = {
        **{key: source[key] for key in keys},
        "cases_digest": digest,
        "distractors": source["distractors"],
    }
    baseline = ratchet(
        baseline, values, allow_regression=allow_regression, k=k, source=updated_from, cases=cases
    )
    save_baseline(baseline, path)
    log.info("baseline ratcheted: %s", path)
    return baseline


def _describe(assistant: Assistant) -> dict[str, str]:
    backend, model = assistant.llm_info
    info = {"backend": backend, "model": model, "embedder": "", "index": ""}
    try:
        stats = assistant.stats()
        info["embedder"], info["index"] = stats.embedder, f"{stats.location} ({stats.collection})"
    except AssistantError as err:
        log.warning("could not read index stats: %s", err)
    return info


def run_eval(
    assistant: Assistant,
    cases: Sequence[Case],
    *,
    out_dir: Path,
    baseline_path: Path,
    update_baseline: bool = False,
    allow_regression: bool = False,
    progress: bool = True,
    include_distractors: bool | None = None,
    corpora_dir: Path | None = None,
    k: int | None = None,
    judge: ChatModel | None = None,
    cases_file: Path | None = None,
    prepare: Callable[[Assistant, bool], CorpusInfo] | None = None,
) -> EvalOutcome:
    """Index the corpus (`prepare`: another suite's), answer every case that corpus can answer, score,
    ratchet the baseline if asked, gate against it and write the reports."""
    if not cases:
        raise InputError("No eval cases selected.")
    started_at = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    baseline = load_baseline(baseline_path)
    if prepare is not None:
        corpus = prepare(assistant, progress)
    else:
        corpus = prepare_corpus(assistant, include_distractors, corpora_dir=corpora_dir, progress=progress)
    k = k or assistant.settings.retrieval.k
    if baseline.k is not None and baseline.k != k:
        log.warning("baseline thresholds were measured at k=%d, this run uses k=%d", baseline.k, k)

    runnable, skipped = _runnable(cases, corpus)
    results, records = _run_cases(assistant, runnable, k=k, corpus=corpus, judge=judge, progress=progress)
    values = m.aggregate(records)
    info = _describe(assistant)
    baseline_updated = False
    if update_baseline:
        source = {**info, "n_cases": len(runnable), "distractors": corpus.distractors}
        counts = m.case_counts(records)
        baseline = _ratchet_and_save(
            baseline, baseline_path, values, runnable, source, k, allow_regression, counts
        )
        baseline_updated = True
    failures = compare(values, baseline)

    run = _Run(assistant, info, started_at, t0, judge, k, cases_file, corpus, runnable, skipped)
    report = _report(
        run,
        values=values,
        baseline=baseline,
        baseline_path=baseline_path,
        baseline_updated=baseline_updated,
        failures=failures,
        results=results,
    )
    return EvalOutcome(
        not failures, failures, write_reports(report, out_dir), values, report, baseline_updated
    )
