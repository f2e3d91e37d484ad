"""load -> clean -> chunk -> embed -> upsert. Idempotent: unchanged articles cost nothing, unchanged
chunks of an edited article keep their vectors, and an interrupted run is completed by the next."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.backends.base import ArticleRecord, Embedder, Vectors
from assistant.backends.index_chroma import ChromaIndex
from assistant.chunking import chunk_article
from assistant.config import ChunkingSettings
from assistant.loaders import CsvOptions, load_paths, origin_file
from assistant.types import Article, Chunk, IngestReport, SkippedFile

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]

# Default chunks per index write (index.write_batch), and the longest embedded chunks wait in the
# buffer: bounds the work a crash loses.
WRITE_BATCH = 1024
WRITE_INTERVAL_S = 15.0


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]
    reused: list[Chunk]
    remaining: int
    is_new: bool
    stale: list[str] = field(default_factory=list)


def ingest_paths(
    paths: Sequence[Path],
    *,
    embedder: Embedder,
    index: ChromaIndex,
    chunking: ChunkingSettings,
    batch_size: int,
    write_batch: int = WRITE_BATCH,
    prune: bool = False,
    csv: CsvOptions | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Embed `batch_size` passages per embedder call; write to the index every `write_batch` chunks
    (or every WRITE_INTERVAL_S seconds, so a crash loses little work) in a few large calls."""
    started = time.perf_counter()
    loaded = load_paths(paths, csv=csv)
    report = IngestReport(skipped=list(loaded.skipped))
    records = index.articles()

    seen: set[str] = set()
    changed: list[tuple[Article, list[Chunk]]] = []
    for article in loaded.articles:
        if article.id in seen:
            report.skipped.append(_skip(article, "duplicate article id in this run"))
            continue
        seen.add(article.id)
        record = records.get(article.id)
        if record is not None and record.content_hash == article.content_hash:
            report.unchanged += 1
            continue
        chunks = chunk_article(article, chunking)
        if not chunks:
            report.skipped.append(_skip(article, "no text left after cleaning"))
            continue
        changed.append((article, chunks))

    # Two batched lookups for all changed articles instead of two per article: chunks already stored
    # (an edit keeps unchanged chunks, an interrupted run left some) and what else each article owns.
    existing = index.existing_ids([c.id for _, chunks in changed for c in chunks])
    owned = index.chunk_ids_by_article([a.id for a, _ in changed])
    pending: list[_Pending] = []
    for article, chunks in changed:
        wanted = {c.id for c in chunks}
        reused = [c for c in chunks if c.id in existing]
        pending.append(
            _Pending(
                article,
                chunks,
                reused,
                len(chunks) - len(reused),
                is_new=article.id not in records,
                stale=[cid for cid in owned.get(article.id, []) if cid not in wanted],
            )
        )

    to_embed = [(p, c) for p in pending for c in p.chunks if c.id not in existing]
    total = len(to_embed)
    if progress:
        progress("embedding", 0, total)
    writer = _Writer(index, report, write_batch)
    for p in pending:
        if p.remaining == 0:
            writer.finished.append(p)
    done = 0
    for start in range(0, total, batch_size):
        batch = to_embed[start : start + batch_size]
        vectors = embedder.embed_passages([c.text for _, c in batch])
        writer.add([c for _, c in batch], vectors)
        for p, _ in batch:
            p.remaining -= 1
            if p.remaining == 0:
                writer.finished.append(p)
        writer.flush_if_due()
        done += len(batch)
        if progress:
            progress("embedding", done, total)
    writer.flush()

    if prune:
        report.removed = _prune(paths, loaded.files, seen, records, index)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


class _Writer:
    """Buffers embedded chunks and finished articles, and writes them in large batches: per-call
    overhead of the index (a transaction, an HNSW update, a manifest generation bump) dominated
    ingest time when every article and every embedding batch was written on its own.

    Order within a flush keeps the index consistent after a crash: chunks first, then the reused
    chunks' metadata and stale deletions, then the manifest records that mark articles complete.
    """

    def __init__(self, index: ChromaIndex, report: IngestReport, write_batch: int) -> None:
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
        self._index.delete([cid for p in finished for cid in p.stale])
        self._index.put_articles([_record(p) for p in finished])
        for p in finished:
            self._report.chunks_reused += len(p.reused)
            if p.is_new:
                self._report.added += 1
            else:
                self._report.updated += 1


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


def _prune(
    paths: Sequence[Path],
    files: Sequence[str],
    seen: set[str],
    records: dict[str, ArticleRecord],
    index: ChromaIndex,
) -> int:
    """Remove articles that came from under `paths` but were not loaded this time."""
    roots = [str(Path(p).resolve()) for p in paths]
    gone: list[str] = []
    for article_id, record in records.items():
        if article_id in seen:
            continue
        origin = origin_file(record.origin)
        if any(origin == root or origin.startswith(root.rstrip("/") + "/") for root in roots):
            gone.append(article_id)
    owned = index.chunk_ids_by_article(gone)
    index.delete([cid for article_id in gone for cid in owned.get(article_id, [])])
    index.delete_articles(gone)
    log.info("pruned %d articles (%d files still present)", len(gone), len(files))
    return len(gone)


def _skip(article: Article, reason: str) -> SkippedFile:
    return SkippedFile(path=article.origin or article.id, reason=reason)
