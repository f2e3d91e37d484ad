"""Conversations as the web UI keeps them: per browser, in its localStorage (Gradio's BrowserState),
so they survive a reload and a server restart, and can be listed, reopened and deleted.

Plain JSON-able models; what comes back from the browser is validated, and anything that does not
fit (another version, another app on the same origin) counts as no saved conversations.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant.types import Answer, Filters, Turn

MAX_CONVERSATIONS = 50
MAX_TURNS = 100
# localStorage holds about 5 MB per site; the oldest conversations give way first.
MAX_STORED_CHARS = 2_000_000
_TITLE_CHARS = 60


def storage_key(index_location: str, index_name: str) -> str:
    """The localStorage key: one per index, so another index's conversations are not mixed in."""
    digest = hashlib.sha256(f"{index_location}\0{index_name}".encode()).hexdigest()[:12]
    return f"news-assistant-conversations-{digest}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SavedTurn(BaseModel):
    """One question and what became of it: a verified answer, or a note (stopped, failed)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    question: str
    answer: Answer | None = None
    note: str = Field(default="", description='"stopped", or the error shown instead of an answer.')
    k: int | None = None
    filters: Filters | None = None


class Conversation(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    title: str = ""
    updated: str = Field(default_factory=_now)
    turns: list[SavedTurn] = Field(default_factory=list)

    def with_turn(self, turn: SavedTurn) -> Conversation:
        turns = [*self.turns, turn][-MAX_TURNS:]
        title = self.title or _title(turn.question)
        return self.model_copy(update={"turns": turns, "title": title, "updated": _now()})

    def history(self) -> list[Turn]:
        """The conversation so far as the service takes it: answered turns only."""
        turns: list[Turn] = []
        for t in self.turns:
            if t.answer is not None:
                turns += [
                    Turn(role="user", content=t.question),
                    Turn(role="assistant", content=t.answer.answer),
                ]
        return turns

    def answers(self) -> list[tuple[int, Answer]]:
        """(turn number from 1, answer) of the answered turns."""
        return [(i + 1, t.answer) for i, t in enumerate(self.turns) if t.answer is not None]

    def turn_at_message(self, index: int) -> SavedTurn | None:
        """The turn whose answer is the chat message at `index` (each turn is two messages)."""
        if index % 2 == 0 or not 0 <= index // 2 < len(self.turns):
            return None
        return self.turns[index // 2]


def _title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1].rstrip() + "…"


class Library(BaseModel):
    """Every saved conversation of this browser (newest first) and which one is open."""

    current: str | None = None
    conversations: list[Conversation] = Field(default_factory=list)

    @classmethod
    def load(cls, raw: Any) -> Library:
        try:
            return cls.model_validate(raw) if raw else cls()
        except ValidationError:
            return cls()

    def get(self, conversation_id: str | None) -> Conversation | None:
        return next((c for c in self.conversations if c.id == conversation_id), None)

    def saved(self, conversation: Conversation) -> Library:
        """This library with `conversation` stored (first, as the newest) and open."""
        others = [c for c in self.conversations if c.id != conversation.id]
        kept = [conversation, *others][:MAX_CONVERSATIONS]
        while len(kept) > 1 and len(_dump(kept)) > MAX_STORED_CHARS:
            kept.pop()
        return Library(current=conversation.id, conversations=kept)

    def without(self, conversation_id: str) -> Library:
        return Library(current=None, conversations=[c for c in self.conversations if c.id != conversation_id])

    def opened(self, conversation_id: str | None) -> Library:
        return self.model_copy(update={"current": conversation_id})

    def choices(self) -> list[tuple[str, str]]:
        """(label, id) per conversation, for the list in the UI."""
        return [(f"{c.title or 'Untitled'} · {c.updated[:10]}", c.id) for c in self.conversations]

    def stored(self) -> dict[str, Any]:
        """What goes into the browser: JSON, without the evidence behind each answer (it is large
        and only the pipeline needs it)."""
        stored: dict[str, Any] = json.loads(_dump(self.conversations, current=self.current))
        return stored


def _dump(conversations: Sequence[Conversation], *, current: str | None = None) -> str:
    payload = {
        "current": current,
        "conversations": [
            c.model_dump(mode="json", exclude={"turns": {"__all__": {"answer": {"evidence"}}}})
            for c in conversations
        ],
    }
    return json.dumps(payload, ensure_ascii=False)
