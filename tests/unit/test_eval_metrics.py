"""The eval metrics on hand-made answers: each check both passes a grounded answer and catches a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation import claims
from assistant.evaluation import metrics as m
from assistant.evaluation.baseline import Baseline, Threshold, compare, ratchet
from assistant.evaluation.cases import Case, load_cases
from assistant.paths import default_prompts_dir
from assistant.prompts import Prompts
from assistant.types import Answer, Chunk, Citation, Passage

ROOT = Path(__file__).resolve().parents[2]
CASES = {c.id: c for c in load_cases(ROOT / "evals" / "cases.yaml")}

PESKOV = (
    "Kremlsprecher Dmitri Peskow bestätigte, dass die russischen Streitkräfte mit dem Abzug aus "
    "Berg-Karabach begonnen hätten."
)
CEASEFIRE = (
    "Der Krieg endete am 10. November 2020 mit einem Waffenstillstand, der vom aserbaidschanischen "
    "Präsidenten Ilham Aliyev und dem armenischen Premierminister Nikol Pashinyan unter Vermittlung "
    "des russischen Präsidenten Wladimir Putin unterzeichnet wurde."
)
TROOPS = (
    "Im Rahmen des Waffenstillstands wurden etwa 2.000 russische Friedenstruppen in die noch von Armeniern "
    "kontrollierten Gebiete Karabach entsandt."
)
ARTICLE = f"{PESKOV} Zu den Einzelheiten des Abzugs machte Peskow keine Angaben. {CEASEFIRE} {TROOPS}"
ARTICLE_ID = "002_5656326da5719992"


def _citation(marker: int, quote: str, article_id: str = ARTICLE_ID) -> Citation:
    start = max(ARTICLE.find(quote), 0)
    return Citation(
        marker=marker, article_id=article_id, title="t", quote=quote, start=start, end=start + len(quote)
    )


def answer(text: str, *quotes: str, language: str = "en", abstained: bool = False, **kw: object) -> Answer:
    citations = [_citation(i, q) for i, q in enumerate(quotes, start=1)]
    return Answer(
        question="q", answer=text, abstained=abstained, language=language, citations=citations, **kw
    )  # type: ignore[arg-type]


def passage(article_id: str, text: str, score: float = 1.0) -> Passage:
    chunk = Chunk(
        id=f"{article_id}#{hash(text) % 1000}",
        article_id=article_id,
        text=text,
        start=0,
        end=len(text),
        index=0,
    )
    return Passage(chunk=chunk, score=score)


# --- normalisation and matchers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("etwa 2.000 Soldaten", "etwa 2000 Soldaten"),
        ("about 2,000 soldiers", "about 2000 soldiers"),
        ("100.000 Armenier", "100000 Armenier"),
        ("9,2 Millionen", "9.2 Millionen"),
        ("am 10. November", "am 10 November"),
        ("the 10th of November", "the 10 of November"),
        ("2018, 2022", "2018, 2022"),
        ("1.5 percent", "1.5 percent"),
    ],
)
def test_canonical_numbers(raw: str, expected: str) -> None:
    assert claims.canonical_numbers(raw) == expected


def test_literal_matchers_fold_and_respect_number_boundaries() -> None:
    assert claims.matches("2.000", "about 2,000 peacekeepers [1]")
    assert claims.matches("Weißrussland", "aus WEISSRUSSLAND")
    assert claims.matches("Peskow", "Peskows Sprecher")  # a word start is enough (inflection, compounds)
    assert not claims.matches("80", "in 1980")
    assert not claims.matches("80", "800 votes")
    assert not claims.matches("two", "a network")
    assert claims.matches("re:\\b2024\\b", "in 2024 [1].")
    assert not claims.matches("re:\\b2024\\b", "in 20245")


def test_regex_sees_the_answer_without_markers() -> None:
    assert claims.matches("re:begun withdrawing", "begun [1] withdrawing")


# --- the committed peacekeepers case: correct answers pass, invented dates do not ---------------

GOOD_PEACEKEEPER_ANSWERS = [
    "Kremlin spokesman Dmitry Peskov confirmed that Russian forces have begun withdrawing from "
    "Nagorno-Karabakh [1]. The article does not say when they left and gives no date for the withdrawal.",
    "Peskov confirmed that the withdrawal of the peacekeepers, who were deployed under the 2020 ceasefire, "
    "has begun [1]; he gave no details, and no date of departure is given.",
    "The ceasefire of 10 November 2020 brought about 2,000 Russian peacekeepers to Karabakh [2]. Peskov "
    "confirmed the withdrawal had started [1], but did not give a date.",
    "Kremlsprecher Peskow bestätigte, dass der Abzug aus Berg-Karabach begonnen hat [1]. Ein Datum "
    "für den Abzug nennt der Artikel nicht, Peskow machte keine Angaben zu Einzelheiten.",
]
BAD_PEACEKEEPER_ANSWERS = [
    "Russian peacekeepers left Karabakh on 12 March 2024 [1].",
    "Peskov confirmed that the peacekeepers withdrew in April 2024 [1].",
    "The withdrawal was completed in 2023 [1].",
    "Die russischen Friedenstruppen verließen Berg-Karabach im April 2024 [1].",
]


@pytest.mark.parametrize("text", GOOD_PEACEKEEPER_ANSWERS)
def test_correct_peacekeeper_answers_state_the_facts_and_nothing_forbidden(text: str) -> None:
    for case_id in ("peacekeepers-left-when-en", "peacekeepers-left-when-de"):
        case = CASES[case_id]
        assert all(m.fact_hits(case, text)), (case_id, m.fact_hits(case, text))
        assert m.forbidden_hits(case, text) == []


@pytest.mark.parametrize("text", BAD_PEACEKEEPER_ANSWERS)
def test_an_invented_departure_date_is_a_forbidden_claim(text: str) -> None:
    assert m.forbidden_hits(CASES["peacekeepers-left-when-en"], text)


def test_partial_answer_without_the_no_date_statement_misses_a_fact() -> None:
    hits = m.fact_hits(CASES["peacekeepers-left-when-en"], "Peskov confirmed the withdrawal has begun [1].")
    assert hits == [True, True, False]


def test_false_premise_case_accepts_a_correction_and_rejects_acceptance() -> None:
    case = CASES["false-premise-belarus-troops-en"]
    good = "According to the articles, Lukashenko has not sent Belarusian soldiers to Ukraine so far [1]."
    bad = "Lukashenko sent Belarusian troops to Ukraine to support Russia [1]."
    assert all(m.fact_hits(case, good)) and not m.forbidden_hits(case, good)
    assert m.forbidden_hits(case, bad)


# --- retrieval ------------------------------------------------------------------------------------


def _case(**kw: object) -> Case:
    base: dict[str, object] = {
        "id": "c",
        "question": "what?",
        "language": "en",
        "category": "answerable",
        "answerable": True,
        "expected_articles": ["a", "b"],
        "facts": [["x"]],
    }
    return Case.model_validate(base | kw)


def test_retrieval_recall_and_reciprocal_rank() -> None:
    case = _case(evidence=["The   answer is here"])
    passages = [passage("z", "nothing"), passage("a", "x. The answer\nis here. y"), passage("b", "other")]
    scores = m.retrieval_scores(case, passages, k=5)
    assert scores is not None
    assert scores.article_recall == 1.0 and scores.article_rr == 0.5
    assert scores.chunk_recall == 1.0 and scores.chunk_rr == 0.5
    top1 = m.retrieval_scores(case, passages, k=1)
    assert top1 is not None and top1.article_recall == 0.0 and top1.chunk_recall == 0.0
    # The excerpt in a non-expected article does not count.
    wrong = m.retrieval_scores(case, [passage("z", "The answer is here")], k=5)
    assert wrong is not None and wrong.chunk_rr == 0.0
    assert (
        m.retrieval_scores(
            _case(category="unanswerable", answerable=False, expected_articles=[], facts=[]), [], 5
        )
        is None
    )


# --- citations ------------------------------------------------------------------------------------


def test_citation_validity_counts_markers_without_a_citation() -> None:
    assert m.citation_validity(answer("Peskov confirmed it [1].", PESKOV)) == (1, 1)
    assert m.citation_validity(answer("Peskov confirmed it [1][3].", PESKOV)) == (1, 2)


def test_quote_fidelity_needs_a_verbatim_quote_of_a_known_article() -> None:
    texts = {ARTICLE_ID: ARTICLE}
    assert m.quote_fidelity(answer("x [1]", PESKOV), texts) == (1, 1)
    assert m.quote_fidelity(answer("x [1]", PESKOV.replace("Peskow", "Peskov")), texts) == (0, 1)
    unknown = Answer(
        question="q", answer="x [1]", abstained=False, language="en", citations=[_citation(1, PESKOV, "nope")]
    )
    assert m.quote_fidelity(unknown, texts) == (0, 1)


def test_cross_lingual_names_and_numbers_are_supported() -> None:
    text = (
        "Kremlin spokesman Dmitry Peskov confirmed that Russian forces have begun withdrawing from "
        "Nagorno-Karabakh [1]. The war ended on 10 November 2020 with a ceasefire signed by Azerbaijani "
        "President Ilham Aliyev and Armenian Prime Minister Nikol Pashinyan, mediated by Russian President "
        "Vladimir Putin [2]. About 2,000 Russian peacekeepers were deployed [3]."
    )
    support = claims.citation_support(answer(text, PESKOV, CEASEFIRE, TROOPS))
    assert [s.supported for s in support] == [True, True, True], [s.missing for s in support]


def test_invented_date_wrong_marker_and_uncited_claims_are_unsupported() -> None:
    support = claims.citation_support(
        answer(
            "Russian peacekeepers left Karabakh on 12 March 2024 [1]. "
            "About 2,000 peacekeepers were deployed [1]. Sergei Lavrov welcomed the move [1]. "
            "Aliyev signed the ceasefire. The article gives no date.",
            PESKOV,
        )
    )
    by_sentence = {s.sentence.split()[0]: s for s in support}
    assert set(by_sentence["Russian"].missing) == {"12", "2024", "month:3"}
    assert by_sentence["About"].missing == ["2000"]  # cites [1], but the number is in another sentence
    assert by_sentence["Sergei"].missing == ["Sergei", "Lavrov"]
    assert not by_sentence["Aliyev"].cited and not by_sentence["Aliyev"].supported
    assert "The" not in by_sentence  # no claims: not counted


def test_german_nouns_are_not_names_but_german_names_are() -> None:
    assert claims.name_claims(
        "Peskow bestätigte, dass der Abzug der russischen Friedenstruppen begonnen hat.", "de"
    ) == ["Peskow"]
    assert claims.name_claims("Laut dem Sprecher des Präsidenten Wladimir Putin, Dmitri Peskow.", "de") == [
        "Wladimir",
        "Putin",
        "Dmitri",
        "Peskow",
    ]


def test_sentence_splitting_keeps_ordinals_and_trailing_markers() -> None:
    assert claims.split_sentences(
        "Der Krieg endete am 10. November 2020 [2]. Danach z. B. kamen 2.000 Soldaten. [3] Ende."
    ) == [
        "Der Krieg endete am 10. November 2020 [2].",
        "Danach z. B. kamen 2.000 Soldaten. [3]",
        "Ende.",
    ]
    assert claims.split_sentences("Wir wollen das nicht.. [1].") == ["Wir wollen das nicht.. [1]."]


def test_number_claims_cover_dates_in_all_spellings() -> None:
    assert (
        claims.number_claims("am 10. November 2020")
        == claims.number_claims("on November 10th, 2020")
        == {
            "10",
            "2020",
            "month:11",
        }
    )
    assert claims.number_claims("27/09/2023") == {"27", "month:9", "2023"}
    assert claims.number_claims("It may rain [1].") == set()


# --- per case and aggregation ---------------------------------------------------------------------


def test_score_case_and_aggregate() -> None:
    answerable = CASES["peskov-confirmed-withdrawal-en"]
    unanswerable = CASES["kazakhstan-capital-en"]
    good = answer("Kremlin spokesman Dmitry Peskov confirmed it [1].", PESKOV)
    abstain = answer("I could not find anything about this.", abstained=True, mode="abstained")
    invented = answer(
        "The capital is Astana [1].",
        PESKOV,
        notes=["dropped: 'It is Astana [1].' (Astana not in the cited evidence)"],
        mode="extractive",
    )
    texts = {ARTICLE_ID: ARTICLE}
    s_good = m.score_case(answerable, good, [passage(ARTICLE_ID, PESKOV)], texts, 5)
    assert s_good.passed and s_good.fact_recall == 1.0
    s_false_abstain = m.score_case(answerable, abstain, [], texts, 5)
    assert not s_false_abstain.passed and s_false_abstain.fact_recall == 0.0
    s_abstain = m.score_case(unanswerable, abstain, [], texts, 5)
    assert s_abstain.passed
    s_invented = m.score_case(unanswerable, invented, [], texts, 5)
    assert s_invented.forbidden_hits == ["Astana"] and s_invented.draft_rejected == 1

    records = [
        m.CaseRecord(answerable, s_good, 1.0),
        m.CaseRecord(answerable, s_false_abstain, 2.0),
        m.CaseRecord(unanswerable, s_abstain, 3.0),
        m.CaseRecord(unanswerable, s_invented, 10.0),
        m.CaseRecord(unanswerable, None, None),
    ]
    values = m.aggregate(records)
    assert values["abstention_accuracy"] == 0.5
    assert values["false_abstention_rate"] == 0.5
    assert values["false_answer_rate"] == 0.5
    assert values["fact_recall"] == 0.5
    assert values["forbidden_claim_rate"] == 0.5
    assert values["draft_rejection_rate"] == 0.25
    assert values["extractive_rate"] == 0.5
    assert values["error_rate"] == 0.2
    assert values["latency_p50_s"] == 2.0 and values["latency_p95_s"] == 10.0
    assert values["judge_faithfulness"] is None
    assert set(values) == set(m.METRIC_SPECS)


def test_percentile_is_nearest_rank() -> None:
    assert m.percentile([], 50) is None
    assert m.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert m.percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_judge_verdicts_count_missing_lines_as_unsupported() -> None:
    template = Prompts(default_prompts_dir())["judge"]
    messages, sentences = m.judge_messages(
        answer("Peskov confirmed it [1]. The withdrawal had begun [1]. He gave no date.", PESKOV), template
    )
    # Claim sentences only: the uncited note claims nothing a passage could support.
    assert len(sentences) == 2 and PESKOV in messages[1]["content"]
    assert sentences[0] == "Peskov confirmed it."
    assert m.parse_verdicts("1: SUPPORTED\n2: UNSUPPORTED", 2) == [True, False]
    assert m.parse_verdicts("1. supported", 2) == [True, False]
    assert m.parse_verdicts("garbage", 2) == [False, False]


# --- baseline gate and ratchet --------------------------------------------------------------------


def test_compare_flags_floors_and_ceilings_and_skips_missing_values() -> None:
    baseline = Baseline(
        thresholds={
            "fact_recall": Threshold(min=0.5),
            "forbidden_claim_rate": Threshold(max=0.1),
            "judge_faithfulness": Threshold(min=0.9),
        }
    )
    failures = compare(
        {"fact_recall": 0.4, "forbidden_claim_rate": 0.2, "judge_faithfulness": None}, baseline
    )
    assert {(f.metric, f.direction) for f in failures} == {
        ("fact_recall", "min"),
        ("forbidden_claim_rate", "max"),
    }
    assert compare({"fact_recall": 0.5, "forbidden_claim_rate": 0.1}, baseline) == []
    # A latency threshold left in an old baseline file is not enforced.
    timed = Baseline(thresholds={"latency_p50_s": Threshold(max=1.0)})
    assert compare({"latency_p50_s": 30.0}, timed) == []


def test_ratchet_tightens_never_loosens_unless_allowed() -> None:
    old = Baseline(
        thresholds={"fact_recall": Threshold(min=0.6), "forbidden_claim_rate": Threshold(max=0.05)}
    )
    better = ratchet(old, {"fact_recall": 0.9, "forbidden_claim_rate": 0.0, "latency_p95_s": 10.0})
    assert better.thresholds["fact_recall"].min == pytest.approx(0.87)
    assert better.thresholds["forbidden_claim_rate"].max == pytest.approx(0.05)  # 0.0 + 0.07 would loosen
    assert "latency_p95_s" not in better.thresholds  # speed is reported, never gated
    assert not better.placeholder and better.updated_at
    worse = ratchet(old, {"fact_recall": 0.3})
    assert worse.thresholds["fact_recall"].min == pytest.approx(0.6)
    assert compare({"fact_recall": 0.3}, worse)  # still failing: a ratchet does not launder a regression
    allowed = ratchet(old, {"fact_recall": 0.3, "forbidden_claim_rate": 0.01}, allow_regression=True)
    assert allowed.thresholds["fact_recall"].min == pytest.approx(0.27)
    # Allowing a regression loosens only what regressed: a metric the run passes keeps its threshold.
    assert allowed.thresholds["forbidden_claim_rate"].max == pytest.approx(0.05)


def test_ratchet_slack_is_one_case_on_a_small_set() -> None:
    # 8 cases, 6 of them answered well: one more abstention must pass the gate, two must not.
    fresh = Baseline(placeholder=True)
    values = {"abstention_accuracy": 6 / 8, "false_abstention_rate": 1 / 6}
    counts = {"abstention_accuracy": 8, "false_abstention_rate": 6}
    small = ratchet(fresh, values, cases=counts)
    assert compare({"abstention_accuracy": 5 / 8, "false_abstention_rate": 2 / 6}, small) == []
    assert len(compare({"abstention_accuracy": 4 / 8, "false_abstention_rate": 3 / 6}, small)) == 2
    # A guarantee gets no such slack: one quote that is not verbatim fails on any set.
    exact = ratchet(
        fresh, {"quote_fidelity": 1.0, "error_rate": 0.0}, cases={"quote_fidelity": 8, "error_rate": 8}
    )
    assert len(compare({"quote_fidelity": 7 / 8, "error_rate": 1 / 8}, exact)) == 2
    # On the full set the metric's own tolerance (0.04, 0.05) is already about one case's worth.
    large = ratchet(fresh, values, cases={"abstention_accuracy": 48, "false_abstention_rate": 41})
    assert large.thresholds["abstention_accuracy"].min == pytest.approx(0.71)
    assert compare({"abstention_accuracy": 5 / 8}, large)


def test_ratchet_replaces_placeholders_and_keeps_the_current_value_passing() -> None:
    placeholder = Baseline(placeholder=True, thresholds={"fact_recall": Threshold(min=0.95)})
    values = {"fact_recall": 0.4567, "citation_validity": 1.0, "error_rate": 0.0}
    new = ratchet(placeholder, values)
    assert new.thresholds["fact_recall"].min == pytest.approx(0.426)
    assert new.thresholds["citation_validity"].min == pytest.approx(0.99)
    assert new.thresholds["error_rate"].max == 0.0
    assert compare(values, new) == []


def test_answer_language_ignores_quoted_evidence() -> None:
    extractive = (
        "The articles say: “Kremlsprecher Dmitri Peskow bestätigte, dass die Streitkräfte abzogen.” [1]"
    )
    assert claims.answer_language(extractive, "de") == "en"
    assert claims.answer_language("Der Abzug hat begonnen, sagte Peskow [1].", "en") == "de"
    assert claims.answer_language("Peskow [1].", "de") == "de"  # undecidable: the pipeline's own label
    case = CASES["peskov-confirmed-withdrawal-en"]
    german = m.score_case(
        case, answer("Kremlsprecher Peskow hat den Abzug bestätigt [1].", PESKOV), [], {}, 5
    )
    assert not german.language_ok and not german.passed


def test_committed_baseline_loads_and_says_it_is_a_placeholder_until_ratcheted() -> None:
    from assistant.evaluation.baseline import load_baseline

    baseline = load_baseline(ROOT / "evals" / "baseline.json")
    assert set(baseline.thresholds) <= set(m.METRIC_SPECS)
    if baseline.placeholder:
        assert "PLACEHOLDER" in baseline.comment
    else:
        assert baseline.updated_at and baseline.updated_from.get("model")


def test_a_baseline_with_unknown_metrics_or_wrong_direction_is_rejected(tmp_path: Path) -> None:
    from assistant.evaluation.baseline import BaselineError, load_baseline

    path = tmp_path / "baseline.json"
    path.write_text('{"thresholds": {"fact_recal": {"min": 0.5}}}', encoding="utf-8")
    with pytest.raises(BaselineError, match="unknown metric"):
        load_baseline(path)
    path.write_text('{"thresholds": {"fact_recall": {"max": 0.5}}}', encoding="utf-8")
    with pytest.raises(BaselineError, match="'min' threshold"):
        load_baseline(path)
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(BaselineError):
        load_baseline(path)
    assert load_baseline(tmp_path / "missing.json").thresholds == {}


class _SearchRecorder:
    """Just enough of an Assistant for the eval's case runner: one answer, searches recorded."""

    def __init__(self, standalone: str) -> None:
        self.standalone = standalone
        self.queries: list[str] = []

    def ask(self, question: str, **kw: object) -> Answer:
        return Answer(
            question=question,
            answer="x [1].",
            abstained=False,
            language="en",
            standalone_question=self.standalone,
        )

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        self.queries.append(query)
        return [passage("a", "x")]


def test_a_follow_up_is_scored_on_what_the_answer_searched() -> None:
    from assistant.evaluation.runner import _run_case

    history = [
        {"role": "user", "content": "Who confirmed the withdrawal from Karabakh?"},
        {"role": "assistant", "content": "Peskov confirmed it [1]."},
    ]
    case = _case(question="Did he say when?", history=history)
    # The rewrite still points back ("he"): the answer searched the previous question too.
    unresolved = _SearchRecorder("Did he say when the withdrawal would end?")
    _run_case(unresolved, case, k=5, article_texts={}, judge=None)  # type: ignore[arg-type]
    assert unresolved.queries == [
        "Who confirmed the withdrawal from Karabakh? Did he say when the withdrawal would end?"
    ]
    resolved = _SearchRecorder("Did Peskov say when the withdrawal from Karabakh would end?")
    _run_case(resolved, case, k=5, article_texts={}, judge=None)  # type: ignore[arg-type]
    assert resolved.queries == ["Did Peskov say when the withdrawal from Karabakh would end?"]
