"""Writes one benchmark run as `<name>.json` (everything measured) and `<name>.md` (the tables).

Sections hand in their figures as plain tables ({"title", "columns", "rows", "notes"}), so rendering
stays a pure function of the result dict.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def fmt(value: Any) -> str:
    """A table cell: None -> '–', floats with precision that suits their size, booleans as yes/no."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "–"
        size = abs(value)
        if size >= 100:
            return f"{value:,.0f}"
        if size >= 10:
            return f"{value:.1f}"
        if size >= 0.1 or size == 0:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    for row in rows:
        cells = [fmt(c) for c in row] + [""] * (len(columns) - len(row))
        lines.append("| " + " | ".join(cells[: len(columns)]) + " |")
    return "\n".join(lines)


def _targets_table(targets: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for t in targets:
        value = t.get("value")
        measured = "–" if value is None else f"{fmt(value)} {t['unit']}"
        if t["status"] == "missed":
            verdict = f"**missed** by {fmt(t['gap'])} {t['unit']}: {t['cause']}"
        elif t["status"] == "met":
            verdict = "met"
        else:
            verdict = t["status"]
        if t.get("note"):
            verdict += f" ({t['note']})"
        rows.append([t["label"], f"≤ {fmt(t['limit'])} {t['unit']} ({t['statistic']})", measured, verdict])
    return table(["figure", "target", "measured", "verdict"], rows)


def render_markdown(result: Mapping[str, Any]) -> str:
    out: list[str] = [f"# Benchmark results: {result['name']}", ""]
    machine = result.get("machine", {})
    cpu, cores, ram, system = (machine.get(k, "?") for k in ("cpu_model", "cores", "ram_gb", "os"))
    out.append(
        f"Run {result.get('date', '?')} in **{result.get('mode', '?')}** mode on {cpu} ({cores} cores, "
        f"{fmt(ram)} GB RAM, {system}). Load average (1/5/15 min) before: {machine.get('load_before', '?')}, "
        f"after: {machine.get('load_after', '?')}."
    )
    out.append("")
    if result.get("command"):
        out += [f"Command: `{result['command']}`", ""]
    if result.get("corpus"):
        out += [f"Corpus: {result['corpus']}", ""]
    versions = result.get("versions", {})
    if versions:
        out.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
        out.append("")
    for note in result.get("notes", []):
        out += [f"> {note}", ""]
    targets = result.get("targets", [])
    if targets:
        out += ["## Targets", "", _targets_table(targets), ""]
    for key, section in result.get("sections", {}).items():
        out += _section_markdown(key, section)
    return "\n".join(out).rstrip() + "\n"


def _section_markdown(key: str, section: Mapping[str, Any]) -> list[str]:
    out = [f"## {section.get('title', key)}", ""]
    if section.get("skipped"):
        return [*out, f"Skipped: {section['skipped']}", ""]
    for paragraph in section.get("intro", []):
        out += [paragraph, ""]
    for tab in section.get("tables", []):
        if tab.get("title"):
            out += [f"### {tab['title']}", ""]
        out += [table(tab["columns"], tab["rows"]), ""]
        for note in tab.get("notes", []):
            out += [f"- {note}"]
        if tab.get("notes"):
            out.append("")
    return out


def write_report(result: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write `<out_dir>/<name>.json` and `.md`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{result['name']}.json"
    md_path = out_dir / f"{result['name']}.md"
    json_path.write_text(
        json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    md_path.write_text(render_markdown(result), encoding="utf-8")
    return json_path, md_path


def _phase(result: Mapping[str, Any], key: str, *path: str) -> Any:
    value: Any = result.get("phases", {}).get(key)
    if not value or not value.get("ok"):
        return None
    value = value.get("result")
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _rss(result: Mapping[str, Any], key: str) -> Any:
    payload = result.get("phases", {}).get(key) or {}
    return payload.get("peak_rss_mb") if payload.get("ok") else None


def performance_table(result: Mapping[str, Any]) -> str:
    """The short summary for the README: headline figures of one run, ours next to the recipe."""
    verdicts = {t["id"]: t for t in result.get("targets", [])}

    def verdict(target_id: str) -> str:
        t = verdicts.get(target_id)
        if not t:
            return "–"
        return f"≤ {fmt(t['limit'])} {t['unit']}: {t['status']}"

    def both(ours: Any, base: Any, unit: str) -> tuple[str, str]:
        return (
            f"{fmt(ours)} {unit}" if ours is not None else "–",
            f"{fmt(base)} {unit}" if base is not None else "–",
        )

    answer = result.get("sections", {}).get("answer", {}).get("aggregate", {})
    rows: list[list[Any]] = []
    o, b = both(_phase(result, "ingest_ours", "seconds"), _phase(result, "ingest_baseline", "seconds"), "s")
    rate_o, rate_b = (
        _phase(result, "ingest_ours", "chunks_per_s"),
        _phase(result, "ingest_baseline", "chunks_per_s"),
    )
    rows.append(
        [
            f"ingest from scratch ({fmt(_phase(result, 'ingest_ours', 'articles'))} articles)",
            f"{o} ({fmt(rate_o)} chunks/s)",
            f"{b} ({fmt(rate_b)} chunks/s)",
            verdict("ingest_full_s"),
        ]
    )
    rows.append(
        [
            "unchanged re-ingest",
            f"{fmt(_phase(result, 'reingest_ours', 'seconds'))} s",
            "re-embeds everything",
            verdict("reingest_s"),
        ]
    )
    for size, target_id in ((1_000, None), (10_000, "hybrid_p95_10k_ms"), (100_000, "hybrid_p95_100k_ms")):
        ours = _phase(result, f"search_{size}_ours", "hybrid_ms", "p95")
        base = _phase(result, f"search_{size}_baseline", "similarity_search_ms", "p95")
        if ours is None and base is None:
            continue
        o, b = both(ours, base, "ms")
        rows.append(
            [f"search p95 at {size:,} chunks (ours: hybrid)", o, b, verdict(target_id) if target_id else "–"]
        )
    section = result.get("sections", {}).get("answer", {})
    for label, key, target_id in (
        ("answer: first token, median", "first token, median (s)", "first_token_s"),
        (
            "answer: first verified sentence, median",
            "first verified sentence, median (s)",
            "first_sentence_s",
        ),
        ("answer: total, median", "total, median (s)", None),
    ):
        row = next((r for r in _rows_of(section, "Time") if r[0] == key), None)
        if row is not None:
            o, b = both(row[1], row[2], "s")
            rows.append([label, o, b, verdict(target_id) if target_id else "–"])
    if answer:
        ours, base = answer.get("ours", {}), answer.get("baseline", {})
        rows.append(
            [
                "answers grounded (every sentence cited, numbers in the source)",
                f"{ours.get('grounded')}/{ours.get('questions')}",
                f"{base.get('grounded')}/{base.get('questions')}",
                "–",
            ]
        )
        rows.append(
            [
                "answers stating the known facts",
                f"{ours.get('correct')}/{ours.get('questions')}",
                f"{base.get('correct')}/{base.get('questions')}",
                "–",
            ]
        )
    for label, ours_key, base_key in (
        ("peak RSS: ingest", "ingest_ours", "ingest_baseline"),
        ("peak RSS: search (real corpus)", "search_real_ours", "search_real_baseline"),
        ("peak RSS: ask", "answer_ours", "answer_baseline"),
    ):
        o, b = both(_rss(result, ours_key), _rss(result, base_key), "MiB")
        if o != "–" or b != "–":
            rows.append([label, o, b, "–"])
    return table(["figure", "ours", "LangChain recipe", "target"], rows)


def _rows_of(section: Mapping[str, Any], title: str) -> list[list[Any]]:
    for tab in section.get("tables", []):
        if tab.get("title") == title:
            return list(tab.get("rows", []))
    return []
