"""passages + question -> evidence sentences -> draft -> checked Answer (or an abstention).

Evidence first: the model sees a few numbered sentences chosen for the question, not whole
articles, which is both the main speed lever on a CPU and what makes every claim checkable. The
draft names its evidence before it writes (assistant.shape). Each line must then pass, in order:
the anchors (assistant.cite: markers, copied words, language, numbers, dates, names), the meaning
check (the model answers yes/no whether the cited passage states the sentence, read as a
probability), and, once per answer, whether the passage is about what was asked at all. What
passes is shown sentence by sentence; a question for a date or a number that the passages do not
give gets a note saying so. When nothing passes, a quote that answers the question is offered in
the reader's language (translated, the original in the source card); otherwise the answer says
the articles do not say, with the closest passages as related reading."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace

from assistant.backends.base import ChatModel, Embedder, choose
from assistant.cite import SentenceCheck, finalize, render, to_citation, verify_answer
from assistant.config import AnswerSettings, LLMSettings
from assistant.evidence import answers_kind, select_evidence, with_neighbours
from assistant.prompts import Prompts
from assistant.shape import answer_grammar, format_evidence, label_for, sanitize_quote
from assistant.text.facts import numbers_as_read
from assistant.text.language import language_name
from assistant.text.lexicon import Lexicon
from assistant.text.names import subject_names, unmentioned
from assistant.text.questions import QuestionKind, event_question, premise_question, question_kind
from assistant.translation import Translator
from assistant.types import (
    Answer,
    AnswerEvent,
    Evidence,
    FinalEvent,
    Passage,
    Removed,
    SentenceEvent,
    StatusEvent,
    Timings,
)

log = logging.getLogger(__name__)

_RELATED_READING = 2
# Asked "when" / "how many" and nothing passed: the best passages without a date / figure asked
# whether they report the event.
_EVENT_CANDIDATES = 3
# Nothing passed and the best passage is only fairly likely to answer: it is compared with this many more.
_LEAD_RIVALS = 2


@dataclass
class _Turn:
    """One question being answered: what every step of it reads and the timings it fills in."""

    question: str  # as understood (a follow-up rewritten)
    language: str
    llm: ChatModel
    timings: Timings
    started: float
    on_topic: dict[tuple[int, bool], float] = field(default_factory=dict)  # (marker, in context) -> p
    subject: list[str] | None = None  # the names the question asks about, once it is needed


class Answerer:
    """One per Assistant: question + passages -> events, ending with one FinalEvent."""

    def __init__(
        self,
        *,
        settings: AnswerSettings,
        llm_settings: LLMSettings,
        prompts: Prompts,
        embedder: Embedder,
        llm: Callable[[], ChatModel],
        lexicon: Callable[[], Lexicon],
    ) -> None:
        self._s = settings
        self._llm_settings = llm_settings
        self._prompts = prompts
        self._embedder = embedder
        self._llm = llm
        self._lexicon = lexicon
        floor = settings.min_relevance
        self._min_relevance = floor if floor is not None else embedder.relevance_floor
        similar = settings.min_translation_similarity
        similar = similar if similar is not None else embedder.translation_floor
        self._translator = Translator(prompts, lexicon, embedder, similar)

    # --- the answer ----------------------------------------------------------------------------

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        language: str,
        standalone: str | None = None,
        started: float | None = None,
        timings: Timings | None = None,
    ) -> Iterator[AnswerEvent]:
        """`question` as asked, `standalone` as understood (a rewritten follow-up), `passages` as
        retrieved for it. Events: StatusEvent / SentenceEvent (verified), then one FinalEvent."""
        started = time.perf_counter() if started is None else started
        timings = timings or Timings()
        asked = standalone or question
        llm = self._llm()
        t0 = time.perf_counter()
        evidence = select_evidence(
            asked,
            passages,
            self._embedder,
            max_evidence=self._s.max_evidence,
            max_chars=self._s.max_evidence_chars,
        )
        timings.retrieve_s = round(timings.retrieve_s + time.perf_counter() - t0, 3)
        base = Answer(
            question=question,
            answer="",
            abstained=True,
            language=language,
            backend=llm.backend,
            model=llm.model,
            standalone_question=standalone if standalone and standalone != question else None,
            mode="abstained",
            evidence=evidence,
        )
        relevant = [e for e in evidence if e.score >= self._min_relevance]
        if not relevant:
            base.answer = self._prompts.message("no_evidence", language)
            base.abstain_reason = "no_evidence"
            base.notes.append(
                f"best evidence score {max((e.score for e in evidence), default=0.0):.3f} is below "
                f"the relevance threshold {self._min_relevance}"
            )
            yield FinalEvent(answer=self._done(base, timings, started))
            return

        yield StatusEvent(text="Writing the answer")
        turn = _Turn(asked, language, llm, timings, started)
        draft = self._draft(turn, relevant)
        yield StatusEvent(text="Checking the answer against its sources")
        answer = yield from self._checked(turn, base, draft, relevant, redrafts=self._s.redrafts)
        if answer.abstained and self._s.premise_check:
            answer = yield from self._on_premise(turn, base, answer, relevant)
        yield FinalEvent(answer=self._done(answer, timings, started))

    def _draft(self, turn: _Turn, evidence: list[Evidence]) -> str:
        messages = self._prompts["answer"].render(
            evidence=format_evidence(evidence),
            question=turn.question,
            label=label_for(turn.language),
            language=language_name(turn.language),
        )
        pieces: list[str] = []
        for piece in turn.llm.stream(
            messages,
            max_tokens=self._llm_settings.max_tokens,
            temperature=self._llm_settings.temperature,
            grammar=answer_grammar(evidence, turn.language) if self._s.constrained else None,
        ):
            if turn.timings.first_token_s is None:
                turn.timings.first_token_s = round(time.perf_counter() - turn.started, 3)
            pieces.append(piece)
        return "".join(pieces)

    def _done(self, answer: Answer, timings: Timings, started: float) -> Answer:
        timings.total_s = round(time.perf_counter() - started, 3)
        answer.timings = timings
        return answer

    def _checked(
        self, turn: _Turn, base: Answer, draft: str, evidence: list[Evidence], *, redrafts: int
    ) -> Generator[AnswerEvent, None, Answer]:
        """Yields each sentence as soon as it has passed; returns the Answer."""
        checked = verify_answer(
            draft,
            evidence,
            question=turn.question,
            language=turn.language,
            instructions=self._prompts["answer"].system,
            lexicon=self._lexicon(),
        )
        answer = base.model_copy(deep=True)
        answer.notes.append(f"draft: {draft.strip()!r}")
        by_marker = {e.marker: e for e in evidence}
        kept: list[SentenceCheck] = []
        for sentence in checked.sentences:
            if not sentence.kept:
                _drop(answer, sentence.sentence, sentence.reason, sentence.plain)
                continue
            if sentence.note or not sentence.markers:
                continue  # the system says what is missing itself, in the reader's language
            passed = self._confirm(turn, sentence, by_marker, answer)
            if passed is None:
                continue
            kept.append(passed)
            if turn.timings.first_sentence_s is None:
                turn.timings.first_sentence_s = round(time.perf_counter() - turn.started, 3)
            yield SentenceEvent(text=passed.text)
        if checked.declined and not kept:
            # A decline is taken at its word: quoting the closest passage then would make it an answer.
            answer.notes.append("the model found no answer in the evidence")
            return self._not_answered(answer, evidence, turn.language)
        if kept and (checked.kind not in ("when", "number") or any(s.answers_kind for s in kept)):
            text, citations = finalize(kept, evidence)
            answer.answer, answer.citations = text, citations
            answer.abstained, answer.mode = False, "generated"
            return answer
        remaining = [e for e in evidence if turn.on_topic.get((e.marker, True), 1.0) >= self._s.min_on_topic]
        if (
            not kept
            and redrafts > 0
            and 0 < len(remaining) < len(evidence)
            and self._worth_redraft(turn, remaining[0])
        ):
            # The model wrote from passages that are not about the question: one more try with the
            # others only, checked the same way (a small model fixes on one passage).
            off = sorted({e.marker for e in evidence} - {e.marker for e in remaining})
            answer.notes.append(f"drafting again without {off}: their passages are off the question")
            draft = self._draft(turn, remaining)
            return (yield from self._checked(turn, answer, draft, remaining, redrafts=redrafts - 1))
        return self._partial(answer, kept, checked.kind, evidence, turn)

    def _on_premise(
        self, turn: _Turn, base: Answer, abstained: Answer, evidence: list[Evidence]
    ) -> Generator[AnswerEvent, None, Answer]:
        """The question as asked found no answer; what it takes for granted may: "Why did Lukashenko
        send troops?" -> "Did Lukashenko send troops?". That answer, checked like any other, is
        what the reader gets then, so a false premise is corrected rather than met with silence
        (and never built on: the question as asked was not answered). Only questions with such a
        premise pay for the second draft."""
        premise = premise_question(turn.question, turn.language)
        if premise is None:
            return abstained
        yield StatusEvent(text="Checking what the question takes for granted")
        asked = _Turn(premise, turn.language, turn.llm, turn.timings, turn.started)
        start = base.model_copy(deep=True)
        start.notes = [*abstained.notes, f"no answer as asked; asking what the question assumes: {premise!r}"]
        start.removed = list(abstained.removed)
        answer = yield from self._checked(asked, start, self._draft(asked, evidence), evidence, redrafts=0)
        if answer.abstained:
            abstained.notes, abstained.removed = answer.notes, answer.removed
            return abstained
        answer.answer = f"{self._prompts.message('premise', turn.language)} {answer.answer}"
        return answer

    def _worth_redraft(self, turn: _Turn, best: Evidence) -> bool:
        """The best passage left is about the question: one yes/no, where a draft costs many tokens
        (and the answer's check of a sentence citing it reuses the verdict)."""
        p = self._on_topic(turn, best, context=True)
        return p >= self._s.min_on_topic

    def _partial(
        self,
        answer: Answer,
        kept: list[SentenceCheck],
        kind: QuestionKind,
        evidence: list[Evidence],
        turn: _Turn,
    ) -> Answer:
        """Nothing passed, or what passed leaves out the date or number asked for: the passage that
        holds it (or the best one) is the answer, quoted in the reader's language."""
        by_marker = {e.marker: e for e in evidence}
        cited = [by_marker[m] for s in kept for m in s.markers]
        holding = [e for e in cited if answers_kind(e.quote, kind, e.language)]
        if kept and not holding:
            text, citations = finalize(kept, evidence)
            answer.answer = f"{text} {self._missing(kind, turn.language)}"
            answer.citations, answer.abstained, answer.mode = citations, False, "generated"
            return answer
        _give_way(answer, kept, kind)
        return self._fallback(answer, holding or evidence, turn)

    def _missing(self, kind: QuestionKind, language: str) -> str:
        return self._prompts.message("no_date" if kind == "when" else "no_number", language)

    def _confirm(
        self, turn: _Turn, sentence: SentenceCheck, by_marker: dict[int, Evidence], answer: Answer
    ) -> SentenceCheck | None:
        """The meaning checks of one sentence that passed its anchors; None when it fails one."""
        # On topic first: cheaper to stop there, and the support check then reuses the passage's
        # prompt prefix (the two prompts share their system part).
        first = sentence.markers[0]
        unnamed = self._off_subject(turn, by_marker[first])
        if unnamed:
            reason = f"its passage names none of {', '.join(unnamed)}"
            _drop(answer, sentence.sentence, reason, "the cited passage is not about the question")
            return None
        p_topic = self._on_topic(turn, by_marker[first], context=True)
        if p_topic < self._s.min_on_topic:
            reason = (
                f"its passage does not answer the question: on topic {p_topic:.2f} < {self._s.min_on_topic}"
            )
            _drop(answer, sentence.sentence, reason, "the cited passage is not about the question")
            return None
        if not sentence.language_ok:
            translated = self._translator.sentence(turn.llm, sentence, turn.language)
            if translated is None:
                _drop(
                    answer,
                    sentence.sentence,
                    "not in the question's language",
                    "it could not be put into your language",
                )
                return None
            answer.notes.append(f"translated {sentence.sentence!r} into the question's language")
            sentence = translated
        supported, reason = self._supported(turn.llm, sentence, [by_marker[m] for m in sentence.markers])
        if not supported:
            _drop(answer, sentence.sentence, reason, "the cited passage does not say this")
            return None
        moved = (
            f", re-cited from {sentence.recited_from} to {sentence.markers}" if sentence.recited_from else ""
        )
        answer.notes.append(f"kept: {sentence.sentence!r} (on topic {p_topic:.2f}, {reason}{moved})")
        cited = [(with_neighbours(by_marker[m]), by_marker[m].language) for m in sentence.markers]
        written = numbers_as_read(sentence.sentence, turn.language, cited)
        if written != sentence.sentence:
            sentence = replace(sentence, sentence=written, text=render(written, sentence.markers))
        return sentence

    def _supported(self, llm: ChatModel, sentence: SentenceCheck, cited: list[Evidence]) -> tuple[bool, str]:
        """The meaning check: does the cited evidence state the sentence? (verdict, reason)

        The passage is each quote with its neighbouring sentences: an answer may restate what the
        question says ("after Azerbaijan took control") when the article says so right there."""
        passage = " ".join(sanitize_quote(with_neighbours(e)) for e in cited)
        p_support = self._support(llm, passage, sentence.sentence)
        needed = self._s.min_support_soft if sentence.soft_names else self._s.min_support
        if p_support >= needed:
            return True, f"support {p_support:.2f}"
        why = f", {', '.join(sentence.soft_names)} not verbatim" if sentence.soft_names else ""
        return False, f"the cited passage does not state it: support {p_support:.2f} < {needed}{why}"

    def check_claim(self, claim: str, evidence: list[Evidence], language: str) -> tuple[bool, str, str]:
        """One sentence against the evidence it cites, as the pipeline checks answer sentences:
        (kept, stage that decided: "anchors" or "meaning", reason). For the perturbation suite."""
        marker_text = "".join(f"[{e.marker}]" for e in evidence)
        checked = verify_answer(
            f"{marker_text} {claim}", evidence, question="", language=language, lexicon=self._lexicon()
        )
        if not checked.sentences:
            return False, "anchors", "no claim found"
        sentence = checked.sentences[0]
        if not sentence.kept:
            return False, "anchors", sentence.reason
        supported, reason = self._supported(self._llm(), sentence, evidence)
        return supported, "meaning", reason

    def _off_subject(self, turn: _Turn, evidence: Evidence) -> list[str]:
        """The question's names when the passage's article title and chunk mention none of them:
        not about what was asked, whatever the yes/no judge would say (no model call)."""
        if turn.subject is None:
            turn.subject = subject_names(turn.question, turn.language, self._lexicon())
        return unmentioned(turn.subject, f"{evidence.title}\n{evidence.context or evidence.quote}")

    def _on_topic(self, turn: _Turn, evidence: Evidence, *, context: bool = False) -> float:
        """Whether the passage is about what was asked. With `context`, the quote is read with its
        neighbouring sentences, as the meaning check reads it (a quote often leaves the subject to
        the sentence before: "The unit price is 189 million euros"), which also lets the meaning
        check reuse this prompt's prefix. Without, the quote alone: for quoting it as the answer."""
        key = (evidence.marker, context)
        if key not in turn.on_topic:
            passage = with_neighbours(evidence) if context else evidence.quote
            turn.on_topic[key] = self._relevance(turn.llm, passage, turn.question)
        return turn.on_topic[key]

    def _support(self, llm: ChatModel, passage: str, claim: str) -> float:
        messages = self._prompts["support"].render(passage=passage, claim=claim)
        return choose(llm, messages, ["yes", "no"])[0]

    def _relevance(self, llm: ChatModel, quote: str, question: str) -> float:
        messages = self._prompts["relevance"].render(passage=sanitize_quote(quote), question=question)
        return choose(llm, messages, ["yes", "no"])[0]

    # --- nothing passed ------------------------------------------------------------------------

    def _fallback(self, answer: Answer, evidence: list[Evidence], turn: _Turn) -> Answer:
        """Quote the best evidence when it is about what was asked (in the reader's language, with
        a note when it lacks the date or number asked for), else say the articles do not say and
        offer the closest passages as related reading."""
        question, language, llm = turn.question, turn.language, turn.llm
        kind = question_kind(question)
        related = evidence
        evidence = [e for e in evidence if not self._off_subject(turn, e)]
        if len(evidence) < len(related):
            aside = [e.marker for e in related if e not in evidence]
            answer.notes.append(f"not quoted: {aside} name nothing the question asks about")
        if not evidence:
            return self._not_answered(answer, related, language)
        best = evidence[0]
        floor = self._min_relevance + self._s.extractive_margin
        if best.score < floor:
            answer.notes.append(f"no quote: best evidence score {best.score:.3f} < {floor:.3f}")
            return self._not_answered(answer, related, language)
        p_topic = self._on_topic(turn, best)
        if p_topic < self._s.min_extractive and kind in ("when", "number"):
            found = self._event_passage(evidence, question, kind, floor, llm, answer)
            best, p_topic = found or (best, p_topic)
        if p_topic < self._s.min_extractive and not self._leads(turn, best, p_topic, evidence, answer):
            answer.notes.append(f"no quote: on topic {p_topic:.2f} < {self._s.min_extractive}")
            return self._not_answered(answer, related, language)
        shown = best.quote
        if best.language not in (language, "und"):
            translate = self._s.translate_extractive
            translated = self._translator.text(llm, best.quote, language) if translate else None
            if translated is None:
                answer.notes.append("the best passage could not be translated: not quoted")
                return self._not_answered(answer, related, language)
            shown = numbers_as_read(translated, language, [(best.quote, best.language)])
        intro = self._prompts.message(
            "extractive_intro" if shown == best.quote else "extractive_intro_translated", language
        )
        answer.answer = f"{intro} “{_unquote(shown)}” [1]"
        if kind in ("when", "number") and not answers_kind(best.quote, kind, best.language):
            answer.answer = f"{answer.answer} {self._missing(kind, language)}"
        answer.citations = [to_citation(best, 1)]
        answer.abstained, answer.mode = False, "extractive"
        return answer

    def _leads(
        self, turn: _Turn, best: Evidence, p_best: float, evidence: list[Evidence], answer: Answer
    ) -> bool:
        """A passage the judge finds fairly likely to answer (at least min_on_topic) and clearly more
        likely than the next best passages (by min_quote_lead): the judge ranks better than it
        calibrates. With no rival passage to compare against, there is no lead."""
        if p_best < self._s.min_on_topic or self._s.min_quote_lead >= 1:
            return False
        rivals = [e for e in evidence if e.marker != best.marker and e.quote != best.quote][:_LEAD_RIVALS]
        if not rivals:
            return False
        p_rival = max(self._on_topic(turn, e) for e in rivals)
        lead = p_best - p_rival
        answer.notes.append(
            f"[{best.marker}] on topic {p_best:.2f}, the next best {p_rival:.2f}: lead {lead:.2f}"
        )
        return lead >= self._s.min_quote_lead

    def _event_passage(
        self,
        evidence: list[Evidence],
        question: str,
        kind: QuestionKind,
        floor: float,
        llm: ChatModel,
        answer: Answer,
    ) -> tuple[Evidence, float] | None:
        """Asked "when" or "how many", a passage that gives no date or figure can still report the
        event: it answers the yes/no question about it ("Wann haben … verlassen?" -> "Haben …
        verlassen?", "How many people were killed?" -> "Were people killed?"), and is then quoted
        with the note that the articles give no date or figure. The first of the best few that does."""
        event = event_question(question, kind)
        if event is None:
            return None
        fact = "date" if kind == "when" else "figure"
        lacking = [e for e in evidence if e.score >= floor and not answers_kind(e.quote, kind, e.language)]
        for candidate in lacking[:_EVENT_CANDIDATES]:
            p_event = self._relevance(llm, candidate.quote, event)
            answer.notes.append(f"[{candidate.marker}] gives no {fact}; asked {event!r}: {p_event:.2f}")
            if p_event >= self._s.min_extractive:
                return candidate, p_event
        return None

    def _not_answered(self, answer: Answer, evidence: list[Evidence], language: str) -> Answer:
        answer.answer = self._prompts.message("not_answered", language)
        answer.abstain_reason = "not_answered"
        answer.related = [to_citation(e, i) for i, e in enumerate(evidence[:_RELATED_READING], start=1)]
        return answer


def _give_way(answer: Answer, kept: Sequence[SentenceCheck], kind: QuestionKind) -> None:
    """Sentences already shown as verified give way to a quote that holds the date or number asked
    for: the reader is told why they are gone."""
    fact = "date" if kind == "when" else "number"
    for sentence in kept:
        _drop(
            answer,
            sentence.sentence,
            f"no {fact}: the passage that holds it is quoted instead",
            f"it does not give the {fact} asked for; the passage that does is quoted instead",
        )


def _drop(answer: Answer, sentence: str, reason: str, plain: str) -> None:
    answer.notes.append(f"dropped: {sentence!r} ({reason})")
    if plain:
        answer.removed.append(Removed(sentence=sentence, reason=plain))


def _unquote(text: str) -> str:
    return re.sub(r'^[\s"“”„«»]+|[\s"“”„«»]+$', "", text)
