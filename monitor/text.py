"""Plain text from feed text: HTML removed, entities decoded, whitespace folded. Pure."""

from __future__ import annotations

import html
import re
from html.entities import html5
from html.parser import HTMLParser

_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# C0/C1 control characters (except whitespace), zero-width and bidi controls (incl. isolates), BOM: never in a title
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption"})
_SKIP_TAGS = frozenset({"script", "style", "figure", "noscript", "template"})
# Elements whose content HTMLParser reads as raw text in some Python version (script/style everywhere, the
# RCDATA ones in newer security releases): the simple scanner below leaves them to HTMLParser.
_RAW_TEXT_TAGS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
)
# One `<...>` token the simple scanner understands, a subset of what HTMLParser reads the same way in every
# version: a start tag with quoted (or bare, not followed by `/`) attribute values, an end tag with a plain
# name, or a `<` that cannot open markup (HTMLParser passes it on as text). Only ASCII whitespace: HTMLParser
# ends a tag name at [ \t\n\r\f] but its attribute patterns use the Unicode \s.
_SIMPLE_TAG = re.compile(
    r"""<(?:
        ([a-zA-Z][a-zA-Z0-9]*)
        (?:[ \t\n\r\f]+[^\s"'<>/=]+(?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:"[^"]*"|'[^']*'|[^\s"'=<>`/]+(?=[ \t\n\r\f>])))?)*
        [ \t\n\r\f]*(/?)>
      | /([a-zA-Z][a-zA-Z0-9]*)[ \t\n\r\f]*>
      | (?![a-zA-Z/!?])
    )""",
    re.VERBOSE,
)


# The named references `html.unescape` reads with their `;` (`amp;` -> `&`); all letters and digits (tested)
_NAMED_REFERENCES: dict[str, str] = {name: value for name, value in html5.items() if name.endswith(";")}
_LONGEST_REFERENCE = max(map(len, _NAMED_REFERENCES))


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


def _simple_markup_text(text: str) -> str | None:
    """The text `_TextCollector` would collect, for markup made only of simple tags; None otherwise.

    HTMLParser costs several times more than this on a typical 700-character feed summary, and summaries
    are almost always this simple (`<p>`, `<a href="...">`, `<strong>`). Anything else (comments, CDATA,
    declarations, script/style, unusual attribute syntax) returns None and goes to HTMLParser, so the
    output is HTMLParser's for every input. HTMLParser unescapes the text between two tags on its own; here
    the whole string is unescaped once, with a NUL where a tag was removed: no entity name contains NUL, so
    `html.unescape` reads every reference exactly as it would in the separate piece.

    Tags are found with `str.find` and the common spellings looked up in `_COMMON_TAGS` (`_SIMPLE_TAG.sub`
    with a callback cost ~40,000 instructions a summary, mostly regex and callback overhead); any other
    `<` is read by `_SIMPLE_TAG` itself, so every tag gets `_tag_replacement`'s answer.
    """
    if "\x00" in text or "\x01" in text or "\x02" in text:
        return _scanned_markup_text(text)
    parts: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        parts.append(text[pos:lt])
        gt = text.find(">", lt + 1, lt + _COMMON_TAG_LENGTH)
        replacement = _COMMON_TAGS.get(text[lt : gt + 1]) if gt > 0 else None
        if replacement is not None:
            pos = gt + 1
        elif (
            text.startswith(_LINK_START, lt)
            and (quote := text.find('"', lt + len(_LINK_START))) > 0
            and text.startswith('">', quote)
        ):
            replacement = _LINK_REPLACEMENT  # `<a href="...">`: `_SIMPLE_TAG` reads just this (see the tests)
            pos = quote + 2
        else:
            match = _SIMPLE_TAG.match(text, lt)
            if match is None:
                return None  # a `<` that opens something else (`_SIMPLE_TAG.sub` would leave it in place)
            replacement = _tag_replacement(match)
            if replacement == "\x02":
                return _scanned_markup_text(text)  # an element whose content is skipped (or raw text)
            if replacement == "\x01":
                replacement = "<"  # a lone `<` is text; it ends an entity name, as HTMLParser's pieces do
            pos = match.end()
        parts.append(replacement)
    parts.append(text[pos:])
    return _unescape("".join(parts)).replace("\x00", "")


def _unescape(text: str) -> str:
    """`html.unescape(text)`, without its regex and Python callback per reference in the common case.

    When every `&` starts a named reference spelled with its `;` (`&amp;`, `&rsquo;`, `&nbsp;`), each is
    replaced from html5's table, which is what `html.unescape` does: its pattern reads `&name;` as one
    reference whenever `name;` is a key (letters and digits, at most 32 characters), and the text between
    one `&` and the next holds no other. Anything else (`&#8217;`, `&copy` without `;`, a bare `&`) is left
    to `html.unescape` itself, for the whole text.
    """
    if "&" not in text:
        return text
    parts = text.split("&")
    for at in range(1, len(parts)):
        part = parts[at]
        semicolon = part.find(";", 1, _LONGEST_REFERENCE)
        value = _NAMED_REFERENCES.get(part[: semicolon + 1]) if semicolon > 0 else None
        if value is None:
            return html.unescape(text)
        parts[at] = value + part[semicolon + 1 :]
    return "".join(parts)


def _tag_replacement(match: re.Match[str]) -> str:
    """What `_simple_markup_text` puts in place of one `_SIMPLE_TAG` match: a space for a block tag, NUL for
    another tag (removed after unescaping), SOH for a lone `<` (text, restored before unescaping, where it
    ends an entity name as HTMLParser's separate pieces do), STX for an element that needs the scanner."""
    last = match.lastindex
    if last is None:
        return "\x01"  # a lone `<`
    tag = (match[1] if last == 2 else match[3]).lower()
    if tag in _SKIP_TAGS or tag in _RAW_TEXT_TAGS:
        return "\x02"
    if tag in _BLOCK_TAGS:
        return "  " if last == 2 and match[2] else " "  # `<br/>` is a start and an end tag to HTMLParser
    return "\x00"


def _common_tags() -> dict[str, str]:
    """Exact spellings of the tags feed summaries are made of, with `_tag_replacement`'s answer for each.

    Each is one whole `_SIMPLE_TAG` match whatever follows it (no quotes, the only `>` at the end; checked
    in the tests), so finding one between a `<` and the next `>` settles that tag without the regex.
    """
    names = ["p", "br", "div", "span", "a", "b", "i", "u", "em", "strong", "small", "sup", "sub", "li", "ul", "ol"]
    names += ["h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figcaption", "table", "tr", "td", "th", "hr"]
    spellings = [form.format(name) for name in names for form in ("<{}>", "</{}>", "<{}/>", "<{} />")]
    spellings += [spelling.upper() for spelling in spellings]
    table: dict[str, str] = {}
    for spelling in spellings:
        match = _SIMPLE_TAG.fullmatch(spelling)
        if match is not None and _tag_replacement(match) != "\x02":
            table[spelling] = _tag_replacement(match)
    return table


_COMMON_TAGS = _common_tags()
_COMMON_TAG_LENGTH = max(map(len, _COMMON_TAGS))  # a longer `<...>` is not in the table
_LINK_START = '<a href="'
_LINK_REPLACEMENT = _COMMON_TAGS["<a>"]


def _scanned_markup_text(text: str) -> str | None:
    """`_simple_markup_text` tag by tag: skipped elements (`<figure>`), or NULs already in the text."""
    parts: list[str] = []
    skip_depth = 0
    pos = 0
    unescape = html.unescape
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            if pos < len(text) and not skip_depth:
                parts.append(unescape(text[pos:]))
            return "".join(parts)
        if lt > pos and not skip_depth:
            parts.append(unescape(text[pos:lt]))
        match = _SIMPLE_TAG.match(text, lt)
        if match is None:
            return None
        start, closed, end = match.group(1, 2, 3)
        if start is not None:
            tag = start.lower()
            if tag in _RAW_TEXT_TAGS:
                return None
            if tag in _SKIP_TAGS:
                skip_depth += 1
            elif tag in _BLOCK_TAGS:
                parts.append(" ")
            if closed:  # `<br/>`: HTMLParser reports a start and an end tag
                if tag in _SKIP_TAGS and skip_depth:
                    skip_depth -= 1
                elif tag in _BLOCK_TAGS:
                    parts.append(" ")
        elif end is not None:
            tag = end.lower()
            if tag in _SKIP_TAGS and skip_depth:
                skip_depth -= 1
            elif tag in _BLOCK_TAGS:
                parts.append(" ")
        elif not skip_depth:  # a lone `<`: text
            parts.append("<")
        pos = match.end() if match.end() > lt else lt + 1


def _markup_text(text: str) -> str:
    """Tags dropped and text unescaped, by HTMLParser (the reference behaviour)."""
    collector = _TextCollector()
    try:
        collector.feed(text)
        collector.close()
        return "".join(collector.parts)
    except (AssertionError, ValueError):  # pathological markup: fall back to a regex strip
        return html.unescape(re.sub(r"<[^>]*>", " ", text))


def _fold_spaces(text: str) -> str:
    """`text` with each run of spaces made one space and none at either end (text without other whitespace).

    Split at every pair of spaces, a piece holds only single spaces, and at most one at each end (what is
    left of a run of odd length): stripped, the non-empty pieces are the text between runs. One split costs
    a third of replacing `"  "` until none is left (a few passes over a summary, each a search and a copy).
    """
    if "  " not in text:
        return text.strip(" ")
    pieces = [piece.strip(" ") for piece in text.split("  ")]
    return " ".join([piece for piece in pieces if piece])


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
        simple = _simple_markup_text(text)
        text = simple if simple is not None else _markup_text(text)
    else:
        text = _unescape(text)
    if _ENTITY.search(text):
        text = _unescape(text)
    if text.isprintable():
        # no control or format characters and no whitespace but " " (isprintable is False for every
        # character _CONTROL removes and every whitespace character except the space): only runs of
        # spaces to fold, much faster than the general case on a summary
        return _fold_spaces(text)[:limit]
    text = _CONTROL.sub("", text)
    # str.split() splits on exactly the characters `\s` matches (checked for every code point in the tests),
    # and is ~10x faster than `re.sub(r"\s+", " ", text).strip()` on a summary
    return " ".join(text.split())[:limit]
