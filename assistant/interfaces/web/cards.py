"""Source cards, pure: a citation as escaped HTML that reads like a product — the article's title
(linked when it has a URL), source, date and the quote highlighted in its context; ids, offsets
and timings behind a "Details" toggle. Also the sources panel beside the chat."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.interfaces.vocabulary import Words
from assistant.prompts import Prompts
from assistant.types import Answer, Citation

SOURCES_PLACEHOLDER = '<div class="na-sources-empty">The sources of each answer appear here.</div>'


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def anchor(turn: int, marker: int, *, inline: bool = False) -> str:
    """The id of a source card: in the panel beside the chat, or inside the answer (narrow screens)."""
    return f"na-{'isrc' if inline else 'src'}-{turn}-{marker}"


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
        marked = mark.format(esc(quote))
        return marked if not context else f"{marked}<br><br>{esc(context)}"
    start, end = span
    return esc(context[:start]) + mark.format(esc(context[start:end])) + esc(context[end:])


def safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def render_card(
    citation: Citation, turn: int, words: Words, answer_language: str = "", *, inline: bool = False
) -> str:
    title = esc(words.title(citation))
    url = safe_url(citation.url)
    if url:
        title = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(esc(part) for part in (citation.source, words.date(citation)) if part)
    known = citation.language not in ("", "und")  # no empty badge for an undetected language
    lang = (
        f'<span class="na-lang" title="Language of the article">{esc(citation.language)}</span>'
        if known
        else ""
    )
    if known and answer_language and citation.language != answer_language:
        lang += f'<span class="na-lang" title="Language of the answer">answer: {esc(answer_language)}</span>'
    details = (
        f"article <code>{esc(citation.article_id)}</code>, characters {citation.start}–{citation.end}"
        + (f", <code>{esc(url)}</code>" if url else "")
    )
    return (
        f'<article class="na-source" id="{anchor(turn, citation.marker, inline=inline)}">'
        f'<div class="na-source-head"><span class="na-marker">[{citation.marker}]</span> {title}</div>'
        f'<div class="na-meta">{meta} {lang}</div>'
        f'<blockquote class="na-context" lang="{esc(citation.language)}">'
        f"{highlight_quote(citation.context, citation.quote)}</blockquote>"
        f'<details class="na-details"><summary>Details</summary><div class="na-meta">{details}</div>'
        "</details></article>"
    )


def render_cards(
    citations: Sequence[Citation], turn: int, words: Words, answer_language: str, *, inline: bool = False
) -> str:
    return "".join(render_card(c, turn, words, answer_language, inline=inline) for c in citations)


def answer_details(answer: Answer) -> str:
    """What a developer wants to see of an answer (backend, mode, timings, the verifier's notes),
    behind a toggle: the reader does not need it."""
    t = answer.timings
    timings = [f"total {t.total_s:.1f} s", f"search {t.retrieve_s:.1f} s"]
    if t.rewrite_s:
        timings.append(f"follow-up {t.rewrite_s:.1f} s")
    if t.first_sentence_s is not None:
        timings.append(f"first sentence {t.first_sentence_s:.1f} s")
    notes = "".join(f"<li>{esc(n)}</li>" for n in answer.notes)
    return (
        '<details class="na-details"><summary>Details</summary><div class="na-meta">'
        f"{esc(answer.backend)} · {esc(answer.model)} · {esc(answer.mode)} · {esc(', '.join(timings))}"
        f"</div>{f'<ul class=na-notes>{notes}</ul>' if notes else ''}</details>"
    )


def _render_turn(answer: Answer, turn: int, words: Words, *, open_: bool) -> str:
    heading = f"{turn}. {esc(answer.question)}"
    understood = words.understood_as(answer)
    body = f'<div class="na-meta">{esc(understood)}</div>' if understood else ""
    if answer.citations:
        body += render_cards(answer.citations, turn, words, answer.language)
    elif answer.abstained:
        body += (
            f'<div class="na-abstain"><span class="na-abstain-label">{esc(words.abstention_title(answer))}'
            "</span></div>"
        )
    if answer.related:
        body += f'<div class="na-related-head">{esc(words("related_reading"))}</div>'
        body += render_cards(answer.related, turn, words, answer.language, inline=False)
    return (
        f'<details class="na-turn" id="na-turn-{turn}"{" open" if open_ else ""}>'
        f"<summary>{heading}</summary>{body}{answer_details(answer)}</details>"
    )


def render_sources(answers: Sequence[tuple[int, Answer]], prompts: Prompts) -> str:
    """The sources panel: each answer's sources under its question, newest first and open, older
    ones collapsed. `answers` are (turn number, answer)."""
    if not answers:
        return SOURCES_PLACEHOLDER
    newest = answers[-1][0]
    return "".join(
        _render_turn(answer, turn, Words.of(prompts, answer.language), open_=turn == newest)
        for turn, answer in reversed(answers)
    )
