"""Shared fixtures: settings pointing at a temp index, a fast deterministic Assistant (hashing
embedder + fake LLM), and the paths of the sample and distractor corpora.

The fakes are a plugin (tests/support/fakes.py): registered here for this process, and named in
$ASSISTANT_PLUGINS for the `assistant` subprocesses the tests start."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Keep every test run offline and silent, whatever the developer's environment says.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.config import Settings
from assistant.plugins import PLUGINS_ENV
from assistant.service import Assistant
from tests.support import fakes

os.environ[PLUGINS_ENV] = fakes.__name__

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "articles"
GNAD_CSV = ROOT.parent / "shared" / "corpora" / "gnad10k-test.csv"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # No developer's ASSISTANT_* variables or assistant.toml may leak into tests (the plugins are the
    # tests' own, set above).
    for key in list(os.environ):
        if (key.startswith("ASSISTANT_") and key != PLUGINS_ENV) or key in ("OLLAMA_HOST", "SLACK_API_URL"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path_factory.getbasetemp() / "no-such-config.toml"))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "index": {"path": str(tmp_path / "vectorstore")},
            "embedding": {"backend": "hashing"},
            "llm": {"backend": "fake", "cache_dir": str(tmp_path / "cache")},
            "web": {
                "upload_dir": str(tmp_path / "uploads"),
                "feedback_path": str(tmp_path / "feedback.jsonl"),
            },
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}  # type: ignore[dict-item]
            else:
                values[key] = value
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture
def fake_assistant(make_settings: Callable[..., Settings]) -> Iterator[Assistant]:
    """Sample corpus ingested with the hashing embedder; answers from the deterministic fake LLM."""
    assistant = Assistant.from_settings(make_settings())
    assistant.ingest()
    yield assistant
    assistant.close()


@pytest.fixture(scope="session")
def gnad_csv() -> Path:
    if not GNAD_CSV.is_file():
        pytest.skip(f"distractor corpus not present at {GNAD_CSV}")
    return GNAD_CSV
