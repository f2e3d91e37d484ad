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
        out += [f"## {section.get('title', key)}", ""]
        if section.get("skipped"):
            out += [f"Skipped: {section['skipped']}", ""]
            continue
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
    return "\n".join(out).rstrip() + "\n"


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
