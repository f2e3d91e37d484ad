"""The Slack Web API client: tokens checked before use, masked in every log line, and auth.test
failures turned into messages a user can act on."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from assistant.config import SlackSettings
from assistant.errors import BackendUnavailableError, ConfigError

# Every Slack client here logs through this logger, which masks anything shaped like a Slack token:
# the SDK redacts its Authorization header, but not tokens inside error texts or other log lines.
_api_log = logging.getLogger(f"{__package__}.api")
_TOKEN_RE = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_RE.search(message):
            record.msg = _TOKEN_RE.sub(r"\1-(redacted)", message)
            record.args = None
        return True


def redacting_logger() -> logging.Logger:
    if not any(isinstance(f, _RedactTokens) for f in _api_log.filters):
        _api_log.addFilter(_RedactTokens())
    return _api_log


def required_token(secret: Any, env: str, prefix: str, what: str) -> str:
    """The token, or ConfigError saying where to find it when it is missing or of the wrong kind."""
    value = secret.get_secret_value().strip() if secret is not None else ""
    if not value:
        raise ConfigError(f"{env} is not set: copy {what} ({prefix}…) from your Slack app's settings.")
    if not value.startswith(prefix):
        raise ConfigError(f"{env} does not look like {what}: it should start with {prefix}")
    return value


def api_url(settings: SlackSettings) -> str:
    url = settings.api_url.strip() or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def bot_client(settings: SlackSettings) -> tuple[WebClient, SlackResponse]:
    """A client for the bot token, and its auth.test answer (who the bot is)."""
    token = required_token(settings.bot_token, "SLACK_BOT_TOKEN", "xoxb-", "the Bot User OAuth Token")
    client = WebClient(
        token=token,
        base_url=api_url(settings),
        logger=redacting_logger(),
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    try:
        return client, client.auth_test()
    except SlackApiError as err:
        error = err.response.get("error")
        raise ConfigError(
            f"Slack rejected SLACK_BOT_TOKEN ({error}). Copy the Bot User OAuth Token (xoxb-…) again "
            "from OAuth & Permissions, and reinstall the app if its scopes changed."
        ) from None
    except (SlackClientError, OSError) as err:
        raise BackendUnavailableError(
            f"Cannot reach the Slack API at {api_url(settings)} ({type(err).__name__}): "
            "check the network, or SLACK_API_URL."
        ) from None
