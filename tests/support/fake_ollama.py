"""A local stand-in for an Ollama server: /api/chat (NDJSON streaming or not), /api/embed, /api/tags,
/api/show and /api/version, on 127.0.0.1 and a free port. Binds nothing else, needs nothing installed.

Replies come from a callable (messages -> text), cut at `options.stop` and `options.num_predict` the way
Ollama does; faults are switched on per instance: unknown models (404), a stream cut off midway, a delay
before answering. `FakeOllama.serving(chat_model)` answers with any ChatModel, e.g. the embedded LLM.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Messages = list[dict[str, str]]
Reply = Callable[[Messages], str]
# (messages, options) -> text pieces; options as sent by the client (num_predict, stop, temperature).
Generate = Callable[[Messages, dict[str, Any]], Iterable[str]]
Embed = Callable[[str], list[float]]

DEFAULT_MODELS = ("qwen2.5:7b-instruct", "bge-m3:latest")
_PIECE = re.compile(r"\s*\S+|\s+")


def echo_last_user(messages: Messages) -> str:
    """The default reply: the last user message, verbatim."""
    users = [m["content"] for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def hashed_embedding(text: str, dim: int = 8) -> list[float]:
    """Deterministic, deliberately not unit-length, so clients must normalise."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [(digest[i] - 128) / 16.0 + 0.5 for i in range(dim)]


def pieces(text: str) -> list[str]:
    """Split a reply into word-sized "tokens" (each keeps its leading whitespace)."""
    return _PIECE.findall(text)


def apply_options(text: str, options: dict[str, Any]) -> list[str]:
    """What Ollama would stream for `text`: at most num_predict tokens, ending before the first stop."""
    tokens = pieces(text)
    limit = options.get("num_predict")
    if isinstance(limit, int) and limit >= 0:
        tokens = tokens[:limit]
    joined = "".join(tokens)
    cuts = [i for i in (joined.find(s) for s in options.get("stop") or [] if s) if i >= 0]
    if cuts:
        joined = joined[: min(cuts)]
    return pieces(joined)


def _canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


@dataclass
class FakeOllama:
    """Start with `with FakeOllama() as server:`; point `OllamaSettings.host` at `server.host`."""

    reply: Reply = echo_last_user
    generate: Generate | None = None
    models: Sequence[str] = DEFAULT_MODELS
    embed: Embed = hashed_embedding
    break_after: int | None = None
    """Close the connection after this many streamed pieces, without finishing the reply."""
    delay_s: float = 0.0
    """Wait this long before answering /api/chat and /api/embed (headers included)."""
    piece_delay_s: float = 0.0
    top_logprobs: dict[str, float] = field(default_factory=lambda: {"yes": -0.2, "no": -1.8, "The": -4.0})
    """What a request with `logprobs: true` gets for its first token (Ollama 0.12.11+)."""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @classmethod
    def serving(cls, chat_model: Any, **kwargs: Any) -> FakeOllama:
        """Answer /api/chat with a ChatModel's stream (max_tokens, stop and temperature passed through)."""

        def generate(messages: Messages, options: dict[str, Any]) -> Iterator[str]:
            return iter(
                chat_model.stream(
                    messages,
                    max_tokens=int(options.get("num_predict") or 256),
                    temperature=float(options.get("temperature") or 0.0),
                    stop=list(options.get("stop") or []),
                )
            )

        return cls(generate=generate, **kwargs)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def knows(self, name: str) -> bool:
        return _canonical(name) in {_canonical(m) for m in self.models}

    def start(self) -> FakeOllama:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-ollama", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        # Interruptible, so stop() does not wait for a deliberately slow handler.
        if seconds > 0:
            self._stopping.wait(seconds)

    def chat_pieces(self, messages: Messages, options: dict[str, Any]) -> Iterable[str]:
        if self.generate is not None:
            return self.generate(messages, options)
        return apply_options(self.reply(messages), options)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # ---- plumbing ----

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _missing(self, name: str) -> None:
        self._json(404, {"error": f"model '{name}' not found"})

    def _chunk(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8") + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _cut_connection(self) -> None:
        # Like a crashed server: no terminating chunk, socket closed mid-body.
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ---- routes ----

    def do_GET(self) -> None:
        self.fake.requests.append((self.path, {}))
        if self.path == "/api/version":
            self._json(200, {"version": "0.0.0-fake"})
        elif self.path == "/api/tags":
            self._json(200, {"models": [_model_entry(m) for m in self.fake.models]})
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = self._body()
        self.fake.requests.append((self.path, body))
        name = str(body.get("model") or body.get("name") or "")
        if self.path not in ("/api/chat", "/api/embed", "/api/show"):
            self._json(404, {"error": "404 page not found"})
        elif not self.fake.knows(name):
            self._missing(name)
        elif self.path == "/api/show":
            self._json(200, _show(name))
        elif self.path == "/api/embed":
            self._embed(name, body)
        else:
            self._chat(name, body)

    def _embed(self, name: str, body: dict[str, Any]) -> None:
        self.fake.sleep(self.fake.delay_s)
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else list(texts)
        self._json(200, {"model": name, "embeddings": [self.fake.embed(t) for t in texts]})

    def _chat(self, name: str, body: dict[str, Any]) -> None:
        self.fake.sleep(self.fake.delay_s)
        messages = [{"role": m["role"], "content": m.get("content", "")} for m in body.get("messages", [])]
        options = dict(body.get("options") or {})
        started = time.monotonic_ns()
        if body.get("stream", True) is False:
            text = "".join(self.fake.chat_pieces(messages, options))
            line = {**_chat_line(name, text, done=True), **_done_stats(started)}
            if body.get("logprobs"):
                ranked = sorted(self.fake.top_logprobs.items(), key=lambda kv: -kv[1])
                top = [{"token": t, "logprob": lp} for t, lp in ranked[: int(body.get("top_logprobs") or 1)]]
                line["message"]["content"] = ranked[0][0]
                line["logprobs"] = [{"token": ranked[0][0], "logprob": ranked[0][1], "top_logprobs": top}]
            self._json(200, line)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        stream = iter(self.fake.chat_pieces(messages, options))
        try:
            for piece in stream:
                if self.fake.break_after is not None and sent >= self.fake.break_after:
                    self._cut_connection()
                    return
                self._chunk(_chat_line(name, piece, done=False))
                sent += 1
                self.fake.sleep(self.fake.piece_delay_s)
            if self.fake.break_after is not None and sent >= self.fake.break_after:
                self._cut_connection()
                return
            self._chunk({**_chat_line(name, "", done=True), **_done_stats(started), "eval_count": sent})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up: that is its right
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops a real model's generation as soon as nobody listens


def _chat_line(name: str, content: str, *, done: bool) -> dict[str, Any]:
    return {
        "model": name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "message": {"role": "assistant", "content": content},
        "done": done,
    }


def _done_stats(started_ns: int) -> dict[str, Any]:
    return {"done_reason": "stop", "total_duration": time.monotonic_ns() - started_ns, "prompt_eval_count": 1}


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": _canonical(name),
        "model": _canonical(name),
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 1,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "format": "gguf",
            "family": "fake",
            "parameter_size": "1B",
            "quantization_level": "Q4_K_M",
        },
    }


def _show(name: str) -> dict[str, Any]:
    return {
        "modelfile": f"FROM {name}",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": _model_entry(name)["details"],
        "model_info": {},
        "capabilities": ["completion"],
        "modified_at": "2025-01-01T00:00:00Z",
    }
