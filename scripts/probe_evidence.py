"""Probe of the evidence selection (assistant.evidence.select_evidence), no LLM.

The model only ever sees the few evidence sentences chosen from the retrieved passages: an answer
that is not among them cannot be given. For each question, is the answer in the evidence?
News: evals/cases.yaml, a case's `evidence` strings (any of them) over the eval index (`assistant
eval` builds it); XQuAD-dev: every question whose article is indexed, its gold answer (any form) in
an evidence sentence, over the XQuAD eval index (built here if absent). Follow-ups are searched and
selected with the question before them, as nothing rewrites them here. Each evidence budget
(`answer.max_evidence_chars`, what the prompt's length and so the first token mostly depend on) is
reported side by side, with the evidence's median length, and the "when" and "how many" questions
on their own row. Searches and embeddings are kept, so each budget after the first costs no model
call.

    python scripts/probe_evidence.py [--chars 400 800 1200] [--skip-news] [--xquad ../shared/xquad-dev]"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.evaluation.cases import Case, load_cases
from assistant.evaluation.xquad import load_xquad, prepare_xquad
from assistant.evidence import select_evidence
from assistant.followup import search_query
from assistant.service import Assistant
from assistant.text.language import detect_language
from assistant.text.normalize import fold
from assistant.text.questions import question_kind
from assistant.types import Passage


def _norm(text: str) -> str:
    return " ".join(fold(text).replace("„", '"').replace("“", '"').split())


class _Memo:
    """The embedder with its answers kept, and the searches: each budget after the first is free."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._searches: dict[str, list[Passage]] = {}
        self.settings = assistant.settings

    def search(self, query: str) -> list[Passage]:
        if query not in self._searches:
            self._searches[query] = self._assistant.search(query, k=self._assistant.settings.retrieval.k)
        return self._searches[query]

    def _embed(self, side: str, texts: list[str]) -> np.ndarray:
        embedder = self._assistant.embedder
        new = list(dict.fromkeys(t for t in texts if (side, t) not in self._vectors))
        if new:
            fresh = embedder.embed_queries(new) if side == "q" else embedder.embed_passages(new)
            self._vectors.update(((side, t), v) for t, v in zip(new, fresh, strict=True))
        return np.stack([self._vectors[(side, t)] for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed("q", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed("p", texts)


def _typed(case: Case) -> bool:
    return question_kind(search_query(case.question, case.history)) in ("when", "number")


def _probe(memo: _Memo, cases: Sequence[Case], targets: dict[str, list[str]], chars: int) -> str:
    s = memo.settings
    found: dict[str, list[bool]] = {}
    lengths: list[int] = []
    for case in cases:
        query = search_query(case.question, case.history)
        passages = memo.search(query)
        evidence = select_evidence(
            query,
            passages,
            memo,  # type: ignore[arg-type]
            max_evidence=s.answer.max_evidence,
            max_chars=chars,
        )
        quotes = [_norm(e.quote) for e in evidence]
        lengths.append(sum(len(e.quote) for e in evidence))
        hit = any(_norm(t) in q or (len(q) > 20 and q in _norm(t)) for t in targets[case.id] for q in quotes)
        found.setdefault(detect_language(case.question, default=case.language), []).append(hit)
        if _typed(case):
            found.setdefault("when/how many", []).append(hit)
    rows = ", ".join(f"{lang} {sum(v)}/{len(v)} ({sum(v) / len(v):.3f})" for lang, v in sorted(found.items()))
    return f"{rows}; evidence chars median {statistics.median(lengths):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[800])
    parser.add_argument("--xquad", type=Path, default=Path("../shared/xquad-dev"))
    parser.add_argument("--skip-news", action="store_true")
    args = parser.parse_args()
    if not args.skip_news:
        news = [c for c in load_cases(Path("evals/cases.yaml")) if c.evidence]
        assistant = Assistant.from_settings(Settings().replaced(index={"prefix": "eval"}))
        targets = {c.id: c.evidence for c in news}
        memo = _Memo(assistant)
        for n in args.chars:
            print(f"news  {n:5} chars: answer in the evidence: {_probe(memo, news, targets, n)}")
    if (args.xquad / "xquad.de.json").is_file():
        data = load_xquad(args.xquad)
        assistant = Assistant.from_settings(Settings().replaced(index={"prefix": "evalxquad"}))
        indexed = {a.article_id for a in assistant.articles()}
        if not indexed:
            prepare_xquad(assistant, data, args.xquad)
            indexed = {a.article_id for a in assistant.articles()}
        cases = [c for c in data.cases if set(c.expected_articles) & indexed]
        gold = {c.id: [g for group in c.facts for g in group] for c in cases}
        memo = _Memo(assistant)
        for n in args.chars:
            print(f"xquad {n:5} chars: answer in the evidence: {_probe(memo, cases, gold, n)}")


if __name__ == "__main__":
    main()
