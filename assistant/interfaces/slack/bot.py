"""The bot: Bolt listeners for mentions, DMs, `/ask` and the "Share" button, each answer computed
on a small worker pool after Bolt has acknowledged the request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from assistant.config import SlackSettings
from assistant.errors import AssistantError, GenerationError
from assistant.interfaces.answering import answer_events
from assistant.interfaces.slack.client import bot_client
from assistant.interfaces.slack.render import (
    MESSAGE_LIMIT,
    SHARE_ACTION_ID,
    ephemeral_blocks,
    escape,
    labels,
    pack,
    question_from_slack,
    render_answer,
    render_progress,
)
from assistant.interfaces.slack.stores import Histories, RateLimiter, SeenOnce, Shareable, Shares
from assistant.interfaces.vocabulary import Words
from assistant.text.language import detect_language
from assistant.types import Answer, AnswerEvent, FinalEvent, SentenceEvent, StatusEvent, Turn

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

_THINKING = "_:hourglass_flowing_sand: Looking through the articles…_"
_FAILED = ":warning: Sorry, something went wrong while answering. The details are in the bot's log."
_HELP = (
    "Ask me about the news articles, for example `@{name} What did the ECB decide on interest rates?` "
    "or `{command} …`. I answer with numbered sources and quotes, and say so when the articles do not tell."
)
# chat.update is rate-limited (Tier 3, about 50 a minute): progress replaces the reply at most this often.
PROGRESS_EVERY_S = 1.5


def build_app(assistant: Assistant, settings: SlackSettings, *, workers: int = 1) -> App:
    """A Bolt app answering mentions, DMs and `/ask`. Calls auth.test; raises ConfigError on bad tokens."""
    return build(assistant, settings, workers=workers)[0]


def build(assistant: Assistant, settings: SlackSettings, *, workers: int = 1) -> tuple[App, Bot]:
    """The Bolt app and the bot behind its listeners (close the bot when done)."""
    client, auth = bot_client(settings)
    signing_secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = App(
        client=client,
        name="news-assistant",
        signing_secret=signing_secret,
        # auth.test ran above, with errors a user can act on; Bolt repeats it once, on the first event.
        token_verification_enabled=False,
        request_verification_enabled=bool(signing_secret),
        process_before_response=False,
    )
    if not signing_secret:
        # Without a signing secret nothing can be verified: serve Socket Mode only, refuse HTTP requests.
        app.use(_socket_mode_only)
    bot = Bot(assistant, settings, auth, workers)
    app.use(bot.dedupe_events)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.command(settings.command)(bot.on_ask)
    app.action(SHARE_ACTION_ID)(bot.on_share)
    return app, bot


def _socket_mode_only(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
    if req.mode != "socket_mode":
        return BoltResponse(status=401, body={"error": "invalid request"})
    return next()


class Bot:
    """Listener callbacks. Bolt acks first; answers are computed on a small worker pool."""

    def __init__(
        self, assistant: Assistant, settings: SlackSettings, auth: SlackResponse, workers: int
    ) -> None:
        self.assistant = assistant
        self.command = settings.command
        self.bot_user_id = str(auth.get("user_id") or "")
        self.bot_name = str(auth.get("user") or "assistant")
        self.seen = SeenOnce()
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.histories = Histories()
        self.shares = Shares()
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
            ack(text=_HELP.format(name=self.bot_name, command=self.command))
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
                text=f"This answer is no longer available to share. Ask again with `{self.command}`.",
                replace_original=False,
            )
            return
        words = labels(item.language)
        header = f"<@{user}> {words.asked}: _{escape(item.question)}_"
        messages = pack([("", header), *(("\n\n", part) for part in item.parts)], MESSAGE_LIMIT)
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
                channel=channel,
                user=user,
                thread_ts=thread_ts,
                text=_HELP.format(name=self.bot_name, command=self.command),
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
        language = detect_language(question, default="en")

        def show(text: str) -> None:
            client.chat_update(channel=channel, ts=reply_ts, text=text)

        try:
            answer = self._answer(question, self.histories.get(key), _Progress(show, language))
        except AssistantError as err:
            show(f":warning: {escape(str(err))}")
            return
        except Exception:
            log.exception("Answering in %s (thread %s) failed", channel, thread_ts)
            show(_FAILED)
            return
        self.histories.add(
            key, Turn(role="user", content=question), Turn(role="assistant", content=answer.answer)
        )
        parts = render_answer(answer, Words.of(self.assistant.prompts, answer.language))
        show(parts[0])
        for part in parts[1:]:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=part, unfurl_links=False, unfurl_media=False
            )

    def _answer(self, question: str, history: list[Turn], progress: _Progress | None = None) -> Answer:
        """The verified answer; `progress` sees each step and each verified sentence on the way."""
        events = answer_events(self.assistant, question, history)
        try:
            for event in events:
                if isinstance(event, FinalEvent):
                    return event.answer
                if progress is not None:
                    progress.saw(event)
        finally:
            events.close()
        raise GenerationError("The answer stream ended without a final answer.")

    def _answer_command(self, respond: Respond, user: str, question: str) -> None:
        try:
            answer = self._answer(question, [])
        except AssistantError as err:
            respond(text=f":warning: {escape(str(err))}", replace_original=True)
            return
        except Exception:
            log.exception("Answering %s failed", self.command)
            respond(text=_FAILED, replace_original=True)
            return
        parts = render_answer(answer, Words.of(self.assistant.prompts, answer.language))
        share_id = self.shares.put(Shareable(user, question, parts, answer.language))
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


class _Progress:
    """Shows an answer's progress in the "thinking" reply: the current step with its elapsed time,
    and the sentences verified so far, at most every PROGRESS_EVERY_S."""

    def __init__(self, show: Callable[[str], None], language: str) -> None:
        self._show = show
        self._language = language
        self._status = "Starting"
        self._since = time.monotonic()
        self._sentences: list[str] = []
        self._last = time.monotonic()
        self._shown = ""

    def saw(self, event: AnswerEvent) -> None:
        if isinstance(event, StatusEvent):
            self._status, self._since = event.text, time.monotonic()
        elif isinstance(event, SentenceEvent):
            self._sentences.append(event.text)
        else:
            return
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S:
            return
        text = render_progress(self._status, now - self._since, self._sentences, self._language)
        if text != self._shown:
            self._show(text)
            self._shown, self._last = text, now


def _rate_limited(wait_s: float, limiter: RateLimiter) -> str:
    return (
        f"You're asking faster than I can read: at most {limiter.per_minute} questions per minute. "
        f"Please ask again in about {round(wait_s)} s."
    )
