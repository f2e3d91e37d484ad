"""The XQuAD suite: an external cross-lingual QA set (../shared/xquad-dev, CC BY-SA 4.0, read in
place, never copied into the project).

The German Wikipedia paragraphs are indexed, one article per paragraph; the English and the German
question of each XQuAD item are asked over them. A case passes STR-EM (ALCE) when the answer
contains the gold answer, in its German or English form, after normalisation. The paragraphs of
every sixth Wikipedia article (by position in the file) are left out of the index: their questions
must be answered with "the articles do not say"."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import InputError
from assistant.evaluation.cases import Case

if TYPE_CHECKING:
    from assistant.evaluation.runner import CorpusInfo
    from assistant.service import Assistant

XQUAD_TAG = "xquad"
HELD_OUT_EVERY = 6  # titles at positions 5, 11, 17, 23 are not indexed
SOURCE = "XQuAD (Wikipedia)"


@dataclass(frozen=True)
class XquadData:
    articles: list[dict[str, Any]]  # JSONL rows for the loader: id, title, text, language, source
    cases: list[Case]
    held_out_titles: list[str]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["data"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not an XQuAD file ({err})") from None


def read_parallel(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The German and English articles (SQuAD layout) of xquad.de.json and xquad.en.json, in step."""
    de, en = _read(folder / "xquad.de.json"), _read(folder / "xquad.en.json")
    if len(de) != len(en):
        raise InputError(f"{folder}: the German and English files hold different articles")
    return de, en


def load_xquad(folder: Path) -> XquadData:
    """Articles to index and cases to ask, from xquad.de.json and xquad.en.json in `folder`."""
    de, en = read_parallel(folder)
    articles: list[dict[str, Any]] = []
    cases: list[Case] = []
    held_out: list[str] = []
    for position, (doc_de, doc_en) in enumerate(zip(de, en, strict=True)):
        title = str(doc_de.get("title") or doc_en.get("title") or f"article {position}")
        left_out = position % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
        if left_out:
            held_out.append(title)
        for p, (par_de, par_en) in enumerate(zip(doc_de["paragraphs"], doc_en["paragraphs"], strict=True)):
            article_id = f"xquad-{_slug(title)}-{p + 1}"
            if not left_out:
                articles.append(
                    {
                        "id": article_id,
                        "title": f"{title.replace('_', ' ')} ({p + 1})",
                        "text": par_de["context"],
                        "language": "de",
                        "source": SOURCE,
                    }
                )
            for q_de, q_en in zip(par_de["qas"], par_en["qas"], strict=True):
                if q_de["id"] != q_en["id"]:
                    raise InputError(f"{folder}: question ids differ ({q_de['id']} / {q_en['id']})")
                gold = sorted(
                    {a["text"].strip() for a in q_de["answers"] + q_en["answers"] if a["text"].strip()}
                )
                for lang, item in (("de", q_de), ("en", q_en)):
                    cases.append(_case(item, lang, article_id, gold, left_out, title))
    return XquadData(articles, cases, held_out)


def _case(
    item: dict[str, Any], lang: str, article_id: str, gold: list[str], left_out: bool, title: str
) -> Case:
    tags = [XQUAD_TAG, "cross-lingual" if lang == "en" else "monolingual"]
    common: dict[str, Any] = {
        "id": f"xq-{_slug(item['id'])}-{lang}",
        "question": " ".join(item["question"].split()),
        "language": lang,
        "notes": f"XQuAD {item['id']} ({title})",
    }
    if left_out:
        return Case(**common, category="unanswerable", answerable=False, tags=[*tags, "held-out"])
    return Case(
        **common,
        category="answerable",
        answerable=True,
        expected_articles=[article_id],
        facts=[[re.sub(r"\s+", " ", g) for g in gold]],
        tags=tags,
    )


def sample(cases: Sequence[Case], items: int, *, held_out: int, seed: str = "xquad") -> list[Case]:
    """A deterministic sample of XQuAD items, each asked in both languages: `items` answerable ones
    and `held_out` ones of the left-out articles. The order is a hash of the item id and `seed`."""

    def item(case: Case) -> str:
        return case.id.rsplit("-", 1)[0]

    def order(item_id: str) -> str:
        return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()

    answerable = sorted({item(c) for c in cases if c.answerable}, key=order)
    unanswerable = sorted({item(c) for c in cases if not c.answerable}, key=order)
    chosen = set(answerable[:items]) | set(unanswerable[:held_out])
    return [c for c in cases if item(c) in chosen]


def write_corpus(data: XquadData, path: Path) -> Path:
    """The paragraphs as a JSONL feed for the loader, rewritten only when its content changes."""
    text = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in data.articles)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def prepare_xquad(
    assistant: Assistant, data: XquadData, folder: Path, *, progress: bool = False
) -> CorpusInfo:
    """Index exactly the suite's paragraphs (the feed is written to the cache folder, not the
    project); `prune` takes out anything else, so use an index of its own."""
    import time

    from assistant.evaluation.runner import CorpusInfo
    from assistant.loaders import load_paths

    started = time.perf_counter()
    feed = write_corpus(data, assistant.settings.llm.cache_dir / "eval" / "xquad-dev-de.jsonl")
    assistant.ingest([feed], prune=True)
    return CorpusInfo(
        seed_dir=folder,
        distractors=False,
        # As the loader cleans them: quotes are verbatim in the cleaned text.
        article_texts={a.id: a.text for a in load_paths([feed]).articles},
        seconds=round(time.perf_counter() - started, 3),
    )
