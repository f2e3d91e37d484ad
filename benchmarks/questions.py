"""Questions for the answer benchmark and queries for the retrieval benchmark.

The answer questions were written from the sample articles in data/articles (all German) by reading
them, in English and German, and deliberately ask about facts that evals/cases.yaml does not use.
Each fact lists accepted spellings; a `re:` alternative is a case-insensitive regex (as in the eval
cases), matched with assistant.evaluation.metrics when that module is present.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    language: str
    article: str  # the sample article that holds the answer
    facts: tuple[tuple[str, ...], ...]  # every fact must appear; any alternative of a fact counts


QUESTIONS: tuple[Question, ...] = (
    Question(
        "lachin-corridor",
        "Which corridor were the Russian peacekeepers in Karabakh supposed to keep secure?",
        "en",
        "002_5656326da5719992",
        (("Latschin", "Lachin", "Latchin", "Laçın", "Lacin"),),
    ),
    Question(
        "armenian-control-since",
        "Seit welchem Jahr stand Berg-Karabach unter der Kontrolle armenischer Streitkräfte?",
        "de",
        "002_5656326da5719992",
        (("1994",),),
    ),
    Question(
        "belarus-population",
        "How many inhabitants does Belarus have, according to the article about the Putin-Lukashenko treaty?",
        "en",
        "003_a76e6dd3ce9b940e",
        ((r"re:\b9[.,]2\s*(million|mio|millionen)",),),
    ),
    Question(
        "general-strike-date",
        "An welchem Tag begannen in Belarus hunderttausende Arbeiter einen landesweiten Generalstreik?",
        "de",
        "003_a76e6dd3ce9b940e",
        ((r"re:\b13\.?\s*(august|aug\b)", r"re:\baugust\s+13\b"),),
    ),
    Question(
        "friedman-university",
        "At which university does the historian Alexander Friedman work?",
        "en",
        "003_a76e6dd3ce9b940e",
        (("Saarland", "Saarlandes"),),
    ),
    Question(
        "csto-staff-chief",
        "Which general, the chief of the CSTO staff, is to take part in the mission to Armenia?",
        "en",
        "001_7f1c25dc2caf6ca9",
        (("Sidorow", "Sidorov"),),
    ),
    Question(
        "peacekeepers-since",
        "Seit wann hat Russland Friedenstruppen in Bergkarabach stationiert?",
        "de",
        "001_7f1c25dc2caf6ca9",
        (("2020",),),
    ),
    Question(
        "recognised-republics",
        "Welche separatistischen Volksrepubliken hat Lukaschenko offiziell anerkannt?",
        "de",
        "004_5b23b2942ce73acf",
        (("Luhansk", "Lugansk"), ("Donezk", "Donetsk", "Donezker")),
    ),
)

# Retrieval latency queries: the answer questions plus topics of the GNAD categories, both languages.
RETRIEVAL_QUERIES: tuple[str, ...] = (
    *(q.text for q in QUESTIONS),
    "Peskow Abzug Friedenstruppen",
    "Who supplied weapons to Azerbaijan?",
    "Wie hoch ist die Arbeitslosigkeit in Österreich?",
    "central bank interest rate decision",
    "Flüchtlinge an der griechischen Grenze",
    "Champions League Auslosung",
    "new smartphone release and its price",
    "Klimaschutz und CO2-Emissionen",
    "election results in Turkey",
    "Budget des Bundes und Steuerreform",
    "refugees crossing the Mediterranean",
    "Neue Studie über Krebs",
    "Ukraine ceasefire negotiations in Minsk",
    "Facebook Datenschutz Klage",
    "terror attack in Paris",
    "Wer wurde zum neuen Trainer ernannt?",
)
