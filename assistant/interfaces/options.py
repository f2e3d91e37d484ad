"""The command line's own checks: argument types that refuse bad values with a message (argparse
turns them into exit code 2), filters matched against what the index holds, and "did you mean"."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence

from assistant import plugins
from assistant.dates import is_filter_date
from assistant.errors import InputError
from assistant.text.language import SUPPORTED
from assistant.types import Filters

# What --backend offers; a backend a plugin registered (the tests' `fake`) is accepted, not offered.
BACKENDS = plugins.BUILT_IN_LLMS
LANGUAGES = SUPPORTED


def backend(value: str) -> str:
    name = value.strip().lower()
    if name in plugins.llm_backends():
        return name
    raise argparse.ArgumentTypeError(f"{value!r} is not a backend: choose {' or '.join(BACKENDS)}")


def filter_date(value: str) -> str:
    date = value.strip()
    if is_filter_date(date):
        return date
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2024 or 2024-06-30"
    )


def language(value: str) -> str:
    code = value.strip().lower()
    if code in LANGUAGES:
        return code
    raise argparse.ArgumentTypeError(f"{value!r} is not a language here: choose {' or '.join(LANGUAGES)}")


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only articles from this source, any case (repeatable; `assistant stats` lists them)",
    )
    p.add_argument(
        "--lang",
        action="append",
        dest="languages",
        type=language,
        metavar="{" + ",".join(LANGUAGES) + "}",
        help="only articles in this language (repeatable)",
    )
    p.add_argument(
        "--since", type=filter_date, metavar="DATE", help="only articles dated on/after YYYY[-MM[-DD]]"
    )
    p.add_argument(
        "--until", type=filter_date, metavar="DATE", help="only articles dated on/before YYYY[-MM[-DD]]"
    )


def filters_from(args: argparse.Namespace, known_sources: Mapping[str, int] | None = None) -> Filters | None:
    """The filters of the command line; sources matched to the index's spelling of them (`dw` finds
    `DW`). InputError when a source matches none, or --since is after --until."""
    since, until = args.since, args.until
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}: nothing could match.")
    sources = resolve_sources(args.source, known_sources) if args.source else None
    f = Filters(sources=sources, languages=args.languages, date_from=since, date_to=until)
    return None if f.is_empty() else f


def resolve_sources(wanted: Sequence[str], known: Mapping[str, int] | None) -> list[str]:
    """Each wanted source as the index spells it (all spellings that differ only in case)."""
    if known is None:
        return list(wanted)
    by_fold: dict[str, list[str]] = {}
    for name in known:
        by_fold.setdefault(name.casefold(), []).append(name)
    resolved: list[str] = []
    for name in wanted:
        found = by_fold.get(name.strip().casefold())
        if not found:
            listed = ", ".join(f"{s} ({n})" for s, n in sorted(known.items())) or "none yet"
            raise InputError(
                f"No articles from source {name!r}{did_you_mean(name, known)}. Sources: {listed}"
            )
        resolved += [s for s in found if s not in resolved]
    return resolved


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'ingest'?)" for the closest choice, or ""."""
    options = list(choices)
    lowered = {c.casefold(): c for c in options}
    close = difflib.get_close_matches(word.casefold(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


class Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" when a choice (a command) is mistyped."""

    def error(self, message: str) -> None:  # type: ignore[override]
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = [c.strip(" '") for c in match.group(2).split(",")]
            message = f"unknown {_what(message)} {match.group(1)!r}{did_you_mean(match.group(1), choices)}"
            message += f"; choose from {', '.join(choices)}"
        super().error(message)


def _what(message: str) -> str:
    head = message.split(":", 1)[0]
    return "command" if "COMMAND" in head or "ACTION" in head else head.replace("argument ", "value of ")
