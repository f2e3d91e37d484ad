"""Eval reports: the full run as JSON (machine-readable) and as Markdown (for people and CI logs)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.evaluation.metrics import METRIC_SPECS

if TYPE_CHECKING:
    from assistant.evaluation.schema import CaseResult, EvalReport

log = logging.getLogger(__name__)

JSON_NAME = "eval-report.json"
MARKDOWN_NAME = "eval-report.md"


def write_reports(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Write both reports into `out_dir` (replacing the previous run's); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    md_path = out_dir / MARKDOWN_NAME
    json_path.write_text(
        json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path.write_text(render_markdown(report), encoding="utf-8")
    log.info("eval reports written to %s and %s", json_path, md_path)
    return {"json": json_path, "markdown": md_path}


def _cell(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _threshold(report: EvalReport, name: str) -> str:
    t = report.thresholds.get(name)
    if t is None:
        return "-"
    if t.min is not None:
        return f"≥ {t.min:.3f}"
    if t.max is not None:
        return f"≤ {t.max:.3f}"
    return "-"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def render_summary(report: EvalReport) -> list[str]:
    """The metric table, also printed by the CLI."""
    failed = {f["metric"] for f in report.failures}
    lines = ["| metric | value | threshold | status | definition |", "|---|---:|---:|---|---|"]
    for name, value in report.metrics.items():
        spec = METRIC_SPECS[name]
        status = "FAIL" if name in failed else ("n/a" if value is None else "ok")
        if not spec.gated and value is not None:
            status = "reported, not gated"
        elif name not in report.thresholds and value is not None:
            status = "ok (no threshold)"
        lines.append(
            f"| {name} | {_num(value)} | {_threshold(report, name)} | {status} | {_cell(spec.description)} |"
        )
    return lines


def _case_row(c: CaseResult) -> str:
    s = c.scores
    if s is None:
        dashes = " - |" * 5
        return f"| {c.id} | {c.category} | {c.language} | error |{dashes} {_num(c.latency_s, 1)} | **no** |"
    expected = "abstain" if not c.answerable else "answer"
    got = "abstained" if s.abstained else (c.mode or "answered")
    facts = "-" if not s.fact_hits else f"{sum(s.fact_hits)}/{len(s.fact_hits)}"
    forbidden = "-" if not s.forbidden_hits else _cell(", ".join(s.forbidden_hits))
    claims = [x for x in s.support]
    support = "-" if not claims else f"{sum(x.supported for x in claims)}/{len(claims)}"
    retrieval = (
        "-" if s.retrieval is None else f"{s.retrieval.article_recall:.2f}/{s.retrieval.article_rr:.2f}"
    )
    return (
        f"| {c.id} | {c.category} | {c.language} | {expected}: {got} | {facts} | {forbidden} | {support} | "
        f"{s.markers_valid}/{s.markers_total} | {retrieval} | {_num(c.latency_s, 1)} | {_mark(c.passed)} |"
    )


def render_markdown(report: EvalReport) -> str:
    status = "PASSED" if report.passed else "FAILED"
    lines = [
        f"# Eval report: {status}",
        "",
        f"- date: {report.started_at} (took {report.duration_s:.0f} s)",
        f"- backend / model: {report.backend} / {report.model}",
        f"- embedder: {report.embedder}; index: {report.index}; k = {report.k}",
        "- prompt hashes: "
        + (", ".join(f"{k}={v}" for k, v in sorted(report.prompt_hashes.items())) or "(not reported)"),
        f"- judge: {report.judge_model or 'off'}",
        f"- cases: {report.n_cases} from {report.cases_file or '(given in code)'}; "
        f"distractors indexed: {'yes' if report.distractors else 'no'}; skipped: {len(report.skipped)}",
        f"- baseline: {report.baseline_path}"
        + (
            " (PLACEHOLDER thresholds, not yet ratcheted from a real run)"
            if report.baseline_placeholder
            else ""
        )
        + (" (ratcheted by this run)" if report.baseline_updated else ""),
        "",
        "## Summary",
        "",
        *render_summary(report),
        "",
    ]
    if report.failures:
        lines += ["## Failures", ""]
        for f in report.failures:
            relation = "<" if f["direction"] == "min" else ">"
            lines.append(f"- **{f['metric']}** = {f['value']:.3f} {relation} threshold {f['threshold']:.3f}")
        lines.append("")
    lines += [
        "## Cases",
        "",
        "Facts = required facts stated; support = claim sentences whose numbers/names are in the cited "
        "quotes; markers = valid/total; retrieval = article recall@k / reciprocal rank.",
        "",
        "| case | category | lang | expected: got | facts | forbidden hit | support | markers | retrieval "
        "| latency s | pass |",
        "|---|---|---|---|---|---|---|---|---|---:|---|",
        *(_case_row(c) for c in report.cases),
        "",
        "## Answers",
        "",
    ]
    for c in report.cases:
        lines += _case_answer(c)
    if report.skipped:
        lines += ["## Skipped", ""]
        lines += [f"- {case_id}: {reason}" for case_id, reason in report.skipped.items()]
        lines.append("")
    return "\n".join(lines)


def _case_answer(c: CaseResult) -> list[str]:
    """One case's section: the question, the answer with its citations, what the scores found."""
    lines: list[str] = []
    lines.append(f"### {c.id}")
    lines.append("")
    lines.append(f"**Q ({c.language}, {c.category}):** {c.question}")
    if c.standalone_question:
        lines.append(f"*standalone:* {c.standalone_question}")
    lines.append("")
    if c.error:
        lines.append(f"**error:** {c.error}")
    else:
        lines.append("> " + c.answer.replace("\n", "\n> "))
        for cit in c.citations:
            lines.append(f"- [{cit.marker}] `{cit.article_id}` chars {cit.start}-{cit.end}: “{cit.quote}”")
    if c.scores is not None:
        missing = [
            f"{s.sentence!r} lacks {', '.join(s.missing)}" for s in c.scores.support if not s.supported
        ]
        for item in missing:
            lines.append(f"- unsupported: {item}")
        if c.scores.forbidden_hits:
            lines.append(f"- forbidden: {', '.join(c.scores.forbidden_hits)}")
    for note in c.notes:
        lines.append(f"- note: {note}")
    lines.append(
        f"- expected articles: {', '.join(c.expected_articles) or '(none)'}; "
        f"retrieved: {', '.join(r.article_id for r in c.retrieved) or '-'}"
    )
    lines.append("")
    return lines
