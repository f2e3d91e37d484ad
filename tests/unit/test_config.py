"""Settings: unknown keys are errors that name the key, from every source; overrides are validated
copies; the variables of other tools (OLLAMA_HOST, SLACK_*) are read only when settings are built."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "ASSISTANT_RETRIEVAL__KK",
            r"ASSISTANT_RETRIEVAL__KK: retrieval has no setting 'kk' \(did you mean 'k'\?\)",
        ),
        ("ASSISTANT_RETRIEVL__K", r"ASSISTANT_RETRIEVL__K: no such setting \(did you mean 'retrieval'\?\)"),
        ("ASSISTANT_FOO", "ASSISTANT_FOO: no such setting"),
        ("ASSISTANT_PROMPTS_DIR__X", "ASSISTANT_PROMPTS_DIR__X: prompts_dir is a single value"),
    ],
)
def test_an_unknown_environment_variable_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    monkeypatch.setenv(name, "9")
    with pytest.raises(ConfigError, match=message):
        Settings()


def test_unknown_and_invalid_keys_in_the_toml_file_and_arguments_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "assistant.toml"
    toml.write_text("[retrieval]\nkk = 3\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(toml))
    with pytest.raises(ConfigError, match=r"unknown setting retrieval\.kk \(did you mean 'k'\?\)"):
        Settings()
    monkeypatch.delenv("ASSISTANT_CONFIG")
    with pytest.raises(ConfigError, match=r"unknown setting llm\.bakend \(did you mean 'backend'\?\)"):
        Settings(llm={"bakend": "fake"})
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__K", "99")
    with pytest.raises(
        ConfigError, match=r"retrieval\.k: Input should be less than or equal to 50 \(got '99'\)"
    ):
        Settings()


def test_a_bad_secret_is_named_but_not_shown() -> None:
    with pytest.raises(ConfigError, match=r"slack\.bot_token") as info:
        Settings(slack={"bot_token": ["xoxb-do-not-print"]})
    assert "xoxb-do-not-print" not in str(info.value)


def test_settings_are_never_changed_in_place_and_copies_are_validated() -> None:
    settings = Settings(llm={"backend": "fake"})
    with pytest.raises(ValueError, match="frozen"):
        settings.llm.backend = "ollama"  # type: ignore[misc]
    judge = settings.replaced(llm={"backend": "ollama", "model": None}, index={"prefix": "eval"})
    assert (judge.llm.backend, judge.index.prefix) == ("ollama", "eval")
    assert (settings.llm.backend, settings.index.prefix) == ("fake", "news")
    assert judge.retrieval == settings.retrieval
    with pytest.raises(ConfigError, match=r"llm\.backend: Input should be"):
        settings.replaced(llm={"backend": "nope"})
    with pytest.raises(ConfigError, match=r"unknown setting llm\.bakend"):
        settings.replaced(llm={"bakend": "ollama"})
    with pytest.raises(ConfigError, match=r"Unknown settings section 'lm' \(did you mean 'llm'\?\)"):
        settings.replaced(lm={})


def test_other_tools_variables_are_read_when_settings_are_built_below_our_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://from-ollama-host:1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-slack-env")
    monkeypatch.setenv("SLACK_API_URL", "")  # empty counts as unset
    settings = Settings()
    assert settings.ollama.host == "http://from-ollama-host:1"
    assert settings.slack.bot_token is not None
    assert settings.slack.bot_token.get_secret_value() == "xoxb-from-slack-env"
    assert settings.slack.api_url == "https://slack.com/api/"

    toml = tmp_path / "assistant.toml"
    toml.write_text('[ollama]\nhost = "http://from-toml:2"\n', encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(toml))
    assert Settings().ollama.host == "http://from-toml:2"
    monkeypatch.setenv("ASSISTANT_OLLAMA__HOST", "http://from-assistant-env:3")
    assert Settings().ollama.host == "http://from-assistant-env:3"
    assert Settings(ollama={"host": "http://argument:4"}).ollama.host == "http://argument:4"


def test_the_cli_says_which_setting_is_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.interfaces.cli import main

    monkeypatch.setenv("ASSISTANT_RETRIEVAL__KK", "9")
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown environment variable: ASSISTANT_RETRIEVAL__KK") and err[-1] == "\n"
    assert "Traceback" not in err
