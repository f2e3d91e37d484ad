"""The Gradio app: one `WebApp` per served UI, its layout and the wiring of its handlers (chat.py,
articles.py). The answer function is also exposed as the Gradio API endpoint `/ask`.
"""

# No `from __future__ import annotations`: Gradio reads the type hints of event handlers at runtime
# (the `ask` endpoint's JSON schema), and string hints defeat that.

import logging
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio.events import api as gradio_api

from assistant.config import Settings
from assistant.interfaces.web.articles import HEADERS, ArticleHandlers
from assistant.interfaces.web.cards import SOURCES_PLACEHOLDER
from assistant.interfaces.web.chat import ChatHandlers, friendly
from assistant.interfaces.web.conversations import Conversation, Library, storage_key
from assistant.interfaces.web.inputs import EXAMPLE_QUESTIONS, check_question
from assistant.interfaces.web.models import Models
from assistant.types import Filters, Turn

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

# Every event that touches the index or the model shares this group, so `web.concurrency` bounds them
# together and the rest wait in Gradio's queue (position shown) instead of piling onto the service.
CONCURRENCY_ID = "assistant"
# BrowserState encrypts what it stores with this; it is sent to the page, so it protects nothing,
# but a fixed value keeps conversations readable after the server restarts.
_BROWSER_SECRET = "news-assistant-conversations"


def build_app(assistant: "Assistant", settings: Settings) -> gr.Blocks:
    """The Gradio app. Serve it with `start`/`launch` (they add the CSS, script, queue and auth)."""
    return WebApp(assistant, settings).build()


class WebApp:
    """The components of one served UI and the wiring of their handlers."""

    def __init__(self, assistant: "Assistant", settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self.models = Models(assistant, settings)
        self.chat = ChatHandlers(self.models, settings, assistant.prompts)
        self.articles = ArticleHandlers(assistant, settings)

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
            raise gr.Error(friendly(err), print_exception=False) from None
        return answer.model_dump(mode="json")

    # --- layout ------------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        # Gradio keeps uploads in its cache until told otherwise; kept copies live in web.upload_dir.
        app = gr.Blocks(title="News assistant", analytics_enabled=False, delete_cache=(3600, 3600))
        with app:
            self._header()
            self._conversation = gr.State(Conversation())
            self._pending = gr.State("")
            self._last_feedback = gr.State(None)
            self._selected_article = gr.State(None)
            key = storage_key(self.assistant.index.location, self.assistant.index.name)
            self._library = gr.BrowserState(Library().stored(), storage_key=key, secret=_BROWSER_SECRET)
            self._conversations_row()
            with gr.Row(equal_height=False, elem_id="na-main"):
                with gr.Column(scale=3, min_width=300):
                    self._chat_column()
                with gr.Column(scale=2, min_width=300, elem_id="na-side"):
                    gr.Markdown("### Sources", elem_id="na-sources-title")
                    self._sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="na-sources")
            self._settings_accordion()
            self._articles_accordion()
            self._wire_chat()
            self._wire_conversations(app)
            self._wire_feedback()
            self._wire_articles(app)
            gradio_api(self.ask, api_name="ask", **self._heavy())
        return app

    def _header(self) -> None:
        gr.Markdown(
            "## News assistant\nAsk about the indexed news articles. Every claim cites its source [n]; "
            "point at a marker to see its quote. When the articles do not say, it says so, and why.",
            elem_id="na-intro",
        )
        labels = self.models.labels
        with gr.Row(elem_id="na-model-row"):
            self._model = gr.Dropdown(
                labels,
                value=self.models.default,
                label="Model",
                elem_id="na-model",
                visible=len(labels) > 1,
                scale=2,
            )
            gr.Markdown(f"Model: `{self.models.default}`", elem_id="na-model-info", visible=len(labels) == 1)

    def _conversations_row(self) -> None:
        with gr.Row(equal_height=True, elem_id="na-conversations"):
            self._conversation_list = gr.Dropdown(
                [],
                value=None,
                label="Conversations (kept in this browser)",
                elem_id="na-conversation-list",
                scale=4,
                min_width=320,  # alone on its line on a phone, the buttons below it
            )
            self._new_btn = gr.Button("New conversation", elem_id="na-new", scale=1, min_width=120, size="sm")
            self._delete_conv_btn = gr.Button(
                "Delete conversation", elem_id="na-delete-conversation", scale=1, min_width=120, size="sm"
            )

    def _chat_column(self) -> None:
        self._chatbot = gr.Chatbot(
            show_label=False,
            elem_id="na-chat",
            height=520,
            buttons=["copy"],
            feedback_options=("Like", "Dislike"),
            # The bubbles are HTML made by render.py (escaped there): Markdown would turn the blank
            # lines of a quoted article into paragraphs and its characters into formatting.
            render_markdown=False,
            placeholder="Ask a question about the articles, or pick an example below.",
        )
        self._question = gr.Textbox(
            show_label=False,
            placeholder="Your question (German or English)…",
            elem_id="na-question",
            lines=1,
            max_lines=6,
            autofocus=True,
            submit_btn="Ask",
            stop_btn=False,
        )
        gr.Examples(
            EXAMPLE_QUESTIONS, inputs=self._question, label="Example questions", elem_id="na-examples"
        )
        with gr.Row(elem_id="na-feedback"):
            self._comment = gr.Textbox(
                label="Feedback comment (optional)",
                placeholder="Rate an answer with the thumbs under it, then explain here.",
                scale=5,
                lines=1,
            )
            self._comment_btn = gr.Button("Save comment", scale=1, size="md", min_width=100)
        self._feedback_status = gr.Markdown(elem_id="na-feedback-status")

    def _settings_accordion(self) -> None:
        with gr.Accordion("Retrieval settings", open=False, elem_id="na-settings"):
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
        with gr.Accordion("Articles", open=False, elem_id="na-articles-panel"):
            self._stats = gr.Markdown("Loading index statistics…", elem_id="na-stats")
            self._article_search = gr.Textbox(
                label="Find articles",
                placeholder="words of the title, source or id",
                elem_id="na-article-search",
            )
            self._article_table = gr.Dataframe(
                headers=HEADERS,
                interactive=False,
                elem_id="na-articles",
                wrap=True,
                max_height=360,
                # Without widths the first long title takes the row and pushes the rest out of view.
                column_widths=["38%", "20%", "11%", "9%", "8%", "14%"],
            )
            with gr.Row():
                self._delete_article_btn = gr.Button(
                    "Delete the selected article",
                    variant="stop",
                    interactive=False,
                    elem_id="na-delete-article",
                )
            self._article_status = gr.Markdown(elem_id="na-article-status")
            with gr.Row():
                self._files = gr.File(
                    label="Upload articles", file_count="multiple", type="filepath", elem_id="na-upload"
                )
                self._folder = gr.Textbox(
                    label="…or a file or folder on this computer",
                    placeholder="/path/to/articles",
                    visible=self.articles.server_paths.enabled,
                )
            with gr.Row():
                self._ingest_btn = gr.Button("Add to index", variant="primary")
                self._sample_btn = gr.Button("Load the sample articles")
            self._ingest_report = gr.Markdown(elem_id="na-ingest-report")

    # --- wiring ------------------------------------------------------------------------------------

    def _heavy(self) -> dict[str, Any]:
        """Event options of everything that uses the index or the model: one bounded group."""
        return {"concurrency_id": CONCURRENCY_ID, "concurrency_limit": self.settings.web.concurrency}

    def _shown(self) -> list[Any]:
        """What a turn or a switch of conversation updates."""
        return [self._chatbot, self._conversation, self._library, self._sources, self._conversation_list]

    def _wire_chat(self) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        inputs = [
            *(self._pending, self._chatbot, self._conversation, self._library, self._k),
            *(self._source_filter, self._language_filter, self._date_from, self._date_to, self._model),
        ]
        asked = self._question.submit(
            self.chat.add_question,
            [self._question, self._chatbot],
            [self._question, self._chatbot, self._pending],
            queue=False,
            **private,
        )
        answering = asked.then(self.chat.respond, inputs, self._shown(), **private, **self._heavy())
        answering.then(self.chat.ready, None, self._question, queue=False, **private)
        # Cancel first, then mark the turn as stopped: a progress update already on its way would
        # otherwise land after the "stopped" note and stay on screen.
        self._question.stop(None, None, None, cancels=[answering], queue=False, **private).then(
            self.chat.stop,
            [self._pending, self._chatbot, self._conversation, self._library],
            self._shown(),
            queue=False,
            **private,
        ).then(self.chat.ready, None, self._question, queue=False, **private)
        self._answering = answering

    def _wire_conversations(self, app: gr.Blocks) -> None:
        private: dict[str, Any] = {"api_visibility": "private", "queue": False}
        app.load(self.chat.restore, [self._library], self._shown(), **private)
        for trigger in (self._new_btn.click, self._chatbot.clear):
            trigger(
                self.chat.new_conversation,
                [self._library],
                self._shown(),
                cancels=[self._answering],
                **private,
            )
        self._conversation_list.input(
            self.chat.open_conversation, [self._conversation_list, self._library], self._shown(), **private
        )
        self._delete_conv_btn.click(
            self.chat.delete_conversation, [self._conversation, self._library], self._shown(), **private
        )

    def _wire_feedback(self) -> None:
        private: dict[str, Any] = {"api_visibility": "private", "queue": False}
        self._chatbot.like(
            self.chat.rate,
            [self._conversation, self._comment],
            [self._feedback_status, self._last_feedback],
            **private,
        )
        self._comment_btn.click(
            self.chat.save_comment,
            [self._comment, self._last_feedback],
            [self._feedback_status, self._comment, self._last_feedback],
            **private,
        )

    def _wire_articles(self, app: gr.Blocks) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        refreshed = [
            *(self._stats, self._article_table, self._source_filter, self._language_filter),
            *(self._selected_article, self._delete_article_btn),
        ]
        for event, fn, inputs in (
            (self._ingest_btn.click, self.articles.ingest_files, [self._files, self._folder]),
            (self._sample_btn.click, self.articles.ingest_sample, []),
        ):
            event(fn, inputs, self._ingest_report, **private, **self._heavy()).then(
                self.articles.refresh, [self._article_search], refreshed, **private
            )
        app.load(self.articles.refresh, [self._article_search], refreshed, **private)
        self._article_search.change(
            self.articles.search,
            [self._article_search],
            [self._article_table, self._selected_article, self._delete_article_btn],
            queue=False,
            **private,
        )
        self._article_table.select(
            self.articles.select,
            None,
            [self._selected_article, self._delete_article_btn],
            queue=False,
            **private,
        )
        self._delete_article_btn.click(
            self.articles.delete, [self._selected_article], self._article_status, **private, **self._heavy()
        ).then(self.articles.refresh, [self._article_search], refreshed, **private)
