"""Where the project's files are: the data folders a checkout has (prompts, sample articles, evals)
or the installed package ships, and the user's data and cache folders. No settings, no imports of
the project: the settings' defaults are read from here."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files(__package__ or "assistant")))
_CHECKOUT_DIR = PACKAGE_DIR.parent


def _in_checkout() -> bool:
    return (_CHECKOUT_DIR / "pyproject.toml").is_file() and (_CHECKOUT_DIR / "prompts").is_dir()


def _data_dir(in_checkout: str, packaged: str) -> Path:
    """A data folder: the checkout's own when running from one, else the copy the wheel ships inside
    the package (see `[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml)."""
    return _CHECKOUT_DIR / in_checkout if _in_checkout() else PACKAGE_DIR / packaged


def default_prompts_dir() -> Path:
    return _data_dir("prompts", "_prompts")


def default_sample_dir() -> Path:
    return _data_dir("data/articles", "_sample_articles")


def default_evals_dir() -> Path:
    """The eval cases and baseline (`evals/` in a checkout)."""
    return _data_dir("evals", "_evals")


def default_eval_reports_dir() -> Path:
    """Where `assistant eval` writes its reports: `evals/reports` in a checkout, else the data home."""
    return data_home() / ("evals/reports" if _in_checkout() else "eval-reports")


def data_home() -> Path:
    """Where indexes and uploads live: the checkout when running from one, else the user's data folder."""
    return _CHECKOUT_DIR if _in_checkout() else user_data_dir()


def user_data_dir() -> Path:
    """The user's data folder for news-assistant ($XDG_DATA_HOME/news-assistant), also when running
    from a checkout: what a person produces (feedback) does not belong in the source tree."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "news-assistant"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/news-assistant: what can be rebuilt (the assembled GGUF)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-assistant"
