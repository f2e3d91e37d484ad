"""What the three interfaces share (issue 14): one vocabulary around an answer, the status line with
elapsed time, the answer pump that the Stop button ends, the model choice of the web UI."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from assistant.config import Settings
from assistant.interfaces.pump import Pump
from assistant.interfaces.status import StatusLine
from assistant.interfaces.vocabulary import Words, without_markers
from assistant.paths import default_prompts_dir
from assistant.prompts import Prompts
from assistant.service import Assistant
from assistant.types import Answer, Citation, Removed

PROMPTS = Prompts(default_prompts_dir())


def citation(**overrides: object) -> Citation:
    values: dict[str, object] = {
        "marker": 1,
        "article_id": "a1",
        "title": "",
        "source": "DW",
        "quote": "q",
        "start": 0,
        "end": 1,
    }
    return Citation(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "reason", "title"),
    [
        ("en", "no_evidence", "Nothing about this in the articles"),
        ("en", "not_answered", "The articles do not answer this"),
        ("de", "no_evidence", "Nichts dazu in den Artikeln"),
        ("de", "not_answered", "Die Artikel beantworten das nicht"),
        ("de", None, "Keine Antwort aus den Artikeln"),
    ],
)
def test_one_abstention_vocabulary_that_says_why(language: str, reason: str | None, title: str) -> None:
    answer = Answer(question="?", answer="", abstained=True, language=language, abstain_reason=reason)  # type: ignore[arg-type]
    assert Words.of(PROMPTS, language).abstention_title(answer) == title


def test_removed_sentences_untitled_articles_and_draft_markers() -> None:
    en, de = Words.of(PROMPTS, "en"), Words.of(PROMPTS, "de-DE")
    one = [Removed(sentence="x", reason="its date is not in the cited passage")]
    assert en.removed_summary(one) == "1 sentence removed: its date is not in the cited passage"
    assert de.removed_summary(one * 3) == "3 Sätze entfernt" and en.removed_summary([]) == ""
    assert en.title(citation()) == "untitled · DW" and de.title(citation(title="a1")) == "ohne Titel · DW"
    assert en.title(citation(title="Abzug beginnt")) == "Abzug beginnt"
    assert en.date(citation()) == "undated" and en.date(citation(date="2024-06")) == "2024-06"
    assert without_markers("Peskow bestätigte den Abzug [6]. Und mehr [1, 2] dazu.") == (
        "Peskow bestätigte den Abzug. Und mehr dazu."
    )


def test_status_lines_stamp_each_step_with_the_time_since_the_question() -> None:
    now = [100.0]
    out = io.StringIO()
    status = StatusLine(out, live=False, clock=lambda: now[0])
    status.step("Loading the model")
    now[0] += 12.5
    status.step("Searching the articles")
    now[0] += 0.3
    status.sentence("Peskow bestätigte den Abzug.")
    now[0] += 2.0
    status.close()
    assert out.getvalue().splitlines() == [
        "[   0.0 s] Loading the model",
        "[  12.5 s] Searching the articles",
        "[  12.8 s] ✓ Peskow bestätigte den Abzug.",
    ]
    assert status.summary() == "14.8 s: loading the model 12.5 s, searching the articles 2.3 s"


def test_live_status_line_clears_what_it_drew() -> None:
    out = io.StringIO()
    status = StatusLine(out, live=True)
    status.step("Writing the answer")
    status.sentence("Peskow bestätigte den Abzug.")
    time.sleep(0.3)  # the clock redraws meanwhile
    status.close()
    shown = out.getvalue()
    assert "\r\x1b[2K⠋ Writing the answer" in shown, "redrawn in place"
    # The verified sentence line is erased again (cursor up one row, clear below): the answer follows.
    assert shown.endswith("\x1b[1A\x1b[J") and "✓ Peskow bestätigte den Abzug.\n" in shown


def test_pump_stop_ends_a_busy_answer_and_closes_its_stream() -> None:
    closed = threading.Event()

    def answer() -> Iterator[str]:
        try:
            yield "status"
            while True:  # a model writing without end
                time.sleep(0.01)
        finally:
            closed.set()

    pump = Pump(answer()).start()
    items = pump.items(tick=0.05)
    assert next(items) == "status"
    assert next(items) is None, "a tick while the model works (the clock of the progress bubble)"
    pump.stop()
    assert closed.wait(5) and pump.join(5)
    assert all(item is None for item in items), "nothing more after the stop, and the items end"


def test_pump_passes_the_workers_error_on() -> None:
    def failing() -> Iterator[str]:
        yield "status"
        raise ValueError("model gone")

    pump = Pump(failing()).start()
    with pytest.raises(ValueError, match="model gone"):
        list(pump.items(tick=0.05))


def test_web_offers_each_configured_model_sharing_the_index(make_settings: Callable[..., Settings]) -> None:
    pytest.importorskip("gradio")
    from assistant.interfaces.web.models import Models

    settings = make_settings(web={"models": ["ollama:qwen2.5:7b-instruct", "fake"]})
    base = Assistant.from_settings(settings)
    models = Models(base, settings)
    assert models.labels == ["fake · fake-echo", "ollama · qwen2.5:7b-instruct"], "the same model once"
    chosen = models.get("ollama · qwen2.5:7b-instruct")
    assert chosen.settings.llm.backend == "ollama" and chosen.index is base.index
    assert models.get(None) is base and models.get("gone · model") is base
