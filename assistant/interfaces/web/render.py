"""Rendering, pure: answers, progress and reports in, escaped HTML (or Markdown) out.

A chat bubble is one of: the progress of an answer (the current step with its elapsed time, and
the sentences verified so far), the final answer (or abstention, saying why), a stopped answer, or
an error. Only final answers carry the class `na-final`, which is what shows the thumbs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.backends.base import ArticleRecord
from assistant.interfaces.vocabulary import MARKERS, Words, without_markers
from assistant.interfaces.web.cards import anchor, esc, render_cards
from assistant.types import Answer, Citation, IndexStats, IngestReport

_PREVIEW_CHARS = 240


def _preview(citation: Citation, words: Words) -> str:
    quote = citation.quote.strip()
    if len(quote) > _PREVIEW_CHARS:
        quote = quote[: quote.rfind(" ", 0, _PREVIEW_CHARS) or _PREVIEW_CHARS] + " …"
    head = " · ".join(x for x in (words.title(citation), citation.source, citation.date or "") if x)
    return f'<span class="na-tip-head">{esc(head)}</span>“{esc(quote)}”'


def link_markers(answer: Answer, turn: int, words: Words) -> str:
    """The escaped answer text with each [n] a link to its source card that previews its quote on
    hover or focus. A marker without a citation stays plain text instead of linking nowhere."""
    by_marker = {c.marker: c for c in answer.citations}
    seen = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal seen
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(n in by_marker for n in numbers):
            return match.group(0)
        links = []
        for n in numbers:
            seen += 1
            tip = f"na-tip-{turn}-{seen}"
            links.append(
                f'<a class="na-cite" href="#{anchor(turn, n)}">[{n}]'
                f'<span class="na-tip" role="tooltip" id="{tip}">'
                f"{_preview(by_marker[n], words)}</span></a>"
            )
        return "".join(links)

    return MARKERS.sub(replace, esc(answer.answer))


def render_answer(answer: Answer, turn: int, words: Words) -> str:
    """The chat bubble of a final answer: what was understood, the answer or why there is none,
    what verification removed (in words, details one click away), and its sources."""
    parts = [f'<div class="na-final" id="na-answer-{turn}">']
    if understood := words.understood_as(answer):
        parts.append(f'<div class="na-understood">{esc(understood)}</div>')
    if answer.abstained:
        parts.append(
            f'<div class="na-abstain" role="note"><span class="na-abstain-label">'
            f"{esc(words.abstention_title(answer))}</span>{esc(answer.answer)}</div>"
        )
    else:
        parts.append(f'<div class="na-answer">{link_markers(answer, turn, words)}</div>')
    if answer.removed:
        items = "".join(
            f'<li><span class="na-removed-sentence">{esc(r.sentence.strip())}</span> — {esc(r.reason)}</li>'
            for r in answer.removed
        )
        parts.append(
            f'<details class="na-removed"><summary>{esc(words.removed_summary(answer.removed))}</summary>'
            f"<ul>{items}</ul></details>"
        )
    if answer.citations:
        parts.append(_inline_sources(words("sources"), answer.citations, turn, words, answer.language))
    if answer.related:
        parts.append(_inline_sources(words("related_reading"), answer.related, turn, words, answer.language))
    parts.append("</div>")
    return "".join(parts)


def _inline_sources(label: str, citations: Sequence[Citation], turn: int, words: Words, language: str) -> str:
    # Shown on narrow screens only (style.css), where the sources panel would be far below.
    return (
        f'<details class="na-inline-sources"><summary>{esc(label)} ({len(citations)})</summary>'
        f"{render_cards(citations, turn, words, language, inline=True)}</details>"
    )


def render_progress(status: str, elapsed: float, sentences: Sequence[str]) -> str:
    """The bubble while an answer is worked on: the current step and its elapsed time, then the
    sentences that have passed every check (without markers: the final answer renumbers them)."""
    clock = f" · {elapsed:.0f} s" if elapsed >= 1 else ""
    step = f'<div class="na-status" role="status">{esc(status or "Starting")}…{clock}</div>'
    parts = [f'<div class="na-progress">{step}']
    if sentences:
        shown = " ".join(esc(without_markers(s)) for s in sentences)
        parts.append(
            '<div class="na-partial-label">Verified so far; the sources follow with the whole answer:</div>'
            f'<div class="na-answer na-partial">{shown}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def render_stopped(words: Words) -> str:
    return f'<div class="na-stopped" role="note">{esc(words("stopped"))}</div>'


def render_error(message: str) -> str:
    return f'<div class="na-error"><strong>Could not answer.</strong> {esc(message)}</div>'


def render_user_message(text: str) -> str:
    return f"<div>{esc(text)}</div>"


def render_stats(stats: IndexStats) -> str:
    sources = ", ".join(f"{s} ({n})" for s, n in sorted(stats.sources.items())) or "-"
    languages = ", ".join(f"{s} ({n})" for s, n in sorted(stats.languages.items())) or "-"
    return (
        f"**{stats.articles}** articles · **{stats.chunks}** chunks · embedder `{stats.embedder}`  \n"
        f"Sources: {sources}  \nLanguages: {languages}"
    )


def article_rows(records: Sequence[ArticleRecord]) -> list[list[object]]:
    """The article table's rows: title, source, date, language, chunks, id."""
    return [
        [r.title or "(untitled)", r.source, r.date or "", r.language, len(r.chunk_ids), r.article_id]
        for r in records
    ]


def render_ingest_report(
    report: IngestReport, names: Mapping[str, str] | None = None, uploaded: Sequence[str] = ()
) -> str:
    """The report as Markdown, naming what was uploaded. `names` maps the server path of each
    uploaded file to the name the user gave it, so skip reasons name the upload, not where the
    server keeps it."""
    repaired = f", repaired {report.repaired}" if report.repaired else ""
    read = f" from **{esc(', '.join(uploaded))}**" if uploaded else ""
    text = (
        f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}{repaired} articles{read}; {report.chunks_embedded} chunks embedded, "
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
