"""Ingest is idempotent, replaces only what changed, prunes on request, and survives a crash."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.service import Assistant
from tests.support.fakes import HashingEmbedder

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "articles"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLE, folder)
    return folder


def _assistant(
    make_settings: Callable[..., Settings], **overrides: object
) -> tuple[Assistant, HashingEmbedder]:
    settings = make_settings(**overrides)
    embedder = HashingEmbedder()
    from assistant.backends.factory import make_index

    return Assistant(settings, embedder=embedder, index=make_index(settings, embedder)), embedder


def test_second_ingest_embeds_nothing(make_settings: Callable[..., Settings], corpus: Path) -> None:
    assistant, embedder = _assistant(make_settings)
    first = assistant.ingest([corpus])
    assert first.added == 5 and first.chunks_embedded > 0 and not first.skipped
    chunks = assistant.index.count()
    embedded = embedder.texts_embedded
    second = assistant.ingest([corpus])
    assert (second.added, second.updated, second.unchanged, second.chunks_embedded) == (0, 0, 5, 0)
    assert embedder.texts_embedded == embedded
    assert assistant.index.count() == chunks


def test_editing_one_article_replaces_only_its_chunks(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    assistant, _ = _assistant(make_settings)
    assistant.ingest([corpus])
    article = corpus / "002_5656326da5719992.txt"
    others_before = {cid for cid in _all_ids(assistant) if not cid.startswith("002_")}
    own_before = set(_own_chunks(assistant, "002_5656326da5719992"))
    text = article.read_text(encoding="utf-8")
    article.write_text(
        text.replace("D.W.", "Ein neuer Schlusssatz steht hier am Ende des Artikels."), "utf-8"
    )
    report = assistant.ingest([corpus])
    assert (report.updated, report.unchanged, report.added) == (1, 4, 0)
    own_after = set(_own_chunks(assistant, "002_5656326da5719992"))
    assert own_after != own_before
    # Unchanged chunks of the edited article keep their vectors; only the changed tail is embedded.
    assert report.chunks_reused >= 1 and 1 <= report.chunks_embedded < len(own_after)
    assert {cid for cid in _all_ids(assistant) if not cid.startswith("002_")} == others_before
    assert "neuer Schlusssatz" in " ".join(c.text for c in assistant.index.iter_chunks())
    assert "D.W." not in " ".join(c.text for c in assistant.index.get_chunks(sorted(own_after)))


def test_prune_removes_articles_of_deleted_files(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    assistant, _ = _assistant(make_settings)
    assistant.ingest([corpus])
    (corpus / "004_5b23b2942ce73acf.txt").unlink()
    kept = assistant.ingest([corpus])
    assert kept.removed == 0 and "004_5b23b2942ce73acf" in assistant.index.articles()
    pruned = assistant.ingest([corpus], prune=True)
    assert pruned.removed == 1
    assert "004_5b23b2942ce73acf" not in assistant.index.articles()
    assert _own_chunks(assistant, "004_5b23b2942ce73acf") == []


def test_interrupted_ingest_is_completed_without_duplicates(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    # Small batches so the run writes several times before the simulated crash.
    assistant, _ = _assistant(make_settings, embedding={"batch_size": 2}, index={"write_batch": 2})

    class Crash(Exception):
        pass

    calls = 0
    original = assistant.index.put_articles

    def crash_after_two(records):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += len(records)
        if calls > 2:
            raise Crash
        original(records)

    assistant.index.put_articles = crash_after_two  # type: ignore[method-assign]
    with pytest.raises(Crash):
        assistant.ingest([corpus])
    assistant.index.put_articles = original  # type: ignore[method-assign]
    report = assistant.ingest([corpus])
    assert report.unchanged == 2 and report.added == 3
    # Chunks stored before the crash are reused, not embedded again.
    assert report.chunks_reused > 0
    ids = _all_ids(assistant)
    assert len(ids) == len(set(ids)) == assistant.index.count()
    assert len(assistant.index.articles()) == 5


def test_bad_files_are_skipped_with_reasons(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.txt").write_text(
        "Titel\n\nDie Regierung in Wien hat heute ein neues Gesetz beschlossen.", "utf-8"
    )
    (folder / "empty.txt").write_text("", "utf-8")
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    assistant, _ = _assistant(make_settings)
    report = assistant.ingest([folder])
    assert report.added == 1
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "blob.txt", "notes.pdf"}
    assert all(reasons.values())


def _all_ids(assistant: Assistant) -> list[str]:
    return [c.id for c in assistant.index.iter_chunks()]


def _own_chunks(assistant: Assistant, article_id: str) -> list[str]:
    return assistant.index.chunk_ids_by_article([article_id]).get(article_id, [])


def test_writes_are_batched_across_articles(make_settings: Callable[..., Settings], corpus: Path) -> None:
    # Per-article manifest writes (each bumping the index generation) dominated large ingests.
    assistant, _ = _assistant(make_settings, embedding={"batch_size": 4}, index={"write_batch": 10})
    calls: dict[str, list[int]] = {"upsert": [], "put_articles": []}
    upsert, put_articles = assistant.index.upsert, assistant.index.put_articles

    def count_upsert(chunks, vectors):  # type: ignore[no-untyped-def]
        calls["upsert"].append(len(chunks))
        upsert(chunks, vectors)

    def count_put(records):  # type: ignore[no-untyped-def]
        calls["put_articles"].append(len(records))
        put_articles(records)

    assistant.index.upsert = count_upsert  # type: ignore[method-assign]
    assistant.index.put_articles = count_put  # type: ignore[method-assign]
    report = assistant.ingest([corpus])
    assert report.added == 5 and sum(calls["put_articles"]) == 5
    assert sum(calls["upsert"]) == report.chunks_embedded == assistant.index.count()
    # A write once 10 chunks are buffered (after 3 embedding batches of 4) and one for the rest.
    assert report.chunks_embedded > 12
    assert calls["upsert"][:-1] == [12] * (len(calls["upsert"]) - 1)
    assert len(calls["upsert"]) == -(-report.chunks_embedded // 12)
    assert len(calls["put_articles"]) <= len(calls["upsert"])
