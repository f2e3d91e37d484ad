"""HTTP mode: Slack posts events to `/slack/events`, handled by Bolt's own Starlette adapter and
served by uvicorn (the slack extra installs both; Gradio depends on them too).

Every request's size and signature are checked before Bolt sees it: Bolt parses the body (and the
timestamp) before it verifies the signature, so a forged or garbled request would cost a 500 and a
logged traceback each time. Refused requests get 401, 400 or 413 and one log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_MAX_BODY_BYTES = 1 << 20
_READ_TIMEOUT_S = 10.0  # seconds a client may take to send its request
_MAX_CONNECTIONS = 64  # uvicorn answers 503 beyond this many at once


class EventsServer:
    """uvicorn serving the events endpoint (and `GET /healthz`) on a socket bound at construction.

    `serve_forever` blocks until `shutdown` (from another thread); `server_close` frees the port."""

    def __init__(self, app: App, *, host: str, port: int, signing_secret: str | None) -> None:
        self._socket = _bind(host, port)
        self.server_address: tuple[str, int] = self._socket.getsockname()[:2]
        routes = [
            Route(EVENTS_PATH, _Events(app, signing_secret).handle, methods=["POST"]),
            Route("/healthz", _health, methods=["GET"]),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes),
            lifespan="off",
            log_config=None,  # the application's logging stays as it is configured
            access_log=False,
            server_header=False,
            limit_concurrency=_MAX_CONNECTIONS,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._serving = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        self._serving.set()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serving; returns once `serve_forever` has returned (at once if it never ran)."""
        self._server.should_exit = True
        if self._serving.is_set():
            self._stopped.wait()

    def server_close(self) -> None:
        self._socket.close()


def serve_http(
    app: App, *, host: str = "127.0.0.1", port: int = 3000, signing_secret: str | None = None
) -> EventsServer:
    """The server for `POST /slack/events`, bound but not yet serving (call serve_forever).

    Each request's signature is checked against `signing_secret` before anything else is done with
    it; without a secret every request is refused (401), since anyone could send it.
    """
    return EventsServer(app, host=host, port=port, signing_secret=signing_secret)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    except OSError as err:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({err.strerror}): choose another --port."
        ) from None
    return sock


async def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


class _Events:
    """The events endpoint: the checks Bolt makes too late or not at all, then Bolt's adapter."""

    def __init__(self, app: App, signing_secret: str | None) -> None:
        self._bolt = SlackRequestHandler(app)
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def handle(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and not (declared.isdigit() and int(declared) <= _MAX_BODY_BYTES):
            return _refuse(request, 413, "request too large", f"Content-Length {declared!r}")
        try:
            body = await asyncio.wait_for(_read_body(request), _READ_TIMEOUT_S)
        except asyncio.TimeoutError:
            return _refuse(request, 408, "request timeout", f"the body took over {_READ_TIMEOUT_S:g} s")
        if body is None:
            return _refuse(request, 413, "request too large", f"a body over {_MAX_BODY_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(request, 400, "bad request", "a body that is not UTF-8")
        problem = self._unverified(text, request)
        if problem is not None:
            return _refuse(request, 401, "invalid request", problem)
        problem = _malformed(text, request.headers.get("content-type", ""))
        if problem is not None:
            return _refuse(request, 400, "bad request", problem)
        try:
            # Bolt reads the body again: a request that replays what was read.
            return await self._bolt.handle(Request(request.scope, _replay(body)))
        except Exception:
            log.exception("Handling a Slack request failed")
            return PlainTextResponse("internal error", status_code=500)

    def _unverified(self, body: str, request: Request) -> str | None:
        """Why the request cannot be from Slack, or None when its signature and timestamp check out."""
        if self._verifier is None:
            return "HTTP requests are refused without a signing secret"
        timestamp = request.headers.get("x-slack-request-timestamp", "").strip()
        signature = request.headers.get("x-slack-signature", "").strip()
        if not (timestamp.isascii() and timestamp.isdigit()):
            return f"no valid X-Slack-Request-Timestamp ({timestamp[:40]!r})"
        if not signature:
            return "no X-Slack-Signature"
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "a wrong signature, or a timestamp more than five minutes off"
        return None


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it grows past the limit (a chunked request declares no length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes) -> Callable[[], Awaitable[Message]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _refuse(request: Request, status: int, reply: str, why: str) -> Response:
    # One line per refused request and no traceback: forged requests must not fill the log.
    client = request.client.host if request.client else "?"
    log.warning("Refused a request to %s from %s with %d: %s", EVENTS_PATH, client, status, why)
    return PlainTextResponse(reply, status_code=status)


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
