"""The `assistant` command's dispatch table, and `assistant eval --import-feedback`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.evaluation.cases import parse_cases
from assistant.interfaces.cli import COMMANDS, build_parser, main


def test_every_command_has_its_entry_in_the_table() -> None:
    names = ["ingest", "search", "ask", "chat", "stats", "eval", "web", "slack"]
    assert list(COMMANDS) == names
    parser = build_parser()
    for name in names:
        assert parser.parse_args([name, "x"] if name in ("search", "ask") else [name]).command == name


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
