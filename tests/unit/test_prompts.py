from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.paths import default_prompts_dir
from assistant.prompts import Prompts, parse_prompt

GOOD = "---\nname: t\nvariables: [a, b]\n---\n## system\nS {a}\n## user\nU {b}\n"


def test_shipped_prompts_load_and_have_hashes() -> None:
    prompts = Prompts(default_prompts_dir())
    assert set(prompts.hashes) >= {"answer", "rewrite", "translate", "messages"}
    assert prompts.message("no_evidence", "de") != prompts.message("no_evidence", "en")
    assert prompts.message("no_evidence", "fr") == prompts.message("no_evidence", "en")


def test_undeclared_or_unused_variables_are_rejected() -> None:
    with pytest.raises(ConfigError, match="differ"):
        parse_prompt(GOOD.replace("U {b}", "U {c}"), "x.md")
    with pytest.raises(ConfigError, match="differ"):
        parse_prompt(GOOD.replace("U {b}", "U"), "x.md")
    with pytest.raises(ConfigError, match="front matter"):
        parse_prompt("## user\nhi", "x.md")


def test_render_does_not_reinterpret_braces_in_values() -> None:
    template = parse_prompt(GOOD, "x.md")
    messages = template.render(a="{b}", b="{a} }{")
    assert messages[0]["content"] == "S {b}"
    assert messages[1]["content"] == "U {a} }{"
    with pytest.raises(ValueError, match="missing"):
        template.render(a="x")


def test_hash_changes_with_content(tmp_path: Path) -> None:
    assert parse_prompt(GOOD, "x").sha256 != parse_prompt(GOOD + "\n", "x").sha256


def test_a_prompt_can_share_another_prompts_system_part(tmp_path: Path) -> None:
    import shutil

    from assistant.paths import default_prompts_dir

    folder = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), folder)
    prompts = Prompts(folder)
    assert prompts["relevance"].system == prompts["support"].system != ""
    (folder / "relevance.md").write_text(
        "---\nname: relevance\nvariables: [passage, question]\nsystem_from: nowhere\n---\n"
        "## user\n{passage} {question}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="system_from"):
        Prompts(folder)
