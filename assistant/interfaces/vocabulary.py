"""The phrases the CLI, the web UI and the Slack bot put around an answer, in the answer's language,
from prompts/messages.yaml: one vocabulary for all three, so an abstention reads the same anywhere."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.prompts import Prompts
from assistant.types import Answer, QuotedSpan, Removed

# The citation markers an answer's text carries: [1], [1, 2], [1; 3].
MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def without_markers(text: str) -> str:
    """A streamed sentence without its draft markers: the final answer renumbers them, so a [6]
    shown now could point at nothing."""
    text = re.sub(r"[ \t]{2,}", " ", MARKERS.sub("", text))
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


@dataclass(frozen=True)
class Words:
    """`words("sources")`; `Words.of(prompts, answer.language)`."""

    prompts: Prompts
    language: str

    @classmethod
    def of(cls, prompts: Prompts, language: str) -> Words:
        return cls(prompts, (language or "en")[:2].lower())

    def __call__(self, key: str, **values: object) -> str:
        text = self.prompts.message(key, self.language)
        return text.format(**values) if values else text

    def abstention_title(self, answer: Answer) -> str:
        """Why there is no answer: nothing relevant was found, or nothing found answers."""
        if answer.abstain_reason == "no_evidence":
            return self("abstained_no_evidence")
        if answer.abstain_reason == "not_answered":
            return self("abstained_not_answered")
        return self("abstained")

    def removed_summary(self, removed: Sequence[Removed]) -> str:
        """ "1 sentence removed: its date is not in the cited article", or "3 sentences removed"."""
        if not removed:
            return ""
        if len(removed) == 1:
            return self("removed_one", reason=removed[0].reason)
        return self("removed_many", count=len(removed))

    def title(self, span: QuotedSpan) -> str:
        """The article's title, or "untitled · <source>" when it has none of its own."""
        title = span.title.strip()
        if title and title != span.article_id:
            return title
        return " · ".join(part for part in (self("untitled"), span.source.strip()) if part)

    def date(self, span: QuotedSpan) -> str:
        return span.date or self("undated")

    def understood_as(self, answer: Answer) -> str:
        """ "Understood as: …" for a follow-up that was rewritten, else ""."""
        standalone = answer.standalone_question
        if not standalone or standalone.strip() == answer.question.strip():
            return ""
        return self("understood_as", question=standalone)
