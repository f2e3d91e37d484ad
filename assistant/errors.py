"""Typed library errors. Each says what went wrong and what to do next; interfaces print them."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class. `str(err)` is a one-line message fit for an end user."""

    exit_code = 1


class ConfigError(AssistantError):
    """Settings are invalid or inconsistent."""

    exit_code = 2


class InputError(AssistantError):
    """The user's input is unusable (empty query, missing path, over-long question)."""

    exit_code = 2


class IndexMismatchError(AssistantError):
    """The index was built with another embedder or chunking than the one configured."""


class EmptyIndexError(AssistantError):
    """Nothing has been ingested yet."""


class IndexBusyError(AssistantError):
    """Another process is writing the same index (an ingest holds its lock)."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class IndexReadOnlyError(AssistantError):
    """The index folder cannot be written (read-only mount, missing permission); reads still work."""


class IndexFullError(AssistantError):
    """The disk holding the index is full; what was stored before stays intact."""


class IndexStorageError(AssistantError):
    """The index could not be read or written for another reason (a damaged file, an I/O error)."""


class BackendUnavailableError(AssistantError):
    """A backend (Ollama, Chroma server, embedded runtime) cannot be reached or loaded."""


class ModelNotFoundError(AssistantError):
    """The configured model is not available on the backend."""


class BackendTimeoutError(AssistantError):
    """A backend did not answer in time."""


class GenerationError(AssistantError):
    """The model stream broke off or returned something unusable."""


class MissingDependencyError(AssistantError):
    """An optional extra is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs an optional dependency: install it with  pip install -e '.[{extra}]'")
        self.extra = extra
