"""The benchmark runner's pure parts: statistics, target judgement, report writing, grounding scores,
synthetic data and the section builders. Correctness only, never timing thresholds."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import ChunkingSettings
from assistant.loaders import CsvOptions, load_paths
from benchmarks import corpus, grounding, report, runner, stats
from benchmarks.__main__ import build_parser, config_from
from benchmarks.instruments import RecordingChatModel, StandInEmbedder
from benchmarks.questions import QUESTIONS, RETRIEVAL_QUERIES
from benchmarks.targets import TARGETS, TARGETS_BY_ID, evaluate

ROOT = Path(__file__).resolve().parents[2]


# --- statistics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 5, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    rng = random.Random(q)
    for n in (1, 2, 3, 10, 101):
        values = [rng.uniform(0, 100) for _ in range(n)]
        assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_interpolates_and_ignores_order() -> None:
    assert stats.percentile([4, 1, 3, 2], 50) == 2.5
    assert stats.percentile([10, 20], 95) == pytest.approx(19.5)
    assert stats.percentile([7], 95) == 7


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_summarize_scales_and_rounds() -> None:
    summary = stats.summarize([0.010, 0.020, 0.030, 0.040], scale=1000)
    assert summary == {"n": 4, "p50": 25.0, "p95": 38.5, "mean": 25.0, "min": 10.0, "max": 40.0}
    assert stats.summarize([])["p95"] is None


def test_ratio_direction_and_words() -> None:
    faster = stats.ratio(1.0, 3.0, higher_is_better=False, words=("faster", "slower"))
    assert faster == {"factor": 3.0, "text": "3.00x faster"}
    slower = stats.ratio(2.0, 1.0, higher_is_better=False, words=("faster", "slower"))
    assert slower is not None and slower["factor"] == 0.5 and slower["text"] == "2.00x slower"
    higher = stats.ratio(30.0, 10.0, higher_is_better=True)
    assert higher is not None and higher["text"] == "3.00x higher"
    assert stats.ratio(None, 1.0, higher_is_better=True) is None
    assert stats.ratio(1.0, 0.0, higher_is_better=False) is None


def test_rate() -> None:
    assert stats.rate(10, 4) == 2.5
    assert stats.rate(10, 0) is None


# --- targets ----------------------------------------------------------------------------------------


def test_targets_are_those_of_the_issue() -> None:
    limits = {t.id: (t.limit, t.unit) for t in TARGETS}
    assert limits == {
        "ingest_full_s": (180.0, "s"),
        "reingest_s": (5.0, "s"),
        "hybrid_p95_10k_ms": (100.0, "ms"),
        "hybrid_p95_100k_ms": (300.0, "ms"),
        "first_token_s": (3.0, "s"),
        "first_sentence_s": (4.0, "s"),
    }


def test_evaluate_met_missed_and_unmeasured() -> None:
    target = TARGETS_BY_ID["hybrid_p95_10k_ms"]
    met = evaluate(target, 80.0)
    assert met["status"] == "met" and met["met"] is True and met["gap"] is None and met["cause"] is None
    assert evaluate(target, 100.0)["status"] == "met"  # the limit itself is within the target
    missed = evaluate(target, 130.5, cause="query embedding")
    assert missed["status"] == "missed" and missed["met"] is False
    assert missed["gap"] == pytest.approx(30.5) and missed["cause"] == "query embedding"
    assert evaluate(target, 130.5)["cause"] == "cause not determined in this run"
    assert evaluate(target, None)["status"] == "not measured"


def test_full_corpus_targets_are_not_judged_in_quick_runs() -> None:
    row = evaluate(TARGETS_BY_ID["ingest_full_s"], 400.0, quick=True)
    assert row["status"] == "not judged" and row["met"] is None and "quick" in row["note"]
    assert evaluate(TARGETS_BY_ID["reingest_s"], 1.0, quick=True)["status"] == "met"


def _payload(result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"ok": True, "result": result, "load_before": [0.5], "load_after": [0.7], **extra}


def test_judge_targets_writes_a_cause_next_to_each_missed_figure() -> None:
    phases = {
        "ingest_ours": _payload(
            {"seconds": 400.0, "chunks_embedded": 3950, "embed_s_per_chunk": 0.1, "embed_share": 0.97}
        ),
        "reingest_ours": _payload({"seconds": 2.0, "load_s": 1.5, "storage_s": 0.2}),
        "search_10000_ours": _payload(
            {"hybrid_ms": {"p95": 150.0}, "hybrid_parts_ms": {"query_embedding": {"p50": 20.0, "p95": 120.0}}}
        ),
        "answer_ours": _payload(
            {
                "questions": [
                    {
                        "first_token_s": 2.0,
                        "first_sentence_s": 5.0,
                        "checks_s": 2.5,
                        "retrieve_s": 1.0,
                        "llm_stats": {"prompt_tokens": 400},
                    },
                    {
                        "first_token_s": 3.0,
                        "first_sentence_s": None,  # nothing passed: no first sentence
                        "checks_s": 1.5,
                        "retrieve_s": 1.2,
                        "llm_stats": {"prompt_tokens": 500},
                    },
                ]
            }
        ),
    }
    rows = {row["id"]: row for row in runner.judge_targets(phases, quick=False)}
    assert rows["ingest_full_s"]["status"] == "missed"
    assert "97%" in rows["ingest_full_s"]["cause"] and "21.9 chunks/s" in rows["ingest_full_s"]["cause"]
    assert rows["reingest_s"]["status"] == "met"
    assert rows["hybrid_p95_10k_ms"]["status"] == "missed"
    assert "query embedding 120.0 ms" in rows["hybrid_p95_10k_ms"]["cause"]
    assert rows["hybrid_p95_100k_ms"]["status"] == "not measured"
    assert rows["first_token_s"]["value"] == 2.5 and rows["first_token_s"]["status"] == "met"
    assert rows["first_sentence_s"]["value"] == 5.0 and rows["first_sentence_s"]["status"] == "missed"
    assert "2.0 s of yes/no checks" in rows["first_sentence_s"]["cause"]


# --- report -----------------------------------------------------------------------------------------


def test_fmt_cells() -> None:
    assert report.fmt(None) == "–"
    assert report.fmt(True) == "yes"
    assert report.fmt(1234.5) == "1,234"
    assert report.fmt(12.34) == "12.3"
    assert report.fmt(0.5) == "0.50"
    assert report.fmt(0.0123) == "0.012"
    assert report.fmt(12345) == "12,345"
    assert report.fmt("a|b\nc") == "a\\|b c"


def _result() -> dict[str, Any]:
    return {
        "name": "unit-test",
        "date": "2026-01-01T00:00:00+00:00",
        "mode": "quick",
        "machine": {"cpu_model": "Test CPU", "cores": 2, "ram_gb": 8.0, "os": "Linux", "load_before": [0.1]},
        "versions": {"python": "3.11"},
        "notes": ["a note"],
        "targets": [
            evaluate(TARGETS_BY_ID["reingest_s"], 1.0),
            evaluate(TARGETS_BY_ID["hybrid_p95_10k_ms"], 120.0, cause="slow embedding"),
        ],
        "sections": {
            "retrieval": {
                "title": "Retrieval latency",
                "intro": ["intro text"],
                "tables": [
                    {"title": "Latency", "columns": ["a", "b"], "rows": [["x", 1.5]], "notes": ["n1"]}
                ],
            },
            "memory": {"title": "Memory", "skipped": "not requested"},
        },
    }


def test_write_report_writes_json_and_markdown(tmp_path: Path) -> None:
    json_path, md_path = report.write_report(_result(), tmp_path / "out")
    assert json_path.name == "unit-test.json" and md_path.name == "unit-test.md"
    assert json.loads(json_path.read_text(encoding="utf-8"))["targets"][1]["gap"] == 20.0
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# Benchmark results: unit-test")
    assert "Test CPU (2 cores, 8.00 GB RAM" in md
    assert (
        "| Unchanged re-ingest of the same corpus | ≤ 5.00 s (wall time of the ingest call) | 1.00 s | met |"
        in md
    )
    assert "**missed** by 20.0 ms: slow embedding" in md
    assert "| x | 1.50 |" in md and "- n1" in md and "Skipped: not requested" in md


def test_table_pads_short_rows() -> None:
    assert report.table(["a", "b"], [["x"]]).splitlines()[-1] == "| x |  |"


# --- grounding --------------------------------------------------------------------------------------

SOURCES = {
    1: "Kremlsprecher Dmitri Peskow bestätigte, dass die russischen Streitkräfte mit dem Abzug begonnen "
    "hätten.",
    2: "Im Rahmen des Waffenstillstands wurden etwa 2.000 russische Friedenstruppen entsandt.",
}


def _score(text: str, **kwargs: Any) -> dict[str, Any]:
    facts = kwargs.pop("facts", [["Peskow", "Peskov"]])
    return grounding.score_answer(
        text, SOURCES, question="Who confirmed?", language="en", facts=facts, **kwargs
    )


def test_grounded_answer() -> None:
    score = _score(
        "Peskov confirmed that the withdrawal had begun [1]. About 2,000 peacekeepers were sent [2]."
    )
    assert score["grounded"] and score["every_sentence_cited"] and score["numbers_supported"]
    assert score["sentences"] == 2 and score["sentences_with_valid_marker"] == 2
    assert score["correct"] and score["facts_found"] == 1


def test_invented_number_and_missing_marker_are_not_grounded() -> None:
    wrong_number = _score("About 3,000 peacekeepers were sent [2].")
    assert wrong_number["every_sentence_cited"] and not wrong_number["numbers_supported"]
    assert not wrong_number["grounded"] and wrong_number["detail"][0]["unsupported_numbers"] == ["3000"]
    uncited = _score("Peskov confirmed it [1]. About 2,000 were sent.")
    assert not uncited["every_sentence_cited"] and not uncited["numbers_supported"]
    unknown_marker = _score("Peskov confirmed it [7].")
    assert unknown_marker["sentences_with_valid_marker"] == 0 and not unknown_marker["grounded"]


@pytest.mark.parametrize("text", ["NO_ANSWER", "I don't know.", "Das weiß ich nicht.", ""])
def test_abstentions_are_recognised(text: str) -> None:
    score = _score(text)
    assert score["abstained"] and not score["grounded"] and not score["correct"]


def test_explicit_abstention_flag_wins() -> None:
    assert _score("Peskov confirmed it [1].", abstained=True)["abstained"]


def test_fact_matching_accepts_alternatives_and_regexes() -> None:
    assert grounding.fact_found(["Saarland", "Saarlandes"], "He works at Saarland University [1].")
    assert grounding.fact_found(
        [r"re:\b9[.,]2\s*(million|mio|millionen)"], "rund 9,2 Millionen Einwohner [1]"
    )
    assert not grounding.fact_found(["Sidorow"], "Stanislaw Zas leads it [1].")


def test_aggregate_counts() -> None:
    scores = [_score("Peskov confirmed it [1]."), _score("I don't know."), _score("3,000 were sent [2].")]
    agg = grounding.aggregate(scores)
    assert agg["questions"] == 3 and agg["answered"] == 2 and agg["grounded"] == 1 and agg["correct"] == 1


def test_benchmark_questions_are_answerable_from_their_article() -> None:
    texts = {a.id: a.text for a in load_paths([ROOT / "data" / "articles"]).articles}
    assert len(QUESTIONS) >= 8 and {q.language for q in QUESTIONS} == {"de", "en"}
    for q in QUESTIONS:
        assert q.article in texts, q.id
        for alternatives in q.facts:
            assert grounding.fact_found(alternatives, texts[q.article]), (q.id, alternatives)
    assert len(set(RETRIEVAL_QUERIES)) == len(RETRIEVAL_QUERIES)


def test_benchmark_questions_are_not_copied_from_the_eval_cases() -> None:
    cases = (ROOT / "evals" / "cases.yaml").read_text(encoding="utf-8") if (ROOT / "evals").is_dir() else ""
    for q in QUESTIONS:
        assert q.text not in cases, q.id


# --- synthetic data and instruments -----------------------------------------------------------------


def test_synthetic_chunks_stay_close_to_their_anchors() -> None:
    rng = np.random.default_rng(0)
    anchors = rng.standard_normal((3, 384)).astype(np.float32)
    anchors /= np.linalg.norm(anchors, axis=1, keepdims=True)
    texts = ["Erster Satz hier. Zweiter Satz dort.", "One sentence. Another one.", "Nur ein Satz."]
    chunks, vectors = corpus.synthetic_chunks(50, texts, ["de", "en", "de"], anchors)
    assert len(chunks) == 50 and vectors.shape == (50, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({c.id for c in chunks}) == 50 and len({c.article_id for c in chunks}) == 13
    best = (vectors @ anchors.T).max(axis=1)
    assert float(best.min()) > 0.85
    for chunk in chunks:
        assert chunk.end == len(chunk.text) and chunk.language in ("de", "en")


def test_synthetic_articles_reach_the_chunk_target(tmp_path: Path) -> None:
    articles = load_paths([ROOT / "data" / "articles"]).articles
    pool = corpus.sentence_pool(articles)
    records, chunks = corpus.synthetic_articles(pool, 40, ChunkingSettings())
    assert chunks >= 40 and records and all(r["text"] and r["title"] for r in records)
    path = tmp_path / "syn.jsonl"
    corpus.write_jsonl(records, path)
    loaded = load_paths([path])
    assert len(loaded.articles) == len(records) and not loaded.skipped


def test_quick_subset_keeps_only_the_label(tmp_path: Path) -> None:
    source = tmp_path / "gnad.csv"
    source.write_text(
        "International;'Erster Text über Wien.'\nSport;'Ein Spiel.'\n"
        "International;'Zweiter, mit; Trennern.'\nInternational;'Dritter Text.'\n",
        encoding="utf-8",
    )
    target = tmp_path / "sub" / "subset.csv"
    assert corpus.quick_subset(source, target, "International", 2) == 2
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(line.startswith("International;") for line in lines)
    assert corpus.quick_subset(source, target, "International", None) == 3


def test_corpus_spec_without_gnad_falls_back_to_the_seeds(tmp_path: Path) -> None:
    spec = corpus.corpus_spec(quick=True, gnad=tmp_path / "missing.csv", work=tmp_path, quick_articles=5)
    assert spec.gnad_csv is None and spec.paths() == [corpus.SEED_DIR] and "only" in spec.description
    assert corpus.CorpusSpec.from_json(spec.to_json()) == spec


def test_standin_embedder_is_deterministic_unit_length() -> None:
    embedder = StandInEmbedder()
    a = embedder.embed_passages(["x", "y"])
    assert a.shape == (2, 384) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a[0], embedder.embed_queries(["x"])[0])


# --- section builders and CLI -----------------------------------------------------------------------


def _answer_rows(first: float, grounded: bool) -> list[dict[str, Any]]:
    score = _score("Peskov confirmed it [1]." if grounded else "3,000 were sent [2].")
    return [
        {
            "id": q.id,
            "language": q.language,
            "first_token_s": first,
            "total_s": first + 2,
            "retrieve_s": 0.5,
            "mode": "generated",
            "llm_stats": {
                "prompt_tokens": 300,
                "reused_tokens": 200,
                "prefill_s": 1.0,
                "generated_tokens": 20,
            },
            "grounding": score,
            "draft_grounding": score,
        }
        for q in QUESTIONS[:2]
    ]


def test_answer_section_reports_both_speed_and_grounding() -> None:
    ours = _payload(
        {"model": "m", "backend": "embedded", "questions": _answer_rows(2.0, True)}, peak_rss_mb=900.0
    )
    base = _payload(
        {"model": "m", "backend": "embedded", "questions": _answer_rows(6.0, False)}, peak_rss_mb=950.0
    )
    section = runner.build_answer_section(ours, base)
    assert section["verdict"] == {"faster": True, "more_grounded": True}
    assert section["aggregate"]["ours"]["grounded"] == 2 and section["aggregate"]["baseline"]["grounded"] == 0
    time_rows = {row[0]: row for row in section["tables"][0]["rows"]}
    assert time_rows["first token, median (s)"][1:] == [2.0, 6.0, "3.00x faster"]
    md = report.render_markdown({**_result(), "sections": {"answer": section}})
    assert "| grounded (both of the above) | 2/2 | 2/2 | 0/2 |" in md


def test_memory_section_pairs_phases() -> None:
    phases = {
        "ingest_ours": {"ok": True, "peak_rss_mb": 300.0},
        "ingest_baseline": {"ok": True, "peak_rss_mb": 600.0},
        "answer_ours": {"ok": False, "peak_rss_mb": 1.0},
    }
    rows = runner.build_memory_section(phases, [1000])["tables"][0]["rows"]
    assert rows[0] == ["ingest (corpus above)", 300.0, 600.0, "2.00x less"]
    assert rows[-1][1] is None  # a failed phase has no figure


def test_cli_quick_defaults_and_section_validation() -> None:
    args = build_parser().parse_args(["--quick", "--only", "retrieval"])
    cfg = config_from(args, ["--quick", "--only", "retrieval"])
    assert cfg.quick and cfg.only == ("retrieval",) and cfg.sizes == (1000,) and cfg.mode == "quick"
    assert cfg.questions and len(cfg.questions) == 2
    full = config_from(build_parser().parse_args([]), [])
    assert full.sizes == (1000, 10000, 100000) and full.synthetic_chunks == 100000 and full.questions is None
    with pytest.raises(SystemExit):
        config_from(build_parser().parse_args(["--only", "nonsense"]), [])
    with pytest.raises(SystemExit):
        config_from(build_parser().parse_args(["--questions", "nope"]), [])


# --- the quick run end to end (CI smoke: runs real models, checks structure, never timings) -----------


@pytest.mark.slow
@pytest.mark.model
def test_quick_run_writes_a_complete_report(tmp_path: Path) -> None:
    import subprocess
    import sys

    out, work = tmp_path / "results", tmp_path / "work"
    args = ["--quick", "--only", "ingest,retrieval", "--rounds", "1", "--name", "smoke"]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--out", str(out), "--work", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((out / "smoke.json").read_text(encoding="utf-8"))
    assert set(data["sections"]) == {"ingest", "retrieval"} and data["mode"] == "quick"
    assert all(p["ok"] for p in data["phases"].values())
    assert {"cores", "ram_gb", "cpu_model", "load_before"} <= set(data["machine"])
    ingest = data["phases"]["ingest_ours"]["result"]
    assert ingest["chunks_embedded"] > 0 and ingest["chunks_in_index"] == ingest["chunks"]
    assert data["phases"]["reingest_ours"]["result"]["chunks_embedded"] == 0
    assert data["phases"]["search_1000_ours"]["result"]["chunks"] == 1000
    targets = {t["id"]: t["status"] for t in data["targets"]}
    assert targets["ingest_full_s"] == "not judged" and targets["reingest_s"] in ("met", "missed")
    md = (out / "smoke.md").read_text(encoding="utf-8")
    assert "## Ingestion" in md and "## Retrieval latency" in md


def test_rebuild_recomputes_sections_and_targets_from_stored_phases() -> None:
    ingest = {"seconds": 10.0, "chunks": 20, "articles": 5, "embed_s_per_chunk": 0.4, "embed_share": 0.8}
    phases = {
        "ingest_ours": _payload({**ingest, "chunks_embedded": 20}, peak_rss_mb=300.0),
        "reingest_ours": _payload({"seconds": 1.0, "chunks_embedded": 0, "unchanged": 5}),
        "ingest_baseline": _payload(ingest, peak_rss_mb=320.0),
        "answer_ours": _payload({"questions": _answer_rows(2.0, True)}),
        "answer_baseline": _payload({"questions": _answer_rows(6.0, False)}),
    }
    stored = {**_result(), "phases": phases, "sections": {"memory": {}}, "targets": []}
    rebuilt = runner.rebuild(stored)
    assert set(rebuilt["sections"]) == {"ingest", "answer", "memory"}
    statuses = {t["id"]: t["status"] for t in rebuilt["targets"]}
    assert statuses["reingest_s"] == "met" and statuses["first_token_s"] == "met"
    assert statuses["ingest_full_s"] == "not judged"  # the stored run is a quick one
    assert rebuilt["sections"]["ingest"]["tables"][0]["rows"][2] == [
        "total time (s)",
        10.0,
        10.0,
        "1.00x faster",
    ]


def test_performance_table_summarises_a_run() -> None:
    phases = {
        "ingest_ours": _payload({"seconds": 400.0, "chunks_per_s": 9.9, "articles": 1033}, peak_rss_mb=460.0),
        "ingest_baseline": _payload({"seconds": 420.0, "chunks_per_s": 8.7}, peak_rss_mb=500.0),
        "reingest_ours": _payload({"seconds": 2.5}),
        "search_10000_ours": _payload({"hybrid_ms": {"p95": 60.0}}),
        "search_10000_baseline": _payload({"similarity_search_ms": {"p95": 40.0}}),
    }
    result = {"phases": phases, "targets": runner.judge_targets(phases, quick=False), "sections": {}}
    lines = report.performance_table(result).splitlines()
    assert lines[0] == "| figure | ours | LangChain recipe | target |"
    assert (
        "| ingest from scratch (1,033 articles) | 400 s (9.90 chunks/s) | 420 s (8.70 chunks/s) |" in lines[2]
    )
    assert lines[2].endswith("≤ 180 s: missed |")
    assert "| search p95 at 10,000 chunks (ours: hybrid) | 60.0 ms | 40.0 ms | ≤ 100 ms: met |" in lines
    assert "| peak RSS: ingest | 460 MiB | 500 MiB | – |" in lines


def test_profile_gnad_subset_keeps_whole_quoted_rows(tmp_path: Path) -> None:
    from benchmarks.profile import _gnad_subset

    source = tmp_path / "gnad.csv"
    source.write_text("Web;'Ein Text; mit Semikolon'\nSport;Kurz\nInland;'Drei'\n", "utf-8")
    subset = _gnad_subset(source, 2, tmp_path)
    assert subset is not None
    loaded = load_paths([subset], csv=CsvOptions.gnad())
    assert [a.text for a in loaded.articles] == ["Ein Text; mit Semikolon", "Kurz"]
    assert _gnad_subset(tmp_path / "missing.csv", 2, tmp_path) is None


def test_recording_chat_model_passes_the_grammar_and_keeps_text_and_checks() -> None:
    class Inner:
        backend, model = "stub", "stub"

        def __init__(self) -> None:
            self.grammars: list[str | None] = []

        def stream(self, messages, *, max_tokens=256, temperature=0.0, stop=(), grammar=None):  # type: ignore[no-untyped-def]
            self.grammars.append(grammar)
            yield from ["[1] «a» ", "Answer: b"]

        def choose(self, messages, choices):  # type: ignore[no-untyped-def]
            return [0.8, 0.2]

    inner = Inner()
    llm = RecordingChatModel(inner)  # type: ignore[arg-type]
    assert (
        "".join(llm.stream([{"role": "user", "content": "q"}], grammar="root ::= x")) == "[1] «a» Answer: b"
    )
    assert inner.grammars == ["root ::= x"] and llm.calls[0]["text"] == "[1] «a» Answer: b"
    assert llm.choose([{"role": "user", "content": "q"}], ["yes", "no"]) == [0.8, 0.2]
    assert len(llm.checks) == 1
