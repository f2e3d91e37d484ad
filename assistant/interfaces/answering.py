"""What every interface runs for a question: the one-time model loading (announced as a step of
its own), then the answer's events."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING

from assistant.types import AnswerEvent, Filters, Turn

if TYPE_CHECKING:
    from assistant.service import Assistant


def answer_events(
    assistant: Assistant,
    question: str,
    history: Sequence[Turn] = (),
    *,
    k: int | None = None,
    filters: Filters | None = None,
) -> Generator[AnswerEvent, None, None]:
    """StatusEvents for loading the model (first question only), then `Assistant.ask_stream`'s
    events. Closing this generator closes the answer's, which cancels the model's work."""
    yield from assistant.warm_up()
    yield from assistant.ask_stream(question, history=history, k=k, filters=filters)
