"""The LLMs the web UI offers: the configured one, and those listed in `web.models`. Each gets an
Assistant of its own that shares the embedder and the index, so switching costs nothing until the
new model answers (and is loaded then, with a status line saying so)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant import plugins
from assistant.config import Settings
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.service import Assistant


def parse_choice(choice: str) -> dict[str, str | None]:
    """ "embedded", "ollama" or "ollama:qwen2.5:7b-instruct" -> llm settings."""
    backend, _, model = choice.strip().partition(":")
    if backend not in plugins.llm_backends():
        raise ConfigError(f"web.models: {choice!r} is not embedded, ollama or ollama:<model>")
    return {"backend": backend, "model": model or None}


class Models:
    """label -> Assistant, in the order offered; the configured model first."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self._by_label: dict[str, Assistant] = {}
        self.default = self._add(assistant)
        for choice in settings.web.models:
            self._add(_assistant_for(assistant, settings.replaced(llm=parse_choice(choice))))

    def _add(self, assistant: Assistant) -> str:
        try:
            backend, model = assistant.llm_info
        except Exception:  # the label must not keep the UI from starting; the answer will say why
            backend, model = "?", "unavailable"
        label = f"{backend} · {model}"
        self._by_label.setdefault(label, assistant)
        return label

    @property
    def labels(self) -> list[str]:
        return list(self._by_label)

    def get(self, label: str | None) -> Assistant:
        return self._by_label.get(label or self.default) or self._by_label[self.default]

    def close(self) -> None:
        for label, assistant in self._by_label.items():
            if label != self.default:
                assistant.close()


def _assistant_for(base: Assistant, settings: Settings) -> Assistant:
    from assistant.service import Assistant

    return Assistant(settings, embedder=base.embedder, index=base.index)
