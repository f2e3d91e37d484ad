"""Socket Mode: the bot opens a websocket to Slack, so it needs no public URL."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from assistant.config import SlackSettings
from assistant.errors import BackendUnavailableError, ConfigError
from assistant.interfaces.slack.client import api_url, redacting_logger, required_token


def start_socket_mode(app: App, settings: SlackSettings) -> SocketModeHandler:
    """Open the Socket Mode websocket (apps.connections.open); returns the connected handler."""
    app_token = required_token(settings.app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token")
    # Checked before the handler exists: its background threads need a second to wind down.
    url = socket_url(app.client, settings)
    handler = SocketModeHandler(app, app_token=app_token, logger=redacting_logger(), web_client=app.client)
    handler.client.wss_uri = url
    try:
        handler.client.connect()
    except Exception as err:
        handler.client.close()
        raise BackendUnavailableError(
            f"Cannot open the Slack Socket Mode connection ({type(err).__name__}): check the network."
        ) from None
    return handler


def socket_url(client: WebClient, settings: SlackSettings) -> str:
    """The websocket URL Slack hands out for the app-level token (apps.connections.open): proof that
    the token works, without connecting."""
    app_token = required_token(settings.app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token")
    try:
        return str(client.apps_connections_open(app_token=app_token)["url"])
    except SlackApiError as err:
        raise ConfigError(
            f"Slack rejected SLACK_APP_TOKEN ({err.response.get('error')}). Create an app-level token with "
            "the connections:write scope under Basic Information, and enable Socket Mode."
        ) from None
    except (SlackClientError, OSError) as err:
        raise BackendUnavailableError(
            f"Cannot reach the Slack API at {api_url(settings)} ({type(err).__name__}): check the network."
        ) from None
