"""Follow-up questions: "And who confirmed it?" rewritten into a standalone question from the
conversation, so retrieval and the answer see what the reader means."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.backends.base import ChatModel, complete
from assistant.prompts import Prompts
from assistant.shape import NO_ANSWER, strip_markers
from assistant.text.questions import has_reference
from assistant.types import Turn

_MAX_TURN_CHARS = 500


def format_history(history: Sequence[Turn], max_turns: int) -> str:
    recent = list(history)[-max_turns:] if max_turns else []
    lines = []
    for turn in recent:
        # Markers mean nothing to the rewriter and cost tokens.
        content = re.sub(r"\s+", " ", strip_markers(turn.content)).strip()
        lines.append(f"{turn.role}: {content[:_MAX_TURN_CHARS]}")
    return "\n".join(lines)


def rewrite_question(
    llm: ChatModel, prompts: Prompts, question: str, history: Sequence[Turn], max_turns: int
) -> str:
    """The standalone question; the previous question and this one joined if the model fails."""
    messages = prompts["rewrite"].render(history=format_history(history, max_turns), question=question)
    rewritten = complete(llm, messages, max_tokens=80, temperature=0.0).strip().strip('"').strip()
    rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
    if not rewritten or len(rewritten) > 4 * len(question) + 200 or NO_ANSWER in rewritten:
        # Crude, but retrieval still finds the topic and the answer sees both.
        return f"{previous_question(history)} {question}".strip()
    return rewritten


def previous_question(history: Sequence[Turn]) -> str:
    return next((t.content for t in reversed(history) if t.role == "user"), "")


def search_query(standalone: str, history: Sequence[Turn]) -> str:
    """What retrieval reads for a follow-up: the rewritten question, and the previous question too
    when the rewrite still points back ("he", "the mission"), so the topic's names are searched."""
    if history and has_reference(standalone):
        return f"{previous_question(history)} {standalone}".strip()
    return standalone
