"""Runs the eval cases through an Assistant, scores them, compares with (or ratchets) the committed
baseline and writes the JSON and Markdown reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from assistant.backends.base import ChatModel, complete
from assistant.errors import AssistantError, ConfigError, InputError
from assistant.evaluation import metrics as m
from assistant.evaluation.cases import Case
from assistant.prompts import PromptTemplate
from assistant.types import Answer, Passage

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

_CHECKOUT = Path(__file__).resolve().parents[2]
DISTRACTOR_LABEL = "International"
DISTRACTOR_FILE = "gnad10k-test.csv"
_NO_LABEL = "\x00none"


def default_evals_dir() -> Path:
    return _CHECKOUT / "evals"


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


# --- baseline --------------------------------------------------------------------------------------


class Threshold(BaseModel):
    min: float | None = None
    max: float | None = None


class Baseline(BaseModel):
    """evals/baseline.json: per-metric floors (`min`) or ceilings (`max`) the run must respect."""

    comment: str = Field(default="", alias="_comment")
    schema_version: int = 1
    placeholder: bool = Field(default=False, description="True until ratcheted from a real run.")
    k: int | None = Field(default=None, description="Retrieval depth the thresholds were measured at.")
    updated_at: str | None = None
    updated_from: dict[str, Any] = Field(default_factory=dict)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)

    model_config = {"populate_by_name": True, "extra": "forbid"}


class BaselineError(ConfigError):
    """The baseline file is unreadable or names unknown metrics."""


def load_baseline(path: Path) -> Baseline:
    if not path.is_file():
        return Baseline()
    try:
        baseline = Baseline.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as err:
        raise BaselineError(f"{path}: not a valid baseline file: {err}") from None
    unknown = sorted(set(baseline.thresholds) - set(m.METRIC_SPECS))
    if unknown:
        raise BaselineError(
            f"{path}: unknown metric(s) {', '.join(unknown)}; known: {', '.join(m.METRIC_SPECS)}"
        )
    for name, t in baseline.thresholds.items():
        direction = m.METRIC_SPECS[name].direction
        if (direction == "min" and (t.min is None or t.max is not None)) or (
            direction == "max" and (t.max is None or t.min is not None)
        ):
            raise BaselineError(f"{path}: {name} takes a {direction!r} threshold only")
    return baseline


def save_baseline(baseline: Baseline, path: Path) -> None:
    data = baseline.model_dump(mode="json", by_alias=True, exclude_none=False)
    data["thresholds"] = {
        name: {k: v for k, v in t.items() if v is not None} for name, t in data["thresholds"].items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Failure:
    """A metric on the wrong side of its threshold."""

    metric: str
    value: float
    threshold: float
    direction: Literal["min", "max"]

    def __str__(self) -> str:
        relation = "below the floor" if self.direction == "min" else "above the ceiling"
        return f"{self.metric} = {self.value:.3f} is {relation} {self.threshold:.3f}"


def compare(values: Mapping[str, float | None], baseline: Baseline) -> list[Failure]:
    """Metrics outside their thresholds. A metric that does not apply to this run (None) is not judged."""
    failures: list[Failure] = []
    for name, t in baseline.thresholds.items():
        value = values.get(name)
        spec = m.METRIC_SPECS.get(name)
        if value is None or (spec is not None and not spec.gated):
            continue
        if t.min is not None and value < t.min - 1e-9:
            failures.append(Failure(name, value, t.min, "min"))
        if t.max is not None and value > t.max + 1e-9:
            failures.append(Failure(name, value, t.max, "max"))
    return failures


def ratchet_threshold(spec: m.MetricSpec, value: float, old: float | None, allow_regression: bool) -> float:
    """Current value minus (floors) or plus (ceilings) the metric's tolerance, rounded so the current
    value passes; never looser than `old` unless `allow_regression`."""
    if spec.direction == "min":
        candidate = math.floor(round((value - spec.tolerance) * 1000, 6)) / 1000
        candidate = max(0.0, candidate)
        return candidate if old is None or allow_regression else max(old, candidate)
    slack = max(value * spec.tolerance, spec.min_slack) if spec.relative else spec.tolerance
    candidate = math.ceil(round((value + slack) * 1000, 6)) / 1000
    if not spec.relative:
        candidate = min(1.0, candidate)
    return candidate if old is None or allow_regression else min(old, candidate)


def ratchet(
    baseline: Baseline,
    values: Mapping[str, float | None],
    *,
    allow_regression: bool = False,
    k: int | None = None,
    source: Mapping[str, Any] | None = None,
) -> Baseline:
    """A new baseline from this run's values (see ratchet_threshold); metrics without a value keep theirs."""
    thresholds = dict(baseline.thresholds)
    for spec in m.METRICS:
        value = values.get(spec.name)
        if not spec.gated:
            thresholds.pop(spec.name, None)
            continue
        if value is None:
            continue
        old_t = thresholds.get(spec.name)
        old = None if old_t is None else (old_t.min if spec.direction == "min" else old_t.max)
        if baseline.placeholder:
            old = None  # placeholders were guesses, not measurements: replace them
        new = ratchet_threshold(spec, value, old, allow_regression)
        thresholds[spec.name] = Threshold(min=new) if spec.direction == "min" else Threshold(max=new)
    return baseline.model_copy(
        update={
            "placeholder": False,
            "k": k if k is not None else baseline.k,
            "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "updated_from": dict(source or {}),
            "thresholds": thresholds,
        }
    )


# --- running ---------------------------------------------------------------------------------------


class CitationView(BaseModel):
    marker: int
    article_id: str
    quote: str
    start: int
    end: int


class RetrievedView(BaseModel):
    rank: int
    article_id: str
    chunk_id: str
    score: float


class CaseResult(BaseModel):
    """One case as the reports show it."""

    id: str
    question: str
    language: str
    category: str
    tags: list[str]
    answerable: bool
    expected_articles: list[str]
    followup: bool = False
    answer: str = ""
    abstained: bool | None = None
    mode: str | None = None
    answer_language: str | None = None
    standalone_question: str | None = None
    citations: list[CitationView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    retrieved: list[RetrievedView] = Field(default_factory=list)
    latency_s: float | None = None
    error: str | None = None
    scores: m.CaseScores | None = None
    fact_recall: float | None = None
    judge: tuple[int, int] | None = None
    passed: bool = False


class EvalReport(BaseModel):
    """Everything a report file holds."""

    schema_version: int = 1
    started_at: str
    finished_at: str
    duration_s: float
    passed: bool
    backend: str
    model: str
    embedder: str
    index: str
    prompt_hashes: dict[str, str]
    judge_model: str | None = None
    k: int
    cases_file: str | None = None
    n_cases: int
    distractors: bool
    skipped: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float | None]
    thresholds: dict[str, Threshold]
    failures: list[dict[str, Any]]
    baseline_path: str
    baseline_placeholder: bool
    baseline_updated: bool = False
    environment: dict[str, str] = Field(default_factory=dict)
    cases: list[CaseResult]


@dataclass
class EvalOutcome:
    """The result of run_eval: `passed` is what the exit code reflects."""

    passed: bool
    failures: list[Failure]
    report_paths: dict[str, Path]
    metrics: dict[str, float | None]
    report: EvalReport
    baseline_updated: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


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
            passages = assistant.search(answer.standalone_question or case.question, k=k)
        except AssistantError as err:
            result.notes.append(f"search failed: {err}")
    scores = m.score_case(case, answer, passages, article_texts, k)

    judged: tuple[int, int] | None = None
    if judge is not None and not answer.abstained:
        try:
            judged = _judge_answer(judge, answer, assistant.prompts["judge"])
        except AssistantError as err:
            result.notes.append(f"judge failed: {err}")

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
    result.latency_s = round(latency, 3)
    result.scores = scores
    result.fact_recall = scores.fact_recall
    result.judge = judged
    result.passed = scores.passed
    return result, m.CaseRecord(case=case, scores=scores, latency_s=latency, judge_sentences=judged)


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
    """Index the corpus, answer every case, score, gate against the baseline and write the reports.

    Cases that need the distractor corpus are skipped (and listed) when it is not indexed. With
    `update_baseline` the baseline is ratcheted (see `ratchet`) and written before the comparison.
    `prepare` indexes another suite's corpus instead (see evaluation/xquad.py)."""
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

    skipped: dict[str, str] = {}
    runnable: list[Case] = []
    for case in cases:
        if case.needs_distractors and not corpus.distractors:
            skipped[case.id] = "needs the GNAD distractor corpus, which is not indexed"
        else:
            runnable.append(case)
    if not runnable:
        raise InputError("Every selected case needs the distractor corpus, which is not available.")

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

    values = m.aggregate(records)
    info = _describe(assistant)
    baseline_updated = False
    if update_baseline:
        digest = hashlib.sha256("\n".join(sorted(c.id for c in runnable)).encode()).hexdigest()[:12]
        baseline = ratchet(
            baseline,
            values,
            allow_regression=allow_regression,
            k=k,
            source={
                "backend": info["backend"],
                "model": info["model"],
                "embedder": info["embedder"],
                "n_cases": len(runnable),
                "cases_digest": digest,
                "distractors": corpus.distractors,
            },
        )
        save_baseline(baseline, baseline_path)
        baseline_updated = True
        log.info("baseline ratcheted: %s", baseline_path)
    failures = compare(values, baseline)

    report = EvalReport(
        started_at=started_at.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - t0, 3),
        passed=not failures,
        backend=info["backend"],
        model=info["model"],
        embedder=info["embedder"],
        index=info["index"],
        prompt_hashes=dict(getattr(assistant, "prompt_hashes", {}) or {}),
        judge_model=None if judge is None else f"{judge.backend}:{judge.model}",
        k=k,
        cases_file=None if cases_file is None else str(cases_file),
        n_cases=len(runnable),
        distractors=corpus.distractors,
        skipped=skipped,
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
    from assistant.evaluation.report import write_reports

    paths = write_reports(report, out_dir)
    return EvalOutcome(
        passed=not failures,
        failures=failures,
        report_paths=paths,
        metrics=values,
        report=report,
        baseline_updated=baseline_updated,
    )
