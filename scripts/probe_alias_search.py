"""Probe of the lexical search's alias expansion (names.alias_forms in retrieve.py), no LLM.

For each question, is an expected article among the top-k passages, with the expansion and without?
News: evals/cases.yaml over the eval index (`assistant eval` builds it); XQuAD-dev: every question
(German and English) whose article is in the XQuAD eval index (`assistant eval --suite xquad` builds
it, leaving its held-out articles out). A follow-up is searched as
`assistant ask` searches it before its rewrite (with the previous question).

    python scripts/probe_alias_search.py [--k 5] [--xquad ../shared/xquad-dev]"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from unittest.mock import patch

from assistant.config import Settings
from assistant.evaluation.cases import Case, load_cases
from assistant.evaluation.xquad import load_xquad
from assistant.followup import search_query
from assistant.service import Assistant


def _expansion(on: bool) -> AbstractContextManager[object]:
    """The search as it is, or with the alias expansion switched off."""
    return nullcontext() if on else patch("assistant.retrieve.alias_forms", lambda *_a, **_k: [])


def _ranks(assistant: Assistant, cases: Sequence[Case], k: int) -> dict[str, list[int]]:
    """Per language, the rank of each question's first expected passage (0: not in the top k)."""
    out: dict[str, list[int]] = {}
    for case in cases:
        query = search_query(case.question, case.history)  # a follow-up with the question before it
        ids = [p.chunk.article_id for p in assistant.search(query, k=k)]
        rank = next((i for i, a in enumerate(ids, 1) if a in case.expected_articles), 0)
        out.setdefault(case.language, []).append(rank)
    return out


def _report(name: str, cases: Sequence[Case], assistant: Assistant, k: int) -> None:
    for on in (False, True):
        with _expansion(on):
            ranks = _ranks(assistant, cases, k)
        rows = ", ".join(
            f"{lang} {sum(r > 0 for r in rs)}/{len(rs)} (MRR {sum(1 / r for r in rs if r) / len(rs):.3f})"
            for lang, rs in sorted(ranks.items())
        )
        print(f"{name:6} expansion {'on ' if on else 'off'}: expected article in the top {k}: {rows}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--xquad", type=Path, default=Path("../shared/xquad-dev"))
    args = parser.parse_args()
    news = [c for c in load_cases(Path("evals/cases.yaml")) if c.expected_articles]
    assistant = Assistant.from_settings(Settings().replaced(index={"prefix": "eval"}))
    _report("news", news, assistant, args.k)
    if (args.xquad / "xquad.de.json").is_file():
        assistant = Assistant.from_settings(Settings().replaced(index={"prefix": "evalxquad"}))
        indexed = {a.article_id for a in assistant.articles()}
        cases = [c for c in load_xquad(args.xquad).cases if set(c.expected_articles) & indexed]
        _report("xquad", cases, assistant, args.k)


if __name__ == "__main__":
    main()
