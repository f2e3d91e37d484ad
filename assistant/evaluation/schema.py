"""What an eval run reports: one CaseResult per case, the EvalReport written as JSON and Markdown,
and the EvalOutcome the CLI turns into an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.evaluation import metrics as m
from assistant.evaluation.baseline import Failure, Threshold


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
