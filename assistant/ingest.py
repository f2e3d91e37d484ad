"""load -> clean -> chunk -> embed -> upsert. Idempotent: unchanged articles cost nothing, unchanged
chunks of an edited article keep their vectors, an interrupted run is completed by the next, and a
chunk set that does not match the manifest (a crash, or two writers before the lock existed) is
repaired. One ingest writes an index at a time (`VectorIndex.writing`)."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np

from assistant.backends.base import ArticleRecord, Embedder, VectorIndex, Vectors
from assistant.chunking import chunk_article
from assistant.config import ChunkingSettings, IngestSettings
from assistant.loaders import ArticleIds, ArticleStream, CsvOptions, check_path, origin_file
from assistant.types import Article, Chunk, IngestReport, SkippedFile

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]

# Default chunks per index write (index.write_batch), and the longest embedded chunks wait in the
# buffer: bounds the work a crash loses.
WRITE_BATCH = 1024
WRITE_INTERVAL_S = 15.0
# Articles compared with the index per batched lookup; the input is streamed in groups of this many,
# so memory does not grow with the size of a jsonl/csv file.
GROUP_ARTICLES = 256

_T = TypeVar("_T")


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]
    reused: list[Chunk]
    remaining: int
    kind: Literal["added", "updated", "repaired"]
    stale: list[str] = field(default_factory=list)

    @property
    def reused_ids(self) -> set[str]:
        return {c.id for c in self.reused}


def ingest_paths(
    paths: Sequence[Path],
    *,
    embedder: Embedder,
    index: VectorIndex,
    chunking: ChunkingSettings,
    batch_size: int,
    write_batch: int = WRITE_BATCH,
    prune: bool = False,
    csv: CsvOptions | None = None,
    progress: ProgressCallback | None = None,
    options: IngestSettings | None = None,
) -> IngestReport:
    """Embed `batch_size` passages per embedder call; write to the index every `write_batch` chunks
    (or every WRITE_INTERVAL_S seconds, so a crash loses little work) in a few large calls.

    Holds the index's writer lock throughout: a second ingest of the same index raises
    IndexBusyError (after `options.lock_timeout_s`) instead of interleaving its writes.
    """
    options = options or IngestSettings()
    for path in paths:
        check_path(Path(path))  # before taking the lock: a typo should not wait for another ingest
    with index.writing(options.lock_timeout_s):
        return _Run(paths, embedder, index, chunking, batch_size, write_batch, csv, options, progress).run(
            prune
        )


class _Run:
    def __init__(
        self,
        paths: Sequence[Path],
        embedder: Embedder,
        index: VectorIndex,
        chunking: ChunkingSettings,
        batch_size: int,
        write_batch: int,
        csv: CsvOptions | None,
        options: IngestSettings,
        progress: ProgressCallback | None,
    ) -> None:
        self.paths = paths
        self.embedder = embedder
        self.index = index
        self.chunking = chunking
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.report = IngestReport()
        self.records = index.articles()
        held = {article_id: record.origin for article_id, record in self.records.items()}
        self.stream = ArticleStream(paths, csv=csv, limits=options, ids=ArticleIds(held))
        self.writer = _Writer(index, self.report, write_batch)
        self.seen: set[str] = set()
        self.skipped: list[SkippedFile] = []
        self.embedded = 0
        self.to_embed_total = 0

    def run(self, prune: bool) -> IngestReport:
        started = time.perf_counter()
        if self.progress:
            self.progress("embedding", 0, 0)
        for group in _batched(self.stream, GROUP_ARTICLES):
            self._embed(self._plan(group))
        self.writer.flush()
        self.report.skipped = [*self.stream.skipped, *self.skipped]
        if prune:
            self.report.removed = self._prune()
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _plan(self, group: list[Article]) -> list[_Pending]:
        """Compare a group of loaded articles with the manifest and with what is actually stored for
        them (one batched lookup), and decide what each needs."""
        articles: list[Article] = []
        for article in group:
            if article.id in self.seen:
                self.skipped.append(_skip(article, "duplicate article id in this run"))
                continue
            self.seen.add(article.id)
            articles.append(article)
        stored = self.index.stored_chunks_by_article([a.id for a in articles])
        pending: list[_Pending] = []
        for article in articles:
            record = self.records.get(article.id)
            have = stored.get(article.id, {})
            kind: Literal["added", "updated", "repaired"] = "added" if record is None else "updated"
            if record is not None and (record.content_hash, record.origin) == (
                article.content_hash,
                article.origin,
            ):
                if _matches(record, have):
                    self.report.unchanged += 1
                    continue
                log.info("article %s: stored chunks do not match the manifest; repairing", article.id)
                kind = "repaired"
            chunks = chunk_article(article, self.chunking)
            if not chunks:
                self.skipped.append(_skip(article, "no text left after cleaning"))
                continue
            for chunk in chunks:
                chunk.article_hash = article.content_hash
            wanted = {c.id for c in chunks}
            reused = [c for c in chunks if c.id in have]
            stale = [cid for cid in have if cid not in wanted]
            pending.append(_Pending(article, chunks, reused, len(chunks) - len(reused), kind, stale))
        return pending

    def _embed(self, pending: list[_Pending]) -> None:
        to_embed: list[tuple[_Pending, Chunk]] = []
        for p in pending:
            reused = p.reused_ids
            to_embed.extend((p, c) for c in p.chunks if c.id not in reused)
        self.to_embed_total += len(to_embed)
        if self.progress:
            self.progress("embedding", self.embedded, self.to_embed_total)
        for p in pending:
            if p.remaining == 0:
                self.writer.finished.append(p)
        for start in range(0, len(to_embed), self.batch_size):
            batch = to_embed[start : start + self.batch_size]
            vectors = self.embedder.embed_passages([c.text for _, c in batch])
            self.writer.add([c for _, c in batch], vectors)
            for p, _ in batch:
                p.remaining -= 1
                if p.remaining == 0:
                    self.writer.finished.append(p)
            self.writer.flush_if_due()
            self.embedded += len(batch)
            if self.progress:
                self.progress("embedding", self.embedded, self.to_embed_total)
        self.writer.flush_if_due()

    def _prune(self) -> int:
        """Remove articles that came from under `paths` but were not loaded this time, and chunks no
        manifest record owns (left by an interrupted write)."""
        roots = [str(Path(p).resolve()) for p in self.paths]
        gone: list[str] = []
        for article_id, record in self.records.items():
            if article_id in self.seen:
                continue
            origin = origin_file(record.origin)
            if any(origin == root or origin.startswith(root.rstrip("/") + "/") for root in roots):
                gone.append(article_id)
        owned = self.index.chunk_ids_by_article(gone)
        # Manifest records first: from here on the article is invisible, whatever happens next.
        self.index.delete_articles(gone)
        self.index.delete([cid for article_id in gone for cid in owned.get(article_id, [])])
        orphans = self.index.orphan_chunk_ids()
        if orphans:
            log.info("removing %d chunks no article owns", len(orphans))
            self.index.delete(orphans)
        log.info("pruned %d articles (%d files still present)", len(gone), len(self.stream.files))
        return len(gone)


def _matches(record: ArticleRecord, stored: dict[str, str]) -> bool:
    """Whether the chunks stored for an article are exactly those its manifest record lists, written
    for this version ('' is a chunk from before versions were recorded: trusted)."""
    return set(stored) == set(record.chunk_ids) and all(
        version in ("", record.content_hash) for version in stored.values()
    )


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while group := list(itertools.islice(iterator, size)):
        yield group


class _Writer:
    """Buffers embedded chunks and finished articles, and writes them in large batches: per-call
    overhead of the index (a transaction, an HNSW update, a manifest generation bump) dominated
    ingest time when every article and every embedding batch was written on its own.

    Order within a flush keeps the index consistent after a crash at any point: new chunks first
    (invisible until listed), then the reused chunks' metadata, then the manifest records (one call:
    the article switches to its new version at once), and last the stale chunks, which the new
    record no longer lists; a crash before that leaves them invisible, and the next run removes them.
    """

    def __init__(self, index: VectorIndex, report: IngestReport, write_batch: int) -> None:
        self._index = index
        self._report = report
        self._write_batch = max(1, write_batch)
        self._chunks: list[Chunk] = []
        self._vectors: list[Vectors] = []
        self.finished: list[_Pending] = []
        self._last_flush = time.monotonic()

    def add(self, chunks: list[Chunk], vectors: Vectors) -> None:
        self._chunks.extend(chunks)
        self._vectors.append(vectors)

    def flush_if_due(self) -> None:
        if len(self._chunks) >= self._write_batch or time.monotonic() - self._last_flush >= WRITE_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if self._chunks:
            self._index.upsert(self._chunks, np.concatenate(self._vectors))
            self._report.chunks_embedded += len(self._chunks)
            self._chunks, self._vectors = [], []
        finished, self.finished = self.finished, []
        if not finished:
            return
        self._index.update_metadata([c for p in finished for c in p.reused])
        self._index.put_articles([_record(p) for p in finished])
        self._index.delete([cid for p in finished for cid in p.stale])
        for p in finished:
            self._report.chunks_reused += len(p.reused)
            if p.kind == "added":
                self._report.added += 1
            elif p.kind == "updated":
                self._report.updated += 1
            else:
                self._report.repaired += 1


def _record(p: _Pending) -> ArticleRecord:
    a = p.article
    return ArticleRecord(
        article_id=a.id,
        content_hash=a.content_hash,
        origin=a.origin,
        title=a.title,
        source=a.source,
        language=a.language,
        date=a.date,
        chunk_ids=[c.id for c in p.chunks],
    )


def _skip(article: Article, reason: str) -> SkippedFile:
    return SkippedFile(path=article.origin or article.id, reason=reason)
