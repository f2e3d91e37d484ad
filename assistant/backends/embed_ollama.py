"""Embedder backed by an Ollama server's batch /api/embed (any embedding model it serves)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from assistant.backends.base import Vectors
from assistant.backends.ollama_client import ModelCheck, OllamaErrors, make_client, normalise_host
from assistant.config import OllamaSettings
from assistant.errors import GenerationError

log = logging.getLogger(__name__)

_PROBE_TEXT = "dimension probe"


class OllamaEmbedder:
    """Embedder over Ollama's /api/embed. Queries and passages are embedded alike; vectors unit length."""

    def __init__(self, settings: OllamaSettings, model: str, *, batch_size: int = 16) -> None:
        self._host = normalise_host(settings.host)
        self._model = model
        self._batch_size = max(1, batch_size)
        self._keep_alive = settings.keep_alive
        self._errors = OllamaErrors(self._host, model, settings.timeout_s)
        self._client = make_client(self._host, settings.timeout_s)
        self._check = ModelCheck(self._client, self._errors)
        self._dim: int | None = None

    def close(self) -> None:
        self._client.close()

    # Unknown for an arbitrary model: a permissive floor, to be set per model with
    # ASSISTANT_ANSWER__MIN_RELEVANCE after checking it with `assistant eval` (see the README).
    relevance_floor = 0.5
    # Not calibrated for an arbitrary model: translations are not checked by meaning unless
    # ASSISTANT_ANSWER__MIN_TRANSLATION_SIMILARITY is set.
    translation_floor = 0.0

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
