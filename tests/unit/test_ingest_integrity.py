"""No silent overwrite, no stale text (issue 12, items 6-8): article ids are unique per source and
stable, one writer at a time, a re-ingest repairs chunk sets that do not match the manifest, and a
half-stored article is never searchable or counted."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.backends.base import ArticleRecord
from assistant.backends.factory import make_index
from assistant.chunking import chunk_article
from assistant.config import Settings
from assistant.errors import IndexBusyError
from assistant.interfaces.cli import main
from assistant.loaders import load_paths
from assistant.service import Assistant
from tests.support.fakes import HashingEmbedder

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "articles"
TEXT_1 = (
    "Erster Bericht\n\nDer Gemeinderat hat am Dienstag den Haushalt beschlossen, dagegen die Opposition.\n"
)
TEXT_2 = "Zweiter Bericht\n\nDie Feuerwehr rückte am Morgen zu einem Brand in der Altstadt aus.\n"


def _assistant(make_settings: Callable[..., Settings], **overrides: object) -> Assistant:
    settings = make_settings(**overrides)
    embedder = HashingEmbedder()
    return Assistant(settings, embedder=embedder, index=make_index(settings, embedder))


def _tag(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]


def _texts_by_article(assistant: Assistant) -> dict[str, str]:
    chunks = sorted(assistant.index.iter_chunks(), key=lambda c: (c.article_id, c.index))
    out: dict[str, str] = {}
    for chunk in chunks:
        out[chunk.article_id] = out.get(chunk.article_id, "") + chunk.text
    return out


# --- 6. identity


def test_same_file_name_in_two_folders_are_two_articles(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    for user, text in (("u1", TEXT_1), ("u2", TEXT_2)):
        (tmp_path / user).mkdir()
        (tmp_path / user / "article.txt").write_text(text, encoding="utf-8")
    assistant = _assistant(make_settings)
    assert assistant.ingest([tmp_path / "u1"]).added == 1
    second = assistant.ingest([tmp_path / "u2"])
    assert (second.added, second.updated) == (1, 0)  # was: "updated 1", replacing u1's article
    u2_id = f"article~{_tag(tmp_path / 'u2' / 'article.txt')}"
    assert set(assistant.index.articles()) == {"article", u2_id}
    texts = _texts_by_article(assistant)
    assert "Gemeinderat" in texts["article"] and "Feuerwehr" in texts[u2_id]
    # Stable: either folder again is unchanged, in any order, and keeps its id.
    for folder in ("u2", "u1", "u2"):
        again = assistant.ingest([tmp_path / folder])
        assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    assert set(assistant.index.articles()) == {"article", u2_id}
    both = assistant.ingest([tmp_path / "u1", tmp_path / "u2"])
    assert both.unchanged == 2 and set(assistant.index.articles()) == {"article", u2_id}


def test_explicit_ids_of_two_feeds_do_not_collide(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    for feed, text in (("a.jsonl", TEXT_1), ("b.jsonl", TEXT_2)):
        (tmp_path / feed).write_text(json.dumps({"id": "1", "text": text}) + "\n", encoding="utf-8")
    assistant = _assistant(make_settings)
    report = assistant.ingest([tmp_path / "a.jsonl"])
    report = assistant.ingest([tmp_path / "b.jsonl"])
    assert report.added == 1
    assert set(assistant.index.articles()) == {"1", f"1~{_tag(tmp_path / 'b.jsonl')}"}
    # In one run, too (the loader used to drop the second as a duplicate).
    assert {a.id for a in load_paths([tmp_path]).articles} == {"1", f"1~{_tag(tmp_path / 'b.jsonl')}"}


def test_sample_ids_are_the_file_stems(make_settings: Callable[..., Settings]) -> None:
    # The eval cases cite these ids: they must not change.
    assistant = _assistant(make_settings)
    assistant.ingest()
    assert sorted(assistant.index.articles()) == sorted(p.stem for p in SAMPLE.glob("*.txt"))


def test_a_file_keeps_its_id_however_it_is_named(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    corpus = tmp_path / "news"
    (corpus / "c").mkdir(parents=True)
    (corpus / "c" / "y.txt").write_text(TEXT_1, encoding="utf-8")
    assistant = _assistant(make_settings)
    assistant.ingest([corpus])
    assert set(assistant.index.articles()) == {"c/y"}
    # The file itself named (its natural id would be "y"), a sibling with the same stem added:
    assert assistant.ingest([corpus / "c" / "y.txt"]).unchanged == 1
    (corpus / "c" / "y.md").write_text(TEXT_2, encoding="utf-8")
    report = assistant.ingest([corpus])
    assert (report.unchanged, report.added) == (1, 1)
    assert set(assistant.index.articles()) == {"c/y", "c/y.md"}


def test_moving_a_corpus_updates_it_instead_of_duplicating(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    shutil.copytree(SAMPLE, tmp_path / "before")
    assistant = _assistant(make_settings)
    assistant.ingest([tmp_path / "before"])
    (tmp_path / "before").rename(tmp_path / "after")
    report = assistant.ingest([tmp_path / "after"])
    assert (report.added, report.updated, report.chunks_embedded) == (0, 5, 0)
    records = assistant.index.articles()
    assert sorted(records) == sorted(p.stem for p in SAMPLE.glob("*.txt"))
    assert all(r.origin.startswith(str((tmp_path / "after").resolve())) for r in records.values())
    assert all(
        c.origin.startswith(str((tmp_path / "after").resolve())) for c in assistant.index.iter_chunks()
    )


# --- 7. one writer at a time, and repair


def test_a_second_ingest_is_refused_while_one_runs(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings()
    assistant = _assistant(make_settings)
    other = make_index(settings, HashingEmbedder())  # another writer: its own lock handle
    with other.writing():
        with pytest.raises(IndexBusyError) as info:
            assistant.ingest()
        assert str(info.value).startswith(f"Another ingest is running on {settings.index.path} (pid ")
        assert assistant.index.articles() == {}
        monkeypatch.setenv("ASSISTANT_EMBEDDING__BACKEND", "hashing")
        monkeypatch.setenv("ASSISTANT_INDEX__PATH", str(settings.index.path))
        assert main(["ingest"]) == 75
        err = capsys.readouterr().err
        assert err.startswith("error: Another ingest is running on") and err.count("\n") == 1
    assert assistant.ingest().added == 5


def test_with_a_lock_timeout_the_second_ingest_waits_its_turn(make_settings: Callable[..., Settings]) -> None:
    import threading
    import time

    settings = make_settings(ingest={"lock_timeout_s": 600})
    assistant = _assistant(make_settings, ingest={"lock_timeout_s": 600})
    other = make_index(settings, HashingEmbedder())
    outcome: list[object] = []
    with other.writing():
        waiting = threading.Thread(target=lambda: outcome.append(_safely(assistant.ingest)))
        waiting.start()
        time.sleep(1.0)  # lets the second ingest reach the lock; nothing is asserted about time
    waiting.join(600)
    assert len(outcome) == 1 and getattr(outcome[0], "added", None) == 5, outcome


def _safely(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception as exc:
        return exc


def _corrupt_like_two_writers(assistant: Assistant, corpus: Path) -> dict[str, set[str]]:
    """What two ingests at once left behind before the lock: the chunks of edited versions stored
    under the same article ids next to the manifest's version, which never listed them."""
    edited = [
        a.model_copy(
            update={"text": a.text + "\nEin Absatz aus der anderen Fassung, der nie im Manifest stand."}
        )
        for a in load_paths([corpus]).articles[:3]
    ]
    extra: dict[str, set[str]] = {}
    for article in edited:
        chunks = [c for c in chunk_article(article, assistant.settings.chunking)]
        stored = assistant.index.stored_chunks_by_article([article.id])[article.id]
        new = [c for c in chunks if c.id not in stored]
        assistant.index.upsert(new, assistant.embedder.embed_passages([c.text for c in new]))
        extra[article.id] = {c.id for c in new}
    return extra


def test_reingest_repairs_chunks_the_manifest_does_not_list(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    corpus = tmp_path / "articles"
    shutil.copytree(SAMPLE, corpus)
    assistant = _assistant(make_settings)
    assistant.ingest([corpus])
    clean = sorted(c.id for c in assistant.index.iter_chunks(complete_only=False))
    extra = _corrupt_like_two_writers(assistant, corpus)
    assert assistant.index.stored_count() == len(clean) + sum(map(len, extra.values()))
    # Never visible (item 8), ...
    assert sorted(c.id for c in assistant.index.iter_chunks()) == clean
    hits = assistant.search("Ein Absatz aus der anderen Fassung, der nie im Manifest stand", k=10)
    assert not any(h.chunk.id in set().union(*extra.values()) for h in hits)
    # ... and the next ingest of the manifest's version removes them instead of saying "unchanged".
    report = assistant.ingest([corpus])
    assert (report.repaired, report.unchanged, report.chunks_embedded) == (3, 2, 0)
    assert sorted(c.id for c in assistant.index.iter_chunks(complete_only=False)) == clean
    assert assistant.ingest([corpus]).unchanged == 5


def test_reingest_restores_missing_chunks_and_stale_metadata(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    corpus = tmp_path / "articles"
    shutil.copytree(SAMPLE, corpus)
    assistant = _assistant(make_settings)
    assistant.ingest([corpus])
    before = {c.id: c for c in assistant.index.iter_chunks()}
    by_article = sorted({c.article_id: c.id for c in before.values()}.values())
    lost, stale = by_article[0], by_article[1]  # one chunk of each of two articles
    assistant.index.delete([lost])
    assistant.index.update_metadata(
        [before[stale].model_copy(update={"title": "Fremd", "article_hash": "x"})]
    )
    report = assistant.ingest([corpus])
    assert report.repaired == 2 and report.chunks_embedded == 1
    assert {c.id: c for c in assistant.index.iter_chunks()} == before


def test_legacy_chunks_without_a_version_are_trusted(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # Indexes written before chunks carried the article version: no mass rewrite on upgrade.
    assistant = _assistant(make_settings)
    assistant.ingest()
    chunks = list(assistant.index.iter_chunks())
    assistant.index.update_metadata([c.model_copy(update={"article_hash": ""}) for c in chunks])
    report = assistant.ingest()
    assert (report.unchanged, report.repaired) == (5, 0)


# --- 8. a half-stored article is invisible


def test_a_half_stored_article_is_neither_searchable_nor_counted(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    assistant = _assistant(make_settings, embedding={"batch_size": 2}, index={"write_batch": 2})

    class Crash(Exception):
        pass

    original = assistant.index.put_articles

    def crash(records: list[ArticleRecord]) -> None:
        raise Crash

    assistant.index.put_articles = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        assistant.ingest()
    assistant.index.put_articles = original  # type: ignore[method-assign]
    assert assistant.index.stored_count() > 0  # chunks were written...
    stats = assistant.stats()
    assert (stats.articles, stats.chunks) == (0, 0)  # ... but nothing is complete
    assert assistant.search("Peskow bestätigte den Abzug", k=5) == []
    assert assistant.ingest().added == 5
    assert assistant.stats().chunks == assistant.index.stored_count()
    assert assistant.search("Peskow bestätigte den Abzug", k=5)


def test_an_edit_switches_versions_at_once(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    corpus = tmp_path / "articles"
    shutil.copytree(SAMPLE, corpus)
    assistant = _assistant(make_settings)
    assistant.ingest([corpus])
    old = _texts_by_article(assistant)["002_5656326da5719992"]
    path = corpus / "002_5656326da5719992.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("D.W.", "Ein neuer Schlusssatz."), "utf-8")
    seen: list[str] = []
    delete = assistant.index.delete

    def observe(ids: list[str]) -> None:
        # Called for the stale chunks, after the new record: readers see the new version, whole.
        seen.append(_texts_by_article(assistant)["002_5656326da5719992"])
        delete(ids)

    assistant.index.delete = observe  # type: ignore[method-assign]
    assistant.ingest([corpus])
    assert seen and all("Ein neuer Schlusssatz." in text and "D.W." not in text for text in seen)
    assert old != _texts_by_article(assistant)["002_5656326da5719992"]


# --- 4. bounded memory in ingest, too


def test_ingest_writes_while_it_is_still_reading_a_large_feed(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.loaders import stream

    feed = tmp_path / "feed.jsonl"
    with feed.open("w", encoding="utf-8") as f:
        for n in range(600):
            f.write(
                json.dumps({"id": f"r{n}", "text": f"Meldung {n}: Der Stadtrat tagte am Abend im Rathaus."})
                + "\n"
            )
    loaded = 0
    finish = stream.finish_article

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal loaded
        loaded += 1
        return finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "finish_article", counting)
    assistant = _assistant(make_settings, index={"write_batch": 50})
    first_write: list[int] = []
    put = assistant.index.put_articles

    def spy(records: list[ArticleRecord]) -> None:
        first_write.append(loaded)
        put(records)

    assistant.index.put_articles = spy  # type: ignore[method-assign]
    assert assistant.ingest([feed]).added == 600
    # Articles were stored while the feed was still being read: it is never held whole.
    assert first_write[0] < 600
