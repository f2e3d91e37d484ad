"""The benchmark corpora: the sample articles plus GNAD (when present), and synthetic corpora built
from their sentences for the 10k/100k-chunk scale figures.

GNAD (CC BY-NC-SA) is read from ../shared/corpora and never copied into the project; the quick
subset is written to the benchmark's work folder (outside the checkout by default).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import chunk_article
from assistant.config import ChunkingSettings
from assistant.loaders import CsvOptions, LoadResult, load_paths
from assistant.text.sentences import split_sentences
from assistant.types import Article, Chunk

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "data" / "articles"
DEFAULT_GNAD = ROOT.parent / "shared" / "corpora" / "gnad10k-test.csv"
QUICK_LABEL = "International"
_MIN_SENTENCE = 25


@dataclass(frozen=True)
class CorpusSpec:
    """What to ingest: the seed folder and optionally a GNAD csv (all rows, or a label subset)."""

    seed_dir: str
    gnad_csv: str | None
    gnad_labels: tuple[str, ...] | None
    description: str

    def paths(self) -> list[Path]:
        return [Path(self.seed_dir)] + ([Path(self.gnad_csv)] if self.gnad_csv else [])

    def csv_options(self) -> CsvOptions:
        return CsvOptions.gnad(labels=self.gnad_labels)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CorpusSpec:
        labels = data.get("gnad_labels")
        return cls(
            seed_dir=data["seed_dir"],
            gnad_csv=data.get("gnad_csv"),
            gnad_labels=tuple(labels) if labels else None,
            description=data["description"],
        )

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.paths():
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    digest.update(file.name.encode())
                    digest.update(str(file.stat().st_size).encode())
                    digest.update(str(int(file.stat().st_mtime)).encode())
        digest.update(repr(self.gnad_labels).encode())
        return digest.hexdigest()[:16]


def quick_subset(source: Path, target: Path, label: str | None, limit: int | None) -> int:
    """Write the first `limit` rows with `label` (None: any) of the GNAD csv to `target`; returns the
    row count."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quotechar="'", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    kept = 0
    with source.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter=";", quotechar="'"):
            if row and label in (None, row[0].strip()) and (limit is None or kept < limit):
                writer.writerow(row)
                kept += 1
    data = out.getvalue()
    if not target.is_file() or target.read_text(encoding="utf-8") != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data, encoding="utf-8")
    return kept


def corpus_spec(*, quick: bool, gnad: Path, work: Path, quick_articles: int | None) -> CorpusSpec:
    """Seeds + GNAD (full run: all of the test split; quick: the first N `International` rows).

    Without the GNAD file: the seeds only, with a message saying so."""
    if not gnad.is_file():
        log.warning("GNAD corpus not found at %s: benchmarking on the sample articles only", gnad)
        return CorpusSpec(str(SEED_DIR), None, None, f"the 5 sample articles only (no GNAD csv at {gnad})")
    if quick:
        subset = work / "corpus" / f"gnad-{QUICK_LABEL.lower()}-{quick_articles or 'all'}.csv"
        rows = quick_subset(gnad, subset, QUICK_LABEL, quick_articles)
        return CorpusSpec(
            str(SEED_DIR),
            str(subset),
            None,
            f"the 5 sample articles + the first {rows} `{QUICK_LABEL}` articles of {gnad.name}",
        )
    return CorpusSpec(str(SEED_DIR), str(gnad), None, f"the 5 sample articles + all of {gnad.name} (GNAD)")


def load_corpus(spec: CorpusSpec) -> LoadResult:
    return load_paths(spec.paths(), csv=spec.csv_options())


# --- sentences and synthetic text ------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    text: str
    language: str


def sentence_pool(articles: list[Article]) -> list[Sentence]:
    pool: list[Sentence] = []
    for article in articles:
        for start, end in split_sentences(article.text, article.language):
            text = article.text[start:end].strip()
            if len(text) >= _MIN_SENTENCE and "\n" not in text:
                pool.append(Sentence(text, article.language))
    if not pool:
        raise ValueError("no sentences to build a synthetic corpus from")
    return pool


def synthetic_articles(
    pool: list[Sentence], target_chunks: int, chunking: ChunkingSettings, *, seed: int = 7
) -> tuple[list[dict[str, Any]], int]:
    """jsonl records of made-up articles (real sentences in a random order, 1.5-4.5k characters,
    paragraphs of 2-5 sentences) until the project's chunker cuts `target_chunks` chunks from them."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    chunks = 0
    while chunks < target_chunks:
        n = len(records)
        language = rng.choice(pool).language
        same = [s for s in (rng.choice(pool) for _ in range(60)) if s.language == language] or [
            rng.choice(pool)
        ]
        goal = rng.randint(1500, 4500)
        paragraphs: list[str] = []
        size = 0
        i = 0
        while size < goal:
            take = same[i % len(same) : i % len(same) + rng.randint(2, 5)] or same[:2]
            i += len(take)
            paragraph = " ".join(s.text for s in take)
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        text = "\n\n".join(paragraphs)
        title = same[0].text[:90]
        record = {
            "id": f"syn-{n:06d}",
            "title": title,
            "text": text,
            "language": language,
            "source": f"synthetic/{rng.choice(['Politik', 'Wirtschaft', 'Sport', 'Kultur', 'Web'])}",
            "date": f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
        article = Article(
            id=record["id"], text=text, title=title, language=language, content_hash=record["id"]
        )
        chunks += len(chunk_article(article, chunking))
        records.append(record)
    return records, chunks


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def synthetic_chunks(
    size: int,
    anchor_texts: list[str],
    anchor_languages: list[str],
    anchor_vectors: np.ndarray,
    *,
    noise: float = 0.35,
    seed: int = 11,
) -> tuple[list[Chunk], np.ndarray]:
    """`size` chunks derived from real (anchor) chunks: the anchor's sentences reshuffled, and its
    vector plus Gaussian noise of total norm ~`noise`, renormalised (cosine to the anchor ~0.94).

    Texts and vectors stay related as in real data, so hybrid retrieval sees a realistic overlap of
    dense and lexical candidates; four chunks make one synthetic article."""
    rng = np.random.default_rng(seed)
    dim = anchor_vectors.shape[1]
    picks = rng.integers(0, len(anchor_texts), size=size)
    sentences = [
        [anchor[s:e] for s, e in split_sentences(anchor, lang)] or [anchor]
        for anchor, lang in zip(anchor_texts, anchor_languages, strict=True)
    ]
    chunks: list[Chunk] = []
    for i, a in enumerate(picks.tolist()):
        parts = list(sentences[a])
        order = rng.permutation(len(parts)).tolist()
        text = " ".join(parts[j].strip() for j in order)[:900] or anchor_texts[a][:900]
        article = i // 4
        chunks.append(
            Chunk(
                id=f"syn{size}-{i:07d}",
                article_id=f"syn{size}-a{article:06d}",
                text=text,
                start=0,
                end=len(text),
                index=i % 4,
                title=f"Synthetic article {article}",
                source="synthetic",
                date=f"{2015 + (article % 10)}-{1 + article % 12:02d}-{1 + article % 28:02d}",
                language=anchor_languages[a],
                origin="synthetic",
            )
        )
    vectors = anchor_vectors[picks] + rng.standard_normal((size, dim), dtype=np.float32) * (noise / dim**0.5)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors.astype(np.float32)
