"""HTML (.html, .htm): metadata from meta tags, the article's text without navigation, ads and
other page furniture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from selectolax.lexbor import LexborHTMLParser, LexborNode

from assistant.loaders.base import Meta


def read_html(html: str) -> tuple[str, Meta]:
    """The text of the page's main article and the metadata its head declares."""
    return _extract_html(html)


_HTML_DROP_TAGS: Final = (
    *("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe", "svg", "button"),
    *("template", "select", "dialog", "object", "embed", "canvas", "input", "textarea", "label", "menu"),
)
_HTML_DROP_ROLES: Final = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu"}
)
# Matched against single class/id tokens, between word separators, so "article-header" is safe.
_HTML_BOILERPLATE = re.compile(
    r"(?:^|[-_])(?:cookies?|consent|gdpr|cmp|banner|newsletter|subscribe|subscription|paywall|promo|"
    r"advert|advertisement|ad|ads|adslot|sponsor|sponsored|social|share|sharing|related|recommended|"
    r"breadcrumbs?|comments?|popup|modal|overlay|sidebar|outbrain|taboola)(?:$|[-_])",
    re.I,
)
_HTML_PARAGRAPH_TAGS: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "figure"}
    | {"section", "article", "main"}
)
_HTML_LINE_TAGS: Final = frozenset(
    {"div", "li", "tr", "dt", "dd", "figcaption", "address", "br", "hr", "caption", "details", "summary"}
)
_WHITESPACE = re.compile(r"\s+")


def _extract_html(html: str) -> tuple[str, Meta]:
    tree = LexborHTMLParser(html)
    meta: Meta = {}

    def content(selector: str, attribute: str = "content") -> str | None:
        node = tree.css_first(selector)
        value = node.attributes.get(attribute) if node is not None else None
        return value.strip() if value and value.strip() else None

    def text_of(selector: str) -> str | None:
        node = tree.css_first(selector)
        value = _WHITESPACE.sub(" ", node.text()).strip() if node is not None else ""
        return value or None

    meta["title"] = content('meta[property="og:title"]') or text_of("h1") or text_of("title")
    meta["date"] = (
        content('meta[property="article:published_time"]')
        or content('meta[itemprop="datePublished"]')
        or content('meta[name="date"]')
        or content("time[datetime]", "datetime")
    )
    meta["url"] = content('link[rel="canonical"]', "href") or content('meta[property="og:url"]')
    meta["source"] = content('meta[property="og:site_name"]')
    meta["language"] = content("html[lang]", "lang")

    for tag in _HTML_DROP_TAGS:
        for node in tree.css(tag):
            node.decompose()
    body = tree.body
    if body is None:
        return "", meta
    total = len(body.text())
    for node in body.css("[class], [id], [role], [hidden], [aria-hidden]"):
        if node.tag in ("html", "body", "main", "article") or node.parent is None:
            continue
        attrs = node.attributes
        tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".split()
        boilerplate = any(_HTML_BOILERPLATE.search(token) for token in tokens)
        # Never drop a container of most of the page because of an unlucky class name.
        if boilerplate and len(node.text()) > total / 2:
            boilerplate = False
        if (
            boilerplate
            or (attrs.get("role") or "").lower() in _HTML_DROP_ROLES
            or "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
        ):
            node.decompose()
    articles = sorted(body.css("article"), key=lambda node: len(node.text()), reverse=True)
    main = articles[0] if articles else (tree.css_first("main") or tree.css_first('[role="main"]') or body)
    parts: list[str] = []
    _html_text(main, parts)
    return "".join(parts), meta


def _html_text(root: LexborNode, parts: list[str]) -> None:
    # Iterative: a page nested thousands of levels deep must not hit the recursion limit.
    stack: list[tuple[Iterator[LexborNode], str]] = [(iter(root.iter(include_text=True)), "")]
    while stack:
        children, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(closing)
            continue
        if child.is_text_node:
            parts.append(_WHITESPACE.sub(" ", child.text_content or ""))
        elif child.is_element_node:
            tag = child.tag or ""
            separator = "\n\n" if tag in _HTML_PARAGRAPH_TAGS else "\n" if tag in _HTML_LINE_TAGS else ""
            parts.append(separator)
            stack.append((iter(child.iter(include_text=True)), separator))
