"""The Slack bot end to end against a local Slack stub: signed HTTP events, Socket Mode envelopes,
and assertions on what the stub's Web API received."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

pytest.importorskip("slack_bolt")

from assistant.config import Settings, SlackSettings
from assistant.errors import AssistantError, BackendUnavailableError, ConfigError
from assistant.interfaces import slack
from assistant.paths import default_prompts_dir
from assistant.prompts import Prompts
from assistant.types import Answer, AnswerEvent, Citation, FinalEvent, IndexStats, StatusEvent, Turn
from tests.support.slack_stub import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    Call,
    SlackStub,
)

QUOTE = "Die EZB hob den Leitzins am Donnerstag auf 4,5 Prozent an."
USER = "U0ALICE"
OTHER_USER = "U0BOB"
CHANNEL = "C0NEWS"
DM = "D0ALICE"
_ids = itertools.count(1)


# --------------------------------------------------------------------------------------------------
# A duck-typed Assistant returning real Answer objects: fast, and exact about what it was asked.


class FakeAssistant:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Turn]]] = []
        self.gate: threading.Event | None = None
        self.error: Exception | None = None
        self.answer_text = "Der Leitzins stieg auf 4,5 Prozent [1]."
        self._lock = threading.Lock()

    def ask(
        self, question: str, *, history: Sequence[Turn] = (), k: int | None = None, filters: Any = None
    ) -> Answer:
        with self._lock:
            self.calls.append((question, list(history)))
        if self.gate is not None and not self.gate.wait(10):
            raise TimeoutError("test gate never opened")
        if self.error is not None:
            raise self.error
        citation = Citation(
            marker=1,
            article_id="ezb-2024",
            title="EZB erhöht Leitzins",
            source="Beispielzeitung",
            date="2024-05-02",
            quote=QUOTE,
            start=0,
            end=len(QUOTE),
        )
        return Answer(
            question=question, answer=self.answer_text, abstained=False, language="de", citations=[citation]
        )

    # What the bot uses besides `ask`: the shared vocabulary, model loading, the stream, the index.
    prompts = Prompts(default_prompts_dir())

    def warm_up(self) -> Iterator[StatusEvent]:
        return iter(())

    def ask_stream(self, question: str, **kwargs: Any) -> Iterator[AnswerEvent]:
        yield StatusEvent(text="Searching the articles")
        yield FinalEvent(answer=self.ask(question, **kwargs))

    def stats(self) -> IndexStats:
        return IndexStats(collection="news", embedder="hashing", location="/srv/index", articles=5, chunks=9)

    def questions(self) -> list[str]:
        with self._lock:
            return [q for q, _ in self.calls]


# --------------------------------------------------------------------------------------------------
# Slack-shaped payloads and signed delivery


def next_ts() -> str:
    return f"{1_800_000_000 + next(_ids)}.000200"


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0STUB",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def mention(
    text: str, *, user: str = USER, ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts or next_ts(),
        "channel": CHANNEL,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, *, user: str = USER, ts: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts or next_ts(),
        "channel": DM,
        **extra,
    }


def signature(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def post(
    url: str,
    body: str,
    *,
    content_type: str = "application/json",
    timestamp: int | None = None,
    signed_body: str | None = None,
    secret: str = SIGNING_SECRET,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(body if signed_body is None else signed_body, ts, secret),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub() as server:
        yield server


def settings_for(stub: SlackStub, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": SecretStr(BOT_TOKEN),
        "app_token": SecretStr(APP_TOKEN),
        "signing_secret": SecretStr(SIGNING_SECRET),
        "api_url": stub.api_url,
        "rate_limit_per_minute": 30,
    }
    values.update(overrides)
    return SlackSettings(**values)


class HttpBot:
    def __init__(self, stub: SlackStub, assistant: Any, settings: SlackSettings) -> None:
        self.app = slack.build_app(assistant, settings)
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
        self.server = slack.serve_http(self.app, host="127.0.0.1", port=0, signing_secret=secret)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{slack.EVENTS_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def event(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        headers = kwargs.pop("headers", None)
        return post(self.url, json.dumps(event_body(event, **kwargs)), headers=headers)

    def form(self, fields: dict[str, str]) -> tuple[int, str]:
        return post(self.url, urlencode(fields), content_type="application/x-www-form-urlencoded")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake() -> Iterator[FakeAssistant]:
    assistant = FakeAssistant()
    yield assistant
    if assistant.gate is not None:
        assistant.gate.set()


@pytest.fixture
def http_bot(stub: SlackStub) -> Iterator[Callable[..., HttpBot]]:
    bots: list[HttpBot] = []

    def start(assistant: Any, **overrides: Any) -> HttpBot:
        bot = HttpBot(stub, assistant, settings_for(stub, **overrides))
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.close()


@pytest.fixture
def socket_bot(stub: SlackStub) -> Iterator[Callable[[Any], Any]]:
    handlers: list[Any] = []

    def start(assistant: Any) -> Any:
        settings = settings_for(stub)
        handler = slack.start_socket_mode(slack.build_app(assistant, settings), settings)
        handlers.append(handler)
        stub.wait_socket_connected()
        return handler

    yield start
    for handler in handlers:
        # Hang up from "Slack's" side and wake the SDK's queue reader, or close() idles up to 4 s.
        handler.client.auto_reconnect_enabled = False
        handler.client.closed = True
        stub.close_sockets()
        deadline = time.monotonic() + 5
        while handler.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        handler.client.message_queue.put(None)
        handler.client.close()


def answer_update(stub: SlackStub, thinking: Call, *, timeout: float = 5.0) -> Call:
    """The chat.update that turned the "thinking" reply into the answer."""
    ts = thinking.response["ts"]

    def final(call: Call) -> bool:  # not one of the progress updates ("… · 3 s, verified so far")
        text = str(call.params.get("text") or "")
        return call.params.get("ts") == ts and not text.startswith("_:hourglass_flowing_sand:")

    return stub.wait_for_call("chat.update", final, timeout=timeout)


def reply_in_thread(stub: SlackStub, thread_ts: str, *, nth: int = 1, timeout: float = 5.0) -> Call:
    """The nth chat.postMessage into the thread `thread_ts` (waits for it)."""

    def replies(calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method == "chat.postMessage" and c.params.get("thread_ts") == thread_ts]

    calls = stub.wait_for(
        lambda cs: len(replies(cs)) >= nth, timeout=timeout, what=f"reply {nth} in {thread_ts}"
    )
    return replies(calls)[nth - 1]


def assert_cited(text: str, quote: str = QUOTE) -> None:
    assert "[1]" in text
    assert f"\n> {slack.escape(quote)}" in text


# --------------------------------------------------------------------------------------------------
# Answering: both modes, against the real Assistant (fake LLM, hashing embedder, sample corpus)


class Recording:
    """Wraps the real Assistant to keep the Answer it returned, for exact assertions."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.answers: list[Answer] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ask_stream(self, question: str, **kwargs: Any) -> Iterator[AnswerEvent]:
        for event in self.inner.ask_stream(question, **kwargs):
            if isinstance(event, FinalEvent):
                self.answers.append(event.answer)
            yield event


@pytest.fixture
def real_assistant(make_settings: Callable[..., Settings]) -> Iterator[Any]:
    """The real service on the sample corpus (hashing embedder, fake LLM); its relevance threshold is
    tuned for e5 scores, so it is lowered to what hashing vectors reach."""
    from assistant.service import Assistant

    assistant = Assistant.from_settings(make_settings(answer={"min_relevance": 0.3}))
    assistant.ingest()
    yield assistant
    assistant.close()


REAL_QUESTION = "Was berichtet Politico über Waffenlieferungen aus Minsk?"


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_mention_is_answered_in_thread_with_cited_answer(
    mode: str, stub: SlackStub, real_assistant: Any, http_bot: Any, socket_bot: Any
) -> None:
    assistant = Recording(real_assistant)
    event = mention(REAL_QUESTION)
    if mode == "http":
        status, _ = http_bot(assistant).event(event)
        assert status == 200
    else:
        socket_bot(assistant)
        ack = stub.send_socket_envelope(event_body(event))
        assert "envelope_id" in ack

    thinking = reply_in_thread(stub, event["ts"])
    assert "Looking through the articles" in thinking.params["text"]
    update = answer_update(stub, thinking, timeout=15)
    assert update.params["channel"] == CHANNEL
    answer = assistant.answers[0]
    assert not answer.abstained and answer.citations, answer
    assert_cited(update.params["text"], answer.citations[0].quote.strip().splitlines()[0])
    assert answer.citations[0].title.strip()[:20] in update.params["text"].replace("&amp;", "&")


def test_abstention_is_clearly_marked(stub: SlackStub, real_assistant: Any, http_bot: Any) -> None:
    event = mention("Wer gewann die Fußball-Weltmeisterschaft 1954?")
    http_bot(real_assistant).event(event)
    text = answer_update(stub, reply_in_thread(stub, event["ts"]), timeout=15).params["text"]
    assert text.startswith(":grey_question: *Nichts dazu in den Artikeln*\n")
    assert "[1]" not in text


def test_ack_does_not_wait_for_the_answer(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    fake.gate = threading.Event()  # the "LLM" is busy until the test opens the gate
    bot = http_bot(fake)
    event = mention("Wie hoch ist der Leitzins?")
    started = time.monotonic()
    status, _ = bot.event(event)
    assert status == 200
    assert time.monotonic() - started < 2.0
    thinking = reply_in_thread(stub, event["ts"])
    assert not stub.calls_to("chat.update")
    fake.gate.set()
    update = answer_update(stub, thinking)
    assert_cited(update.params["text"])
    assert "*Quellen*" in update.params["text"]
    assert fake.questions() == ["Wie hoch ist der Leitzins?"]


def test_dm_is_answered_in_a_thread(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    event = dm("Wie hoch ist der Leitzins?")
    assert http_bot(fake).event(event)[0] == 200
    thinking = reply_in_thread(stub, event["ts"])
    assert thinking.params["channel"] == DM
    assert_cited(answer_update(stub, thinking).params["text"])


def test_follow_up_in_thread_uses_the_thread_history(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any
) -> None:
    bot = http_bot(fake)
    first = mention("Wie hoch ist der Leitzins?")
    bot.event(first)
    answer_update(stub, reply_in_thread(stub, first["ts"]))

    follow_up = mention("Und seit wann?", thread_ts=first["ts"])
    bot.event(follow_up)
    answer_update(stub, reply_in_thread(stub, first["ts"], nth=2))
    other_thread = mention("Und seit wann?")
    bot.event(other_thread)
    answer_update(stub, reply_in_thread(stub, other_thread["ts"]))

    assert fake.calls[1] == (
        "Und seit wann?",
        [
            Turn(role="user", content="Wie hoch ist der Leitzins?"),
            Turn(role="assistant", content=fake.answer_text),
        ],
    )
    assert fake.calls[2] == ("Und seit wann?", [])
    assert [c.params["thread_ts"] for c in stub.calls_to("chat.postMessage")] == [
        first["ts"],
        first["ts"],
        other_thread["ts"],
    ]


def test_the_slash_command_name_is_configurable(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    bot = http_bot(fake, command="/news")
    fields = {
        "text": "Wie hoch ist der Leitzins?",
        "user_id": USER,
        "channel_id": CHANNEL,
        "team_id": TEAM_ID,
        "response_url": stub.response_url("cmd"),
        "trigger_id": "1.2.3",
    }
    status, body = bot.form({**fields, "command": "/news"})
    assert status == 200 and "Looking through the articles" in body
    assert_cited(stub.wait_for_call("response_url:cmd").params["blocks"][0]["text"]["text"])
    status, _ = bot.form({**fields, "command": "/ask"})
    assert status == 404, "/ask is not the bot's command now"
    status, body = bot.form({**fields, "command": "/news", "text": ""})
    assert "`/news …`" in body, "the help names the configured command"


def test_check_tries_the_tokens_and_names_the_index_without_starting(
    stub: SlackStub, fake: FakeAssistant
) -> None:
    lines = slack.check(fake, settings_for(stub, command="/news"), mode="socket")  # type: ignore[arg-type]
    text = "\n".join(lines)
    assert "bot token: OK, the bot is @newsbot" in text and "app token: OK" in text
    assert "slash command: /news" in text and "index: /srv/index (collection news), 5 articles" in text
    assert stub.calls_to("apps.connections.open"), "the app token was tried against Slack"
    assert not stub.calls_to("chat.postMessage")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        slack.check(fake, settings_for(stub, signing_secret=None), mode="http")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="rejected SLACK_BOT_TOKEN"):
        slack.check(fake, settings_for(stub, bot_token=SecretStr("xoxb-revoked-0000")), mode="socket")  # type: ignore[arg-type]


def test_own_and_other_bots_messages_are_ignored(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    bot = http_bot(fake)
    ignored = [
        dm("my own thinking message", user=BOT_USER_ID, bot_id=BOT_ID),
        dm("another bot", user="U0OTHERBOT", bot_id="B0OTHER", subtype="bot_message"),
        dm("edited", subtype="message_changed"),
        {**dm("a channel message without a mention"), "channel_type": "channel", "channel": CHANNEL},
        {**mention("a bot mentioning me"), "bot_id": "B0OTHER"},
    ]
    for event in ignored:
        assert bot.event(event)[0] == 200
    barrier = dm("Wie hoch ist der Leitzins?")
    bot.event(barrier)
    answer_update(stub, reply_in_thread(stub, barrier["ts"]))
    time.sleep(0.3)
    assert fake.questions() == ["Wie hoch ist der Leitzins?"]
    assert len(stub.calls_to("chat.postMessage")) == 1


def test_slash_command_answers_ephemerally_and_shares_on_click(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any
) -> None:
    bot = http_bot(fake)
    status, body = bot.form(
        {
            "command": "/ask",
            "text": "Wie hoch ist der Leitzins?",
            "user_id": USER,
            "channel_id": CHANNEL,
            "team_id": TEAM_ID,
            "response_url": stub.response_url("cmd"),
            "trigger_id": "1.2.3",
        }
    )
    assert status == 200 and "Looking through the articles" in body  # the immediate ephemeral ack

    ephemeral = stub.wait_for_call("response_url:cmd")
    assert ephemeral.params["response_type"] == "ephemeral" and ephemeral.params["replace_original"] is True
    section, actions = ephemeral.params["blocks"][0], ephemeral.params["blocks"][-1]
    assert_cited(section["text"]["text"])
    button = actions["elements"][0]
    assert button["action_id"] == slack.SHARE_ACTION_ID
    assert not stub.calls_to("chat.postMessage")  # nothing public yet

    def click(user: str, name: str) -> None:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": TEAM_ID},
            "api_app_id": "A0STUB",
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "is_ephemeral": True, "channel_id": CHANNEL},
            "actions": [{**button, "block_id": "share", "action_ts": "1.1"}],
            "response_url": stub.response_url(name),
            "trigger_id": "1.2.4",
        }
        assert bot.form({"payload": json.dumps(payload)})[0] == 200

    click(OTHER_USER, "intruder")  # someone else replaying the button gets nothing shared
    assert "no longer available" in stub.wait_for_call("response_url:intruder").params["text"]

    stub.errors["chat.postMessage"] = "not_in_channel"
    click(USER, "uninvited")
    assert "/invite @newsbot" in stub.wait_for_call("response_url:uninvited").params["text"]
    del stub.errors["chat.postMessage"]

    click(USER, "share")
    shared = stub.wait_for_call("chat.postMessage", lambda c: c.response["ok"])
    assert shared.params["channel"] == CHANNEL and "thread_ts" not in shared.params
    assert f"<@{USER}> fragte" in shared.params["text"]
    assert_cited(shared.params["text"])
    assert stub.wait_for_call("response_url:share").params["delete_original"] is True
    assert [c.response["ok"] for c in stub.calls_to("chat.postMessage")] == [False, True]


# --------------------------------------------------------------------------------------------------
# Security


def test_forged_stale_or_tampered_requests_get_401_and_no_answer(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any
) -> None:
    bot = http_bot(fake)
    body = json.dumps(event_body(mention("Wie hoch ist der Leitzins?")))
    tampered = body.replace("Leitzins", "Bitcoin")
    assert post(bot.url, body, secret="not-the-signing-secret")[0] == 401
    assert post(bot.url, body, timestamp=int(time.time()) - 6 * 60)[0] == 401
    assert post(bot.url, tampered, signed_body=body)[0] == 401
    unsigned = urllib.request.Request(bot.url, data=body.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(unsigned, timeout=5)
    assert info.value.code == 401
    info.value.close()

    barrier = mention("Barrier?")
    bot.event(barrier)
    answer_update(stub, reply_in_thread(stub, barrier["ts"]))
    time.sleep(0.3)
    assert fake.questions() == ["Barrier?"]
    assert len(stub.calls_to("chat.postMessage")) == 1


def _raw_post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


def _signed_headers(body: str, content_type: str = "application/json") -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, ts),
    }


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        pytest.param(
            "{}", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}, 401, id="timestamp abc"
        ),
        pytest.param(
            "{}", {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"}, 401, id="timestamp 1e9"
        ),
        pytest.param("{}", {"X-Slack-Signature": "v0=00"}, 401, id="no timestamp"),
        pytest.param("{}", {"X-Slack-Request-Timestamp": "1700000000"}, 401, id="no signature"),
        pytest.param(
            "not json",
            {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=00"},
            401,
            id="non-JSON, unsigned",
        ),
        pytest.param("not json", None, 400, id="non-JSON, signed"),
        pytest.param('{"type": ', None, 400, id="truncated JSON, signed"),
        pytest.param("payload=%7Bnot-json", "form", 400, id="form payload not JSON, signed"),
    ],
)
def test_malformed_requests_get_400_or_401_and_one_log_line(
    fake: FakeAssistant,
    http_bot: Any,
    caplog: pytest.LogCaptureFixture,
    body: str,
    headers: dict[str, str] | str | None,
    status: int,
) -> None:
    bot = http_bot(fake)
    if headers is None:
        sent = _signed_headers(body)
    elif headers == "form":
        sent = _signed_headers(body, "application/x-www-form-urlencoded")
    else:
        sent = {"Content-Type": "application/json", **headers}  # type: ignore[dict-item]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert _raw_post(bot.url, body, sent) == status
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.name == "assistant.interfaces.slack.http" and record.exc_info is None
    assert record.getMessage().startswith(
        f"Refused a request to /slack/events from 127.0.0.1 with {status}: "
    )
    assert "\n" not in record.getMessage()
    assert fake.calls == []


def test_url_verification_is_answered_only_when_signed(fake: FakeAssistant, http_bot: Any) -> None:
    bot = http_bot(fake)
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    status, text = post(bot.url, body)
    assert status == 200 and "c-123" in text
    assert post(bot.url, body, secret="wrong")[0] == 401
    assert post(bot.url.replace("/slack/events", "/other"), body)[0] == 404


def test_http_requests_are_refused_without_a_signing_secret(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any
) -> None:
    bot = http_bot(fake, signing_secret=None)
    assert bot.event(mention("Wie hoch ist der Leitzins?"))[0] == 401
    assert post(bot.url, json.dumps(event_body(mention("x"))), secret="")[0] == 401
    time.sleep(0.3)
    assert fake.calls == [] and not stub.calls_to("chat.postMessage")


def test_retried_and_duplicate_events_are_answered_once(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any
) -> None:
    bot = http_bot(fake)
    event = mention("Wie hoch ist der Leitzins?")
    event_id = "Ev0RETRY0001"
    assert bot.event(event, event_id=event_id)[0] == 200
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert bot.event(event, event_id=event_id, headers=retry_headers)[0] == 200
    assert bot.event(event, event_id=event_id)[0] == 200  # a plain duplicate delivery
    # A seen event_id is dropped before any listener runs, whatever it carries.
    assert bot.event(mention("Replayed?"), event_id=event_id)[0] == 200
    # The same DM delivered as two different events (message + app_mention) is one question too.
    direct = dm(f"<@{BOT_USER_ID}> Und die Inflation?")
    bot.event(direct)
    bot.event({**direct, "type": "app_mention"})

    barrier = mention("Barrier?")
    bot.event(barrier)
    answer_update(stub, reply_in_thread(stub, barrier["ts"]))
    answer_update(stub, reply_in_thread(stub, event["ts"]))
    answer_update(stub, reply_in_thread(stub, direct["ts"]))
    time.sleep(0.3)
    assert sorted(fake.questions()) == sorted(
        ["Wie hoch ist der Leitzins?", "Und die Inflation?", "Barrier?"]
    )
    assert len(stub.calls_to("chat.postMessage")) == 3


def test_socket_mode_retry_is_answered_once(stub: SlackStub, fake: FakeAssistant, socket_bot: Any) -> None:
    socket_bot(fake)
    event = mention("Wie hoch ist der Leitzins?")
    body = event_body(event)
    stub.send_socket_envelope(body)
    stub.send_socket_envelope(body, retry_attempt=1)
    answer_update(stub, reply_in_thread(stub, event["ts"]))
    time.sleep(0.3)
    assert fake.questions() == ["Wie hoch ist der Leitzins?"]
    assert len(stub.calls_to("chat.postMessage")) == 1


def test_rate_limit_answers_politely(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    bot = http_bot(fake, rate_limit_per_minute=2)
    events = [mention(f"Frage {i}?") for i in range(3)]
    for event in events:
        bot.event(event)
    notice = stub.wait_for_call("chat.postEphemeral")
    assert notice.params["user"] == USER
    assert notice.params["thread_ts"] == events[2]["ts"]
    assert "2 questions per minute" in notice.params["text"]
    bob = mention("Frage von Bob?", user=OTHER_USER)
    bot.event(bob)
    answer_update(stub, reply_in_thread(stub, bob["ts"]))
    for event in events[:2]:
        answer_update(stub, reply_in_thread(stub, event["ts"]))
    time.sleep(0.2)
    assert sorted(fake.questions()) == ["Frage 0?", "Frage 1?", "Frage von Bob?"]


def test_assistant_errors_are_shown_politely(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    bot = http_bot(fake)
    fake.error = BackendUnavailableError(
        "Cannot reach Ollama at http://localhost:11434 - start it with `ollama serve`"
    )
    event = mention("Wie hoch ist der Leitzins?")
    bot.event(event)
    text = answer_update(stub, reply_in_thread(stub, event["ts"])).params["text"]
    assert text.startswith(":warning: Cannot reach Ollama") and "Traceback" not in text

    fake.error = RuntimeError("internal detail")
    event = mention("Noch einmal?")
    bot.event(event)
    text = answer_update(stub, reply_in_thread(stub, event["ts"])).params["text"]
    assert "went wrong" in text and "internal detail" not in text


def test_long_answers_are_split_within_limits(stub: SlackStub, fake: FakeAssistant, http_bot: Any) -> None:
    fake.answer_text = " ".join(["Ein sehr langer Satz über Zinsen und Preise."] * 150) + " [1]"
    bot = http_bot(fake)
    event = mention("Erzähl mir alles.")
    bot.event(event)
    update = answer_update(stub, reply_in_thread(stub, event["ts"]))
    stub.wait_for_call("chat.postMessage", lambda c: QUOTE in c.params["text"])  # the last part
    continuations = [c.params for c in stub.calls_to("chat.postMessage")[1:]]
    assert len(continuations) >= 2 and all(p["thread_ts"] == event["ts"] for p in continuations)
    texts = [update.params["text"], *(p["text"] for p in continuations)]
    assert all(len(t) <= slack.MESSAGE_LIMIT for t in texts)
    assert " ".join(texts).count("Zinsen") == 150
    assert "[1]" in texts[-2] + texts[-1]
    assert_cited(texts[-1])


# --------------------------------------------------------------------------------------------------
# run(): what the CLI calls, in a child process so Ctrl+C can be sent

_RUN_CHILD = """
import sys
from pydantic import SecretStr
from assistant.interfaces import slack
from tests.integration.test_slack import FakeAssistant, settings_for

class Stub:
    api_url = sys.argv[2]

slack.run(FakeAssistant(), settings_for(Stub()), mode=sys.argv[1], port=0,
          on_ready=lambda message: print("READY", message, flush=True))
print("STOPPED", flush=True)
"""


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _ignore_sigint() -> None:
    # What a background job of a non-interactive shell (CI scripts, `cmd &`) inherits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("mode", "stop_signal", "inherit_ignored_sigint"),
    [
        ("http", signal.SIGINT, False),
        ("socket", signal.SIGINT, False),
        ("http", signal.SIGINT, True),
        ("http", signal.SIGTERM, False),
    ],
    ids=["http-ctrl-c", "socket-ctrl-c", "http-ctrl-c-sigint-inherited-ignored", "http-sigterm"],
)
def test_run_serves_until_interrupted(
    mode: str, stop_signal: signal.Signals, inherit_ignored_sigint: bool, stub: SlackStub
) -> None:
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", _RUN_CHILD, mode, stub.api_url],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Start from a known SIGINT disposition, whatever the test runner itself inherited.
        preexec_fn=_ignore_sigint if inherit_ignored_sigint else _default_sigint,
    )
    try:
        ready = _read_until(child, "READY", timeout=20)
        event = mention("Wie hoch ist der Leitzins?")
        if mode == "http":
            url = re.search(r"http://\S+", ready)
            assert url, ready
            assert post(url.group(0), json.dumps(event_body(event)))[0] == 200
        else:
            assert "Socket Mode as @newsbot" in ready
            stub.send_socket_envelope(event_body(event))
        assert "index: /srv/index (collection news), 5 articles" in ready, "it says what it reads"
        assert_cited(answer_update(stub, reply_in_thread(stub, event["ts"])).params["text"])
        child.send_signal(stop_signal)
        if mode == "socket":
            time.sleep(0.2)
            stub.close_sockets()  # else the SDK's close() sits out its 3 s receive timeout
        out, _ = child.communicate(timeout=10)
        assert child.returncode == 0 and "STOPPED" in out, out
        assert "Traceback" not in out
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=5)


def _read_until(child: subprocess.Popen[str], marker: str, *, timeout: float) -> str:
    lines: list[str] = []
    found: list[str] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if marker in line:
                found.append(line)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert found, f"child never printed {marker!r}: {''.join(lines)}"
    return found[0]


# --------------------------------------------------------------------------------------------------
# Startup errors and secrets


def test_missing_and_invalid_tokens_fail_clearly(stub: SlackStub, fake: FakeAssistant) -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        slack.build_app(fake, settings_for(stub, bot_token=None))
    with pytest.raises(ConfigError, match="should start with xoxb-"):
        slack.build_app(fake, settings_for(stub, bot_token=SecretStr(APP_TOKEN)))
    with pytest.raises(ConfigError, match=r"rejected SLACK_BOT_TOKEN \(invalid_auth\)"):
        slack.build_app(fake, settings_for(stub, bot_token=SecretStr("xoxb-revoked-0000")))
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        slack.run(fake, settings_for(stub, app_token=None), mode="socket")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        slack.run(fake, settings_for(stub, signing_secret=None), mode="http", port=0)
    settings = settings_for(stub, app_token=SecretStr("xapp-1-revoked-0000"))
    with pytest.raises(ConfigError, match=r"rejected SLACK_APP_TOKEN \(invalid_auth\)"):
        slack.start_socket_mode(slack.build_app(fake, settings), settings)
    assert [c.token for c in stub.calls_to("auth.test")][-1] == BOT_TOKEN


def test_unreachable_slack_api_is_a_clear_error(stub: SlackStub, fake: FakeAssistant) -> None:
    api_url = stub.api_url
    stub.stop()
    with pytest.raises(BackendUnavailableError, match="Cannot reach the Slack API"):
        slack.build_app(fake, settings_for(stub, api_url=api_url))


def test_tokens_never_appear_in_logs(
    stub: SlackStub, fake: FakeAssistant, http_bot: Any, socket_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[AssistantError] = []
    socket_bot(fake)
    event = mention("Wie hoch ist der Leitzins?")
    stub.send_socket_envelope(event_body(event))
    answer_update(stub, reply_in_thread(stub, event["ts"]))
    bot = http_bot(fake)
    event = mention("Und über HTTP?")
    bot.event(event)
    answer_update(stub, reply_in_thread(stub, event["ts"]))
    post(bot.url, json.dumps(event_body(mention("forged"))), secret="wrong")
    for bad in (SecretStr("xoxb-111-222-stubbotsecreX"), None):
        try:
            slack.build_app(fake, settings_for(stub, bot_token=bad))
        except AssistantError as err:
            errors.append(err)
    settings = settings_for(stub, app_token=SecretStr("xapp-1-A111-333-stubappsecreX"))
    try:
        slack.start_socket_mode(slack.build_app(fake, settings), settings)
    except AssistantError as err:
        errors.append(err)

    assert len(errors) == 3
    assert any("apps.connections.open" in r.getMessage() for r in caplog.records)  # DEBUG really captured
    text = caplog.text + "\n".join(str(e) for e in errors)
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "stubbotsecre", "stubappsecre"):
        assert secret not in text
