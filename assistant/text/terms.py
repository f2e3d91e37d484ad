"""BM25 terms: folded words without stopwords (package `stop-words`), Snowball-stemmed per language
(`snowballstemmer`); hyphenated compounds are indexed whole and by their parts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from assistant.text.normalize import fold, words


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """German and English stopwords, folded (one set: queries and chunks mix the two languages)."""
    from stop_words import get_stop_words

    return frozenset(fold(w) for lang in ("de", "en") for w in get_stop_words(lang))


def is_stopword(word: str) -> bool:
    return fold(word) in stopwords()


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer({"de": "german", "en": "english"}.get(language, "german"))


@lru_cache(maxsize=65536)
def stem(token: str, language: str = "de") -> str:
    if len(token) <= 3 or token.isdigit():
        return token
    return str(_stemmer(language).stemWord(token))


def tokenize(text: str, language: str = "de") -> list[str]:
    """BM25 terms of `text`."""
    stop = stopwords()
    terms: list[str] = []
    for raw in words(text):
        folded = fold(raw)
        parts = [folded, *folded.split("-")] if "-" in folded else [folded]
        for part in parts:
            if part and part not in stop and (len(part) > 1 or part.isdigit()):
                terms.append(stem(part, language))
    return terms


@lru_cache(maxsize=1)
def negation_words() -> frozenset[str]:
    from assistant.text.normalize import data_file

    return frozenset(fold(str(w)) for forms in data_file("negation.yaml")["words"].values() for w in forms)
