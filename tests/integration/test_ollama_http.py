"""The Ollama backends over real HTTP against a local fake server: each failure is a typed, clear error."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import numpy as np
import ollama
import pytest

from assistant.backends.base import Embedder, Message, complete
from assistant.backends.embed_ollama import OllamaEmbedder
from assistant.backends.llm_embedded import EmbeddedChatModel
from assistant.backends.llm_ollama import OllamaChatModel
from assistant.config import LLMSettings, OllamaSettings
from assistant.errors import BackendTimeoutError, BackendUnavailableError, GenerationError, ModelNotFoundError
from tests.support.fake_ollama import FakeOllama

QUESTION: list[Message] = [
    {"role": "system", "content": "Antworte knapp."},
    {"role": "user", "content": "Wie heißt die Hauptstadt von Österreich? Sie heißt Wien."},
]


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chat(host: str, model: str | None = None, timeout_s: float = 10) -> OllamaChatModel:
    return OllamaChatModel(OllamaSettings(host=host, timeout_s=timeout_s), model)


def test_unreachable_server_says_how_to_start_ollama() -> None:
    host = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(BackendUnavailableError) as info:
        complete(chat(host), QUESTION)
    assert str(info.value) == f"Cannot reach Ollama at {host}: start it with `ollama serve`"

    with pytest.raises(BackendUnavailableError, match="start it with `ollama serve`"):
        OllamaEmbedder(OllamaSettings(host=host), "bge-m3").embed_queries(["x"])


def test_host_without_scheme_is_accepted(server: FakeOllama) -> None:
    model = chat(f"127.0.0.1:{server.port}")

    assert model.host == server.host
    assert complete(model, QUESTION) == QUESTION[-1]["content"]


def test_missing_model_says_what_to_pull(server: FakeOllama) -> None:
    with pytest.raises(ModelNotFoundError, match=r"has no model 'llama9:70b': run `ollama pull llama9:70b`"):
        complete(chat(server.host, "llama9:70b"), QUESTION)

    with pytest.raises(ModelNotFoundError, match="run `ollama pull nomic-embed-text`"):
        _ = OllamaEmbedder(OllamaSettings(host=server.host), "nomic-embed-text").dim


def test_model_is_checked_once_then_remembered(server: FakeOllama) -> None:
    model = chat(server.host)
    complete(model, QUESTION)
    complete(model, QUESTION)

    paths = [path for path, _ in server.requests]
    assert paths == ["/api/show", "/api/chat", "/api/chat"]
    assert server.requests[1][1]["options"] == {"temperature": 0.0, "num_predict": 256}


def test_stream_broken_midway_is_a_generation_error_after_the_first_pieces() -> None:
    received: list[str] = []
    with FakeOllama(break_after=2) as fake, pytest.raises(GenerationError, match="broke off"):
        for piece in chat(fake.host).stream(QUESTION):
            received.append(piece)

    assert received == ["Wie", " heißt"]


def test_slow_server_is_a_timeout_error() -> None:
    with FakeOllama(delay_s=10) as fake:
        started = time.monotonic()
        with pytest.raises(BackendTimeoutError, match=r"did not answer within 0\.5 s \(ollama\.timeout_s\)"):
            complete(chat(fake.host, timeout_s=0.5), QUESTION)
        assert time.monotonic() - started < 5

        with pytest.raises(BackendTimeoutError):
            _ = OllamaEmbedder(OllamaSettings(host=fake.host, timeout_s=0.5), "bge-m3").dim


def test_embedder_returns_unit_vectors_of_one_dimension(server: FakeOllama) -> None:
    embedder = OllamaEmbedder(OllamaSettings(host=server.host), "bge-m3", batch_size=2)
    texts = ["Wien ist die Hauptstadt.", "Graz liegt an der Mur.", "Köln hat einen Dom."]

    passages = embedder.embed_passages(texts)
    queries = embedder.embed_queries(["Wo liegt Graz?"])

    assert isinstance(embedder, Embedder)
    assert embedder.id == "ollama-bge-m3"
    assert embedder.dim == 8
    assert passages.dtype == np.float32 and passages.shape == (3, 8)
    assert queries.dtype == np.float32 and queries.shape == (1, 8)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-5)
    assert embedder.embed_passages([]).shape == (0, 8)
    # One probe for the dimension, then the three passages in batches of two, then the query.
    embed_inputs = [body["input"] for path, body in server.requests if path == "/api/embed"]
    assert embed_inputs == [["dimension probe"], texts[:2], texts[2:], ["Wo liegt Graz?"]]


def test_embedder_id_ignores_the_latest_tag(server: FakeOllama) -> None:
    settings = OllamaSettings(host=server.host)

    assert OllamaEmbedder(settings, "bge-m3:latest").id == OllamaEmbedder(settings, "bge-m3").id


def test_fake_server_speaks_the_ollama_api(server: FakeOllama) -> None:
    # The official client against the fake: guards the fake itself against drifting from Ollama.
    client = ollama.Client(host=server.host)

    assert httpx.get(f"{server.host}/api/version").json() == {"version": "0.0.0-fake"}
    assert {m.model for m in client.list().models} == {"qwen2.5:7b-instruct", "bge-m3:latest"}
    reply = client.chat(
        model="qwen2.5:7b-instruct", messages=[{"role": "user", "content": "eins zwei drei"}], stream=False
    )
    assert reply.message.content == "eins zwei drei" and reply.done
    streamed = client.chat(
        model="qwen2.5:7b-instruct",
        messages=[{"role": "user", "content": "eins zwei drei vier"}],
        options={"num_predict": 3, "stop": ["drei"]},
        stream=True,
    )
    parts = list(streamed)
    assert "".join(p.message.content or "" for p in parts) == "eins zwei "
    assert parts[-1].done and not parts[0].done
    with pytest.raises(ollama.ResponseError) as info:
        client.show("unknown-model")
    assert info.value.status_code == 404
    client.close()  # type: ignore[no-untyped-call]


@pytest.mark.model
def test_real_model_end_to_end_over_http() -> None:
    model = EmbeddedChatModel(LLMSettings(n_ctx=512, threads=1))  # see tests/contract: 1 thread is steadier
    try:
        with FakeOllama.serving(model) as fake:
            remote = chat(fake.host)
            echo: list[Message] = [
                {"role": "system", "content": "Repeat the user's message exactly and nothing else."},
                {"role": "user", "content": "Schöne Grüße aus Köln."},
            ]
            pieces = list(remote.stream(echo, max_tokens=6))
            remote.close()
    finally:
        model.close()

    assert 1 <= len(pieces) <= 6
    assert "".join(pieces).startswith("Schöne Grüße")
