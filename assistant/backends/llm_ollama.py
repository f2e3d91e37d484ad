"""ChatModel and Embedder backed by an Ollama server, with Ollama's failures turned into assistant.errors.

Chat goes through langchain-ollama's ChatOllama (streaming); embeddings through the ollama client's
batch `embed` call.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.backends.base import Message, Vectors
from assistant.config import OllamaSettings
from assistant.errors import (
    AssistantError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

_PROBE_TEXT = "dimension probe"


def _normalise_host(host: str) -> str:
    host = host.strip() or "http://127.0.0.1:11434"
    return (host if "://" in host else f"http://{host}").rstrip("/")


class _OllamaErrors:
    """Maps httpx / ollama client exceptions to typed errors that say what to do next."""

    def __init__(self, host: str, model: str, timeout_s: float) -> None:
        self.host = host
        self.model = model
        self.timeout_s = timeout_s

    def convert(self, err: BaseException, *, streaming: bool = False) -> AssistantError:
        import httpx
        from ollama import ResponseError

        if isinstance(err, AssistantError):
            return err
        if isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError)):
            return BackendUnavailableError(
                f"Cannot reach Ollama at {self.host}: start it with `ollama serve`"
            )
        if isinstance(err, httpx.TimeoutException):
            return BackendTimeoutError(
                f"Ollama at {self.host} did not answer within {self.timeout_s:g} s (ollama.timeout_s): "
                "the model may still be loading; try again or raise the timeout"
            )
        if isinstance(err, ResponseError):
            if err.status_code == 404 and "not found" in str(err.error).lower():
                return self.model_missing()
            if err.status_code in (502, 503):
                return BackendUnavailableError(f"Ollama at {self.host} is not ready: {err.error}")
            return GenerationError(f"Ollama at {self.host} failed with model '{self.model}': {err.error}")
        if isinstance(err, (httpx.StreamError, httpx.TransportError, json.JSONDecodeError)):
            if streaming:
                return GenerationError(f"The reply stream from Ollama at {self.host} broke off: {err}")
            return BackendUnavailableError(f"Ollama at {self.host} closed the connection: {err}")
        if isinstance(err, httpx.HTTPError):
            return BackendUnavailableError(f"Talking to Ollama at {self.host} failed: {err}")
        return GenerationError(f"Ollama at {self.host} failed: {type(err).__name__}: {err}")

    def model_missing(self) -> ModelNotFoundError:
        return ModelNotFoundError(
            f"Ollama at {self.host} has no model '{self.model}': run `ollama pull {self.model}`"
        )


class _ModelCheck:
    """Asks the server once (via /api/show) whether the model is there; remembers a yes."""

    def __init__(self, client: Any, errors: _OllamaErrors) -> None:
        self.client = client
        self._client = client
        self._errors = errors
        self._ok = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self._ok:
            return
        with self._lock:
            if self._ok:
                return
            try:
                self._client.show(self._errors.model)
            except Exception as err:
                raise self._errors.convert(err) from err
            self._ok = True

    def close(self) -> None:
        self._client.close()


def _client(host: str, timeout_s: float) -> Any:
    try:
        import ollama
    except ImportError as err:  # a core dependency, but say what to do if it is gone
        raise BackendUnavailableError(
            "The Ollama backend needs the package ollama: pip install ollama"
        ) from err
    return ollama.Client(host=host, timeout=timeout_s)


class OllamaChatModel:
    """ChatModel over Ollama's /api/chat. `model` defaults to `settings.chat_model`."""

    def __init__(self, settings: OllamaSettings, model: str | None = None) -> None:
        try:
            from langchain_ollama import ChatOllama
        except ImportError as err:
            raise BackendUnavailableError(
                "The Ollama backend needs the package langchain-ollama: pip install langchain-ollama"
            ) from err
        self._host = _normalise_host(settings.host)
        self._model = model or settings.chat_model
        self._errors = _OllamaErrors(self._host, self._model, settings.timeout_s)
        # No network here: ChatOllama only builds its httpx clients.
        self._keep_alive = settings.keep_alive
        self._chat = ChatOllama(
            model=self._model,
            base_url=self._host,
            keep_alive=settings.keep_alive,
            client_kwargs={"timeout": settings.timeout_s},
        )
        self._check = _ModelCheck(_client(self._host, settings.timeout_s), self._errors)

    @property
    def backend(self) -> str:
        return "ollama"

    @property
    def model(self) -> str:
        return self._model

    @property
    def host(self) -> str:
        return self._host

    def close(self) -> None:
        """Close the HTTP connections (the server keeps the model loaded for `keep_alive`)."""
        self._check.close()
        client = getattr(self._chat, "_client", None)
        if client is not None:
            client.close()

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """One generated token with its top log-probabilities (Ollama 0.12.11+); a choice whose
        spellings are not among them gets the least of what was listed."""
        self._check.ensure()
        try:
            response = self._check.client.chat(
                model=self._model,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                options={"temperature": 0.0, "num_predict": 1},
                logprobs=True,
                top_logprobs=20,
                keep_alive=self._keep_alive,
            )
        except Exception as err:
            raise self._errors.convert(err) from err
        entries = getattr(response, "logprobs", None) or []
        if not entries:
            raise GenerationError(
                f"Ollama at {self._host} returned no log-probabilities: it needs Ollama 0.12.11 or newer"
            )
        top = {str(alt.token).strip().lower(): float(alt.logprob) for alt in entries[0].top_logprobs or []}
        top.setdefault(str(entries[0].token).strip().lower(), float(entries[0].logprob))
        floor = min(top.values()) - 1.0
        logps = [max((lp for tok, lp in top.items() if tok == c.lower()), default=floor) for c in choices]
        peak = max(logps)
        weights = [math.exp(lp - peak) for lp in logps]
        total = sum(weights)
        return [w / total for w in weights]

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        # Ollama takes JSON schemas, not GBNF grammars: the reply is parsed leniently instead.
        del grammar
        self._check.ensure()
        # Passing `options` replaces ChatOllama's per-instance options, so stop goes in here too.
        options: dict[str, Any] = {"temperature": temperature, "num_predict": max_tokens}
        if stop:
            options["stop"] = list(stop)
        chunks = self._chat.stream(_to_langchain(messages), options=options)
        done = False
        try:
            for chunk in chunks:
                if chunk.response_metadata.get("done"):
                    done = True
                text = chunk.content
                if isinstance(text, str) and text:
                    yield text
        except Exception as err:
            raise self._errors.convert(err, streaming=True) from err
        finally:
            # Releases the HTTP connection at once when the consumer stops early.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if not done:
            # A connection closed without chunked framing ends the stream quietly; Ollama always
            # ends a complete reply with a `done: true` line.
            raise GenerationError(
                f"The reply stream from Ollama at {self._host} ended before the reply was done"
            )


def _to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    converted: list[BaseMessage] = []
    for m in messages:
        if m["role"] == "system":
            converted.append(SystemMessage(content=m["content"]))
        elif m["role"] == "assistant":
            converted.append(AIMessage(content=m["content"]))
        else:
            converted.append(HumanMessage(content=m["content"]))
    return converted


class OllamaEmbedder:
    """Embedder over Ollama's /api/embed. Queries and passages are embedded alike; vectors unit length."""

    def __init__(self, settings: OllamaSettings, model: str, *, batch_size: int = 16) -> None:
        self._host = _normalise_host(settings.host)
        self._model = model
        self._batch_size = max(1, batch_size)
        self._keep_alive = settings.keep_alive
        self._errors = _OllamaErrors(self._host, model, settings.timeout_s)
        self._client = _client(self._host, settings.timeout_s)
        self._check = _ModelCheck(self._client, self._errors)
        self._dim: int | None = None

    def close(self) -> None:
        self._client.close()

    # Unknown for an arbitrary model: a permissive floor, to be set per model with
    # ASSISTANT_ANSWER__MIN_RELEVANCE after checking it with `assistant eval` (see the README).
    relevance_floor = 0.5

    @property
    def id(self) -> str:
        # `name` and `name:latest` are the same model, hence the same vector space.
        return f"ollama-{self._model.removesuffix(':latest')}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._embed_batch([_PROBE_TEXT]).shape[1])
            log.debug("Ollama model %s embeds into %d dimensions", self._model, self._dim)
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> Vectors:
        dim = self.dim
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        batches = [
            self._embed_batch(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        vectors = np.concatenate(batches, axis=0)
        if vectors.shape[1] != dim:
            raise GenerationError(
                f"Ollama model '{self._model}' returned {vectors.shape[1]}-dimensional vectors, "
                f"expected {dim}: was the model replaced on the server?"
            )
        return vectors

    def _embed_batch(self, texts: Sequence[str]) -> Vectors:
        self._check.ensure()
        try:
            response = self._client.embed(
                model=self._model, input=list(texts), truncate=True, keep_alive=self._keep_alive
            )
        except Exception as err:
            raise self._errors.convert(err) from err
        raw = np.asarray(response.embeddings, dtype=np.float32)
        if raw.ndim != 2 or raw.shape[0] != len(texts) or raw.shape[1] == 0:
            raise GenerationError(
                f"Ollama model '{self._model}' returned {raw.shape} embeddings for {len(texts)} texts: "
                "is it an embedding model?"
            )
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        # An all-zero vector stays zero rather than turning into NaNs.
        unit: Vectors = (raw / np.maximum(norms, np.float32(1e-12))).astype(np.float32)
        return unit
