"""The eval's baseline: measured per-metric thresholds, the gate's comparison, and the ratchet.

Each threshold is a full run's value minus the metric's tolerance (evals/README.md, "Baseline and
ratchet"); a ratchet only tightens unless a regression is allowed explicitly."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import ConfigError
from assistant.evaluation import metrics as m


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


def ratchet_threshold(
    spec: m.MetricSpec, value: float, old: float | None, allow_regression: bool, cases: int | None = None
) -> float:
    """Current value minus (floors) or plus (ceilings) the metric's tolerance, rounded so the current
    value passes; never looser than `old`. `allow_regression` loosens only a metric this run misses:
    one it still passes keeps its threshold (or a tighter one). Measured over `cases` cases, the
    slack is at least one case's worth (1/cases), so one answer flipping on another machine passes;
    not for an invariant (quotes verbatim, markers valid, no errors), which holds on any machine."""
    tolerance = spec.tolerance
    if cases and not (spec.relative or spec.invariant):
        tolerance = max(tolerance, 1 / cases)
    if spec.direction == "min":
        candidate = math.floor(round((value - tolerance) * 1000, 6)) / 1000
        candidate = max(0.0, candidate)
        if old is None or (allow_regression and value < old):
            return candidate
        return max(old, candidate)
    slack = max(value * spec.tolerance, spec.min_slack) if spec.relative else tolerance
    candidate = math.ceil(round((value + slack) * 1000, 6)) / 1000
    if not spec.relative:
        candidate = min(1.0, candidate)
    if old is None or (allow_regression and value > old):
        return candidate
    return min(old, candidate)


def ratchet(
    baseline: Baseline,
    values: Mapping[str, float | None],
    *,
    allow_regression: bool = False,
    k: int | None = None,
    source: Mapping[str, Any] | None = None,
    cases: Mapping[str, int] | None = None,
) -> Baseline:
    """A new baseline from this run's values (see ratchet_threshold); metrics without a value keep
    theirs. `cases`: how many cases each metric was measured over (metrics.case_counts)."""
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
        new = ratchet_threshold(spec, value, old, allow_regression, (cases or {}).get(spec.name))
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
