"""Probe of the subject check (`assistant.text.names.unmentioned`) on XQuAD-dev, no LLM.

For every XQuAD question (German and English), is the gold paragraph set aside (a wrong
rejection), and is a paragraph of another Wikipedia article set aside (a right one)? The text
checked is what the pipeline reads: the paragraph's title and the text around the answer.

    python scripts/probe_subject_names.py [--window 2000] [--skip-report evals/reports/xquad/eval-report.json]

Questions asked in the given eval report (the eval's sample) are left out, so the figures are on
questions the check was not developed on. Reads ../shared/xquad-dev in place."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from assistant.errors import InputError
from assistant.evaluation.xquad import read_parallel
from assistant.text.lexicon import Lexicon
from assistant.text.names import subject_names, unmentioned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/xquad-dev"))
    parser.add_argument("--window", type=int, default=2000, help="characters each side of the answer")
    parser.add_argument("--skip-report", type=Path, help="an XQuAD eval report whose questions to leave out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        de, en = read_parallel(args.data)
    except InputError as err:
        raise SystemExit(f"no XQuAD-dev at {args.data}: {err}") from None
    skip: set[str] = set()
    if args.skip_report:
        skip = {c["id"] for c in json.loads(args.skip_report.read_text(encoding="utf-8"))["cases"]}
    lexicon = Lexicon.load()
    rng = random.Random(args.seed)
    paragraphs = [(d["title"], p["context"]) for d in de for p in d["paragraphs"]]

    def window(title: str, text: str, at: int, length: int) -> str:
        return f"{title.replace('_', ' ')}\n{text[max(0, at - args.window) : at + length + args.window]}"

    counts: dict[tuple[str, str], list[int]] = {}
    for doc_de, doc_en in zip(de, en, strict=True):
        for par_de, par_en in zip(doc_de["paragraphs"], doc_en["paragraphs"], strict=True):
            for q_de, q_en in zip(par_de["qas"], par_en["qas"], strict=True):
                gold = q_de["answers"][0]
                for lang, question in (("de", q_de["question"]), ("en", q_en["question"])):
                    if f"xq-{q_de['id']}-{lang}" in skip:
                        continue
                    title, other = rng.choice([p for p in paragraphs if p[0] != doc_de["title"]])
                    at = rng.randrange(0, max(1, len(other) - 100))
                    texts = {
                        "gold": window(
                            doc_de["title"], par_de["context"], gold["answer_start"], len(gold["text"])
                        ),
                        "other article": window(title, other, at, 100),
                    }
                    names = subject_names(" ".join(question.split()), lang, lexicon)
                    for kind, text in texts.items():
                        c = counts.setdefault((kind, lang), [0, 0])
                        c[0] += 1
                        c[1] += bool(unmentioned(names, text))
    for (kind, lang), (n, aside) in sorted(counts.items()):
        print(f"{kind:14s} {lang}: set aside {aside} of {n} ({aside / n:.1%})")


if __name__ == "__main__":
    main()
