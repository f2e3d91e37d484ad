"""passages + question -> evidence sentences -> prompt -> LLM -> verified Answer (or an abstention).

Evidence first: the model sees a few numbered sentences chosen for the question, not whole articles,
which is both the main speed lever on a CPU and what makes every claim checkable."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from assistant.backends.base import ChatModel, Embedder, complete
from assistant.chunking import split_sentences
from assistant.cite import SentenceCheck, finalize, strip_markers, to_citation, verify_answer
from assistant.config import AnswerSettings, LLMSettings
from assistant.errors import InputError
from assistant.prompts import Prompts
from assistant.textproc import (
    STOPWORDS,
    detect_language,
    fold,
    language_name,
    name_candidates,
    name_supported,
    number_facts,
    tokenize,
    words,
)
from assistant.types import (
    Answer,
    AnswerEvent,
    Evidence,
    FinalEvent,
    Passage,
    StatusEvent,
    Timings,
    TokenEvent,
    Turn,
)

log = logging.getLogger(__name__)

_MIN_SENTENCE_CHARS = 25
_HTML_LIKE = re.compile(r"</?evidence[^>]*>|</?question>|</?text>", re.IGNORECASE)


@dataclass
class _Candidate:
    passage: Passage
    start: int  # offset in the chunk text
    end: int
    text: str


def _sanitize(text: str) -> str:
    # Evidence is data: it must not be able to close its own delimiter and speak as the prompt.
    return _HTML_LIKE.sub(" ", text).replace("\n", " ").strip()


def select_evidence(
    question: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    *,
    max_evidence: int,
    max_chars: int | None = None,
) -> list[Evidence]:
    """Score every sentence of the retrieved passages against the question (cross-lingual, with e5)
    plus a small same-language term-overlap bonus; return the best, numbered from 1.

    `max_chars` caps the quoted text in total (the best sentence is always kept): prompt tokens are
    what the answer's first token waits for on a CPU, and a few long sentences can double them."""
    seen: set[tuple[str, int]] = set()
    candidates: list[_Candidate] = []
    for passage in passages:
        chunk = passage.chunk
        for start, end in split_sentences(chunk.text, chunk.language):
            sentence = chunk.text[start:end]
            key = (chunk.article_id, chunk.start + start)
            if key in seen or len(sentence) < _MIN_SENTENCE_CHARS:
                continue
            seen.add(key)
            candidates.append(_Candidate(passage, start, end, sentence))
    if not candidates:
        return []
    qvec = embedder.embed_queries([question])[0]
    vecs = embedder.embed_passages([c.text for c in candidates])
    sims = vecs @ qvec
    q_terms = set(tokenize(question))
    scored: list[tuple[float, _Candidate]] = []
    for cand, sim in zip(candidates, sims, strict=True):
        overlap = len(q_terms & set(tokenize(cand.text))) / max(1, len(q_terms))
        # The passage's hybrid score carries lexical and whole-chunk context a lone sentence lacks.
        scored.append((float(sim) + 0.05 * overlap + 0.03 * cand.passage.score, cand))
    scored.sort(key=lambda item: -item[0])
    evidence: list[Evidence] = []
    used = 0
    for score, cand in scored:
        if len(evidence) >= max_evidence:
            break
        if evidence and max_chars is not None and used + len(cand.text) > max_chars:
            continue  # a shorter, lower-ranked sentence may still fit
        used += len(cand.text)
        chunk = cand.passage.chunk
        evidence.append(
            Evidence(
                marker=len(evidence) + 1,
                article_id=chunk.article_id,
                chunk_id=chunk.id,
                title=chunk.title,
                source=chunk.source,
                date=chunk.date,
                url=chunk.url,
                language=chunk.language,
                quote=cand.text,
                start=chunk.start + cand.start,
                end=chunk.start + cand.end,
                score=round(score, 4),
                context=chunk.text,
            )
        )
    return evidence


def _anchored(question: str, quote: str) -> bool:
    """The quote mentions one of the question's names or longer keywords (across languages)."""
    terms = name_candidates(question) + [
        w for w in words(question) if len(w) >= 6 and fold(w) not in STOPWORDS
    ]
    return any(name_supported(term, quote) for term in terms)


def format_evidence(evidence: Sequence[Evidence]) -> str:
    # Quotes only: titles and dates cost prompt tokens (the main CPU latency) and were measured to
    # lure the small model into citing a publication date as the date of an event.
    return "\n".join(f'<evidence id="{e.marker}">{_sanitize(e.quote)}</evidence>' for e in evidence)


def format_history(history: Sequence[Turn], max_turns: int) -> str:
    recent = list(history)[-max_turns:] if max_turns else []
    lines = []
    for turn in recent:
        content = re.sub(r"\s+", " ", turn.content).strip()
        lines.append(f"{turn.role}: {content[:500]}")
    return "\n".join(lines)


class Answerer:
    """Runs one question through rewrite -> retrieve -> select -> generate -> verify."""

    def __init__(
        self,
        *,
        settings: AnswerSettings,
        llm_settings: LLMSettings,
        prompts: Prompts,
        embedder: Embedder,
        llm: Callable[[], ChatModel],
        retrieve: Callable[[str, str], list[Passage]],
    ) -> None:
        self._s = settings
        self._llm_settings = llm_settings
        self._prompts = prompts
        self._embedder = embedder
        self._llm = llm
        self._retrieve = retrieve
        floor = settings.min_relevance
        self._min_relevance = floor if floor is not None else float(getattr(embedder, "relevance_floor", 0.5))

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise InputError("The question is empty.")
        if len(question) > self._s.max_question_chars:
            raise InputError(
                f"The question is too long ({len(question)} characters; the limit is "
                f"{self._s.max_question_chars}). Please shorten it."
            )
        language = detect_language(question)
        llm = self._llm()
        standalone = question
        if history and self._s.history_turns:
            yield StatusEvent(text="Rewriting the follow-up question")
            standalone = self._rewrite(llm, question, history)

        yield StatusEvent(text="Searching the articles")
        t0 = time.perf_counter()
        passages = self._retrieve(standalone, language)
        evidence = select_evidence(
            standalone,
            passages,
            self._embedder,
            max_evidence=self._s.max_evidence,
            max_chars=self._s.max_evidence_chars,
        )
        timings = Timings(retrieve_s=round(time.perf_counter() - t0, 3))
        base = Answer(
            question=question,
            answer="",
            abstained=True,
            language=language,
            backend=llm.backend,
            model=llm.model,
            standalone_question=standalone if standalone != question else None,
            mode="abstained",
            evidence=evidence,
        )
        relevant = [e for e in evidence if e.score >= self._min_relevance]
        if not relevant:
            base.answer = self._prompts.message("no_evidence", language)
            base.notes.append(
                f"best evidence score {max((e.score for e in evidence), default=0.0):.3f} is below "
                f"the relevance threshold {self._min_relevance}"
            )
            yield FinalEvent(answer=self._done(base, timings, started))
            return

        yield StatusEvent(text="Writing the answer")
        messages = self._prompts["answer"].render(
            evidence=format_evidence(relevant), question=standalone, language=language_name(language)
        )
        pieces: list[str] = []
        for piece in llm.stream(
            messages, max_tokens=self._llm_settings.max_tokens, temperature=self._llm_settings.temperature
        ):
            if timings.first_token_s is None:
                timings.first_token_s = round(time.perf_counter() - started, 3)
            pieces.append(piece)
            yield TokenEvent(text=piece)
        draft = "".join(pieces)
        answer = self._verify(base, draft, relevant, standalone, language, llm, messages[0]["content"])
        yield FinalEvent(answer=self._done(answer, timings, started))

    def _done(self, answer: Answer, timings: Timings, started: float) -> Answer:
        timings.total_s = round(time.perf_counter() - started, 3)
        answer.timings = timings
        return answer

    def _rewrite(self, llm: ChatModel, question: str, history: Sequence[Turn]) -> str:
        messages = self._prompts["rewrite"].render(
            history=format_history(history, self._s.history_turns), question=question
        )
        rewritten = complete(llm, messages, max_tokens=80, temperature=0.0).strip().strip('"').strip()
        rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
        if not rewritten or len(rewritten) > 4 * len(question) + 200 or "NO_ANSWER" in rewritten:
            # Fall back to the previous user question plus this one: crude, but retrieval still works.
            previous = next((t.content for t in reversed(history) if t.role == "user"), "")
            return f"{previous} {question}".strip()
        return rewritten

    def _verify(
        self,
        base: Answer,
        draft: str,
        evidence: list[Evidence],
        question: str,
        language: str,
        llm: ChatModel,
        instructions: str,
    ) -> Answer:
        checked = verify_answer(
            draft, evidence, question=question, language=language, instructions=instructions
        )
        answer = base.model_copy(deep=True)
        answer.notes.extend(f"dropped: {s.text!r} ({s.reason})" for s in checked.dropped)
        if checked.declined or checked.only_notes:
            answer.answer = self._prompts.message("model_declined", language)
            answer.notes.append("the model found no answer in the evidence")
            return answer
        if checked.has_cited_claim:
            kept = self._in_language(checked.kept, language, llm, answer.notes)
            if kept is None:
                return self._extractive(answer, evidence, question, language, llm)
            text, citations = finalize(kept, evidence)
            answer.answer, answer.citations = text, citations
            answer.abstained, answer.mode = False, "generated"
            return answer
        return self._extractive(answer, evidence, question, language, llm)

    def _in_language(
        self, kept: list[SentenceCheck], language: str, llm: ChatModel, notes: list[str]
    ) -> list[SentenceCheck] | None:
        """Small models often answer in the evidence's language: translate such sentences, keeping
        their markers, and only if the translation adds no number or name. None: give up."""
        out: list[SentenceCheck] = []
        for sentence in kept:
            bare = strip_markers(sentence.text).strip()
            if detect_language(bare, default=language) == language:
                out.append(sentence)
                continue
            translated = self._translate(llm, bare, language)
            if translated is None or detect_language(translated, default=language) != language:
                notes.append(f"could not translate {bare!r} into the question's language")
                return None
            markers = "".join(f"[{m}]" for m in sentence.markers)
            body = translated.rstrip().rstrip(".!?")
            text = f"{body} {markers}." if markers else f"{body}."
            out.append(replace(sentence, text=text))
            notes.append(f"translated {bare!r} into the question's language")
        return out

    def _extractive(
        self, answer: Answer, evidence: list[Evidence], question: str, language: str, llm: ChatModel
    ) -> Answer:
        """Nothing survived verification: quote the best evidence instead (translated when needed)."""
        # Quoting is only better than abstaining when the quote is clearly about the question:
        # measured, a rejected draft usually meant the evidence did not answer it at all. Only the
        # best sentence, plus the runner-up when it is about as relevant.
        floor = self._min_relevance + self._s.extractive_margin
        best = [
            e
            for e in evidence[:2]
            if e.score >= floor and e.score >= evidence[0].score - 0.005 and _anchored(question, e.quote)
        ]
        if not best:
            answer.answer = self._prompts.message("nothing_verified", language)
            return answer
        lines = [self._prompts.message("extractive_intro", language)]
        citations = []
        for i, e in enumerate(best, start=1):
            shown = e.quote
            if e.language not in (language, "und") and self._s.translate_extractive:
                translated = self._translate(llm, e.quote, language)
                if translated is not None:
                    shown = translated
            lines.append(f"“{shown}” [{i}]")
            citations.append(to_citation(e, i))
        answer.answer = " ".join(lines)
        answer.citations = citations
        answer.abstained, answer.mode = False, "extractive"
        return answer

    def _translate(self, llm: ChatModel, text: str, language: str) -> str | None:
        messages = self._prompts["translate"].render(language=language_name(language), text=_sanitize(text))
        out = complete(llm, messages, max_tokens=200, temperature=0.0).strip().strip('"“”„').strip()
        if not out:
            return None
        # A translation may not add numbers or names the original lacks.
        if not number_facts(out) <= number_facts(text):
            return None
        if any(not name_supported(n, text) for n in name_candidates(out)):
            return None
        return out
