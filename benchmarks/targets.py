"""The performance targets of the issue, and how a measured figure is judged against one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    id: str
    label: str
    limit: float
    unit: str
    statistic: str
    full_only: bool = False  # depends on the full corpus: not judged in --quick runs


TARGETS: tuple[Target, ...] = (
    Target("ingest_full_s", "Full seeds+GNAD ingest (from scratch)", 180.0, "s", "wall time", full_only=True),
    Target("reingest_s", "Unchanged re-ingest of the same corpus", 5.0, "s", "wall time of the ingest call"),
    Target("hybrid_p95_10k_ms", "Hybrid retrieval at 10k chunks", 100.0, "ms", "p95"),
    Target("hybrid_p95_100k_ms", "Hybrid retrieval at 100k chunks", 300.0, "ms", "p95"),
    Target("first_token_s", "Embedded model: time to first token", 3.0, "s", "median over the questions"),
    Target(
        "first_sentence_s",
        "Embedded model: time to the first verified sentence",
        4.0,
        "s",
        "median over the questions that got one",
    ),
)

TARGETS_BY_ID = {t.id: t for t in TARGETS}


def evaluate(
    target: Target,
    value: float | None,
    *,
    quick: bool = False,
    cause: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Judge `value` (in the target's unit, lower is better) against `target.limit`.

    status: "met", "missed", "not measured" (value is None) or "not judged" (a full-corpus target in a
    quick run). A missed target keeps `cause`; one without a cause says so, so a gap is never silent.
    """
    row: dict[str, Any] = {
        "id": target.id,
        "label": target.label,
        "limit": target.limit,
        "unit": target.unit,
        "statistic": target.statistic,
        "value": value,
        "met": None,
        "gap": None,
        "cause": None,
        "note": note,
    }
    if value is None:
        row["status"] = "not measured"
        return row
    if quick and target.full_only:
        row["status"] = "not judged"
        row["note"] = note or "needs the full corpus; this is a --quick run"
        return row
    met = value <= target.limit
    row["met"] = met
    row["status"] = "met" if met else "missed"
    if not met:
        row["gap"] = round(value - target.limit, 3)
        row["cause"] = cause or "cause not determined in this run"
    return row
