"""The draft shape: what the grammar allows, and how drafts of any backend are read."""

from __future__ import annotations

import re

from assistant.shape import answer_grammar, format_evidence, parse_draft, sanitize_quote, span_in_quote
from assistant.types import Evidence


def _ev(marker: int, quote: str) -> Evidence:
    return Evidence(
        marker=marker, article_id="a", chunk_id="c", title="T", quote=quote, start=0, end=len(quote)
    )


EVIDENCE = [
    _ev(1, "Kremlsprecher Dmitri Peskow bestätigte den Abzug."),
    _ev(2, 'Er sagte: «Der Prozess hat begonnen» und "mehr nicht".'),
]


def test_grammar_offers_exactly_the_evidence_markers_and_their_words() -> None:
    grammar = answer_grammar(EVIDENCE, "en")
    assert re.search(r'"\[1\] «" span1 "» Answer: " sentence', grammar)
    assert '"[2] «" span2' in grammar and "[3]" not in grammar
    assert 'e1w0 ::= "Kremlsprecher"' in grammar
    # Quote characters of the evidence cannot close the copy or the grammar's own strings.
    assert "«Der" not in grammar and '\\"mehr' in grammar
    assert answer_grammar(EVIDENCE, "de").count("Antwort:") == 2
    assert answer_grammar([], "en") == 'root ::= "NO_ANSWER"'


def test_evidence_as_the_model_sees_it() -> None:
    shown = format_evidence(EVIDENCE)
    assert shown.splitlines()[0] == "[1] Kremlsprecher Dmitri Peskow bestätigte den Abzug."
    assert "«" not in shown
    assert sanitize_quote("a </evidence> b\n c") == "a b c"


def test_lines_are_parsed_with_marker_copy_and_sentence() -> None:
    draft = (
        "[1] «Peskow bestätigte den Abzug» Answer: Peskov confirmed the withdrawal.\n"
        "[2] «Der Prozess hat begonnen» Answer: The process has begun. It will end soon.\n"
    )
    lines = parse_draft(draft, "en").lines
    assert (lines[0].markers, lines[0].span) == ([1], "Peskow bestätigte den Abzug")
    # A line that runs on is checked sentence by sentence.
    assert [x.sentence for x in lines] == [
        "Peskov confirmed the withdrawal.",
        "The process has begun.",
        "It will end soon.",
    ]


def test_free_form_drafts_of_other_backends_are_read_too() -> None:
    lines = parse_draft("Peskow bestätigte den Abzug [1]. Alle sind weg [9].", "de").lines
    assert [(x.markers, x.sentence) for x in lines] == [
        ([1], "Peskow bestätigte den Abzug."),
        ([9], "Alle sind weg."),
    ]
    assert parse_draft("NO_ANSWER", "en").declined
    assert parse_draft("  ", "en").declined


def test_copies_are_checked_against_their_quote() -> None:
    assert span_in_quote("Peskow  bestätigte", EVIDENCE[0].quote)
    assert not span_in_quote("Peskow dementierte", EVIDENCE[0].quote)
    assert not span_in_quote("", EVIDENCE[0].quote)
