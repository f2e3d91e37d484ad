"""What the `assistant` command prints: answers, passages, ingest reports and index statistics, as
text for a person or JSON for a script. Pure: objects in, strings out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from assistant.types import Answer, Citation, IndexStats, IngestReport, Passage


def _source_lines(citations: Sequence[Citation]) -> list[str]:
    lines: list[str] = []
    for c in citations:
        meta = ", ".join(x for x in (c.source, c.date) if x)
        lines.append(f"[{c.marker}] {c.title}" + (f" ({meta})" if meta else "") + f"  #{c.article_id}")
        lines.append(f'    "{c.quote}"  [chars {c.start}-{c.end}]')
    return lines


def render_answer_text(answer: Answer) -> str:
    lines = []
    if answer.standalone_question:
        lines += [f"(understood as: {answer.standalone_question})", ""]
    lines.append(answer.answer)
    if answer.citations:
        lines += ["", "Sources:", *_source_lines(answer.citations)]
    if answer.related:
        lines += ["", "Related reading (does not answer the question):", *_source_lines(answer.related)]
    return "\n".join(lines)


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "language": answer.language,
        "citations": [
            {
                "marker": c.marker,
                "article_id": c.article_id,
                "title": c.title,
                "source": c.source,
                "date": c.date,
                "quote": c.quote,
                "start": c.start,
                "end": c.end,
            }
            for c in answer.citations
        ],
        "understood_as": answer.standalone_question,
        "abstain_reason": answer.abstain_reason,
        "related": [
            {"marker": c.marker, "article_id": c.article_id, "title": c.title, "quote": c.quote}
            for c in answer.related
        ],
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


def render_hits_text(hits: Sequence[Passage]) -> str:
    if not hits:
        return "No passages found."
    lines = []
    for i, h in enumerate(hits, start=1):
        meta = ", ".join(x for x in (h.chunk.source, h.chunk.date) if x)
        lines.append(
            f"{i}. [{h.score:.3f}] {h.chunk.title} ({meta}) #{h.chunk.article_id} "
            f"chars {h.chunk.start}-{h.chunk.end}"
        )
        snippet = h.chunk.text.replace("\n", " ")
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
