"""Slack bot (Bolt): answers @mentions, DMs and `/ask` with the cited `Answer` of `Assistant.ask`.

Only Slack plumbing lives here: acknowledging in time, threads, dedupe, rate limits, mrkdwn rendering.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs

from assistant.config import SlackSettings
from assistant.errors import AssistantError, BackendUnavailableError, ConfigError, MissingDependencyError
from assistant.service import Assistant
from assistant.types import Answer, Citation, Turn

try:
    from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.middleware.authorization.single_team_authorization import SingleTeamAuthorization
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
    from slack_sdk.signature import SignatureVerifier
    from slack_sdk.web import SlackResponse
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("The Slack bot", "slack") from err

log = logging.getLogger(__name__)

# Every Slack client here logs through this logger, which masks anything shaped like a Slack token:
# the SDK redacts its Authorization header, but not tokens inside error texts or other log lines.
_api_log = logging.getLogger(f"{__name__}.api")

EVENTS_PATH = "/slack/events"
SHARE_ACTION_ID = "share_answer"
# A section block holds at most 3000 characters; chat.postMessage text should stay under 4000.
MESSAGE_LIMIT = 3000
_MAX_BODY_BYTES = 1 << 20
_THINKING = "_:hourglass_flowing_sand: Looking through the articles…_"
_FAILED = ":warning: Sorry, something went wrong while answering. The details are in the bot's log."
_HELP = (
    "Ask me about the news articles, for example `@{name} What did the ECB decide on interest rates?` "
    "or `/ask …`. I answer with numbered sources and quotes, and say so when the articles do not tell."
)
_TOKEN_RE = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")


@dataclass(frozen=True)
class _Labels:
    sources: str
    abstained: str
    share: str
    asked: str


_LABELS = {
    "en": _Labels("Sources", "Not found in the articles", "Share in channel", "asked"),
    "de": _Labels("Quellen", "In den Artikeln nicht gefunden", "Im Kanal teilen", "fragte"),
}


# --------------------------------------------------------------------------------------------------
# Rendering (pure)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_answer(answer: Answer) -> list[str]:
    """The answer as Slack mrkdwn messages, each within `MESSAGE_LIMIT` characters.

    [n] markers stay in the text; a sources list follows with title, source, date and the quote as a
    block quote. Article and model text is escaped, so it can neither format links nor ping @channel.
    """
    labels = _labels(answer.language)
    body = escape(answer.answer.strip())
    pieces: list[tuple[str, str]] = []  # (separator before the piece, piece)
    if answer.abstained:
        pieces.append(("", f":grey_question: *{labels.abstained}*"))
        if body:
            pieces.append(("\n", body))
    else:
        pieces.append(("", body or "…"))
    if answer.citations:
        pieces.append(("\n\n", f"*{labels.sources}*"))
        for citation in sorted(answer.citations, key=lambda c: c.marker):
            pieces.append(("\n", _render_citation(citation)))
    return _pack(pieces, MESSAGE_LIMIT)


def ephemeral_blocks(
    parts: Sequence[str], share_id: str | None, *, language: str = "en"
) -> list[dict[str, Any]]:
    """Block Kit for the ephemeral `/ask` answer: the rendered parts and a "Share in channel" button."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in parts[:49]
    ]
    if share_id is not None:
        button = {
            "type": "button",
            "action_id": SHARE_ACTION_ID,
            "text": {"type": "plain_text", "text": _labels(language).share},
            "style": "primary",
            "value": share_id,
        }
        blocks.append({"type": "actions", "block_id": "share", "elements": [button]})
    return blocks


def question_from_slack(text: str, bot_user_id: str | None = None) -> str:
    """Turn a Slack message into a plain question: drop the bot's mention, unwrap links, unescape."""

    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "" if target[1:] == bot_user_id else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label
        return label or target

    plain = re.sub(r"<([^<>]*)>", replace, text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]+", " ", plain).strip()


def _labels(language: str) -> _Labels:
    return _LABELS.get(language[:2].lower(), _LABELS["en"])


def _render_citation(citation: Citation) -> str:
    title = escape(citation.title.strip() or citation.article_id)
    if citation.url and citation.url.startswith(("http://", "https://")):
        title = f"<{escape(citation.url).replace('|', '%7C')}|{title.replace('|', '/')}>"
    meta = " · ".join(escape(value) for value in (citation.source, citation.date) if value)
    head = f"*[{citation.marker}]* {title}" + (f" · {meta}" if meta else "")
    lines = citation.quote.strip().splitlines() or [""]
    quote = "\n".join(f"> {escape(line)}".rstrip() for line in lines)
    return f"{head}\n{quote}"


def _pack(pieces: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """Greedily fill messages with whole pieces; split a piece only when it alone exceeds `limit`."""
    messages: list[str] = []
    current = ""
    for separator, piece in pieces:
        for i, chunk in enumerate(_split_text(piece, limit)):
            sep = separator if i == 0 else "\n"
            if not current:
                current = chunk
            elif len(current) + len(sep) + len(chunk) <= limit:
                current += sep + chunk
            else:
                messages.append(current)
                current = chunk
    if current:
        messages.append(current)
    return messages or ["…"]


def _split_text(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for segment in _split_line(line, limit):
            if current is None:
                current = segment
            elif len(current) + 1 + len(segment) <= limit:
                current += "\n" + segment
            else:
                chunks.append(current)
                current = segment
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _split_line(line: str, limit: int) -> list[str]:
    # A block-quote line keeps its "> " on every piece, so the continuation still renders as a quote.
    prefix = "> " if line.startswith("> ") else ""
    segments: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", len(prefix) + 1, limit + 1)
        if cut <= limit // 2:
            cut = limit
        entity = line.rfind("&", max(0, cut - 5), cut)
        if entity > len(prefix) and ";" not in line[entity:cut]:
            cut = entity  # never cut "&amp;" in half
        segments.append(line[:cut].rstrip())
        line = prefix + line[cut:].lstrip()
    segments.append(line)
    return segments


# --------------------------------------------------------------------------------------------------
# Small in-memory stores (one process serves one workspace; see docs/slack.md)


class _SeenOnce:
    """Remembers keys for `ttl_s`; `first(key)` is True only the first time a key is offered."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 50_000) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._items: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._items and (next(iter(self._items.values())) < now or len(self._items) >= self._max):
                self._items.popitem(last=False)
            if key in self._items:
                return False
            self._items[key] = now + self._ttl
            return True


class _RateLimiter:
    """Sliding one-minute window per user. `check` returns 0 when allowed, else seconds to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user: str) -> float:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(user, deque())
            while hits and hits[0] <= now - 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1.0, 60.0 - (now - hits[0]))
            hits.append(now)
            return 0.0


class _Histories:
    """Conversation turns per Slack thread, least recently used threads forgotten first."""

    def __init__(self, max_threads: int = 1000, max_turns: int = 20) -> None:
        self._threads: OrderedDict[str, list[Turn]] = OrderedDict()
        self._max_threads = max_threads
        self._max_turns = max_turns
        self._lock = threading.Lock()

    def get(self, key: str) -> list[Turn]:
        with self._lock:
            turns = self._threads.get(key)
            if turns is None:
                return []
            self._threads.move_to_end(key)
            return list(turns)

    def add(self, key: str, *turns: Turn) -> None:
        with self._lock:
            kept = [*self._threads.pop(key, []), *turns][-self._max_turns :]
            self._threads[key] = kept
            while len(self._threads) > self._max_threads:
                self._threads.popitem(last=False)


@dataclass(frozen=True)
class _Shareable:
    user: str
    question: str
    parts: list[str]
    language: str


class _Shares:
    """Ephemeral answers waiting for their "Share" button (a button value holds only 2000 chars)."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 1000) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._items: OrderedDict[str, tuple[float, _Shareable]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, item: _Shareable) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._items[key] = (time.monotonic() + self._ttl, item)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> _Shareable | None:
        with self._lock:
            entry = self._items.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_RE.search(message):
            record.msg = _TOKEN_RE.sub(r"\1-(redacted)", message)
            record.args = None
        return True


def _redacting_logger() -> logging.Logger:
    if not any(isinstance(f, _RedactTokens) for f in _api_log.filters):
        _api_log.addFilter(_RedactTokens())
    return _api_log


# --------------------------------------------------------------------------------------------------
# The bot


class _Bot:
    """Listener callbacks. Bolt acks first; answers are computed on a small worker pool."""

    def __init__(
        self, assistant: Assistant, settings: SlackSettings, auth: SlackResponse, workers: int
    ) -> None:
        self.assistant = assistant
        self.bot_user_id = str(auth.get("user_id") or "")
        self.bot_name = str(auth.get("user") or "assistant")
        self.seen = _SeenOnce()
        self.limiter = _RateLimiter(settings.rate_limit_per_minute)
        self.histories = _Histories()
        self.shares = _Shares()
        # A CPU-bound LLM gains nothing from parallel answers; the pool keeps Bolt's threads free to ack.
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-answer")
        self._pending = 0
        self._pending_lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- middleware ---------------------------------------------------------------------------------

    def dedupe_events(self, body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
        # Runs after Bolt's signature check, so forged requests cannot fill the store. Slack retries an
        # event (X-Slack-Retry-Num) when the ack was late or lost; the same event_id must not answer twice.
        event_id = body.get("event_id")
        if (
            body.get("type") == "event_callback"
            and isinstance(event_id, str)
            and not self.seen.first(event_id)
        ):
            log.info("Ignoring a repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    # -- listeners ----------------------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any], client: WebClient) -> None:
        self._on_user_message(event, client)

    def on_message(self, event: dict[str, Any], client: WebClient) -> None:
        # Channel messages arrive only as app_mention; a plain `message` is answered in DMs only.
        if event.get("channel_type") == "im":
            self._on_user_message(event, client)

    def on_ask(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        user = str(command.get("user_id") or "")
        question = question_from_slack(str(command.get("text") or ""), self.bot_user_id)
        if not question:
            ack(text=_HELP.format(name=self.bot_name))
            return
        wait = self.limiter.check(user)
        if wait:
            ack(text=_rate_limited(wait, self.limiter))
            return
        ack(text=self._thinking_text())
        self._submit(self._answer_command, respond, user, question)

    def on_share(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        key = str(action.get("value") or "")
        user = str((body.get("user") or {}).get("id") or "")
        channel = str(
            (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        )
        item = self.shares.get(key)
        if item is None or item.user != user:
            respond(
                text="This answer is no longer available to share. Ask again with `/ask`.",
                replace_original=False,
            )
            return
        labels = _labels(item.language)
        header = f"<@{user}> {labels.asked}: _{escape(item.question)}_"
        messages = _pack([("", header), *(("\n\n", part) for part in item.parts)], MESSAGE_LIMIT)
        try:
            first = client.chat_postMessage(
                channel=channel, text=messages[0], unfurl_links=False, unfurl_media=False
            )
            for text in messages[1:]:
                client.chat_postMessage(
                    channel=channel, thread_ts=first["ts"], text=text, unfurl_links=False, unfurl_media=False
                )
        except SlackApiError as err:
            error = err.response.get("error")
            log.warning("Sharing an answer in %s failed: %s", channel, error)
            if error in ("not_in_channel", "channel_not_found"):
                text = f"I can't post here. Invite me with `/invite @{self.bot_name}` and try again."
            else:
                text = f"Sharing failed ({error}). Please try again."
            respond(text=text, replace_original=False)
            return
        self.shares.drop(key)
        respond(delete_original=True)

    # -- work ---------------------------------------------------------------------------------------

    def _on_user_message(self, event: dict[str, Any], client: WebClient) -> None:
        user = event.get("user")
        if (
            event.get("bot_id")
            or event.get("subtype") not in (None, "thread_broadcast", "file_share")
            or not isinstance(user, str)
            or user == self.bot_user_id
        ):
            return
        channel, ts = str(event["channel"]), str(event["ts"])
        # A DM that mentions the bot may arrive as both `message` and `app_mention`: answer it once.
        if not self.seen.first(f"message:{channel}:{ts}"):
            return
        thread_ts = str(event.get("thread_ts") or ts)
        question = question_from_slack(str(event.get("text") or ""), self.bot_user_id)
        if not question:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=_HELP.format(name=self.bot_name)
            )
            return
        wait = self.limiter.check(user)
        if wait:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=_rate_limited(wait, self.limiter)
            )
            return
        thinking = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=self._thinking_text())
        self._submit(self._answer_thread, client, channel, thread_ts, str(thinking["ts"]), question)

    def _answer_thread(
        self, client: WebClient, channel: str, thread_ts: str, reply_ts: str, question: str
    ) -> None:
        key = f"{channel}:{thread_ts}"
        try:
            answer = self.assistant.ask(question, history=self.histories.get(key))
        except AssistantError as err:
            client.chat_update(channel=channel, ts=reply_ts, text=f":warning: {escape(str(err))}")
            return
        except Exception:
            log.exception("Answering in %s (thread %s) failed", channel, thread_ts)
            client.chat_update(channel=channel, ts=reply_ts, text=_FAILED)
            return
        self.histories.add(
            key, Turn(role="user", content=question), Turn(role="assistant", content=answer.answer)
        )
        parts = render_answer(answer)
        client.chat_update(channel=channel, ts=reply_ts, text=parts[0])
        for part in parts[1:]:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=part, unfurl_links=False, unfurl_media=False
            )

    def _answer_command(self, respond: Respond, user: str, question: str) -> None:
        try:
            answer = self.assistant.ask(question)
        except AssistantError as err:
            respond(text=f":warning: {escape(str(err))}", replace_original=True)
            return
        except Exception:
            log.exception("Answering /ask failed")
            respond(text=_FAILED, replace_original=True)
            return
        parts = render_answer(answer)
        share_id = self.shares.put(_Shareable(user, question, parts, answer.language))
        respond(
            text=parts[0],
            blocks=ephemeral_blocks(parts, share_id, language=answer.language),
            response_type="ephemeral",
            replace_original=True,
        )

    def _submit(self, job: Callable[..., None], *args: Any) -> None:
        with self._pending_lock:
            self._pending += 1

        def run() -> None:
            try:
                job(*args)
            except SlackClientError as err:
                log.warning("A Slack API call failed while answering: %s", err)
            except Exception:
                log.exception("Answer job failed")
            finally:
                with self._pending_lock:
                    self._pending -= 1

        self.pool.submit(run)

    def _thinking_text(self) -> str:
        with self._pending_lock:
            ahead = self._pending
        if ahead:
            return f"{_THINKING} _({ahead} question{'s' if ahead > 1 else ''} ahead of yours)_"
        return _THINKING


def _rate_limited(wait_s: float, limiter: _RateLimiter) -> str:
    return (
        f"You're asking faster than I can read: at most {limiter.per_minute} questions per minute. "
        f"Please ask again in about {round(wait_s)} s."
    )


# --------------------------------------------------------------------------------------------------
# Building and running


def build_app(assistant: Assistant, settings: SlackSettings, *, workers: int = 1) -> App:
    """A Bolt app answering mentions, DMs and `/ask`. Calls auth.test; raises ConfigError on bad tokens."""
    return _build(assistant, settings, workers=workers)[0]


def _build(assistant: Assistant, settings: SlackSettings, *, workers: int = 1) -> tuple[App, _Bot]:
    bot_token = _required(settings.bot_token, "SLACK_BOT_TOKEN", "xoxb-", "the Bot User OAuth Token")
    client = WebClient(
        token=bot_token,
        base_url=_api_url(settings),
        logger=_redacting_logger(),
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    auth = _auth_test(client, settings)
    signing_secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = App(
        client=client,
        name="news-assistant",
        signing_secret=signing_secret,
        # auth.test ran above (with errors a user can act on); Bolt would only repeat it.
        token_verification_enabled=False,
        request_verification_enabled=bool(signing_secret),
        process_before_response=False,
    )
    for middleware in getattr(app, "_middleware_list", []):
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = auth  # spares a second auth.test on the first event
    if not signing_secret:
        # Without a signing secret nothing can be verified: serve Socket Mode only, refuse HTTP requests.
        app.use(_socket_mode_only)
    bot = _Bot(assistant, settings, auth, workers)
    app.use(bot.dedupe_events)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.command("/ask")(bot.on_ask)
    app.action(SHARE_ACTION_ID)(bot.on_share)
    return app, bot


def _socket_mode_only(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
    if req.mode != "socket_mode":
        return BoltResponse(status=401, body={"error": "invalid request"})
    return next()


def _required(secret: Any, env: str, prefix: str, what: str) -> str:
    value = secret.get_secret_value().strip() if secret is not None else ""
    if not value:
        raise ConfigError(f"{env} is not set: copy {what} ({prefix}…) from your Slack app's settings.")
    if not value.startswith(prefix):
        raise ConfigError(f"{env} does not look like {what}: it should start with {prefix}")
    return value


def _api_url(settings: SlackSettings) -> str:
    url = settings.api_url.strip() or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def _auth_test(client: WebClient, settings: SlackSettings) -> SlackResponse:
    try:
        return client.auth_test()
    except SlackApiError as err:
        error = err.response.get("error")
        raise ConfigError(
            f"Slack rejected SLACK_BOT_TOKEN ({error}). Copy the Bot User OAuth Token (xoxb-…) again "
            "from OAuth & Permissions, and reinstall the app if its scopes changed."
        ) from None
    except (SlackClientError, OSError) as err:
        raise BackendUnavailableError(
            f"Cannot reach the Slack API at {_api_url(settings)} ({type(err).__name__}): "
            "check the network, or SLACK_API_URL."
        ) from None


def start_socket_mode(app: App, settings: SlackSettings) -> SocketModeHandler:
    """Open the Socket Mode websocket (apps.connections.open); returns the connected handler."""
    app_token = _required(settings.app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token")
    try:
        # Checked before the handler exists: its background threads need a second to wind down.
        url = str(app.client.apps_connections_open(app_token=app_token)["url"])
    except SlackApiError as err:
        raise ConfigError(
            f"Slack rejected SLACK_APP_TOKEN ({err.response.get('error')}). Create an app-level token with "
            "the connections:write scope under Basic Information, and enable Socket Mode."
        ) from None
    except (SlackClientError, OSError) as err:
        raise BackendUnavailableError(
            f"Cannot reach the Slack API at {_api_url(settings)} ({type(err).__name__}): check the network."
        ) from None
    handler = SocketModeHandler(app, app_token=app_token, logger=_redacting_logger(), web_client=app.client)
    handler.client.wss_uri = url
    try:
        handler.client.connect()
    except Exception as err:
        handler.client.close()
        raise BackendUnavailableError(
            f"Cannot open the Slack Socket Mode connection ({type(err).__name__}): check the network."
        ) from None
    return handler


class _EventsHandler(BaseHTTPRequestHandler):
    server: _EventsServer
    timeout = 10  # seconds a client may take to send its request
    server_version = "news-assistant"

    def do_POST(self) -> None:
        if self.path.partition("?")[0] != EVENTS_PATH:
            self._reply(404, "not found")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY_BYTES:
            self._refuse(413, "request too large", f"Content-Length {self.headers.get('Content-Length')!r}")
            return
        try:
            body = self.rfile.read(length).decode("utf-8")
        except UnicodeDecodeError:
            self._refuse(400, "bad request", "a body that is not UTF-8")
            return
        # Checked before Bolt sees the request: Bolt parses the body (and the timestamp) before it
        # verifies the signature, so garbage used to cost a 500 and a logged traceback each time.
        problem = self._unverified(body)
        if problem is not None:
            self._refuse(401, "invalid request", problem)
            return
        problem = _malformed(body, self.headers.get("Content-Type") or "")
        if problem is not None:
            self._refuse(400, "bad request", problem)
            return
        headers: dict[str, str | Sequence[str]] = {
            key.lower(): self.headers.get_all(key) or [] for key in set(self.headers.keys())
        }
        try:
            response = self.server.app.dispatch(
                BoltRequest(body=body, query=self.path.partition("?")[2], headers=headers)
            )
        except Exception:
            log.exception("Handling a Slack request failed")
            self._reply(500, "internal error")
            return
        payload = response.body if isinstance(response.body, str) else json.dumps(response.body)
        self._reply(response.status, payload, response.headers)

    def _unverified(self, body: str) -> str | None:
        """Why the request cannot be from Slack, or None when its signature and timestamp check out."""
        verifier = self.server.verifier
        if verifier is None:
            return "HTTP requests are refused without a signing secret"
        timestamp = (self.headers.get("X-Slack-Request-Timestamp") or "").strip()
        signature = (self.headers.get("X-Slack-Signature") or "").strip()
        if not (timestamp.isascii() and timestamp.isdigit()):
            return f"no valid X-Slack-Request-Timestamp ({timestamp[:40]!r})"
        if not signature:
            return "no X-Slack-Signature"
        if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "a wrong signature, or a timestamp more than five minutes off"
        return None

    def _refuse(self, status: int, reply: str, why: str) -> None:
        # One line per refused request and no traceback: forged requests must not fill the log.
        client = self.client_address[0]
        log.warning("Refused a request to %s from %s with %d: %s", EVENTS_PATH, client, status, why)
        self._reply(status, reply)

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/healthz" else 404, "ok" if self.path == "/healthz" else "not found")

    def _reply(self, status: int, body: str, headers: dict[str, Sequence[str]] | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        for key, values in (headers or {}).items():
            if key.lower() != "content-length":
                for value in values:
                    self.send_header(key, value)
        if not headers or not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("HTTP %s", format % args)


def _malformed(body: str, content_type: str) -> str | None:
    """What Bolt could not parse in a signed request (Slack never sends it; a broken proxy might)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/json" or body.lstrip().startswith("{"):
            json.loads(body)
        else:
            payload = parse_qs(body).get("payload")
            if payload:
                json.loads(payload[0])
    except ValueError as err:
        return f"a body that is not valid JSON ({err})"
    return None


class _EventsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, signing_secret: str | None) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        super().__init__(address, _EventsHandler)


def serve_http(
    app: App, *, host: str = "127.0.0.1", port: int = 3000, signing_secret: str | None = None
) -> ThreadingHTTPServer:
    """A threaded HTTP server for `POST /slack/events` (bound, not yet serving: call serve_forever).

    Each request's signature is checked against `signing_secret` before anything else is done with
    it; without a secret every request is refused (401), since anyone could send it.
    """
    try:
        return _EventsServer((host, port), app, signing_secret)
    except OSError as err:
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({err.strerror}): choose another --port."
        ) from None


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
        _required(settings.app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token")
    elif not settings.signing_secret or not settings.signing_secret.get_secret_value().strip():
        raise ConfigError(
            "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials), "
            "or use Socket Mode with SLACK_APP_TOKEN."
        )
    app, bot = _build(assistant, settings)
    ready = on_ready or log.info
    try:
        with _stops_on_signals():
            if mode == "socket":
                handler = start_socket_mode(app, settings)
                ready(f"Connected to Slack in Socket Mode as @{bot.bot_name}. Press Ctrl+C to stop.")
                try:
                    threading.Event().wait()
                finally:
                    handler.client.close()
            else:
                secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
                server = serve_http(app, host=host, port=port, signing_secret=secret)
                bound_host, bound_port = server.server_address[:2]
                ready(
                    f"Slack events endpoint: http://{bound_host!s}:{bound_port}{EVENTS_PATH} (Ctrl+C to stop)"
                )
                try:
                    server.serve_forever(poll_interval=0.2)
                finally:
                    server.server_close()
    except KeyboardInterrupt:
        pass
    finally:
        bot.close()


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
