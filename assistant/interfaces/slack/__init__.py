"""Slack bot (Bolt): answers @mentions, DMs and its slash command (`/ask` unless configured) with the
verified, cited answer of the service, updating its reply in place while it works.

`render` writes mrkdwn, `stores` remembers threads and users, `bot` holds the listeners, `client`
the Web API client; `socket_mode` and `http` connect to Slack, `serve` runs until stopped.
"""

from assistant.errors import MissingDependencyError

try:
    import slack_bolt  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("The Slack bot", "slack") from err

from assistant.interfaces.slack.bot import build_app
from assistant.interfaces.slack.http import EVENTS_PATH, serve_http
from assistant.interfaces.slack.render import (
    MESSAGE_LIMIT,
    SHARE_ACTION_ID,
    ephemeral_blocks,
    escape,
    question_from_slack,
    render_answer,
    render_progress,
)
from assistant.interfaces.slack.serve import check, run
from assistant.interfaces.slack.socket_mode import start_socket_mode

__all__ = [
    "EVENTS_PATH",
    "MESSAGE_LIMIT",
    "SHARE_ACTION_ID",
    "build_app",
    "check",
    "ephemeral_blocks",
    "escape",
    "question_from_slack",
    "render_answer",
    "render_progress",
    "run",
    "serve_http",
    "start_socket_mode",
]
