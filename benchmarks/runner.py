"""Orchestrates a benchmark run: runs each phase in a subprocess, puts ours and the baseline side by
side, judges the targets and writes the report."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import machine
from benchmarks.corpus import ROOT, CorpusSpec, corpus_spec
from benchmarks.questions import QUESTIONS, RETRIEVAL_QUERIES
from benchmarks.stats import percentile, ratio
from benchmarks.targets import TARGETS_BY_ID, evaluate

log = logging.getLogger("benchmarks")

SECTIONS = ("ingest", "retrieval", "answer", "memory")
PHASE_TIMEOUT_S = 4 * 3600
FASTER = ("faster", "slower")
SMALLER = ("less", "more")
HIGHER = ("higher", "lower")


@dataclass
class RunConfig:
    quick: bool
    out: Path
    work: Path
    gnad: Path
    only: tuple[str, ...] = SECTIONS
    name: str | None = None
    quick_articles: int | None = 10
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    synthetic_chunks: int = 100_000
    rounds: int = 3
    anchors: int = 200
    questions: tuple[str, ...] | None = None
    wait_quiet_s: float = 0.0
    quiet_load: float = 1.5
    keep_work: bool = False
    command: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


def _get(payload: dict[str, Any] | None, *keys: str) -> Any:
    """payload["result"][k1][k2]..., or None anywhere along the way."""
    value: Any = payload.get("result") if payload and payload.get("ok") else None
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _cmp(ours: Any, base: Any, *, higher_is_better: bool, words: tuple[str, str]) -> str | None:
    if not isinstance(ours, int | float) or not isinstance(base, int | float):
        return None
    r = ratio(float(ours), float(base), higher_is_better=higher_is_better, words=words)
    return None if r is None else r["text"]


def _load(payload: dict[str, Any] | None) -> str:
    if not payload:
        return "?"
    before, after = payload.get("load_before") or [], payload.get("load_after") or []
    return f"{before[0] if before else '?'} -> {after[0] if after else '?'}"


class Runner:
    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.phases: dict[str, dict[str, Any]] = {}
        self.spec: CorpusSpec | None = None
        self.phase_dir = cfg.work / "phases"

    # --- plumbing ------------------------------------------------------------------------------------

    def run_phase(self, key: str, phase: str, args: dict[str, Any]) -> dict[str, Any]:
        self.phase_dir.mkdir(parents=True, exist_ok=True)
        args_path = self.phase_dir / f"{key}.args.json"
        out_path = self.phase_dir / f"{key}.out.json"
        args_path.write_text(json.dumps(args, ensure_ascii=False), encoding="utf-8")
        out_path.unlink(missing_ok=True)
        log.info("phase %s (%s), load %s", key, phase, machine.load_average())
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.worker", phase, str(args_path), str(out_path)],
                cwd=ROOT,
                env=env,
                timeout=PHASE_TIMEOUT_S,
                check=False,
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
        wall = round(time.perf_counter() - started, 3)
        if out_path.is_file():
            payload: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
        else:
            payload = {"ok": False, "error": f"the worker exited with {code} and wrote no result"}
        payload["process_wall_s"] = wall
        payload["phase"] = phase
        if not payload.get("ok"):
            log.error("phase %s failed: %s", key, payload.get("error"))
        else:
            log.info("phase %s done in %.1f s (peak RSS %s MiB)", key, wall, payload.get("peak_rss_mb"))
        self.phases[key] = payload
        return payload

    def _common(self) -> dict[str, Any]:
        assert self.spec is not None
        return {
            "paths": [str(p) for p in self.spec.paths()],
            "gnad_csv": self.spec.gnad_csv,
            "gnad_labels": list(self.spec.gnad_labels) if self.spec.gnad_labels else None,
        }

    @property
    def ours_index(self) -> Path:
        return self.cfg.work / "ours-index"

    @property
    def baseline_store(self) -> Path:
        return self.cfg.work / "baseline-store"

    def _mark(self, path: Path) -> None:
        assert self.spec is not None
        (path / "bench-corpus.txt").write_text(self.spec.fingerprint(), encoding="utf-8")

    def _ready(self, path: Path) -> bool:
        assert self.spec is not None
        marker = path / "bench-corpus.txt"
        return marker.is_file() and marker.read_text(encoding="utf-8") == self.spec.fingerprint()

    def wait_until_quiet(self) -> dict[str, Any]:
        """Poll until the 1-minute load average stays below `quiet_load` for two readings 30 s apart
        (another job that just paused does not count as quiet), or until `wait_quiet_s` is over."""
        cfg = self.cfg
        started = time.monotonic()
        seen = machine.load_average()
        quiet_readings = 0
        while cfg.wait_quiet_s > 0 and seen and quiet_readings < 2:
            if time.monotonic() - started > cfg.wait_quiet_s:
                log.warning("load stayed at %s for %.0f s: running anyway", seen, cfg.wait_quiet_s)
                break
            quiet_readings = quiet_readings + 1 if seen[0] < cfg.quiet_load else 0
            if quiet_readings < 2:
                log.info("waiting for load < %s (now %s)", cfg.quiet_load, seen)
                time.sleep(30)
                seen = machine.load_average()
        return {"waited_s": round(time.monotonic() - started, 1), "load_at_start": seen}

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        cfg.work.mkdir(parents=True, exist_ok=True)
        quiet = self.wait_until_quiet()
        info = machine.machine_info()
        info["load_before"] = machine.load_average()
        date = dt.datetime.now().astimezone()
        self.spec = corpus_spec(
            quick=cfg.quick, gnad=cfg.gnad, work=cfg.work, quick_articles=cfg.quick_articles
        )
        notes = list(cfg.notes)
        if self.spec.gnad_csv is None:
            notes.append(f"GNAD was not found at {cfg.gnad}: the corpus is the sample articles only.")
        sections: dict[str, Any] = {}
        if "ingest" in cfg.only:
            sections["ingest"] = self.ingest_section()
        if "retrieval" in cfg.only:
            sections["retrieval"] = self.retrieval_section()
        if "answer" in cfg.only:
            sections["answer"] = self.answer_section()
        if "memory" in cfg.only:
            sections["memory"] = self.memory_section()
        info["load_after"] = machine.load_average()
        result = {
            "name": cfg.name or f"{cfg.mode}-{date:%Y-%m-%d}",
            "date": date.isoformat(timespec="seconds"),
            "mode": cfg.mode,
            "command": cfg.command,
            "corpus": self.spec.description,
            "machine": info,
            "quiet_wait": quiet,
            "versions": machine.versions(),
            "git_commit": machine.git_commit(ROOT),
            "notes": notes,
            "targets": self.targets(),
            "sections": sections,
            "phases": self.phases,
        }
        if not cfg.keep_work:
            for path in (cfg.work / "synthetic", cfg.work / "synthetic-ingest"):
                shutil.rmtree(path, ignore_errors=True)
        return result

    # --- ingest --------------------------------------------------------------------------------------

    def ingest_section(self) -> dict[str, Any]:
        cfg = self.cfg
        common = self._common()
        ours = self.run_phase(
            "ingest_ours", "ingest_ours", {**common, "index_dir": str(self.ours_index), "build_lexical": True}
        )
        if ours.get("ok"):
            self._mark(self.ours_index)
        again = self.run_phase(
            "reingest_ours", "reingest_ours", {**common, "index_dir": str(self.ours_index)}
        )
        base = self.run_phase(
            "ingest_baseline", "ingest_baseline", {**common, "store_dir": str(self.baseline_store)}
        )
        if base.get("ok"):
            self._mark(self.baseline_store)

        n = cfg.synthetic_chunks
        jsonl = cfg.work / "corpus" / f"synthetic-{n}.jsonl"
        syn = self.run_phase(
            "synthetic_corpus", "synthetic_corpus", {**common, "chunks": n, "out": str(jsonl)}
        )
        syn_common = {"paths": [str(jsonl)], "gnad_csv": None, "gnad_labels": None, "standin": True}
        s_ours = s_again = s_base = None
        if syn.get("ok"):
            s_dir = cfg.work / "synthetic-ingest"
            s_ours = self.run_phase(
                "ingest_synthetic_ours", "ingest_ours", {**syn_common, "index_dir": str(s_dir / "ours")}
            )
            s_again = self.run_phase(
                "reingest_synthetic_ours", "reingest_ours", {**syn_common, "index_dir": str(s_dir / "ours")}
            )
            s_base = self.run_phase(
                "ingest_synthetic_baseline",
                "ingest_baseline",
                {**syn_common, "store_dir": str(s_dir / "baseline")},
            )
        return build_ingest_section(
            self.spec.description if self.spec else "", ours, again, base, syn, s_ours, s_again, s_base
        )

    # --- retrieval -----------------------------------------------------------------------------------

    def retrieval_section(self) -> dict[str, Any]:
        cfg = self.cfg
        common = self._common()
        anchors = cfg.work / "anchors" / "anchors"
        anchor = self.run_phase(
            "anchors", "anchors", {**common, "count": cfg.anchors, "out": str(anchors), "work": str(cfg.work)}
        )
        queries = list(RETRIEVAL_QUERIES)
        sizes: dict[int, dict[str, Any]] = {}
        if anchor.get("ok"):
            for size in cfg.sizes:
                base_dir = cfg.work / "synthetic" / str(size)
                got = {
                    "build_ours": self.run_phase(
                        f"build_{size}_ours",
                        "build_synthetic_ours",
                        {"size": size, "anchors": str(anchors), "index_dir": str(base_dir / "ours")},
                    ),
                    "build_baseline": self.run_phase(
                        f"build_{size}_baseline",
                        "build_synthetic_baseline",
                        {"size": size, "anchors": str(anchors), "store_dir": str(base_dir / "baseline")},
                    ),
                }
                got["search_ours"] = self.run_phase(
                    f"search_{size}_ours",
                    "search_ours",
                    {"index_dir": str(base_dir / "ours"), "queries": queries, "rounds": cfg.rounds},
                )
                got["search_baseline"] = self.run_phase(
                    f"search_{size}_baseline",
                    "search_baseline",
                    {"store_dir": str(base_dir / "baseline"), "queries": queries, "rounds": cfg.rounds},
                )
                sizes[size] = got
                if not cfg.keep_work:
                    shutil.rmtree(base_dir, ignore_errors=True)
        real: dict[str, Any] = {}
        if self._ready(self.ours_index) and self._ready(self.baseline_store):
            real["search_ours"] = self.run_phase(
                "search_real_ours",
                "search_ours",
                {"index_dir": str(self.ours_index), "queries": queries, "rounds": cfg.rounds},
            )
            real["search_baseline"] = self.run_phase(
                "search_real_baseline",
                "search_baseline",
                {"store_dir": str(self.baseline_store), "queries": queries, "rounds": cfg.rounds},
            )
        return build_retrieval_section(anchor, sizes, real, len(queries), cfg.rounds)

    # --- answers -------------------------------------------------------------------------------------

    def answer_section(self) -> dict[str, Any]:
        common = self._common()
        questions = list(self.cfg.questions) if self.cfg.questions else None
        if not self._ready(self.baseline_store):
            base = self.run_phase(
                "ingest_baseline", "ingest_baseline", {**common, "store_dir": str(self.baseline_store)}
            )
            if base.get("ok"):
                self._mark(self.baseline_store)
        ours = self.run_phase(
            "answer_ours",
            "answer_ours",
            {**common, "index_dir": str(self.ours_index), "questions": questions},
        )
        if ours.get("ok"):
            self._mark(self.ours_index)
        base = self.run_phase(
            "answer_baseline",
            "answer_baseline",
            {**common, "store_dir": str(self.baseline_store), "questions": questions},
        )
        return build_answer_section(ours, base)

    # --- memory --------------------------------------------------------------------------------------

    def memory_section(self) -> dict[str, Any]:
        common = self._common()
        if "ingest_ours" not in self.phases:
            self.run_phase("ingest_ours", "ingest_ours", {**common, "index_dir": str(self.ours_index)})
            self._mark(self.ours_index)
        if "ingest_baseline" not in self.phases:
            self.run_phase(
                "ingest_baseline", "ingest_baseline", {**common, "store_dir": str(self.baseline_store)}
            )
            self._mark(self.baseline_store)
        queries = list(RETRIEVAL_QUERIES)
        if "search_real_ours" not in self.phases:
            self.run_phase(
                "search_real_ours",
                "search_ours",
                {"index_dir": str(self.ours_index), "queries": queries, "rounds": 1},
            )
            self.run_phase(
                "search_real_baseline",
                "search_baseline",
                {"store_dir": str(self.baseline_store), "queries": queries, "rounds": 1},
            )
        if "answer_ours" not in self.phases:
            two = [QUESTIONS[0].id, QUESTIONS[1].id]
            self.run_phase(
                "answer_ours", "answer_ours", {**common, "index_dir": str(self.ours_index), "questions": two}
            )
            self.run_phase(
                "answer_baseline",
                "answer_baseline",
                {**common, "store_dir": str(self.baseline_store), "questions": two},
            )
        return build_memory_section(self.phases, self.cfg.sizes)

    # --- targets -------------------------------------------------------------------------------------

    def targets(self) -> list[dict[str, Any]]:
        return judge_targets(self.phases, quick=self.cfg.quick)


# --- section builders (pure: payloads in, tables out) ----------------------------------------------------


def _rows(
    ours: dict[str, Any] | None,
    base: dict[str, Any] | None,
    spec: Sequence[tuple[str, str, bool | None, tuple[str, str]]],
) -> list[list[Any]]:
    rows = []
    for label, key, higher_is_better, words in spec:
        o, b = _get(ours, key), _get(base, key)
        cmp = None if higher_is_better is None else _cmp(o, b, higher_is_better=higher_is_better, words=words)
        rows.append([label, o, b, cmp])
    return rows


def _cpu_row(label: str, ours: dict[str, Any] | None, base: dict[str, Any] | None) -> list[Any]:
    o = ours.get("cpu_s") if ours and ours.get("ok") else None
    b = base.get("cpu_s") if base and base.get("ok") else None
    return [label, o, b, _cmp(o, b, higher_is_better=False, words=SMALLER)]


def _rss_row(label: str, ours: dict[str, Any] | None, base: dict[str, Any] | None) -> list[Any]:
    o = ours.get("peak_rss_mb") if ours and ours.get("ok") else None
    b = base.get("peak_rss_mb") if base and base.get("ok") else None
    return [label, o, b, _cmp(o, b, higher_is_better=False, words=SMALLER)]


_INGEST_ROWS: tuple[tuple[str, str, bool | None, tuple[str, str]], ...] = (
    ("articles", "articles", None, HIGHER),
    ("chunks", "chunks", None, HIGHER),
    ("total time (s)", "seconds", False, FASTER),
    ("articles/s", "articles_per_s", True, HIGHER),
    ("chunks/s", "chunks_per_s", True, HIGHER),
    ("embedding time (s)", "embed_s", False, FASTER),
    ("share of time spent embedding", "embed_share", None, HIGHER),
    ("embedding s per chunk", "embed_s_per_chunk", False, FASTER),
    ("loading + cleaning (s)", "load_s", False, FASTER),
    ("chunking (s)", "chunk_s", False, FASTER),
    ("index writes and lookups (s)", "storage_s", False, FASTER),
)


def build_ingest_section(
    corpus_text: str,
    ours: dict[str, Any],
    again: dict[str, Any],
    base: dict[str, Any],
    syn: dict[str, Any],
    s_ours: dict[str, Any] | None,
    s_again: dict[str, Any] | None,
    s_base: dict[str, Any] | None,
) -> dict[str, Any]:
    model = _get(ours, "embedder") or "the configured embedder"
    real_rows = _rows(ours, base, _INGEST_ROWS)
    real_rows.append(_cpu_row("CPU time of the whole phase process (s)", ours, base))
    real_rows.append(_rss_row("peak RSS (MiB)", ours, base))
    real_rows.append(
        [
            "first search after ingest (builds BM25) (s)",
            _get(ours, "first_search_s"),
            None,
            None,
        ]
    )
    tables: list[dict[str, Any]] = [
        {
            "title": f"Ingest from scratch, real embedder ({model})",
            "columns": ["figure", "ours", "LangChain recipe", "ours vs recipe"],
            "rows": real_rows,
            "notes": [
                f"Corpus: {corpus_text}.",
                "Ours: 900-character sentence-aware chunks, language detection, content hashes, article "
                "manifest. Recipe: RecursiveCharacterTextSplitter(1000, 200) + Chroma.from_documents. Both "
                "load the files with the project's loaders and embed with the same model"
                + (f", {_get(base, 'batch_size')} passages per call." if _get(base, "batch_size") else "."),
                f"Load average (1 min) during ours: {_load(ours)}, during the recipe: {_load(base)}.",
                *(f"Failed: {p.get('error')}" for p in (ours, base) if not p.get("ok")),
            ],
        }
    ]
    base_total = _get(base, "seconds")
    tables.append(
        {
            "title": "Unchanged re-ingest (same files again)",
            "columns": ["figure", "ours", "LangChain recipe"],
            "rows": [
                ["ingest call (s)", _get(again, "seconds"), "n/a"],
                [
                    "whole process incl. imports (s)",
                    again.get("process_wall_s") if again.get("ok") else None,
                    "n/a",
                ],
                ["chunks embedded", _get(again, "chunks_embedded"), "all"],
                ["articles recognised as unchanged", _get(again, "unchanged"), 0],
                ["loading + cleaning (s)", _get(again, "load_s"), None],
                ["index lookups (s)", _get(again, "storage_s"), None],
            ],
            "notes": [
                "The recipe has no change detection: running it again embeds every chunk again (about its "
                f"ingest time, {base_total} s) and, with fresh random ids, stores every chunk a second time; "
                "it was not re-run."
            ],
        }
    )
    if s_ours is not None and s_base is not None:
        n_syn = _get(syn, "chunks")
        rows = _rows(s_ours, s_base, _INGEST_ROWS[:5] + _INGEST_ROWS[8:])
        ext: list[Any] = []
        for side, real in ((s_ours, ours), (s_base, base)):
            chunks = _get(side, "chunks")
            seconds = _get(side, "seconds")
            per = _get(real, "embed_s_per_chunk")
            embed = _get(side, "embed_s") or 0.0
            if chunks and seconds is not None and per:
                extrapolated = round(chunks * per, 1)
                total = round(seconds - embed + extrapolated, 1)
                ext.append((extrapolated, total, round(chunks / total, 2)))
            else:
                ext.append((None, None, None))
        rows.append(
            [
                "embedding, extrapolated (s)",
                ext[0][0],
                ext[1][0],
                _cmp(ext[0][0], ext[1][0], higher_is_better=False, words=FASTER),
            ]
        )
        rows.append(
            [
                "total with embedding, extrapolated (s)",
                ext[0][1],
                ext[1][1],
                _cmp(ext[0][1], ext[1][1], higher_is_better=False, words=FASTER),
            ]
        )
        rows.append(["chunks/s with embedding, extrapolated", ext[0][2], ext[1][2], None])
        rows.append(["unchanged re-ingest (s)", _get(s_again, "seconds"), "n/a", None])
        rows.append(_cpu_row("CPU time of the whole phase process (s)", s_ours, s_base))
        rows.append(_rss_row("peak RSS (MiB)", s_ours, s_base))
        tables.append(
            {
                "title": f"Synthetic corpus of {n_syn:,} chunks (ours), stand-in embedder"
                if n_syn
                else "Synthetic corpus",
                "columns": ["figure", "ours", "LangChain recipe", "ours vs recipe"],
                "rows": rows,
                "notes": [
                    f"{_get(syn, 'articles')} made-up articles of real GNAD/seed sentences "
                    "(1.5-4.5k characters).",
                    "Measured with a stand-in embedder (hash-seeded random vectors, ~0 s): the times are "
                    "load, chunk and index writes only. The embedding rows are EXTRAPOLATED, not measured: "
                    f"chunks x the per-chunk embedding time each side measured with {model} in the real "
                    "ingest above.",
                    f"Load average during ours: {_load(s_ours)}, during the recipe: {_load(s_base)}.",
                    *(f"Failed: {p.get('error')}" for p in (syn, s_ours, s_base) if p and not p.get("ok")),
                ],
            }
        )
    return {"title": "Ingestion", "tables": tables}


def _pair(summary: Any) -> tuple[Any, Any]:
    if not isinstance(summary, dict):
        return None, None
    return summary.get("p50"), summary.get("p95")


def build_retrieval_section(
    anchor: dict[str, Any], sizes: dict[int, dict[str, Any]], real: dict[str, Any], queries: int, rounds: int
) -> dict[str, Any]:
    latency_rows = []
    part_rows = []
    build_rows = []
    entries: list[tuple[str, dict[str, Any]]] = [
        (f"{size:,} (synthetic)", got) for size, got in sizes.items()
    ]
    if real:
        entries.append(("real corpus", real))
    for label, got in entries:
        so, sb = got.get("search_ours"), got.get("search_baseline")
        chunks = _get(so, "chunks")
        d50, d95 = _pair(_get(so, "dense_ms"))
        l50, l95 = _pair(_get(so, "bm25_ms"))
        h50, h95 = _pair(_get(so, "hybrid_ms"))
        b50, b95 = _pair(_get(sb, "similarity_search_ms"))
        latency_rows.append(
            [
                f"{label}: {chunks:,}" if isinstance(chunks, int) else label,
                d50,
                d95,
                l50,
                l95,
                h50,
                h95,
                b50,
                b95,
                _cmp(h95, b95, higher_is_better=False, words=FASTER),
            ]
        )
        parts = _get(so, "hybrid_parts_ms") or {}
        cells: list[str | None] = [label]
        for name in (
            "query_embedding",
            "chroma_query",
            "chroma_fetch_missing",
            "generation_check",
            "bm25_fusion_other",
        ):
            p50, p95 = _pair(parts.get(name))
            cells.append(None if p50 is None else f"{p50:.1f} / {p95:.1f}")
        be50, be95 = _pair(_get(sb, "query_embedding_ms"))
        cells.append(None if be50 is None else f"{be50:.1f} / {be95:.1f}")
        part_rows.append(cells)
        bo, bb = got.get("build_ours"), got.get("build_baseline")
        build_rows.append(
            [
                label,
                _get(bo, "upsert_s"),
                _get(bo, "manifest_s"),
                _get(bo, "first_search_s"),
                _get(so, "first_search_s"),
                _get(bb, "upsert_s"),
                _get(sb, "first_search_s"),
                so.get("peak_rss_mb") if so and so.get("ok") else None,
                sb.get("peak_rss_mb") if sb and sb.get("ok") else None,
                f"{_load(so)} / {_load(sb)}",
            ]
        )
    failures = [
        f"{name}: {p.get('error')}"
        for got in [*sizes.values(), real]
        for name, p in got.items()
        if isinstance(p, dict) and not p.get("ok")
    ]
    if not anchor.get("ok"):
        failures.append(f"anchors: {anchor.get('error')}")
    return {
        "title": "Retrieval latency",
        "intro": [
            f"{queries} queries (the answer questions plus GNAD-style topics, German and English), "
            f"{rounds} rounds each after 3 warm-up queries; every figure includes embedding the query with "
            "the ingest's embedder. "
            "dense = query embedding + Chroma top-5; BM25 = the lexical index alone (top-5); hybrid = "
            "`Assistant.search(k=5)` (40 dense + 40 BM25 candidates, fused, capped per article); "
            "recipe = LangChain `Chroma.similarity_search(k=4)`.",
            f"Synthetic chunks: real GNAD/seed chunks ({_get(anchor, 'anchors')} embedded the same way) as "
            "anchors; "
            "each synthetic chunk reshuffles an anchor's sentences and gets its vector plus Gaussian noise "
            "(cosine ~0.94 to the anchor), stored directly, without embedding.",
        ],
        "tables": [
            {
                "title": "Latency (ms)",
                "columns": [
                    "chunks",
                    "dense p50",
                    "dense p95",
                    "BM25 p50",
                    "BM25 p95",
                    "hybrid p50",
                    "hybrid p95",
                    "recipe p50",
                    "recipe p95",
                    "hybrid vs recipe (p95)",
                ],
                "rows": latency_rows,
                "notes": failures,
            },
            {
                "title": "Where hybrid search spends its time (ms, p50 / p95)",
                "columns": [
                    "chunks",
                    "query embedding",
                    "Chroma query (40)",
                    "Chroma fetch of BM25-only hits",
                    "index generation check",
                    "BM25 + fusion + rest",
                    "recipe: query embedding",
                ],
                "rows": part_rows,
            },
            {
                "title": "Index build, first search and memory",
                "columns": [
                    "chunks",
                    "ours: upsert (s)",
                    "ours: manifest (s)",
                    "ours: first search after build, builds BM25 (s)",
                    "ours: first search in a new process (s)",
                    "recipe: add_texts (s)",
                    "recipe: first search (s)",
                    "ours: peak RSS of search (MiB)",
                    "recipe: peak RSS of search (MiB)",
                    "load avg ours / recipe",
                ],
                "rows": build_rows,
            },
        ],
    }


def _times(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in rows if isinstance(r.get(key), int | float)]


def _stat(rows: list[dict[str, Any]], key: str, q: float) -> float | None:
    values = _times(rows, key)
    return round(percentile(values, q), 2) if values else None


def _extra_calls(rows: list[dict[str, Any]]) -> int | None:
    counted = [len(r["llm_calls"]) - 1 for r in rows if r.get("llm_calls")]
    return sum(counted) if counted else None


def _mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return round(sum(values) / len(values), 2) if values else None


def _mean_stat(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r["llm_stats"][key] for r in rows if r.get("llm_stats") and key in r["llm_stats"]]
    return round(sum(values) / len(values), 1) if values else None


def build_answer_section(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.grounding import aggregate

    o_rows: list[dict[str, Any]] = _get(ours, "questions") or []
    b_rows: list[dict[str, Any]] = _get(base, "questions") or []

    def timing(label: str, key: str, q: float) -> list[Any]:
        o, b = _stat(o_rows, key, q), _stat(b_rows, key, q)
        return [label, o, b, _cmp(o, b, higher_is_better=False, words=FASTER)]

    def llm(label: str, key: str) -> list[Any]:
        return [label, _mean_stat(o_rows, key), _mean_stat(b_rows, key), None]

    time_rows = [
        timing("first token, median (s)", "first_token_s", 50),
        timing("first token, p95 (s)", "first_token_s", 95),
        timing("first token, max (s)", "first_token_s", 100),
        ["first verified sentence, median (s)", _stat(o_rows, "first_sentence_s", 50), None, None],
        ["first verified sentence, p95 (s)", _stat(o_rows, "first_sentence_s", 95), None, None],
        timing("total, median (s)", "total_s", 50),
        timing("total, p95 (s)", "total_s", 95),
        ["retrieval + evidence selection, median (s)", _stat(o_rows, "retrieve_s", 50), None, None],
        llm("answer prompt: tokens, mean", "prompt_tokens"),
        llm("answer prompt: reused from the KV cache, mean", "reused_tokens"),
        llm("answer prompt: processing time, mean (s)", "prefill_s"),
        llm("answer: generated tokens, mean", "generated_tokens"),
        ["meaning checks (yes/no) per answer, mean", _mean_of(o_rows, "checks"), None, None],
        ["meaning checks: seconds per answer, mean", _mean_of(o_rows, "checks_s"), None, None],
        [
            "further LLM calls after the answer (translating quoted evidence)",
            _extra_calls(o_rows),
            _extra_calls(b_rows),
            None,
        ],
        [
            "cold: first question incl. model load (s)",
            _get(ours, "cold", "total_s"),
            _get(base, "cold", "total_s"),
            None,
        ],
        ["model load (s)", _get(ours, "cold", "model_load_s"), _get(base, "cold", "model_load_s"), None],
        _cpu_row("CPU time of the whole phase process (s)", ours, base),
        _rss_row("peak RSS (MiB)", ours, base),
    ]
    agg_o = aggregate([r["grounding"] for r in o_rows])
    agg_d = aggregate([r["draft_grounding"] for r in o_rows if r.get("draft_grounding")])
    agg_b = aggregate([r["grounding"] for r in b_rows])

    def frac(agg: dict[str, Any], key: str, of: str = "questions") -> str:
        return f"{agg[key]}/{agg[of]}" if agg[of] else "–"

    grounding_rows = [
        [
            "answered (did not abstain)",
            frac(agg_o, "answered"),
            frac(agg_d, "answered"),
            frac(agg_b, "answered"),
        ],
        [
            "every sentence carries a valid [n]",
            frac(agg_o, "every_sentence_cited"),
            frac(agg_d, "every_sentence_cited"),
            frac(agg_b, "every_sentence_cited"),
        ],
        [
            "numbers/dates all occur in the cited text",
            frac(agg_o, "numbers_supported"),
            frac(agg_d, "numbers_supported"),
            frac(agg_b, "numbers_supported"),
        ],
        [
            "grounded (both of the above)",
            frac(agg_o, "grounded"),
            frac(agg_d, "grounded"),
            frac(agg_b, "grounded"),
        ],
        [
            "passes the project's verifier (also names)",
            frac(agg_o, "verifier_clean"),
            frac(agg_d, "verifier_clean"),
            frac(agg_b, "verifier_clean"),
        ],
        [
            "states all known-correct facts",
            frac(agg_o, "correct"),
            frac(agg_d, "correct"),
            frac(agg_b, "correct"),
        ],
        [
            "known facts found",
            frac(agg_o, "facts_found", "facts_total"),
            frac(agg_d, "facts_found", "facts_total"),
            frac(agg_b, "facts_found", "facts_total"),
        ],
        [
            "sentences with a valid [n]",
            frac(agg_o, "sentences_with_valid_marker", "sentences"),
            frac(agg_d, "sentences_with_valid_marker", "sentences"),
            frac(agg_b, "sentences_with_valid_marker", "sentences"),
        ],
    ]
    per_question = []
    by_id = {r["id"]: r for r in b_rows}
    for r in o_rows:
        b = by_id.get(r["id"], {})
        bg = b.get("grounding") or {}
        per_question.append(
            [
                f"{r['id']} ({r['language']})",
                r.get("first_token_s"),
                r.get("total_s"),
                r.get("mode"),
                r["grounding"]["grounded"],
                r["grounding"]["correct"],
                b.get("first_token_s"),
                b.get("total_s"),
                bg.get("grounded"),
                bg.get("correct"),
            ]
        )
    o_ft, b_ft = _stat(o_rows, "first_token_s", 50), _stat(b_rows, "first_token_s", 50)
    o_tt, b_tt = _stat(o_rows, "total_s", 50), _stat(b_rows, "total_s", 50)
    faster = None if None in (o_ft, b_ft, o_tt, b_tt) else bool(o_ft < b_ft and o_tt < b_tt)  # type: ignore[operator]
    grounded_share = (agg_o["grounded"] / agg_o["questions"]) if agg_o["questions"] else None
    base_share = (agg_b["grounded"] / agg_b["questions"]) if agg_b["questions"] else None
    more_grounded = None if grounded_share is None or base_share is None else grounded_share > base_share
    verdict = (
        f"Ours faster (median first token and median total both lower): {_yes(faster)}. "
        f"Ours more grounded (larger share of grounded answers): {_yes(more_grounded)}."
    )
    failures = [f"Failed: {p.get('error')}" for p in (ours, base) if not p.get("ok")]
    return {
        "title": "Answers with the embedded model",
        "intro": [
            f"Model: {_get(ours, 'model') or _get(base, 'model')} "
            f"({_get(ours, 'backend') or _get(base, 'backend')}), "
            "the same instance type on both sides, temperature 0, at most 300 new tokens. Each side runs one "
            "warm-up question first (loads the model; not scored). Times are measured from the question to "
            "the first streamed token and to the end (ours: including verification).",
            "Ours: hybrid retrieval -> evidence sentences -> answer prompt -> verified answer. Baseline: "
            "`similarity_search(k=4)` -> the four whole chunks numbered [1]-[4] in LangChain's RAG prompt "
            "(with one added sentence asking for [n] markers) -> the raw model output, unverified.",
            verdict,
            *failures,
        ],
        "verdict": {"faster": faster, "more_grounded": more_grounded},
        "aggregate": {"ours": agg_o, "ours_draft": agg_d, "baseline": agg_b},
        "tables": [
            {
                "title": "Time",
                "columns": ["figure", "ours", "baseline", "ours vs baseline"],
                "rows": time_rows,
                "notes": [f"Load average during ours: {_load(ours)}, during the baseline: {_load(base)}."],
            },
            {
                "title": "Grounding",
                "columns": [
                    "figure",
                    "ours (verified answer)",
                    "ours (unverified draft)",
                    "baseline (raw output)",
                ],
                "rows": grounding_rows,
                "notes": [
                    "Scored per answer with the project's sentence splitter and marker parser: a marker is "
                    "valid when it points at a source the model was shown (ours: the evidence sentence / the "
                    "cited quote; baseline: the whole chunk); numbers and dates are checked with "
                    "assistant.text.facts.number_facts against the text the sentence cites. Facts are "
                    "matched with assistant.evaluation.metrics.matches. An abstention counts as not grounded "
                    "and not correct.",
                ],
            },
            {
                "title": "Per question",
                "columns": [
                    "question",
                    "ours first token (s)",
                    "ours total (s)",
                    "ours mode",
                    "ours grounded",
                    "ours correct",
                    "baseline first token (s)",
                    "baseline total (s)",
                    "baseline grounded",
                    "baseline correct",
                ],
                "rows": per_question,
            },
        ],
    }


def _yes(value: bool | None) -> str:
    return "not measured" if value is None else ("yes" if value else "no")


def build_memory_section(phases: dict[str, dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    rows = [
        _rss_row("ingest (corpus above)", phases.get("ingest_ours"), phases.get("ingest_baseline")),
        _rss_row(
            "ingest (synthetic, stand-in embedder)",
            phases.get("ingest_synthetic_ours"),
            phases.get("ingest_synthetic_baseline"),
        ),
        _rss_row("search (real corpus)", phases.get("search_real_ours"), phases.get("search_real_baseline")),
    ]
    for size in sizes:
        rows.append(
            _rss_row(
                f"search ({size:,} synthetic chunks)",
                phases.get(f"search_{size}_ours"),
                phases.get(f"search_{size}_baseline"),
            )
        )
    rows.append(_rss_row("ask (embedded model)", phases.get("answer_ours"), phases.get("answer_baseline")))
    return {
        "title": "Peak memory (RSS)",
        "intro": [
            "Each phase runs in its own process; the figure is that process' peak resident set size "
            "(`getrusage(RUSAGE_SELF).ru_maxrss`), so it includes Python, the libraries, the index client, "
            "the embedder and, for ask, the memory-mapped GGUF weights that were touched."
        ],
        "tables": [
            {"columns": ["phase", "ours (MiB)", "LangChain recipe (MiB)", "ours vs recipe"], "rows": rows}
        ],
    }


# --- targets --------------------------------------------------------------------------------------------


def judge_targets(phases: dict[str, dict[str, Any]], *, quick: bool) -> list[dict[str, Any]]:
    return [
        *_judge_ingest(phases, quick),
        *_judge_search(phases, quick),
        *_judge_answer(phases.get("answer_ours"), quick),
    ]


def _judge_ingest(phases: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    ingest = phases.get("ingest_ours")
    value = _get(ingest, "seconds")
    cause = None
    if value is not None:
        chunks = _get(ingest, "chunks_embedded") or 0
        per = _get(ingest, "embed_s_per_chunk")
        share = _get(ingest, "embed_share")
        limit = TARGETS_BY_ID["ingest_full_s"].limit
        if per and share is not None:
            cause = (
                f"embedding is {share:.0%} of the time: {_get(ingest, 'embedder') or 'the embedder'} took "
                f"{per:.3f} s per chunk ({1 / per:.1f} chunks/s) for {chunks:,} chunks; {limit:.0f} s "
                f"would need {chunks / limit:.1f} chunks/s with everything else free "
                f"(load avg {_load(ingest)})"
            )
    out = [evaluate(TARGETS_BY_ID["ingest_full_s"], value, quick=quick, cause=cause)]
    again = phases.get("reingest_ours")
    value = _get(again, "seconds")
    cause = None
    if value is not None:
        cause = (
            f"loading/cleaning {_get(again, 'load_s')} s, index lookups {_get(again, 'storage_s')} s "
            f"(load avg {_load(again)})"
        )
    out.append(evaluate(TARGETS_BY_ID["reingest_s"], value, quick=quick, cause=cause))
    return out


def _judge_search(phases: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    out = []
    for size, target_id in ((10_000, "hybrid_p95_10k_ms"), (100_000, "hybrid_p95_100k_ms")):
        search = phases.get(f"search_{size}_ours")
        value = _get(search, "hybrid_ms", "p95")
        cause = None
        if value is not None:
            parts = _get(search, "hybrid_parts_ms") or {}
            shown = ", ".join(
                f"{name.replace('_', ' ')} {parts[name]['p95']} ms"
                for name in parts
                if parts[name].get("p95") is not None
            )
            cause = f"p95 of the parts: {shown} (load avg {_load(search)})"
        out.append(evaluate(TARGETS_BY_ID[target_id], value, quick=quick, cause=cause))
    return out


def _judge_answer(answer: dict[str, Any] | None, quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _get(answer, "questions") or []
    value = _stat(rows, "first_token_s", 50)
    cause = None
    if value is not None:
        retrieve = _stat(rows, "retrieve_s", 50)
        prompt = _mean_stat(rows, "prompt_tokens")
        reused = _mean_stat(rows, "reused_tokens")
        prefill = _mean_stat(rows, "prefill_s")
        fresh = round(prompt - reused, 1) if prompt is not None and reused is not None else None
        speed = f" ({fresh / prefill:.0f} tokens/s)" if fresh and prefill else ""
        cause = (
            f"median retrieval + evidence selection {retrieve} s, then prompt processing of "
            f"{prompt} tokens ({reused} reused from the KV cache, so {fresh} new) {prefill} s "
            f"on average{speed} (load avg {_load(answer)})"
        )
    out = [evaluate(TARGETS_BY_ID["first_token_s"], value, quick=quick, cause=cause)]
    sentence = _stat(rows, "first_sentence_s", 50)
    cause = None
    if sentence is not None:
        cause = (
            f"first token {value} s, then the draft's first line and its checks "
            f"({_mean_of(rows, 'checks_s')} s of yes/no checks per answer on average; "
            f"load avg {_load(answer)})"
        )
    out.append(evaluate(TARGETS_BY_ID["first_sentence_s"], sentence, quick=quick, cause=cause))
    return out


def rebuild(result: dict[str, Any]) -> dict[str, Any]:
    """Recompute the tables and target verdicts of a stored result from its phase payloads (after a
    change to how figures are presented); nothing is measured again."""
    phases: dict[str, dict[str, Any]] = result["phases"]
    quick = result.get("mode") == "quick"
    sections: dict[str, Any] = {}
    if "ingest_ours" in phases and "ingest_baseline" in phases and "reingest_ours" in phases:
        sections["ingest"] = build_ingest_section(
            result.get("corpus", ""),
            phases["ingest_ours"],
            phases["reingest_ours"],
            phases["ingest_baseline"],
            phases.get("synthetic_corpus", {}),
            phases.get("ingest_synthetic_ours"),
            phases.get("reingest_synthetic_ours"),
            phases.get("ingest_synthetic_baseline"),
        )
    sizes = sorted(
        int(key.split("_")[1]) for key in phases if key.startswith("search_") and key.split("_")[1].isdigit()
    )
    sizes = list(dict.fromkeys(sizes))
    if "anchors" in phases:
        per_size = {
            size: {
                part: phases[f"{prefix}_{size}_{side}"]
                for part, prefix, side in (
                    ("build_ours", "build", "ours"),
                    ("build_baseline", "build", "baseline"),
                    ("search_ours", "search", "ours"),
                    ("search_baseline", "search", "baseline"),
                )
                if f"{prefix}_{size}_{side}" in phases
            }
            for size in sizes
        }
        real = {
            part: phases[key]
            for part, key in (
                ("search_ours", "search_real_ours"),
                ("search_baseline", "search_real_baseline"),
            )
            if key in phases
        }
        args = _get(
            phases.get("search_real_ours") or phases.get(f"search_{sizes[0]}_ours") if sizes else None,
            "queries",
        )
        rounds = 1
        section = build_retrieval_section(phases["anchors"], per_size, real, int(args or 0), rounds)
        previous = result.get("sections", {}).get("retrieval", {})
        if previous.get("intro"):
            section["intro"] = previous["intro"]  # states the query count and rounds of the run
        sections["retrieval"] = section
    if "answer_ours" in phases and "answer_baseline" in phases:
        sections["answer"] = build_answer_section(phases["answer_ours"], phases["answer_baseline"])
    if "memory" in result.get("sections", {}):
        sections["memory"] = build_memory_section(phases, sizes)
    return {**result, "sections": sections, "targets": judge_targets(phases, quick=quick)}
