"""One contract for the ChatModel protocol, run against every implementation.

The embedded model runs for real (marker `model`), with replies of a few tokens only.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.backends.base import ChatModel, Message, choose, complete
from assistant.backends.llm_embedded import EmbeddedChatModel
from assistant.backends.llm_ollama import OllamaChatModel
from assistant.backends.llm_tokens import StopScanner, TokenDecoder
from assistant.backends.model_store import resolve_model_path
from assistant.config import LLMSettings, OllamaSettings
from assistant.errors import BackendTimeoutError, BackendUnavailableError, GenerationError
from tests.support.fake_ollama import FakeOllama
from tests.support.fakes import FakeChatModel

GERMAN = "Grüße aus Köln: schöne Straße, müde Bären, heiße Öfen."
ECHO: list[Message] = [
    {
        "role": "system",
        "content": "Repeat the user's message exactly, character for character, and nothing else.",
    },
    {"role": "user", "content": GERMAN},
]
LONG: list[Message] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        "content": "Zähle von eins bis hundert, in Worten, durch Kommas getrennt: eins, zwei, drei, vier",
    },
]


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def embedded_settings(n_ctx: int, timeout_s: float = 300.0) -> LLMSettings:
    # One thread: on a shared 2-core CI box, llama.cpp's spinning thread pool with 2 threads was
    # measured up to 10x slower per token than 1 thread whenever another job held a core.
    # No prompt cache on disk: each test sees only what its own calls left in the model.
    return LLMSettings(threads=1, n_ctx=n_ctx, timeout_s=timeout_s, prompt_cache=False)


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedChatModel]:
    model = EmbeddedChatModel(embedded_settings(n_ctx=1024))
    yield model
    model.close()


@pytest.fixture(
    params=["fake", "ollama", pytest.param("embedded", marks=pytest.mark.model)],
)
def chat_model(request: pytest.FixtureRequest) -> Iterator[ChatModel]:
    if request.param == "fake":
        # Scripted, so the contract does not depend on how the fake picks its reply from a prompt.
        yield FakeChatModel(script=[GERMAN])
    elif request.param == "ollama":
        server: FakeOllama = request.getfixturevalue("ollama_server")
        model = OllamaChatModel(OllamaSettings(host=server.host, timeout_s=10))
        yield model
        model.close()
    else:
        yield request.getfixturevalue("embedded")


def test_identifiers_are_non_empty(chat_model: ChatModel) -> None:
    assert isinstance(chat_model, ChatModel)
    assert chat_model.backend in {"fake", "ollama", "embedded"}
    assert isinstance(chat_model.model, str) and chat_model.model.strip()


def test_streams_str_pieces(chat_model: ChatModel) -> None:
    pieces = list(chat_model.stream(ECHO, max_tokens=12))

    assert pieces, "no text streamed"
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip()


def test_german_text_round_trips_intact(chat_model: ChatModel) -> None:
    text = complete(chat_model, ECHO, max_tokens=16)

    assert "\ufffd" not in text
    for word in ("Grüße", "Köln", "schöne", "Straße"):
        assert word in text, f"{word!r} missing from {text!r}"


def test_respects_max_tokens(chat_model: ChatModel) -> None:
    pieces = list(chat_model.stream(ECHO, max_tokens=3))

    # Every backend yields at most one piece per generated token.
    assert 1 <= len(pieces) <= 3
    assert len("".join(pieces)) < len(GERMAN) / 2


@pytest.mark.parametrize("stop", ["Köln", "s Kö"], ids=["word", "across-pieces"])
def test_respects_stop_sequences(chat_model: ChatModel, stop: str) -> None:
    full = complete(chat_model, ECHO, max_tokens=16)
    assert stop in full, f"precondition: {stop!r} in {full!r}"

    cut = complete(chat_model, ECHO, max_tokens=16, stop=[stop, "never-appears"])

    assert cut == full[: full.index(stop)]


def test_abandoned_stream_leaves_the_model_usable(chat_model: ChatModel) -> None:
    before = complete(chat_model, ECHO, max_tokens=8)

    stream = chat_model.stream(LONG, max_tokens=200)
    assert isinstance(next(stream), str)
    stream.close()  # type: ignore[attr-defined]  # the consumer walks away (client disconnected)

    assert complete(chat_model, ECHO, max_tokens=8) == before


# ---- embedded model only ----


@pytest.mark.model
def test_embedded_reuses_the_shared_prompt_prefix(embedded: EmbeddedChatModel) -> None:
    complete(embedded, ECHO, max_tokens=2)
    other: list[Message] = [ECHO[0], {"role": "user", "content": "Guten Morgen, Wien!"}]

    complete(embedded, other, max_tokens=2)

    stats = embedded.last_stats
    assert stats is not None
    assert 15 <= stats.reused_tokens < stats.prompt_tokens


# Long enough (57 tokens with the template header) to be snapshotted; starts unlike TRANSLATE's.
NEWS_DESK = (
    "You are a careful assistant for a regional news desk. Answer in one short sentence, in the language "
    "of the question, using only facts from the user's message. Never invent names, numbers or dates, and "
    "say so plainly when the message does not contain the answer."
)
TRANSLATE = "Translate the user's text into English. Reply with the translation only."


@pytest.mark.model
def test_embedded_restores_a_system_prompt_after_a_different_one(embedded: EmbeddedChatModel) -> None:
    # The answer pipeline alternates system prompts (answer, translate): the KV state after the first
    # one must come back from a snapshot, and give exactly what a fresh prefill gives.
    first: list[Message] = [
        {"role": "system", "content": NEWS_DESK},
        {"role": "user", "content": "Der Bürgermeister von Graz heißt Kahr. Wie heißt er?"},
    ]
    between: list[Message] = [
        {"role": "system", "content": TRANSLATE},
        {"role": "user", "content": "Guten Morgen, Wien!"},
    ]
    again: list[Message] = [
        {"role": "system", "content": NEWS_DESK},
        {"role": "user", "content": "Die Brücke in Linz wurde 2024 eröffnet. Wann wurde sie eröffnet?"},
    ]
    with EmbeddedChatModel(embedded_settings(n_ctx=1024), reuse_prefix=False) as fresh:
        expected = complete(fresh, again, max_tokens=12)

    complete(embedded, first, max_tokens=1)
    complete(embedded, between, max_tokens=1)
    assert embedded.last_stats is not None and embedded.last_stats.reused_tokens < 10
    text = complete(embedded, again, max_tokens=12)

    stats = embedded.last_stats
    assert stats is not None
    assert 57 <= stats.reused_tokens < stats.prompt_tokens  # the whole system message, not its header
    assert text == expected


@pytest.mark.model
def test_embedded_serves_callers_on_several_threads(embedded: EmbeddedChatModel) -> None:
    expected = complete(embedded, ECHO, max_tokens=6)
    results: list[str] = []

    def ask() -> None:
        results.append(complete(embedded, ECHO, max_tokens=6))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert results == [expected] * 3


@pytest.mark.model
def test_embedded_prompt_longer_than_the_context_is_a_clear_error(embedded: EmbeddedChatModel) -> None:
    huge: list[Message] = [{"role": "user", "content": "Wort " * 3000}]

    with pytest.raises(GenerationError, match=r"context window holds 1024 .*llm\.n_ctx"):
        complete(embedded, huge, max_tokens=4)
    assert complete(embedded, ECHO, max_tokens=3)


@pytest.mark.model
@pytest.mark.slow
def test_embedded_timeout_cancels_and_close_frees() -> None:
    # Generous enough for a cold first prompt on a busy CI machine; 900 tokens take far longer.
    model = EmbeddedChatModel(embedded_settings(n_ctx=1024, timeout_s=10.0))
    complete(model, ECHO, max_tokens=1)  # loading does not count against the timeout
    endless: list[Message] = [
        {"role": "user", "content": "Zähle in Worten von eins bis tausend: eins, zwei, drei"}
    ]

    with pytest.raises(BackendTimeoutError, match=r"within 10 s \(llm\.timeout_s\)"):
        complete(model, endless, max_tokens=900)
    assert complete(model, endless, max_tokens=1)

    model.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        complete(model, ECHO, max_tokens=2)


# ---- text assembly helpers of the embedded model (no model needed) ----


class _ByteLevelVocab:
    """Mimics cyllama's vocab for a byte-level BPE model: token_to_piece decodes each token alone."""

    vocab_type = 2

    def __init__(self, tokens: list[bytes]) -> None:
        from assistant.backends.llm_tokens import _gpt2_byte_decoder

        encode = {b: c for c, b in _gpt2_byte_decoder().items()}
        self.tokens = tokens
        self.spelling = ["".join(encode[b] for b in t) for t in tokens]

    def token_to_piece(self, token: int, lstrip: int = 0, special: bool = False) -> str:
        return self.tokens[token].decode("utf-8", errors="replace")

    def get_text(self, token: int) -> str:
        return self.spelling[token]


def test_multibyte_characters_split_across_tokens_come_out_whole() -> None:
    text = " Grüße 🤖 aus Köln"
    raw = text.encode("utf-8")
    # Cut inside "ü" and twice inside the emoji, as a byte-level tokenizer may.
    cuts = [0, 4, 9, 11, 13, len(raw)]
    vocab = _ByteLevelVocab([raw[a:b] for a, b in itertools.pairwise(cuts)])
    decoder = TokenDecoder(vocab)

    pieces = [decoder.feed(i) for i in range(len(vocab.tokens))]

    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_stop_scanner_holds_back_a_possible_stop_prefix() -> None:
    scanner = StopScanner(["</answer>"])

    emitted = [scanner.push(p) for p in ["Wien ist ", "schön</ans", "wer> und mehr"]]

    assert "".join(text for text, _ in emitted) == "Wien ist schön"
    assert [stopped for _, stopped in emitted] == [False, False, True]


def test_choose_gives_one_probability_per_choice(chat_model: ChatModel) -> None:
    messages: list[Message] = [
        {"role": "system", "content": "Answer the question with yes or no."},
        {"role": "user", "content": "Is Paris the capital of France? Answer yes or no."},
    ]
    scores = choose(chat_model, messages, ["yes", "no"])
    assert len(scores) == 2 and abs(sum(scores) - 1.0) < 1e-6
    assert all(0.0 <= p <= 1.0 for p in scores)


def test_choose_reads_the_model_not_a_constant(ollama_server: FakeOllama) -> None:
    model = OllamaChatModel(OllamaSettings(host=ollama_server.host, timeout_s=10))
    try:
        yes, no = choose(model, ECHO, ["yes", "no"])
        assert yes > 0.7  # -0.2 vs -1.8 in the fake's log-probabilities
        ollama_server.top_logprobs = {"no": -0.1, "yes": -3.0}
        yes, no = choose(model, ECHO, ["yes", "no"])
        assert no > 0.9
        request = ollama_server.requests[-1][1]
        assert request["logprobs"] is True and request["options"]["num_predict"] == 1
    finally:
        ollama_server.top_logprobs = {"yes": -0.2, "no": -1.8, "The": -4.0}
        model.close()


@pytest.mark.model
def test_embedded_choose_tells_true_from_false(embedded: EmbeddedChatModel) -> None:
    def ask(question: str) -> float:
        messages: list[Message] = [
            {"role": "system", "content": "Answer the question with yes or no."},
            {"role": "user", "content": f"{question} Answer yes or no."},
        ]
        return choose(embedded, messages, ["yes", "no"])[0]

    assert ask("Is Paris the capital of France?") > 0.5
    assert ask("Is Berlin the capital of France?") < 0.5


@pytest.mark.model
def test_embedded_grammar_holds_the_reply_to_its_shape(embedded: EmbeddedChatModel) -> None:
    reply = complete(embedded, LONG, max_tokens=8, grammar='root ::= "ja" | "nein"')
    assert reply in ("ja", "nein")


@pytest.mark.model
def test_embedded_rejects_a_broken_grammar(embedded: EmbeddedChatModel) -> None:
    with pytest.raises(GenerationError, match="grammar"):
        complete(embedded, LONG, max_tokens=4, grammar="root ::= (")


@pytest.mark.model
def test_embedded_prompt_cache_carries_the_system_prompt_to_a_new_process(tmp_path: Path) -> None:
    settings = LLMSettings(
        threads=1, n_ctx=1024, model_path=resolve_model_path(LLMSettings()), cache_dir=tmp_path
    )
    messages: list[Message] = [
        {"role": "system", "content": NEWS_DESK},
        {"role": "user", "content": "Der Bürgermeister von Graz heißt Kahr. Wie heißt er?"},
    ]
    with EmbeddedChatModel(settings) as first:
        fresh = complete(first, messages, max_tokens=8)
        assert first.last_stats is not None and first.last_stats.reused_tokens == 0
    files = list((tmp_path / "prompt-cache").rglob("*.kv"))
    assert len(files) == 1

    with EmbeddedChatModel(settings) as second:
        assert complete(second, messages, max_tokens=8) == fresh
        assert second.last_stats is not None and second.last_stats.reused_tokens >= 50

    # A damaged file is dropped and the prompt prefilled: the same reply, never a crash.
    raw = files[0].read_bytes()
    files[0].write_bytes(raw[: len(raw) // 2] + bytes(len(raw) - len(raw) // 2))
    with EmbeddedChatModel(settings) as third:
        assert complete(third, messages, max_tokens=8) == fresh
        assert third.last_stats is not None and third.last_stats.reused_tokens == 0


class _Interrupted(Exception):
    pass


@pytest.mark.model
def test_embedded_caller_waiting_for_the_first_token_can_be_interrupted(embedded: EmbeddedChatModel) -> None:
    # A stop button (interfaces/pump.py) ends an answer by raising in the thread that reads the
    # stream: that must work while the worker is still prefilling, before any token exists.
    import ctypes

    # About 750 prompt tokens: seconds of prefill before the first token, even on a fast CPU.
    prompt: list[Message] = [LONG[0], {"role": "user", "content": LONG[1]["content"] * 30}]
    outcome: list[str] = []

    def read() -> None:
        try:
            complete(embedded, prompt, max_tokens=64)
            outcome.append("finished")
        except _Interrupted:
            outcome.append("interrupted")

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)  # the worker is prefilling the long prompt: no token yet
    assert reader.ident is not None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(reader.ident), ctypes.py_object(_Interrupted))
    reader.join(timeout=3)
    assert not reader.is_alive() and outcome == ["interrupted"]
    assert complete(embedded, ECHO, max_tokens=4)  # and the model is free again
