"""Folding and word tokens, the comparisons every other text module builds on."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

import yaml

WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lowercase, strip diacritics, ß -> ss: 'Peskow', 'PESKÓW' and 'peskow' compare equal."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Word tokens; hyphenated compounds and elisions stay one token ("Berg-Karabach", "Russia's")."""
    return WORD.findall(text)


@cache
def data_file(name: str) -> Any:
    """A YAML file from assistant/text/data, parsed once."""
    return yaml.safe_load(resources.files("assistant.text").joinpath("data", name).read_text("utf-8"))


def data_text(name: str) -> str:
    return resources.files("assistant.text").joinpath("data", name).read_text("utf-8")
