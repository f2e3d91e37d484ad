"""One language detector for questions, answer sentences and articles.

Short texts (questions, answer sentences) are decided by function words: py3langid, trained on
longer text, errs on a handful of words. Longer texts go to py3langid restricted to the languages
asked for. The function words are the two languages' stopword lists (package `stop-words`) minus
the words they share, so "in" or "an" count for neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from assistant.text.normalize import fold, words

SUPPORTED = ("de", "en")
LANGUAGE_NAMES = {"de": "German", "en": "English"}

# Below this many words, function words decide alone.
_SHORT_WORDS = 12
# py3langid's normalised probability below which a long text is "und".
_MIN_CONFIDENCE = 0.5
_MIN_LETTERS = 20
# What is read of a long text (an article): enough to tell its language.
_SAMPLE_CHARS = 1000


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


@lru_cache(maxsize=1)
def _function_words() -> dict[str, frozenset[str]]:
    from stop_words import get_stop_words

    de = frozenset(fold(w) for w in get_stop_words("de"))
    en = frozenset(fold(w) for w in get_stop_words("en"))
    return {"de": de - en, "en": en - de}


def function_word_votes(text: str) -> dict[str, float]:
    """Per supported language, how many of the text's words are its function words (umlauts and ß
    count half a vote for German)."""
    marks = _function_words()
    tokens = [fold(w) for w in words(text)]
    votes = {lang: float(sum(t in marks[lang] for t in tokens)) for lang in SUPPORTED}
    if any(ch in text for ch in "äöüÄÖÜß"):
        votes["de"] += 0.5
    return votes


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # Our own instance, so restricting the languages does not change py3langid's global one.
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(text: str, default: str = "und", languages: Sequence[str] = SUPPORTED) -> str:
    """The ISO 639-1 code of `text` among `languages`, or `default` when the text does not tell.

    German and English are told apart by function words up to a dozen words and whenever those
    are clear, when nothing but German and English is asked for; otherwise py3langid decides, and
    must be at least 50% sure. Only the first `_SAMPLE_CHARS` characters are read: they tell the
    language of an article as well as all of it, at a fraction of the cost."""
    text = text[:_SAMPLE_CHARS]
    tokens = words(text)
    # Function words know German and English only: with other languages possible they would take the
    # "de", "la" and "et" of a French text (all in the English stopword list) for English.
    considered = [lang for lang in SUPPORTED if lang in languages]
    if considered and set(languages) <= set(SUPPORTED):
        votes = function_word_votes(text)
        ranked = sorted(considered, key=lambda lang: -votes[lang])
        best = ranked[0]
        margin = votes[best] - (votes[ranked[1]] if len(ranked) > 1 else 0.0)
        if margin > 0 and (len(tokens) <= _SHORT_WORDS or margin >= 2):
            return best
    if sum(len(t) for t in tokens) < _MIN_LETTERS and len(tokens) < 4:
        return default
    language, confidence = _identifier(tuple(sorted(languages))).classify(text)
    return str(language) if confidence >= _MIN_CONFIDENCE else default
