"""The embedded model's llama.cpp side: the loaded model and its one context (`Runtime`), prompts
rendered with the model's chat template and tokenised, prefill in batches with KV-cache truncation
and snapshots, samplers (greedy, sampling, grammar) and the first-token scoring behind choose().
Everything here runs on the backend's worker thread."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.backends.base import Message
from assistant.backends.llm_snapshots import SNAPSHOT_MIN_TOKENS, Snapshots
from assistant.errors import GenerationError

log = logging.getLogger(__name__)

N_BATCH = 512
# Private-use code points: cannot collide with real message text, survive every chat template.
_SLOT = "\ue000{}\ue001"


@dataclass
class Runtime:
    """The loaded model and its one context. Touched only on the worker thread."""

    lib: Any
    model: Any
    vocab: Any
    ctx: Any
    n_ctx: int
    template: str | None
    # Tokens whose keys/values are in the KV cache at positions 0..len-1.
    cached: list[int] = field(default_factory=list)
    snapshots: Snapshots = field(default_factory=Snapshots)


def first_tokens(vocab: Any, choice: str) -> list[int]:
    """First tokens of a reply starting with `choice` in its usual spellings (yes, Yes, YES)."""
    found: list[int] = []
    for variant in (choice, choice.capitalize(), choice.upper(), " " + choice):
        ids = vocab.tokenize(variant, False, False)
        if ids and int(ids[0]) not in found:
            found.append(int(ids[0]))
    return found


def logit_gap(rt: Runtime, first: list[int], other: list[int], span: float = 40.0) -> float:
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


def batches(start: int, end: int, boundary: int | None) -> Iterator[tuple[int, int]]:
    """[start, end) in slices of at most N_BATCH tokens, one of them ending exactly at `boundary`."""
    cuts = [start, boundary, end] if boundary is not None and start < boundary < end else [start, end]
    for lo, hi in itertools.pairwise(cuts):
        for s in range(lo, hi, N_BATCH):
            yield s, min(s + N_BATCH, hi)


def restore_snapshot(rt: Runtime, tokens: Sequence[int], keep: int, limit: int) -> int:
    """Load the longest snapshot that starts `tokens` if it beats the `keep` tokens already cached.

    Returns how many prompt tokens the KV cache now holds. A failed restore leaves the cache empty
    (llama.cpp clears the sequence before loading), which is still correct, only slower.
    """
    found = rt.snapshots.longest_prefix(tokens, limit)
    if found is None or len(found[0]) <= keep:
        return keep
    key, data = found
    try:
        truncate(rt, 0)
        rt.ctx.set_state_seq_data(data, 0)  # raises ValueError when llama.cpp reports failure
        restored = int(rt.ctx.memory_seq_pos_max(0)) + 1
        if restored != len(key):
            raise ValueError(f"restored {restored} positions, expected {len(key)}")
    except Exception as err:  # any failure: forget the snapshot and prefill from scratch
        log.debug("Could not restore a %d-token prompt snapshot: %s", len(key), err)
        rt.snapshots.discard(key)
        return truncate(rt, 0)
    rt.cached = list(key)
    log.debug("Restored a %d-token prompt snapshot", len(key))
    return len(key)


def truncate(rt: Runtime, pos: int) -> int:
    """Drop KV cache positions from `pos` on and keep `cached` in step; returns the tokens kept (0 when
    llama.cpp cannot remove a partial range and the whole cache had to be cleared)."""
    if not rt.ctx.memory_seq_rm(0, pos, -1):
        rt.ctx.kv_cache_clear()
        pos = 0
    del rt.cached[pos:]
    return pos


def save_snapshot(rt: Runtime) -> None:
    """Keep the KV state of sequence 0, which holds exactly `rt.cached`, for a later restore."""
    key = tuple(rt.cached)
    if len(key) < SNAPSHOT_MIN_TOKENS or key in rt.snapshots:
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


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset/cgroup pinning, unlike cpu_count
    except AttributeError:  # not on macOS/Windows
        return os.cpu_count() or 1


def warm_up(rt: Runtime) -> None:
    # The first decode pays one-off costs (page faults on the mapped weights, buffer setup); pay them
    # while loading, as llama.cpp's own tools do, so they do not count against the first answer.
    token = rt.vocab.token_bos()
    if token < 0:
        token = rt.vocab.token_eos()
    try:
        rt.ctx.decode(rt.lib.llama_batch_get_one([int(token)], 0))
    except (InterruptedError, ValueError, RuntimeError) as err:
        log.debug("Warm-up decode failed: %s", err)
    truncate(rt, 0)  # `cached` is still empty: the warm-up token is not part of any prompt


def choose_template(lib: Any, model: Any) -> str | None:
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


def render_prompt(rt: Runtime, messages: Sequence[Message]) -> str:
    if rt.template is None:
        parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
        return "".join(parts) + "<|im_start|>assistant\n"
    chat = [rt.lib.LlamaChatMessage(role=m["role"], content=m["content"]) for m in messages]
    return str(rt.model.chat_apply_template(rt.template, chat, True))


def prompt_tokens(rt: Runtime, messages: Sequence[Message]) -> tuple[list[int], int | None]:
    """The prompt's tokens, and where a leading system message's content ends (else None).

    Template text may contain control tokens; message text never does. Messages are rendered as
    placeholders, then template pieces are tokenized with special tokens parsed and message contents
    without, so an article containing `<|im_end|>` stays plain text. Since each piece is tokenized
    on its own, the tokens up to the end of the system content depend on nothing that follows; the
    template text after it might (role names, turn markers), so the boundary is not put any later.
    """
    slots = [_SLOT.format(i) for i in range(len(messages))]
    rendered = render_prompt(
        rt, [Message(role=m["role"], content=s) for m, s in zip(messages, slots, strict=True)]
    )
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


_LOG_ERROR = 4  # GGML_LOG_LEVEL_ERROR


def make_sampler(lib: Any, temperature: float, vocab: Any = None, grammar: str | None = None) -> Any:
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
