"""A local stand-in for Slack: the Web API methods the bot calls, response_url hooks, and a Socket Mode
websocket. It records every call so tests assert on what "Slack" received. Binds 127.0.0.1 only.

Modelled on slackapi/bolt-python tests/mock_web_api_server; nothing on PyPI provides it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-111-222-stubbotsecret"
APP_TOKEN = "xapp-1-A111-333-stubappsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
TEAM_ID = "T0STUB"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "A0STUB"

_JSON_FIELDS = ("blocks", "attachments", "metadata")


@dataclass
class Call:
    """One request the stub received: a Web API method, or `response_url:<name>`."""

    method: str
    params: dict[str, Any]
    token: str | None = None
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class SlackStub:
    """Start with `with SlackStub() as stub:`; point `SlackSettings.api_url` at `stub.api_url`."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        errors: dict[str, str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # method -> Slack error code to answer with, e.g. {"chat.postMessage": "not_in_channel"}
        self.errors: dict[str, str] = dict(errors or {})
        self.calls: list[Call] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> SlackStub:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as err:  # surfaced in start()
                failure.append(err)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name="slack-stub", daemon=True)
        self._thread.start()
        if not started.wait(10) or failure:
            raise RuntimeError(f"Slack stub did not start: {failure}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- addresses --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/response/{name}"

    # -- inspection -------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self, predicate: Callable[[list[Call]], bool], *, timeout: float = 5.0, what: str = "calls"
    ) -> list[Call]:
        """Block until `predicate(all calls)` holds; raise AssertionError with the calls on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.params.get("text")) for c in self.calls]
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; stub saw {seen}")
                self._cond.wait(left)
            return list(self.calls)

    def wait_for_call(
        self, method: str, where: Callable[[Call], bool] = lambda c: True, *, timeout: float = 5.0
    ) -> Call:
        calls = self.wait_for(
            lambda cs: any(c.method == method and where(c) for c in cs), timeout=timeout, what=method
        )
        return next(c for c in calls if c.method == method and where(c))

    # -- Socket Mode ------------------------------------------------------------------------------

    def wait_socket_connected(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._sockets:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no Socket Mode client connected")
                self._cond.wait(left)

    def close_sockets(self, timeout: float = 5.0) -> None:
        """Hang up every Socket Mode connection (as Slack does when it rotates a connection)."""
        if self._loop is None or not self._thread or not self._thread.is_alive():
            return

        async def close_all() -> None:
            for ws in list(self._sockets):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout)

    def send_socket_envelope(
        self,
        payload: dict[str, Any],
        *,
        kind: str = "events_api",
        retry_attempt: int = 0,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Push one envelope to the connected client and return its ack (raises on timeout)."""
        self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        assert self._loop is not None
        ws = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(envelope)), self._loop).result(timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout}s")
                self._cond.wait(left)
            return self.acks[envelope_id]

    # -- handlers ---------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key in _JSON_FIELDS:
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.pop("token", None)
        reply = self._reply(method, params, token)
        self._record(Call(method, params, token, reply))
        return web.json_response(reply)

    def _reply(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token != expected:
            return {"ok": False, "error": "invalid_auth"}
        if method in self.errors:
            return {"ok": False, "error": self.errors[method]}
        channel = params.get("channel")
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://stub.slack.com/",
                    "team": "Stub",
                    "user": "newsbot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket=stub"}
            case "chat.postMessage":
                ts = self._next_ts()
                message = {"type": "message", "text": params.get("text", ""), "ts": ts, "bot_id": BOT_ID}
                if params.get("thread_ts"):
                    message["thread_ts"] = params["thread_ts"]
                return {"ok": True, "channel": channel, "ts": ts, "message": message}
            case "chat.update":
                return {"ok": True, "channel": channel, "ts": params.get("ts"), "text": params.get("text")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "reactions.add":
                return {"ok": True}
            case _:
                return {"ok": False, "error": "unknown_method"}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.read()
        params = json.loads(body) if body else {}
        self._record(Call(f"response_url:{request.match_info['name']}", params))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "stub", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        with self._cond:
            self._sockets.append(ws)
            self._cond.notify_all()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    with self._cond:
                        self.acks[data["envelope_id"]] = data
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._sockets.remove(ws)
        return ws

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"
