"""The Gradio app: one `WebApp` per served UI, its event handlers as methods, its layout and wiring.

Thin over `Assistant`: handlers check the input, call the service and render what it returns. The
same answer function is exposed as the Gradio API endpoint `/ask` for `gradio_client`.
"""

# No `from __future__ import annotations`: Gradio reads the type hints of event handlers at runtime
# (gr.LikeData, gr.Progress, the `ask` endpoint's JSON schema), and string hints defeat that.

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio.events import api as gradio_api

from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.interfaces.web.auth import ServerPaths
from assistant.interfaces.web.feedback import FeedbackLog, feedback_record
from assistant.interfaces.web.inputs import EXAMPLE_QUESTIONS, check_question, make_filters
from assistant.interfaces.web.render import (
    SOURCES_PLACEHOLDER,
    render_answer,
    render_draft,
    render_error,
    render_ingest_report,
    render_sources,
    render_stats,
    render_user_message,
)
from assistant.interfaces.web.turns import TurnRecord, history_of
from assistant.interfaces.web.uploads import keep_uploads
from assistant.types import Answer, Filters, FinalEvent, StatusEvent, Turn

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

# Every event that touches the index or the model shares this group, so `web.concurrency` bounds them
# together and the rest wait in Gradio's queue (position shown) instead of piling onto the service.
CONCURRENCY_ID = "assistant"

Chat = list[dict[str, Any]]


def build_app(assistant: "Assistant", settings: Settings) -> gr.Blocks:
    """The Gradio app. Serve it with `start`/`launch` (they add the CSS, script, queue and auth)."""
    return WebApp(assistant, settings).build()


def _message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}


def _friendly(err: Exception) -> str:
    if isinstance(err, AssistantError):
        return str(err)
    log.exception("Unexpected error in the web UI")
    return f"Unexpected error ({type(err).__name__}); the server log has the details."


class WebApp:
    """The handlers of one served UI and the components they read and write."""

    def __init__(self, assistant: "Assistant", settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self.feedback = FeedbackLog(settings.web.feedback_path)
        self.server_paths = ServerPaths.from_settings(settings.web)
        try:
            self.backend, self.model = assistant.llm_info
        except Exception as err:  # the info line must not keep the UI from starting
            self.backend, self.model = "?", _friendly(err)

    # --- the API endpoint --------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        k: int | None = None,
        filters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the indexed articles; returns the verified Answer as JSON.

        history: earlier turns as [{"role": "user"|"assistant", "content": "..."}]. filters: keys
        sources, languages, date_from, date_to. Errors come back as a Gradio error with the message."""
        try:
            text = check_question(question, self.settings)
            turns = [Turn.model_validate(t) for t in history or []]
            parsed = Filters.model_validate(filters) if filters else None
            answer = self.assistant.ask(text, history=turns, k=k, filters=parsed)
        except Exception as err:
            raise gr.Error(_friendly(err), print_exception=False) from None
        return answer.model_dump(mode="json")

    # --- chat --------------------------------------------------------------------------------------

    def add_question(self, message: str, chat: Chat) -> tuple[str, Chat, str]:
        if not message.strip():
            return "", chat, ""
        return "", [*chat, _message("user", render_user_message(message.strip()))], message

    def respond(
        self,
        question: str,
        chat: Chat,
        records: list[TurnRecord],
        k: float,
        sources: list[str] | None,
        languages: list[str] | None,
        date_from: str,
        date_to: str,
    ) -> Iterator[tuple[Chat, list[TurnRecord], str]]:
        if not question.strip():
            return
        answers = [r.answer for r in records]
        chat = [*chat, _message("assistant", render_draft("", "Searching the articles…"))]
        yield chat, records, gr.skip()
        history = history_of(records)
        try:
            text = check_question(question, self.settings)
            filters = make_filters(sources, languages, date_from, date_to)
            final: Answer | None = None
            for shown, final in self._drafts(text, chat, history, int(k), filters):
                chat = shown
                if final is None:
                    yield chat, records, gr.skip()
            if final is None:
                raise RuntimeError("the answer stream ended without a final answer")
        except Exception as err:
            chat = [*chat[:-1], _message("assistant", render_error(_friendly(err)))]
            yield chat, records, render_sources(answers)
            return
        chat = [*chat[:-1], _message("assistant", render_answer(final, len(records) + 1))]
        record = TurnRecord(uuid.uuid4().hex, final, history, len(chat) - 1, int(k), filters)
        yield chat, [*records, record], render_sources([*answers, final])

    def _drafts(
        self, question: str, chat: Chat, history: list[Turn], k: int, filters: Filters | None
    ) -> Iterator[tuple[Chat, Answer | None]]:
        """The chat with the draft so far as its last bubble, then (unchanged chat) the final answer."""
        draft, status = "", ""
        final: Answer | None = None
        for event in self.assistant.ask_stream(question, history=history, k=k, filters=filters):
            if isinstance(event, FinalEvent):
                final = event.answer
            elif isinstance(event, StatusEvent):
                status = event.text
            else:
                draft += event.text
                status = ""
            if final is None:
                chat = [*chat[:-1], _message("assistant", render_draft(draft, status))]
                yield chat, None
        if final is not None:
            yield chat, final

    def clear(self) -> tuple[Chat, list[TurnRecord], str, str, None]:
        return [], [], SOURCES_PLACEHOLDER, "", None

    # --- feedback ----------------------------------------------------------------------------------

    def rate(
        self, records: list[TurnRecord], comment: str, data: gr.LikeData
    ) -> tuple[str, dict[str, Any] | None]:
        if data.liked is True:
            rating = 1
        elif data.liked is False:
            rating = -1
        else:
            return gr.skip(), gr.skip()
        record = next((r for r in records if r.message_index == data.index), None)
        if record is None:
            return "Only answers can be rated.", None
        entry = feedback_record(
            record.answer,
            rating,
            answer_id=record.id,
            comment=comment or "",
            history=record.history,
            k=record.k,
            filters=record.filters,
        )
        try:
            self.feedback.append(entry)
        except OSError as err:
            return f"Could not save the feedback to {self.feedback.path}: {err}", None
        verdict = "helpful" if rating > 0 else "not helpful"
        return f"Thanks: answer {records.index(record) + 1} saved as {verdict}.", entry

    def save_comment(
        self, comment: str, last: dict[str, Any] | None
    ) -> tuple[str, str, dict[str, Any] | None]:
        if last is None:
            return "Rate an answer with the thumbs under it first, then add a comment.", comment, last
        if not comment.strip():
            return "The comment is empty.", comment, last
        entry = {
            **last,
            "comment": comment.strip(),
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            self.feedback.append(entry)
        except OSError as err:
            return f"Could not save the comment to {self.feedback.path}: {err}", comment, last
        return "Comment saved.", "", entry

    # --- articles ----------------------------------------------------------------------------------

    def refresh_stats(self) -> tuple[str, Any, Any]:
        try:
            stats = self.assistant.stats()
        except Exception as err:
            return _friendly(err), gr.skip(), gr.skip()
        if stats.articles == 0:
            return (
                "The index is empty: add articles below (or load the sample articles).",
                gr.skip(),
                gr.skip(),
            )
        return (
            render_stats(stats),
            gr.update(choices=sorted(stats.sources)),
            gr.update(choices=sorted(set(stats.languages) | {"de", "en"})),
        )

    def ingest_files(
        self,
        files: list[str] | None,
        folder: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        allow_paths = self.server_paths.enabled
        typed = folder.strip() if allow_paths else ""
        if not files and not typed:
            return "Choose files to upload" + (" or type a folder path." if allow_paths else ".")
        try:
            uploads = keep_uploads(files or [], self.settings.web)
            paths = [u.path for u in uploads]
            if typed:
                paths.append(self.server_paths.check(typed))
        except InputError as err:
            return f"**Could not add the articles.** {err}"
        return self._ingest(paths, progress, {str(u.path): u.name for u in uploads})

    def ingest_sample(self, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        return self._ingest(None, progress)

    def _ingest(
        self, paths: Sequence[Path] | None, progress: gr.Progress, names: Mapping[str, str] | None = None
    ) -> str:
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total or None), desc=stage)

        progress(0, desc="Starting")
        try:
            return render_ingest_report(self.assistant.ingest(paths, progress=report), names)
        except Exception as err:
            return f"**Could not add the articles.** {_friendly(err)}"

    # --- layout and wiring -------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        # Gradio keeps uploads in its cache until told otherwise; kept copies live in web.upload_dir.
        app = gr.Blocks(title="News assistant", analytics_enabled=False, delete_cache=(3600, 3600))
        with app:
            gr.Markdown(
                "## News assistant\nAsk about the indexed news articles. Every claim cites its source "
                "[n]; click a marker to see the quoted passage. When the articles do not say, it says so."
            )
            self._records = gr.State([])
            self._pending = gr.State("")
            self._last_feedback = gr.State(None)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    self._chat_column()
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    self._sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="na-sources", js_on_load=None)
            self._settings_accordion()
            self._articles_accordion()
            self._wire_chat()
            self._wire_feedback()
            self._wire_articles(app)
            gradio_api(self.ask, api_name="ask", **self._heavy())
        return app

    def _chat_column(self) -> None:
        self._chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="na-chat",
            height=520,
            buttons=["copy"],
            feedback_options=("Like", "Dislike"),
            placeholder="Ask a question about the articles, or pick an example below.",
        )
        with gr.Row():
            self._question = gr.Textbox(
                show_label=False,
                placeholder="Your question (German or English)…",
                elem_id="na-question",
                scale=5,
                lines=1,
                max_lines=6,
                autofocus=True,
                submit_btn="Ask",
            )
            self._clear_btn = gr.Button("Clear chat", elem_id="na-clear", scale=1, size="md")
        gr.Examples(EXAMPLE_QUESTIONS, inputs=self._question, label="Example questions")
        with gr.Row():
            self._comment = gr.Textbox(
                label="Feedback comment (optional)",
                placeholder="Rate an answer with the thumbs under it, then explain here.",
                scale=5,
                lines=1,
            )
            self._comment_btn = gr.Button("Save comment", scale=1, size="md")
        self._feedback_status = gr.Markdown(elem_id="na-feedback-status")

    def _settings_accordion(self) -> None:
        with gr.Accordion("Model and retrieval settings", open=False):
            gr.Markdown(f"Backend: `{self.backend}` · model: `{self.model}`")
            with gr.Row():
                self._k = gr.Slider(
                    1, 20, value=self.settings.retrieval.k, step=1, label="Passages retrieved (k)"
                )
                self._source_filter = gr.Dropdown(
                    [], multiselect=True, allow_custom_value=True, label="Only these sources"
                )
                self._language_filter = gr.Dropdown(
                    ["de", "en"], multiselect=True, allow_custom_value=True, label="Only these languages"
                )
            with gr.Row():
                self._date_from = gr.Textbox(label="From date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
                self._date_to = gr.Textbox(label="To date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")

    def _articles_accordion(self) -> None:
        with gr.Accordion("Articles", open=False):
            self._stats = gr.Markdown("Loading index statistics…", elem_id="na-stats")
            with gr.Row():
                self._files = gr.File(
                    label="Upload articles", file_count="multiple", type="filepath", elem_id="na-upload"
                )
                self._folder = gr.Textbox(
                    label="…or a file or folder on this computer",
                    placeholder="/path/to/articles",
                    visible=self.server_paths.enabled,
                )
            with gr.Row():
                self._ingest_btn = gr.Button("Add to index", variant="primary")
                self._sample_btn = gr.Button("Load the sample articles")
            self._ingest_report = gr.Markdown(elem_id="na-ingest-report")

    def _heavy(self) -> dict[str, Any]:
        """Event options of everything that uses the index or the model: one bounded group."""
        return {"concurrency_id": CONCURRENCY_ID, "concurrency_limit": self.settings.web.concurrency}

    def _wire_chat(self) -> None:
        chat_inputs = [
            *(self._pending, self._chatbot, self._records, self._k),
            *(self._source_filter, self._language_filter, self._date_from, self._date_to),
        ]
        submitted = self._question.submit(
            self.add_question,
            [self._question, self._chatbot],
            [self._question, self._chatbot, self._pending],
            queue=False,
            api_visibility="private",
        ).then(
            self.respond,
            chat_inputs,
            [self._chatbot, self._records, self._sources],
            api_visibility="private",
            **self._heavy(),
        )
        # The chatbot's own trash icon clears too; both must also forget the answers behind the chat.
        for clear_event in (self._clear_btn.click, self._chatbot.clear):
            clear_event(
                self.clear,
                None,
                [self._chatbot, self._records, self._sources, self._pending, self._last_feedback],
                cancels=[submitted],
                queue=False,
                api_visibility="private",
            )

    def _wire_feedback(self) -> None:
        self._chatbot.like(
            self.rate,
            [self._records, self._comment],
            [self._feedback_status, self._last_feedback],
            queue=False,
            api_visibility="private",
        )
        self._comment_btn.click(
            self.save_comment,
            [self._comment, self._last_feedback],
            [self._feedback_status, self._comment, self._last_feedback],
            queue=False,
            api_visibility="private",
        )

    def _wire_articles(self, app: gr.Blocks) -> None:
        stats_outputs = [self._stats, self._source_filter, self._language_filter]
        for event, fn, inputs in (
            (self._ingest_btn.click, self.ingest_files, [self._files, self._folder]),
            (self._sample_btn.click, self.ingest_sample, []),
        ):
            event(fn, inputs, self._ingest_report, api_visibility="private", **self._heavy()).then(
                self.refresh_stats, None, stats_outputs, api_visibility="private"
            )
        app.load(self.refresh_stats, None, stats_outputs, api_visibility="private")
