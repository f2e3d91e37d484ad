"""Thumbs up/down on answers, as JSONL an eval case can be drafted from (`assistant eval
--import-feedback`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.types import Answer, Filters, Turn


def feedback_record(
    answer: Answer,
    rating: int,
    *,
    answer_id: str,
    comment: str = "",
    history: Sequence[Turn] = (),
    k: int | None = None,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """One JSONL line. The eval fields (`question`, `language`, `answerable`, `expected_articles`) are
    only asserted for thumbs-up: a thumbs-down case has `answerable` None and needs a human to label it."""
    cited = list(dict.fromkeys(c.article_id for c in answer.citations))
    if rating > 0:
        answerable: bool | None = not answer.abstained
        expected = [] if answer.abstained else cited
    else:
        answerable, expected = None, []
    return {
        "id": answer_id,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": comment.strip(),
        "question": answer.standalone_question or answer.question,
        "asked": answer.question,
        "history": [t.model_dump() for t in history],
        "language": answer.language,
        "answerable": answerable,
        "expected_articles": expected,
        "expected_quotes": [c.quote for c in answer.citations] if answerable else [],
        "answer": answer.answer,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [c.model_dump(mode="json", exclude={"context"}) for c in answer.citations],
        "backend": answer.backend,
        "model": answer.model,
        "k": k,
        "filters": filters.model_dump(mode="json") if filters else None,
        "source": "web-feedback",
    }


class FeedbackLog:
    """Append-only JSONL; a later line with the same `id` supersedes an earlier one (re-rating)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
