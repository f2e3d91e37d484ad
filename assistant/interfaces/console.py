"""What the `assistant` command prints: answers, passages, articles, ingest reports and index
statistics, as text for a person or JSON for a script. Pure: objects in, strings out."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.backends.base import ArticleRecord
from assistant.config import RetrievalSettings
from assistant.interfaces.vocabulary import Words
from assistant.types import Answer, Citation, IndexStats, IngestReport, Passage


def _source_lines(citations: Sequence[Citation], words: Words, *, verbose: bool) -> list[str]:
    lines: list[str] = []
    for c in citations:
        meta = " · ".join(x for x in (c.source, words.date(c), c.url or "") if x)
        lines.append(f"[{c.marker}] {words.title(c)}" + (f" · {meta}" if meta else ""))
        lines.append(f"    “{c.quote.strip()}”")
        if verbose:
            lines.append(f"    article {c.article_id}, characters {c.start}-{c.end}, language {c.language}")
    return lines


def render_answer_text(answer: Answer, words: Words, *, verbose: bool = False) -> str:
    """The answer for a terminal: what was understood, why there is no answer (if so), the text,
    what verification removed, the sources; ids, offsets and timings only with `verbose`."""
    lines: list[str] = []
    if understood := words.understood_as(answer):
        lines += [f"({understood})", ""]
    if answer.abstained:
        lines.append(f"{words.abstention_title(answer)}.")
    lines.append(answer.answer)
    if answer.removed:
        lines += ["", words.removed_summary(answer.removed) + ("" if verbose else "  (-v: details)")]
        if verbose:
            lines += [f"  - “{r.sentence.strip()}”: {r.reason}" for r in answer.removed]
    if answer.citations:
        lines += ["", f"{words('sources')}:", *_source_lines(answer.citations, words, verbose=verbose)]
    if answer.related:
        lines += ["", f"{words('related_reading')}:", *_source_lines(answer.related, words, verbose=verbose)]
    if verbose:
        lines += ["", _details(answer)]
    return "\n".join(lines)


def _details(answer: Answer) -> str:
    t = answer.timings
    parts = [f"retrieve {t.retrieve_s:.1f} s"]
    if t.first_sentence_s is not None:
        parts.append(f"first sentence {t.first_sentence_s:.1f} s")
    return f"{answer.backend} · {answer.model} · {answer.mode} · {t.total_s:.1f} s ({', '.join(parts)})"


def _span_json(c: Citation) -> dict[str, Any]:
    return c.model_dump(mode="json", exclude={"context"})


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "mode": answer.mode,
        "language": answer.language,
        "citations": [_span_json(c) for c in answer.citations],
        "understood_as": answer.standalone_question,
        "related": [_span_json(c) for c in answer.related],
        "removed": [r.model_dump() for r in answer.removed],
        "timings": answer.timings.model_dump(),
        "backend": answer.backend,
        "model": answer.model,
    }


def render_hits_json(hits: Sequence[Passage]) -> str:
    payload = [
        {
            "rank": i + 1,
            "score": round(h.score, 4),
            "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
            "lexical_score": None if h.lexical_score is None else round(h.lexical_score, 4),
            "article_id": h.chunk.article_id,
            "chunk_id": h.chunk.id,
            "title": h.chunk.title,
            "source": h.chunk.source,
            "date": h.chunk.date,
            "language": h.chunk.language,
            "start": h.chunk.start,
            "end": h.chunk.end,
            "text": h.chunk.text,
        }
        for i, h in enumerate(hits)
    ]
    return json.dumps(payload, ensure_ascii=False, indent=2)


def explain_scores(settings: RetrievalSettings) -> str:
    """What the numbers of `search -v` mean, with the weights in use."""
    return (
        f"score = {settings.dense_weight:g} × embedding similarity (scaled to 0-1 over the candidates) "
        f"+ {settings.lexical_weight:g} × keyword match (BM25, scaled to 0-1; "
        f"{settings.cross_lingual_lexical_weight:g} for a passage in another language than the query). "
        "Higher is better; it ranks, it is not a probability. dense: cosine similarity of the "
        "embeddings; bm25: the raw keyword score."
    )


def render_hits_text(hits: Sequence[Passage], *, scores: str | None = None) -> str:
    """The passages as a numbered list; `scores` (the explanation) also shows each passage's scores."""
    if not hits:
        return "No passages found."
    lines = [*textwrap.wrap(scores, 100), ""] if scores else []
    for i, h in enumerate(hits, start=1):
        c = h.chunk
        meta = ", ".join(x for x in (c.source, c.date) if x)
        head = f"{i}. {c.title}" + (f" ({meta})" if meta else "")
        if scores:
            dense = "-" if h.dense_score is None else f"{h.dense_score:.3f}"
            bm25 = "-" if h.lexical_score is None else f"{h.lexical_score:.2f}"
            head += f"  [score {h.score:.3f} · dense {dense} · bm25 {bm25}] #{c.article_id} {c.start}-{c.end}"
        lines.append(head)
        snippet = c.text.replace("\n", " ")
        lines.append(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}")
    return "\n".join(lines)


def render_report(report: IngestReport) -> str:
    repaired = f", repaired {report.repaired}" if report.repaired else ""
    lines = [
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}{repaired}, skipped {len(report.skipped)} "
        f"({report.chunks_embedded} chunks embedded, {report.chunks_reused} reused, {report.seconds:.1f} s)"
    ]
    lines += [f"  skipped {skipped.path}: {skipped.reason}" for skipped in report.skipped]
    return "\n".join(lines)


def render_stats(stats: IndexStats) -> str:
    return "\n".join(
        [
            f"index:     {stats.location} (collection {stats.collection})",
            f"embedder:  {stats.embedder}",
            f"articles:  {stats.articles}   chunks: {stats.chunks}",
            "languages: " + ", ".join(f"{k} {v}" for k, v in stats.languages.items()),
            "sources:   " + ", ".join(f"{k} {v}" for k, v in list(stats.sources.items())[:10]),
        ]
    )


def article_row(record: ArticleRecord) -> dict[str, Any]:
    """What a listing shows of an article (the web table and `articles list --json`)."""
    return {
        "id": record.article_id,
        "title": record.title,
        "source": record.source,
        "date": record.date,
        "language": record.language,
        "chunks": len(record.chunk_ids),
        "origin": record.origin,
    }


def render_articles_text(records: Sequence[ArticleRecord], *, width: int = 100) -> str:
    """A table: title, source, date, language, chunks, id; the title column takes what is left."""
    if not records:
        return "No articles."
    rows = [article_row(r) for r in records]
    fixed = {"source": 18, "date": 10, "language": 4, "chunks": 6}
    id_width = min(max(len(r["id"]) for r in rows), 28)
    title_width = max(20, width - sum(fixed.values()) - id_width - 2 * (len(fixed) + 1))
    widths = {"title": title_width, **fixed, "id": id_width}
    header = {"title": "title", "source": "source", "date": "date", "language": "lang", "chunks": "chunks"}
    lines = [_row({**header, "id": "id"}, widths)]
    lines += [_row(row, widths) for row in rows]
    lines.append(f"{len(rows)} article{'s' if len(rows) != 1 else ''}")
    return "\n".join(lines)


def _row(values: Mapping[str, Any], widths: Mapping[str, int]) -> str:
    cells = []
    for key, width in widths.items():
        text = "" if values.get(key) is None else str(values[key])
        cell = text if len(text) <= width else text[: width - 1] + "…"
        cells.append(cell.rjust(width) if key == "chunks" else cell.ljust(width))
    return "  ".join(cells).rstrip()
