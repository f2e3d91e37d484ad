"""The `assistant` command: ingest, search, ask, chat, stats, eval, web, slack. Thin over service.py."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.types import Answer, Filters, FinalEvent, IngestReport, StatusEvent, TokenEvent, Turn

log = logging.getLogger(__name__)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", help="only articles from this source (repeatable)")
    p.add_argument("--lang", action="append", dest="languages", help="only articles in this language")
    p.add_argument("--since", help="only articles dated on/after this ISO date (YYYY[-MM[-DD]])")
    p.add_argument("--until", help="only articles dated on/before this ISO date")


def _filters(args: argparse.Namespace) -> Filters | None:
    f = Filters(sources=args.source, languages=args.languages, date_from=args.since, date_to=args.until)
    return None if f.is_empty() else f


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Local, private question answering over news articles, with checkable citations.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add files or folders to the index (no path: the sample corpus)")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--prune", action="store_true", help="remove articles whose files are gone")
    p.add_argument(
        "--csv-preset", choices=["gnad"], help="CSV layout preset (gnad: label;text, ';' and \"'\")"
    )
    p.add_argument("--csv-delimiter", help="CSV delimiter (default ,)")
    p.add_argument("--csv-text-column", help="CSV column holding the article text (name or 0-based index)")
    p.add_argument("--csv-title-column", help="CSV column holding the title")
    p.add_argument("--csv-no-header", action="store_true", help="the CSV has no header row")
    p.add_argument("--csv-labels", nargs="+", help="only CSV rows with one of these labels (with a preset)")

    p = sub.add_parser("search", help="show the passages retrieved for a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of passages")
    p.add_argument("--json", action="store_true", help="print one JSON list of hits")
    _add_filters(p)

    for name, helptext in (("ask", "answer a question with citations"), ("chat", "interactive conversation")):
        p = sub.add_parser(name, help=helptext)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("-k", type=int, default=None, help="passages to retrieve")
        p.add_argument("--backend", choices=["embedded", "ollama", "fake"], help="LLM backend")
        p.add_argument("--model", help="LLM model name (ollama)")
        _add_filters(p)

    sub.add_parser("stats", help="what the index holds").add_argument("--json", action="store_true")

    p = sub.add_parser("eval", help="run the groundedness eval suite; non-zero exit on regression")
    p.add_argument("--cases", type=Path, default=None, help="cases file (default evals/cases.yaml)")
    p.add_argument("--backend", choices=["embedded", "ollama", "fake"], help="LLM backend")
    p.add_argument("--model", help="LLM model name (ollama)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default evals/reports)")
    p.add_argument("--baseline", type=Path, default=None, help="baseline file (default evals/baseline.json)")
    p.add_argument("--update-baseline", action="store_true", help="ratchet the baseline to these results")
    p.add_argument("--allow-regression", action="store_true", help="with --update-baseline: allow lowering")
    p.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    p.add_argument("--tags", nargs="*", default=None, help="run only cases with one of these tags")
    p.add_argument("--no-distractors", action="store_true", help="do not index the GNAD distractors")
    p.add_argument("--judge", action="store_true", help="add the Ollama LLM-judge faithfulness score")

    p = sub.add_parser("web", help="open the chat UI in the browser")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")
    p.add_argument("--auth", default=None, help="user:password for basic auth (or ASSISTANT_WEB__AUTH)")
    p.add_argument(
        "--allow-unauthenticated", action="store_true", help="bind a non-loopback host without --auth"
    )
    p.add_argument("--backend", choices=["embedded", "ollama", "fake"], help="LLM backend")

    p = sub.add_parser("slack", help="run the Slack bot")
    p.add_argument("--mode", choices=["socket", "http"], default="socket")
    p.add_argument("--port", type=int, default=3000, help="HTTP mode: port for /slack/events")
    p.add_argument("--host", default="127.0.0.1", help="HTTP mode: bind address")
    p.add_argument("--backend", choices=["embedded", "ollama", "fake"], help="LLM backend")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    # --backend and --model are arguments, so they win over ASSISTANT_LLM__* and the TOML file.
    llm = {key: value for key in ("backend", "model") if (value := getattr(args, key, None))}
    return Settings(llm=llm) if llm else Settings()


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


def _print_report(report: IngestReport, out: TextIO) -> None:
    repaired = f", repaired {report.repaired}" if report.repaired else ""
    print(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}{repaired}, skipped {len(report.skipped)} "
        f"({report.chunks_embedded} chunks embedded, {report.chunks_reused} reused, {report.seconds:.1f} s)",
        file=out,
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: {skipped.reason}", file=out)


def _csv_options(args: argparse.Namespace) -> Any:
    from assistant.loaders import CsvOptions

    if args.csv_preset == "gnad":
        return CsvOptions.gnad(labels=args.csv_labels)
    if not (args.csv_delimiter or args.csv_text_column or args.csv_title_column or args.csv_no_header):
        return None
    kwargs: dict[str, Any] = {}
    if args.csv_delimiter:
        kwargs["delimiter"] = args.csv_delimiter
    if args.csv_text_column:
        col = args.csv_text_column
        kwargs["text_column"] = int(col) if col.isdigit() else col
    if args.csv_title_column:
        col = args.csv_title_column
        kwargs["title_column"] = int(col) if col.isdigit() else col
    if args.csv_no_header:
        kwargs["has_header"] = False
    return CsvOptions(**kwargs)


def render_answer_text(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.date) if x)
            lines.append(f"[{c.marker}] {c.title}" + (f" ({meta})" if meta else "") + f"  #{c.article_id}")
            lines.append(f'    "{c.quote}"  [chars {c.start}-{c.end}]')
    return "\n".join(lines)


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "language": answer.language,
        "citations": [
            {
                "marker": c.marker,
                "article_id": c.article_id,
                "title": c.title,
                "source": c.source,
                "date": c.date,
                "quote": c.quote,
                "start": c.start,
                "end": c.end,
            }
            for c in answer.citations
        ],
        "timings": answer.timings.model_dump(),
        "backend": answer.backend,
        "model": answer.model,
    }


def _ask_interactive(
    assistant: Any, question: str, history: Sequence[Turn], args: argparse.Namespace
) -> Answer:
    """Streams the draft to stderr (so stdout stays clean), then prints the verified answer."""
    answer: Answer | None = None
    drafting = False
    for event in assistant.ask_stream(question, history=history, k=args.k, filters=_filters(args)):
        if isinstance(event, StatusEvent):
            print(f"… {event.text}", file=sys.stderr)
        elif isinstance(event, TokenEvent):
            if not drafting:
                print("draft: ", end="", file=sys.stderr)
                drafting = True
            print(event.text, end="", file=sys.stderr, flush=True)
        elif isinstance(event, FinalEvent):
            answer = event.answer
    if drafting:
        print("\n", file=sys.stderr)
    assert answer is not None
    print(render_answer_text(answer))
    return answer


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from assistant.service import Assistant

    if args.command == "ingest":
        from assistant.loaders import check_path

        for path in args.paths:
            check_path(path)
        assistant = Assistant.from_settings(settings)
        bars = _ProgressBars()
        try:
            report = assistant.ingest(
                args.paths or None, prune=args.prune, csv=_csv_options(args), progress=bars
            )
        finally:
            bars.close()
        _print_report(report, sys.stdout)
        return 0

    if args.command == "search":
        assistant = Assistant.from_settings(settings)
        hits = assistant.search(args.query, k=args.k, filters=_filters(args))
        if args.json:
            payload = [
                {
                    "rank": i + 1,
                    "score": round(h.score, 4),
                    "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
                    "lexical_score": None if h.lexical_score is None else round(h.lexical_score, 4),
                    "article_id": h.chunk.article_id,
                    "chunk_id": h.chunk.id,
                    "title": h.chunk.title,
                    "source": h.chunk.source,
                    "date": h.chunk.date,
                    "language": h.chunk.language,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "text": h.chunk.text,
                }
                for i, h in enumerate(hits)
            ]
            print(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            if not hits:
                print("No passages found.")
            for i, h in enumerate(hits, start=1):
                meta = ", ".join(x for x in (h.chunk.source, h.chunk.date) if x)
                print(
                    f"{i}. [{h.score:.3f}] {h.chunk.title} ({meta}) #{h.chunk.article_id} "
                    f"chars {h.chunk.start}-{h.chunk.end}"
                )
                snippet = h.chunk.text.replace("\n", " ")
                print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}")
        return 0

    if args.command == "ask":
        assistant = Assistant.from_settings(settings)
        try:
            if args.json:
                answer = assistant.ask(args.question, k=args.k, filters=_filters(args))
                print(json.dumps(answer_json(answer), ensure_ascii=False))
            else:
                _ask_interactive(assistant, args.question, (), args)
        finally:
            assistant.close()
        return 0

    if args.command == "chat":
        assistant = Assistant.from_settings(settings)
        history: list[Turn] = []
        print("Ask about the articles. Empty line or Ctrl-D to quit; /clear starts over.", file=sys.stderr)
        try:
            while True:
                try:
                    question = input("> ").strip()
                except EOFError:
                    break
                if not question:
                    break
                if question == "/clear":
                    history.clear()
                    continue
                try:
                    answer = _ask_interactive(assistant, question, history, args)
                except InputError as err:
                    print(f"error: {err}", file=sys.stderr)
                    continue
                history += [
                    Turn(role="user", content=question),
                    Turn(role="assistant", content=answer.answer),
                ]
        finally:
            assistant.close()
        return 0

    if args.command == "stats":
        assistant = Assistant.from_settings(settings)
        stats = assistant.stats()
        if args.json:
            print(stats.model_dump_json(indent=2))
        else:
            print(f"index:     {stats.location} (collection {stats.collection})")
            print(f"embedder:  {stats.embedder}")
            print(f"articles:  {stats.articles}   chunks: {stats.chunks}")
            print("languages: " + ", ".join(f"{k} {v}" for k, v in stats.languages.items()))
            print("sources:   " + ", ".join(f"{k} {v}" for k, v in list(stats.sources.items())[:10]))
        return 0

    if args.command == "eval":
        from assistant.evaluation.cli import run_eval_command

        return run_eval_command(args, settings)

    if args.command == "web":
        _offline_environment()
        from assistant.interfaces import web

        assistant = Assistant.from_settings(settings)
        web.launch(
            assistant,
            settings,
            host=args.host,
            port=args.port,
            auth=args.auth,
            allow_unauthenticated=args.allow_unauthenticated,
        )
        return 0

    if args.command == "slack":
        from assistant.interfaces import slack

        assistant = Assistant.from_settings(settings)
        slack.run(assistant, settings.slack, mode=args.mode, port=args.port, host=args.host, on_ready=print)
        return 0

    raise InputError(f"unknown command {args.command}")


def _offline_environment() -> None:
    # Gradio and huggingface_hub phone home (version checks, telemetry) unless told not to, some of
    # it when imported; a local-first tool sends nothing. Analytics are forced off; the HF switches
    # are defaults. Set here, at the edge, before the web UI is imported.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except AssistantError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.command not in _ONE_LINE_COMMANDS or args.verbose >= 2:
            raise
        # The index and loaders raise typed errors for every fault they know; this is the net under
        # them, so an operator never gets a traceback from a command that only stores or reads.
        log.debug("unexpected error", exc_info=True)
        print(
            f"error: unexpected {type(err).__name__}: {_first_line(err)} (run with -vv for details)",
            file=sys.stderr,
        )
        return 1


_ONE_LINE_COMMANDS = frozenset({"ingest", "stats", "search"})


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else "no details"


if __name__ == "__main__":
    sys.exit(main())
