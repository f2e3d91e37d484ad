"""Answer text put into the reader's language by the local model, and checked like any draft: a
translation that is not in the target language, adds a number or name the original lacks, or whose
embedding is too far from the original's (a fluent reply that says something else: "As stated, the
text remains unchanged."), is refused (None), and the caller then drops the sentence or does not
quote the passage."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from assistant.backends.base import ChatModel, Embedder, Message, complete
from assistant.cite import SentenceCheck, render
from assistant.prompts import Prompts
from assistant.shape import sanitize_quote
from assistant.text.facts import number_facts
from assistant.text.language import detect_language, language_name
from assistant.text.lexicon import Lexicon
from assistant.text.names import name_candidates, name_supported

log = logging.getLogger(__name__)


class Translator:
    """One per Answerer; holds no state beyond its prompts, the lexicon it reads names with, and the
    embedder that compares a translation with its original (`min_similarity` 0: not compared)."""

    def __init__(
        self, prompts: Prompts, lexicon: Callable[[], Lexicon], embedder: Embedder, min_similarity: float
    ) -> None:
        self._prompts = prompts
        self._lexicon = lexicon
        self._embedder = embedder
        self._min_similarity = min_similarity

    def sentence(self, llm: ChatModel, sentence: SentenceCheck, language: str) -> SentenceCheck | None:
        """A sentence the model wrote in the evidence's language, translated; None if that fails or
        the translation adds a number or name the sentence lacks."""
        translated: str | None
        if sentence.untranslated and detect_language(sentence.sentence, default=language) == language:
            # Best effort: a sentence in the reader's language with a few words left in the other
            # one is still read as it is when finishing it fails.
            translated = self._finish(llm, sentence.sentence, sentence.untranslated, language)
            translated = translated or sentence.sentence
        else:
            translated = self.text(llm, sentence.sentence, language)
        if translated is None:
            return None
        return replace(
            sentence, sentence=translated, text=render(translated, sentence.markers), language_ok=True
        )

    def text(self, llm: ChatModel, text: str, language: str) -> str | None:
        """`text` (a quote or a sentence) in `language`, names kept as they are."""
        source = detect_language(text, default="de" if language == "en" else "en")
        names = dict.fromkeys(n.text for n in name_candidates(text, source, self._lexicon()))
        messages = self._prompts["translate"].render(
            language=language_name(language), text=sanitize_quote(text), names=", ".join(names) or "none"
        )
        return self._translation(llm, messages, text, language)

    def _finish(self, llm: ChatModel, text: str, words: list[str], language: str) -> str | None:
        """A sentence in the reader's language with `words` of the other one, translated."""
        messages = self._prompts["untranslated"].render(text=sanitize_quote(text), words=", ".join(words))
        return self._translation(llm, messages, text, language)

    def _translation(self, llm: ChatModel, messages: list[Message], text: str, language: str) -> str | None:
        """The model's translation of `text`, unless it is not in `language`, adds a number or name
        the original lacks, or says something else."""
        out = complete(llm, messages, max_tokens=200, temperature=0.0).strip().strip('"“”„').strip()
        if not out or detect_language(out, default=language) != language:
            log.debug("translation %r rejected: not in %s", out, language)
            return None
        # A translation may not add numbers or names the original lacks.
        if not number_facts(out, language) <= number_facts(text):
            log.debug("translation %r rejected: a number the original lacks", out)
            return None
        added = [
            n.text
            for n in name_candidates(out, language, self._lexicon())
            if not n.soft and not name_supported(n.text, text)
        ]
        if added:
            log.debug("translation %r rejected: names the original lacks: %s", out, added)
            return None
        if self._min_similarity > 0:
            original, translation = self._embedder.embed_passages([text, out])
            similarity = float(original @ translation)
            if similarity < self._min_similarity:
                log.debug("translation %r rejected: similarity %.3f to the original", out, similarity)
                return None
        return out
