"""Plain text from feed text: HTML removed, entities decoded, whitespace folded. Pure."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE = re.compile(r"\s+")
# C0/C1 control characters (except whitespace), zero-width and bidi controls (incl. isolates), BOM: never in a title
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption"})
_SKIP_TAGS = frozenset({"script", "style", "figure", "noscript", "template"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip_depth:
            self._skip_depth -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def plain_text(value: str | None, limit: int = 4000) -> str:
    """Feed text as one line of plain text.

    Tags are dropped (a Fierce headline arrives wrapped in `<a href=…>`), entities are decoded, and a
    second decoding pass undoes double escaping (`&amp;amp;`, `&rsquo;` inside CDATA) that publishers
    commonly produce. Control characters are removed. `limit` bounds what is stored.
    """
    if not value:
        return ""
    text = value
    if "<" in text:
        collector = _TextCollector()
        try:
            collector.feed(text)
            collector.close()
            text = "".join(collector.parts)
        except (AssertionError, ValueError):  # pathological markup: fall back to a regex strip
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    else:
        text = html.unescape(text)
    if _ENTITY.search(text):
        text = html.unescape(text)
    text = _CONTROL.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    return text[:limit]
