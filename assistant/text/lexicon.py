"""Word knowledge from data packages: which capitalised German words are common nouns
(`german-nouns`, from Wiktionary) and which English words are ordinary vocabulary rather than names
(`wordfreq`). Loaded lazily; the German noun forms are cached as one text file because parsing the
package's CSV takes seconds."""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from importlib import metadata, resources
from pathlib import Path

from assistant.text.normalize import fold, words

log = logging.getLogger(__name__)

# german-nouns tags of proper nouns: a form that only ever appears with these is a name.
_PROPER_TAGS = frozenset({"Toponym", "Vorname", "Nachname", "Eigenname", "Familienname"})
# A word is ordinary English vocabulary when it is this much more frequent in English text than
# in German text (wordfreq Zipf scale: 1.0 = ten times) and frequent in English at all. Names are
# about as frequent in both (Putin, Miller), or rare (Peskov).
_EN_OVER_DE = 0.9
_EN_MIN_ZIPF = 3.5
# A German noun this frequent in English text is English too ("Kindergarten", "Bundestag").
_EN_LOANWORD_ZIPF = 1.5
# A capitalised word at a German sentence start is ordinary when at least this frequent.
_DE_WORD_ZIPF = 3.5
# A German compound whose last part is a common noun is one ("Kremlsprecher").
_MIN_HEAD = 4
_MIN_MODIFIER = 3


class Lexicon:
    """Answers "is this capitalised word an ordinary word?" for German and English."""

    def __init__(self, german_common: frozenset[str], german_proper: frozenset[str] = frozenset()) -> None:
        self._de = german_common
        self._de_proper = german_proper

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> Lexicon:
        common, proper = _german_nouns(None if cache_dir is None else str(cache_dir))
        return cls(common, proper)

    def is_german_common_noun(self, word: str) -> bool:
        """A common noun, inflected or compounded ("Kremlsprecher"), and not a place or person that
        Wiktionary lists ("Russland" is a Toponym, although "Land" is a noun)."""
        folded = fold(word)
        if folded in self._de_proper:
            return False
        if folded in self._de:
            return True
        if "-" in folded:  # "Playoff-Spiele": the last part decides, if it is a word at all
            last = folded.rsplit("-", 1)[1]
            return len(last) >= _MIN_MODIFIER and self.is_german_common_noun(last)
        return any(
            folded[cut:] in self._de and folded[cut:] not in self._de_proper
            for cut in range(_MIN_MODIFIER, len(folded) - _MIN_HEAD + 1)
        )

    def is_german_word(self, word: str) -> bool:
        """Frequent in German text whatever its case: "Insgesamt", "Laut" (not a rare name)."""
        from wordfreq import zipf_frequency

        folded = fold(word)
        return folded not in self._de_proper and zipf_frequency(word.lower(), "de") >= _DE_WORD_ZIPF

    def untranslated_german(self, text: str) -> list[str]:
        """German common nouns in an English text that English does not use ("Pocken", "Leitzins";
        not "Kindergarten"): a sentence written in English that left words untranslated."""
        from wordfreq import zipf_frequency

        return [
            w
            for w in words(text)
            if w[:1].isupper()
            and zipf_frequency(w.lower(), "en") < _EN_LOANWORD_ZIPF
            and self.is_german_common_noun(w)
        ]

    def is_english_word(self, word: str) -> bool:
        from wordfreq import zipf_frequency

        lower = word.lower()
        en = zipf_frequency(lower, "en")
        if en < _EN_MIN_ZIPF:
            return False
        # Words both languages use ("Minister", "Bank") are as frequent in German, yet ordinary:
        # German has them as common nouns, never as names.
        folded = fold(word)
        shared = folded in self._de and folded not in self._de_proper
        return shared or en - zipf_frequency(lower, "de") >= _EN_OVER_DE


# Immutable package data, parsed once per process whatever the cache folder (tests use many).
_PARSED: dict[str, tuple[frozenset[str], frozenset[str]]] = {}


def _german_nouns(cache_dir: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(forms of common nouns, forms of proper nouns), folded."""
    version = _version("german-nouns")
    if version in _PARSED:
        return _PARSED[version]
    cache = Path(cache_dir) / "lexicon" / f"german-nouns-{version}.txt" if cache_dir else None
    if cache is not None and cache.is_file():
        common_text, _, proper_text = cache.read_text("utf-8").partition("\n\n")
        _PARSED[version] = frozenset(common_text.split("\n")), frozenset(proper_text.split("\n"))
        return _PARSED[version]
    common, proper = _PARSED[version] = _parse_german_nouns()
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write("\n".join(sorted(common)) + "\n\n" + "\n".join(sorted(proper)))
            os.replace(tmp, cache)
        except OSError as err:  # a cache is an optimisation
            log.debug("could not cache the German noun list in %s: %s", cache, err)
    return common, proper


def _parse_german_nouns() -> tuple[frozenset[str], frozenset[str]]:
    try:
        source = resources.files("german_nouns").joinpath("nouns.csv")
    except ModuleNotFoundError:
        log.warning("german-nouns is not installed: German common nouns will be taken for names")
        return frozenset(), frozenset()
    common: set[str] = set()
    proper: set[str] = set()
    with source.open("r", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        for row in rows:
            tags = set(row[1].split(","))
            if "Substantiv" not in tags:
                continue
            forms = {fold(form) for form in (row[0], *row[7:]) if form and " " not in form}
            (proper if tags & _PROPER_TAGS else common).update(forms)
    # A form that is both ("Abzug" is also a surname) is an ordinary word first.
    return frozenset(common), frozenset(proper - common)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"
