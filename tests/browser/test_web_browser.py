"""The web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright).

Runs the real service (hashing embedder + fake LLM, sample corpus) behind the real Gradio app on
127.0.0.1. Skips when Chromium or playwright is missing, except in CI (CI=true), where that fails.
The README's screenshots (docs/screenshots/) are written by this run, so they show what is tested.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.backends.base import Message
from assistant.config import Settings
from assistant.service import Assistant
from tests.support.fakes import FakeChatModel

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
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
QUESTION = "Welche Waffen lieferte Weißrussland an Aserbaidschan?"
OFF_TOPIC = "Who won the 2022 football World Cup?"
# English over German articles: the fake LLM cannot translate its German sentence, so verification
# removes it and the answer abstains with the closest passages as related reading. (German words in
# it, because the hashing embedder matches words, not meanings.)
RELATED = "Did Peskow confirm the Abzug aus Berg-Karabach?"
TIMEOUT_MS = 30_000
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
FINAL = "#na-chat .na-final"

# The WCAG contrast ratio of an element's text over what is rendered behind it: its own background
# and those of its ancestors, composited, as the browser computed them. Colours are normalised by a
# canvas, so any CSS colour syntax the theme uses is read the same way.
CONTRAST_JS = """
(el) => {
  const ctx = document.createElement('canvas').getContext('2d');
  const rgba = (css) => {
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    const v = ctx.fillStyle;
    if (v.startsWith('#')) return [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)).concat([1]);
    const m = v.match(/rgba?\\(([^)]+)\\)/);
    if (!m) throw new Error(`unreadable colour ${css} -> ${v}`);
    const p = m[1].split(',').map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const bg = rgba(getComputedStyle(e).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] >= 1) break;
  }
  let bg = [255, 255, 255];
  for (const layer of layers.reverse()) bg = over(layer, bg);
  const fg = over(rgba(getComputedStyle(el).color), bg);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  return {ratio, fg: fg.map(Math.round), bg: bg.map(Math.round), text: el.innerText.slice(0, 40)};
}
"""


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


class HeldChatModel(FakeChatModel):
    """The fake LLM, whose answer drafts wait before each token while `hold` is set; `cancelled` is
    set when a draft is abandoned half way (the Stop button closed it)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.cancelled = threading.Event()
        self.drafting = threading.Event()

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        drafting = bool(messages) and "Evidence:" in messages[-1]["content"]
        finished = False
        try:
            for piece in super().stream(messages, **kwargs):
                while drafting and self.hold.is_set():
                    self.drafting.set()
                    time.sleep(0.02)
                yield piece
            finished = True
        finally:
            if drafting and not finished:
                self.cancelled.set()


@dataclass
class Server:
    url: str
    assistant: Assistant
    llm: HeldChatModel


def _serve(settings: Settings) -> tuple[Any, Server]:
    from assistant.interfaces import web

    built = Assistant.from_settings(settings)
    llm = HeldChatModel()
    assistant = Assistant(settings, embedder=built.embedder, index=built.index, llm=llm)
    assistant.ingest()
    app, url = web.start(assistant, settings, port=_free_port())
    return app, Server(url, assistant, llm)


def _settings(folder: Path) -> Settings:
    # The hashing embedder's cosines run lower than e5's; 0.5 still abstains on off-topic questions.
    return Settings(
        index={"path": str(folder / "vectorstore")},  # type: ignore[arg-type]
        embedding={"backend": "hashing"},  # type: ignore[arg-type]
        llm={"backend": "fake", "cache_dir": str(folder / "cache")},  # type: ignore[arg-type]
        answer={"min_relevance": 0.5},  # type: ignore[arg-type]
        web={"upload_dir": str(folder / "uploads"), "feedback_path": str(folder / "fb.jsonl")},  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the tests that do not change the index (each gets its own browser storage)."""
    folder = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith("ASSISTANT_"):
                env.delenv(key)
        env.setenv("ASSISTANT_CONFIG", str(folder / "no-such-config.toml"))
        app, server = _serve(_settings(folder))
    try:
        yield server
    finally:
        app.close()
        server.assistant.close()


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for a test that adds or deletes articles."""
    app, server = _serve(_settings(tmp_path))
    try:
        yield server
    finally:
        app.close()
        server.assistant.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def open_(server: Server, *, viewport: dict[str, int] = DESKTOP, theme: str = "light") -> Any:
        context = browser.new_context(viewport=viewport, color_scheme=theme)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(server.url + ("?__theme=dark" if theme == "dark" else ""))
        page.get_by_placeholder("Your question").wait_for()
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Any], shared: Server) -> Any:
    return open_page(shared)


def _ask(page: Any, question: str) -> Any:
    """Ask, and return the new final answer's bubble (an answer or an abstention)."""
    before = page.locator(FINAL).count()
    box = page.get_by_placeholder("Your question")
    box.fill(question)
    box.press("Enter")
    final = page.locator(FINAL).nth(before)
    final.wait_for()
    return final


def _thumbs_shown(bubble: Any) -> bool:
    """Whether the like/dislike buttons under the chat message holding `bubble` are visible."""
    return bool(
        bubble.evaluate(
            """(el) => {
              const row = el.closest('.message-row');
              const buttons = row && row.nextElementSibling;
              const like = buttons && buttons.querySelector('button[aria-label=Like]');
              return !!like && like.getClientRects().length > 0;
            }"""
        )
    )


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _contrast(locator: Any) -> dict[str, Any]:
    return dict(locator.evaluate(CONTRAST_JS))


def _boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    # One pixel of slack: Gradio's borders touch.
    return (
        min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"]) > 1
        and min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"]) > 1
    )


_SCROLL_SETTLED = """() => new Promise((done) => {
    const at = [window.scrollX, window.scrollY];
    requestAnimationFrame(() => requestAnimationFrame(() =>
        done(window.scrollX === at[0] && window.scrollY === at[1])));
})"""


def _overlapping(page: Any, selectors: Sequence[str]) -> list[tuple[str, str]]:
    # The boxes are read one selector at a time: during a smooth scroll (a marker's jump to its
    # card) each would be read at another scroll offset, and two stacked blocks seem to overlap.
    for _ in range(100):
        if page.evaluate(_SCROLL_SETTLED):
            break
    boxes = []
    for selector in selectors:
        for i, box in enumerate(
            page.locator(selector).evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
        ):
            if box["width"] and box["height"]:
                boxes.append((f"{selector}#{i}", box))
    return [
        (a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if _boxes_overlap(box_a, box_b)
    ]


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 1
        and inner["y"] >= outer["y"] - 1
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def _screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


# --- answers ----------------------------------------------------------------------------------------


def test_cited_answer_with_highlighted_quote(page: Any, shared: Server) -> None:
    expected = shared.assistant.ask(QUESTION)
    assert expected.citations, "precondition: the fake LLM answers the sample question with a citation"

    final = _ask(page, QUESTION)
    marker = final.locator("a.na-cite").first
    assert re.fullmatch(r"\[\d+\]", marker.evaluate("a => a.firstChild.textContent"))
    target = (marker.get_attribute("href") or "")[1:]
    card = page.locator(f"#na-sources #{target}")
    quote = card.locator("mark.na-quote")
    quote.wait_for(timeout=5_000)  # rendered with the answer, so no long wait
    assert _normalize(quote.inner_text()) == _normalize(expected.citations[0].quote)
    assert expected.citations[0].title in card.inner_text()
    # Ids and offsets are one click away, not in the reader's way.
    details = card.locator("details.na-details")
    assert not details.locator(".na-meta").is_visible()
    details.locator("summary").click()
    assert expected.citations[0].article_id in details.inner_text()

    marker.click()
    page.wait_for_function(
        "id => document.getElementById(id).classList.contains('na-flash')", arg=target, timeout=5_000
    )
    assert card.is_visible()
    remote = [u for u in page.requests if not u.startswith(shared.url) and not u.startswith("data:")]
    assert remote == [], "the page must load nothing from the internet (CDN fonts, analytics)"


def test_marker_preview_on_hover_and_focus(page: Any, shared: Server) -> None:
    expected = shared.assistant.ask(QUESTION).citations[0]
    final = _ask(page, QUESTION)
    marker = final.locator("a.na-cite").first
    tip = marker.locator(".na-tip")
    assert not tip.is_visible()
    marker.hover()
    tip.wait_for(state="visible", timeout=5_000)
    assert _normalize(expected.quote)[:60] in _normalize(tip.inner_text())
    box = tip.bounding_box()
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], "the preview fits the window"
    # On top and not cut off by the chat's scrolling box: its centre is the preview itself.
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('.na-tip')", centre)

    page.mouse.move(0, 0)
    tip.wait_for(state="hidden", timeout=5_000)
    marker.focus()  # the keyboard way: Tab to the marker
    tip.wait_for(state="visible", timeout=5_000)


def test_abstentions_say_why_and_offer_related_reading(page: Any) -> None:
    nothing = _ask(page, OFF_TOPIC)
    assert nothing.locator(".na-abstain-label").inner_text() == "Nothing about this in the articles"
    assert nothing.locator("a.na-cite").count() == 0

    related = _ask(page, RELATED)
    assert related.locator(".na-abstain-label").inner_text() == "The articles do not answer this"
    removed = related.locator("details.na-removed")
    assert _normalize(removed.locator("summary").inner_text()).startswith("1 sentence removed: ")
    assert not removed.locator("li").is_visible(), "the removed sentence itself is one click away"
    removed.locator("summary").click()
    assert removed.locator(".na-removed-sentence").is_visible()
    panel = page.locator("#na-sources .na-turn[open]")
    assert "Related reading" in panel.inner_text() and panel.locator("mark.na-quote").count() >= 1


# --- stop, reload, conversations --------------------------------------------------------------------


def test_stop_ends_the_answer_and_keeps_the_conversation(page: Any, shared: Server) -> None:
    first = _ask(page, QUESTION)
    first_text = first.inner_text()
    assert first.locator("a.na-cite").count() >= 1
    assert _thumbs_shown(first)

    shared.llm.hold.set()
    shared.llm.cancelled.clear()
    shared.llm.drafting.clear()
    try:
        box = page.get_by_placeholder("Your question")
        box.fill("Was lieferte Weißrussland an Aserbaidschan?")
        box.press("Enter")
        progress = page.locator("#na-chat .na-progress")
        progress.wait_for()
        assert shared.llm.drafting.wait(15), "the answer is being written when Stop is pressed"
        page.locator("#na-chat .na-status", has_text="Writing the answer").wait_for()
        assert not _thumbs_shown(progress), "thumbs are for answers, not for work in progress"
        stop = page.get_by_role("button", name="Stop", exact=True)
        stop.click()
        page.locator("#na-chat .na-stopped").wait_for(timeout=10_000)
        assert shared.llm.cancelled.wait(10), "Stop ends the model's work, not only the page's wait"
    finally:
        shared.llm.hold.clear()

    bubbles = page.locator("#na-chat .message-row")
    assert bubbles.count() == 4
    assert _normalize(bubbles.nth(1).inner_text()) == _normalize(first_text), "the answer before is kept"
    assert "Was lieferte Weißrussland an Aserbaidschan?" in bubbles.nth(2).inner_text()
    assert "Das Gespräch bleibt erhalten." in bubbles.nth(3).inner_text()  # in the question's language
    assert not _thumbs_shown(page.locator("#na-chat .na-stopped"))
    assert page.locator("#na-sources .na-turn").count() == 1
    page.get_by_role("button", name="Ask", exact=True).wait_for()  # Stop is Ask again

    follow_up = _ask(page, QUESTION)  # the app goes on after a stop
    assert follow_up.locator("a.na-cite").count() >= 1
    assert page.locator("#na-chat .message-row").count() == 6


def test_a_reload_keeps_the_conversation_and_they_can_be_reopened_and_deleted(
    page: Any, open_page: Callable[..., Any], shared: Server
) -> None:
    _ask(page, QUESTION)
    _ask(page, OFF_TOPIC)
    page.reload()
    page.locator(FINAL).nth(1).wait_for()
    assert page.locator("#na-chat .message-row").count() == 4
    assert page.locator("#na-sources .na-turn").count() == 2
    assert page.locator("#na-chat a.na-cite").count() >= 1, "markers still link to their cards"

    page.get_by_role("button", name="New conversation").click()
    page.locator("#na-chat .message-row").first.wait_for(state="detached")
    _ask(page, RELATED)
    listing = page.locator("#na-conversation-list")
    listing.locator("input").click()
    options = page.get_by_role("option")
    assert options.count() == 2 and RELATED in options.first.inner_text(), "newest first"
    options.nth(1).click()  # the first conversation again
    page.locator(FINAL).nth(1).wait_for()
    assert QUESTION in page.locator("#na-chat").inner_text()

    page.get_by_role("button", name="Delete conversation").click()
    page.locator("#na-chat", has_text=RELATED).wait_for()  # the remaining one is shown
    page.reload()
    page.locator(FINAL).first.wait_for()
    assert QUESTION not in page.locator("#na-chat").inner_text()
    listing.locator("input").click()
    assert page.get_by_role("option").count() == 1

    other = open_page(shared)  # another browser: conversations are kept per browser
    assert other.locator("#na-chat .message-row").count() == 0


# --- articles ---------------------------------------------------------------------------------------


def _article_rows(page: Any) -> Any:
    return page.locator("#na-articles [role=row]:not([aria-rowindex='1'])")


def test_article_list_search_and_delete(open_page: Callable[..., Any], own: Server) -> None:
    page = open_page(own)
    page.get_by_role("button", name="Articles").click()
    page.locator("#na-stats", has_text="5 articles").wait_for()
    rows = _article_rows(page)
    page.wait_for_function("() => document.querySelectorAll('#na-articles [role=row]').length === 6")
    assert any("Bericht: Weißrussland" in rows.nth(i).inner_text() for i in range(5))
    for i in range(5):  # every column is on screen: title, source, date, language, chunks, id
        cells = rows.nth(i).locator("[role=gridcell], td")
        assert cells.count() == 6 and all(cells.nth(j).is_visible() for j in range(6))

    page.get_by_label("Find articles").fill("weißrussland")
    page.wait_for_function("() => document.querySelectorAll('#na-articles [role=row]').length === 2")
    row = rows.first
    assert "000_10b77cea8b010999" in row.inner_text() and "2024-06" in row.inner_text()
    row.locator("[role=gridcell], td").first.click()
    delete = page.locator("#na-delete-article")
    page.wait_for_function("() => !document.querySelector('#na-delete-article').disabled")
    assert "Bericht: Weißrussland" in delete.inner_text()
    delete.click()
    page.locator("#na-article-status", has_text="Deleted").wait_for()
    page.locator("#na-stats", has_text="4 articles").wait_for()
    page.get_by_label("Find articles").fill("")
    page.wait_for_function("() => document.querySelectorAll('#na-articles [role=row]').length === 5")
    assert "000_10b77cea8b010999" not in own.assistant.index.articles()

    final = _ask(page, QUESTION)
    assert "Bericht: Weißrussland lieferte" not in page.locator("#na-sources").inner_text()
    assert final.is_visible()


def test_uploaded_article_html_is_shown_not_executed(
    open_page: Callable[..., Any], own: Server, tmp_path: Path
) -> None:
    page = open_page(own)
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
    report = page.locator("#na-ingest-report", has_text="Added 1")
    report.wait_for()
    assert "xylophonia.txt" in report.inner_text() and str(tmp_path) not in report.inner_text()
    page.locator("#na-stats", has_text="6 articles").wait_for()  # the counts refresh after the report

    final = _ask(page, "Was meldet die Stadt Xylophonia?")
    assert final.locator("a.na-cite").count() >= 1
    sources = page.locator("#na-sources").inner_text()
    assert '<img src=x onerror="window.__xss=1">' in sources
    assert page.evaluate("window.__xss") is None
    assert page.locator("#na-sources img").count() == 0


# --- readable in both themes, desktop and phone; the README's screenshots ---------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_colours_are_readable_in_both_themes(
    open_page: Callable[..., Any], shared: Server, theme: str
) -> None:
    page = open_page(shared, theme=theme)
    assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
    cited = _ask(page, QUESTION)
    _ask(page, OFF_TOPIC)
    related = _ask(page, RELATED)
    checked = {
        "highlighted quote": page.locator("#na-sources mark.na-quote").first,
        "language badge": page.locator("#na-sources .na-lang").first,
        "abstention title": related.locator(".na-abstain-label"),
        "abstention text": page.locator("#na-chat .na-abstain").first,
        "marker": cited.locator("a.na-cite").first,
        "source meta": page.locator("#na-sources .na-meta").first,
        "removed summary": related.locator(".na-removed summary"),
    }
    ratios = {name: _contrast(locator) for name, locator in checked.items()}
    cited.locator("a.na-cite").first.hover()
    ratios["marker preview"] = _contrast(cited.locator(".na-tip").first)
    low = {name: r for name, r in ratios.items() if r["ratio"] < 4.5}
    assert low == {}, f"{theme}: contrast below 4.5: {low}"
    page.mouse.move(0, 0)
    page.locator("#na-sources .na-turn").nth(2).locator("summary").first.click()  # the cited one
    # Two answers' sources open: the panel scrolls, it does not spill over what is below it.
    below = [
        "#na-sources",
        "#na-question",
        "#na-examples",
        "#na-feedback",
        "#na-settings",
        "#na-articles-panel",
    ]
    assert _overlapping(page, below) == []
    assert page.locator("#na-sources").evaluate("e => getComputedStyle(e).overflowY") == "auto"
    _screenshot(page, f"desktop-{theme}.png")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_nothing_overlaps_on_a_phone(open_page: Callable[..., Any], shared: Server, theme: str) -> None:
    page = open_page(shared, viewport=PHONE, theme=theme)
    final = _ask(page, QUESTION)
    _ask(page, OFF_TOPIC)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    assert not page.locator("#na-side").is_visible(), "no sources panel far below the chat"

    # The sources sit with their answer: a marker opens its card inside the same bubble.
    inline = final.locator("details.na-inline-sources")
    assert inline.is_visible() and not inline.locator("article.na-source").first.is_visible()
    final.locator("a.na-cite").first.click()
    card = inline.locator("article.na-source").first
    card.wait_for(state="visible", timeout=5_000)
    # Both boxes at the same moment: the jump to the card scrolls smoothly.
    boxes = final.evaluate(
        "(el) => [el.querySelector('details.na-inline-sources article.na-source'), el]"
        ".map((e) => e.getBoundingClientRect().toJSON())"
    )
    assert _inside(boxes[0], boxes[1]), boxes

    blocks = [
        "#na-intro",
        "#na-model-row",
        "#na-conversations",
        "#na-chat",
        "#na-question",
        "#na-examples",
        "#na-feedback",
        "#na-settings",
        "#na-articles-panel",
    ]
    assert _overlapping(page, blocks) == []
    assert _overlapping(page, ["#na-chat .message-row"]) == []
    # Nothing of the chat's own (its clear button, a label) covers the first message.
    assert _overlapping(page, ["#na-chat .message-row >> nth=0", "#na-chat button[aria-label=Clear]"]) == []
    _screenshot(page, f"mobile-{theme}.png")
