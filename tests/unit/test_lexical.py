from __future__ import annotations

import pickle
from pathlib import Path

from assistant.lexical import Bm25Index, LexicalCache, cache_format, query_terms
from assistant.types import Chunk, Filters


def _chunk(i: int, text: str, language: str = "de", source: str = "s", date: str | None = None) -> Chunk:
    return Chunk(
        id=f"c{i}",
        article_id=f"a{i}",
        text=text,
        start=0,
        end=len(text),
        index=1,
        language=language,
        source=source,
        date=date,
    )


CHUNKS = [
    _chunk(1, "Die OVKS ist ein Militärbündnis unter Führung Russlands.", date="2024-06"),
    _chunk(2, "Belarus lieferte Waffen an Aserbaidschan.", source="t", date="2023-09-27"),
    _chunk(3, "The weather in Vienna was sunny.", language="en"),
]


def test_bm25_ranks_matching_chunk_first() -> None:
    index = Bm25Index.build(CHUNKS, "g1")
    hits = index.search("Welche Staaten gehören zur OVKS?", 3)
    assert hits[0][0] == "c1"
    assert all(score > 0 for _, score in hits)
    assert index.search("zzzz", 3) == []


def test_bm25_filters() -> None:
    index = Bm25Index.build(CHUNKS, "g1")
    assert [h[0] for h in index.search("Waffen OVKS", 3, Filters(sources=["t"]))] == ["c2"]
    assert [h[0] for h in index.search("Waffen OVKS", 3, Filters(date_from="2024-01"))] == ["c1"]
    assert [h[0] for h in index.search("Waffen OVKS", 3, Filters(date_to="2023-12"))] == ["c2"]


def test_cache_rebuilds_only_when_generation_changes(tmp_path: Path) -> None:
    calls: list[int] = []

    def source() -> list[Chunk]:
        calls.append(1)
        return CHUNKS

    cache_file = tmp_path / "lex.pkl"
    cache = LexicalCache(cache_file)
    cache.get("g1", source)
    cache.get("g1", source)
    assert len(calls) == 1 and cache_file.is_file()
    # A new process (fresh cache object) loads from disk instead of rebuilding.
    assert LexicalCache(cache_file).get("g1", source).ids == ["c1", "c2", "c3"]
    assert len(calls) == 1
    LexicalCache(cache_file).get("g2", source)
    assert len(calls) == 2


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    cache_file = tmp_path / "lex.pkl"
    cache_file.write_bytes(b"not a pickle")
    assert len(LexicalCache(cache_file).get("g1", lambda: CHUNKS)) == 3


def test_an_english_query_matches_a_german_chunk_through_either_stemmer() -> None:
    chunk = _chunk(4, "Die Theorie der Familie ist umstritten.")
    index = Bm25Index.build([*CHUNKS, chunk], "g1")
    # The German stemmer leaves "theory" and "family" alone; the English one meets the German stems.
    assert {"theori", "famili"} <= query_terms("Which theory of the family is disputed?")
    assert index.search("Which theory of the family is disputed?", 3)[0][0] == "c4"


def test_a_cache_of_an_older_format_is_rebuilt(tmp_path: Path) -> None:
    cache_file = tmp_path / "lex.pkl"
    with cache_file.open("wb") as fh:
        pickle.dump((3, Bm25Index.build(CHUNKS[:1], "g1")), fh)  # the format before bm25s
    calls: list[int] = []

    def source() -> list[Chunk]:
        calls.append(1)
        return CHUNKS

    assert len(LexicalCache(cache_file).get("g1", source)) == 3
    assert calls == [1]
    with cache_file.open("rb") as fh:
        assert pickle.load(fh)[0] == cache_format()  # rewritten in the current format


def test_empty_index_unknown_terms_and_termless_chunks() -> None:
    assert Bm25Index.build([], "g0").search("OVKS", 3) == []
    index = Bm25Index.build([*CHUNKS, _chunk(5, "und der die das")], "g1")  # a chunk of stopwords only
    assert len(index) == 4
    assert index.search("zzzz qqqq", 3) == [] and index.search("und", 3) == []
    assert [h[0] for h in index.search("Vienna Waffen", 3, Filters(languages=["en"]))] == ["c3"]
    assert index.search("Vienna", 3, Filters(sources=["no such source"])) == []


def test_bm25s_does_not_log_at_debug_unless_the_application_asks() -> None:
    import logging

    from assistant.lexical import _bm25s

    _bm25s()
    assert logging.getLogger("bm25s").level == logging.NOTSET  # bm25s itself sets DEBUG on import
