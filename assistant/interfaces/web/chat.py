"""The chat's handlers: answering (streamed progress, then the verified answer), stopping, the saved
conversations (new, open, delete) and the thumbs. Each is a method Gradio calls; the layout that
wires them is in app.py.
"""

# No `from __future__ import annotations`: Gradio reads the type hints of event handlers at runtime.

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.interfaces.answering import answer_events
from assistant.interfaces.pump import Pump
from assistant.interfaces.vocabulary import Words
from assistant.interfaces.web.cards import render_sources
from assistant.interfaces.web.conversations import Conversation, Library, SavedTurn
from assistant.interfaces.web.feedback import FeedbackLog, feedback_record
from assistant.interfaces.web.inputs import check_question, make_filters
from assistant.interfaces.web.models import Models
from assistant.interfaces.web.render import (
    render_answer,
    render_error,
    render_progress,
    render_stopped,
    render_user_message,
)
from assistant.text.language import detect_language
from assistant.types import Answer, AnswerEvent, FinalEvent, SentenceEvent, StatusEvent

if TYPE_CHECKING:
    from assistant.prompts import Prompts

log = logging.getLogger(__name__)

Chat = list[dict[str, Any]]
# How often the progress bubble is redrawn (its clock), and the soonest a stop takes effect.
TICK_S = 0.5


def friendly(err: BaseException) -> str:
    if isinstance(err, AssistantError):
        return str(err)
    log.error("Unexpected error in the web UI", exc_info=err)
    return f"Unexpected error ({type(err).__name__}); the server log has the details."


def message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}


def chat_of(conversation: Conversation, prompts: "Prompts") -> Chat:
    """The chat messages of a saved conversation: each turn is the question and what became of it."""
    chat: Chat = []
    for number, turn in enumerate(conversation.turns, start=1):
        chat.append(message("user", render_user_message(turn.question)))
        if turn.answer is not None:
            words = Words.of(prompts, turn.answer.language)
            chat.append(message("assistant", render_answer(turn.answer, number, words)))
        elif turn.note == "stopped":
            words = Words.of(prompts, detect_language(turn.question, default="en"))
            chat.append(message("assistant", render_stopped(words)))
        else:
            chat.append(message("assistant", render_error(turn.note)))
    return chat


class ChatHandlers:
    """The chat's event handlers, for one served UI."""

    def __init__(self, models: Models, settings: Settings, prompts: "Prompts") -> None:
        self.models = models
        self.settings = settings
        self.prompts = prompts
        self.feedback = FeedbackLog(settings.web.feedback_path)

    # --- asking ------------------------------------------------------------------------------------

    def add_question(self, text: str, chat: Chat) -> tuple[Any, Chat, str]:
        """Show the question at once and turn the Ask button into Stop."""
        if not text.strip():
            return gr.skip(), chat, ""
        asked = [*chat, message("user", render_user_message(text.strip()))]
        return gr.update(value="", submit_btn=False, stop_btn="Stop"), asked, text.strip()

    def ready(self) -> Any:
        return gr.update(submit_btn="Ask", stop_btn=False)

    def respond(
        self,
        question: str,
        chat: Chat,
        conversation: Conversation,
        library: Any,
        k: float,
        sources: list[str] | None,
        languages: list[str] | None,
        date_from: str,
        date_to: str,
        model: str | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Progress in the last bubble (step, elapsed time, verified sentences), then the answer;
        the conversation is saved in the browser when the turn ends."""
        if not question.strip():
            return
        skip = gr.skip()
        turn = SavedTurn(question=question, k=int(k))
        chat = [*chat, message("assistant", render_progress("Starting", 0, []))]
        yield chat, skip, skip, skip, skip
        try:
            text = check_question(question, self.settings)
            assistant = self.models.get(model)
            known = assistant.stats().sources if sources else None
            turn.filters = make_filters(sources, languages, date_from, date_to, known_sources=known)
            events = answer_events(assistant, text, conversation.history(), k=int(k), filters=turn.filters)
            for shown in self._progress(events):
                if isinstance(shown, Answer):
                    turn.answer = shown
                else:
                    chat = [*chat[:-1], message("assistant", shown)]
                    yield chat, skip, skip, skip, skip
        except Exception as err:
            turn.note = friendly(err)
        yield self._finish(conversation.with_turn(turn), library)

    def _progress(self, events: Iterator[AnswerEvent]) -> Iterator[str | Answer]:
        """The progress bubble each time it changes (at least every TICK_S, for its clock), then the
        answer. Closing this generator (the Stop button) stops the answer's work too."""
        pump = Pump(events).start()
        status, since, sentences = "Starting", time.monotonic(), []
        try:
            for event in pump.items(TICK_S):
                if isinstance(event, FinalEvent):
                    yield event.answer
                    return
                if isinstance(event, StatusEvent):
                    status, since = event.text, time.monotonic()
                elif isinstance(event, SentenceEvent):
                    sentences.append(event.text)
                yield render_progress(status, time.monotonic() - since, sentences)
            raise RuntimeError("the answer stream ended without a final answer")
        finally:
            pump.stop()

    def _finish(self, conversation: Conversation, raw_library: Any) -> tuple[Any, ...]:
        library = Library.load(raw_library).saved(conversation)
        return (
            chat_of(conversation, self.prompts),
            conversation,
            library.stored(),
            render_sources(conversation.answers(), self.prompts),
            gr.update(choices=library.choices(), value=conversation.id),
        )

    def stop(self, question: str, chat: Chat, conversation: Conversation, library: Any) -> tuple[Any, ...]:
        """The Stop button: the question stays in the conversation, marked as stopped."""
        skip = gr.skip()
        if not question or not chat or "na-progress" not in str(chat[-1].get("content", "")):
            return skip, skip, skip, skip, skip  # the answer was complete before the click arrived
        return self._finish(conversation.with_turn(SavedTurn(question=question, note="stopped")), library)

    # --- conversations -----------------------------------------------------------------------------

    def restore(self, raw_library: Any) -> tuple[Any, ...]:
        """On page load: reopen the conversation that was open, from the browser's storage."""
        library = Library.load(raw_library)
        conversation = library.get(library.current) or Conversation()
        return self._show(conversation, library)

    def new_conversation(self, raw_library: Any) -> tuple[Any, ...]:
        return self._show(Conversation(), Library.load(raw_library).opened(None))

    def open_conversation(self, conversation_id: str | None, raw_library: Any) -> tuple[Any, ...]:
        library = Library.load(raw_library)
        conversation = library.get(conversation_id) or Conversation()
        return self._show(conversation, library.opened(conversation.id if conversation.turns else None))

    def delete_conversation(self, conversation: Conversation, raw_library: Any) -> tuple[Any, ...]:
        library = Library.load(raw_library).without(conversation.id)
        following = library.conversations[0] if library.conversations else Conversation()
        return self._show(following, library.opened(following.id if following.turns else None))

    def _show(self, conversation: Conversation, library: Library) -> tuple[Any, ...]:
        current = conversation.id if library.get(conversation.id) else None
        return (
            chat_of(conversation, self.prompts),
            conversation,
            library.stored(),
            render_sources(conversation.answers(), self.prompts),
            gr.update(choices=library.choices(), value=current),
        )

    # --- feedback ----------------------------------------------------------------------------------

    def rate(self, conversation: Conversation, comment: str, data: gr.LikeData) -> tuple[str, Any]:
        if data.liked is True:
            rating = 1
        elif data.liked is False:
            rating = -1
        else:
            return gr.skip(), gr.skip()
        turn = conversation.turn_at_message(int(data.index if isinstance(data.index, int) else data.index[0]))
        if turn is None or turn.answer is None:
            return "Only answers can be rated.", None
        entry = feedback_record(
            turn.answer,
            rating,
            answer_id=turn.id,
            comment=comment or "",
            history=Conversation(turns=conversation.turns[: conversation.turns.index(turn)]).history(),
            k=turn.k,
            filters=turn.filters,
        )
        return self._save_feedback(entry, "helpful" if rating > 0 else "not helpful")

    def _save_feedback(self, entry: dict[str, Any], verdict: str) -> tuple[str, Any]:
        try:
            self.feedback.append(entry)
        except OSError as err:
            return f"Could not save the feedback to {self.feedback.path}: {err}", None
        return f"Thanks: saved as {verdict} in `{self.feedback.path}`.", entry

    def save_comment(self, comment: str, last: dict[str, Any] | None) -> tuple[str, str, Any]:
        if last is None:
            return "Rate an answer with the thumbs under it first, then add a comment.", comment, last
        if not comment.strip():
            return "The comment is empty.", comment, last
        entry = {
            **last,
            "comment": comment.strip(),
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        status, saved = self._save_feedback(entry, "a comment")
        return (status, "", saved) if saved else (status, comment, last)
