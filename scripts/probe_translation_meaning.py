"""Probe: does the multilingual embedder tell a translation from text that says something else?

The translator's checks read numbers and names only, so a fluent sentence that drops the meaning
("As stated, the text remains unchanged.") passes them. This measures the cosine of the passage
embeddings of a German sentence and (a) its professional English translation, (b) the next
sentence of the same paragraph (same topic, other content), (c) a sentence of another article, and
(d) a fixed set of contentless replies a small model gives instead of translating. No LLM.

    python scripts/probe_translation_meaning.py [--data ../shared/xquad-dev] [--limit 400]

Sentences come from XQuAD-dev paragraphs whose German and English versions split into the same
number of sentences (aligned by position); questions (parallel by id) are added as short pairs.
Reads ../shared/xquad-dev in place."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from assistant.backends.factory import make_embedder
from assistant.config import Settings
from assistant.errors import InputError
from assistant.evaluation.xquad import read_parallel
from assistant.text.sentences import split_sentences

CONTENTLESS = (
    "As stated, the text remains unchanged.",
    "The text is already in English.",
    "Here is the translation of the text.",
    "I cannot translate this text.",
    "The sentence describes the situation.",
    "This is a quote from the article.",
)


def _sentences(text: str, language: str) -> list[str]:
    return [" ".join(text[a:b].split()) for a, b in split_sentences(text, language)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/xquad-dev"))
    parser.add_argument("--limit", type=int, default=400, help="sentence pairs (and as many questions)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    try:
        de, en = read_parallel(args.data)
    except InputError as err:
        raise SystemExit(f"no XQuAD-dev at {args.data}: {err}") from None
    rng = random.Random(args.seed)
    pairs: list[tuple[str, str, str, str]] = []  # german, english, same-paragraph other, other article
    questions: list[tuple[str, str]] = []
    all_en = [s for d in en for p in d["paragraphs"] for s in _sentences(p["context"], "en")]
    for doc_de, doc_en in zip(de, en, strict=True):
        others = [
            s
            for d in en
            if d["title"] != doc_en["title"]
            for p in d["paragraphs"][:1]
            for s in _sentences(p["context"], "en")[:3]
        ] or all_en
        for par_de, par_en in zip(doc_de["paragraphs"], doc_en["paragraphs"], strict=True):
            s_de, s_en = _sentences(par_de["context"], "de"), _sentences(par_en["context"], "en")
            if len(s_de) == len(s_en) and len(s_de) > 1:
                for i, (a, b) in enumerate(zip(s_de, s_en, strict=True)):
                    pairs.append((a, b, s_en[(i + 1) % len(s_en)], rng.choice(others)))
            for q_de, q_en in zip(par_de["qas"], par_en["qas"], strict=True):
                questions.append((q_de["question"], q_en["question"]))
    rng.shuffle(pairs)
    rng.shuffle(questions)
    pairs, questions = pairs[: args.limit], questions[: args.limit]
    embedder = make_embedder(Settings())

    def emb(texts: list[str]) -> np.ndarray:
        return np.asarray(embedder.embed_passages(texts), dtype=np.float32)

    src = emb([p[0] for p in pairs])
    contentless = emb(list(CONTENTLESS))
    rows = {
        "translation": np.sum(src * emb([p[1] for p in pairs]), axis=1),
        "next sentence, same paragraph": np.sum(src * emb([p[2] for p in pairs]), axis=1),
        "sentence of another article": np.sum(src * emb([p[3] for p in pairs]), axis=1),
        "contentless reply (max of 6)": np.max(src @ contentless.T, axis=1),
    }
    q_de = emb([q[0] for q in questions])
    q_en = emb([q[1] for q in questions])
    rows["question: its translation"] = np.sum(q_de * q_en, axis=1)
    rows["question: another question"] = np.sum(q_de * np.roll(q_en, 1, axis=0), axis=1)
    rows["question: contentless reply"] = np.max(q_de @ contentless.T, axis=1)
    print(f"embedder {embedder.id}; {len(pairs)} sentence pairs, {len(questions)} questions")
    print("| pair | n | p1 | p5 | median | p95 | p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, v in rows.items():
        q = np.percentile(v, [1, 5, 50, 95, 99])
        print(f"| {name} | {len(v)} | " + " | ".join(f"{x:.3f}" for x in q) + " |")
    for t in (0.80, 0.82, 0.84, 0.85, 0.86, 0.88):
        kept = float(np.mean(rows["translation"] >= t))
        kept_q = float(np.mean(rows["question: its translation"] >= t))
        refused = {k: float(np.mean(v < t)) for k, v in rows.items() if "translation" not in k}
        print(
            f"threshold {t:.2f}: translations kept {kept:.3f} (questions {kept_q:.3f}); refused "
            + ", ".join(f"{k} {v:.3f}" for k, v in refused.items())
        )


if __name__ == "__main__":
    main()
