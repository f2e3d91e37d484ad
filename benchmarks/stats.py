"""Small, dependency-free statistics for timings: percentiles, summaries and ours-vs-baseline ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize(values: Sequence[float], *, scale: float = 1.0, digits: int = 1) -> dict[str, Any]:
    """n, p50, p95, mean, min and max of `values` multiplied by `scale` (e.g. 1000 for s -> ms)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "min": None, "max": None}
    scaled = [v * scale for v in values]
    return {
        "n": len(scaled),
        "p50": round(percentile(scaled, 50), digits),
        "p95": round(percentile(scaled, 95), digits),
        "mean": round(sum(scaled) / len(scaled), digits),
        "min": round(min(scaled), digits),
        "max": round(max(scaled), digits),
    }


def ratio(
    ours: float | None,
    baseline: float | None,
    *,
    higher_is_better: bool,
    words: tuple[str, str] | None = None,
) -> dict[str, Any] | None:
    """How ours compares with the baseline: `factor` > 1 means ours is better by that factor.

    For times and memory (lower is better) factor = baseline / ours; for throughputs and scores
    (higher is better) factor = ours / baseline. `words` is the (better, worse) pair used in `text`,
    e.g. ("faster", "slower"). None when either side is missing or not positive.
    """
    if ours is None or baseline is None or ours <= 0 or baseline <= 0:
        return None
    factor = ours / baseline if higher_is_better else baseline / ours
    better, worse = words or (("higher", "lower") if higher_is_better else ("less", "more"))
    shown = factor if factor >= 1 else 1 / factor
    return {"factor": round(factor, 3), "text": f"{shown:.2f}x {better if factor >= 1 else worse}"}


def rate(count: float, seconds: float) -> float | None:
    """count / seconds, or None when no time passed."""
    return round(count / seconds, 2) if seconds > 0 else None
