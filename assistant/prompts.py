"""Loads prompt templates from prompts/*.md, checks their variables, and exposes content hashes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.backends.base import Message
from assistant.errors import ConfigError

_VAR = re.compile(r"\{([a-z_]+)\}")
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    variables: frozenset[str]
    sha256: str
    # Another template whose system part this one shares (front matter `system_from`): identical
    # system text keeps the embedded model's KV cache warm across the two.
    system_from: str | None = None

    def render(self, **values: str) -> list[Message]:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise ValueError(f"prompt {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")

        # Substitute in one pass so braces inside values (article text) are never re-interpreted.
        def fill(template: str) -> str:
            return _VAR.sub(lambda m: values[m.group(1)], template)

        return [
            {"role": "system", "content": fill(self.system)},
            {"role": "user", "content": fill(self.user)},
        ]


def parse_prompt(text: str, origin: str) -> PromptTemplate:
    front = _FRONT.match(text)
    if front is None:
        raise ConfigError(
            f"{origin}: a prompt file starts with a --- front matter block listing its variables"
        )
    meta = yaml.safe_load(front.group(1)) or {}
    declared = frozenset(meta.get("variables") or [])
    body = text[front.end() :]
    parts = _SECTION.split(body)
    sections = dict(zip(parts[1::2], (p.strip("\n") for p in parts[2::2]), strict=True))
    if "user" not in sections:
        raise ConfigError(f"{origin}: needs a '## user' section")
    system, user = sections.get("system", ""), sections["user"]
    system_from = meta.get("system_from")
    if system_from and system:
        raise ConfigError(f"{origin}: give either a '## system' section or system_from, not both")
    used = frozenset(_VAR.findall(system)) | frozenset(_VAR.findall(user))
    if used != declared:
        raise ConfigError(
            f"{origin}: variables used {sorted(used)} differ from those declared {sorted(declared)}"
        )
    return PromptTemplate(
        name=str(meta.get("name") or Path(origin).stem),
        system=system,
        user=user,
        variables=declared,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        system_from=str(system_from) if system_from else None,
    )


class Prompts:
    """All templates and localised messages of one prompts folder, loaded and validated up front."""

    REQUIRED = ("answer", "rewrite", "translate", "untranslated", "support", "relevance")

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ConfigError(f"Prompt folder not found: {folder}")
        self.folder = folder
        self.templates: dict[str, PromptTemplate] = {}
        for path in sorted(folder.glob("*.md")):
            template = parse_prompt(path.read_text(encoding="utf-8"), str(path))
            self.templates[template.name] = template
        for name, template in list(self.templates.items()):
            if template.system_from is None:
                continue
            base = self.templates.get(template.system_from)
            if base is None or base.system_from is not None or _VAR.search(base.system):
                raise ConfigError(
                    f"{folder}/{name}.md: system_from must name a template with a fixed system part"
                )
            digest = hashlib.sha256((template.sha256 + base.sha256).encode()).hexdigest()
            self.templates[name] = replace(template, system=base.system, sha256=digest)
        for name in self.REQUIRED:
            if name not in self.templates:
                raise ConfigError(f"{folder}: prompt '{name}.md' is missing")
        messages_file = folder / "messages.yaml"
        raw = messages_file.read_bytes() if messages_file.is_file() else b"{}"
        self.messages: dict[str, dict[str, str]] = yaml.safe_load(raw) or {}
        self._messages_hash = hashlib.sha256(raw).hexdigest()

    def __getitem__(self, name: str) -> PromptTemplate:
        return self.templates[name]

    def message(self, key: str, language: str) -> str:
        variants: dict[str, Any] = self.messages.get(key) or {}
        text = variants.get(language) or variants.get("en")
        if not text:
            raise ConfigError(f"{self.folder}/messages.yaml: no text for '{key}'")
        return str(text)

    @property
    def hashes(self) -> dict[str, str]:
        out = {name: t.sha256[:12] for name, t in sorted(self.templates.items())}
        out["messages"] = self._messages_hash[:12]
        return out
