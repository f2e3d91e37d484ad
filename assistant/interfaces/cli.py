"""The `assistant` command: ingest, search, ask, chat, stats, articles, eval, web, slack. Thin over
service.py.

Each command is one entry of `COMMANDS`: its arguments and the function that runs it. Settings are
built once, from the environment, the TOML file and the command's --backend/--model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import plugins
from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.interfaces import console, options, terminal
from assistant.interfaces.status import StatusLine

if TYPE_CHECKING:
    from assistant.loaders import CsvOptions
    from assistant.service import Assistant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]
    # The index and loaders raise typed errors for every fault they know; for commands that only
    # store or read, anything else is still one line (a traceback with -vv).
    one_line: bool = False


def version() -> str:
    try:
        return metadata.version("news-assistant")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from an unpacked tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = options.Parser(
        prog="assistant",
        description="Local, private question answering over news articles, with checkable citations.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail and logging (-vv for debug)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s (news-assistant) {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.arguments(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # Before the arguments: --backend may name a backend that a plugin registers.
        plugins.load(os.environ)
    except AssistantError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose += getattr(args, "command_verbose", 0)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    # The level goes on the handler too: a library that sets its own logger to DEBUG when imported
    # (bm25s does) would otherwise print its debug lines into every command's output.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    command = COMMANDS[args.command]
    try:
        return command.run(args, _settings(args))
    except AssistantError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if not command.one_line or args.verbose >= 2:
            raise
        log.debug("unexpected error", exc_info=True)
        print(
            f"error: unexpected {type(err).__name__}: {_first_line(err)} (run with -vv for details)",
            file=sys.stderr,
        )
        return 1


def _settings(args: argparse.Namespace) -> Settings:
    # --backend and --model are arguments, so they win over ASSISTANT_LLM__* and the TOML file.
    llm = {key: value for key in ("backend", "model") if (value := getattr(args, key, None))}
    return Settings(llm=llm) if llm else Settings()


def _assistant(settings: Settings, *, must_exist: bool = False) -> Assistant:
    from assistant.service import Assistant

    return Assistant.from_settings(settings, must_exist=must_exist)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else "no details"


def _verbose_flag(p: argparse.ArgumentParser) -> None:
    # `assistant search q -v` as well as `assistant -v search q`.
    p.add_argument("-v", "--verbose", action="count", default=0, dest="command_verbose", help="more detail")


# --- ingest ------------------------------------------------------------------------------------------


def _ingest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (none: the sample articles)")
    p.add_argument("--prune", action="store_true", help="remove articles whose files are gone")
    p.add_argument(
        "--csv-preset", choices=["gnad"], help="CSV layout preset (gnad: label;text, ';' and \"'\")"
    )
    p.add_argument("--csv-delimiter", help="CSV delimiter (default ,)")
    p.add_argument("--csv-text-column", help="CSV column holding the article text (name or 0-based index)")
    p.add_argument("--csv-title-column", help="CSV column holding the title")
    p.add_argument("--csv-no-header", action="store_true", help="the CSV has no header row")
    p.add_argument("--csv-labels", nargs="+", help="only CSV rows with one of these labels (with a preset)")


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.loaders import check_path

    for path in args.paths:
        check_path(path)
    read = ", ".join(str(p) for p in args.paths) or f"the sample articles ({settings.sample_dir})"
    assistant = _assistant(settings)
    if sys.stderr.isatty():  # for the person waiting; a script gets the same at the end, on stdout
        print(f"Reading {read} into the index at {assistant.index.location} …", file=sys.stderr)
    bars = _ProgressBars()
    try:
        report = assistant.ingest(args.paths or None, prune=args.prune, csv=_csv_options(args), progress=bars)
    finally:
        bars.close()
    stats = assistant.stats()
    print(console.render_report(report))
    print(f"read:  {read}")
    print(
        f"index: {stats.location} (collection {stats.collection}), now {stats.articles} articles, "
        f"{stats.chunks} chunks"
    )
    return 0


def _csv_options(args: argparse.Namespace) -> CsvOptions | None:
    from assistant.loaders import CsvOptions

    if args.csv_preset == "gnad":
        return CsvOptions.gnad(labels=args.csv_labels)
    if not (args.csv_delimiter or args.csv_text_column or args.csv_title_column or args.csv_no_header):
        return None
    kwargs: dict[str, Any] = {}
    if args.csv_delimiter:
        kwargs["delimiter"] = args.csv_delimiter
    for option, field in ((args.csv_text_column, "text_column"), (args.csv_title_column, "title_column")):
        if option:
            kwargs[field] = int(option) if option.isdigit() else option
    if args.csv_no_header:
        kwargs["has_header"] = False
    return CsvOptions(**kwargs)


class _ProgressBars:
    """tqdm bars per stage. Ingest streams its input, so a stage's total grows while it runs; the
    bars are closed when the ingest returns, not when they first reach their total."""

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None and total == 0:
            return
        if bar is None:
            bar = self._bars[stage] = tqdm(
                total=total, desc=stage, unit="chunk", file=sys.stderr, leave=False
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


# --- search, ask, chat, stats, articles --------------------------------------------------------------


def _search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of passages")
    p.add_argument("--json", action="store_true", help="print one JSON list of hits (with their scores)")
    _verbose_flag(p)
    options.add_filter_arguments(p)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _assistant(settings, must_exist=True)
    hits = assistant.search(args.query, k=args.k, filters=_filters(args, assistant))
    if args.json:
        print(console.render_hits_json(hits))
    else:
        scores = console.explain_scores(settings.retrieval) if args.verbose else None
        print(console.render_hits_text(hits, scores=scores))
    return 0


def _filters(args: argparse.Namespace, assistant: Assistant) -> Any:
    known = assistant.stats().sources if args.source else None
    return options.filters_from(args, known)


def _llm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=None, help="passages to retrieve")
    p.add_argument(
        "--backend", type=options.backend, metavar="{" + ",".join(options.BACKENDS) + "}", help="LLM backend"
    )
    p.add_argument("--model", help="LLM model name (ollama)")
    _verbose_flag(p)
    options.add_filter_arguments(p)


def _ask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print one JSON object (progress stays on stderr)")
    _llm_arguments(p)


def _ask_options(args: argparse.Namespace, assistant: Assistant) -> terminal.AskOptions:
    return terminal.AskOptions(
        k=args.k,
        filters=_filters(args, assistant),
        verbose=args.verbose > 0,
        as_json=bool(getattr(args, "json", False)),
    )


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _assistant(settings, must_exist=True)
    try:
        terminal.ask(assistant, args.question, (), _ask_options(args, assistant))
    finally:
        assistant.close()
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _assistant(settings, must_exist=True)
    try:
        terminal.chat(assistant, _ask_options(args, assistant))
    finally:
        assistant.close()
    return 0


def _stats_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = _assistant(settings, must_exist=True).stats()
    print(stats.model_dump_json(indent=2) if args.json else console.render_stats(stats))
    return 0


def _articles_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every article: title, source, date, language, chunks, id")
    search = actions.add_parser("search", help="articles whose title, source or id contains TEXT")
    search.add_argument("text")
    for q in (listing, search):
        q.add_argument("--json", action="store_true", help="print one JSON list")
    delete = actions.add_parser("delete", help="remove articles and their chunks from the index")
    delete.add_argument("ids", nargs="+", metavar="ID", help="article ids (see `assistant articles list`)")


def _articles(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.interfaces.catalog import find_articles

    assistant = _assistant(settings, must_exist=True)
    records = assistant.articles()
    if args.action == "delete":
        return _delete_articles(assistant, args.ids, {r.article_id for r in records})
    if args.action == "search":
        records = find_articles(records, args.text)
    if args.json:
        print(json.dumps([console.article_row(r) for r in records], ensure_ascii=False, indent=2))
    else:
        print(console.render_articles_text(records, width=shutil.get_terminal_size().columns))
    return 0


def _delete_articles(assistant: Assistant, ids: Sequence[str], known: set[str]) -> int:
    unknown = [i for i in ids if i not in known]
    if unknown:
        hint = options.did_you_mean(unknown[0], known)
        raise InputError(
            f"No article with id {unknown[0]!r}{hint}: nothing was deleted (`assistant articles search` "
            "finds ids)."
        )
    for record in assistant.delete_articles(ids):
        print(f"deleted {record.article_id}: {record.title or '(untitled)'} ({len(record.chunk_ids)} chunks)")
    return 0


# --- eval, web, slack --------------------------------------------------------------------------------


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--suite",
        choices=["news", "xquad", "perturbations"],
        default="news",
        help="news: evals/cases.yaml over the sample corpus (default); xquad: XQuAD-dev, cross-lingual; "
        "perturbations: the verifier against faithful and altered claims",
    )
    p.add_argument("--cases", type=Path, default=None, help="cases file (default evals/cases.yaml)")
    p.add_argument("--data", type=Path, default=None, help="xquad: the XQuAD-dev folder")
    p.add_argument("--sample", type=int, default=30, help="xquad: XQuAD items to ask (each in EN and DE)")
    p.add_argument("--seed", default="xquad", help="xquad: which sample")
    p.add_argument("--full", action="store_true", help="xquad: every item")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="CI's small subset of the suite, gated against its own baseline (baseline-*smoke.json)",
    )
    p.add_argument("--split", choices=["dev", "test"], default=None, help="perturbations: one split only")
    p.add_argument(
        "--backend", type=options.backend, metavar="{" + ",".join(options.BACKENDS) + "}", help="LLM backend"
    )
    p.add_argument("--model", help="LLM model name (ollama)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default evals/reports)")
    p.add_argument("--baseline", type=Path, default=None, help="baseline file (default evals/baseline.json)")
    p.add_argument("--update-baseline", action="store_true", help="ratchet the baseline to these results")
    p.add_argument("--allow-regression", action="store_true", help="with --update-baseline: allow lowering")
    p.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    p.add_argument("--tags", nargs="*", default=None, help="run only cases with one of these tags")
    p.add_argument("--no-distractors", action="store_true", help="do not index the GNAD distractors")
    p.add_argument("--judge", action="store_true", help="add the Ollama LLM-judge faithfulness score")
    p.add_argument(
        "--import-feedback",
        type=Path,
        metavar="FILE",
        help="print draft cases (YAML) made from the web UI's thumbs (ASSISTANT_WEB__FEEDBACK_PATH, by "
        "default ~/.local/share/news-assistant/feedback.jsonl), and run nothing",
    )


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation.cli import run_eval_command

    return run_eval_command(args, settings)


def _web_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")
    p.add_argument("--auth", default=None, help="user:password for basic auth (or ASSISTANT_WEB__AUTH)")
    p.add_argument(
        "--allow-unauthenticated", action="store_true", help="bind a non-loopback host without --auth"
    )
    p.add_argument(
        "--backend", type=options.backend, metavar="{" + ",".join(options.BACKENDS) + "}", help="LLM backend"
    )
    p.add_argument("--model", help="LLM model name (ollama)")


def _web(args: argparse.Namespace, settings: Settings) -> int:
    _offline_environment()
    from assistant.interfaces import web

    web.launch(
        _assistant(settings),
        settings,
        host=args.host,
        port=args.port,
        auth=args.auth,
        allow_unauthenticated=args.allow_unauthenticated,
    )
    return 0


def _offline_environment() -> None:
    # Gradio and huggingface_hub phone home (version checks, telemetry) unless told not to, some of
    # it when imported; a local-first tool sends nothing. Analytics are forced off; the HF switches
    # are defaults. Set here, at the edge, before the web UI is imported.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _slack_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=["socket", "http"], default="socket")
    p.add_argument("--port", type=int, default=3000, help="HTTP mode: port for /slack/events")
    p.add_argument("--host", default="127.0.0.1", help="HTTP mode: bind address")
    p.add_argument(
        "--check",
        action="store_true",
        help="check the tokens and the index, print what the bot would use, and exit without starting it",
    )
    p.add_argument(
        "--backend", type=options.backend, metavar="{" + ",".join(options.BACKENDS) + "}", help="LLM backend"
    )
    p.add_argument("--model", help="LLM model name (ollama)")


def _slack(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.interfaces import slack

    assistant = _assistant(settings, must_exist=True)
    if args.check:
        for line in slack.check(assistant, settings.slack, mode=args.mode):
            print(line)
        return 0
    # The first answer would otherwise wait for the model: load it before connecting, and say so.
    status = StatusLine(sys.stderr)
    try:
        for event in assistant.warm_up():
            status.step(event.text)
    finally:
        status.close()
    slack.run(assistant, settings.slack, mode=args.mode, port=args.port, host=args.host, on_ready=print)
    return 0


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "ingest",
            "add files or folders to the index (no path: the sample corpus)",
            _ingest_arguments,
            _ingest,
            one_line=True,
        ),
        Command(
            "search", "show the passages retrieved for a query", _search_arguments, _search, one_line=True
        ),
        Command("ask", "answer a question with citations", _ask_arguments, _ask),
        Command("chat", "interactive conversation", _llm_arguments, _chat),
        Command("stats", "what the index holds", _stats_arguments, _stats, one_line=True),
        Command("articles", "list, search and delete indexed articles", _articles_arguments, _articles, True),
        Command("eval", "run an eval suite; non-zero exit on regression", _eval_arguments, _eval),
        Command("web", "open the chat UI in the browser", _web_arguments, _web),
        Command("slack", "run the Slack bot (or --check its setup)", _slack_arguments, _slack),
    )
}


if __name__ == "__main__":
    sys.exit(main())
