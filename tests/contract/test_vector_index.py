"""Contract for the VectorIndex protocol, run against every ChromaIndex mode available offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.backends.base import ArticleRecord, VectorIndex
from assistant.backends.index_chroma import ChromaIndex
from assistant.errors import EmptyIndexError, IndexBusyError, IndexMismatchError
from assistant.types import Chunk, Filters
from tests.support.fakes import HashingEmbedder

EMB = HashingEmbedder(dim=64)


def _chunks() -> list[Chunk]:
    texts = [
        ("a1", "Peskow bestätigte den Abzug.", "de", "DW", "2024-04"),
        ("a1", "Die Friedenstruppen verließen die Region.", "de", "DW", "2024-04"),
        ("a2", "Belarus delivered weapons to Azerbaijan.", "en", "Politico", None),
    ]
    return [
        Chunk(
            id=f"{a}:{i}",
            article_id=a,
            text=t,
            start=i * 100,
            end=i * 100 + len(t),
            index=i,
            title=f"T {a}",
            language=lang,
            source=src,
            date=date,
        )
        for i, (a, t, lang, src, date) in enumerate(texts)
    ]


@pytest.fixture(params=["ephemeral", "persistent"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChromaIndex]:
    name = f"test-{request.node.name[:20].replace('[', '-').replace(']', '')}-x"
    if request.param == "ephemeral":
        idx = ChromaIndex.ephemeral(name, embedder_id=EMB.id, dim=EMB.dim)
    else:
        idx = ChromaIndex.persistent(str(tmp_path / "vs"), name, embedder_id=EMB.id, dim=EMB.dim)
    yield idx
    for chunk_id in [c.id for c in _chunks()]:
        idx.delete([chunk_id])
    idx.delete_articles(["a1", "a2"])


def _fill(index: ChromaIndex) -> list[Chunk]:
    """Chunks, then the manifest records that make their articles complete (and so visible)."""
    chunks = _chunks()
    index.upsert(chunks, EMB.embed_passages([c.text for c in chunks]))
    index.put_articles(
        [
            ArticleRecord(
                article_id=a, content_hash=f"h-{a}", chunk_ids=[c.id for c in chunks if c.article_id == a]
            )
            for a in ("a1", "a2")
        ]
    )
    return chunks


def test_satisfies_protocol(index: ChromaIndex) -> None:
    assert isinstance(index, VectorIndex)


def test_empty_index_query_is_a_clear_error(index: ChromaIndex) -> None:
    assert index.count() == 0
    with pytest.raises(EmptyIndexError, match="assistant ingest"):
        index.query(EMB.embed_queries(["x"])[0], 3)


def test_upsert_query_roundtrip_keeps_metadata(index: ChromaIndex) -> None:
    chunks = _fill(index)
    hits = index.query(EMB.embed_queries(["Peskow Abzug"])[0], 2)
    assert hits[0][0] == chunks[0]
    assert -1.0 <= hits[0][1] <= 1.0001 and hits[0][1] >= hits[1][1]
    _fill(index)  # upsert twice: no duplicates
    assert index.count() == 3


def test_filters(index: ChromaIndex) -> None:
    _fill(index)
    q = EMB.embed_queries(["Abzug weapons"])[0]
    assert {c.article_id for c, _ in index.query(q, 5, Filters(sources=["Politico"]))} == {"a2"}
    assert {c.article_id for c, _ in index.query(q, 5, Filters(languages=["de"]))} == {"a1"}
    assert {c.article_id for c, _ in index.query(q, 5, Filters(date_from="2024-01"))} == {"a1"}
    assert {c.article_id for c, _ in index.query(q, 5, Filters(date_to="2024-04"))} == {"a1"}


def test_get_iter_delete_and_vectors(index: ChromaIndex) -> None:
    chunks = _fill(index)
    assert index.get_chunks([chunks[2].id, chunks[0].id]) == [chunks[2], chunks[0]]
    assert sorted(c.id for c in index.iter_chunks(batch_size=2)) == sorted(c.id for c in chunks)
    assert sorted(index.chunk_ids_by_article(["a1"])["a1"]) == sorted([chunks[0].id, chunks[1].id])
    owned = index.chunk_ids_by_article(["a1", "a2", "nope", "a1"])
    assert sorted(owned["a1"]) == sorted([chunks[0].id, chunks[1].id])
    assert owned["a2"] == [chunks[2].id] and "nope" not in owned
    vec = index.vectors_of([chunks[0].id])[chunks[0].id]
    assert np.allclose(vec, EMB.embed_passages([chunks[0].text])[0], atol=1e-5)
    index.delete([chunks[0].id])
    assert index.existing_ids([c.id for c in chunks]) == {chunks[1].id, chunks[2].id}


def test_manifest_and_generation(index: ChromaIndex) -> None:
    _fill(index)
    before = index.generation()
    index.put_articles([ArticleRecord(article_id="a1", content_hash="h1", chunk_ids=["a1:0"])])
    after = index.generation()
    assert after != before
    assert index.articles()["a1"].content_hash == "h1"
    index.delete_articles(["a1"])
    assert "a1" not in index.articles() and index.generation() != after


def test_chunks_are_visible_only_once_their_article_is_complete(index: ChromaIndex) -> None:
    chunks = _chunks()
    index.upsert(chunks, EMB.embed_passages([c.text for c in chunks]))
    q = EMB.embed_queries(["Peskow Abzug weapons"])[0]
    # Stored, but no manifest record yet (an ingest killed here): not searchable, not counted.
    assert index.stored_count() == 3
    assert index.count() == 0 and index.query(q, 5) == [] and list(index.iter_chunks()) == []
    assert len(list(index.iter_chunks(complete_only=False))) == 3
    index.put_articles([ArticleRecord(article_id="a2", content_hash="h", chunk_ids=[chunks[2].id])])
    assert [c.id for c, _ in index.query(q, 5)] == [chunks[2].id]
    assert index.count() == 1 and [c.id for c in index.iter_chunks()] == [chunks[2].id]
    assert sorted(index.orphan_chunk_ids()) == sorted([chunks[0].id, chunks[1].id])
    # A chunk the record does not list (a stale version's) stays invisible next to listed ones.
    index.put_articles([ArticleRecord(article_id="a1", content_hash="h", chunk_ids=[chunks[0].id])])
    assert {c.id for c, _ in index.query(q, 5)} == {chunks[0].id, chunks[2].id}
    assert index.stored_chunks_by_article(["a1"]) == {"a1": {chunks[0].id: "", chunks[1].id: ""}}


def test_article_hash_is_stored_with_each_chunk(index: ChromaIndex) -> None:
    chunks = [c.model_copy(update={"article_hash": f"v1-{c.article_id}"}) for c in _chunks()]
    index.upsert(chunks, EMB.embed_passages([c.text for c in chunks]))
    assert index.stored_chunks_by_article(["a2"]) == {"a2": {chunks[2].id: "v1-a2"}}
    index.update_metadata([chunks[2].model_copy(update={"article_hash": "v2-a2"})])
    assert index.stored_chunks_by_article(["a2"]) == {"a2": {chunks[2].id: "v2-a2"}}


def test_one_writer_at_a_time(index: ChromaIndex, tmp_path: Path) -> None:
    if index.location == "memory":
        pytest.skip("an in-memory index has no other writers")
    busy = pytest.raises(IndexBusyError, match=r"Another ingest is running on .*\(pid \d+, started")
    with index.writing(), busy, index.writing():
        pass
    with index.writing():  # released
        pass


def test_other_embedder_is_a_mismatch(tmp_path: Path) -> None:
    path = str(tmp_path / "vs")
    built = ChromaIndex.persistent(path, "news-hashing64-64-x", embedder_id=EMB.id, dim=EMB.dim)
    _fill(built)
    other = ChromaIndex.persistent(path, "news-otherembedder-384-x", embedder_id="other", dim=384)
    with pytest.raises(IndexMismatchError, match="news-hashing64-64-x"):
        other.query(np.zeros(384, dtype=np.float32), 3)
