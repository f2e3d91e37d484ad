"""What the web UI remembers of a chat session (kept in Gradio's per-session state)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.types import Answer, Filters, Turn


@dataclass(frozen=True)
class TurnRecord:
    """One answered question: the verified answer and what it was asked with."""

    id: str  # names the answer in the feedback log (a re-rating supersedes the earlier line)
    answer: Answer
    history: list[Turn]  # the conversation before the question
    message_index: int  # the answer's place in the chat, to match a thumbs click to it
    k: int
    filters: Filters | None


def history_of(records: Sequence[TurnRecord]) -> list[Turn]:
    """The conversation so far, as the service takes it."""
    turns: list[Turn] = []
    for record in records:
        turns.append(Turn(role="user", content=record.answer.question))
        turns.append(Turn(role="assistant", content=record.answer.answer))
    return turns
