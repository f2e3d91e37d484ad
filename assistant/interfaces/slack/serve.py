"""Running the bot until Ctrl+C or SIGTERM, in Socket Mode or behind the HTTP events endpoint."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

from slack_bolt import App

from assistant.config import SlackSettings
from assistant.errors import ConfigError
from assistant.interfaces.slack.bot import build
from assistant.interfaces.slack.client import bot_client, required_token
from assistant.interfaces.slack.http import EVENTS_PATH, serve_http
from assistant.interfaces.slack.socket_mode import socket_url, start_socket_mode

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)


def run(
    assistant: Assistant,
    settings: SlackSettings,
    *,
    mode: Literal["socket", "http"],
    port: int = 3000,
    host: str = "127.0.0.1",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve Slack until interrupted. `on_ready` receives a one-line "where to reach me" message."""
    if mode == "socket":
        required_token(settings.app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token")
    elif not settings.signing_secret or not settings.signing_secret.get_secret_value().strip():
        raise ConfigError(
            "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials), "
            "or use Socket Mode with SLACK_APP_TOKEN."
        )
    app, bot = build(assistant, settings)
    ready = on_ready or log.info
    reads = _index_line(assistant)
    try:
        with _stops_on_signals():
            if mode == "socket":
                _serve_socket_mode(app, settings, f"@{bot.bot_name}, {reads}", ready)
            else:
                _serve_http(app, settings, host, port, f"@{bot.bot_name}, {reads}", ready)
    except KeyboardInterrupt:
        pass
    finally:
        bot.close()


def _index_line(assistant: Assistant) -> str:
    stats = assistant.stats()
    return f"index: {stats.location} (collection {stats.collection}), {stats.articles} articles"


def check(assistant: Assistant, settings: SlackSettings, *, mode: Literal["socket", "http"]) -> list[str]:
    """`assistant slack --check`: each token tried against Slack and the index the bot would read,
    as lines to print; nothing is started. Raises ConfigError / BackendUnavailableError on the first
    problem, with what to do about it."""
    client, auth = bot_client(settings)
    team = f" in workspace {auth.get('team')}" if auth.get("team") else ""
    lines = [f"bot token: OK, the bot is @{auth.get('user')}{team}"]
    if mode == "socket":
        socket_url(client, settings)
        lines.append("app token: OK, Socket Mode can connect")
    elif settings.signing_secret and settings.signing_secret.get_secret_value().strip():
        lines.append("signing secret: set (it is checked against Slack's first request)")
    else:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials).")
    lines.append(f"slash command: {settings.command} (the app's manifest must name the same)")
    lines.append(_index_line(assistant))
    lines.append(f"Ready: `assistant slack{' --mode http' if mode == 'http' else ''}` would start the bot.")
    return lines


def _serve_socket_mode(app: App, settings: SlackSettings, who: str, ready: Callable[[str], None]) -> None:
    handler = start_socket_mode(app, settings)
    ready(f"Connected to Slack in Socket Mode as {who}. Press Ctrl+C to stop.")
    try:
        threading.Event().wait()
    finally:
        handler.client.close()


def _serve_http(
    app: App, settings: SlackSettings, host: str, port: int, who: str, ready: Callable[[str], None]
) -> None:
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
    server = serve_http(app, host=host, port=port, signing_secret=secret)
    bound_host, bound_port = server.server_address
    # uvicorn serves in a thread of its own, so signals reach this (the main) thread as they do in
    # Socket Mode, and stopping is the same in both modes.
    serving = threading.Thread(target=server.serve_forever, name="slack-http", daemon=True)
    serving.start()
    ready(
        f"Serving Slack's events as {who} at http://{bound_host!s}:{bound_port}{EVENTS_PATH} (Ctrl+C to stop)"
    )
    try:
        while serving.is_alive():
            serving.join(0.5)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _stops_on_signals() -> Iterator[None]:
    """Ctrl+C (SIGINT) and SIGTERM (systemd, `docker stop`) end run() cleanly. Installed explicitly:
    a process started as a background job of a non-interactive shell inherits SIGINT as ignored, and
    Python then never raises KeyboardInterrupt, so the bot could only be killed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; the caller handles stopping
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
