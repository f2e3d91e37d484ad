"""The test backends, registered when this module is imported (tests/conftest.py imports it and
names it in $ASSISTANT_PLUGINS, so an `assistant` subprocess has them too): `llm.backend = "fake"`
and `embedding.backend = "hashing"`. They are no user-facing choice.

FakeChatModel answers from the evidence it is given: it quotes the first numbered evidence line of
the last user message and cites it, so answers are grounded by construction;
`FakeChatModel(script=[...])` replays fixed replies instead (to test the verifier with invented facts
or bad markers). HashingEmbedder makes deterministic bag-of-words vectors: no model, same text ->
same vector.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from assistant import plugins
from assistant.backends.base import Message, Vectors
from assistant.text.terms import tokenize


class FakeChatModel:
    """`verdict` answers every choose() call: the probability of its first choice (1.0: "yes")."""

    def __init__(
        self, script: Sequence[str] | None = None, *, chunk_size: int = 8, verdict: float = 1.0
    ) -> None:
        self._script = list(script) if script is not None else None
        self._calls = 0
        self._chunk_size = chunk_size
        self.verdict = verdict
        self.requests: list[list[Message]] = []
        self.choices: list[list[Message]] = []

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        self.choices.append(list(messages))
        if len(choices) == 1:
            return [1.0]
        rest = (1.0 - self.verdict) / (len(choices) - 1)
        return [self.verdict] + [rest] * (len(choices) - 1)

    @property
    def backend(self) -> str:
        return "fake"

    @property
    def model(self) -> str:
        return "fake-echo" if self._script is None else "fake-script"

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        self.requests.append(list(messages))
        reply = self._reply(messages)
        cuts = [reply.index(s) for s in stop if s and s in reply]
        if cuts:
            reply = reply[: min(cuts)]
        # One yielded piece counts as one token, like the real backends.
        pieces = [reply[i : i + self._chunk_size] for i in range(0, len(reply), self._chunk_size)]
        yield from pieces[:max_tokens]

    def _reply(self, messages: Sequence[Message]) -> str:
        if self._script is not None:
            reply = self._script[min(self._calls, len(self._script) - 1)]
            self._calls += 1
            return reply
        last = messages[-1]["content"] if messages else ""
        match = re.search(r"^Evidence:\n\[(\d+)\] (.+)$", last, re.MULTILINE)
        if match is None:
            # Rewrite and translation prompts: echo the question / the text unchanged.
            tagged = re.search(r"<(question|text)>(.*?)</\1>", last, re.DOTALL)
            if tagged:
                return tagged.group(2).strip()
            asked = re.search(r"^Question: (.+)$", last, re.MULTILINE)
            return asked.group(1).strip() if asked else "NO_ANSWER"
        label = re.search(r"«copied words» (\S+:)", last)
        quote = match.group(2).strip()
        return f"[{match.group(1)}] «{quote}» {label.group(1) if label else 'Answer:'} {quote}\n"


class HashingEmbedder:
    """Bag-of-words vectors: each stemmed word hashed to a signed bucket."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim
        self.calls = 0
        self.texts_embedded = 0

    @property
    def id(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    # Bag-of-words cosine: sharing a couple of content words with the question.
    relevance_floor = 0.12
    translation_floor = 0.0  # words are not meanings: tests set answer.min_translation_similarity

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        # One stemmer for every text (German, the default), so a word always lands in the same bucket.
        for term in tokenize(text):
            digest = hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dim
            sign = 1.0 if digest[4] & 1 else -1.0
            vec[bucket] += sign
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def _encode(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        self.texts_embedded += len(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


plugins.register_llm("fake", lambda settings: FakeChatModel(), model="fake-echo")
plugins.register_embedder("hashing", lambda settings: HashingEmbedder())
