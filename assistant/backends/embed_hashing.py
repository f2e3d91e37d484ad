"""A deterministic bag-of-words embedder for tests: no model, same text -> same vector."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from assistant.backends.base import Vectors
from assistant.text.terms import tokenize


class HashingEmbedder:
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
