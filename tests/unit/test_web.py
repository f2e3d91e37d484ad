"""The Gradio web UI: rendering, feedback log, input checks, the bind/auth rule, queue settings, and the
`/ask` API endpoint called with gradio_client on a launched app (127.0.0.1, free port)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from assistant.config import Settings  # noqa: E402
from assistant.errors import ConfigError, InputError  # noqa: E402
from assistant.interfaces import web  # noqa: E402
from assistant.interfaces.vocabulary import Words  # noqa: E402
from assistant.paths import default_prompts_dir  # noqa: E402
from assistant.prompts import Prompts  # noqa: E402
from assistant.types import (  # noqa: E402
    Answer,
    AnswerEvent,
    Citation,
    Filters,
    FinalEvent,
    IndexStats,
    IngestReport,
    Removed,
    SentenceEvent,
    StatusEvent,
    Turn,
)

PROMPTS = Prompts(default_prompts_dir())
EN = Words.of(PROMPTS, "en")

CONTEXT = (
    "In den Jahren 2018 bis 2022, als die Spannungen mit Armenien ihren Höhepunkt erreichten,\n"
    "hat Aserbaidschan Waffen aus Weißrussland erhalten. Dies teilt <b>Politico</b> "
    '<img src=x onerror="alert(1)"> mit.'
)
QUOTE = "hat Aserbaidschan Waffen aus Weißrussland erhalten."


def citation(**overrides: Any) -> Citation:
    values: dict[str, Any] = {
        "marker": 1,
        "article_id": "000_politico",
        "title": "Bericht: Weißrussland <script>alert(1)</script>",
        "source": "Politico",
        "date": "2024-06",
        "language": "de",
        "quote": QUOTE,
        "start": 90,
        "end": 141,
        "context": CONTEXT,
    }
    return Citation(**{**values, **overrides})


def cited_answer(question: str = "Which weapons did Belarus deliver?") -> Answer:
    return Answer(
        question=question,
        answer="Azerbaijan received weapons from Belarus <i>x</i> [1]. Unknown [7].",
        abstained=False,
        language="en",
        citations=[citation()],
        backend="fake",
        model="fake-echo",
    )


def abstained_answer(question: str = "Who won the 2022 World Cup?", **overrides: Any) -> Answer:
    values: dict[str, Any] = {
        "question": question,
        "answer": "I could not find anything about this in the articles.",
        "abstained": True,
        "language": "en",
        "mode": "abstained",
        "abstain_reason": "no_evidence",
        "backend": "fake",
        "model": "fake-echo",
    }
    return Answer(**{**values, **overrides})


def render_answer(answer: Answer, turn: int = 1) -> str:
    return web.render_answer(answer, turn, Words.of(PROMPTS, answer.language))


def render_sources(answers: Sequence[Answer]) -> str:
    return web.render_sources(list(enumerate(answers, start=1)), PROMPTS)


class FakeIndex:
    location = "memory"
    name = "fake-collection"


class FakeAssistant:
    """Duck-typed stand-in for `Assistant`: real Answer objects, controllable delay, call records."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, list[Turn], int | None, Filters | None]] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self.prompts = PROMPTS
        self.index = FakeIndex()
        self.warmed = 0

    def warm_up(self) -> Iterator[StatusEvent]:
        if not self.warmed:
            yield StatusEvent(text="Loading the model (fake · fake-echo)")
        self.warmed += 1

    def articles(self) -> list[Any]:
        return []

    @property
    def llm_info(self) -> tuple[str, str]:
        return "fake", "fake-echo"

    def _answer(
        self, question: str, history: Sequence[Turn], k: int | None, filters: Filters | None
    ) -> Answer:
        with self._lock:
            self.calls.append((question, list(history), k, filters))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.active -= 1
        if "World Cup" in question:
            return abstained_answer(question)
        return cited_answer(question)

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        return self._answer(question, history, k, filters)

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[AnswerEvent]:
        yield StatusEvent(text="Searching the articles")
        answer = self._answer(question, history, k, filters)
        yield StatusEvent(text="Checking the answer against its sources")
        if not answer.abstained:
            yield SentenceEvent(text="Azerbaijan received weapons from Belarus [3].")
        yield FinalEvent(answer=answer)

    def stats(self) -> IndexStats:
        return IndexStats(collection="c", embedder="hashing", articles=5, chunks=24, sources={"DW": 1})

    def ingest(self, paths: Any = None, *, prune: bool = False, progress: Any = None) -> IngestReport:
        return IngestReport(added=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def handler(app: Any, name: str) -> Callable[..., Any]:
    """An event handler of the built app, by function name (they are methods of web.app.WebApp)."""
    return next(block_fn.fn for block_fn in app.fns.values() if block_fn.name == name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        web={
            "feedback_path": str(tmp_path / "feedback" / "feedback.jsonl"),
            "upload_dir": str(tmp_path / "up"),
        }  # type: ignore[arg-type]
    )


# --- rendering ---------------------------------------------------------------------------------------


def test_markers_become_links_to_their_source_card() -> None:
    rendered = render_answer(cited_answer(), 3)
    assert '<a class="na-cite" href="#na-src-3-1"' in rendered
    # Hovering or focusing the marker previews its quote (a tooltip inside the link).
    assert '>[1]<span class="na-tip" role="tooltip"' in rendered and QUOTE in rendered
    # A marker without a citation stays plain text instead of linking nowhere.
    assert "Unknown [7]." in rendered
    sources = render_sources([cited_answer(), cited_answer()])
    assert 'id="na-src-2-1"' in sources and 'id="na-src-1-1"' in sources
    assert sources.index('id="na-src-2-1"') < sources.index('id="na-src-1-1"'), "newest answer first"


def test_grouped_markers_each_get_a_link() -> None:
    answer = cited_answer().model_copy(
        update={"answer": "Both say so [1, 2].", "citations": [citation(), citation(marker=2)]}
    )
    rendered = render_answer(answer, 1)
    assert 'href="#na-src-1-1"' in rendered and 'href="#na-src-1-2"' in rendered


def test_answer_and_article_text_are_escaped() -> None:
    rendered = render_answer(cited_answer(), 1)
    assert "<i>" not in rendered and "&lt;i&gt;x&lt;/i&gt;" in rendered
    sources = render_sources([cited_answer()])
    assert "<script" not in sources and "<img" not in sources and "<b>" not in sources
    assert "&lt;script&gt;" in sources and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in sources


def test_only_http_urls_are_linked() -> None:
    safe = render_sources(
        [cited_answer().model_copy(update={"citations": [citation(url="https://x.org/a")]})]
    )
    assert 'href="https://x.org/a"' in safe and 'rel="noopener noreferrer"' in safe
    evil = render_sources(
        [cited_answer().model_copy(update={"citations": [citation(url="javascript:alert(1)")]})]
    )
    assert "javascript:" not in evil


def test_quote_is_highlighted_inside_its_context() -> None:
    marked = web.highlight_quote(CONTEXT, QUOTE)
    assert f'<mark class="na-quote">{QUOTE}</mark>' in marked
    assert marked.startswith("In den Jahren 2018")
    # The chunk may break lines where the quote has spaces.
    wrapped = web.highlight_quote(CONTEXT, "Höhepunkt erreichten, hat Aserbaidschan")
    assert '<mark class="na-quote">Höhepunkt erreichten,\nhat Aserbaidschan</mark>' in wrapped
    # A quote missing from the context is still shown, highlighted, above the context.
    missing = web.highlight_quote("Other text.", "Not there.")
    assert missing.startswith('<mark class="na-quote">Not there.</mark>') and "Other text." in missing
    assert web.highlight_quote("", "<q>") == '<mark class="na-quote">&lt;q&gt;</mark>'


def test_source_card_shows_title_date_source_and_both_languages() -> None:
    card = render_sources([cited_answer()])
    assert "Bericht: Weißrussland" in card and "2024-06" in card and "Politico" in card
    assert ">de</span>" in card and "answer: en" in card
    assert 'lang="de"' in card
    unknown = render_sources([cited_answer().model_copy(update={"citations": [citation(language="und")]})])
    assert "na-lang" not in unknown, "no empty language badge"


def test_abstention_is_styled_differently_from_an_answer() -> None:
    abstained = render_answer(abstained_answer(), 1)
    answered = render_answer(cited_answer(), 1)
    assert 'class="na-abstain"' in abstained and "Nothing about this in the articles" in abstained
    assert "na-abstain" not in answered and 'class="na-answer"' in answered
    assert "na-abstain" in render_sources([abstained_answer()])
    assert "na-src-" not in render_sources([abstained_answer()])


def test_error_message_is_escaped_and_styled() -> None:
    rendered = web.render_error("Cannot reach <Ollama>")
    assert 'class="na-error"' in rendered and "&lt;Ollama&gt;" in rendered


# --- inputs, filters, auth ---------------------------------------------------------------------------


def test_filters_from_the_settings_accordion() -> None:
    assert web.make_filters([], [], "", "") is None
    filters = web.make_filters(["DW"], None, "2024", " 2024-06-30 ")
    assert filters == Filters(sources=["DW"], date_from="2024", date_to="2024-06-30")
    with pytest.raises(InputError, match="YYYY"):
        web.make_filters(None, None, "June 2024", "")


def test_over_long_question_is_refused_with_a_message(settings: Settings) -> None:
    limit = settings.answer.max_question_chars
    assert web.check_question(" ok ", settings) == "ok"
    with pytest.raises(InputError, match=f"the limit is {limit}"):
        web.check_question("x" * (limit + 1), settings)
    with pytest.raises(InputError):
        web.check_question("   ", settings)


@pytest.mark.parametrize(
    ("host", "auth", "allow", "expected"),
    [
        ("127.0.0.1", None, False, None),
        ("localhost", None, False, None),
        ("::1", None, False, None),
        ("127.0.0.1", "ann:secret", False, ("ann", "secret")),
        ("0.0.0.0", "ann:s:e:c", False, ("ann", "s:e:c")),
        ("192.168.1.5", None, True, None),
    ],
)
def test_auth_rule_accepts(
    host: str, auth: str | None, allow: bool, expected: tuple[str, str] | None
) -> None:
    assert web.resolve_auth(host, auth, allow_unauthenticated=allow) == expected


@pytest.mark.parametrize(
    ("host", "auth"),
    [
        ("0.0.0.0", None),
        ("192.168.1.5", None),
        ("example.org", None),
        ("::", None),
        ("127.0.0.1", "nopassword"),
    ],
)
def test_auth_rule_refuses(host: str, auth: str | None) -> None:
    with pytest.raises(ConfigError):
        web.resolve_auth(host, auth)


def test_non_loopback_bind_without_auth_is_refused_before_serving(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="without a password"):
        web.start(FakeAssistant(), settings, host="0.0.0.0", port=free_port())  # type: ignore[arg-type]


def test_busy_port_is_a_message(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            web.start(FakeAssistant(), settings, port=port)  # type: ignore[arg-type]


# --- feedback ----------------------------------------------------------------------------------------


def test_feedback_record_for_a_helpful_answer_is_an_eval_case() -> None:
    history = [Turn(role="user", content="Hallo"), Turn(role="assistant", content="Hallo!")]
    answer = cited_answer().model_copy(update={"standalone_question": "Which weapons did Belarus send?"})
    record = web.feedback_record(answer, 1, answer_id="a1", comment=" good ", history=history, k=5)
    assert record["id"] == "a1" and record["rating"] == 1 and record["comment"] == "good"
    assert record["question"] == "Which weapons did Belarus send?"
    assert record["asked"] == "Which weapons did Belarus deliver?"
    assert record["language"] == "en" and record["answerable"] is True
    assert record["expected_articles"] == ["000_politico"] and record["expected_quotes"] == [QUOTE]
    assert record["citations"][0]["quote"] == QUOTE and "context" not in record["citations"][0]
    assert record["history"] == [t.model_dump() for t in history]
    assert (record["backend"], record["model"], record["abstained"]) == ("fake", "fake-echo", False)
    assert record["timestamp"].endswith("+00:00")
    json.dumps(record)


def test_feedback_record_labels_follow_the_rating() -> None:
    correct_abstention = web.feedback_record(abstained_answer(), 1, answer_id="a")
    assert correct_abstention["answerable"] is False and correct_abstention["expected_articles"] == []
    disliked = web.feedback_record(cited_answer(), -1, answer_id="b")
    assert disliked["answerable"] is None and disliked["expected_articles"] == []


def test_feedback_log_appends_jsonl(tmp_path: Path) -> None:
    log = web.FeedbackLog(tmp_path / "deep" / "feedback.jsonl")
    log.append(web.feedback_record(cited_answer(), 1, answer_id="a"))
    log.append(web.feedback_record(abstained_answer(), -1, answer_id="b", comment="Ümlaut"))
    lines = (tmp_path / "deep" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    assert "Ümlaut" in lines[1]


# --- the app's handlers, called directly -------------------------------------------------------------


def run_respond(
    app: Any, question: str, conversation: Any = None, library: Any = None, model: str | None = None
) -> list[Any]:
    respond = handler(app, "respond")
    chat = [{"role": "user", "content": question}]
    conversation = conversation or web.Conversation()
    return list(respond(question, chat, conversation, library, 5, None, None, "", "", model))


def test_chat_streams_then_shows_the_verified_answer_and_its_sources(settings: Settings) -> None:
    fake = FakeAssistant()
    app = web.build_app(fake, settings)  # type: ignore[arg-type]
    steps = run_respond(app, "Which weapons?")
    assert len(steps) >= 3, "a placeholder, progress updates, then the final answer"
    bubbles = [step[0][-1]["content"] for step in steps]
    assert "na-status" in bubbles[0] and "na-final" not in bubbles[0]
    assert any("Loading the model (fake · fake-echo)" in b for b in bubbles), "the model load is a step"
    # A verified sentence shows while the answer is worked on, without its draft marker.
    partial = next(b for b in bubbles if "na-partial" in b)
    assert "Azerbaijan received weapons from Belarus." in partial and "[3]" not in partial
    chat, conversation, library, sources, choices = steps[-1]
    assert 'class="na-final"' in chat[-1]["content"] and 'class="na-cite"' in chat[-1]["content"]
    assert [t.question for t in conversation.turns] == ["Which weapons?"]
    assert library["current"] == conversation.id and len(library["conversations"]) == 1
    assert "evidence" not in library["conversations"][0]["turns"][0]["answer"], "kept small in the browser"
    assert '<mark class="na-quote">' in sources
    assert choices["value"] == conversation.id
    # A follow-up carries the conversation so far.
    run_respond(app, "And when?", conversation, library)
    assert [t.content for t in fake.calls[-1][1]] == ["Which weapons?", cited_answer().answer]


def test_the_draft_never_reaches_the_page(settings: Settings) -> None:
    class Drafting(FakeAssistant):
        def ask_stream(self, question: str, **kwargs: Any) -> Iterator[AnswerEvent]:
            from assistant.types import TokenEvent

            yield StatusEvent(text="Writing the answer")
            yield TokenEvent(text="The peacekeepers left in the summer of 2020 [6].")
            yield FinalEvent(answer=cited_answer(question))

    steps = run_respond(web.build_app(Drafting(), settings), "When?")  # type: ignore[arg-type]
    assert steps and not any("summer of 2020" in str(step[0]) for step in steps)


def test_removed_sentences_are_said_in_words_with_details_a_click_away() -> None:
    answer = cited_answer().model_copy(
        update={
            "removed": [Removed(sentence="They left in 2020 [2].", reason="2020 is not in the cited passage")]
        }
    )
    rendered = render_answer(answer)
    assert "1 sentence removed: 2020 is not in the cited passage" in rendered
    assert '<details class="na-removed"><summary>' in rendered and "They left in 2020 [2]." in rendered
    two = answer.model_copy(update={"removed": answer.removed * 2})
    assert "2 sentences removed" in render_answer(two)


def test_abstentions_say_why_with_related_reading() -> None:
    nothing = render_answer(abstained_answer())
    assert "Nothing about this in the articles" in nothing
    related = abstained_answer(abstain_reason="not_answered", related=[citation()])
    shown = render_answer(related)
    assert "The articles do not answer this" in shown and "Related reading" in shown
    assert "na-cite" not in shown, "related reading is not cited as an answer"
    assert "Related reading" in render_sources([related])


def test_over_long_question_in_the_chat_yields_a_message_not_an_exception(settings: Settings) -> None:
    fake = FakeAssistant()
    app = web.build_app(fake, settings)  # type: ignore[arg-type]
    steps = run_respond(app, "x" * (settings.answer.max_question_chars + 1))
    chat, conversation, _, _, _ = steps[-1]
    assert 'class="na-error"' in chat[-1]["content"] and "Please shorten it" in chat[-1]["content"]
    assert conversation.history() == [] and fake.calls == []


def test_service_errors_become_messages(settings: Settings) -> None:
    from assistant.errors import BackendUnavailableError

    class Down(FakeAssistant):
        def ask_stream(self, question: str, **kwargs: Any) -> Iterator[AnswerEvent]:
            raise BackendUnavailableError("Cannot reach Ollama at http://localhost:11434 - start it")

    steps = run_respond(web.build_app(Down(), settings), "Hallo?")  # type: ignore[arg-type]
    assert "Cannot reach Ollama" in steps[-1][0][-1]["content"]


def test_stop_keeps_the_conversation_and_marks_the_question(settings: Settings) -> None:
    app = web.build_app(FakeAssistant(), settings)  # type: ignore[arg-type]
    chat, conversation, library, _, _ = run_respond(app, "Which weapons?")[-1]
    asked = [
        *chat,
        {"role": "user", "content": "And when?"},
        {"role": "assistant", "content": web.render_progress("Writing the answer", 3, [])},
    ]
    chat, stopped, library, _, _ = handler(app, "stop")("And when?", asked, conversation, library)
    assert [t.question for t in stopped.turns] == ["Which weapons?", "And when?"]
    assert stopped.turns[0].answer is not None and stopped.turns[1].note == "stopped"
    assert "na-stopped" in chat[-1]["content"] and "na-final" in chat[1]["content"]
    assert stopped.history() == conversation.history(), "a stopped question is not context for the next"


def test_conversations_are_listed_reopened_and_deleted(settings: Settings) -> None:
    app = web.build_app(FakeAssistant(), settings)  # type: ignore[arg-type]
    _, first, library, _, _ = run_respond(app, "Which weapons?")[-1]
    _, _, library, _, _ = handler(app, "new_conversation")(library)
    _, second, library, _, choices = run_respond(app, "Who won the World Cup?", None, library)[-1]
    assert [c[1] for c in choices["choices"]] == [second.id, first.id], "newest first"
    chat, reopened, library, _, _ = handler(app, "open_conversation")(first.id, library)
    assert reopened.id == first.id and "na-final" in chat[-1]["content"]
    assert handler(app, "restore")(library)[1].id == first.id, "a reload reopens the open one"
    _, shown, library, _, choices = handler(app, "delete_conversation")(reopened, library)
    assert [c[1] for c in choices["choices"]] == [second.id] and shown.id == second.id


def test_thumbs_write_feedback_jsonl(settings: Settings) -> None:
    app = web.build_app(FakeAssistant(), settings)  # type: ignore[arg-type]
    _, conversation, _, _, _ = run_respond(app, "Which weapons?")[-1]
    rate = handler(app, "rate")
    like = gr.LikeData(None, {"index": 1, "value": "", "liked": True})
    status, entry = rate(conversation, "precise", like)
    assert "helpful" in status and entry["rating"] == 1
    assert str(settings.web.feedback_path) in status, "the page says where feedback is kept"
    message, _, _ = handler(app, "save_comment")("even better", entry)
    assert "saved" in message
    lines = [json.loads(line) for line in settings.web.feedback_path.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["comment"]) for line in lines] == [
        (entry["id"], "precise"),
        (entry["id"], "even better"),
    ]
    # Rating the user's own message is not feedback on an answer, nor is a stopped question.
    status, entry = rate(conversation, "", gr.LikeData(None, {"index": 0, "value": "", "liked": False}))
    assert entry is None and len(settings.web.feedback_path.read_text().splitlines()) == 2
    stopped = conversation.with_turn(web.SavedTurn(question="And when?", note="stopped"))
    status, entry = rate(stopped, "", gr.LikeData(None, {"index": 3, "value": "", "liked": True}))
    assert entry is None and status == "Only answers can be rated."


def test_thumbs_become_eval_cases_with_import_feedback(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from assistant.evaluation.cases import parse_cases
    from assistant.interfaces.cli import main

    app = web.build_app(FakeAssistant(), settings)  # type: ignore[arg-type]
    _, conversation, _, _, _ = run_respond(app, "Which weapons did Belarus deliver?")[-1]
    handler(app, "rate")(conversation, "", gr.LikeData(None, {"index": 1, "value": "", "liked": True}))
    capsys.readouterr()
    assert main(["eval", "--import-feedback", str(settings.web.feedback_path)]) == 0
    (case,) = parse_cases(yaml.safe_load(capsys.readouterr().out), "stdout")
    assert case.question == "Which weapons did Belarus deliver?" and case.expected_articles == [
        "000_politico"
    ]


# --- a launched app ----------------------------------------------------------------------------------


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Any, str, FakeAssistant]]:
    fake = FakeAssistant(delay=0.2)
    slow = settings.model_copy(update={"web": settings.web.model_copy(update={"max_queue": 32})})
    app, url = web.start(fake, slow, port=free_port())  # type: ignore[arg-type]
    try:
        yield app, url, fake
    finally:
        app.close()


def test_launch_is_offline_and_queued(served: tuple[Any, str, FakeAssistant]) -> None:
    app, url, _ = served
    assert url.startswith("http://127.0.0.1:")
    assert app.analytics_enabled is False and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert app.share is False and app._queue.max_size == 32
    heavy = {fn.name: fn for fn in app.fns.values() if fn.name in ("respond", "ask", "ingest_files")}
    assert set(heavy) == {"respond", "ask", "ingest_files"}
    assert {(fn.concurrency_id, fn.concurrency_limit) for fn in heavy.values()} == {("assistant", 1)}


def test_gradio_client_calls_the_ask_endpoint(served: tuple[Any, str, FakeAssistant]) -> None:
    _, url, fake = served
    client = gradio_client.Client(url, verbose=False)
    result = client.predict(
        "Which weapons?",
        [{"role": "user", "content": "Hallo"}, {"role": "assistant", "content": "Hi"}],
        3,
        {"sources": ["DW"]},
        api_name="/ask",
    )
    assert result == cited_answer("Which weapons?").model_dump(mode="json")
    question, history, k, filters = fake.calls[-1]
    assert (question, [t.role for t in history], k, filters) == (
        "Which weapons?",
        ["user", "assistant"],
        3,
        Filters(sources=["DW"]),
    )
    with pytest.raises(gradio_client.exceptions.AppError, match="Please shorten it"):
        client.predict("x" * 5000, api_name="/ask")


def test_ten_simultaneous_users_are_queued_not_crashed(served: tuple[Any, str, FakeAssistant]) -> None:
    _, url, fake = served
    client = gradio_client.Client(url, verbose=False)
    questions = [f"Question {i}?" for i in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda q: client.predict(q, api_name="/ask"), questions))
    assert [r["question"] for r in results] == questions
    assert fake.max_active == 1, "web.concurrency=1: answers are computed one at a time"


def test_nothing_leaves_the_machine_at_launch(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Gradio would check api.gradio.app for updates and send telemetry if analytics were on.
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    contacted: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        contacted.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> Any:
        contacted.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    app, url = web.start(FakeAssistant(), settings, port=free_port())  # type: ignore[arg-type]
    try:
        gradio_client.Client(url, verbose=False).predict("Which weapons?", api_name="/ask")
        time.sleep(1.0)  # let any launch-time background thread run
    finally:
        app.close()
    assert contacted, "the audit saw no connection at all, so it is not hooked in"
    remote = {host for host in contacted if not web.is_loopback(host)}
    assert remote == set()


def test_basic_auth_guards_the_app_and_the_api(settings: Settings) -> None:
    import httpx

    app, url = web.start(FakeAssistant(), settings, port=free_port(), auth="ann:secret")  # type: ignore[arg-type]
    try:
        assert httpx.get(f"{url}config").status_code == 401
        client = gradio_client.Client(url, auth=("ann", "secret"), verbose=False)
        assert client.predict("Which weapons?", api_name="/ask")["citations"][0]["quote"] == QUOTE
        assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/ask"}
    finally:
        app.close()
