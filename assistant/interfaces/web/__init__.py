"""The browser chat UI (Gradio): streamed, cited answers with a sources panel, ingest and feedback.

`render` turns answers into HTML, `app` holds the handlers and the layout, `serve` serves it; `auth`,
`inputs`, `uploads`, `feedback` and `turns` are what the handlers check, keep and remember.
"""

from assistant.errors import MissingDependencyError

try:
    import gradio  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("The web UI", "web") from exc

from assistant.interfaces.web.app import build_app
from assistant.interfaces.web.auth import ServerPaths, is_loopback, resolve_auth
from assistant.interfaces.web.feedback import FeedbackLog, feedback_record
from assistant.interfaces.web.inputs import EXAMPLE_QUESTIONS, check_question, make_filters
from assistant.interfaces.web.render import (
    highlight_quote,
    render_answer,
    render_draft,
    render_error,
    render_ingest_report,
    render_sources,
    render_stats,
)
from assistant.interfaces.web.serve import launch, start
from assistant.interfaces.web.turns import TurnRecord
from assistant.interfaces.web.uploads import Upload, keep_uploads

__all__ = [
    "EXAMPLE_QUESTIONS",
    "FeedbackLog",
    "ServerPaths",
    "TurnRecord",
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
    "render_draft",
    "render_error",
    "render_ingest_report",
    "render_sources",
    "render_stats",
    "resolve_auth",
    "start",
]
