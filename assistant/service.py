"""The composition root: `Assistant` wires settings, LLM, embedder and index, and is the one API
every interface (CLI, web, Slack, evals, benchmarks) calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from assistant.backends.base import ChatModel, Embedder, VectorIndex
from assistant.config import Settings
from assistant.types import Answer, AnswerEvent, Filters, IndexStats, IngestReport, Passage, Turn

# progress(stage, done, total): stage is a short label such as "embedding".
ProgressCallback = Callable[[str, int, int], None]


class Assistant:
    """Build with `Assistant.from_settings(settings)`; pass fakes to __init__ in tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder,
        index: VectorIndex,
        llm: ChatModel | Callable[[], ChatModel] | None = None,
    ) -> None:
        raise NotImplementedError("being built")

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        raise NotImplementedError("being built")

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        prune: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest files/folders (None: the sample corpus). Idempotent; `prune` drops vanished files."""
        raise NotImplementedError("being built")

    def search(self, query: str, *, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        raise NotImplementedError("being built")

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer with verified citations, or abstain. Raises assistant.errors types."""
        raise NotImplementedError("being built")

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[AnswerEvent]:
        """StatusEvent/TokenEvent while working (tokens are the unverified draft), then one FinalEvent."""
        raise NotImplementedError("being built")

    def stats(self) -> IndexStats:
        raise NotImplementedError("being built")

    @property
    def llm_info(self) -> tuple[str, str]:
        """(backend, model) of the configured LLM, without loading it."""
        raise NotImplementedError("being built")
