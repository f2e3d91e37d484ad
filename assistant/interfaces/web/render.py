"""Rendering, pure: Answer, Citation and reports in, escaped HTML (or Markdown) out."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from assistant.types import Answer, Citation, IndexStats, IngestReport

# The citation markers the answer text carries: [1], [1, 2], [1; 3].
_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
SOURCES_PLACEHOLDER = '<div class="na-sources-empty">Sources of each answer appear here.</div>'


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _anchor(turn: int, marker: int) -> str:
    return f"na-src-{turn}-{marker}"


def _link_markers(escaped_text: str, markers: set[int], turn: int) -> str:
    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(n in markers for n in numbers):
            return match.group(0)
        return "".join(
            f'<a class="na-cite" href="#{_anchor(turn, n)}" title="Show source {n}">[{n}]</a>'
            for n in numbers
        )

    return _MARKERS.sub(replace, escaped_text)


def render_answer(answer: Answer, turn: int) -> str:
    """The chat bubble of a verified answer: escaped text, [n] markers as links to the sources panel."""
    if answer.abstained:
        return (
            '<div class="na-abstain"><span class="na-abstain-label">No answer in the articles</span>'
            f"{_esc(answer.answer)}</div>"
        )
    markers = {c.marker for c in answer.citations}
    return f'<div class="na-answer">{_link_markers(_esc(answer.answer), markers, turn)}</div>'


def render_draft(draft: str, status: str) -> str:
    """The bubble while streaming: the unverified draft, or the current status before the first token."""
    parts = []
    if status:
        parts.append(f'<div class="na-status">{_esc(status)}</div>')
    if draft:
        parts.append('<div class="na-status">Draft: citations are checked once it is complete</div>')
        parts.append(f'<div class="na-draft">{_esc(draft)}▌</div>')
    return "".join(parts) or '<div class="na-status">Thinking…</div>'


def render_error(message: str) -> str:
    return f'<div class="na-error"><strong>Could not answer.</strong> {_esc(message)}</div>'


def _find_quote(context: str, quote: str) -> tuple[int, int] | None:
    start = context.find(quote)
    if start >= 0:
        return start, start + len(quote)
    # The quote may differ from the chunk in whitespace (line breaks) or case.
    words = quote.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    match = pattern.search(context)
    return (match.start(), match.end()) if match else None


def highlight_quote(context: str, quote: str) -> str:
    """Escaped `context` with `quote` wrapped in <mark>; the quote alone when the context lacks it."""
    span = _find_quote(context, quote) if context else None
    mark = '<mark class="na-quote">{}</mark>'
    if span is None:
        marked = mark.format(_esc(quote))
        return marked if not context else f"{marked}<br><br>{_esc(context)}"
    start, end = span
    return _esc(context[:start]) + mark.format(_esc(context[start:end])) + _esc(context[end:])


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def _render_citation(citation: Citation, turn: int, answer_language: str) -> str:
    title = _esc(citation.title or citation.article_id)
    url = _safe_url(citation.url)
    if url:
        title = f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(_esc(part) for part in (citation.date or "undated", citation.source) if part)
    lang = f'<span class="na-lang" title="Language of the quote">{_esc(citation.language)}</span>'
    if answer_language and citation.language != answer_language:
        lang += f'<span class="na-lang" title="Language of the answer">answer: {_esc(answer_language)}</span>'
    return (
        f'<div class="na-source" id="{_anchor(turn, citation.marker)}">'
        f'<div class="na-source-head"><span class="na-marker">[{citation.marker}]</span>{title}</div>'
        f'<div class="na-meta">{meta} {lang} · <code>{_esc(citation.article_id)}</code></div>'
        f'<blockquote class="na-context" lang="{_esc(citation.language)}">'
        f"{highlight_quote(citation.context, citation.quote)}</blockquote></div>"
    )


def _render_turn(answer: Answer, turn: int, *, open_: bool) -> str:
    heading = f"{turn}. {_esc(answer.question)}"
    meta = _esc(f"{answer.backend} / {answer.model} · {answer.timings.total_s:.1f} s · {answer.mode}")
    if answer.standalone_question and answer.standalone_question != answer.question:
        meta += f" · understood as: {_esc(answer.standalone_question)}"
    if answer.abstained:
        body = '<div class="na-abstain">No article supports an answer, so none is given.</div>'
    elif not answer.citations:
        body = '<div class="na-meta">No citations.</div>'
    else:
        body = "".join(_render_citation(c, turn, answer.language) for c in answer.citations)
    notes = ""
    if answer.notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in answer.notes)
        notes = f'<details class="na-notes"><summary>Verification notes</summary><ul>{items}</ul></details>'
    return (
        f'<details class="na-turn" id="na-turn-{turn}"{" open" if open_ else ""}>'
        f'<summary>{heading}</summary><div class="na-meta">{meta}</div>{body}{notes}</details>'
    )


def render_sources(answers: Sequence[Answer]) -> str:
    """The sources panel: every answer's citations, newest first and open, older ones collapsed."""
    if not answers:
        return SOURCES_PLACEHOLDER
    turns = [_render_turn(a, i + 1, open_=i == len(answers) - 1) for i, a in enumerate(answers)]
    return "".join(reversed(turns))


def render_stats(stats: IndexStats) -> str:
    sources = ", ".join(f"{s} ({n})" for s, n in sorted(stats.sources.items())) or "-"
    languages = ", ".join(f"{s} ({n})" for s, n in sorted(stats.languages.items())) or "-"
    return (
        f"**{stats.articles}** articles · **{stats.chunks}** chunks · embedder `{stats.embedder}`  \n"
        f"Sources: {sources}  \nLanguages: {languages}"
    )


def render_ingest_report(report: IngestReport, names: Mapping[str, str] | None = None) -> str:
    """The report as Markdown. `names` maps the server path of each uploaded file to the name the
    user gave it, so skip reasons name the upload, not where the server keeps it."""
    repaired = f", repaired {report.repaired}" if report.repaired else ""
    text = (
        f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}{repaired} articles; {report.chunks_embedded} chunks embedded, "
        f"{report.chunks_reused} reused ({report.seconds:.1f} s)."
    )
    if report.skipped:
        lines = [f"- `{_shown_path(s.path, names or {})}`: {s.reason}" for s in report.skipped]
        text += "\n\nSkipped:\n" + "\n".join(lines)
    return text


def _shown_path(path: str, names: Mapping[str, str]) -> str:
    for stored, name in names.items():
        if path == stored or path.startswith(stored + "#"):
            return name + path[len(stored) :]
    return path


def render_user_message(text: str) -> str:
    return f"<div>{_esc(text)}</div>"
