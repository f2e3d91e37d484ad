"""Language-agnostic text helpers: tokenising for BM25, query language detection, and the
normalisation of numbers, dates and names that the citation verifier compares."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

STOPWORDS_DE = frozenset(
    [
        "aber",
        "alle",
        "allem",
        "allen",
        "aller",
        "alles",
        "als",
        "also",
        "am",
        "an",
        "ander",
        "andere",
        "anderem",
        "anderen",
        "anderer",
        "anderes",
        "auch",
        "auf",
        "aus",
        "bei",
        "beim",
        "bin",
        "bis",
        "bist",
        "da",
        "damit",
        "dann",
        "das",
        "dass",
        "dasselbe",
        "dazu",
        "dein",
        "deine",
        "dem",
        "den",
        "denn",
        "der",
        "des",
        "dessen",
        "deshalb",
        "die",
        "dies",
        "diese",
        "dieselbe",
        "diesem",
        "diesen",
        "dieser",
        "dieses",
        "doch",
        "dort",
        "du",
        "durch",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "eines",
        "einig",
        "einige",
        "er",
        "es",
        "etwas",
        "euch",
        "euer",
        "für",
        "gegen",
        "gewesen",
        "hab",
        "habe",
        "haben",
        "hat",
        "hatte",
        "hatten",
        "hier",
        "hin",
        "hinter",
        "ich",
        "ihm",
        "ihn",
        "ihnen",
        "ihr",
        "ihre",
        "ihrem",
        "ihren",
        "ihrer",
        "im",
        "in",
        "indem",
        "ins",
        "ist",
        "jede",
        "jedem",
        "jeden",
        "jeder",
        "jedes",
        "jene",
        "jenem",
        "jenen",
        "jener",
        "jetzt",
        "kann",
        "kein",
        "keine",
        "keinem",
        "keinen",
        "keiner",
        "können",
        "könnte",
        "machen",
        "man",
        "manche",
        "mein",
        "meine",
        "mit",
        "muss",
        "musste",
        "nach",
        "nicht",
        "nichts",
        "noch",
        "nun",
        "nur",
        "ob",
        "oder",
        "ohne",
        "sehr",
        "sein",
        "seine",
        "seinem",
        "seinen",
        "seiner",
        "seit",
        "sich",
        "sie",
        "sind",
        "so",
        "solche",
        "soll",
        "sollte",
        "sondern",
        "sonst",
        "über",
        "um",
        "und",
        "uns",
        "unser",
        "unter",
        "viel",
        "vom",
        "von",
        "vor",
        "wann",
        "war",
        "waren",
        "warum",
        "was",
        "weg",
        "weil",
        "weiter",
        "welche",
        "welchem",
        "welchen",
        "welcher",
        "welches",
        "wenn",
        "wer",
        "werde",
        "werden",
        "wie",
        "wieder",
        "will",
        "wir",
        "wird",
        "wirst",
        "wo",
        "wollen",
        "wollte",
        "würde",
        "würden",
        "zu",
        "zum",
        "zur",
        "zwar",
        "zwischen",
        "wurde",
        "wurden",
        "worden",
        "gab",
        "gibt",
    ]
)
STOPWORDS_EN = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "did",
        "does",
        "according",
        "article",
        "articles",
        "say",
        "says",
        "said",
        "tell",
        "told",
    ]
)
STOPWORDS = STOPWORDS_DE | STOPWORDS_EN

_SUFFIXES = ("ungen", "heit", "keit", "ung", "ern", "en", "er", "es", "em", "e", "n", "s")
_EN_SUFFIXES = ("ing", "ed", "es", "s")


def fold(text: str) -> str:
    """Lowercase, strip diacritics, ß -> ss: 'Peskow' and 'Pesków' compare equal."""
    text = text.lower().replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(token: str) -> str:
    """A deliberately light suffix stripper (German and English plurals/inflections)."""
    if len(token) <= 4 or token.isdigit():
        return token
    for suffix in _SUFFIXES + _EN_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def tokenize(text: str) -> list[str]:
    """BM25 terms: folded, stopwords dropped, lightly stemmed; hyphenated compounds also split."""
    terms: list[str] = []
    for raw in words(text):
        folded = fold(raw)
        parts = [folded, *folded.split("-")] if "-" in folded else [folded]
        for part in parts:
            if part and part not in STOPWORDS and (len(part) > 1 or part.isdigit()):
                terms.append(stem(part))
    return terms


_DE_MARKERS = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "wann",
        "wer",
        "wie",
        "was",
        "warum",
        "wo",
        "welche",
        "welcher",
        "hat",
        "haben",
        "wurde",
        "nicht",
        "mit",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einer",
        "sich",
        "auf",
        "für",
        "über",
        "zu",
        "im",
        "vom",
        "zum",
        "zur",
        "aus",
        "dass",
    ]
)
_EN_MARKERS = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "was",
        "were",
        "when",
        "who",
        "how",
        "what",
        "why",
        "where",
        "which",
        "has",
        "have",
        "did",
        "does",
        "not",
        "with",
        "of",
        "a",
        "an",
        "to",
        "in",
        "on",
        "for",
        "from",
        "by",
        "did",
        "leave",
        "that",
        "this",
    ]
)


def detect_language(text: str, default: str = "en") -> str:
    """'de' or 'en' for a question. Function words decide; py3langid breaks ties on longer text."""
    tokens = [t.lower() for t in words(text)]
    de_bonus = 1.5 if any(ch in text for ch in "äöüÄÖÜß") else 0.0
    de = sum(t in _DE_MARKERS for t in tokens) + de_bonus
    en = sum(t in _EN_MARKERS for t in tokens)
    if de > en:
        return "de"
    if en > de:
        return "en"
    if len(tokens) >= 4:
        return _langid(text) or default
    return default


def _langid(text: str) -> str | None:
    identifier = _langid_model()
    lang, _ = identifier.classify(text)
    return str(lang) if lang in ("de", "en") else None


@lru_cache(maxsize=1)
def _langid_model():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(["de", "en"])
    return identifier


LANGUAGE_NAMES = {"de": ("German", "Deutsch"), "en": ("English", "Englisch")}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, (code, code))[0]


# --- numbers and dates ---------------------------------------------------------------------------------

MONTHS = {
    "januar": 1,
    "january": 1,
    "jan": 1,
    "jänner": 1,
    "februar": 2,
    "february": 2,
    "feb": 2,
    "märz": 3,
    "maerz": 3,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "juni": 6,
    "june": 6,
    "jun": 6,
    "juli": 7,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "oktober": 10,
    "october": 10,
    "oct": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "december": 12,
    "dec": 12,
    "dez": 12,
}

# Other temporal words a claim can get wrong: "in the summer" when the source says "im Herbst".
SEASONS = {
    "spring": "spring",
    "frühling": "spring",
    "frühjahr": "spring",
    "summer": "summer",
    "sommer": "summer",
    "autumn": "autumn",
    "herbst": "autumn",
    "winter": "winter",
}
WEEKDAYS = {
    "monday": 1,
    "montag": 1,
    "tuesday": 2,
    "dienstag": 2,
    "wednesday": 3,
    "mittwoch": 3,
    "thursday": 4,
    "donnerstag": 4,
    "friday": 5,
    "freitag": 5,
    "saturday": 6,
    "samstag": 6,
    "sonnabend": 6,
    "sunday": 7,
    "sonntag": 7,
}

# 2.000 / 2,000 / 2 000 / 1.5 / 10. / 2020 / 27/09/2023 / 2023-09-27
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,\u00a0 ]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\b")
_SLASH_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")


def _canon_number(raw: str) -> str:
    compact = raw.replace("\u00a0", "").replace(" ", "")
    # Thousands separators (German 2.000, English 2,000) vs decimals (1.5 / 1,5).
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", compact):
        return str(int(re.sub(r"[.,]", "", compact)))
    if re.fullmatch(r"\d+[.,]\d+", compact):
        return str(float(compact.replace(",", ".")))
    return str(int(compact))


def number_facts(text: str) -> set[str]:
    """Canonical numeric and temporal facts in a text: numbers (separators normalised), months as
    'month:N', seasons as 'season:NAME', weekdays as 'weekday:N'."""
    facts: set[str] = set()
    # "100, 000" (a model's spacing) is one number, like "100,000".
    text = re.sub(r"(\d)([.,]) (\d{3})\b", r"\1\2\3", text)
    remaining = text
    for match in _ISO_DATE.finditer(text):
        facts.add(str(int(match.group(1))))
        facts.add(f"month:{int(match.group(2))}")
        if match.group(3):
            facts.add(str(int(match.group(3))))
        remaining = remaining.replace(match.group(0), " ")
    for match in _SLASH_DATE.finditer(text):
        facts.update({str(int(match.group(1))), f"month:{int(match.group(2))}", str(int(match.group(3)))})
        remaining = remaining.replace(match.group(0), " ")
    for match in _NUMBER.finditer(remaining):
        facts.add(_canon_number(match.group(0)))
    for word in words(text):
        lower = word.lower()
        # Compounds count too: "Herbstoffensive" is about autumn.
        for key, season in SEASONS.items():
            if lower == key or (lower.startswith(key) and len(key) >= 6):
                facts.add(f"season:{season}")
        for key, weekday in WEEKDAYS.items():
            if lower == key or (lower.startswith(key) and len(key) >= 6):  # "Samstagabend"
                facts.add(f"weekday:{weekday}")
        month = MONTHS.get(lower)
        if month is not None and (len(word) > 3 or word[:1].isupper()):
            # "may"/"mai" as ordinary words are too common to count unless capitalised.
            if word.lower() in ("may", "mai") and not word[:1].isupper():
                continue
            facts.add(f"month:{month}")
    return facts


# --- names ---------------------------------------------------------------------------------------------

_NAME_STOP = STOPWORDS | frozenset(
    [
        "i",
        "ich",
        "the",
        "der",
        "die",
        "das",
        "this",
        "these",
        "those",
        "it",
        "its",
        "they",
        "there",
        "however",
        "also",
        "moreover",
        "according",
        "laut",
        "gemäß",
        "jedoch",
        "außerdem",
        "zudem",
        "dabei",
        "bisher",
        "nach",
        "vor",
        "in",
        "on",
        "at",
    ]
)


def name_candidates(sentence: str) -> list[str]:
    """Capitalised words that are not sentence-initial: the names an answer sentence asserts."""
    tokens = words(sentence)
    found: list[str] = []
    for i, token in enumerate(tokens):
        if i == 0 or not token[:1].isupper() or len(token) < 3:
            continue
        if fold(token) in _NAME_STOP or MONTHS.get(token.lower()):
            continue
        found.append(token)
    return found


def _translit(text: str) -> str:
    # Folds common German/English transliteration differences (Peskow/Peskov, Aserbaidschan/Azerbaijan).
    text = fold(text)
    for a, b in (
        ("tsch", "ch"),
        ("sch", "sh"),
        ("dsh", "j"),
        ("w", "v"),
        ("z", "s"),
        ("kh", "ch"),
        ("ij", "i"),
    ):
        text = text.replace(a, b)
    return text


def name_supported(name: str, evidence_text: str) -> bool:
    """True when `name` (or a close transliteration) occurs in the evidence text. For a hyphenated
    name one supported long part is enough: "Nagorno-Karabakh" is "Berg-Karabach" in German."""
    parts = [p for p in name.split("-") if len(p) >= 4]
    if len(parts) > 1:
        return any(name_supported(part, evidence_text) for part in parts)
    target = fold(name)
    haystack = fold(evidence_text)
    if target in haystack:
        return True
    stem_ = target[: max(4, len(target) - 3)]
    if len(stem_) >= 4 and re.search(r"\b" + re.escape(stem_), haystack):
        return True
    t_name = _translit(name)
    for token in set(words(evidence_text)):
        if abs(len(token) - len(name)) > 6:
            continue
        if SequenceMatcher(None, t_name, _translit(token)).ratio() >= 0.8:
            return True
    return False
