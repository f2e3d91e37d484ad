"""The browser chat UI (Gradio): streamed, cited answers with a sources panel, ingest and feedback.

Thin over `Assistant`: it renders `Answer` objects and calls the service, nothing more. The same answer
function is exposed as the Gradio API endpoint `/ask` for `gradio_client`.
"""

# No `from __future__ import annotations`: Gradio reads the type hints of event handlers at runtime
# (gr.LikeData, gr.Progress, the `ask` endpoint's JSON schema), and string hints defeat that.

import hashlib
import html
import ipaddress
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings, WebSettings
from assistant.errors import AssistantError, ConfigError, InputError, MissingDependencyError
from assistant.types import Answer, Citation, Filters, FinalEvent, IndexStats, IngestReport, StatusEvent, Turn

try:
    import gradio as gr
    from gradio.events import api as gradio_api
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("The web UI", "web") from exc

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

__all__ = [
    "EXAMPLE_QUESTIONS",
    "FeedbackLog",
    "ServerPaths",
    "Upload",
    "build_app",
    "feedback_record",
    "highlight_quote",
    "is_loopback",
    "keep_uploads",
    "launch",
    "make_filters",
    "render_answer",
    "render_error",
    "render_sources",
    "resolve_auth",
    "start",
]

EXAMPLE_QUESTIONS = [
    "When did Russian peacekeepers leave Karabakh?",
    "Welche Waffen lieferte Weißrussland an Aserbaidschan?",
    "What did Armenia ask Russia for when the border fighting escalated?",
    "Who won the 2022 football World Cup?",
]

# Every event that touches the index or the model shares this group, so `web.concurrency` bounds them
# together and the rest wait in Gradio's queue (position shown) instead of piling onto the service.
_CONCURRENCY_ID = "assistant"
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SOURCES_PLACEHOLDER = '<div class="na-sources-empty">Sources of each answer appear here.</div>'

CSS = """
.na-answer, .na-abstain, .na-error { line-height: 1.5; }
.na-abstain { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f;
  padding: 0.5em 0.75em; border-radius: 4px; }
.na-abstain-label { font-weight: 600; display: block; margin-bottom: 0.25em; }
.na-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d;
  padding: 0.5em 0.75em; border-radius: 4px; }
.na-status { color: #6b7280; font-style: italic; font-size: 0.9em; }
.na-draft { color: #4b5563; }
a.na-cite { font-weight: 600; text-decoration: none; padding: 0 0.1em; border-radius: 3px;
  background: #e0e7ff; color: #3730a3 !important; cursor: pointer; }
a.na-cite:hover { background: #c7d2fe; }
#na-sources { max-height: 70vh; overflow-y: auto; }
.na-turn { margin-bottom: 1em; }
.na-turn > summary { cursor: pointer; font-weight: 600; margin-bottom: 0.5em; }
.na-meta { color: #6b7280; font-size: 0.85em; }
.na-source { border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.6em 0.8em; margin: 0.5em 0;
  transition: box-shadow 0.3s; }
.na-source.na-flash { box-shadow: 0 0 0 3px #6366f1; }
.na-source-head { font-weight: 600; }
.na-marker { color: #3730a3; margin-right: 0.3em; }
.na-lang { display: inline-block; font-size: 0.75em; border: 1px solid #d1d5db; border-radius: 3px;
  padding: 0 0.3em; margin-left: 0.3em; color: #374151; }
.na-context { margin: 0.4em 0 0; padding: 0.3em 0.6em; border-left: 3px solid #d1d5db;
  font-size: 0.92em; white-space: pre-wrap; }
mark.na-quote { background: #fde68a; color: inherit; padding: 0 0.1em; }
.na-notes { color: #6b7280; font-size: 0.85em; }
"""

# Markers are plain fragment links (they work without script); this adds what fragments cannot:
# open a collapsed turn, scroll the panel smoothly, and flash the source card.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.na-cite') : null;
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById((link.getAttribute('href') || '').slice(1));
    if (!target) return;
    const turn = target.closest('details');
    if (turn) turn.open = true;
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('na-flash');
    void target.offsetWidth;
    target.classList.add('na-flash');
  }, true);
}
"""


# ----------------------------------------------------------------------------------------------------
# Rendering (pure functions: Answer/Citation in, escaped HTML out)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _anchor(turn: int, marker: int) -> str:
    return f"na-src-{turn}-{marker}"


def _link_markers(escaped_text: str, markers: set[int], turn: int) -> str:
    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(n in markers for n in numbers):
            return match.group(0)
        return "".join(
            f'<a class="na-cite" href="#{_anchor(turn, n)}" title="Show source {n}">[{n}]</a>'
            for n in numbers
        )

    return _MARKERS.sub(replace, escaped_text)


def render_answer(answer: Answer, turn: int) -> str:
    """The chat bubble of a verified answer: escaped text, [n] markers as links to the sources panel."""
    if answer.abstained:
        return (
            '<div class="na-abstain"><span class="na-abstain-label">No answer in the articles</span>'
            f"{_esc(answer.answer)}</div>"
        )
    markers = {c.marker for c in answer.citations}
    return f'<div class="na-answer">{_link_markers(_esc(answer.answer), markers, turn)}</div>'


def render_draft(draft: str, status: str) -> str:
    """The bubble while streaming: the unverified draft, or the current status before the first token."""
    parts = []
    if status:
        parts.append(f'<div class="na-status">{_esc(status)}</div>')
    if draft:
        parts.append('<div class="na-status">Draft: citations are checked once it is complete</div>')
        parts.append(f'<div class="na-draft">{_esc(draft)}▌</div>')
    return "".join(parts) or '<div class="na-status">Thinking…</div>'


def render_error(message: str) -> str:
    return f'<div class="na-error"><strong>Could not answer.</strong> {_esc(message)}</div>'


def _find_quote(context: str, quote: str) -> tuple[int, int] | None:
    start = context.find(quote)
    if start >= 0:
        return start, start + len(quote)
    # The quote may differ from the chunk in whitespace (line breaks) or case.
    words = quote.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    match = pattern.search(context)
    return (match.start(), match.end()) if match else None


def highlight_quote(context: str, quote: str) -> str:
    """Escaped `context` with `quote` wrapped in <mark>; the quote alone when the context lacks it."""
    span = _find_quote(context, quote) if context else None
    mark = '<mark class="na-quote">{}</mark>'
    if span is None:
        marked = mark.format(_esc(quote))
        return marked if not context else f"{marked}<br><br>{_esc(context)}"
    start, end = span
    return _esc(context[:start]) + mark.format(_esc(context[start:end])) + _esc(context[end:])


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def _render_citation(citation: Citation, turn: int, answer_language: str) -> str:
    title = _esc(citation.title or citation.article_id)
    url = _safe_url(citation.url)
    if url:
        title = f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(_esc(part) for part in (citation.date or "undated", citation.source) if part)
    lang = f'<span class="na-lang" title="Language of the quote">{_esc(citation.language)}</span>'
    if answer_language and citation.language != answer_language:
        lang += f'<span class="na-lang" title="Language of the answer">answer: {_esc(answer_language)}</span>'
    return (
        f'<div class="na-source" id="{_anchor(turn, citation.marker)}">'
        f'<div class="na-source-head"><span class="na-marker">[{citation.marker}]</span>{title}</div>'
        f'<div class="na-meta">{meta} {lang} · <code>{_esc(citation.article_id)}</code></div>'
        f'<blockquote class="na-context" lang="{_esc(citation.language)}">'
        f"{highlight_quote(citation.context, citation.quote)}</blockquote></div>"
    )


def _render_turn(answer: Answer, turn: int, *, open_: bool) -> str:
    heading = f"{turn}. {_esc(answer.question)}"
    meta = _esc(f"{answer.backend} / {answer.model} · {answer.timings.total_s:.1f} s · {answer.mode}")
    if answer.standalone_question and answer.standalone_question != answer.question:
        meta += f" · understood as: {_esc(answer.standalone_question)}"
    if answer.abstained:
        body = '<div class="na-abstain">No article supports an answer, so none is given.</div>'
    elif not answer.citations:
        body = '<div class="na-meta">No citations.</div>'
    else:
        body = "".join(_render_citation(c, turn, answer.language) for c in answer.citations)
    notes = ""
    if answer.notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in answer.notes)
        notes = f'<details class="na-notes"><summary>Verification notes</summary><ul>{items}</ul></details>'
    return (
        f'<details class="na-turn" id="na-turn-{turn}"{" open" if open_ else ""}>'
        f'<summary>{heading}</summary><div class="na-meta">{meta}</div>{body}{notes}</details>'
    )


def render_sources(answers: Sequence[Answer]) -> str:
    """The sources panel: every answer's citations, newest first and open, older ones collapsed."""
    if not answers:
        return _SOURCES_PLACEHOLDER
    turns = [_render_turn(a, i + 1, open_=i == len(answers) - 1) for i, a in enumerate(answers)]
    return "".join(reversed(turns))


def render_stats(stats: IndexStats) -> str:
    sources = ", ".join(f"{s} ({n})" for s, n in sorted(stats.sources.items())) or "-"
    languages = ", ".join(f"{s} ({n})" for s, n in sorted(stats.languages.items())) or "-"
    return (
        f"**{stats.articles}** articles · **{stats.chunks}** chunks · embedder `{stats.embedder}`  \n"
        f"Sources: {sources}  \nLanguages: {languages}"
    )


def render_ingest_report(report: IngestReport, names: Mapping[str, str] | None = None) -> str:
    """The report as Markdown. `names` maps the server path of each uploaded file to the name the
    user gave it, so skip reasons name the upload, not where the server keeps it."""
    repaired = f", repaired {report.repaired}" if report.repaired else ""
    text = (
        f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}{repaired} articles; {report.chunks_embedded} chunks embedded, "
        f"{report.chunks_reused} reused ({report.seconds:.1f} s)."
    )
    if report.skipped:
        lines = [f"- `{_shown_path(s.path, names or {})}`: {s.reason}" for s in report.skipped]
        text += "\n\nSkipped:\n" + "\n".join(lines)
    return text


def _shown_path(path: str, names: Mapping[str, str]) -> str:
    for stored, name in names.items():
        if path == stored or path.startswith(stored + "#"):
            return name + path[len(stored) :]
    return path


# ----------------------------------------------------------------------------------------------------
# Input checks, filters, auth


def make_filters(
    sources: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Filters | None:
    """Filters from the settings accordion; None when nothing is set. Raises InputError on bad dates."""
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        value = (value or "").strip()
        if value and not _DATE.fullmatch(value):
            raise InputError(f"{label} date {value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD.")
        dates.append(value or None)
    filters = Filters(
        sources=list(sources) or None if sources else None,
        languages=list(languages) or None if languages else None,
        date_from=dates[0],
        date_to=dates[1],
    )
    return None if filters.is_empty() else filters


def check_question(question: str, settings: Settings) -> str:
    """The stripped question, or InputError when it is empty or longer than the configured limit."""
    question = question.strip()
    if not question:
        raise InputError("Please type a question.")
    limit = settings.answer.max_question_chars
    if len(question) > limit:
        raise InputError(
            f"Your question is {len(question)} characters long; the limit is {limit}. Please shorten it."
        )
    return question


# ----------------------------------------------------------------------------------------------------
# Uploads and server paths


@dataclass(frozen=True)
class Upload:
    """An uploaded file as kept under `web.upload_dir`, and the name the user gave it."""

    path: Path
    name: str


def keep_uploads(files: Sequence[str | Path], web: WebSettings) -> list[Upload]:
    """Copy uploaded files (Gradio's temporary paths) into `web.upload_dir` as
    `<stem>~<8 hex of sha256(content)><suffix>`, within the configured bounds (InputError otherwise).

    The content hash is the article's identity, and deliberately so: an upload has no lasting
    place, and two people uploading `article.txt` must not overwrite each other. Uploading the same
    file again changes nothing; an edited file is a new article (to replace articles in place,
    ingest them from a folder, where the path is the identity). Keeping the copies lets the index
    be rebuilt later, e.g. after changing the embedder.
    """
    if len(files) > web.max_upload_files:
        raise InputError(
            f"{len(files)} files at once is more than the limit of {web.max_upload_files} "
            "(ASSISTANT_WEB__MAX_UPLOAD_FILES): upload them in parts."
        )
    incoming: list[tuple[Path, int]] = []
    for raw in files:
        source = Path(raw)
        try:
            size = source.stat().st_size
        except OSError:
            raise InputError(
                f"The upload {source.name} is no longer on the server: upload it again."
            ) from None
        if size > web.max_upload_mb * 1024 * 1024:
            raise InputError(
                f"{source.name} is larger than {web.max_upload_mb:g} MB (ASSISTANT_WEB__MAX_UPLOAD_MB)."
            )
        incoming.append((source, size))
    folder = web.upload_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        used = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    except OSError as err:
        raise InputError(f"Cannot keep uploads in {folder}: {err.strerror}.") from None
    total = sum(size for _, size in incoming)
    if used + total > web.max_uploads_total_mb * 1024 * 1024:
        raise InputError(
            f"The upload folder is full ({used / 1e6:.0f} MB kept, {web.max_uploads_total_mb:g} MB allowed; "
            "ASSISTANT_WEB__MAX_UPLOADS_TOTAL_MB): ask the operator to make room."
        )
    kept: list[Upload] = []
    for source, _ in incoming:
        digest = hashlib.sha256()
        with source.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        stem = _UNSAFE_NAME.sub("_", source.stem)[:80].strip("._") or "upload"
        target = folder / f"{stem}~{digest.hexdigest()[:8]}{source.suffix.lower()}"
        if not target.exists():
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                shutil.copyfile(source, partial)
                os.replace(partial, target)
            except OSError as err:
                partial.unlink(missing_ok=True)
                raise InputError(
                    f"Cannot keep the upload {source.name} in {folder}: {err.strerror}."
                ) from None
        kept.append(Upload(target.resolve(), source.name))
    return kept


_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class ServerPaths:
    """Whether the web UI may ingest a typed server path, and from where.

    `web.ingest_roots` None: only for a local user (a loopback bind without auth), any path; with
    auth or another bind address the box is hidden, since whoever can log in could otherwise read
    any file the server can. [] never; a list of folders: only paths inside them, also with auth.
    """

    enabled: bool
    roots: tuple[Path, ...] = ()

    @classmethod
    def from_settings(cls, web: WebSettings) -> "ServerPaths":
        if web.ingest_roots is None:
            return cls(enabled=is_loopback(web.host) and web.auth is None)
        roots = tuple(Path(root).expanduser().resolve() for root in web.ingest_roots)
        return cls(enabled=bool(roots), roots=roots)

    def check(self, typed: str) -> Path:
        """The path to ingest, or InputError when it is not allowed or not there."""
        if not self.enabled:
            raise InputError("Ingesting server paths is turned off here: upload the files instead.")
        path = Path(typed).expanduser()
        if self.roots:
            resolved = path.resolve()
            if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
                allowed = ", ".join(str(root) for root in self.roots)
                raise InputError(f"{typed} is not inside the folders this server may ingest ({allowed}).")
        if not path.exists():
            raise InputError(f"No such file or folder: {typed}")
        return path


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth(
    host: str, auth: str | None, *, allow_unauthenticated: bool = False
) -> tuple[str, str] | None:
    """Basic-auth credentials from "user:password", enforcing the bind rule.

    Loopback hosts need no password. Any other bind address (0.0.0.0, a LAN IP, a host name) requires
    one, unless `allow_unauthenticated` is set explicitly (e.g. behind an authenticating proxy).
    """
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("Web auth must look like user:password (both non-empty).")
        return user, password
    if is_loopback(host) or allow_unauthenticated:
        return None
    raise ConfigError(
        f"Refusing to serve the web UI on {host} without a password: anyone on the network could use it. "
        "Pass --auth user:password (or set ASSISTANT_WEB__AUTH), or bind 127.0.0.1."
    )


# ----------------------------------------------------------------------------------------------------
# Feedback


def feedback_record(
    answer: Answer,
    rating: int,
    *,
    answer_id: str,
    comment: str = "",
    history: Sequence[Turn] = (),
    k: int | None = None,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """One JSONL line. The eval fields (`question`, `language`, `answerable`, `expected_articles`) are
    only asserted for thumbs-up: a thumbs-down case has `answerable` None and needs a human to label it."""
    cited = list(dict.fromkeys(c.article_id for c in answer.citations))
    if rating > 0:
        answerable: bool | None = not answer.abstained
        expected = [] if answer.abstained else cited
    else:
        answerable, expected = None, []
    return {
        "id": answer_id,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": comment.strip(),
        "question": answer.standalone_question or answer.question,
        "asked": answer.question,
        "history": [t.model_dump() for t in history],
        "language": answer.language,
        "answerable": answerable,
        "expected_articles": expected,
        "expected_quotes": [c.quote for c in answer.citations] if answerable else [],
        "answer": answer.answer,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [c.model_dump(mode="json", exclude={"context"}) for c in answer.citations],
        "backend": answer.backend,
        "model": answer.model,
        "k": k,
        "filters": filters.model_dump(mode="json") if filters else None,
        "source": "web-feedback",
    }


class FeedbackLog:
    """Append-only JSONL; a later line with the same `id` supersedes an earlier one (re-rating)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)


# ----------------------------------------------------------------------------------------------------
# The app


def _history(records: Sequence[dict[str, Any]]) -> list[Turn]:
    turns: list[Turn] = []
    for record in records:
        answer: Answer = record["answer"]
        turns.append(Turn(role="user", content=answer.question))
        turns.append(Turn(role="assistant", content=answer.answer))
    return turns


def _message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}


def _user_message(text: str) -> str:
    return f"<div>{_esc(text)}</div>"


def _friendly(err: Exception) -> str:
    if isinstance(err, AssistantError):
        return str(err)
    log.exception("Unexpected error in the web UI")
    return f"Unexpected error ({type(err).__name__}); the server log has the details."


def _theme() -> gr.themes.Base:
    # Gradio's bundled SemiBold (600) faces are 5 KB subsets missing most letters, so bold text falls
    # back glyph by glyph; declaring 700 instead selects the complete Bold files. Still no CDN fonts.
    return gr.themes.Default(
        font=(gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "sans-serif"),
        font_mono=(gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"),
    )


def build_app(assistant: "Assistant", settings: Settings) -> gr.Blocks:
    """The Gradio app. Serve it with `start`/`launch` (they add the CSS, script, queue and auth)."""
    feedback = FeedbackLog(settings.web.feedback_path)
    server_paths = ServerPaths.from_settings(settings.web)
    allow_paths = server_paths.enabled
    try:
        backend, model = assistant.llm_info
    except Exception as err:  # the info line must not keep the UI from starting
        backend, model = "?", _friendly(err)

    def ask(
        question: str,
        history: list[dict[str, str]] | None = None,
        k: int | None = None,
        filters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the indexed articles; returns the verified Answer as JSON.

        history: earlier turns as [{"role": "user"|"assistant", "content": "..."}]. filters: keys
        sources, languages, date_from, date_to. Errors come back as a Gradio error with the message."""
        try:
            text = check_question(question, settings)
            turns = [Turn.model_validate(t) for t in history or []]
            parsed = Filters.model_validate(filters) if filters else None
            answer = assistant.ask(text, history=turns, k=k, filters=parsed)
        except Exception as err:
            raise gr.Error(_friendly(err), print_exception=False) from None
        return answer.model_dump(mode="json")

    def add_question(message: str, chat: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], str]:
        if not message.strip():
            return "", chat, ""
        return "", [*chat, _message("user", _user_message(message.strip()))], message

    def respond(
        question: str,
        chat: list[dict[str, Any]],
        records: list[dict[str, Any]],
        k: float,
        sources: list[str] | None,
        languages: list[str] | None,
        date_from: str,
        date_to: str,
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], str]]:
        if not question.strip():
            return
        answers = [r["answer"] for r in records]
        chat = [*chat, _message("assistant", render_draft("", "Searching the articles…"))]
        yield chat, records, gr.skip()
        try:
            text = check_question(question, settings)
            filters = make_filters(sources, languages, date_from, date_to)
            history = _history(records)
            draft, status = "", ""
            final: Answer | None = None
            for event in assistant.ask_stream(text, history=history, k=int(k), filters=filters):
                if isinstance(event, FinalEvent):
                    final = event.answer
                elif isinstance(event, StatusEvent):
                    status = event.text
                else:
                    draft += event.text
                    status = ""
                if final is None:
                    chat = [*chat[:-1], _message("assistant", render_draft(draft, status))]
                    yield chat, records, gr.skip()
            if final is None:
                raise RuntimeError("the answer stream ended without a final answer")
        except Exception as err:
            chat = [*chat[:-1], _message("assistant", render_error(_friendly(err)))]
            yield chat, records, render_sources(answers)
            return
        turn = len(records) + 1
        chat = [*chat[:-1], _message("assistant", render_answer(final, turn))]
        record = {
            "id": uuid.uuid4().hex,
            "answer": final,
            "history": history,
            "message_index": len(chat) - 1,
            "k": int(k),
            "filters": filters,
        }
        records = [*records, record]
        yield chat, records, render_sources([*answers, final])

    def rate(
        records: list[dict[str, Any]], comment: str, data: gr.LikeData
    ) -> tuple[str, dict[str, Any] | None]:
        if data.liked is True:
            rating = 1
        elif data.liked is False:
            rating = -1
        else:
            return gr.skip(), gr.skip()
        record = next((r for r in records if r["message_index"] == data.index), None)
        if record is None:
            return "Only answers can be rated.", None
        entry = feedback_record(
            record["answer"],
            rating,
            answer_id=record["id"],
            comment=comment or "",
            history=record["history"],
            k=record["k"],
            filters=record["filters"],
        )
        try:
            feedback.append(entry)
        except OSError as err:
            return f"Could not save the feedback to {feedback.path}: {err}", None
        verdict = "helpful" if rating > 0 else "not helpful"
        return f"Thanks: answer {records.index(record) + 1} saved as {verdict}.", entry

    def save_comment(comment: str, last: dict[str, Any] | None) -> tuple[str, str, dict[str, Any] | None]:
        if last is None:
            return "Rate an answer with the thumbs under it first, then add a comment.", comment, last
        if not comment.strip():
            return "The comment is empty.", comment, last
        entry = {
            **last,
            "comment": comment.strip(),
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            feedback.append(entry)
        except OSError as err:
            return f"Could not save the comment to {feedback.path}: {err}", comment, last
        return "Comment saved.", "", entry

    def clear() -> tuple[list[dict[str, Any]], list[dict[str, Any]], str, str, None]:
        return [], [], _SOURCES_PLACEHOLDER, "", None

    def refresh_stats() -> tuple[str, Any, Any]:
        try:
            stats = assistant.stats()
        except Exception as err:
            return _friendly(err), gr.skip(), gr.skip()
        if stats.articles == 0:
            return (
                "The index is empty: add articles below (or load the sample articles).",
                gr.skip(),
                gr.skip(),
            )
        return (
            render_stats(stats),
            gr.update(choices=sorted(stats.sources)),
            gr.update(choices=sorted(set(stats.languages) | {"de", "en"})),
        )

    def run_ingest(
        paths: Sequence[Path] | None, progress: gr.Progress, names: Mapping[str, str] | None = None
    ) -> str:
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total or None), desc=stage)

        progress(0, desc="Starting")
        try:
            return render_ingest_report(assistant.ingest(paths, progress=report), names)
        except Exception as err:
            return f"**Could not add the articles.** {_friendly(err)}"

    def ingest_files(files: list[str] | None, folder: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        typed = folder.strip() if allow_paths else ""
        if not files and not typed:
            return "Choose files to upload" + (" or type a folder path." if allow_paths else ".")
        try:
            uploads = keep_uploads(files or [], settings.web)
            paths = [u.path for u in uploads]
            if typed:
                paths.append(server_paths.check(typed))
        except InputError as err:
            return f"**Could not add the articles.** {err}"
        return run_ingest(paths, progress, {str(u.path): u.name for u in uploads})

    def ingest_sample(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        return run_ingest(None, progress)

    # Gradio keeps uploads in its cache until told otherwise; kept copies live in web.upload_dir.
    app = gr.Blocks(title="News assistant", analytics_enabled=False, delete_cache=(3600, 3600))
    with app:
        gr.Markdown(
            "## News assistant\nAsk about the indexed news articles. Every claim cites its source "
            "[n]; click a marker to see the quoted passage. When the articles do not say, it says so."
        )
        records = gr.State([])
        pending = gr.State("")
        last_feedback = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="na-chat",
                    height=520,
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    placeholder="Ask a question about the articles, or pick an example below.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Your question (German or English)…",
                        elem_id="na-question",
                        scale=5,
                        lines=1,
                        max_lines=6,
                        autofocus=True,
                        submit_btn="Ask",
                    )
                    clear_btn = gr.Button("Clear chat", elem_id="na-clear", scale=1, size="md")
                gr.Examples(EXAMPLE_QUESTIONS, inputs=question, label="Example questions")
                with gr.Row():
                    comment = gr.Textbox(
                        label="Feedback comment (optional)",
                        placeholder="Rate an answer with the thumbs under it, then explain here.",
                        scale=5,
                        lines=1,
                    )
                    comment_btn = gr.Button("Save comment", scale=1, size="md")
                feedback_status = gr.Markdown(elem_id="na-feedback-status")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources_panel = gr.HTML(_SOURCES_PLACEHOLDER, elem_id="na-sources", js_on_load=None)
        with gr.Accordion("Model and retrieval settings", open=False):
            gr.Markdown(f"Backend: `{backend}` · model: `{model}`")
            with gr.Row():
                k = gr.Slider(1, 20, value=settings.retrieval.k, step=1, label="Passages retrieved (k)")
                source_filter = gr.Dropdown(
                    [], multiselect=True, allow_custom_value=True, label="Only these sources"
                )
                language_filter = gr.Dropdown(
                    ["de", "en"], multiselect=True, allow_custom_value=True, label="Only these languages"
                )
            with gr.Row():
                date_from = gr.Textbox(label="From date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
                date_to = gr.Textbox(label="To date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
        with gr.Accordion("Articles", open=False):
            stats_md = gr.Markdown("Loading index statistics…", elem_id="na-stats")
            with gr.Row():
                files = gr.File(
                    label="Upload articles", file_count="multiple", type="filepath", elem_id="na-upload"
                )
                folder = gr.Textbox(
                    label="…or a file or folder on this computer",
                    placeholder="/path/to/articles",
                    visible=allow_paths,
                )
            with gr.Row():
                ingest_btn = gr.Button("Add to index", variant="primary")
                sample_btn = gr.Button("Load the sample articles")
            ingest_md = gr.Markdown(elem_id="na-ingest-report")

        chat_inputs = [pending, chatbot, records, k, source_filter, language_filter, date_from, date_to]
        chat_outputs = [chatbot, records, sources_panel]
        stats_outputs = [stats_md, source_filter, language_filter]
        submitted = question.submit(
            add_question,
            [question, chatbot],
            [question, chatbot, pending],
            queue=False,
            api_visibility="private",
        ).then(
            respond,
            chat_inputs,
            chat_outputs,
            concurrency_id=_CONCURRENCY_ID,
            concurrency_limit=settings.web.concurrency,
            api_visibility="private",
        )
        # The chatbot's own trash icon clears too; both must also forget the answers behind the chat.
        for clear_event in (clear_btn.click, chatbot.clear):
            clear_event(
                clear,
                None,
                [chatbot, records, sources_panel, pending, last_feedback],
                cancels=[submitted],
                queue=False,
                api_visibility="private",
            )
        chatbot.like(
            rate, [records, comment], [feedback_status, last_feedback], queue=False, api_visibility="private"
        )
        comment_btn.click(
            save_comment,
            [comment, last_feedback],
            [feedback_status, comment, last_feedback],
            queue=False,
            api_visibility="private",
        )
        for event, fn, inputs in (
            (ingest_btn.click, ingest_files, [files, folder]),
            (sample_btn.click, ingest_sample, []),
        ):
            event(
                fn,
                inputs,
                ingest_md,
                concurrency_id=_CONCURRENCY_ID,
                concurrency_limit=settings.web.concurrency,
                api_visibility="private",
            ).then(refresh_stats, None, stats_outputs, api_visibility="private")
        app.load(refresh_stats, None, stats_outputs, api_visibility="private")
        gradio_api(
            ask,
            api_name="ask",
            concurrency_id=_CONCURRENCY_ID,
            concurrency_limit=settings.web.concurrency,
        )
    return app


def start(
    assistant: "Assistant",
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    auth: str | None = None,
    allow_unauthenticated: bool = False,
    quiet: bool = True,
) -> tuple[gr.Blocks, str]:
    """Build and serve the app in a background thread; returns (app, local URL). Stop with app.close()."""
    host = host or settings.web.host
    port = port if port is not None else settings.web.port
    secret = auth or (settings.web.auth.get_secret_value() if settings.web.auth else None)
    credentials = resolve_auth(host, secret, allow_unauthenticated=allow_unauthenticated)
    app = build_app(assistant, settings.replaced(web={"host": host, "port": port, "auth": secret}))
    app.queue(max_size=settings.web.max_queue, default_concurrency_limit=settings.web.concurrency)
    try:
        _, url, _ = app.launch(
            server_name=host,
            server_port=port,
            auth=credentials,
            share=False,
            inbrowser=False,
            prevent_thread_lock=True,
            quiet=quiet,
            show_error=False,
            footer_links=["api"],
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
            max_file_size=int(settings.web.max_upload_mb * 1024 * 1024),
            css=CSS,
            js=JS,
            theme=_theme(),
        )
    except OSError as err:  # port taken, or an address this machine does not have
        raise ConfigError(
            f"Cannot serve the web UI on {host}:{port} ({err}); choose another with --port."
        ) from err
    return app, url


def launch(
    assistant: "Assistant",
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    auth: str | None = None,
    allow_unauthenticated: bool = False,
) -> None:
    """Serve the web UI until interrupted (`assistant web`). Raises ConfigError for an unsafe bind."""
    app, url = start(
        assistant,
        settings,
        host=host,
        port=port,
        auth=auth,
        allow_unauthenticated=allow_unauthenticated,
    )
    # Gradio's own banner (quiet=False) suggests share=True, which this app never allows.
    print(f"Web UI running at {url}  (Ctrl+C to stop)", flush=True)
    try:
        app.block_thread()
    finally:
        app.close()
