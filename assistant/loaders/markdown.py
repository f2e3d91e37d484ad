"""Markdown (.md): YAML front matter as metadata, the first heading as a title, syntax dropped."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

import yaml

from assistant.loaders.base import METADATA_FIELDS, Meta


def read_markdown(text: str) -> tuple[str, Meta]:
    """Plain text and metadata of a Markdown file (front matter first, then the first heading)."""
    front, body = _split_front_matter(text)
    plain, heading = _strip_markdown(body)
    meta = dict(front)
    if heading and not meta.get("title"):
        meta["title"] = heading
    return plain, meta


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def _split_front_matter(text: str) -> tuple[Meta, str]:
    text = text.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter ({str(exc).splitlines()[0]})") from exc
    meta: Meta = {}
    if isinstance(data, dict):
        for key in METADATA_FIELDS:
            value = data.get(key)
            if key == "language" and value is None:
                value = data.get("lang")
            if isinstance(value, dt.datetime | dt.date):
                meta[key] = value.isoformat()
            elif value is not None:
                meta[key] = str(value)
    elif data is not None:
        raise ValueError("front matter is not a YAML mapping")
    return meta, text[match.end() :]


_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_ATX = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_QUOTE = re.compile(r"^\s{0,3}>\s?")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+")
_MD_ORDERED = re.compile(r"^\s*\d+[.)]\s+")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_INLINE: Final = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images: alt texts are mostly credits
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),
)


def _md_inline(line: str) -> str:
    for pattern, replacement in _MD_INLINE:
        line = pattern.sub(replacement, line)
    return line


def _strip_markdown(body: str) -> tuple[str, str | None]:
    """Markdown to plain text: keep the words, drop the syntax; soft line breaks join paragraphs.

    Returns the text and the first heading (a title candidate).
    """
    lines = re.sub(r"<!--.*?-->", "", body, flags=re.S).split("\n")
    plain = _PlainText()
    for i, raw in enumerate(lines):
        plain.add(raw, lines[i + 1] if i + 1 < len(lines) else "")
    plain.flush()
    return "\n".join(plain.out), plain.first_heading


class _PlainText:
    """The plain text of a Markdown document, built line by line."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.first_heading: str | None = None
        self._paragraph: list[str] = []
        self._in_fence = False

    def flush(self) -> None:
        if self._paragraph:
            self.out.append(" ".join(self._paragraph))
            self._paragraph.clear()

    def add(self, raw: str, nxt: str) -> None:
        """One line of the document; `nxt` is the line after it (a setext underline makes a heading)."""
        if _MD_FENCE.match(raw):
            self.flush()
            self._in_fence = not self._in_fence
            return
        if self._in_fence:
            self.out.append(raw)
            return
        line = raw
        while _MD_QUOTE.match(line):
            line = _MD_QUOTE.sub("", line, count=1)
        if not line.strip():
            self.flush()
            self.out.append("")
        elif _MD_REF_DEF.match(line) or (_MD_TABLE_RULE.match(line) and "|" in line):
            return
        elif not self._heading(line, nxt) and not _MD_SETEXT.match(line):  # setext underline, thematic break
            self._content(line)

    def _heading(self, line: str, nxt: str) -> bool:
        heading = _MD_ATX.match(line)
        if heading is None and line.strip() and _MD_SETEXT.match(nxt) and not self._paragraph:
            heading = re.match(r"\s*(.*?)\s*$", line)
        if heading is None:
            return False
        self.flush()
        text = _md_inline(heading.group(1)).strip()
        if text:
            self.first_heading = self.first_heading or text
            self.out.extend([text, ""])
        return True

    def _content(self, line: str) -> None:
        if line.lstrip().startswith("|"):
            self.flush()
            cells = [_md_inline(cell.strip()) for cell in line.strip().strip("|").split("|")]
            self.out.append(" | ".join(cell for cell in cells if cell))
            return
        if _MD_BULLET.match(line) or _MD_ORDERED.match(line):
            self.flush()
            line = _MD_BULLET.sub("", line)
        hard_break = line.endswith(("  ", "\\"))
        self._paragraph.append(_md_inline(line.rstrip().rstrip("\\").strip()))
        if hard_break:
            self.flush()
