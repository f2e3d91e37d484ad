"""The Articles panel's handlers: what the index holds (counts and a table of the articles, with a
search), deleting an article, and adding articles by upload, server path or the sample corpus."""

# No `from __future__ import annotations`: Gradio reads the type hints of event handlers at runtime.

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import InputError
from assistant.interfaces.catalog import find_articles
from assistant.interfaces.web.auth import ServerPaths
from assistant.interfaces.web.chat import friendly
from assistant.interfaces.web.render import article_rows, render_ingest_report, render_stats
from assistant.interfaces.web.uploads import keep_uploads

if TYPE_CHECKING:
    from assistant.service import Assistant

HEADERS = ["title", "source", "date", "language", "chunks", "id"]


class ArticleHandlers:
    def __init__(self, assistant: "Assistant", settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self.server_paths = ServerPaths.from_settings(settings.web)

    # --- what the index holds ----------------------------------------------------------------------

    def refresh(self, search: str | None = None) -> tuple[Any, ...]:
        """Counts, the (searched) table and the filter choices; the selection is cleared."""
        try:
            stats = self.assistant.stats()
            records = self.assistant.articles()
        except Exception as err:
            return friendly(err), gr.skip(), gr.skip(), gr.skip(), None, gr.update(interactive=False)
        summary = (
            render_stats(stats)
            if stats.articles
            else "The index is empty: add articles below (or load the sample articles)."
        )
        return (
            summary,
            article_rows(find_articles(records, search)),
            gr.update(choices=sorted(stats.sources)),
            gr.update(choices=sorted(set(stats.languages) | {"de", "en"})),
            None,
            gr.update(interactive=False, value="Delete the selected article"),
        )

    def search(self, text: str | None) -> tuple[Any, Any, Any]:
        try:
            records = find_articles(self.assistant.articles(), text)
        except Exception as err:
            return gr.skip(), None, gr.update(interactive=False, value=friendly(err))
        return article_rows(records), None, gr.update(interactive=False, value="Delete the selected article")

    def select(self, data: gr.SelectData) -> tuple[str | None, Any]:
        row = data.row_value or []
        if len(row) < len(HEADERS):
            return None, gr.update(interactive=False)
        title, article_id = str(row[0]), str(row[-1])
        return article_id, gr.update(interactive=True, value=f"Delete “{_short(title)}”")

    def delete(self, article_id: str | None) -> str:
        if not article_id:
            return "Select an article in the table first."
        try:
            gone = self.assistant.delete_articles([article_id])
        except Exception as err:
            return f"**Could not delete the article.** {friendly(err)}"
        if not gone:
            return "That article is no longer in the index."
        record = gone[0]
        return (
            f"Deleted **{record.title or record.article_id}** ({len(record.chunk_ids)} chunks). Ingesting "
            "its file again adds it back."
        )

    # --- adding ------------------------------------------------------------------------------------

    def ingest_files(
        self,
        files: list[str] | None,
        folder: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        allow_paths = self.server_paths.enabled
        typed = folder.strip() if allow_paths else ""
        if not files and not typed:
            return "Choose files to upload" + (" or type a folder path." if allow_paths else ".")
        try:
            uploads = keep_uploads(files or [], self.settings.web)
            paths = [u.path for u in uploads]
            if typed:
                paths.append(self.server_paths.check(typed))
        except InputError as err:
            return f"**Could not add the articles.** {err}"
        names = {str(u.path): u.name for u in uploads}
        shown = [u.name for u in uploads] + ([typed] if typed else [])
        return self._ingest(paths, progress, names, shown)

    def ingest_sample(self, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        return self._ingest(None, progress, {}, ["the sample articles"])

    def _ingest(
        self,
        paths: Sequence[Path] | None,
        progress: gr.Progress,
        names: Mapping[str, str],
        shown: Sequence[str],
    ) -> str:
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total or None), desc=stage)

        progress(0, desc="Starting")
        try:
            return render_ingest_report(self.assistant.ingest(paths, progress=report), names, shown)
        except Exception as err:
            return f"**Could not add the articles.** {friendly(err)}"


def _short(title: str, limit: int = 40) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
