"""Plain data models shared by every layer: articles, chunks, passages, citations, answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Article(BaseModel):
    """One cleaned article, ready to be chunked."""

    id: str = Field(description="Stable id: from the source (jsonl/csv id) or derived from the file path.")
    text: str
    title: str
    source: str = ""
    date: str | None = Field(
        default=None, description="ISO date or partial date (YYYY, YYYY-MM, YYYY-MM-DD)."
    )
    language: str = "und"
    url: str | None = None
    origin: str = Field(default="", description="Where it was loaded from: a file path, or path#row.")
    content_hash: str = Field(
        default="", description="sha256 of text + metadata; changes when the article does."
    )


class Chunk(BaseModel):
    """A span of an article. `start`/`end` are character offsets into `Article.text`."""

    id: str
    article_id: str
    text: str
    start: int
    end: int
    index: int
    title: str = ""
    source: str = ""
    date: str | None = None
    language: str = "und"
    url: str | None = None
    origin: str = ""
    article_hash: str = Field(
        default="", description="content_hash of the article version the chunk was stored for ('' unknown)."
    )


class Passage(BaseModel):
    """A retrieved chunk with its scores (higher is better)."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None


class Filters(BaseModel):
    """Metadata filters for retrieval. Dates compare as ISO strings, so partial dates work."""

    sources: list[str] | None = None
    languages: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not (self.sources or self.languages or self.date_from or self.date_to)


class QuotedSpan(BaseModel):
    """A verbatim span of an article with the article's metadata."""

    marker: int
    article_id: str
    title: str
    source: str = ""
    date: str | None = None
    url: str | None = None
    language: str = "und"
    quote: str
    start: int = Field(description="Offset of the quote in the article text.")
    end: int
    context: str = Field(default="", description="Surrounding chunk text, for display.")


class Evidence(QuotedSpan):
    """A numbered sentence handed to the model as citable evidence."""

    chunk_id: str
    score: float = 0.0


class Citation(QuotedSpan):
    """What a [n] marker in an answer resolves to: the article and the exact quote."""


class Timings(BaseModel):
    rewrite_s: float = 0.0
    retrieve_s: float = 0.0
    first_token_s: float | None = None
    first_sentence_s: float | None = Field(
        default=None, description="When the first verified sentence was ready."
    )
    total_s: float = 0.0


class Turn(BaseModel):
    """One message of a conversation, as kept by the interfaces."""

    role: Literal["user", "assistant"]
    content: str


class Removed(BaseModel):
    """A sentence of the model's draft that the reader does not get, and why, in plain words."""

    sentence: str
    reason: str


class Answer(BaseModel):
    """The final, verified answer. Every [n] in `answer` has a matching citation."""

    question: str
    answer: str
    abstained: bool
    language: str
    citations: list[Citation] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    backend: str = ""
    model: str = ""
    standalone_question: str | None = Field(
        default=None, description="The follow-up rewritten into a standalone question, when it was."
    )
    mode: Literal["generated", "extractive", "abstained"] = "generated"
    abstain_reason: Literal["no_evidence", "not_answered"] | None = Field(
        default=None,
        description="Why it abstained: nothing relevant was found, or passages were found but none answers.",
    )
    related: list[Citation] = Field(
        default_factory=list, description="When abstaining: the closest passages, offered as related reading."
    )
    removed: list[Removed] = Field(
        default_factory=list, description="Draft sentences verification removed, with the reason in words."
    )
    notes: list[str] = Field(default_factory=list, description="What verification did, for developers.")
    evidence: list[Evidence] = Field(default_factory=list, description="All evidence shown to the model.")


class TokenEvent(BaseModel):
    """A streamed piece of the draft answer (before verification)."""

    kind: Literal["token"] = "token"
    text: str


class SentenceEvent(BaseModel):
    """A sentence of the answer that has passed every check, with its (draft) markers; the final
    answer renumbers the markers."""

    kind: Literal["sentence"] = "sentence"
    text: str


class StatusEvent(BaseModel):
    """A progress message while answering (retrieving, selecting evidence, ...)."""

    kind: Literal["status"] = "status"
    text: str


class FinalEvent(BaseModel):
    """The verified answer; always the last event of a stream."""

    kind: Literal["final"] = "final"
    answer: Answer


AnswerEvent = TokenEvent | SentenceEvent | StatusEvent | FinalEvent


class SkippedFile(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    repaired: int = Field(
        default=0, description="Unchanged articles whose stored chunks did not match the manifest, fixed."
    )
    chunks_embedded: int = 0
    chunks_reused: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    seconds: float = 0.0


class IndexStats(BaseModel):
    collection: str
    embedder: str
    articles: int
    chunks: int
    sources: dict[str, int] = Field(default_factory=dict)
    languages: dict[str, int] = Field(default_factory=dict)
    location: str = ""
