"""`assistant ask` and `assistant chat` in a terminal: progress and verified sentences on stderr while
the answer is worked on, then the answer on stdout; Ctrl+C in a chat stops the current answer and
returns to the prompt with the conversation kept."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from assistant.errors import AssistantError, GenerationError
from assistant.interfaces import console
from assistant.interfaces.answering import answer_events
from assistant.interfaces.ctrl_c import CtrlC
from assistant.interfaces.status import StatusLine
from assistant.interfaces.vocabulary import Words, without_markers
from assistant.types import Answer, Filters, FinalEvent, SentenceEvent, StatusEvent, Turn

if TYPE_CHECKING:
    from assistant.service import Assistant

CHAT_HELP = (
    "Ask about the articles. Ctrl+C stops an answer, Ctrl+D or an empty line quits; "
    "/history shows the conversation, /clear starts a new one."
)


@dataclass(frozen=True)
class AskOptions:
    k: int | None = None
    filters: Filters | None = None
    verbose: bool = False
    as_json: bool = False


def ask(
    assistant: Assistant,
    question: str,
    history: Sequence[Turn],
    options: AskOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> Answer:
    """Answer one question: progress on `err`, the answer on `out` (text, or one JSON object)."""
    out = out or sys.stdout
    status = StatusLine(err or sys.stderr)
    events = answer_events(assistant, question, history, k=options.k, filters=options.filters)
    answer: Answer | None = None
    try:
        for event in events:
            if isinstance(event, StatusEvent):
                status.step(event.text)
            elif isinstance(event, SentenceEvent):
                # Verified, but numbered as in the draft: the final answer renumbers its markers.
                status.sentence(without_markers(event.text))
            elif isinstance(event, FinalEvent):
                answer = event.answer
    finally:
        events.close()
        status.close()
    if answer is None:
        raise GenerationError("The answer stream ended without a final answer.")
    if options.as_json:
        print(json.dumps(console.answer_json(answer), ensure_ascii=False), file=out)
    else:
        words = Words.of(assistant.prompts, answer.language)
        print(console.render_answer_text(answer, words, verbose=options.verbose), file=out)
    # Live progress was cleared: one line keeps where the time went (the step lines stay elsewhere).
    if status.live and (summary := status.summary()):
        print(f"answered in {summary}", file=err or sys.stderr)
    return answer


def chat(
    assistant: Assistant, options: AskOptions, *, out: TextIO | None = None, err: TextIO | None = None
) -> None:
    """The conversation loop. Errors of one question are shown and the conversation goes on."""
    out, err = out or sys.stdout, err or sys.stderr
    _line_editing()
    history: list[Turn] = []
    print(CHAT_HELP, file=err)
    with CtrlC() as ctrl_c:
        _converse(assistant, options, history, ctrl_c, out=out, err=err)


def _converse(
    assistant: Assistant,
    options: AskOptions,
    history: list[Turn],
    ctrl_c: CtrlC,
    *,
    out: TextIO,
    err: TextIO,
) -> None:
    while (question := _read_question(err)) is not None:
        if question == "/clear":
            history.clear()
            print("(a new conversation)", file=err)
            continue
        if question == "/history":
            print(render_history(history), file=out)
            continue
        try:
            with ctrl_c.answering():
                answer = ask(assistant, question, history, options, out=out, err=err)
        except KeyboardInterrupt:
            print("\nStopped. Nothing was added to the conversation; ask again when you like.", file=err)
            continue
        except AssistantError as error:
            print(f"error: {error}", file=err)
            continue
        history += [Turn(role="user", content=question), Turn(role="assistant", content=answer.answer)]


def render_history(history: Sequence[Turn]) -> str:
    if not history:
        return "(no questions yet)"
    return "\n".join(f"{'you' if t.role == 'user' else 'assistant'}: {t.content}" for t in history)


def _read_question(err: TextIO) -> str | None:
    """The next question, or None at an empty line or end of input; Ctrl+C clears the line."""
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return None
        except KeyboardInterrupt:
            print("\n(Ctrl+D or an empty line quits)", file=err)
            continue
        return question or None


def _line_editing() -> None:
    # Arrow keys and a question history in input(), where the platform has readline.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
