"""The web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright).

Runs the real service (hashing embedder + fake LLM, sample corpus) behind the real Gradio app on
127.0.0.1. Skips when Chromium or playwright is missing, except in CI (CI=true), where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.service import Assistant

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
QUESTION = "Welche Waffen lieferte Weißrussland an Aserbaidschan?"
OFF_TOPIC = "Who won the 2022 football World Cup?"
TIMEOUT_MS = 30_000


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    for module in ("playwright", "gradio"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module} is not installed (pip install -e '.[web,dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[tuple[str, Assistant]]:
    from assistant.interfaces import web

    # The hashing embedder's cosines run lower than e5's; 0.5 still abstains on off-topic questions.
    settings = make_settings(answer={"min_relevance": 0.5}, web={"feedback_path": str(tmp_path / "fb.jsonl")})
    assistant = Assistant.from_settings(settings)
    assistant.ingest()
    app, url = web.start(assistant, settings, port=_free_port())
    try:
        yield url, assistant
    finally:
        app.close()
        assistant.close()


@pytest.fixture
def page(browser: Any, served: tuple[str, Assistant]) -> Iterator[Any]:
    url, _ = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.requests.append(request.url))  # type: ignore[attr-defined]
    page.goto(url)
    yield page
    context.close()


def _ask(page: Any, question: str) -> Any:
    box = page.get_by_placeholder("Your question")
    box.fill(question)
    box.press("Enter")
    # The last bot message once it is final: a verified answer, an abstention or an error.
    final = page.locator("#na-chat .na-answer, #na-chat .na-abstain, #na-chat .na-error").last
    final.wait_for()
    return final


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_cited_answer_with_highlighted_quote(page: Any, served: tuple[str, Assistant]) -> None:
    url, assistant = served
    expected = assistant.ask(QUESTION)
    assert expected.citations, "precondition: the fake LLM answers the sample question with a citation"

    final = _ask(page, QUESTION)
    assert "na-answer" in (final.get_attribute("class") or "")
    marker = final.locator("a.na-cite").first
    assert re.fullmatch(r"\[\d+\]", marker.inner_text())
    target = (marker.get_attribute("href") or "")[1:]
    card = page.locator(f"#na-sources #{target}")
    quote = card.locator("mark.na-quote")
    quote.wait_for(timeout=5_000)  # rendered with the answer, so no long wait
    assert _normalize(quote.inner_text()) == _normalize(expected.citations[0].quote)
    assert expected.citations[0].title in card.inner_text()

    marker.click()
    page.wait_for_function(
        "id => document.getElementById(id).classList.contains('na-flash')", arg=target, timeout=5_000
    )
    assert card.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-answer.png"), full_page=True)

    remote = [u for u in page.requests if not u.startswith(url) and not u.startswith("data:")]
    assert remote == [], "the page must load nothing from the internet (CDN fonts, analytics)"


def test_abstention_is_shown_as_such(page: Any) -> None:
    final = _ask(page, OFF_TOPIC)
    assert "na-abstain" in (final.get_attribute("class") or "")
    assert "No answer in the articles" in final.inner_text()
    assert final.locator("a.na-cite").count() == 0
    assert page.locator("#na-sources .na-abstain").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-abstention.png"), full_page=True)


def test_uploaded_article_html_is_shown_not_executed(page: Any, tmp_path: Path) -> None:
    article = tmp_path / "xylophonia.txt"
    article.write_text(
        "Xylophonia meldet Rekordernte\n\nDie Stadt Xylophonia meldet eine Rekordernte bei Äpfeln "
        '<img src=x onerror="window.__xss=1"> und Birnen. <script>window.__xss=2</script>\n',
        encoding="utf-8",
    )
    page.get_by_role("button", name="Articles").click()
    page.locator("#na-upload input[type=file]").set_input_files(str(article))
    page.locator("#na-upload").get_by_text("xylophonia.txt").wait_for()
    page.get_by_role("button", name="Add to index").click()
    page.locator("#na-ingest-report", has_text="Added 1").wait_for()
    page.locator("#na-stats", has_text="6 articles").wait_for()  # the counts refresh after the report

    final = _ask(page, "Was meldet die Stadt Xylophonia?")
    assert final.locator("a.na-cite").count() >= 1
    sources = page.locator("#na-sources").inner_text()
    assert '<img src=x onerror="window.__xss=1">' in sources
    assert page.evaluate("window.__xss") is None
    assert page.locator("#na-sources img").count() == 0
