"""The text ground floor: facts, names, language, question kinds, terms. Each case is a way a
German/English comparison goes wrong."""

from __future__ import annotations

import pytest

from assistant.text.facts import is_calendar_word, number_facts, numbers_as_read
from assistant.text.language import detect_language
from assistant.text.lexicon import Lexicon
from assistant.text.names import (
    alias_group,
    name_candidates,
    name_in_compound,
    name_supported,
    subject_names,
    unmentioned,
)
from assistant.text.questions import (
    event_question,
    has_number_fact,
    has_temporal_fact,
    premise_question,
    question_kind,
)
from assistant.text.sentences import split_sentences
from assistant.text.terms import negation_words, tokenize


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexicon"))


# --- facts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("etwa 2.000 Soldaten", {"2000"}),
        ("about 2,000 soldiers", {"2000"}),
        ("about 2000 soldiers", {"2000"}),
        ("1,5 Prozent", {"1.5"}),
        ("am 10. November 2020", {"10", "month:11", "2020"}),
        ("on 10 November 2020", {"10", "month:11", "2020"}),
        ("27/09/2023", {"27", "month:9", "2023"}),
        ("2024-06", {"2024", "month:6"}),
        ("um 0,25 Prozentpunkte auf 3,75 Prozent", {"0.25", "3.75"}),
        ("by 0.25 percentage points to 3.75 percent", {"0.25", "3.75"}),
    ],
)
def test_number_facts_normalise_separators_and_months(text: str, expected: set[str]) -> None:
    assert number_facts(text) == expected


def test_spelled_out_numbers_compare_with_digits() -> None:
    assert number_facts("vier erzwungene Fumbles", "de") == number_facts("4 forced fumbles", "en") == {"4"}
    assert number_facts("four forced fumbles", "en") == {"4"}
    # "ein"/"one" are articles far more often than numbers.
    assert number_facts("ein Mann sagte", "de") == number_facts("one of them said", "en") == set()


def test_numbers_inside_compounds() -> None:
    assert number_facts("des etwa sechswöchigen Krieges", "de") == {"6"}
    assert number_facts("a three-day attack", "en") == {"3"}
    assert number_facts("des eintägigen Angriffs", "de") == set()  # 1 counts as no number
    assert number_facts("Zweifel und Achtung", "de") == set()  # not compounds of numbers


def test_vague_amounts_compare_by_magnitude() -> None:
    assert number_facts("hunderttausende Arbeiter", "de") == number_facts(
        "hundreds of thousands of workers", "en"
    )
    assert number_facts("a few hundred workers", "en") != number_facts("hunderttausende Arbeiter", "de")


def test_parts_of_the_day_and_of_a_period() -> None:
    assert number_facts("gegen Mitternacht") == number_facts("around midnight") == {"daypart:midnight"}
    assert number_facts("around noon") != number_facts("gegen Mitternacht")
    assert number_facts("Anfang 2022") == number_facts("in early 2022") == {"2022", "period:early"}
    assert "period:late" in number_facts("Ende 2022")
    assert number_facts("at the end of the day") == set()  # only right before a year or month


def test_may_as_a_verb_is_not_a_month() -> None:
    assert number_facts("they may leave") == set()
    assert number_facts("in May") == {"month:5"}


def test_seasons_and_weekdays_are_temporal_facts() -> None:
    assert number_facts("seit dem Herbst 2020") == {"season:autumn", "2020"}
    assert number_facts("in the autumn of 2020") == {"season:autumn", "2020"}
    assert number_facts("in the summer of 2020") == {"season:summer", "2020"}
    assert number_facts("am Dienstag") == number_facts("on Tuesday") == {"weekday:2"}
    assert number_facts("am Samstagabend") == {"weekday:6"}
    assert number_facts("approximately 100, 000 Armenians") == {"100000"}
    assert is_calendar_word("Tuesday") and is_calendar_word("Mitternacht") and not is_calendar_word("Peskow")


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ECB", "EZB senkt den Leitzins um 0,25 Prozentpunkte"),
        ("Peskov", "Kremlsprecher Dmitri Peskow bestätigte"),
        ("Kremlin", "Kremlsprecher Dmitri Peskow"),
        ("Moscow", "die Reaktion Moskaus fällt verhalten aus"),
        ("Moskaus", "in Moskau"),
        ("Belarus", "Waffen aus Weißrussland erhalten"),
        ("Belarusian", "Stationen aus weißrussischer Produktion"),
        ("Aleynik", "Außenminister Sergei Aleinik"),
        ("Lukashenko", "Lukaschenkos Regierung"),
        ("CSTO", "Mitglieder der OVKS"),
        ("Nato", "trotz der NATO-Mitgliedschaft"),
        ("Nagorno-Karabakh", "Abzug aus Berg-Karabach"),
        ("Azerbaijani", "Angriff aserbaidschanischer Streitkräfte"),
        ("Tajikistan", "Usbekistan und Tadschikistan"),
        (
            "Collective Security Treaty Organization",
            "Organisation des Vertrags für Kollektive Sicherheit (OVKS)",
        ),
        ("Red Cross", "nach Angaben des Roten Kreuzes"),  # each word of a multi-word name inflects
        ("Rotes Kreuz", "the Red Cross said"),
    ],
)
def test_names_match_across_languages_and_spellings(name: str, text: str) -> None:
    assert name_supported(name, text)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Medvedev", "Kremlsprecher Dmitri Peskow"),
        ("Lavrov", "Außenminister Sergei Aleinik"),
        ("Odessa", "auf Kiew vorstieß"),
        ("Russia", "in Moskau"),  # a capital is not its country
        ("Nagorno-Ossetia", "Abzug aus Berg-Karabach"),
        ("Spiegel", "Einem Bericht vom Tagesspiegel zufolge"),  # the end of a compound is not a match
        ("Red Cross", "ein rotes Tuch, ein Kreuz"),  # the words of a multi-word name stay together
    ],
)
def test_other_names_do_not_match(name: str, text: str) -> None:
    assert not name_supported(name, text)


@pytest.mark.parametrize(
    ("name", "supported"),
    [
        ("Peskov", True),
        ("Kremlin", True),
        ("Karabakh", True),
        ("Azerbaijan", True),
        ("Hajiyev", True),
        ("Medvedev", False),
        ("London", False),
    ],
)
def test_names_against_one_evidence_text(name: str, supported: bool) -> None:
    evidence = (
        "Kremlsprecher Dmitri Peskow bestätigte den Abzug aus Berg-Karabach. Aserbaidschan, Hikmet Hajiyev"
    )
    assert name_supported(name, evidence) is supported


def test_a_name_inside_a_compound_is_a_weak_match() -> None:
    assert name_in_compound("Minister", "der belarussische Außenminister")
    assert name_in_compound("Spiegel", "vom Tagesspiegel")
    assert not name_in_compound("Peskov", "Peskow")


def test_alias_groups_come_from_data() -> None:
    assert "ezb" in alias_group("ECB") and "moskau" in alias_group("Moscow")
    assert alias_group("Lukaschenkos")  # inflected forms find their group
    assert alias_group("Frobnitz") == []


def test_german_common_nouns_are_not_names(lexicon: Lexicon) -> None:
    sentence = "Der Spieler, der Newton zum Ende des vierten Quarters den Ball abnahm, war Miller."
    names = [n.text for n in name_candidates(sentence, "de", lexicon)]
    assert "Miller" in names
    assert "Spieler" not in names and "Ende" not in names and "Ball" not in names
    # Places Wiktionary lists as such stay names although they end in a noun ("Land").
    assert [n.text for n in name_candidates("Er reiste nach Russland und Weißrussland.", "de", lexicon)] == [
        "Russland",
        "Weißrussland",
    ]
    # Compounds of common nouns are common nouns.
    assert name_candidates("Die Friedenstruppen und der Kremlsprecher", "de", lexicon) == []


def test_english_vocabulary_is_a_soft_name_and_real_names_are_hard(lexicon: Lexicon) -> None:
    names = {
        n.text: n.soft
        for n in name_candidates(
            "Belarusian Foreign Minister Sergei Aleynik said it on Tuesday.", "en", lexicon
        )
    }
    assert names["Foreign"] is True
    # As frequent in German, yet a German common noun: ordinary in both languages, not a name.
    assert names["Minister"] is True
    assert names["Aleynik"] is False and names["Belarusian"] is False
    assert "Tuesday" not in names  # a date fact, not a name
    assert [n.text for n in name_candidates("Lavrov confirmed it.", "en", lexicon)] == ["Lavrov"]
    assert name_candidates("According to the report, it began.", "en", lexicon) == []


def test_a_known_multi_word_name_is_one_name(lexicon: Lexicon) -> None:
    names = [
        n.text
        for n in name_candidates("They joined the Collective Security Treaty Organization.", "en", lexicon)
    ]
    assert names == ["Collective Security Treaty Organization"]


# --- language, questions, terms, sentences ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("When did Russian peacekeepers leave Karabakh?", "en"),
        ("Wann haben die russischen Friedenstruppen Karabach verlassen?", "de"),
        ("Wer ist Peskow?", "de"),
        ("Who is Peskov?", "en"),
        ("Welche Länder gehören zur OVKS?", "de"),
        ("In welchem Format sendet Sky+HD sein Material?", "de"),
        ("Was sind Kladen?", "de"),
        ("In welchem County liegt Jacksonville?", "de"),
    ],
)
def test_detect_language(question: str, lang: str) -> None:
    assert detect_language(question, default="en") == lang


def test_keyword_queries_and_long_texts_fall_back_to_langid() -> None:
    assert detect_language("Berg-Karabach Friedenstruppen Abzug Peskow", default="en") == "de"
    assert detect_language("Lukashenko security treaty signed", default="de") == "en"
    assert detect_language("2020", default="und") == "und"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Russian peacekeepers leave Karabakh?", "when"),
        ("Und seit wann?", "when"),
        ("In welchem Jahr wurde das Bündnis gegründet?", "when"),
        ("How many soldiers were sent?", "number"),
        ("Mit wie vielen Interceptions erzielte er Touchdowns?", "number"),
        ("And who confirmed it?", "who"),
        ("Für wen spielte John Elway?", "who"),
        ("Wie hieß der Spieler?", "what"),
        ("What did the ECB decide?", "what"),
        ("Why did they leave?", "why"),
        ("Welcher Prozentsatz der Flächen wird genutzt?", "number"),
        ("What proportion of the votes did she get?", "number"),
    ],
)
def test_question_kinds(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_temporal_facts_answer_when() -> None:
    assert has_temporal_fact("The war ended on 10 November 2020.")
    assert has_temporal_fact("seit dem Herbst")
    assert not has_temporal_fact("Peskov confirmed that the withdrawal had begun.")


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("Das seit 1970 abgeholzte Land wird für die Viehzucht genutzt.", False),
        ("Since 2019, the factory has been closed.", False),
        ("In den 1990er Jahren wuchs die Stadt.", False),
        ("91 Prozent des seit 1970 abgeholzten Landes", True),
        ("Im Jahr 2023 verließen 100.000 Armenier die Region.", True),
        ("2000 Soldaten wurden entsandt.", True),
        ("Das Spiel fand vor 2000 Zuschauern statt.", True),
        ("Um 2000 Menschen demonstrierten.", True),
    ],
)
def test_a_year_given_as_a_date_is_not_the_figure_asked_for(text: str, figure: bool) -> None:
    assert has_number_fact(text, "de" if " the " not in text else "en") is figure


def test_tokenize_folds_stems_and_drops_stopwords() -> None:
    terms = tokenize("Die russischen Friedenstruppen haben Berg-Karabach verlassen")
    assert "die" not in terms and "haben" not in terms
    assert "karabach" in terms and "berg-karabach" in terms
    assert tokenize("Friedenstruppen")[0] == tokenize("Friedenstruppe")[0]


def test_negation_words_cover_both_languages() -> None:
    assert {"not", "nicht", "keine", "never"} <= negation_words()


def test_sentences_keep_ordinals_and_abbreviations() -> None:
    text = "Der Krieg endete am 10. November 2020. Z. B. Peskow sagte das. Es folgte u. a. ein Abzug."
    pieces = [text[a:b] for a, b in split_sentences(text, "de")]
    assert pieces[0] == "Der Krieg endete am 10. November 2020."
    assert len(pieces) == 3


def test_german_words_left_in_an_english_sentence_are_found(lexicon: Lexicon) -> None:
    sentence = "The pandemic was caused by the Beulenpest and other diseases such as Typhus and Pocken."
    assert lexicon.untranslated_german(sentence) == ["Beulenpest", "Pocken"]  # "typhus" is English too
    # Loanwords English uses, names and English words are not untranslated.
    assert lexicon.untranslated_german("The Bundestag met in a Kindergarten in Moskau, said Peskov.") == []


def test_digits_written_onto_letters_are_part_of_a_name_not_a_figure() -> None:
    # "Report24" is an outlet; its 24 is no claim a passage must hold (the name check holds the name).
    assert number_facts("the fighting that Report24 describes, after the G7 and MH17", "en") == set()
    assert number_facts("S-400 systems, COVID-19, 25 dead in the 1980s", "en") == {"400", "19", "25", "1980"}


@pytest.mark.parametrize(
    ("question", "event"),
    [
        ("When did Russian peacekeepers leave Karabakh?", "Did Russian peacekeepers leave Karabakh?"),
        ("On what date will Armenia leave the CSTO?", "Will Armenia leave the CSTO?"),
        ("Wann findet der Besuch statt?", "Findet der Besuch statt?"),
        ("Seit wann ist Lukaschenko Präsident?", "Ist Lukaschenko Präsident?"),
        ("In welchem Jahr wurde die OVKS gegründet?", "Wurde die OVKS gegründet?"),
        (
            "Er kündigte einen Besuch an. Wann findet er statt?",
            "Er kündigte einen Besuch an. Findet er statt?",
        ),
        # Not a "when" question, or "when" opens a clause rather than the question.
        ("When Putin spoke, who listened?", None),
        ("Wann Putin kam, ist unklar?", None),
        ("Did he say when it would be completed?", None),
        ("Who signed the ceasefire?", None),
    ],
)
def test_event_question_of_a_when_question(question: str, event: str | None) -> None:
    assert event_question(question) == event


@pytest.mark.parametrize(
    ("question", "event"),
    [
        ("How many people were killed in the fighting?", "Were people killed in the fighting?"),
        ("How much did Azerbaijan pay for the stations?", "Did Azerbaijan pay for the stations?"),
        (
            "According to the article, how many Russian soldiers will be stationed in Belarus?",
            "According to the article, will Russian soldiers be stationed in Belarus?",
        ),
        (
            "Wie viel hat Aserbaidschan für die Stationen bezahlt?",
            "Hat Aserbaidschan für die Stationen bezahlt?",
        ),
        ("Wie viele Menschen leben in Eriwan?", "Leben Menschen in Eriwan?"),
        ("Wie viele russische Soldaten werden stationiert?", "Werden russische Soldaten stationiert?"),
        # An attribute, not an event; an object that would have to move into its clause; no verb.
        ("How old is Putin?", None),
        ("How many soldiers did Russia send?", None),
        ("How many people live in Yerevan?", None),
        ("When did Russian peacekeepers leave Karabakh?", None),
    ],
)
def test_event_question_of_a_how_many_question(question: str, event: str | None) -> None:
    assert event_question(question, "number") == event


@pytest.mark.parametrize(
    ("question", "language", "premise"),
    [
        ("Why did Lukashenko send troops to Ukraine?", "en", "Did Lukashenko send troops to Ukraine?"),
        ("Warum hat Russland 2019 abgezogen?", "de", "Hat Russland 2019 abgezogen?"),
        ("Aus welchem Grund wollte Schetyna ihn einbestellen?", "de", "Wollte Schetyna ihn einbestellen?"),
        (
            "According to DW, Peskov said it ends in May. Why will it take that long?",
            "en",
            "Is this true: According to DW, Peskov said it ends in May?",
        ),
        (
            "Laut Report24 schickt die OVKS Truppen. Wie viele Soldaten sind es?",
            "de",
            "Stimmt Folgendes: Laut Report24 schickt die OVKS Truppen?",
        ),
        # Nothing taken for granted beyond what is asked; an abbreviation ends no statement.
        ("What did the U.S. say about the ceasefire?", "en", None),
        ("Was sagte Dr. Müller am 10. November?", "de", None),
        ("When did Russian peacekeepers leave Karabakh?", "en", None),
        ("Why Putin?", "en", None),
        ("Who is Peskov?", "en", None),
    ],
)
def test_premise_question_asks_what_the_question_takes_for_granted(
    question: str, language: str, premise: str | None
) -> None:
    assert premise_question(question, language) == premise


@pytest.mark.parametrize(
    ("question", "language", "text", "missing"),
    [
        # A passage about somewhere else: none of the question's names occurs in it.
        (
            "How many people were killed on the Armenian-Azerbaijani border that Report24 describes?",
            "en",
            "Weitere 25 Tote gab es bei Auseinandersetzungen nahe der Stadt Aleppo.",
            ["Armenian-Azerbaijani", "Report24"],
        ),
        ("Wie viele Bälle fing Josh Norman ab?", "de", "Die Broncos gewannen das Spiel.", ["Josh", "Norman"]),
        # One of them, in the other language's spelling, is enough.
        ("What did the ECB decide on interest rates?", "en", "Die EZB senkt den Leitzins.", []),
        (
            "Who confirmed the withdrawal from Karabakh?",
            "en",
            "Kremlsprecher Peskow zum Abzug aus Berg-Karabach.",
            [],
        ),
        ("Wann verließen die Friedenstruppen Moskaus Stützpunkt?", "de", "Moscow's troops left.", []),
        # No name asked about ("Who" is the interrogative, not the WHO): nothing to miss.
        ("Who confirmed the withdrawal?", "en", "Die Regierung bestätigte den Abzug.", []),
        ("Wie hoch ist der Leitzins?", "de", "Der Vulkan brach 1883 aus.", []),
    ],
)
def test_a_passage_that_names_nothing_the_question_asks_about(
    lexicon: Lexicon, question: str, language: str, text: str, missing: list[str]
) -> None:
    assert unmentioned(subject_names(question, language, lexicon), text) == missing


_DE_SOURCE = "2010 waren es 1.160.000 Quadratmeilen (2005: 734.000), ein Plus von 1,5 Grad in 1,234 Sekunden."


@pytest.mark.parametrize(
    ("sentence", "language", "sources", "expected"),
    [
        # The German passage's whole numbers, written the English way; mixed separators too.
        ("It was 1.160,000 square miles.", "en", [(_DE_SOURCE, "de")], "It was 1,160,000 square miles."),
        ("Up from 734.000 in 2005.", "en", [(_DE_SOURCE, "de")], "Up from 734,000 in 2005."),
        # A German decimal is never read as a whole number, nor is a number the sources lack.
        ("It took 1,234 seconds.", "en", [(_DE_SOURCE, "de")], "It took 1,234 seconds."),
        (
            "It rose by 1.5 degrees to 2.500.000.",
            "en",
            [(_DE_SOURCE, "de")],
            "It rose by 1.5 degrees to 2.500.000.",
        ),
        # The other way round, and a sentence already written the reader's way.
        ("Etwa 2,000 Soldaten.", "de", [("about 2,000 soldiers", "en")], "Etwa 2.000 Soldaten."),
        ("Etwa 2.000 Soldaten.", "de", [("about 2,000 soldiers", "en")], "Etwa 2.000 Soldaten."),
        ("Etwa 1.234 Sekunden.", "de", [("1.234 seconds", "en")], "Etwa 1.234 Sekunden."),
        # No language to write for: left alone.
        ("1.160,000", "und", [(_DE_SOURCE, "de")], "1.160,000"),
    ],
)
def test_numbers_copied_from_the_sources_are_written_the_readers_way(
    sentence: str, language: str, sources: list[tuple[str, str]], expected: str
) -> None:
    assert numbers_as_read(sentence, language, sources) == expected
