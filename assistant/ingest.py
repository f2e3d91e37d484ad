"""load -> clean -> chunk -> embed -> upsert. Idempotent: unchanged articles cost nothing, unchanged
chunks of an edited article keep their vectors, and an interrupted run is completed by the next."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.backends.base import ArticleRecord, Embedder
from assistant.backends.index_chroma import ChromaIndex
from assistant.chunking import chunk_article
from assistant.config import ChunkingSettings
from assistant.loaders import CsvOptions, load_paths, origin_file
from assistant.types import Article, Chunk, IngestReport, SkippedFile

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]


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
    prune: bool = False,
    csv: CsvOptions | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    started = time.perf_counter()
    loaded = load_paths(paths, csv=csv)
    report = IngestReport(skipped=list(loaded.skipped))
    records = index.articles()

    seen: set[str] = set()
    pending: list[_Pending] = []
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
        existing = index.existing_ids([c.id for c in chunks])
        wanted = {c.id for c in chunks}
        stale = [cid for cid in index.chunk_ids_of(article.id) if cid not in wanted]
        reused = [c for c in chunks if c.id in existing]
        pending.append(
            _Pending(article, chunks, reused, len(chunks) - len(reused), is_new=record is None, stale=stale)
        )

    to_embed: list[tuple[_Pending, Chunk]] = []
    for p in pending:
        reused_ids = {r.id for r in p.reused}
        to_embed.extend((p, c) for c in p.chunks if c.id not in reused_ids)
    total = len(to_embed)
    if progress:
        progress("embedding", 0, total)
    for p in pending:
        if p.remaining == 0:
            _finish(p, index, report)
    done = 0
    for start in range(0, total, batch_size):
        batch = to_embed[start : start + batch_size]
        vectors = embedder.embed_passages([c.text for _, c in batch])
        index.upsert([c for _, c in batch], vectors)
        done += len(batch)
        report.chunks_embedded += len(batch)
        for p, _ in batch:
            p.remaining -= 1
            if p.remaining == 0:
                _finish(p, index, report)
        if progress:
            progress("embedding", done, total)

    if prune:
        report.removed = _prune(paths, loaded.files, seen, records, index)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _finish(p: _Pending, index: ChromaIndex, report: IngestReport) -> None:
    # Order matters for crash safety: chunks first, then stale deletions, then the manifest record.
    index.update_metadata(p.reused)
    index.delete(p.stale)
    a = p.article
    index.put_articles(
        [
            ArticleRecord(
                article_id=a.id,
                content_hash=a.content_hash,
                origin=a.origin,
                title=a.title,
                source=a.source,
                language=a.language,
                date=a.date,
                chunk_ids=[c.id for c in p.chunks],
            )
        ]
    )
    report.chunks_reused += len(p.reused)
    if p.is_new:
        report.added += 1
    else:
        report.updated += 1


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
    for article_id in gone:
        index.delete(index.chunk_ids_of(article_id))
    index.delete_articles(gone)
    log.info("pruned %d articles (%d files still present)", len(gone), len(files))
    return len(gone)


def _skip(article: Article, reason: str) -> SkippedFile:
    return SkippedFile(path=article.origin or article.id, reason=reason)
