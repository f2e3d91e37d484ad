"""KV-state snapshots of the embedded model: an LRU in memory, and files on disk (the prompt cache).

Each snapshot is keyed by exactly the prompt tokens it holds, so it is only restored into a prompt
that starts with them; the files are checksummed and live in one folder per model file and context
size, so a state is only ever loaded into the model it came from."""

from __future__ import annotations

import hashlib
import logging
import os
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from assistant.config import LLMSettings

log = logging.getLogger(__name__)

# Prefix snapshots: a shorter system prompt is cheaper to prefill again than to keep around; a few
# entries cover the pipeline's prompts (answer, rewrite, translate). About 28 KiB per token for the
# bundled model, so a ~450-token answer system prompt takes ~13 MiB.
SNAPSHOT_MIN_TOKENS = 32
_SNAPSHOT_MAX_ENTRIES = 4
_SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024


class SnapshotFiles:
    """Snapshots on disk, one file each: the tokens it holds, a checksum, then llama.cpp's state.

    The folder is named after the model file and the context size, so a state is only ever loaded
    into the model it came from; a file that fails to load is deleted and the prompt prefilled.
    Writes go to a temporary file renamed into place, so a crash never leaves half a snapshot."""

    _MAGIC = b"NAKV1\n"

    def __init__(self, folder: Path, max_files: int = 2 * _SNAPSHOT_MAX_ENTRIES) -> None:
        self.folder = folder
        self._max_files = max_files

    def keys(self) -> dict[tuple[int, ...], Path]:
        found: dict[tuple[int, ...], Path] = {}
        for path in sorted(self.folder.glob("*.kv")):
            try:
                with path.open("rb") as f:
                    if f.read(len(self._MAGIC)) != self._MAGIC:
                        raise ValueError("not a snapshot")
                    count = int.from_bytes(f.read(4), "little")
                    tokens = array("i")
                    tokens.frombytes(f.read(4 * count))
                found[tuple(tokens)] = path
            except (OSError, ValueError, EOFError) as err:
                log.debug("Ignoring the prompt cache file %s: %s", path, err)
        return found

    def load(self, path: Path) -> bytes | None:
        """The state, or None (and the file deleted) when it does not match its checksum."""
        try:
            raw = path.read_bytes()
        except OSError as err:
            log.debug("Cannot read the prompt cache file %s: %s", path, err)
            return None
        count = int.from_bytes(raw[len(self._MAGIC) : len(self._MAGIC) + 4], "little")
        at = len(self._MAGIC) + 4 + 4 * count
        digest, data = raw[at : at + 32], raw[at + 32 :]
        if not data or hashlib.sha256(data).digest() != digest:
            log.debug("Dropping the damaged prompt cache file %s", path)
            path.unlink(missing_ok=True)
            return None
        return data

    def path_for(self, key: tuple[int, ...]) -> Path:
        return self.folder / (hashlib.sha256(array("i", key).tobytes()).hexdigest()[:24] + ".kv")

    def save(self, key: tuple[int, ...], data: bytes) -> None:
        name = self.path_for(key).name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.{os.getpid()}.tmp"
            header = self._MAGIC + len(key).to_bytes(4, "little") + array("i", key).tobytes()
            tmp.write_bytes(header + hashlib.sha256(data).digest() + data)
            os.replace(tmp, self.folder / name)
            files = sorted(self.folder.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[self._max_files :]:
                old.unlink(missing_ok=True)
        except OSError as err:  # a read-only or full cache folder only costs speed
            log.debug("Cannot write the prompt cache in %s: %s", self.folder, err)

    def discard(self, key: tuple[int, ...]) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as err:
            log.debug("Cannot delete a prompt cache file: %s", err)


class Snapshots:
    """LRU of saved KV states of sequence 0, each keyed by exactly the prompt tokens it holds.

    Keying by the tokens themselves (not by message text) makes a restore correct by construction:
    it is only used when its key is a token prefix of the new prompt. With `files`, snapshots are
    also written to disk and the ones there are candidates too (read when first used).
    """

    def __init__(
        self,
        max_entries: int = _SNAPSHOT_MAX_ENTRIES,
        max_bytes: int = _SNAPSHOT_MAX_BYTES,
        files: SnapshotFiles | None = None,
    ) -> None:
        self._max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.nbytes = 0
        self._files = files
        self._on_disk: dict[tuple[int, ...], Path] = files.keys() if files is not None else {}

    def __contains__(self, key: tuple[int, ...]) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def longest_prefix(self, tokens: Sequence[int], limit: int) -> tuple[tuple[int, ...], bytes] | None:
        """The longest snapshot whose key starts `tokens` and has at most `limit` tokens (marked used)."""
        keys = [*self._entries, *(k for k in self._on_disk if k not in self._entries)]
        fits = [k for k in keys if len(k) <= limit and common_prefix(tokens, k) == len(k)]
        if not fits:
            return None
        best = max(fits, key=len)
        if best not in self._entries:
            path = self._on_disk.pop(best)
            data = self._files.load(path) if self._files is not None else None
            if data is None:
                return None
            self.add(best, data, persist=False)
        self._entries.move_to_end(best)
        return best, self._entries[best]

    def add(self, key: tuple[int, ...], data: bytes, *, persist: bool = True) -> None:
        if len(data) > self.max_bytes:
            return
        self.discard(key, from_disk=False)
        self._entries[key] = data
        self.nbytes += len(data)
        if persist and self._files is not None:
            self._files.save(key, data)
        while len(self._entries) > self._max_entries or self.nbytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.nbytes -= len(old)

    def discard(self, key: tuple[int, ...], *, from_disk: bool = True) -> None:
        """Forget a snapshot; `from_disk` also deletes its file (one that failed to restore)."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.nbytes -= len(old)
        if from_disk and self._files is not None:
            self._on_disk.pop(key, None)
            self._files.discard(key)

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0


def prompt_cache_folder(settings: LLMSettings, model_path: Path, n_ctx: int) -> Path:
    """Per model file (path, size, modification time), context size and runtime version."""
    try:
        from importlib.metadata import version

        runtime = version("cyllama")
    except Exception:  # not installed as a distribution: the folder still differs per model
        runtime = "?"
    st = model_path.stat()
    ident = f"{model_path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{n_ctx}|{runtime}"
    return settings.cache_dir / "prompt-cache" / hashlib.sha256(ident.encode()).hexdigest()[:16]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
