"""The `assistant` command's dispatch table, and `assistant eval --import-feedback`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from assistant.evaluation.cases import parse_cases
from assistant.interfaces.cli import COMMANDS, build_parser, main


def test_every_command_has_its_entry_in_the_table() -> None:
    names = ["ingest", "search", "ask", "chat", "stats", "articles", "eval", "web", "slack"]
    assert list(COMMANDS) == names
    parser = build_parser()
    for name in names:
        argv = {"search": [name, "x"], "ask": [name, "x"], "articles": [name, "list"]}.get(name, [name])
        assert parser.parse_args(argv).command == name


def test_import_feedback_prints_draft_cases_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.service import Assistant

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("--import-feedback must not build an assistant")

    monkeypatch.setattr(Assistant, "from_settings", never)
    feedback = tmp_path / "feedback.jsonl"
    line = {
        "question": "Wann haben die Friedenstruppen Karabach verlassen?",
        "language": "de",
        "answerable": True,
        "expected_articles": ["002_5656326da5719992"],
        "rating": "down",
        "comment": "Das Datum steht nicht im Artikel.",
    }
    feedback.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert main(["eval", "--import-feedback", str(feedback)]) == 0
    out = capsys.readouterr().out
    (case,) = parse_cases(yaml.safe_load(out), "stdout")
    assert case.question == line["question"] and "thumbs-down" in case.tags
    assert main(["eval", "--import-feedback", str(tmp_path / "missing.jsonl")]) == 2
    assert "Feedback file not found" in capsys.readouterr().err


# --- CLI habits (issue 14, items 10-12): run as `assistant …` would, settings from the environment ---


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`assistant` on a fresh index folder (hashing embedder, fake LLM); returns the folder."""
    index = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_INDEX__PATH", str(index))
    monkeypatch.setenv("ASSISTANT_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    monkeypatch.setenv("ASSISTANT_LLM__CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "160")
    return index


@pytest.fixture
def indexed(env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["ingest"]) == 0
    capsys.readouterr()
    return env


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); argparse's own exits count as exit codes."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"assistant (news-assistant) {metadata.version('news-assistant')}"


def test_a_mistyped_command_gets_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["ingset"], capsys)
    assert code == 2 and "unknown command 'ingset' (did you mean 'ingest'?)" in err
    code, _, err = run(["articles", "lsit"], capsys)
    assert code == 2 and "(did you mean 'list'?)" in err


def test_help_offers_the_real_backends_only(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("ask", "chat", "web", "slack", "eval"):
        code, out, _ = run([command, "--help"], capsys)
        assert code == 0 and "{embedded,ollama}" in out and "fake" not in out, command
    code, _, err = run(["ask", "--backend", "llama", "q"], capsys)
    assert code == 2 and "'llama' is not a backend: choose embedded or ollama" in err


def test_commands_that_read_do_not_create_an_index(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["stats"], ["ask", "Wer?"], ["search", "Abzug"], ["articles", "list"], ["chat"]):
        code, out, err = run(argv, capsys)
        assert code == 1 and out == "", argv
        assert f"error: There is no index at {env}: run `assistant ingest`" in err, argv
    assert not env.exists(), "asking must not leave an empty index behind"


def test_ingest_says_which_folder_and_index_it_used(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.config import Settings

    code, out, err = run(["ingest"], capsys)
    assert code == 0
    assert err.count("error") == 0
    assert f"read:  the sample articles ({Settings().sample_dir})" in out
    assert re.search(
        rf"index: {re.escape(str(env))} \(collection news-hashing\S+\), now 5 articles, \d+ chunks", out
    )


def test_search_scores_are_explained_with_v_and_hidden_without(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plain, _ = run(["search", "Peskow Abzug", "-k", "2"], capsys)
    assert plain.startswith("1. ") and "score" not in plain and "bm25" not in plain
    _, verbose, _ = run(["search", "Peskow Abzug", "-k", "2", "-v"], capsys)
    explained = " ".join(verbose.split())
    assert "× embedding similarity" in explained and "it ranks, it is not a probability" in explained
    assert re.search(r"\[score \d\.\d{3} · dense [-\d.]+ · bm25 [-\d.]+\]", verbose)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"),
        (["--since", "2024-13-45"], "'2024-13-45' is not a date"),
        (["--until", "2023-02-30"], "'2023-02-30' is not a date"),
        (["--since", "2024", "--until", "2023"], "--since 2024 is after --until 2023"),
        (["--lang", "fr"], "'fr' is not a language here: choose de or en"),
        (["--source", "Reuters"], "No articles from source 'Reuters'"),
    ],
)
def test_bad_filters_exit_2_with_a_message(
    indexed: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    for command in (["search", "Abzug"], ["ask", "Wer bestätigte den Abzug?"]):
        code, out, err = run([*command, *argv], capsys)
        assert code == 2 and message in err and out == "", (command, argv, err)


def test_source_filter_ignores_case_and_lang_lists_its_choices(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["search", "Peskow Abzug", "--source", "dw", "--json"], capsys)
    hits = json.loads(out)
    assert code == 0 and hits and {h["source"] for h in hits} == {"DW"}
    code, _, err = run(["search", "Peskow", "--source", "dww"], capsys)
    assert code == 2 and "(did you mean 'DW'?)" in err and "Sources: " in err
    _, help_text, _ = run(["search", "--help"], capsys)
    assert "--lang {de,en}" in help_text


def test_articles_list_search_and_delete(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["articles", "list"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["title", "source", "date", "lang", "chunks", "id"]
    assert lines[-1] == "5 articles" and any("Bericht: Weißrussland" in line for line in lines)
    _, out, _ = run(["articles", "search", "weißrussland", "--json"], capsys)
    (found,) = json.loads(out)
    assert found["id"] == "000_10b77cea8b010999" and found["source"] == "unknown (reports on Politico)"
    assert found["language"] == "de" and found["date"] == "2024-06" and found["chunks"] >= 1

    code, out, _ = run(["articles", "delete", found["id"]], capsys)
    assert code == 0 and out.startswith(f"deleted {found['id']}: Bericht: Weißrussland")
    _, out, _ = run(["articles", "list", "--json"], capsys)
    assert found["id"] not in {a["id"] for a in json.loads(out)} and len(json.loads(out)) == 4
    _, out, _ = run(["search", "Weißrussland Waffen Aserbaidschan", "--json"], capsys)
    assert found["id"] not in {h["article_id"] for h in json.loads(out)}, "its chunks are gone too"
    code, _, err = run(["articles", "delete", "000_10b77cea8b01099"], capsys)
    assert code == 2 and "No article with id '000_10b77cea8b01099'" in err and "nothing was deleted" in err


def test_ask_json_is_one_object_and_progress_goes_to_stderr(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["ask", "Welche Waffen lieferte Weißrussland an Aserbaidschan?", "--json"], capsys)
    payload = json.loads(out)
    assert code == 0 and payload["citations"] and payload["abstain_reason"] is None
    assert {"removed", "related", "abstain_reason", "timings", "backend", "model"} <= set(payload)
    steps = [line for line in err.splitlines() if line.startswith("[")]
    assert re.fullmatch(r"\[\s*\d+\.\d s\] Searching the articles", steps[1]), steps
    assert any("Writing the answer" in s for s in steps) and any("✓ " in s for s in steps)
    assert not any(re.search(r"✓ .*\[\d+\]", s) for s in steps), "no draft markers in verified sentences"


def test_feedback_lands_in_the_user_data_folder_not_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.config import Settings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = Settings().web.feedback_path
    assert path == tmp_path / "data" / "news-assistant" / "feedback.jsonl"
    assert Path(__file__).resolve().parents[2] not in path.parents
