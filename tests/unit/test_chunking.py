"""Sentence splitting and chunking: exact spans, the documented size bounds, stable ids."""

from __future__ import annotations

import hashlib
import itertools
import random
from pathlib import Path

import pytest

from assistant.chunking import CHUNKER_VERSION, chunk_article
from assistant.config import ChunkingSettings
from assistant.loaders import CsvOptions, load_paths
from assistant.text.sentences import split_sentences
from assistant.types import Article, Chunk

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "data" / "articles"
GNAD_CSV = ROOT.parent / "shared" / "corpora" / "gnad10k-test.csv"
DEFAULTS = ChunkingSettings()


def sentences(text: str, language: str = "de") -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, language)]


def make_article(text: str, article_id: str = "a1", language: str = "de") -> Article:
    return Article(
        id=article_id, text=text, title="T", source="S", date="2024-01", language=language, origin="o"
    )


def assert_chunk_invariants(article: Article, chunks: list[Chunk], settings: ChunkingSettings) -> None:
    assert chunks, article.id
    covered = bytearray(len(article.text))
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert chunk.text == article.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
        assert len(chunk.text) <= settings.max_chars + settings.min_chars, (article.id, len(chunk.text))
        if len(chunks) > 1:
            assert len(chunk.text) >= min(150, settings.min_chars), (article.id, chunk.text)
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    lost = [ch for ch, seen in zip(article.text, covered, strict=True) if not seen and not ch.isspace()]
    assert not lost, f"text not in any chunk: {''.join(lost)[:80]!r}"
    assert len({c.id for c in chunks}) == len(chunks)


# --- split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Der Krieg endete am 10. November 2020 mit einem Waffenstillstand. Danach zogen sie ab.",
            ["Der Krieg endete am 10. November 2020 mit einem Waffenstillstand.", "Danach zogen sie ab."],
        ),
        (
            "Der Angriff begann am 19. September 2023. Am 1. Mai wurde demonstriert.",
            ["Der Angriff begann am 19. September 2023.", "Am 1. Mai wurde demonstriert."],
        ),
        (
            "Etwa 2.000 Soldaten und 3.5 Prozent. Der Rest blieb.",
            ["Etwa 2.000 Soldaten und 3.5 Prozent.", "Der Rest blieb."],
        ),
        (
            "Dr. Müller und Prof. Schmidt, z. B. aus Bonn, u. a. auch Nr. 5. Das ist gut.",
            ["Dr. Müller und Prof. Schmidt, z. B. aus Bonn, u. a. auch Nr. 5.", "Das ist gut."],
        ),
        (
            "Es kostet ca. 3 Mio. Euro bzw. 4 Mrd. Dollar. Die Kosten steigen.",
            ["Es kostet ca. 3 Mio. Euro bzw. 4 Mrd. Dollar.", "Die Kosten steigen."],
        ),
        (
            "Er reiste nach St. Petersburg. Dort blieb er.",
            ["Er reiste nach St. Petersburg.", "Dort blieb er."],
        ),
        (
            "Hajiyev sagte: „Der Prozess hat bereits begonnen.“ Die Minister handeln.",
            ["Hajiyev sagte: „Der Prozess hat bereits begonnen.“", "Die Minister handeln."],
        ),
        (
            "„Warum?“, fragte er. Sie schwieg.",
            ["„Warum?“, fragte er.", "Sie schwieg."],
        ),
        (
            "Er wartete… Dann ging er. Das war ... seltsam.",
            ["Er wartete…", "Dann ging er.", "Das war ... seltsam."],
        ),
        (
            "Die Zahl stieg auf 15. Am Montag kam es anders. Er wurde 1990 geboren. Dann zog er um.",
            [
                "Die Zahl stieg auf 15.",
                "Am Montag kam es anders.",
                "Er wurde 1990 geboren.",
                "Dann zog er um.",
            ],
        ),
        (
            "Im 20. Jahrhundert war es so. Zum 2. Mal gewann er.",
            ["Im 20. Jahrhundert war es so.", "Zum 2. Mal gewann er."],
        ),
        (
            "Äpfel, Birnen usw. Danach kam mehr.",
            ["Äpfel, Birnen usw.", "Danach kam mehr."],
        ),
        (
            "Überschrift ohne Punkt\nErster Satz. Zweiter Satz.\n\nNeuer Absatz ohne Punkt\nLetzte Zeile",
            [
                "Überschrift ohne Punkt",
                "Erster Satz.",
                "Zweiter Satz.",
                "Neuer Absatz ohne Punkt",
                "Letzte Zeile",
            ],
        ),
        ("  Leading and trailing space.  ", ["Leading and trailing space."]),
        ("", []),
        ("\n\n  \n", []),
    ],
)
def test_split_sentences_german(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "J. R. R. Tolkien wrote books, e.g. The Hobbit. Mr. Smith of the U.S. Army agreed.",
            ["J. R. R. Tolkien wrote books, e.g. The Hobbit.", "Mr. Smith of the U.S. Army agreed."],
        ),
        (
            "Mrs. Jones paid 3.5 million, i.e. less than planned. It was enough.",
            ["Mrs. Jones paid 3.5 million, i.e. less than planned.", "It was enough."],
        ),
        (
            '"Really?" he asked. She said: "Yes." Then she left.',
            ['"Really?" he asked.', 'She said: "Yes."', "Then she left."],
        ),
        ("Keep it in mind. The end.", ["Keep it in mind.", "The end."]),
        ("Apples, pears etc. The list goes on.", ["Apples, pears etc.", "The list goes on."]),
        (
            "They live at No. 10 Downing Street. He said no. Then he left.",
            ["They live at No. 10 Downing Street.", "He said no.", "Then he left."],
        ),
    ],
)
def test_split_sentences_english(text: str, expected: list[str]) -> None:
    assert sentences(text, "en") == expected


def test_spans_exclude_whitespace_and_are_ordered() -> None:
    text = " Erster Satz.   Zweiter Satz!\n\n  Dritter?  \n"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["Erster Satz.", "Zweiter Satz!", "Dritter?"]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start


def test_seed_sentences_keep_dates_together() -> None:
    article = next(a for a in load_paths([SAMPLE_DIR]).articles if a.id == "002_5656326da5719992")
    found = sentences(article.text, article.language)
    assert any("am 10. November 2020 mit einem Waffenstillstand" in s for s in found)
    assert any("am 19. September 2023 musste" in s for s in found)
    assert any("etwa 2.000 russische Friedenstruppen" in s for s in found)
    assert "Hajiyev sagte: „Der Prozess hat bereits begonnen." in found
    assert not any(s.endswith((" 10.", " 19.", " 2.")) for s in found)


# --- chunk_article


@pytest.fixture(scope="module")
def seeds() -> list[Article]:
    return load_paths([SAMPLE_DIR]).articles


def test_seed_chunks_hold_the_invariants(seeds: list[Article]) -> None:
    assert len(seeds) == 5
    for article in seeds:
        chunks = chunk_article(article, DEFAULTS)
        assert_chunk_invariants(article, chunks, DEFAULTS)
        assert len(chunks) >= 2  # every seed is longer than one chunk
        for chunk in chunks:
            assert 150 <= len(chunk.text) <= DEFAULTS.max_chars, (article.id, len(chunk.text))


def test_seed_chunks_never_split_a_date(seeds: list[Article]) -> None:
    article = next(a for a in seeds if a.id == "002_5656326da5719992")
    phrase = "10. November 2020"
    at = article.text.index(phrase)
    for chunk in chunk_article(article, DEFAULTS):
        assert not (at < chunk.start < at + len(phrase)) and not (at < chunk.end < at + len(phrase))
    assert any(phrase in c.text for c in chunk_article(article, DEFAULTS))


def test_chunks_carry_article_metadata(seeds: list[Article]) -> None:
    article = seeds[0]
    chunks = chunk_article(article, DEFAULTS)
    for chunk in chunks:
        assert chunk.article_id == article.id
        assert (chunk.title, chunk.source, chunk.date, chunk.language, chunk.url, chunk.origin) == (
            article.title,
            article.source,
            article.date,
            article.language,
            article.url,
            article.origin,
        )


def test_chunk_ids_are_deterministic_and_content_addressed(seeds: list[Article]) -> None:
    article = seeds[2]
    first = chunk_article(article, DEFAULTS)
    again = chunk_article(article.model_copy(), DEFAULTS)
    assert [c.id for c in first] == [c.id for c in again]
    for chunk in first:
        digest = hashlib.sha256(f"{article.id}\x00{chunk.text}".encode()).hexdigest()[:16]
        assert chunk.id == f"{article.id}:{digest}"


def test_unchanged_chunks_keep_their_ids_when_the_end_changes(seeds: list[Article]) -> None:
    article = seeds[3]
    before = chunk_article(article, DEFAULTS)
    edited = article.model_copy(update={"text": article.text + "\n\nEin ganz neuer letzter Absatz. " * 3})
    after = chunk_article(edited, DEFAULTS)
    assert before[0].id == after[0].id
    assert before[1].id == after[1].id
    assert before[-1].id != after[-1].id


def test_repeated_text_gets_unique_ids() -> None:
    paragraph = "Dieser Absatz wiederholt sich Wort für Wort und ist lang genug für einen Chunk. " * 6
    article = make_article(f"{paragraph.strip()}\n\n{paragraph.strip()}")
    chunks = chunk_article(article, ChunkingSettings(max_chars=500, overlap_chars=0, min_chars=100))
    texts = [c.text for c in chunks]
    assert len(set(texts)) < len(texts)
    assert len({c.id for c in chunks}) == len(chunks)
    assert any(c.id.endswith("~2") for c in chunks)


def test_short_article_is_one_chunk() -> None:
    article = make_article("Kurze Meldung. Nur zwei Sätze.")
    chunks = chunk_article(article, DEFAULTS)
    assert [(c.start, c.end, c.text) for c in chunks] == [(0, len(article.text), article.text)]


def test_empty_article_has_no_chunks() -> None:
    assert chunk_article(make_article(" \n\n "), DEFAULTS) == []


def test_overlap_repeats_whole_trailing_sentences() -> None:
    sentence_list = [f"Satz Nummer {i} erzählt etwas über das Thema des Tages." for i in range(40)]
    article = make_article(" ".join(sentence_list))  # one long paragraph
    settings = ChunkingSettings(max_chars=400, overlap_chars=120, min_chars=100)
    chunks = chunk_article(article, settings)
    assert_chunk_invariants(article, chunks, settings)
    for previous, current in itertools.pairwise(chunks):
        overlap = previous.end - current.start
        assert 0 < overlap <= settings.overlap_chars
        assert article.text[current.start : previous.end] in sentence_list or (
            sentences(article.text[current.start : previous.end])[0] in sentence_list
        )


def test_no_overlap_when_disabled_or_at_paragraph_breaks() -> None:
    sentence = "Ein Satz mit genau genug Wörtern, um etwas Länge zu haben."
    text = "\n\n".join(" ".join([sentence] * 5) for _ in range(6))
    article = make_article(text)
    for settings in (
        ChunkingSettings(max_chars=400, overlap_chars=0, min_chars=100),
        ChunkingSettings(max_chars=600, overlap_chars=150, min_chars=100),
    ):
        chunks = chunk_article(article, settings)
        assert_chunk_invariants(article, chunks, settings)
        for previous, current in itertools.pairwise(chunks):
            if settings.overlap_chars == 0 or "\n" in text[previous.end : current.start]:
                assert previous.end <= current.start


def test_full_chunks_end_at_paragraph_breaks() -> None:
    paragraphs = [" ".join([f"Absatz {p} hat diesen Satz mit etwas Inhalt."] * 8) for p in range(5)]
    article = make_article("\n\n".join(paragraphs))
    chunks = chunk_article(article, ChunkingSettings(max_chars=900, overlap_chars=150, min_chars=250))
    # each paragraph is ~380 chars: two fit in 900, so every chunk is whole paragraphs
    for chunk in chunks:
        assert chunk.text.startswith("Absatz") and chunk.text.endswith("Inhalt.")
        assert chunk.start == 0 or article.text[chunk.start - 2 : chunk.start] == "\n\n"


def test_headings_start_the_next_chunk() -> None:
    short_body = " ".join(["Ein kurzer Abschnitt mit zwei Sätzen Inhalt darin."] * 6)  # ~310 chars
    long_sentence = "Dieser lange Satz " + "geht immer weiter und weiter " * 10 + "bis zum Ende."
    text = f"Erster Teil\n{short_body}\nZwischentitel\nZweiter Teil\n{long_sentence} {short_body}"
    article = make_article(text)
    chunks = chunk_article(article, ChunkingSettings(max_chars=600, overlap_chars=0, min_chars=100))
    assert [c.text.split("\n")[0] for c in chunks][:2] == ["Erster Teil", "Zwischentitel"]
    assert not any(c.text.endswith(("Teil", "Zwischentitel")) for c in chunks)


def test_short_tail_paragraph_is_merged_into_the_previous_chunk() -> None:
    body = " ".join(f"Satz {i:02d} hat ungefähr fünfzig Zeichen Inhalt drin." for i in range(12))
    article = make_article(f"{body}\n\nKurzes Ende.")
    settings = ChunkingSettings(max_chars=800, overlap_chars=0, min_chars=250)
    chunks = chunk_article(article, settings)
    assert [c.text for c in chunks] == [article.text]


def test_short_tail_that_would_overflow_is_rebalanced() -> None:
    body = " ".join(f"Satz {i:02d} hat ungefähr fünfzig Zeichen Inhalt drin." for i in range(19))
    article = make_article(f"{body} Kurzes Ende.")
    settings = ChunkingSettings(max_chars=800, overlap_chars=0, min_chars=250)
    chunks = chunk_article(article, settings)
    assert_chunk_invariants(article, chunks, settings)
    sizes = [len(c.text) for c in chunks]
    assert len(sizes) == 2 and all(settings.min_chars <= n <= settings.max_chars for n in sizes), sizes
    assert abs(sizes[0] - sizes[1]) < 100, sizes
    assert chunks[-1].text.endswith("Kurzes Ende.")


def test_overlong_sentence_is_cut_at_clause_or_word_boundaries() -> None:
    clause = "und dann kam noch ein weiterer Nebensatz hinzu, der alles länger machte"
    text = "Ein Satz beginnt, " + ", ".join([clause] * 40) + ". Danach kommt ein normaler Satz."
    article = make_article(text)
    settings = ChunkingSettings(max_chars=500, overlap_chars=100, min_chars=100)
    chunks = chunk_article(article, settings)
    assert_chunk_invariants(article, chunks, settings)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk.text) <= settings.max_chars
        assert chunk.end == len(text) or text[chunk.end].isspace()
        assert chunk.start == 0 or text[chunk.start - 1].isspace()


def test_a_giant_word_is_cut_hard_without_losing_text() -> None:
    text = "Kurzer Anfang. " + "x" * 2500 + " Ende."
    article = make_article(text)
    chunks = chunk_article(article, DEFAULTS)
    assert_chunk_invariants(article, chunks, DEFAULTS)
    assert all(len(c.text) <= DEFAULTS.max_chars + DEFAULTS.min_chars for c in chunks)


def _random_article(rng: random.Random, n: int) -> Article:
    words = ["Haus", "Straße", "und", "der", "Regierung", "am", "10.", "November", "z.", "B.", "Dr.", "2.000"]
    paragraphs = []
    for _ in range(rng.randint(1, 8)):
        sentence_count = rng.randint(1, 12)
        paragraph = []
        for _ in range(sentence_count):
            length = rng.choice([2, 5, 12, 30, 90, 250])
            sentence = " ".join(rng.choice(words) for _ in range(length))
            paragraph.append(sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "?", ".“", ""]))
        paragraphs.append(" ".join(paragraph))
    return make_article(rng.choice(["\n\n", "\n"]).join(paragraphs), article_id=f"r{n}")


@pytest.mark.parametrize(
    ("max_chars", "overlap_chars", "min_chars"),
    [(200, 0, 0), (300, 150, 100), (900, 150, 250), (900, 900, 900), (1500, 300, 500), (250, 50, 600)],
)
def test_invariants_on_random_texts(max_chars: int, overlap_chars: int, min_chars: int) -> None:
    settings = ChunkingSettings(max_chars=max_chars, overlap_chars=overlap_chars, min_chars=min_chars)
    rng = random.Random(max_chars * 7 + overlap_chars * 3 + min_chars)
    for n in range(60):
        article = _random_article(rng, n)
        chunks = chunk_article(article, settings)
        if not article.text.strip():
            assert chunks == []
            continue
        covered = bytearray(len(article.text))
        for index, chunk in enumerate(chunks):
            assert chunk.index == index
            assert chunk.text == article.text[chunk.start : chunk.end]
            assert len(chunk.text) <= max_chars + min_chars
            covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
        assert all(seen or ch.isspace() for ch, seen in zip(article.text, covered, strict=True))
        assert len({c.id for c in chunks}) == len(chunks)


def test_chunker_version_is_an_int() -> None:
    assert isinstance(CHUNKER_VERSION, int) and CHUNKER_VERSION >= 1


@pytest.mark.corpus
def test_gnad_corpus_chunks_hold_the_invariants() -> None:
    if not GNAD_CSV.is_file():
        pytest.skip(f"corpus not present: {GNAD_CSV}")
    # Correctness only: speed is measured by benchmarks/, never asserted in tests.
    articles = load_paths([GNAD_CSV], csv=CsvOptions.gnad()).articles
    chunks = {a.id: chunk_article(a, DEFAULTS) for a in articles}
    assert len(articles) == 1028
    for article in articles:
        assert_chunk_invariants(article, chunks[article.id], DEFAULTS)
