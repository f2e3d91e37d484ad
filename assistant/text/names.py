"""Names in answer sentences, and whether a text supports them across German and English.

Which words are names: acronyms, words in the alias table, and capitalised words that are not
ordinary words of the sentence's language (German: not a common noun per `german-nouns`; English:
not a sentence start, a function word or ordinary vocabulary per `wordfreq`). Ordinary English
words that are capitalised ("Foreign Minister") are returned as *soft* names: a claim may state
them without a verbatim match, if its meaning is confirmed otherwise.

Whether a text supports a name: the folded name occurs there, inflected ("Moskaus"), inside a
compound ("Kremlsprecher"), transliterated ("Peskov"/"Peskow", "Aleinik"/"Aleynik"), or as another
form of its group in data/aliases.tsv ("ECB"/"EZB", "Moscow"/"Moskau")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from assistant.text.facts import is_calendar_word
from assistant.text.lexicon import Lexicon
from assistant.text.normalize import data_text, fold, words

# German and English inflection endings a name can carry: Moskaus, Lukaschenkos, Armeniens, Russia's.
_INFLECTION = re.compile(r"(?:'s|’s|s|es|en|n|e|er|ern|ischen|ische|isches|ischer|ischem|isch)$")
_TRANSLIT = (
    ("tsch", "ch"),
    ("sch", "sh"),
    ("dsh", "j"),
    ("dsch", "j"),
    ("zh", "j"),
    ("kh", "h"),
    ("ch", "h"),
    ("w", "v"),
    ("z", "s"),
    ("ij", "i"),
    ("yj", "i"),
    ("iy", "i"),
    ("y", "i"),
    ("j", "i"),
    ("ph", "f"),
    ("ck", "k"),
    ("c", "k"),
)
_SIMILAR = 0.8
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")
_MIN_NAME = 2


@dataclass(frozen=True)
class Name:
    text: str
    soft: bool = False  # ordinary vocabulary capitalised: no verbatim match required


@lru_cache(maxsize=1)
def _aliases() -> tuple[dict[str, int], list[list[str]]]:
    """folded form -> group number, and the groups; a trailing * marks a stem ("russisch*")."""
    index: dict[str, int] = {}
    groups: list[list[str]] = []
    for line in data_text("aliases.tsv").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        forms = [fold(f.strip()) for f in line.split("\t") if f.strip()]
        for form in forms:
            index.setdefault(form.rstrip("*"), len(groups))
        groups.append(forms)
    return index, groups


def alias_group(name: str) -> list[str]:
    """Other forms of `name` per the alias table (folded; stems end in *), or []."""
    index, groups = _aliases()
    folded = fold(name)
    group = index.get(folded)
    if group is None:
        stem = _INFLECTION.sub("", folded)
        group = index.get(stem)
        if group is None:
            group = next(
                (
                    g
                    for form, g in index.items()
                    if _is_stem_entry(groups[g], form) and folded.startswith(form)
                ),
                None,
            )
    return groups[group] if group is not None else []


def _is_stem_entry(group: list[str], form: str) -> bool:
    return any(f == form + "*" for f in group)


def is_acronym(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


@lru_cache(maxsize=1)
def _phrases() -> re.Pattern[str]:
    """Multi-word forms of the alias table, longest first ("Collective Security Treaty Organization")."""
    _, groups = _aliases()
    forms = sorted({f for g in groups for f in g if " " in f and not f.endswith("*")}, key=len, reverse=True)
    return re.compile("|".join(rf"(?<!\w){re.escape(f)}(?!\w)" for f in forms) or r"(?!x)x")


def name_candidates(sentence: str, language: str, lexicon: Lexicon | None = None) -> list[Name]:
    """The names a sentence asserts (see the module docstring), in order of appearance."""
    found: list[Name] = []
    # A known multi-word name is one name: its words are not checked one by one.
    folded = fold(sentence)
    phrases = list(_phrases().finditer(folded))
    for match in phrases:
        found.append(Name(sentence[match.start() : match.end()]))
    if phrases and len(folded) == len(sentence):
        sentence = "".join(
            " " if any(m.start() <= i < m.end() for m in phrases) else ch for i, ch in enumerate(sentence)
        )
    tokens = [_POSSESSIVE.sub("", t) for t in words(sentence)]
    for i, token in enumerate(tokens):
        name = _token_name(token, first=i == 0, language=language, lexicon=lexicon)
        if name is not None:
            found.append(name)
    return found


def _token_name(token: str, *, first: bool, language: str, lexicon: Lexicon | None) -> Name | None:
    """One word as a name, or None when it is a common word, a date word or too short."""
    from assistant.text.terms import is_stopword

    if len(token) < _MIN_NAME or not token[:1].isupper() or token[:1].isdigit():
        return None
    if is_calendar_word(token) and not is_acronym(token):
        return None  # dates are facts, checked as such
    if is_acronym(token) or alias_group(token):
        return Name(token)
    if is_stopword(token):
        return None
    if language == "de":
        if lexicon is None:
            return None if first else Name(token)
        # Sentence starts are capitalised anyway: only a word German text rarely uses counts.
        if not lexicon.is_german_common_noun(token) and (not first or not lexicon.is_german_word(token)):
            return Name(token)
        return None
    if lexicon is not None and lexicon.is_english_word(token):
        return None if first else Name(token, soft=True)
    return Name(token) if not first or lexicon is not None else None


def _translit(text: str) -> str:
    text = fold(text)
    for a, b in _TRANSLIT:
        text = text.replace(a, b)
    return text


@lru_cache(maxsize=4096)
def _haystack(text: str) -> tuple[str, tuple[str, ...]]:
    folded = fold(text)
    return folded, tuple(dict.fromkeys(fold(w) for w in words(text)))


def name_supported(name: str, text: str) -> bool:
    """True when `name` or another spelling of it occurs in `text` (see the module docstring)."""
    if _form_supported(fold(name), text):
        return True
    return any(_form_supported(form, text) for form in alias_group(name))


def name_in_compound(name: str, text: str) -> bool:
    """The name occurs only as the last part of a compound ("Minister" in "Außenminister"): a weak
    match, since it may be a different name ("Spiegel" in "Tagesspiegel")."""
    _, tokens = _haystack(text)
    forms = [fold(name), *(f for f in alias_group(name) if not f.endswith("*"))]
    return any(len(f) >= 4 and t.endswith(f) and t != f for f in forms for t in tokens)


@lru_cache(maxsize=1024)
def _phrase_pattern(form: str) -> re.Pattern[str]:
    """A multi-word name with each word carrying a short German ending: "rotes kreuz" matches
    "roten kreuzes", "vereinte nationen" matches "vereinten nationen" (up to three letters past
    the stem, so "europaische" does not reach "europaischen")."""
    parts = []
    for word in form.split():
        stem = _INFLECTION.sub("", word) if len(word) >= 5 else word
        parts.append(re.escape(stem) + (r"\w{0,3}" if len(stem) >= 3 else ""))
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")


def _form_supported(form: str, text: str) -> bool:
    """`form` is folded; a trailing * makes it a stem that any word of the text may start with."""
    haystack, tokens = _haystack(text)
    if form.endswith("*"):
        stem = form[:-1]
        return any(t.startswith(stem) or f"-{stem}" in t for t in tokens)
    if " " in form:
        return _phrase_pattern(form).search(haystack) is not None
    parts = [p for p in form.split("-") if len(p) >= 4]
    if len(parts) > 1:
        # "Nagorno-Karabakh" is "Berg-Karabach": one supported long part is enough.
        return any(_form_supported(part, text) for part in parts)
    if re.search(r"(?<!\w)" + re.escape(form), haystack):
        return True  # also as the first part of a compound: "kreml" in "kremlsprecher"
    stem = _INFLECTION.sub("", form) if len(form) > 5 else form
    if len(stem) >= 4 and re.search(r"(?<!\w)" + re.escape(stem), haystack):
        return True  # "moskaus" / "moskau", "lukaschenkos" / "lukaschenko"
    target = _translit(stem)
    for token in tokens:
        if abs(len(token) - len(form)) > 6:
            continue
        candidate = _translit(_INFLECTION.sub("", token) if len(token) > 5 else token)
        if candidate == target or SequenceMatcher(None, target, candidate).ratio() >= _SIMILAR:
            return True
    return False


def subject_names(question: str, language: str, lexicon: Lexicon | None = None) -> list[str]:
    """The names the question asks about ("Josh Norman", "Report24", "EZB"). The question's first
    word is skipped: an interrogative ("Who", which the alias table also knows as the WHO) or a verb."""
    tokens = question.split()
    first = tokens[0].strip("¿?¡!,.:;\"'") if tokens else ""
    return list(
        dict.fromkeys(
            n.text for n in name_candidates(question, language, lexicon) if not n.soft and n.text != first
        )
    )


def alias_forms(text: str, language: str, lexicon: Lexicon | None = None) -> list[str]:
    """The other forms of the names in `text` per the alias table, folded, stems without their *:
    "Pashinyan in Belarus" -> "paschinjan", "pashinian", "weissrussland", …. For lexical search,
    which matches words, not names: an English question then finds the German article's spelling."""
    forms: list[str] = []
    for name in subject_names(text, language, lexicon):
        for form in alias_group(name):
            form = form.rstrip("*")
            if form != fold(name) and form not in forms:
                forms.append(form)
    return forms


def unmentioned(names: Sequence[str], text: str) -> list[str]:
    """`names` when `text` mentions none of them (in any spelling `name_supported` accepts); []
    when it mentions one, or when there are none. A passage about something else entirely."""
    if not names or any(name_supported(n, text) for n in names):
        return []
    return list(names)
