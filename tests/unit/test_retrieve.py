"""Hybrid retrieval: what the lexical side finds across languages."""

from __future__ import annotations

from unittest.mock import patch

from assistant.service import Assistant
from assistant.text.names import alias_forms

QUESTION = "What did Pashinyan say about visiting Belarus?"


def test_alias_forms_are_the_other_spellings_of_the_questions_names() -> None:
    forms = alias_forms(QUESTION, "en")
    assert {"paschinjan", "weissrussland"} <= set(forms)
    assert "pashinyan" not in forms and "belarus" not in forms  # the question's own spelling
    assert alias_forms("Who said so?", "en") == []  # "Who" opens the question: not the WHO
    assert "ezb" in alias_forms("What did the ECB decide?", "en")


def test_an_english_question_finds_the_german_spelling_of_its_names(fake_assistant: Assistant) -> None:
    # The article says "Paschinjan" and "Weißrussland"; the question "Pashinyan" and "Belarus".
    def lexical_hits() -> set[str]:
        passages = fake_assistant.search(QUESTION, k=10)
        return {p.chunk.id for p in passages if p.lexical_score and "Paschinjan" in p.chunk.text}

    with_aliases = lexical_hits()
    with patch("assistant.retrieve.alias_forms", lambda *_a, **_k: []):
        without = lexical_hits()
    assert with_aliases and not without
