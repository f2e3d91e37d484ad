"""Slack rendering (pure) and the bot's small in-memory stores."""

from __future__ import annotations

import logging
import re

import pytest

pytest.importorskip("slack_bolt")

from assistant.interfaces import slack
from assistant.interfaces.slack import MESSAGE_LIMIT, ephemeral_blocks, question_from_slack
from assistant.interfaces.slack.client import redacting_logger
from assistant.interfaces.slack.stores import Histories, RateLimiter, SeenOnce
from assistant.interfaces.vocabulary import Words
from assistant.paths import default_prompts_dir
from assistant.prompts import Prompts
from assistant.types import Answer, Citation, Removed, Turn

PROMPTS = Prompts(default_prompts_dir())


def render_answer(answer: Answer) -> list[str]:
    return slack.render_answer(answer, Words.of(PROMPTS, answer.language))


ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def citation(marker: int = 1, **overrides: object) -> Citation:
    values: dict[str, object] = {
        "marker": marker,
        "article_id": f"a{marker}",
        "title": "EZB erhöht Leitzins",
        "source": "Beispielzeitung",
        "date": "2024-05-02",
        "url": None,
        "quote": "Die EZB hob den Leitzins auf 4,5 Prozent an.",
        "start": 0,
        "end": 10,
    }
    values.update(overrides)
    return Citation(**values)  # type: ignore[arg-type]


def answer(text: str = "Der Leitzins stieg auf 4,5 Prozent [1].", **overrides: object) -> Answer:
    values: dict[str, object] = {
        "question": "Wie hoch ist der Leitzins?",
        "answer": text,
        "abstained": False,
        "language": "de",
        "citations": [citation()],
    }
    values.update(overrides)
    return Answer(**values)  # type: ignore[arg-type]


def test_cited_answer_has_markers_and_a_sources_list_with_block_quotes() -> None:
    parts = render_answer(answer(citations=[citation(2, url="https://example.org/a?x=1&y=2"), citation(1)]))
    assert parts == [
        "Der Leitzins stieg auf 4,5 Prozent [1].\n\n"
        "*Quellen*\n"
        "*[1]* EZB erhöht Leitzins · Beispielzeitung · 2024-05-02\n"
        "> Die EZB hob den Leitzins auf 4,5 Prozent an.\n"
        "*[2]* <https://example.org/a?x=1&amp;y=2|EZB erhöht Leitzins> · Beispielzeitung · 2024-05-02\n"
        "> Die EZB hob den Leitzins auf 4,5 Prozent an."
    ]


def test_english_labels_and_missing_metadata() -> None:
    text = render_answer(
        answer("Rates rose [1].", language="en", citations=[citation(source="", date=None, title="")])
    )[0]
    assert "*Sources*\n*[1]* untitled\n> Die EZB" in text


def test_article_and_model_text_is_escaped() -> None:
    parts = render_answer(
        answer(
            "Laut <@U123> & Co. stieg der Zins <!channel> [1].",
            citations=[
                citation(
                    title="Müller & Söhne <AG>",
                    source="A|B",
                    quote="Er sagte: <!here> 5 > 4 & <https://evil.example|klick>",
                    url="https://example.org/x|y>z",
                )
            ],
        )
    )
    text = parts[0]
    assert "Laut &lt;@U123&gt; &amp; Co. stieg der Zins &lt;!channel&gt; [1]." in text
    assert "<https://example.org/x%7Cy&gt;z|Müller &amp; Söhne &lt;AG&gt;>" in text
    assert "> Er sagte: &lt;!here&gt; 5 &gt; 4 &amp; &lt;https://evil.example|klick&gt;" in text
    # The only raw angle brackets left are the one link the renderer built itself.
    assert re.findall(r"<[^>]*>", text) == ["<https://example.org/x%7Cy&gt;z|Müller &amp; Söhne &lt;AG&gt;>"]


def test_multi_line_quotes_stay_block_quotes() -> None:
    text = render_answer(answer(citations=[citation(quote="Erste Zeile.\n\nZweite Zeile.")]))[0]
    assert text.endswith("> Erste Zeile.\n>\n> Zweite Zeile.")


@pytest.mark.parametrize(
    ("language", "reason", "label"),
    [
        ("de", "no_evidence", "Nichts dazu in den Artikeln"),
        ("en", "no_evidence", "Nothing about this in the articles"),
        ("en", "not_answered", "The articles do not answer this"),
        ("en", None, "No answer from the articles"),
    ],
)
def test_abstentions_say_why_in_the_shared_words(language: str, reason: str | None, label: str) -> None:
    parts = render_answer(
        answer(
            "Dazu habe ich nichts gefunden.",
            abstained=True,
            language=language,
            citations=[],
            mode="abstained",
            abstain_reason=reason,
        )
    )
    assert parts == [f":grey_question: *{label}*\nDazu habe ich nichts gefunden."]


def test_abstention_offers_related_reading_and_removed_sentences_are_said() -> None:
    text = render_answer(
        answer(
            "The articles do not say.",
            abstained=True,
            language="en",
            citations=[],
            related=[citation()],
            abstain_reason="not_answered",
            removed=[Removed(sentence="x", reason="2020 is not in the cited passage")],
        )
    )[0]
    assert "*The articles do not answer this*" in text
    assert "_1 sentence removed: 2020 is not in the cited passage_" in text
    assert "*Related reading (does not answer the question)*\n*[1]* EZB erhöht Leitzins" in text


def test_progress_shows_only_verified_sentences_without_draft_markers() -> None:
    text = slack.render_progress("Checking the answer against its sources", 4.2, ["Rates rose [3]."])
    assert text.startswith("_:hourglass_flowing_sand: Checking the answer against its sources… (4 s)_")
    assert "Rates rose." in text and "[3]" not in text


def test_long_answers_are_split_within_the_limit_without_losing_text() -> None:
    body = "\n\n".join(f"Absatz {i}: " + "Zinsen & Preise steigen. " * 40 for i in range(12))
    citations = [citation(i, quote=f"Zitat Nummer {i}. " * 20) for i in range(1, 8)]
    parts = render_answer(answer(body + " [1]", citations=citations))
    assert len(parts) > 2
    assert all(0 < len(part) <= MESSAGE_LIMIT for part in parts)
    assert not any(ENTITY.search(part) for part in parts)
    joined = "\n".join(parts)
    assert joined.count("Zinsen &amp; Preise") == 12 * 40
    for i in range(1, 8):
        # A source and its quote are never torn apart when they fit one message.
        assert any(f"*[{i}]*" in part and f"> Zitat Nummer {i}." in part for part in parts)


def test_overlong_lines_and_quotes_are_hard_split_safely() -> None:
    word = "&" * (MESSAGE_LIMIT + 500)  # no space to split at: the cut must not halve "&amp;"
    quote = "Sehr langes Zitat. " * 400
    parts = render_answer(answer(word, citations=[citation(quote=quote)]))
    assert all(len(part) <= MESSAGE_LIMIT for part in parts)
    assert not any(ENTITY.search(part) for part in parts)
    assert "".join(parts).count("&amp;") == MESSAGE_LIMIT + 500
    quote_lines = [line for part in parts for line in part.splitlines() if "Sehr langes" in line]
    assert len(quote_lines) > 1 and all(line.startswith("> ") for line in quote_lines)
    assert " ".join(line[2:] for line in quote_lines).count("Sehr langes Zitat.") == 400


def test_ephemeral_blocks_carry_the_share_button() -> None:
    blocks = ephemeral_blocks(["teil 1", "teil 2"], "abc123", language="de")
    assert blocks[:2] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "teil 1"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "teil 2"}},
    ]
    (button,) = blocks[2]["elements"]
    assert blocks[2]["type"] == "actions"
    assert button["action_id"] == slack.SHARE_ACTION_ID and button["value"] == "abc123"
    assert button["text"] == {"type": "plain_text", "text": "Im Kanal teilen"}
    assert len(ephemeral_blocks(["x"] * 80, "id")) <= 50
    assert all(b["type"] == "section" for b in ephemeral_blocks(["x"], None))


def test_question_from_slack_unwraps_mentions_links_and_entities() -> None:
    text = (
        "<@UBOT> Was sagt <@U42|anna> in <#C1|news> zu <https://x.example/a|diesem Artikel> "
        "&amp; <https://y.example>? 5 &gt; 4"
    )
    assert question_from_slack(text, "UBOT") == (
        "Was sagt @anna in #news zu diesem Artikel & https://y.example? 5 > 4"
    )
    assert question_from_slack("<@UBOT>", "UBOT") == ""
    assert question_from_slack("<!here> hallo <@U7>", "UBOT") == "hallo @U7"


def test_rate_limiter_allows_n_per_minute_per_user() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.check("alice") == 0 and limiter.check("alice") == 0
    now[0] += 10
    assert limiter.check("alice") == pytest.approx(50.0)
    assert limiter.check("bob") == 0
    now[0] += 50.5
    assert limiter.check("alice") == 0


def test_seen_once_and_histories() -> None:
    seen = SeenOnce(ttl_s=60)
    assert seen.first("Ev1") and not seen.first("Ev1") and seen.first("Ev2")
    expired = SeenOnce(ttl_s=-1)
    assert expired.first("Ev1") and expired.first("Ev1")

    histories = Histories(max_threads=2, max_turns=3)
    histories.add("t1", Turn(role="user", content="a"), Turn(role="assistant", content="b"))
    histories.add("t1", Turn(role="user", content="c"), Turn(role="assistant", content="d"))
    assert [t.content for t in histories.get("t1")] == ["b", "c", "d"]
    histories.add("t2", Turn(role="user", content="x"))
    histories.add("t3", Turn(role="user", content="y"))
    assert histories.get("t1") == [] and histories.get("t3")


def test_tokens_are_masked_in_slack_client_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = redacting_logger()
    assert redacting_logger().filters.count(logger.filters[0]) == 1
    with caplog.at_level(logging.DEBUG):
        logger.debug("calling with %s and %s", "xoxb-1234-5678-abcdef", {"t": "xapp-1-A1-99-ffee"})
    assert "xoxb-(redacted)" in caplog.text and "xapp-(redacted)" in caplog.text
    assert "abcdef" not in caplog.text and "ffee" not in caplog.text
