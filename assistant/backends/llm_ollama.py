"""ChatModel backed by an Ollama server, through langchain-ollama's ChatOllama (streaming), with
Ollama's failures turned into assistant.errors (see ollama_client)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.backends.base import Message
from assistant.backends.ollama_client import ModelCheck, OllamaErrors, make_client, normalise_host
from assistant.config import OllamaSettings
from assistant.errors import (
    BackendUnavailableError,
    GenerationError,
)

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)


class OllamaChatModel:
    """ChatModel over Ollama's /api/chat. `model` defaults to `settings.chat_model`."""

    def __init__(self, settings: OllamaSettings, model: str | None = None) -> None:
        try:
            from langchain_ollama import ChatOllama
        except ImportError as err:
            raise BackendUnavailableError(
                "The Ollama backend needs the package langchain-ollama: pip install langchain-ollama"
            ) from err
        self._host = normalise_host(settings.host)
        self._model = model or settings.chat_model
        self._errors = OllamaErrors(self._host, self._model, settings.timeout_s)
        # No network here: ChatOllama only builds its httpx clients.
        self._keep_alive = settings.keep_alive
        self._chat = ChatOllama(
            model=self._model,
            base_url=self._host,
            keep_alive=settings.keep_alive,
            client_kwargs={"timeout": settings.timeout_s},
        )
        self._check = ModelCheck(make_client(self._host, settings.timeout_s), self._errors)

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
        client = getattr(self._chat, "make_client", None)
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
