"""The groundedness eval suite: cases (evals/cases.yaml), deterministic metrics, runner and reports."""

from __future__ import annotations

from assistant.evaluation.baseline import Failure
from assistant.evaluation.cases import Case, CaseFileError, import_feedback, load_cases, select_cases
from assistant.evaluation.runner import prepare_corpus, run_eval
from assistant.evaluation.schema import EvalOutcome

__all__ = [
    "Case",
    "CaseFileError",
    "EvalOutcome",
    "Failure",
    "import_feedback",
    "load_cases",
    "prepare_corpus",
    "run_eval",
    "select_cases",
]
