"""Serving the app: Gradio's server on the configured bind, with the queue, auth, theme and the
static CSS and script; nothing is fetched from or sent to anywhere else."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import gradio as gr

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.interfaces.web.app import build_app
from assistant.interfaces.web.auth import resolve_auth

if TYPE_CHECKING:
    from assistant.service import Assistant


@cache
def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _theme() -> gr.themes.Base:
    # Gradio's bundled SemiBold (600) faces are 5 KB subsets missing most letters, so bold text falls
    # back glyph by glyph; declaring 700 instead selects the complete Bold files. Still no CDN fonts.
    return gr.themes.Default(
        font=(gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "sans-serif"),
        font_mono=(gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"),
    )


def start(
    assistant: Assistant,
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
            css=_static("style.css"),
            js=_static("script.js"),
            theme=_theme(),
        )
    except OSError as err:  # port taken, or an address this machine does not have
        raise ConfigError(
            f"Cannot serve the web UI on {host}:{port} ({err}); choose another with --port."
        ) from err
    return app, url


def launch(
    assistant: Assistant,
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
