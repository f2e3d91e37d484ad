"""The browser chat UI (Gradio): streamed, verified answers with source cards, saved conversations,
article management and feedback.

`render` and `cards` turn answers into HTML, `chat` and `articles` hold the handlers, `app` the
layout and wiring, `serve` serves it; `auth`, `inputs`, `uploads`, `feedback`, `models` and
`conversations` are what the handlers check, keep and remember.
"""

from assistant.errors import MissingDependencyError

try:
    import gradio  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("The web UI", "web") from exc

from assistant.interfaces.web.app import build_app
from assistant.interfaces.web.auth import ServerPaths, is_loopback, resolve_auth
from assistant.interfaces.web.cards import highlight_quote, render_card, render_sources
from assistant.interfaces.web.conversations import Conversation, Library, SavedTurn
from assistant.interfaces.web.feedback import FeedbackLog, feedback_record
from assistant.interfaces.web.inputs import EXAMPLE_QUESTIONS, check_question, make_filters
from assistant.interfaces.web.render import (
    render_answer,
    render_error,
    render_ingest_report,
    render_progress,
    render_stats,
    render_stopped,
)
from assistant.interfaces.web.serve import launch, start
from assistant.interfaces.web.uploads import Upload, keep_uploads

__all__ = [
    "EXAMPLE_QUESTIONS",
    "Conversation",
    "FeedbackLog",
    "Library",
    "SavedTurn",
    "ServerPaths",
    "Upload",
    "build_app",
    "check_question",
    "feedback_record",
    "highlight_quote",
    "is_loopback",
    "keep_uploads",
    "launch",
    "make_filters",
    "render_answer",
    "render_card",
    "render_error",
    "render_ingest_report",
    "render_progress",
    "render_sources",
    "render_stats",
    "render_stopped",
    "resolve_auth",
    "start",
]
