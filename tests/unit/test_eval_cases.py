"""The case schema and loader, the committed evals/cases.yaml, and the feedback importer."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.evaluation.cases import (
    Case,
    CaseFileError,
    dump_cases,
    import_feedback,
    load_cases,
    parse_cases,
    select_cases,
)
from assistant.evaluation.metrics import evidence_in_chunk

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT / "evals" / "cases.yaml"
SAMPLE_DIR = ROOT / "data" / "articles"


def _raw(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "sample-case",
        "question": "Who confirmed the withdrawal?",
        "language": "en",
        "category": "answerable",
        "answerable": True,
        "expected_articles": ["002_5656326da5719992"],
        "facts": ["Peskov"],
    }
    return base | kw


# --- the committed cases ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed() -> list[Case]:
    return load_cases(CASES_FILE)


def test_committed_cases_cover_every_category_language_and_kind(committed: list[Case]) -> None:
    assert len(committed) >= 40
    categories = Counter(c.category for c in committed)
    assert set(categories) == {"answerable", "partial", "unanswerable"}
    assert categories["partial"] >= 5 and categories["unanswerable"] >= 5
    languages = Counter(c.language for c in committed)
    assert languages["en"] >= 15 and languages["de"] >= 15
    tags = Counter(t for c in committed for t in c.all_tags)
    for kind, at_least in {
        "followup": 4,
        "false-premise": 2,
        "misattribution": 3,
        "gnad": 8,
        "smoke": 5,
    }.items():
        assert tags[kind] >= at_least, kind
    assert all(c.facts for c in committed if c.answerable), "every answerable case states required facts"
    assert all(c.evidence for c in committed if c.answerable), "every answerable case quotes its evidence"


def test_the_sample_question_forbids_a_departure_date(committed: list[Case]) -> None:
    case = next(c for c in committed if c.question == "When did Russian peacekeepers leave Karabakh?")
    assert case.category == "partial" and case.answerable
    assert case.expected_articles == ["002_5656326da5719992"]
    assert case.forbidden


def test_seed_evidence_occurs_in_the_expected_articles(committed: list[Case]) -> None:
    from assistant.loaders import load_paths

    articles = {a.id: a.text for a in load_paths([SAMPLE_DIR]).articles}
    for case in committed:
        if case.needs_distractors:
            continue
        for article_id in case.expected_articles:
            assert article_id in articles, (case.id, article_id)
        for excerpt in case.evidence:
            assert any(evidence_in_chunk(excerpt, articles[a]) for a in case.expected_articles), (
                case.id,
                excerpt,
            )


@pytest.mark.corpus
def test_distractor_cases_point_at_international_gnad_rows(committed: list[Case], gnad_csv: Path) -> None:
    from assistant.loaders import CsvOptions, load_paths

    articles = {a.id: a for a in load_paths([gnad_csv], csv=CsvOptions.gnad()).articles}
    gnad_cases = [c for c in committed if c.needs_distractors]
    assert len(gnad_cases) >= 8
    for case in gnad_cases:
        for article_id in case.expected_articles:
            assert article_id in articles, (case.id, article_id)
            assert articles[article_id].source == "gnad10k/International"
        for excerpt in case.evidence:
            assert any(evidence_in_chunk(excerpt, articles[a].text) for a in case.expected_articles), excerpt


# --- schema validation ---------------------------------------------------------------------------------


def test_a_plain_string_fact_is_one_alternative() -> None:
    case = Case.model_validate(_raw(facts=["Peskov", ["2.000", "2000"]]))
    assert case.facts == [["Peskov"], ["2.000", "2000"]]
    assert case.all_tags == {"answerable", "en"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "colour"),
        ({"id": "Bad Id"}, "slug"),
        ({"language": "fr"}, "language"),
        ({"category": "unanswerable"}, "answerable: false"),
        ({"answerable": False}, "needs answerable: true"),
        ({"expected_articles": []}, "needs expected_articles"),
        ({"facts": ["re:(unclosed"]}, "invalid regex"),
        ({"forbidden": ["re:"]}, "empty regex"),
        ({"facts": [[]]}, "no alternatives"),
        ({"expected_articles": ["gnad10k-test:1:abcd"]}, "gnad"),
        ({"history": [{"role": "user", "content": "hi"}]}, "assistant turn"),
        ({"tags": ["Not A Slug"]}, "tag"),
    ],
)
def test_invalid_cases_are_reported_with_their_number_and_id(change: dict[str, object], message: str) -> None:
    with pytest.raises(CaseFileError) as err:
        parse_cases([_raw(id="fine"), _raw(**change)], "cases.yaml")
    text = str(err.value)
    assert "case #2" in text and message in text
    assert "case #1" not in text


def test_every_problem_is_listed_at_once_and_duplicates_are_caught() -> None:
    with pytest.raises(CaseFileError) as err:
        parse_cases([_raw(), _raw(), _raw(id="x", language="xx"), "not a mapping"], "f.yaml")
    text = str(err.value)
    assert "3 invalid case(s)" in text
    assert "duplicate id" in text and "case #3 (x)" in text and "expected a mapping" in text


def test_load_cases_reads_yaml_and_jsonl_and_rejects_junk(tmp_path: Path) -> None:
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text(json.dumps(_raw()) + "\n\n" + json.dumps(_raw(id="second")) + "\n", encoding="utf-8")
    assert [c.id for c in load_cases(jsonl)] == ["sample-case", "second"]
    bare = tmp_path / "bare.yaml"
    bare.write_text("- " + json.dumps(_raw()) + "\n", encoding="utf-8")
    assert len(load_cases(bare)) == 1
    for name, text, message in [
        ("bad.jsonl", "{nope\n", "bad.jsonl:1: not valid JSON"),
        ("bad.yaml", "cases: [\n", "not valid YAML"),
        ("v2.yaml", "version: 2\ncases: []\n", "unsupported schema version"),
        ("map.yaml", "cases: {a: 1}\n", "expected a list"),
    ]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(CaseFileError, match=message):
            load_cases(path)
    with pytest.raises(CaseFileError, match="not found"):
        load_cases(tmp_path / "missing.yaml")


def test_select_cases_by_tags_ids_and_limit(committed: list[Case]) -> None:
    smoke = select_cases(committed, tags=["smoke"])
    assert smoke and all("smoke" in c.all_tags for c in smoke)
    either = select_cases(committed, tags=["followup", "gnad"])
    assert {c.id for c in either} == {c.id for c in committed if {"followup", "gnad"} & c.all_tags}
    german_unanswerable = select_cases(committed, tags=["unanswerable"], exclude_tags=["en"])
    assert german_unanswerable and all(c.language == "de" for c in german_unanswerable)
    assert [c.id for c in select_cases(committed, limit=3)] == [c.id for c in committed[:3]]
    assert len(select_cases(committed, ids=[committed[5].id])) == 1
    with pytest.raises(InputError, match="Unknown case id"):
        select_cases(committed, ids=["no-such-case"])
    with pytest.raises(InputError):
        select_cases(committed, limit=0)


# --- feedback --------------------------------------------------------------------------------------


def test_import_feedback_makes_draft_cases(tmp_path: Path) -> None:
    lines = [
        {
            "question": "Wann haben die Friedenstruppen Karabach verlassen?",
            "language": "de",
            "answerable": True,
            "expected_articles": ["002_5656326da5719992"],
            "answer": "Im April 2024 [1].",
            "rating": "down",
            "comment": "Das Datum steht nicht im Artikel.",
            "forbidden": ["re:\\b2024\\b"],
        },
        {"question": "Wie wird das Wetter?", "language": "de", "answerable": False, "expected_articles": []},
        {
            "question": "Who won?",
            "language": "en",
            "answerable": False,
            "expected_articles": [],
            "rating": 1,
        },
        {
            "question": "Who won?",
            "language": "en",
            "answerable": False,
            "expected_articles": [],
            "rating": -1,
        },
    ]
    path = tmp_path / "feedback.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    cases = import_feedback(path)
    assert len(cases) == 3  # the repeated question keeps its latest rating
    first, weather, won = cases
    assert first.id.startswith("feedback-") and first.category == "answerable" and first.facts == []
    assert {"feedback", "thumbs-down"} <= set(first.tags)
    assert "Das Datum steht nicht im Artikel." in first.notes and "Im April 2024" in first.notes
    assert first.forbidden == ["re:\\b2024\\b"]
    assert weather.category == "unanswerable" and not weather.answerable
    assert "thumbs-down" in won.tags
    # The drafts round-trip through the YAML a reviewer pastes into cases.yaml.
    import yaml

    assert parse_cases(yaml.safe_load(dump_cases(cases)), "dump") == cases


def test_import_feedback_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    good = {"question": "Who?", "language": "en", "answerable": False, "expected_articles": []}
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{broken",
                json.dumps({"question": "What?", "language": "en"}),
                json.dumps(good | {"answerable": True}),
                json.dumps(good | {"rating": "meh"}),
                json.dumps([1, 2]),
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as err:
        import_feedback(path)
    text = str(err.value)
    assert "5 unusable" in text
    for expected in (
        "line 2: not valid JSON",
        "line 3: missing field(s): answerable",
        "line 4:",
        "line 5: unknown rating",
        "line 6:",
    ):
        assert expected in text
    assert "line 1" not in text
