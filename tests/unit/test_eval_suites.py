"""The external and synthetic eval suites load as specified (XQuAD-dev, the perturbation claims)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.perturbations import PERTURBED, load_items, locate, summarize
from assistant.evaluation.xquad import load_xquad, sample, write_corpus
from assistant.loaders import load_paths

ROOT = Path(__file__).resolve().parents[2]
XQUAD = ROOT.parent / "shared" / "xquad-dev"
PERTURBATIONS = ROOT / "evals" / "perturbations.yaml"


@pytest.fixture(scope="module")
def xquad():  # type: ignore[no-untyped-def]
    if not (XQUAD / "xquad.de.json").is_file():
        pytest.skip(f"XQuAD-dev not present at {XQUAD}")
    return load_xquad(XQUAD)


@pytest.mark.corpus
def test_xquad_cases_pair_languages_and_hold_out_whole_articles(xquad) -> None:  # type: ignore[no-untyped-def]
    assert len(xquad.cases) == 2 * 612
    assert len(xquad.held_out_titles) == 4
    indexed = {a["id"] for a in xquad.articles}
    for case in xquad.cases:
        if case.answerable:
            assert case.expected_articles[0] in indexed and case.facts and case.facts[0]
        else:
            assert "held-out" in case.tags and not case.expected_articles
    # Gold answers in both languages are accepted ("Studenten" / "Students").
    both = [c for c in xquad.cases if c.answerable and len(c.facts[0]) > 1]
    assert len(both) > 300
    assert {c.language for c in xquad.cases} == {"de", "en"}


@pytest.mark.corpus
def test_xquad_sample_is_deterministic_and_asks_each_item_in_both_languages(xquad) -> None:  # type: ignore[no-untyped-def]
    a = sample(xquad.cases, 10, held_out=3, seed="s")
    assert [c.id for c in a] == [c.id for c in sample(xquad.cases, 10, held_out=3, seed="s")]
    assert [c.id for c in a] != [c.id for c in sample(xquad.cases, 10, held_out=3, seed="other")]
    assert len(a) == 26 and sum(not c.answerable for c in a) == 6
    items = {c.id.rsplit("-", 1)[0] for c in a}
    assert all(f"{i}-de" in {c.id for c in a} and f"{i}-en" in {c.id for c in a} for i in items)


@pytest.mark.corpus
def test_xquad_feed_loads_with_its_own_ids(xquad, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    feed = write_corpus(xquad, tmp_path / "feed.jsonl")
    articles = load_paths([feed]).articles
    assert [a.id for a in articles] == [a["id"] for a in xquad.articles]
    assert all(a.language == "de" for a in articles)


def test_perturbation_suite_has_the_required_claims() -> None:
    items = load_items(PERTURBATIONS)
    claims = [c for i in items for c in i.claims]
    assert len(claims) >= 60
    assert {c.lang for c in claims} == {"en", "de"}
    assert {c.kind for c in claims} == {"faithful", *PERTURBED}
    assert {i.split for i in items} == {"dev", "test"}
    # The dev quotes are verbatim sentences of the sample corpus.
    articles = {a.id: a.text for a in load_paths([ROOT / "data" / "articles"]).articles}
    for item in items:
        if item.split == "dev":
            assert locate(item, articles[item.article]) is not None, item.id


def test_perturbation_summary_counts_keeps_and_rejections() -> None:
    from assistant.evaluation.perturbations import ClaimResult

    rows = [
        ClaimResult("i", "dev", "faithful", "en", "x", True, "meaning", ""),
        ClaimResult("i", "dev", "faithful", "de", "x", False, "meaning", ""),
        ClaimResult("i", "dev", "number", "en", "x", False, "anchors", ""),
        ClaimResult("i", "dev", "name", "en", "x", True, "meaning", ""),
    ]
    summary = summarize(rows)
    assert summary["faithful_kept"] == 0.5 and summary["perturbed_rejected"] == 0.5
    assert summary["rejected_number"] == 1.0 and summary["rejected_name"] == 0.0
    assert summary["rejected_by_anchors"] == 0.5
