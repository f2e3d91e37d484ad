"""In-process chat model: a GGUF (the bundled Qwen2.5-Coder-1.5B by default) run on CPU with cyllama.

All llama.cpp work happens on one worker thread per instance; the KV cache of the previous prompt is
kept so a shared prefix (the fixed system prompt) is not processed again on the next call. Because the
answer pipeline alternates prompts with different system messages (answer, translate, rewrite), the KV
state right after each long system message is also kept as a snapshot and restored when it comes back.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import math
import os
import queue
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from assistant.backends.base import Message
from assistant.backends.model_store import model_name, resolve_model_path
from assistant.config import LLMSettings
from assistant.errors import (
    AssistantError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationError,
)

log = logging.getLogger(__name__)

_N_BATCH = 512
# llama.cpp enum llama_vocab_type
_VOCAB_SPM = 1
_VOCAB_BPE = 2
# Private-use code points: cannot collide with real message text, survive every chat template.
_SLOT = "\ue000{}\ue001"
# Grace beyond the deadline before the caller stops waiting for a worker stuck inside one decode.
_TIMEOUT_GRACE_S = 1.0
# Prefix snapshots: a shorter system prompt is cheaper to prefill again than to keep around; a few
# entries cover the pipeline's prompts (answer, rewrite, translate). About 28 KiB per token for the
# bundled model, so a ~450-token answer system prompt takes ~13 MiB.
_SNAPSHOT_MIN_TOKENS = 32
_SNAPSHOT_MAX_ENTRIES = 4
_SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class GenerationStats:
    """Timings of one call, for logs, benchmarks and eval reports."""

    prompt_tokens: int
    reused_tokens: int
    prefill_s: float
    generated_tokens: int
    generation_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.generation_s if self.generation_s > 0 else 0.0


@dataclass
class _Request:
    messages: list[Message]
    max_tokens: int
    temperature: float
    stop: tuple[str, ...]
    grammar: str | None = None
    # Set for choose(): score these replies instead of generating one.
    choices: tuple[str, ...] = ()
    out: queue.SimpleQueue[object] = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0


class _Started:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline


_DONE = object()


class _Cancelled(Exception):
    """The consumer went away; the worker stops quietly."""


class _Snapshots:
    """LRU of saved KV states of sequence 0, each keyed by exactly the prompt tokens it holds.

    Keying by the tokens themselves (not by message text) makes a restore correct by construction:
    it is only used when its key is a token prefix of the new prompt.
    """

    def __init__(
        self, max_entries: int = _SNAPSHOT_MAX_ENTRIES, max_bytes: int = _SNAPSHOT_MAX_BYTES
    ) -> None:
        self._max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.nbytes = 0

    def __contains__(self, key: tuple[int, ...]) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def longest_prefix(self, tokens: Sequence[int], limit: int) -> tuple[tuple[int, ...], bytes] | None:
        """The longest snapshot whose key starts `tokens` and has at most `limit` tokens (marked used)."""
        fits = [k for k in self._entries if len(k) <= limit and _common_prefix(tokens, k) == len(k)]
        if not fits:
            return None
        best = max(fits, key=len)
        self._entries.move_to_end(best)
        return best, self._entries[best]

    def add(self, key: tuple[int, ...], data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        self.discard(key)
        self._entries[key] = data
        self.nbytes += len(data)
        while len(self._entries) > self._max_entries or self.nbytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.nbytes -= len(old)

    def discard(self, key: tuple[int, ...]) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.nbytes -= len(old)

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0


@dataclass
class _Runtime:
    """The loaded model and its one context. Touched only on the worker thread."""

    lib: Any
    model: Any
    vocab: Any
    ctx: Any
    n_ctx: int
    template: str | None
    # Tokens whose keys/values are in the KV cache at positions 0..len-1.
    cached: list[int] = field(default_factory=list)
    snapshots: _Snapshots = field(default_factory=_Snapshots)


class EmbeddedChatModel:
    """ChatModel running a GGUF in-process. Loads on first use; `close()` frees it.

    Calls from any thread are served one at a time in arrival order. `llm.timeout_s` bounds each
    generation from the moment the worker starts it (loading the model and waiting do not count).

    `reuse_prefix=False` clears the KV cache on every call and keeps no prefix snapshots (only useful to
    measure what reuse saves).
    """

    def __init__(self, settings: LLMSettings, *, reuse_prefix: bool = True) -> None:
        self._settings = settings
        self._reuse_prefix = reuse_prefix
        self._model_name = model_name(settings)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-llm")
        self._rt: _Runtime | None = None
        self._closed = False
        self._active: _Request | None = None
        self._active_lock = threading.Lock()
        self.last_stats: GenerationStats | None = None
        self.load_seconds: float | None = None

    @property
    def backend(self) -> str:
        return "embedded"

    @property
    def model(self) -> str:
        return self._model_name

    def __enter__(self) -> EmbeddedChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        if self._closed:
            raise BackendUnavailableError("The embedded model was closed; create a new one")
        req = _Request(list(messages), max_tokens, temperature, tuple(s for s in stop if s), grammar)
        try:
            self._executor.submit(self._serve, req)
        except RuntimeError as err:  # executor shut down by a concurrent close()
            raise BackendUnavailableError("The embedded model was closed; create a new one") from err
        try:
            yield from self._receive(req)
        finally:
            # Runs when the consumer stops early (generator closed or collected), on errors and at the end.
            self._cancel(req)

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """Probability of each choice as the start of the reply (softmax over their first tokens,
        spelling variants of a choice pooled): one prompt prefill, no generation."""
        if self._closed:
            raise BackendUnavailableError("The embedded model was closed; create a new one")
        req = _Request(list(messages), 1, 0.0, (), None, tuple(choices))
        try:
            self._executor.submit(self._serve, req)
        except RuntimeError as err:
            raise BackendUnavailableError("The embedded model was closed; create a new one") from err
        try:
            for _ in self._receive(req):
                pass
        finally:
            self._cancel(req)
        scores = getattr(req, "scores", None)
        if scores is None:
            raise GenerationError("The embedded model returned no scores")
        return list(scores)

    def _receive(self, req: _Request) -> Iterator[str]:
        deadline: float | None = None  # set once the worker starts: loading does not count
        while True:
            if deadline is None:
                item = req.out.get()
            else:
                try:
                    item = req.out.get(timeout=max(0.0, deadline - time.monotonic()) + _TIMEOUT_GRACE_S)
                except queue.Empty:
                    raise self._timeout_error() from None
            if item is _DONE:
                return
            if isinstance(item, _Started):
                deadline = item.deadline
            elif isinstance(item, BaseException):
                raise item
            else:
                assert isinstance(item, str)
                yield item

    def _timeout_error(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"The embedded model did not finish within {self._settings.timeout_s:g} s "
            "(llm.timeout_s): ask for a shorter answer or raise the timeout"
        )

    def _cancel(self, req: _Request) -> None:
        req.cancelled.set()
        with self._active_lock:
            if self._active is req and self._rt is not None:
                # Aborts a long decode (prompt prefill) from the outside via ggml's abort callback.
                self._rt.ctx.cancel = True

    def close(self) -> None:
        """Stop any generation, free the model and its context, and end the worker thread."""
        if self._closed:
            return
        self._closed = True
        active = self._active
        if active is not None:
            self._cancel(active)
        self._executor.submit(self._free)
        self._executor.shutdown(wait=True)

    # ---- everything below runs on the worker thread ----

    def _serve(self, req: _Request) -> None:
        try:
            if self._closed:
                raise BackendUnavailableError("The embedded model was closed; create a new one")
            if req.cancelled.is_set():
                return
            rt = self._runtime()
            with self._active_lock:
                self._active = req
                rt.ctx.cancel = False
            req.deadline = time.monotonic() + self._settings.timeout_s
            req.out.put(_Started(req.deadline))
            if req.choices:
                self._score(rt, req)
            else:
                self._generate(rt, req)
        except _Cancelled:
            if self._closed:  # a consumer still reading must not mistake the cut-off for a full reply
                req.out.put(BackendUnavailableError("The embedded model was closed during generation"))
            log.debug("Generation cancelled")
        except AssistantError as err:
            req.out.put(err)
        except Exception as err:
            log.exception("Embedded model failed")
            req.out.put(GenerationError(f"The embedded model failed: {err}"))
        finally:
            with self._active_lock:
                self._active = None
                if self._rt is not None:
                    self._rt.ctx.cancel = False
            req.out.put(_DONE)

    def _runtime(self) -> _Runtime:
        if self._rt is None:
            self._rt = self._load()
        return self._rt

    def _load(self) -> _Runtime:
        path = resolve_model_path(self._settings)
        try:
            import cyllama.llama.llama_cpp as lib
            from cyllama.utils.validation import validate_gguf_file
        except ImportError as err:
            raise BackendUnavailableError(
                "The embedded runtime is not installed: pip install 'cyllama==0.2.18'"
            ) from err
        started = time.perf_counter()
        try:
            validate_gguf_file(str(path), kind="GGUF model")
        except (OSError, ValueError) as err:
            raise BackendUnavailableError(f"{path} is not a usable GGUF model: {err}") from err
        # llama.cpp writes hundreds of lines straight to stderr, past any logging configuration.
        lib.disable_logging()
        lib.ggml_backend_load_all()
        try:
            params = lib.LlamaModelParams()
            params.n_gpu_layers = 0
            model = lib.LlamaModel(str(path), params)
            n_ctx = self._settings.n_ctx
            if n_ctx > model.n_ctx_train:
                log.warning(
                    "llm.n_ctx=%d exceeds what %s was trained for; using %d",
                    n_ctx,
                    path.name,
                    model.n_ctx_train,
                )
                n_ctx = model.n_ctx_train
            threads = self._settings.threads or _available_cores()
            cparams = lib.LlamaContextParams()
            cparams.n_ctx = n_ctx
            cparams.n_batch = _N_BATCH
            cparams.n_ubatch = _N_BATCH
            cparams.n_threads = threads
            cparams.n_threads_batch = threads
            cparams.no_perf = True
            ctx = lib.LlamaContext(model, cparams)
            ctx.install_cancel_callback()
        except (RuntimeError, ValueError, MemoryError) as err:
            raise BackendUnavailableError(f"Could not load the embedded model {path}: {err}") from err
        rt = _Runtime(lib, model, model.get_vocab(), ctx, n_ctx, _choose_template(lib, model))
        _warm_up(rt)
        self.load_seconds = time.perf_counter() - started
        log.info("Loaded %s in %.1f s (n_ctx=%d, threads=%d)", path.name, self.load_seconds, n_ctx, threads)
        return rt

    def _free(self) -> None:
        rt, self._rt = self._rt, None
        if rt is not None:
            rt.snapshots.clear()
            rt.ctx.close()
            rt.model.close()

    def _generate(self, rt: _Runtime, req: _Request) -> None:
        tokens, boundary = _prompt_tokens(rt, req.messages)
        if len(tokens) >= rt.n_ctx:
            raise GenerationError(
                f"The prompt has {len(tokens)} tokens but the context window holds {rt.n_ctx} "
                "(llm.n_ctx): use fewer or shorter passages, or raise llm.n_ctx"
            )
        budget = min(req.max_tokens, rt.n_ctx - len(tokens))
        t0 = time.perf_counter()
        reused = self._prefill(rt, tokens, boundary, req)
        t1 = time.perf_counter()
        sampler = _make_sampler(rt.lib, req.temperature, rt.vocab, req.grammar)
        decoder = _TokenDecoder(rt.vocab)
        stops = _StopScanner(req.stop)
        generated = 0
        try:
            while generated < budget:
                self._check(req)
                token = int(sampler.sample(rt.ctx, -1))
                if rt.vocab.is_eog(token):
                    break
                generated += 1
                text, stopped = stops.push(decoder.feed(token))
                if text:
                    req.out.put(text)
                if stopped:
                    break
                if generated < budget:  # the last token's logits would never be used
                    self._decode(rt, [token], req)
            else:
                log.debug("Generation stopped at max_tokens=%d", budget)
            # Bytes of a character cut off by max_tokens are dropped, never shown as U+FFFD.
            tail = stops.flush()
            if tail:
                req.out.put(tail)
        finally:
            sampler.close()
            self.last_stats = GenerationStats(
                len(tokens), reused, t1 - t0, generated, time.perf_counter() - t1
            )

    def _score(self, rt: _Runtime, req: _Request) -> None:
        tokens, boundary = _prompt_tokens(rt, req.messages)
        if len(tokens) >= rt.n_ctx:
            raise GenerationError(f"The prompt has {len(tokens)} tokens but the context holds {rt.n_ctx}")
        self._prefill(rt, tokens, boundary, req)
        firsts = [_first_tokens(rt.vocab, choice) for choice in req.choices]
        # Logit differences to the first choice, found by greedy sampling under a logit bias (the
        # binding cannot hand out the logits themselves): the bias at which the choice flips.
        diffs = [0.0] + [_logit_gap(rt, firsts[0], other) for other in firsts[1:]]
        top = max(diffs)
        exps = [math.exp(d - top) for d in diffs]
        total = sum(exps)
        req.scores = tuple(e / total for e in exps)  # type: ignore[attr-defined]

    def _prefill(self, rt: _Runtime, tokens: list[int], boundary: int | None, req: _Request) -> int:
        """Bring the KV cache to `tokens`, reusing what it (or a snapshot) holds; returns tokens reused.

        `boundary` ends the system message: the KV state there is snapshotted so the next prompt with
        the same system message skips it even after prompts with other system messages came between.
        The batches always split at the boundary, also without reuse, so the prefix is computed the
        same way whether it is restored or decoded fresh (no batch-size dependent float differences).
        """
        # At least the last prompt token must be decoded again: its logits pick the first reply token.
        limit = len(tokens) - 1
        keep = 0
        if self._reuse_prefix:
            keep = _restore_snapshot(rt, tokens, min(_common_prefix(rt.cached, tokens), limit), limit)
        if keep < len(rt.cached):
            keep = _truncate(rt, keep)
        for start, end in _batches(keep, len(tokens), boundary):
            self._check(req)
            self._decode(rt, tokens[start:end], req)
            if end == boundary and self._reuse_prefix:
                _save_snapshot(rt)
        log.debug("Prompt: %d tokens, %d reused from the KV cache", len(tokens), keep)
        return keep

    def _decode(self, rt: _Runtime, batch: list[int], req: _Request) -> None:
        pos = len(rt.cached)
        try:
            rt.ctx.decode(rt.lib.llama_batch_get_one(batch, pos))
        except InterruptedError:
            # An aborted decode may leave some of its micro-batches in the KV cache; drop them so
            # the cache matches `cached` and the next call can still reuse the prefix.
            _truncate(rt, pos)
            raise self._cancelled_or_timeout(req) from None
        except (ValueError, RuntimeError) as err:
            _truncate(rt, pos)
            raise GenerationError(f"The embedded model failed while decoding: {err}") from err
        rt.cached.extend(batch)

    def _check(self, req: _Request) -> None:
        if req.cancelled.is_set() or time.monotonic() > req.deadline:
            raise self._cancelled_or_timeout(req)

    def _cancelled_or_timeout(self, req: _Request) -> Exception:
        if time.monotonic() > req.deadline and not req.cancelled.is_set():
            return self._timeout_error()
        return _Cancelled()


def _first_tokens(vocab: Any, choice: str) -> list[int]:
    """First tokens of a reply starting with `choice` in its usual spellings (yes, Yes, YES)."""
    found: list[int] = []
    for variant in (choice, choice.capitalize(), choice.upper(), " " + choice):
        ids = vocab.tokenize(variant, False, False)
        if ids and int(ids[0]) not in found:
            found.append(int(ids[0]))
    return found


def _logit_gap(rt: _Runtime, first: list[int], other: list[int], span: float = 40.0) -> float:
    """max logit over `other` minus max logit over `first`, to within 0.01, from the logits of the
    last decoded position. A bias of +100 lifts both sets above every other token; `first` gets an
    extra bias b, and greedy sampling tells which set wins at b."""
    lo, hi = -span, span  # the gap lies in [lo, hi] for any sane model
    n_vocab = int(rt.vocab.n_vocab)
    while hi - lo > 0.01:
        mid = (lo + hi) / 2
        biases = [(t, 100.0 + mid) for t in first] + [(t, 100.0) for t in other if t not in first]
        params = rt.lib.LlamaSamplerChainParams()
        params.no_perf = True
        sampler = rt.lib.LlamaSampler(params)
        try:
            sampler.add_logit_bias(n_vocab, biases)
            sampler.add_greedy()
            winner = int(sampler.sample(rt.ctx, -1))
        finally:
            sampler.close()
        if winner in first:
            hi = mid  # first wins with bias mid: the gap is below mid
        else:
            lo = mid
    return (lo + hi) / 2


def _batches(start: int, end: int, boundary: int | None) -> Iterator[tuple[int, int]]:
    """[start, end) in slices of at most _N_BATCH tokens, one of them ending exactly at `boundary`."""
    cuts = [start, boundary, end] if boundary is not None and start < boundary < end else [start, end]
    for lo, hi in itertools.pairwise(cuts):
        for s in range(lo, hi, _N_BATCH):
            yield s, min(s + _N_BATCH, hi)


def _restore_snapshot(rt: _Runtime, tokens: Sequence[int], keep: int, limit: int) -> int:
    """Load the longest snapshot that starts `tokens` if it beats the `keep` tokens already cached.

    Returns how many prompt tokens the KV cache now holds. A failed restore leaves the cache empty
    (llama.cpp clears the sequence before loading), which is still correct, only slower.
    """
    found = rt.snapshots.longest_prefix(tokens, limit)
    if found is None or len(found[0]) <= keep:
        return keep
    key, data = found
    try:
        _truncate(rt, 0)
        rt.ctx.set_state_seq_data(data, 0)  # raises ValueError when llama.cpp reports failure
        restored = int(rt.ctx.memory_seq_pos_max(0)) + 1
        if restored != len(key):
            raise ValueError(f"restored {restored} positions, expected {len(key)}")
    except Exception as err:  # any failure: forget the snapshot and prefill from scratch
        log.debug("Could not restore a %d-token prompt snapshot: %s", len(key), err)
        rt.snapshots.discard(key)
        return _truncate(rt, 0)
    rt.cached = list(key)
    log.debug("Restored a %d-token prompt snapshot", len(key))
    return len(key)


def _truncate(rt: _Runtime, pos: int) -> int:
    """Drop KV cache positions from `pos` on and keep `cached` in step; returns the tokens kept (0 when
    llama.cpp cannot remove a partial range and the whole cache had to be cleared)."""
    if not rt.ctx.memory_seq_rm(0, pos, -1):
        rt.ctx.kv_cache_clear()
        pos = 0
    del rt.cached[pos:]
    return pos


def _save_snapshot(rt: _Runtime) -> None:
    """Keep the KV state of sequence 0, which holds exactly `rt.cached`, for a later restore."""
    key = tuple(rt.cached)
    if len(key) < _SNAPSHOT_MIN_TOKENS or key in rt.snapshots:
        return
    try:
        size = int(rt.ctx.get_state_seq_size(0))
        if size <= 0 or size > rt.snapshots.max_bytes:
            log.debug("Not snapshotting a %d-token prompt prefix of %d bytes", len(key), size)
            return
        data = bytes(rt.ctx.get_state_seq_data(0))
    except Exception as err:  # a snapshot is only an optimisation
        log.debug("Could not snapshot a %d-token prompt prefix: %s", len(key), err)
        return
    if data:
        rt.snapshots.add(key, data)


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset/cgroup pinning, unlike cpu_count
    except AttributeError:  # not on macOS/Windows
        return os.cpu_count() or 1


def _warm_up(rt: _Runtime) -> None:
    # The first decode pays one-off costs (page faults on the mapped weights, buffer setup); pay them
    # while loading, as llama.cpp's own tools do, so they do not count against the first answer.
    token = rt.vocab.token_bos()
    if token < 0:
        token = rt.vocab.token_eos()
    try:
        rt.ctx.decode(rt.lib.llama_batch_get_one([int(token)], 0))
    except (InterruptedError, ValueError, RuntimeError) as err:
        log.debug("Warm-up decode failed: %s", err)
    _truncate(rt, 0)  # `cached` is still empty: the warm-up token is not part of any prompt


def _choose_template(lib: Any, model: Any) -> str | None:
    """The GGUF's chat template if llama.cpp can apply it, else None (meaning ChatML)."""
    template = str(model.get_default_chat_template() or "")
    if not template:
        log.info("The model has no chat template; using ChatML")
        return None
    probe = [lib.LlamaChatMessage(role="system", content="s"), lib.LlamaChatMessage(role="user", content="u")]
    try:
        model.chat_apply_template(template, probe, True)
    except Exception as err:  # unsupported templates surface as assorted errors from the binding
        log.warning("Cannot apply the model's chat template (%s); using ChatML", err)
        return None
    return template


def _render(rt: _Runtime, messages: Sequence[Message]) -> str:
    if rt.template is None:
        parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
        return "".join(parts) + "<|im_start|>assistant\n"
    chat = [rt.lib.LlamaChatMessage(role=m["role"], content=m["content"]) for m in messages]
    return str(rt.model.chat_apply_template(rt.template, chat, True))


def _prompt_tokens(rt: _Runtime, messages: Sequence[Message]) -> tuple[list[int], int | None]:
    """The prompt's tokens, and where a leading system message's content ends (else None).

    Template text may contain control tokens; message text never does. Messages are rendered as
    placeholders, then template pieces are tokenized with special tokens parsed and message contents
    without, so an article containing `<|im_end|>` stays plain text. Since each piece is tokenized
    on its own, the tokens up to the end of the system content depend on nothing that follows; the
    template text after it might (role names, turn markers), so the boundary is not put any later.
    """
    slots = [_SLOT.format(i) for i in range(len(messages))]
    rendered = _render(rt, [Message(role=m["role"], content=s) for m, s in zip(messages, slots, strict=True)])
    tokens: list[int] = []
    boundary: int | None = None
    pos = 0
    for i, (message, slot) in enumerate(zip(messages, slots, strict=True)):
        at = rendered.find(slot, pos)
        if at < 0:  # the template dropped this message
            continue
        tokens += rt.vocab.tokenize(rendered[pos:at], False, True)
        tokens += rt.vocab.tokenize(message["content"], False, False)
        if i == 0 and message["role"] == "system":
            boundary = len(tokens)
        pos = at + len(slot)
    tokens += rt.vocab.tokenize(rendered[pos:], False, True)
    if rt.vocab.get_add_bos():
        bos = int(rt.vocab.token_bos())
        if not tokens or tokens[0] != bos:
            tokens.insert(0, bos)
            boundary = None if boundary is None else boundary + 1
    return [int(t) for t in tokens], boundary


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


_LOG_ERROR = 4  # GGML_LOG_LEVEL_ERROR


def _make_sampler(lib: Any, temperature: float, vocab: Any = None, grammar: str | None = None) -> Any:
    params = lib.LlamaSamplerChainParams()
    params.no_perf = True
    sampler = lib.LlamaSampler(params)
    if grammar:
        # First in the chain: it masks every token the grammar does not allow before any choice.
        # llama.cpp reports a grammar it cannot parse only in its log and leaves a null link in
        # the chain that crashes the first sample, so the log is read while the grammar is added.
        errors: list[str] = []
        lib.set_log_callback(lambda level, text: errors.append(str(text)) if level == _LOG_ERROR else None)
        try:
            sampler.add_grammar(vocab, grammar, "root")
        except Exception as err:
            errors.append(str(err))
        finally:
            lib.disable_logging()
        if errors:
            sampler.close()
            detail = " ".join(e.strip() for e in errors)
            raise GenerationError(f"The embedded model rejected the output grammar: {detail}")
    if temperature <= 0:
        sampler.add_greedy()
    else:
        # llama.cpp's defaults for the truncation samplers; the seed is random per call.
        sampler.add_min_p(0.05, 1)
        sampler.add_top_k(40)
        sampler.add_top_p(0.95, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(0xFFFFFFFF)
    return sampler


def _gpt2_byte_decoder() -> dict[str, int]:
    # Byte-level BPE vocabularies (GPT-2, Qwen, Llama 3) spell each byte as one printable character.
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


class _TokenDecoder:
    """Token ids -> text, holding back the bytes of a character split across tokens.

    cyllama's `token_to_piece` decodes each token alone with errors='replace', so a token carrying
    half of a multi-byte character (emoji, rare umlaut merges) comes back as U+FFFD; for those the
    raw bytes are recovered from the vocabulary's spelling and fed to an incremental UTF-8 decoder.
    """

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._type = int(vocab.vocab_type)
        self._bytes_of = _gpt2_byte_decoder() if self._type == _VOCAB_BPE else {}
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token: int) -> str:
        return str(self._utf8.decode(self.token_bytes(token)))

    def token_bytes(self, token: int) -> bytes:
        piece = str(self._vocab.token_to_piece(token, 0, False))
        if "\ufffd" not in piece:
            return piece.encode("utf-8")
        spelling = str(self._vocab.get_text(token))
        if self._type == _VOCAB_BPE:
            try:
                return bytes(self._bytes_of[c] for c in spelling)
            except KeyError:
                return piece.encode("utf-8")
        if self._type == _VOCAB_SPM and (m := _BYTE_TOKEN.fullmatch(spelling)):
            return bytes([int(m.group(1), 16)])
        return piece.encode("utf-8")


class _StopScanner:
    """Cuts the reply at the first stop sequence, even one split across pieces."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._buf = ""

    def push(self, text: str) -> tuple[str, bool]:
        if not self._stops:
            return text, False
        self._buf += text
        hits = [i for i in (self._buf.find(s) for s in self._stops) if i >= 0]
        if hits:
            out, self._buf = self._buf[: min(hits)], ""
            return out, True
        cut = len(self._buf) - self._hold
        if cut <= 0:
            return "", False
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return out, False

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return out
