"""plain_text's fast paths (simple-tag scanner, whitespace and control shortcuts) against the reference.

The reference is plain_text as it was before the fast paths: HTMLParser for any markup, regex control
removal and whitespace folding. Every input must give the same output.
"""

from __future__ import annotations

import html
import re
import sys
from html.entities import html5
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor import text
from monitor.text import plain_text

DATA = Path(__file__).parent / "data"
FAST = settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
_SPACE = re.compile(r"\s+")


def reference_plain_text(value: str | None, limit: int = 4000) -> str:
    """plain_text before the fast paths (HTMLParser for every `<`, regex clean-up)."""
    if not value:
        return ""
    value_text = text._markup_text(value) if "<" in value else html.unescape(value)
    if text._ENTITY.search(value_text):
        value_text = html.unescape(value_text)
    value_text = text._CONTROL.sub("", value_text)
    return _SPACE.sub(" ", value_text).strip()[:limit]


SNIPPETS = [
    "<p>", "</p>", "<br/>", "<br />", "<br>", "<BR>", "<P class='x'>", "<a href=\"https://x.example/?a=1&amp;b=2\">",
    "</a>", "<a href=x>", "<a href=x/>", "<img src='x.jpg'/>", "<figure>", "</figure>", "<figcaption>",
    "</figcaption>", "<script>", "</script>", "<style>a<b</style>", "<strong>", "</strong >", "<h2 >", "</h2>",
    "<div\n class=\"c\">", "<!-- c -->", "<![CDATA[x]]>", "<!DOCTYPE html>", "<?pi?>", "<", ">", "< b", "a<b",
    "</ p>", "<p\u2003>", "</p\u2003>", "<p\x0b>", "<a title=\"a>b\">", "<a title='<p>'>", "<a b=c d>",
    "<input disabled/>", "<a href = \"x\">", "<a href==x>", "<noscript>", "<template>", "</template>",
    "<textarea>", "<title>", "&amp;", "&amp;amp;", "&lt;b&gt;", "&rsquo;", "&mdash;", "&nbsp;", "&#8217;",
    "&#x27;", "&am", "p;", "&amp", "&#12", "3;", "&#x", "&", "&copy", "&notit;", "\x00", "\x01", "\x02",
    "\x07", "\x1b[2J", "\u200b", "\u202e", "\ufeff", "\x85", "\xa0", "\u2003", "\u3000", "\t", "\n", "\r\n",
    "  ", " ", "Lonza", "Acme Bio", "受託", "é", "\x92", "\U0001f9ea",
    '<a href="https://x.example/a?b=1&amp;c=2">', '<a href="x>y">', '<a href="x"/>', '<a href="x" >', '<a href="',
    '<a href="x"', '<a href=""> ', "<STRONG>", "</EM>", "<hr />", "<p/>", "<p >", "<Br/>", "<figcaption/>",
]  # fmt: skip
markup = st.lists(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=6)), max_size=24).map("".join)


@FAST
@given(markup, st.sampled_from([4000, 300, 10]))
@example("<figure><img src='x.jpg'/><figcaption>Photo</figcaption></figure><p>Lede &lt;here&gt;.</p>", 4000)
@example("a &am<b>p; b &#12<i>3; c", 4000)
@example("x\x00<b>y</b>", 4000)
def test_plain_text_equals_the_reference(value: str, limit: int) -> None:
    assert plain_text(value, limit) == reference_plain_text(value, limit)


@FAST
@given(markup)
def test_the_simple_scanners_collect_what_htmlparser_collects(value: str) -> None:
    """Whenever a fast scanner accepts the markup, it gives HTMLParser's exact text (spaces included)."""
    expected = text._markup_text(value)
    simple = text._simple_markup_text(value)
    assert simple is None or simple == expected
    scanned = text._scanned_markup_text(value)
    assert scanned is None or scanned == expected


def reference_simple_markup_text(value: str) -> str | None:
    """`_simple_markup_text` as it was before its tag lookup: every tag read by `_SIMPLE_TAG.sub`."""
    if "\x00" in value or "\x01" in value or "\x02" in value:
        return text._scanned_markup_text(value)
    stripped = text._SIMPLE_TAG.sub(text._tag_replacement, value)
    if "<" in stripped:
        return None
    if "\x02" in stripped:
        return text._scanned_markup_text(value)
    return html.unescape(stripped.replace("\x01", "<")).replace("\x00", "")


@FAST
@given(markup)
@example('<p>a &am<a href="x">p; b</a></p>')
@example('<a href="x>y">z</a><figure>f</figure>')
def test_the_tag_lookup_gives_the_regex_scanners_result(value: str) -> None:
    """The common-tag table and the `<a href="...">` shortcut change nothing, None (HTMLParser) included."""
    assert text._simple_markup_text(value) == reference_simple_markup_text(value)


@FAST
@given(st.sampled_from(sorted(text._COMMON_TAGS)), markup)
def test_each_common_tag_is_one_whole_regex_match_whatever_follows(tag: str, after: str) -> None:
    match = text._SIMPLE_TAG.match(tag + after)
    assert match is not None and match.end() == len(tag)
    assert text._tag_replacement(match) == text._COMMON_TAGS[tag] != "\x02"


@FAST
@given(st.text().map(lambda href: href.replace('"', "")), markup)
def test_a_link_start_tag_is_one_whole_regex_match_whatever_follows(href: str, after: str) -> None:
    tag = f'{text._LINK_START}{href}">'
    match = text._SIMPLE_TAG.match(tag + after)
    assert match is not None and match.end() == len(tag)
    assert text._tag_replacement(match) == text._LINK_REPLACEMENT


REFERENCES = st.one_of(
    st.sampled_from(sorted(html5)).map(lambda name: "&" + name),
    st.sampled_from(
        ["&", ";", "&;", "&#8217;", "&#x27;", "&#12", "&amp", "&ampx;", "&notit;", "&not", "&a b;", " ", "\x00"]
    ),
    st.text(max_size=4),
)
references = st.lists(REFERENCES, max_size=16).map("".join)


@FAST
@given(references)
@example("R&D &amp; &rsquo;s &CounterClockwiseContourIntegral; &notin; &notit; &amp;amp;")
@example("&" + "a" * 40 + ";")
def test_unescape_equals_htmls(value: str) -> None:
    assert text._unescape(value) == html.unescape(value)


def test_the_named_references_read_whole_are_letters_and_digits() -> None:
    """What `_unescape` relies on: html.unescape's pattern reads each `&name;` of the table as one reference."""
    assert text._NAMED_REFERENCES and all(re.fullmatch("[A-Za-z0-9]{1,32};", name) for name in text._NAMED_REFERENCES)
    assert text._LONGEST_REFERENCE <= 33
    for name in text._NAMED_REFERENCES:
        value = f"a&{name}b &amp;{name}"
        assert text._unescape(value) == html.unescape(value), name


@FAST
@given(st.lists(st.sampled_from([" ", "  ", "   ", "a", "bc", "\u00e9", "\uc0bc"]), max_size=30).map("".join))
@example("  a   b    c     d ")
def test_fold_spaces_equals_replacing_pairs_until_none_is_left(value: str) -> None:
    folded = value
    while "  " in folded:
        folded = folded.replace("  ", " ")
    assert text._fold_spaces(value) == folded.strip(" ") == " ".join(value.split())


def feed_texts() -> list[str]:
    """Every title and summary text in the fixture documents and the benchmark feeds."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    import bench_poll

    documents = [path.read_bytes() for path in sorted(DATA.rglob("*.xml"))]
    documents += [bench_poll.feed_document(i)[0] for i in range(10)]
    values: list[str] = []
    for document in documents:
        for element in ET.fromstring(document).iter():
            if element.tag.rpartition("}")[2] in ("title", "description", "summary", "encoded") and element.text:
                values.append(element.text)
    return values


def test_feed_texts_take_the_fast_path_and_equal_the_reference() -> None:
    values = feed_texts()
    assert len(values) > 100
    for value in values:
        assert plain_text(value) == reference_plain_text(value)
    with_markup = [v for v in values if "<" in v]
    assert with_markup and all(text._simple_markup_text(v) is not None for v in with_markup)


def test_the_shortcuts_hold_for_every_code_point() -> None:
    """str.split() and str.isprintable() stand in for `\\s` and _CONTROL: they must agree on every character."""
    space = re.compile(r"\s")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        is_space = char.isspace()
        assert bool(space.match(char)) == is_space, hex(code)
        if char.isprintable():
            assert not text._CONTROL.match(char) and (code == 0x20 or not is_space), hex(code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<p>Lede</p><p>Second</p>", "Lede Second"),
        ("Acme Bio &amp;amp; Lonza", "Acme Bio & Lonza"),
        ("a < b", "a < b"),
        ("<a href='/x'>Deal</a>&nbsp;&nbsp;<font color=\"#6f6f6f\">outlet</font>", "Deal outlet"),
        ("<script>alert(1)</script>Visible", "Visible"),
        ("Deal\u200b  signed\t\n", "Deal signed"),
    ],
)
def test_examples(value: str, expected: str) -> None:
    assert plain_text(value) == expected == reference_plain_text(value)
