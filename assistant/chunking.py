"""Sentence-aware chunking with exact character offsets.

Every span and chunk points into `Article.text`, so citations can quote the article verbatim.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Final

from assistant.config import ChunkingSettings
from assistant.text.sentences import split_sentences
from assistant.types import Article, Chunk

logger = logging.getLogger(__name__)

# Bump whenever the splitting or packing changes: the index name includes it, so old chunks are
# never mixed with new ones.
CHUNKER_VERSION: Final = 1

# A chunk that is at least this full is closed at the next paragraph break rather than filled up.
PARAGRAPH_FILL: Final = 0.6


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    paragraph_before: bool
    heading: bool  # a short line of its own without a full stop: it belongs to what follows


def chunk_article(article: Article, settings: ChunkingSettings) -> list[Chunk]:
    """Split an article into sentence-aligned chunks; `chunk.text == article.text[start:end]`.

    Sentences are packed up to `max_chars`; a chunk that is reasonably full ends at a paragraph
    break; a chunk continuing a paragraph repeats whole trailing sentences of the previous one, up
    to `overlap_chars`; a tail shorter than `min_chars` joins the previous chunk (or the two are
    re-split evenly); a sentence longer than `max_chars` is cut at clause or word boundaries. A chunk
    exceeds `max_chars` only to avoid a piece shorter than `min_chars`, and then by at most `min_chars`.
    """
    text = article.text
    units = _units(text, split_sentences(text, article.language), settings.max_chars)
    if not units:
        return []
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for index, (first, last) in enumerate(_pack(units, settings)):
        start, end = units[first].start, units[last].end
        chunk_text = text[start:end]
        chunk_id = chunk_id_for(article.id, chunk_text)
        seen[chunk_id] = seen.get(chunk_id, 0) + 1
        if seen[chunk_id] > 1:
            # The same text twice in one article (a repeated pull quote): keep ids unique and stable.
            chunk_id = f"{chunk_id}~{seen[chunk_id]}"
        chunks.append(
            Chunk(
                id=chunk_id,
                article_id=article.id,
                text=chunk_text,
                start=start,
                end=end,
                index=index,
                title=article.title,
                source=article.source,
                date=article.date,
                language=article.language,
                url=article.url,
                origin=article.origin,
            )
        )
    return chunks


def chunk_id_for(article_id: str, chunk_text: str) -> str:
    """The deterministic id of a chunk: unchanged text keeps its id when other parts of the article change."""
    digest = hashlib.sha256(f"{article_id}\x00{chunk_text}".encode()).hexdigest()[:16]
    return f"{article_id}:{digest}"


_HEADING_MAX_CHARS: Final = 150
_QUESTION_HEADING_MAX_CHARS: Final = 80


def _units(text: str, sentences: list[tuple[int, int]], max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    previous_end = 0
    for start, end in sentences:
        paragraph_before = bool(units) and "\n" in text[previous_end:start]
        own_line = (start == 0 or text[start - 1] == "\n") and (end == len(text) or text[end] == "\n")
        size = end - start
        heading = own_line and (
            (size <= _HEADING_MAX_CHARS and text[end - 1] not in '.!…:;,"“”»«)')
            or (size <= _QUESTION_HEADING_MAX_CHARS and text[end - 1] == "?")
        )
        for i, (piece_start, piece_end) in enumerate(_split_long(text, start, end, max_chars)):
            units.append(_Unit(piece_start, piece_end, paragraph_before and i == 0, heading))
        previous_end = end
    return units


_CLAUSE_BREAK = re.compile(r"[,;:)](?=\s)|\s(?=[–—-]\s)")


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split a sentence longer than `max_chars` at clause breaks, else at spaces, else hard."""
    pieces: list[tuple[int, int]] = []
    min_piece = max_chars // 3
    while end - start > max_chars:
        limit = start + max_chars
        cut = 0
        for match in _CLAUSE_BREAK.finditer(text, start + min_piece, limit):
            cut = match.end()
        if not cut:
            cut = text.rfind(" ", start + min_piece, limit)
            cut = cut if cut > start else limit
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _pack(units: list[_Unit], settings: ChunkingSettings) -> list[tuple[int, int]]:
    """Group units into chunks `(first unit, last unit)`; see `chunk_article` for the rules."""
    max_chars, min_chars = settings.max_chars, settings.min_chars
    paragraph_full = max(min_chars, int(max_chars * PARAGRAPH_FILL))
    groups: list[tuple[int, int, int]] = []  # (first, first new, last): units before "first new" repeat
    first = new = last = 0
    i = 1
    while i < len(units):
        unit = units[i]
        size = units[last].end - units[first].start
        grown = unit.end - units[first].start
        at_paragraph = unit.paragraph_before and size >= paragraph_full
        # A chunk below min_chars takes the next unit even when that overflows max_chars, so no
        # short fragment is left behind; the overflow is bounded by min_chars.
        if not at_paragraph and (grown <= max_chars or size < min_chars):
            last = i
            i += 1
            continue
        keep = last
        while keep > new and units[keep].heading:
            keep -= 1
        if keep < last:
            # Never end a chunk on headings: they start the next one instead.
            groups.append((first, new, keep))
            first = new = keep + 1
            continue
        groups.append((first, new, last))
        overlap_from = i if unit.paragraph_before else _overlap_start(units, first, last, i, settings)
        first, new, last = overlap_from, i, i
        i += 1
    groups.append((first, new, last))
    if len(groups) > 1:
        _, tail_new, tail_last = groups[-1]
        if units[tail_last].end - units[tail_new].start < min_chars:
            prev_first, prev_new, _ = groups[-2]
            groups[-2:] = _merge_tail(units, prev_first, prev_new, groups[-1], settings)
    return [(group_first, group_last) for group_first, _, group_last in groups]


def _merge_tail(
    units: list[_Unit], first: int, new: int, tail: tuple[int, int, int], settings: ChunkingSettings
) -> list[tuple[int, int, int]]:
    """Join a short tail to the chunk before; if that overflows, re-split the two evenly instead."""
    tail_from, tail_start, last = tail
    merged = [(first, new, last)]
    size = units[last].end - units[first].start
    if size <= settings.max_chars:
        return merged
    # A short tail is better than a chunk beyond the documented bound.
    fallback = merged if size <= settings.max_chars + settings.min_chars else None
    best: tuple[int, list[tuple[int, int, int]]] | None = None
    for cut in range(new + 1, last + 1):
        if units[cut - 1].heading:
            continue
        left = units[cut - 1].end - units[first].start
        right_from = (
            cut if units[cut].paragraph_before else _overlap_start(units, first, cut - 1, cut, settings)
        )
        right = units[last].end - units[right_from].start
        right_new = units[last].end - units[cut].start
        if left < settings.min_chars or left > settings.max_chars or right_new < settings.min_chars:
            continue
        if right > settings.max_chars:
            continue
        imbalance = abs(left - right)
        if best is None or imbalance < best[0]:
            best = (imbalance, [(first, new, cut - 1), (right_from, cut, last)])
    if best is not None:
        return best[1]
    return fallback or [(first, new, tail_start - 1), (tail_from, tail_start, last)]


def _overlap_start(units: list[_Unit], first: int, last: int, nxt: int, settings: ChunkingSettings) -> int:
    """Index of the first whole trailing unit of the closed chunk to repeat, or `nxt` for none."""
    start = nxt
    j = last
    # Never repeat the whole previous chunk, and never make the next chunk overflow because of it.
    while j > first:
        if units[last].end - units[j].start > settings.overlap_chars:
            break
        if units[nxt].end - units[j].start > settings.max_chars:
            break
        start = j
        j -= 1
    return start
