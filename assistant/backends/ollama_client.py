"""What the Ollama chat model and embedder share: the server address, the client, one model check,
and Ollama's failures turned into assistant.errors with a line that says what to do."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from assistant.errors import (
    AssistantError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationError,
    ModelNotFoundError,
)

log = logging.getLogger(__name__)


def normalise_host(host: str) -> str:
    host = host.strip() or "http://127.0.0.1:11434"
    return (host if "://" in host else f"http://{host}").rstrip("/")


class OllamaErrors:
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


class ModelCheck:
    """Asks the server once (via /api/show) whether the model is there; remembers a yes."""

    def __init__(self, client: Any, errors: OllamaErrors) -> None:
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


def make_client(host: str, timeout_s: float) -> Any:
    try:
        import ollama
    except ImportError as err:  # a core dependency, but say what to do if it is gone
        raise BackendUnavailableError(
            "The Ollama backend needs the package ollama: pip install ollama"
        ) from err
    return ollama.Client(host=host, timeout=timeout_s)
