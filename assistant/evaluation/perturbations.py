"""The perturbation suite: faithful paraphrases of evidence quotes must pass the answer verifier,
the same claims with one thing changed (number, date, name, negation, an invented consequence)
must not. Claims are checked exactly as answer sentences are (Answerer.check_claim)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import InputError
from assistant.text.language import detect_language
from assistant.types import Evidence

if TYPE_CHECKING:
    from assistant.service import Assistant

Kind = Literal["faithful", "number", "date", "name", "negation", "consequence"]
PERTURBED: tuple[Kind, ...] = ("number", "date", "name", "negation", "consequence")


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind
    lang: Literal["en", "de"]
    text: str = Field(min_length=5)


class Item(BaseModel):
    """One evidence sentence and the claims about it. `quote` is the sentence verbatim (sample
    corpus), or `anchor` a short excerpt that locates it in an article of another corpus."""

    model_config = ConfigDict(extra="forbid")
    id: str
    split: Literal["dev", "test"]
    article: str
    quote: str | None = None
    anchor: str | None = None
    claims: list[Claim] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_locator(self) -> Item:
        if (self.quote is None) == (self.anchor is None):
            raise ValueError("give exactly one of quote or anchor")
        if not any(c.kind == "faithful" for c in self.claims):
            raise ValueError("needs at least one faithful claim")
        return self


def load_items(path: Path) -> list[Item]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = [Item.model_validate(raw) for raw in data.get("items", [])]
    except (OSError, yaml.YAMLError, ValidationError) as err:
        raise InputError(f"{path}: not a valid perturbation file: {err}") from None
    ids = Counter(item.id for item in items)
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        raise InputError(f"{path}: duplicate ids {duplicates}")
    return items


def locate(item: Item, text: str) -> tuple[int, int] | None:
    """Offsets of the item's sentence in its article text (the quote, or the sentence holding the
    anchor), or None when it is not there."""
    from assistant.text.sentences import split_sentences

    if item.quote is not None:
        at = text.find(item.quote)
        return (at, at + len(item.quote)) if at >= 0 else None
    assert item.anchor is not None
    squash = re.sub(r"\s+", " ", item.anchor).strip()
    for start, end in split_sentences(text):
        if squash in re.sub(r"\s+", " ", text[start:end]):
            return start, end
    return None


@dataclass(frozen=True)
class ClaimResult:
    item: str
    split: str
    kind: str
    lang: str
    text: str
    kept: bool
    stage: str
    reason: str

    @property
    def correct(self) -> bool:
        return self.kept == (self.kind == "faithful")


def evidence_for(item: Item, article_id: str, title: str, text: str) -> Evidence | None:
    span = locate(item, text)
    if span is None:
        return None
    start, end = span
    return Evidence(
        marker=1,
        article_id=article_id,
        chunk_id=f"{article_id}:perturbation",
        title=title,
        quote=text[start:end],
        start=start,
        end=end,
        context=text[max(0, start - 400) : end + 400],
        language=detect_language(text),
    )


def run_items(
    assistant: Assistant, items: Sequence[Item], articles: Mapping[str, tuple[str, str]]
) -> tuple[list[ClaimResult], list[str]]:
    """Check every claim; `articles` maps article id -> (title, text). Items whose article is not
    available are skipped and returned by id."""
    results: list[ClaimResult] = []
    skipped: list[str] = []
    for item in items:
        if item.article not in articles:
            skipped.append(item.id)
            continue
        title, text = articles[item.article]
        evidence = evidence_for(item, item.article, title, text)
        if evidence is None:
            raise InputError(f"perturbation item {item.id}: its sentence is not in article {item.article}")
        for claim in item.claims:
            kept, stage, reason = assistant.check_claim(claim.text, [evidence], claim.lang)
            results.append(
                ClaimResult(item.id, item.split, claim.kind, claim.lang, claim.text, kept, stage, reason)
            )
    return results, skipped


def summarize(results: Sequence[ClaimResult]) -> dict[str, float | int | None]:
    """Keep rate of faithful claims, reject rate of perturbed ones (overall, per kind, per language)."""

    def rate(rows: list[ClaimResult]) -> float | None:
        return round(sum(r.correct for r in rows) / len(rows), 3) if rows else None

    faithful = [r for r in results if r.kind == "faithful"]
    perturbed = [r for r in results if r.kind != "faithful"]
    out: dict[str, float | int | None] = {
        "claims": len(results),
        "faithful_kept": rate(faithful),
        "perturbed_rejected": rate(perturbed),
        "rejected_by_anchors": round(
            sum(not r.kept and r.stage == "anchors" for r in perturbed) / len(perturbed), 3
        )
        if perturbed
        else None,
    }
    for lang in ("en", "de"):
        out[f"faithful_kept_{lang}"] = rate([r for r in faithful if r.lang == lang])
        out[f"perturbed_rejected_{lang}"] = rate([r for r in perturbed if r.lang == lang])
    for kind in PERTURBED:
        out[f"rejected_{kind}"] = rate([r for r in perturbed if r.kind == kind])
    return out
