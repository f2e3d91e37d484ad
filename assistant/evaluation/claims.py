"""The text side of the eval metrics: normalisation and pattern matching, sentences, language, and
the number and name claims of answer sentences checked against their cited quotes.

Independent of the answer pipeline's own verifier (assistant.text, assistant.cite) on purpose: an
eval that graded answers with the verifier's code would pass whatever the verifier lets through."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from pydantic import BaseModel, Field

from assistant.evaluation.cases import compile_pattern
from assistant.types import Answer

# --- text normalisation ----------------------------------------------------------------------------

MARKER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
_QUOTES = str.maketrans(
    {c: '"' for c in "\u201e\u201c\u201d\u00ab\u00bb\u201f"} | {"\u2019": "'", "\u2018": "'"}
)
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*(?![.,]?\d)")
_DECIMAL = re.compile(r"(?<![\d.,])(\d+),(\d+)(?![.,]?\d)")
_ORDINAL = re.compile(r"(?<![\d.,])(\d{1,4})(?:\.(?=\s)|st\b|nd\b|rd\b|th\b)")


def strip_markers(text: str) -> str:
    return MARKER.sub(" ", text)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Weißrussland' -> 'weissrussland', 'Pesków' -> 'peskow'."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def canonical_numbers(text: str) -> str:
    """2.000 / 2,000 -> 2000; 9,2 -> 9.2; 10. / 10th -> 10 (thousands groups must have 3 digits)."""
    text = _THOUSANDS.sub(lambda m: re.sub(r"[.,]", "", m.group(0)), text)
    text = _DECIMAL.sub(r"\1.\2", text)
    return _ORDINAL.sub(r"\1", text)


def soft_normalise(text: str) -> str:
    """What `re:` patterns see: markers removed, dashes/quotes unified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", strip_markers(text)).translate(_DASHES).translate(_QUOTES)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """What literal matchers see: soft_normalise + fold + canonical numbers."""
    return canonical_numbers(fold(soft_normalise(text)))


def matches(matcher: str, text: str) -> bool:
    """True when a literal (folded, left word boundary; right boundary after a digit) or a `re:` regex
    (case-insensitive, on the soft-normalised text) occurs in `text`."""
    pattern = compile_pattern(matcher)
    if pattern is not None:
        return pattern.search(soft_normalise(text)) is not None
    needle = normalise(matcher)
    if not needle:
        return False
    left = r"(?<!\w)" if needle[0].isalnum() else ""
    right = r"(?!\d)" if needle[-1].isdigit() else ""
    return re.search(left + re.escape(needle) + right, normalise(text)) is not None


def _wordset(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


_ABBREVIATIONS = _wordset(
    "z.b u.a d.h bzw ca vgl nr dr prof st mr mrs ms jr sr etc e.g i.e vs mio mrd sept okt dez"
)


_SENTENCE_END = re.compile(r"[.!?]+[\"')\]”“»]*(?:\s*(?:\[\d+\])+)?(?=\s+[\"'(„“«]?[A-ZÄÖÜ0-9])")
_MARKERS_ONLY = re.compile(r"(?:\[\d+\]\s*)+[.!?]*")


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; a marker group right after a full stop belongs to the sentence before."""
    text = " ".join(text.split())
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        before = text[start : m.start()]
        last = before.rsplit(None, 1)[-1] if before.split() else ""
        # "am 10. November", "z. B.", "Mrd." do not end a sentence.
        if re.fullmatch(r"\d{1,2}", last) or fold(last).strip("(") in _ABBREVIATIONS or len(last) == 1:
            continue
        pieces.append(text[start : m.end()].strip())
        start = m.end()
    pieces.append(text[start:].strip())
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _MARKERS_ONLY.fullmatch(piece):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


_DE_FUNCTION_WORDS = _wordset(
    "der die das und ist nicht den dem des ein eine sich mit von zu auf für wurde hat sind"
)
_EN_FUNCTION_WORDS = _wordset("the and is not of to in that was were has have with for by on are it")


def sentence_language(sentence: str, default: str) -> str:
    """'de' or 'en' by function words (an English answer may quote German evidence verbatim)."""
    words = [fold(w) for w in _WORD.findall(sentence)]
    de = sum(w in _DE_FUNCTION_WORDS for w in words)
    en = sum(w in _EN_FUNCTION_WORDS for w in words)
    if de > en:
        return "de"
    if en > de:
        return "en"
    return default


_QUOTED = re.compile(r"“[^”]*”|„[^“”]*[“”]|\"[^\"]*\"|«[^»]*»")
# A quoted name or title ("On the Freedom of a Christian") is part of an answer in any language; a
# quoted passage is what the reader reads.
_SHORT_QUOTE_WORDS = 8


def answer_language(text: str, fallback: str) -> str:
    """The language the reader gets: short quotes (names, titles) aside, quoted passages included.
    An English answer that is a German quote is a German answer."""

    def drop_short(match: re.Match[str]) -> str:
        return " " if len(match.group(0).split()) <= _SHORT_QUOTE_WORDS else match.group(0)

    return sentence_language(_QUOTED.sub(drop_short, strip_markers(text)), fallback)


# Months and weekdays (German and English) -> canonical claim tokens.
MONTHS = {
    "januar": 1,
    "jänner": 1,
    "january": 1,
    "februar": 2,
    "feber": 2,
    "february": 2,
    "märz": 3,
    "maerz": 3,
    "march": 3,
    "april": 4,
    "mai": 5,
    "may": 5,
    "juni": 6,
    "june": 6,
    "juli": 7,
    "july": 7,
    "august": 8,
    "september": 9,
    "oktober": 10,
    "october": 10,
    "november": 11,
    "dezember": 12,
    "december": 12,
}

# Exonyms and translations of names that differ between English and German beyond transliteration.
# Key: canonical name; values: folded prefixes (a token or compound starting with one matches).
GAZETTEER: dict[str, tuple[str, ...]] = {
    "russia": ("russia", "russland", "russisch", "russe", "russen"),
    "moscow": ("moscow", "moskau"),
    "kremlin": ("kremlin", "kreml"),
    "armenia": ("armenia", "armeni"),
    "azerbaijan": ("azerbaijan", "azeri", "aserbaidschan"),
    "belarus": ("belarus", "byelorus", "weissruss", "belaruss"),
    "ukraine": ("ukrain",),
    "karabakh": ("karabakh", "karabach", "bergkarabach", "nagorno", "artsakh", "arzach"),
    "csto": (
        "csto",
        "ovks",
        "collective security treaty",
        "vertrags uber kollektive",
        "vertrags fur kollektive",
    ),
    "nato": ("nato",),
    "turkey": ("turkey", "turkish", "turkei", "turkisch", "turkiye"),
    "yerevan": ("yerevan", "jerewan", "eriwan", "erivan"),
    "kyiv": ("kyiv", "kiev", "kiew"),
    "crimea": ("crimea", "krim"),
    "poland": ("poland", "polish", "polen", "polnisch"),
    "warsaw": ("warsaw", "warschau"),
    "vienna": ("vienna", "wien"),
    "austria": ("austria", "osterreich"),
    "geneva": ("geneva", "genf"),
    "beijing": ("beijing", "peking"),
    "china": ("china", "chinese", "chines"),
    "syria": ("syria", "syrien", "syrisch"),
    "germany": ("germany", "german", "deutsch"),
    "europe": ("europe", "europa", "europai"),
    "usa": ("usa", "us", "united states", "america", "amerika", "vereinigte staaten"),
    "soviet": ("soviet", "sowjet"),
    "world war": ("world war", "weltkrieg"),
    "lachin": ("lachin", "latschin"),
    "lithuania": ("lithuania", "litauen", "litauisch"),
    "romania": ("romania", "rumanien", "rumanisch"),
    "kazakhstan": ("kazakhstan", "kasachstan"),
    "uzbekistan": ("uzbekistan", "usbekistan"),
    "tajikistan": ("tajikistan", "tadschikistan"),
    "islamic state": (
        "islamic state",
        "islamischen staat",
        "islamischer staat",
        "isis",
        "isil",
        "daesh",
        "is",
    ),
    "un": ("un", "uno", "united nations", "vereinte nationen"),
    "eu": ("eu", "european union", "europaische union"),
    "monday": ("monday", "montag"),
    "tuesday": ("tuesday", "dienstag"),
    "wednesday": ("wednesday", "mittwoch"),
    "thursday": ("thursday", "donnerstag"),
    "friday": ("friday", "freitag"),
    "saturday": ("saturday", "samstag", "sonnabend"),
    "sunday": ("sunday", "sonntag"),
}

# Capitalised words that are not name claims: function words and sentence starters (EN/DE), title
# words, and words about the sources themselves.
_NOT_NAMES = _wordset(
    """a an the this that these those it its there their they he she his her we i you our my your
    however also according in on at to by for from of and or but as after before since during while with
    without yes no not neither nor both either when where which who whom what why how if whether although
    though because so thus then therefore hence instead meanwhile moreover furthermore additionally still
    yet only just nearly almost about around approximately roughly some many most several all each every
    one two three first second third finally initially later earlier previously currently recently today
    yesterday reportedly allegedly apparently officially overall such other another further regarding
    concerning despite due given based unlike like among between within against through upon into across
    along amid beyond toward towards via following until over under per more less nothing none nobody
    article articles report reports source sources evidence passage passages text
    president prime minister foreign secretary general spokesman spokesperson spokeswoman vice deputy
    chancellor colonel defence defense head leader chief mr mrs ms dr professor historian ambassador
    der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
    er sie es wir ihr ich man sein seine ihre ihren laut gemäß zufolge demnach demzufolge jedoch allerdings
    außerdem zudem ferner dabei damit darüber daher deshalb bisher bislang bereits schon noch nur auch
    dann danach zuvor später heute gestern damals inzwischen mittlerweile anschließend zunächst
    schließlich offenbar angeblich insbesondere insgesamt rund etwa ungefähr mehr mindestens knapp
    nach vor seit im am zum zur vom beim ins auf aus bei mit ohne von zu über unter während wegen trotz
    gegen um neben zwischen und oder aber denn doch sowohl weder weil dass obwohl wenn als wie wo wann wer
    was warum welche welcher welches ob dies diese dieser dieses dort hier ja nein nicht nichts niemand so
    artikel bericht berichten berichte quelle quellen"""
)
_DE_DETERMINERS = _wordset(
    """der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
    sein seine seinen seinem seiner ihr ihre ihren ihrem ihrer dieser diese dieses diesen diesem
    jeder jede jedes jeden jedem alle allen aller mehrere mehreren viele vielen einige einigen
    im am zum zur vom beim ins"""
)
_DE_NOUN_SUFFIXES = ("ung", "ungen", "heit", "keit", "schaft", "tion", "tionen", "tat", "nis", "tum", "ismus")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DOTTED_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")


def number_claims(text: str) -> set[str]:
    """Canonical numbers and months in a text: {'2000', '10', 'month:11', '2020'}."""
    text = strip_markers(text)
    claims: set[str] = set()
    for m in _ISO_DATE.finditer(text):
        claims |= {str(int(m.group(1))), f"month:{int(m.group(2))}", str(int(m.group(3)))}
    for m in _DOTTED_DATE.finditer(text):
        claims |= {str(int(m.group(1))), f"month:{int(m.group(2))}", str(int(m.group(3)))}
    rest = _DOTTED_DATE.sub(" ", _ISO_DATE.sub(" ", text))
    canon = canonical_numbers(rest)
    for m in re.finditer(r"\d+(?:\.\d+)?", canon):
        raw = m.group(0)
        claims.add(str(float(raw)) if "." in raw else str(int(raw)))
    for word in _WORD.findall(text):
        month = MONTHS.get(word.casefold())
        if month is not None and (word[:1].isupper() or word.casefold() not in ("may", "mai")):
            claims.add(f"month:{month}")
    return claims


def _is_acronym(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 2


def _gazetteer_key(token: str) -> str | None:
    folded = fold(token)
    for key, prefixes in GAZETTEER.items():
        for prefix in prefixes:
            if len(prefix) <= 3:
                if folded == prefix:
                    return key
            elif folded.startswith(prefix):
                return key
    return None


def _after_determiner(tokens: Sequence[str], i: int) -> bool:
    """German noun phrase: 'der Abzug', 'der russischen Friedenstruppen' (up to two adjectives between)."""
    j = i - 1
    for _ in range(3):
        if j < 0:
            return False
        previous = fold(tokens[j])
        if previous in _DE_DETERMINERS:
            return True
        if not (tokens[j][:1].islower() and previous.endswith(("e", "en", "er", "es", "em"))):
            return False
        j -= 1
    return False


def name_claims(sentence: str, language: str) -> list[str]:
    """Capitalised words a sentence asserts as names. English: any capitalised word that is not a
    sentence starter or title word. German (all nouns are capitalised): only words that are acronyms,
    known places/organisations, or not preceded by a determiner and not ending in a noun suffix."""
    tokens = _WORD.findall(strip_markers(sentence))
    names: list[str] = []
    for i, token in enumerate(tokens):
        if not token[:1].isupper() or fold(token) in _NOT_NAMES or token.casefold() in MONTHS:
            continue
        if _is_acronym(token) or _gazetteer_key(token) is not None:
            names.append(token)
            continue
        if len(token) < 3:
            continue
        if language == "de" and (_after_determiner(tokens, i) or fold(token).endswith(_DE_NOUN_SUFFIXES)):
            continue
        names.append(token)
    return names


def _translit(text: str) -> str:
    # Folds German/English transliteration differences: Peskow/Peskov, Paschinjan/Pashinyan,
    # Aserbaidschan/Azerbaijan, Karabach/Karabakh.
    text = fold(text)
    for a, b in (
        ("tsch", "ch"),
        ("dsch", "j"),
        ("sch", "sh"),
        ("kh", "ch"),
        ("w", "v"),
        ("z", "s"),
        ("j", "y"),
        ("ij", "iy"),
        ("ck", "k"),
        ("ph", "f"),
    ):
        text = text.replace(a, b)
    return text


def name_supported(name: str, quotes_text: str) -> bool:
    """True when `name`, a translation from the gazetteer, or a close transliteration occurs in the quotes."""
    key = _gazetteer_key(name)
    haystack = fold(quotes_text)
    if key is not None:
        for prefix in GAZETTEER[key]:
            pattern = r"(?<!\w)" + re.escape(prefix) + (r"(?!\w)" if len(prefix) <= 3 else "")
            # Compounds: 'Kremlsprecher' supports 'Kremlin', 'Außenminister' contains nothing extra.
            if re.search(pattern, haystack) or (len(prefix) >= 5 and prefix in haystack):
                return True
    target = _translit(name)
    if len(target) >= 5 and target in _translit(quotes_text):
        return True
    stem = target[: max(4, len(target) - 3)]
    for token in set(_WORD.findall(quotes_text)):
        candidate = _translit(token)
        if candidate == target or (len(stem) >= 4 and candidate.startswith(stem)):
            return True
        if abs(len(candidate) - len(target)) <= 3 and SequenceMatcher(None, target, candidate).ratio() >= 0.8:
            return True
    return False


class SentenceSupport(BaseModel):
    sentence: str
    markers: list[int] = Field(default_factory=list)
    claims: list[str] = Field(default_factory=list, description="Numbers, months and names it asserts.")
    missing: list[str] = Field(default_factory=list, description="Claims absent from the cited quotes.")
    cited: bool = False
    supported: bool = False


def citation_support(answer: Answer, language: str | None = None) -> list[SentenceSupport]:
    """Per answer sentence that makes claims (numbers, dates, names): are they all in the quotes of the
    citations it carries? A claim sentence without a marker is uncited, hence unsupported."""
    lang = language or answer.language
    quotes = {c.marker: c.quote for c in answer.citations}
    results: list[SentenceSupport] = []
    for sentence in split_sentences(answer.answer):
        markers = answer_markers(sentence)
        numbers = number_claims(sentence)
        names = name_claims(sentence, sentence_language(sentence, lang))
        if not numbers and not names:
            continue
        cited_text = " ".join(quotes[m] for m in markers if m in quotes)
        missing: list[str] = []
        if not markers or not cited_text:
            missing = sorted(numbers) + names
        else:
            quote_numbers = number_claims(cited_text)
            missing = sorted(n for n in numbers if n not in quote_numbers)
            missing += [n for n in names if not name_supported(n, cited_text)]
        results.append(
            SentenceSupport(
                sentence=sentence,
                markers=markers,
                claims=sorted(numbers) + names,
                missing=missing,
                cited=bool(markers),
                supported=bool(markers) and bool(cited_text) and not missing,
            )
        )
    return results


def answer_markers(answer_text: str) -> list[int]:
    return [int(m) for m in MARKER.findall(answer_text)]
