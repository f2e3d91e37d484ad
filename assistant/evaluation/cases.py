"""Eval cases: the pydantic schema of evals/cases.yaml, its loader and validator, case selection,
and the importer that turns web-UI feedback (JSONL) into draft cases."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import InputError
from assistant.types import Turn

log = logging.getLogger(__name__)

Language = Literal["en", "de"]
Category = Literal["answerable", "partial", "unanswerable"]

# Cases whose expected article lives in the GNAD distractor corpus carry this tag; they are skipped
# when the distractors are not indexed (no ../shared/corpora).
DISTRACTOR_TAG = "gnad"
REGEX_PREFIX = "re:"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class CaseFileError(InputError):
    """A cases file (or feedback file) is unreadable or holds invalid cases; the message lists them all."""


def compile_pattern(raw: str) -> re.Pattern[str] | None:
    """The compiled regex of a `re:`-prefixed matcher, None for a literal. Raises ValueError if invalid."""
    if not raw.startswith(REGEX_PREFIX):
        return None
    body = raw[len(REGEX_PREFIX) :]
    if not body.strip():
        raise ValueError(f"empty regex in {raw!r}")
    try:
        return re.compile(body, re.IGNORECASE)
    except re.error as err:
        raise ValueError(f"invalid regex {body!r}: {err}") from None


def _check_matchers(values: Sequence[str], what: str) -> None:
    for value in values:
        if not value.strip():
            raise ValueError(f"{what}: empty string")
        compile_pattern(value)


class Case(BaseModel):
    """One eval question with what a careful reader of the articles expects of the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Unique slug: lowercase letters, digits, hyphens.")
    question: str = Field(min_length=3, description="What the user asks (the last turn).")
    language: Language = Field(description="Language of the question, hence of the expected answer.")
    category: Category = Field(
        description="answerable: the corpus holds the answer. partial: it holds the event but not the detail "
        "asked (the answer states what is known and that the detail is missing). unanswerable: nothing."
    )
    answerable: bool = Field(description="True when the assistant should answer (not abstain).")
    expected_articles: list[str] = Field(
        default_factory=list, description="Ids of the articles that hold the answer (retrieval targets)."
    )
    evidence: list[str] = Field(
        default_factory=list,
        description="Short verbatim excerpts of the expected articles that answer the question; a retrieved "
        "chunk containing one is a relevant chunk (chunk-level recall/MRR).",
    )
    facts: list[list[str]] = Field(
        default_factory=list,
        description="Facts the answer must state. Each fact is a list of alternatives (a plain string is one "
        "alternative); `re:` marks a regex.",
    )
    forbidden: list[str] = Field(
        default_factory=list, description="Claims the answer must not make: literals or `re:` regexes."
    )
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, for follow-up questions.")
    tags: list[str] = Field(default_factory=list)
    notes: str = Field(default="", description="Why the expectations are what they are (cite the article).")

    @field_validator("facts", mode="before")
    @classmethod
    def _facts_as_lists(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [[item] if isinstance(item, str) else item for item in value]
        return value

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be a slug of lowercase letters, digits and hyphens")
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not _TAG.match(tag):
                raise ValueError(f"tag {tag!r} must be a slug of lowercase letters, digits and hyphens")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Case:
        if self.category == "unanswerable" and self.answerable:
            raise ValueError("category 'unanswerable' needs answerable: false")
        if self.category != "unanswerable" and not self.answerable:
            raise ValueError(f"category {self.category!r} needs answerable: true")
        if self.answerable and not self.expected_articles:
            raise ValueError("an answerable case needs expected_articles")
        if not self.answerable and self.expected_articles:
            raise ValueError("an unanswerable case has no expected_articles")
        if self.evidence and not self.expected_articles:
            raise ValueError("evidence without expected_articles")
        for i, fact in enumerate(self.facts):
            if not fact:
                raise ValueError(f"facts[{i}] has no alternatives")
            _check_matchers(fact, f"facts[{i}]")
        _check_matchers(self.forbidden, "forbidden")
        if any(not e.strip() for e in self.evidence):
            raise ValueError("evidence: empty string")
        if any(":" in a for a in self.expected_articles) and DISTRACTOR_TAG not in self.tags:
            raise ValueError(f"expected article from a CSV corpus: add the tag {DISTRACTOR_TAG!r}")
        if self.history and self.history[-1].role != "assistant":
            raise ValueError("history must end with an assistant turn (the question is the next user turn)")
        return self

    @property
    def all_tags(self) -> frozenset[str]:
        """Explicit tags plus derived ones: category, language, `followup` when there is history."""
        derived: set[str] = {self.category, self.language}
        if self.history:
            derived.add("followup")
        return frozenset(self.tags) | derived

    @property
    def needs_distractors(self) -> bool:
        return DISTRACTOR_TAG in self.tags


def _format_validation_error(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "case"
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_cases(raw_cases: Iterable[Any], origin: str) -> list[Case]:
    """Validate raw mappings into cases; collects every problem before raising CaseFileError."""
    cases: list[Case] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(raw_cases, start=1):
        label = f"case #{n}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label += f" ({raw['id']})"
        if not isinstance(raw, dict):
            errors.append(f"{label}: expected a mapping, got {type(raw).__name__}")
            continue
        try:
            case = Case.model_validate(raw)
        except ValidationError as err:
            errors.append(f"{label}: {_format_validation_error(err)}")
            continue
        if case.id in seen:
            errors.append(f"{label}: duplicate id (first used by case #{seen[case.id]})")
            continue
        seen[case.id] = n
        cases.append(case)
    if errors:
        shown = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise CaseFileError(f"{origin}: {len(errors)} invalid case(s):\n  " + "\n  ".join(shown))
    return cases


def load_cases(path: Path) -> list[Case]:
    """Load a YAML file (`cases:` list, or a bare list) or a JSONL file (one case per line)."""
    if not path.is_file():
        raise CaseFileError(f"Cases file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        raw_cases: list[Any] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw_cases.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise CaseFileError(f"{path}:{lineno}: not valid JSON: {err.msg}") from None
        return parse_cases(raw_cases, str(path))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CaseFileError(f"{path}: not valid YAML: {err}") from None
    if isinstance(data, dict):
        version = data.get("version", 1)
        if version != 1:
            raise CaseFileError(f"{path}: unsupported schema version {version!r} (this code reads version 1)")
        data = data.get("cases")
    if not isinstance(data, list):
        raise CaseFileError(f"{path}: expected a list of cases (or a mapping with a `cases:` list)")
    return parse_cases(data, str(path))


def select_cases(
    cases: Sequence[Case],
    *,
    tags: Sequence[str] | None = None,
    exclude_tags: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Case]:
    """Cases with any of `tags` (derived tags count) and none of `exclude_tags`, in file order, at most
    `limit` of them."""
    wanted = set(tags or ())
    unwanted = set(exclude_tags or ())
    wanted_ids = set(ids or ())
    unknown = wanted_ids - {c.id for c in cases}
    if unknown:
        raise InputError(f"Unknown case id(s): {', '.join(sorted(unknown))}")
    selected = [
        c
        for c in cases
        if (not wanted or wanted & c.all_tags)
        and not (unwanted & c.all_tags)
        and (not wanted_ids or c.id in wanted_ids)
    ]
    if limit is not None:
        if limit < 1:
            raise InputError("--limit must be at least 1")
        selected = selected[:limit]
    return selected


# --- feedback --------------------------------------------------------------------------------------

_RATINGS = {
    "up": "thumbs-up",
    "thumbs-up": "thumbs-up",
    "thumbs_up": "thumbs-up",
    "like": "thumbs-up",
    "good": "thumbs-up",
    "1": "thumbs-up",
    "+1": "thumbs-up",
    "true": "thumbs-up",
    "down": "thumbs-down",
    "thumbs-down": "thumbs-down",
    "thumbs_down": "thumbs-down",
    "dislike": "thumbs-down",
    "bad": "thumbs-down",
    "-1": "thumbs-down",
    "0": "thumbs-down",
    "false": "thumbs-down",
}


def _rating_tag(value: Any) -> str | None:
    if value is None:
        return None
    tag = _RATINGS.get(str(value).strip().lower())
    if tag is None:
        raise ValueError(f"unknown rating {value!r} (use up/down, 1/-1 or true/false)")
    return tag


def _feedback_case(raw: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("question", "language", "answerable", "expected_articles") if k not in raw]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    question = str(raw["question"]).strip()
    language = str(raw["language"]).strip().lower()
    answerable = raw["answerable"]
    if not isinstance(answerable, bool):
        raise ValueError("answerable must be true or false")
    expected = raw["expected_articles"] or []
    if not isinstance(expected, list):
        raise ValueError("expected_articles must be a list")
    digest = hashlib.sha1(f"{language}\n{question}".encode()).hexdigest()[:10]
    tags = ["feedback"]
    rating = _rating_tag(raw.get("rating"))
    if rating:
        tags.append(rating)
    if any(":" in str(a) for a in expected):
        tags.append(DISTRACTOR_TAG)
    tags.extend(t for t in raw.get("tags", []) if t not in tags)
    notes = []
    if raw.get("comment"):
        notes.append(f"User comment: {str(raw['comment']).strip()}")
    if raw.get("answer"):
        notes.append(f"Answer rated at the time: {str(raw['answer']).strip()}")
    case: dict[str, Any] = {
        "id": str(raw.get("id") or f"feedback-{digest}"),
        "question": question,
        "language": language,
        "category": raw.get("category") or ("answerable" if answerable else "unanswerable"),
        "answerable": answerable,
        "expected_articles": [str(a) for a in expected],
        "tags": tags,
        "notes": "\n".join(notes),
    }
    for key in ("evidence", "facts", "forbidden", "history"):
        if raw.get(key):
            case[key] = raw[key]
    return case


def import_feedback(path: Path) -> list[Case]:
    """Draft cases from the web UI's feedback JSONL (needs question, language, answerable,
    expected_articles; uses answer, rating, comment when present). Later lines win on duplicates.
    The drafts have no `facts` unless the line gives them: add those before committing a case."""
    if not path.is_file():
        raise CaseFileError(f"Feedback file not found: {path}")
    raw_cases: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object")
            case = _feedback_case(raw)
            Case.model_validate(case)
        except json.JSONDecodeError as err:
            errors.append(f"line {lineno}: not valid JSON: {err.msg}")
            continue
        except ValidationError as err:
            errors.append(f"line {lineno}: {_format_validation_error(err)}")
            continue
        except ValueError as err:
            errors.append(f"line {lineno}: {err}")
            continue
        raw_cases.pop(case["id"], None)
        raw_cases[case["id"]] = case
    if errors:
        raise CaseFileError(
            f"{path}: {len(errors)} unusable feedback line(s):\n  " + "\n  ".join(errors[:20])
        )
    log.info("imported %d feedback case(s) from %s", len(raw_cases), path)
    return parse_cases(raw_cases.values(), str(path))


def dump_cases(cases: Sequence[Case]) -> str:
    """YAML for `cases`, fields in schema order and defaults left out: ready to paste into cases.yaml."""
    items = [c.model_dump(mode="json", exclude_defaults=True) for c in cases]
    return yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=110)
