"""Rendering, pure: an Answer as Slack mrkdwn messages within Slack's limits, the Block Kit of an
ephemeral `/ask` answer, and a Slack message turned back into a plain question."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.interfaces.vocabulary import Words, without_markers
from assistant.types import Answer, Citation

SHARE_ACTION_ID = "share_answer"
# A section block holds at most 3000 characters; chat.postMessage text should stay under 4000.
MESSAGE_LIMIT = 3000


@dataclass(frozen=True)
class Labels:
    """Slack's own words (the answer's are the shared vocabulary, interfaces/vocabulary.py)."""

    share: str
    asked: str
    working: str


_LABELS = {
    "en": Labels("Share in channel", "asked", "still working; verified so far"),
    "de": Labels("Im Kanal teilen", "fragte", "noch in Arbeit; bisher geprüft"),
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_answer(answer: Answer, words: Words) -> list[str]:
    """The answer as Slack mrkdwn messages, each within `MESSAGE_LIMIT` characters.

    [n] markers stay in the text; a sources list follows with title, source, date and the quote as a
    block quote. An abstention says why, with the related reading. Article and model text is
    escaped, so it can neither format links nor ping @channel.
    """
    body = escape(answer.answer.strip())
    pieces: list[tuple[str, str]] = []  # (separator before the piece, piece)
    if understood := words.understood_as(answer):
        pieces.append(("", f"_{escape(understood)}_"))
    if answer.abstained:
        pieces.append(("\n", f":grey_question: *{escape(words.abstention_title(answer))}*"))
        if body:
            pieces.append(("\n", body))
    else:
        pieces.append(("\n", body or "…"))
    if answer.removed:
        pieces.append(("\n", f"_{escape(words.removed_summary(answer.removed))}_"))
    for label, spans in ((words("sources"), answer.citations), (words("related_reading"), answer.related)):
        if spans:
            pieces.append(("\n\n", f"*{escape(label)}*"))
            for citation in sorted(spans, key=lambda c: c.marker):
                pieces.append(("\n", _render_citation(citation, words)))
    return pack([(sep if i else "", piece) for i, (sep, piece) in enumerate(pieces)], MESSAGE_LIMIT)


def render_progress(status: str, elapsed: float, sentences: Sequence[str], language: str = "en") -> str:
    """The "thinking" reply, updated in place: the current step, and what has been verified so far."""
    clock = f" ({elapsed:.0f} s)" if elapsed >= 1 else ""
    text = f"_:hourglass_flowing_sand: {escape(status)}…{clock}_"
    if sentences:
        shown = escape(" ".join(without_markers(s) for s in sentences))
        text += f"\n_{labels(language).working}:_ {shown}"
    return text[:MESSAGE_LIMIT]


def ephemeral_blocks(
    parts: Sequence[str], share_id: str | None, *, language: str = "en"
) -> list[dict[str, Any]]:
    """Block Kit for the ephemeral `/ask` answer: the rendered parts and a "Share in channel" button."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in parts[:49]
    ]
    if share_id is not None:
        button = {
            "type": "button",
            "action_id": SHARE_ACTION_ID,
            "text": {"type": "plain_text", "text": labels(language).share},
            "style": "primary",
            "value": share_id,
        }
        blocks.append({"type": "actions", "block_id": "share", "elements": [button]})
    return blocks


def question_from_slack(text: str, bot_user_id: str | None = None) -> str:
    """Turn a Slack message into a plain question: drop the bot's mention, unwrap links, unescape."""

    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "" if target[1:] == bot_user_id else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label
        return label or target

    plain = re.sub(r"<([^<>]*)>", replace, text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]+", " ", plain).strip()


def labels(language: str) -> Labels:
    return _LABELS.get(language[:2].lower(), _LABELS["en"])


def _render_citation(citation: Citation, words: Words) -> str:
    title = escape(words.title(citation))
    if citation.url and citation.url.startswith(("http://", "https://")):
        title = f"<{escape(citation.url).replace('|', '%7C')}|{title.replace('|', '/')}>"
    meta = " · ".join(escape(value) for value in (citation.source, citation.date) if value)
    head = f"*[{citation.marker}]* {title}" + (f" · {meta}" if meta else "")
    lines = citation.quote.strip().splitlines() or [""]
    quote = "\n".join(f"> {escape(line)}".rstrip() for line in lines)
    return f"{head}\n{quote}"


def pack(pieces: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """Greedily fill messages with whole pieces; split a piece only when it alone exceeds `limit`."""
    messages: list[str] = []
    current = ""
    for separator, piece in pieces:
        for i, chunk in enumerate(_split_text(piece, limit)):
            sep = separator if i == 0 else "\n"
            if not current:
                current = chunk
            elif len(current) + len(sep) + len(chunk) <= limit:
                current += sep + chunk
            else:
                messages.append(current)
                current = chunk
    if current:
        messages.append(current)
    return messages or ["…"]


def _split_text(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for segment in _split_line(line, limit):
            if current is None:
                current = segment
            elif len(current) + 1 + len(segment) <= limit:
                current += "\n" + segment
            else:
                chunks.append(current)
                current = segment
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _split_line(line: str, limit: int) -> list[str]:
    # A block-quote line keeps its "> " on every piece, so the continuation still renders as a quote.
    prefix = "> " if line.startswith("> ") else ""
    segments: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", len(prefix) + 1, limit + 1)
        if cut <= limit // 2:
            cut = limit
        entity = line.rfind("&", max(0, cut - 5), cut)
        if entity > len(prefix) and ";" not in line[entity:cut]:
            cut = entity  # never cut "&amp;" in half
        segments.append(line[:cut].rstrip())
        line = prefix + line[cut:].lstrip()
    segments.append(line)
    return segments
