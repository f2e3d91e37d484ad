"""In-process chat model: a GGUF (the bundled Qwen2.5-Coder-1.5B by default) run on CPU with cyllama.

All llama.cpp work happens on one worker thread per instance; the KV cache of the previous prompt is
kept so a shared prefix (the fixed system prompt) is not processed again on the next call. Because the
answer pipeline alternates prompts with different system messages (answer, translate, rewrite), the KV
state right after each long system message is also kept as a snapshot and restored when it comes back.
Snapshots are also written to disk (`llm.prompt_cache`), like llama.cpp's `--prompt-cache`: a new
process (each `assistant ask`) restores the system prompt instead of prefilling it again.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from assistant.backends.base import Message
from assistant.backends.llm_runtime import (
    N_BATCH,
    Runtime,
    available_cores,
    batches,
    choose_template,
    first_tokens,
    logit_gap,
    make_sampler,
    prompt_tokens,
    restore_snapshot,
    save_snapshot,
    truncate,
    warm_up,
)
from assistant.backends.llm_snapshots import (
    SnapshotFiles,
    Snapshots,
    common_prefix,
    prompt_cache_folder,
)
from assistant.backends.llm_tokens import StopScanner, TokenDecoder
from assistant.backends.model_store import model_name, resolve_model_path
from assistant.config import LLMSettings
from assistant.errors import (
    AssistantError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationError,
)

log = logging.getLogger(__name__)

# llama.cpp enum llama_vocab_type
# Grace beyond the deadline before the caller stops waiting for a worker stuck inside one decode.
_TIMEOUT_GRACE_S = 1.0
# How long the caller's thread waits for the worker at a time (see EmbeddedChatModel._next).
_POLL_S = 0.2


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
        self._rt: Runtime | None = None
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
            item = self._next(req, deadline)
            if item is _DONE:
                return
            if isinstance(item, _Started):
                deadline = item.deadline
            elif isinstance(item, BaseException):
                raise item
            else:
                assert isinstance(item, str)
                yield item

    def _next(self, req: _Request, deadline: float | None) -> object:
        """The worker's next message, waited for in short slices: an exception raised in this thread
        from outside (the web UI's stop) is only seen between waits, and so is the deadline."""
        while True:
            try:
                return req.out.get(timeout=_POLL_S)
            except queue.Empty:
                if deadline is not None and time.monotonic() > deadline + _TIMEOUT_GRACE_S:
                    raise self._timeout_error() from None

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

    def _runtime(self) -> Runtime:
        if self._rt is None:
            self._rt = self._load()
        return self._rt

    def _load(self) -> Runtime:
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
            threads = self._settings.threads or available_cores()
            cparams = lib.LlamaContextParams()
            cparams.n_ctx = n_ctx
            cparams.n_batch = N_BATCH
            cparams.n_ubatch = N_BATCH
            cparams.n_threads = threads
            cparams.n_threads_batch = threads
            cparams.no_perf = True
            ctx = lib.LlamaContext(model, cparams)
            ctx.install_cancel_callback()
        except (RuntimeError, ValueError, MemoryError) as err:
            raise BackendUnavailableError(f"Could not load the embedded model {path}: {err}") from err
        rt = Runtime(lib, model, model.get_vocab(), ctx, n_ctx, choose_template(lib, model))
        if self._reuse_prefix and self._settings.prompt_cache:
            rt.snapshots = Snapshots(files=SnapshotFiles(prompt_cache_folder(self._settings, path, n_ctx)))
        warm_up(rt)
        self.load_seconds = time.perf_counter() - started
        log.info("Loaded %s in %.1f s (n_ctx=%d, threads=%d)", path.name, self.load_seconds, n_ctx, threads)
        return rt

    def _free(self) -> None:
        rt, self._rt = self._rt, None
        if rt is not None:
            rt.snapshots.clear()
            rt.ctx.close()
            rt.model.close()

    def _generate(self, rt: Runtime, req: _Request) -> None:
        tokens, boundary = prompt_tokens(rt, req.messages)
        if len(tokens) >= rt.n_ctx:
            raise GenerationError(
                f"The prompt has {len(tokens)} tokens but the context window holds {rt.n_ctx} "
                "(llm.n_ctx): use fewer or shorter passages, or raise llm.n_ctx"
            )
        budget = min(req.max_tokens, rt.n_ctx - len(tokens))
        t0 = time.perf_counter()
        reused = self._prefill(rt, tokens, boundary, req)
        t1 = time.perf_counter()
        sampler = make_sampler(rt.lib, req.temperature, rt.vocab, req.grammar)
        decoder = TokenDecoder(rt.vocab)
        stops = StopScanner(req.stop)
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

    def _score(self, rt: Runtime, req: _Request) -> None:
        tokens, boundary = prompt_tokens(rt, req.messages)
        if len(tokens) >= rt.n_ctx:
            raise GenerationError(f"The prompt has {len(tokens)} tokens but the context holds {rt.n_ctx}")
        self._prefill(rt, tokens, boundary, req)
        firsts = [first_tokens(rt.vocab, choice) for choice in req.choices]
        # Logit differences to the first choice, found by greedy sampling under a logit bias (the
        # binding cannot hand out the logits themselves): the bias at which the choice flips.
        diffs = [0.0] + [logit_gap(rt, firsts[0], other) for other in firsts[1:]]
        top = max(diffs)
        exps = [math.exp(d - top) for d in diffs]
        total = sum(exps)
        req.scores = tuple(e / total for e in exps)  # type: ignore[attr-defined]

    def _prefill(self, rt: Runtime, tokens: list[int], boundary: int | None, req: _Request) -> int:
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
            keep = restore_snapshot(rt, tokens, min(common_prefix(rt.cached, tokens), limit), limit)
        if keep < len(rt.cached):
            keep = truncate(rt, keep)
        for start, end in batches(keep, len(tokens), boundary):
            self._check(req)
            self._decode(rt, tokens[start:end], req)
            if end == boundary and self._reuse_prefix:
                save_snapshot(rt)
        log.debug("Prompt: %d tokens, %d reused from the KV cache", len(tokens), keep)
        return keep

    def _decode(self, rt: Runtime, batch: list[int], req: _Request) -> None:
        pos = len(rt.cached)
        try:
            rt.ctx.decode(rt.lib.llama_batch_get_one(batch, pos))
        except InterruptedError:
            # An aborted decode may leave some of its micro-batches in the KV cache; drop them so
            # the cache matches `cached` and the next call can still reuse the prefix.
            truncate(rt, pos)
            raise self._cancelled_or_timeout(req) from None
        except (ValueError, RuntimeError) as err:
            truncate(rt, pos)
            raise GenerationError(f"The embedded model failed while decoding: {err}") from err
        rt.cached.extend(batch)

    def _check(self, req: _Request) -> None:
        if req.cancelled.is_set() or time.monotonic() > req.deadline:
            raise self._cancelled_or_timeout(req)

    def _cancelled_or_timeout(self, req: _Request) -> Exception:
        if time.monotonic() > req.deadline and not req.cancelled.is_set():
            return self._timeout_error()
        return _Cancelled()
