"""Property/fuzz tests of the parse and normalise path (catalogue §6.5 item 7; rows F09, F11–F13, F27, F30).

Hypothesis generates feeds (RSS 2.0 / Atom with hostile field values) and mutates real fixture documents
byte by byte and with known crasher snippets. Properties: the wrapper raises nothing but ParseError, and
every item it returns is normalised (non-empty bounded guid, http(s)-or-None link, aware-or-None date,
valid UTF-8 one-line text). Deterministic (derandomize) and short (200 examples each) for CI.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parse import ParsedFeed, parse_feed

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS = [p.read_bytes()[:20_000] for p in sorted(DATA.glob("*.xml"))]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SNIPPETS = [b"&#x110000;", b"&#xD800;", b"&#xFFFFFFFF;", b"<![CDATA[", b"]]>", b"\x00", b"\xff\xfe", b"&amp;amp;",
            b'<!DOCTYPE rss [<!ENTITY a "C:\\temp">]>', b"<!h<!h", b"\x1b[2J", b"\r\n", b"<script>", b"&a;",
            b'<link>javascript:alert(1)</link>', b"<guid></guid>", b"\xe2\x80\xae"]  # fmt: skip
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def checked_parse(body: bytes) -> ParsedFeed | None:
    """Parse; a ParseError is an allowed outcome (returned as None), anything else fails the test."""
    try:
        feed = parse_feed(body, final_url="https://fuzz.example/feed", headers={"content-type": "application/rss+xml"},
                          timezone="Asia/Seoul", now=NOW)  # fmt: skip
    except ParseError:
        return None
    assert_normalised(feed)
    return feed


def assert_normalised(feed: ParsedFeed) -> None:
    feed.title.encode("utf-8")
    guids = [i.guid for i in feed.items]
    assert len(guids) == len(set(guids))
    for entry in feed.items:
        assert entry.guid and len(entry.guid) <= 1000
        assert entry.url is None or urlsplit(entry.url).scheme in ("http", "https")
        assert entry.published is None or (
            entry.published.tzinfo is not None and entry.published <= NOW + timedelta(days=1)
        )
        for text in (entry.title, entry.summary, entry.source):
            text.encode("utf-8")
            assert "\n" not in text and "\r" not in text and "\x00" not in text and "\x1b" not in text
        assert len(entry.title) <= 500


field_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
hostile = st.sampled_from(["<!channel>", "&#x110000;", "&amp;amp;", "<b>x</b>", "javascript:x", "\u202e", "&nbsp;"])
value = st.one_of(field_text, hostile, st.tuples(field_text, hostile).map("".join))
entry = st.fixed_dictionaries(
    {},
    optional={"title": value, "link": st.one_of(value, st.just("https://x.example/a?utm_source=1"), st.just("/rel")),
              "guid": value, "description": value,
              "pubDate": st.one_of(value, st.just("Tue, 09 Feb 2021 15:22:43 +0900"), st.just("2026-01-14 09:53"))},
)  # fmt: skip


def rss_from(entries: list[dict[str, str]], raw: bool) -> bytes:
    """RSS 2.0 with the values escaped (well-formed) or inserted raw (hostile markup)."""
    quote = (lambda v: v) if raw else escape
    parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>F</title>']
    for e in entries:
        parts.append("<item>" + "".join(f"<{k}>{quote(v)}</{k}>" for k, v in e.items()) + "</item>")
    return ("".join(parts) + "</channel></rss>").encode("utf-8", "replace")


def atom_from(entries: list[dict[str, str]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>']
    for e in entries:
        link = f'<link href="{escape(e.get("link", ""), {chr(34): "&quot;"})}"/>' if "link" in e else ""
        parts.append(f"<entry><id>{escape(e.get('guid', ''))}</id><title>{escape(e.get('title', ''))}</title>{link}"
                     f"<updated>{escape(e.get('pubDate', ''))}</updated></entry>")  # fmt: skip
    return ("".join(parts) + "</feed>").encode("utf-8", "replace")


@FUZZ
@given(st.lists(entry, max_size=8), st.booleans(), st.booleans())
def test_generated_feeds_parse_to_normalised_items_or_a_parse_error(
    entries: list[dict[str, str]], raw: bool, atom: bool
) -> None:
    """Generated RSS/Atom with arbitrary and hostile field values: only ParseError escapes; items are
    normalised; a well-formed feed with a guid on every entry yields one item per distinct guid."""
    feed = checked_parse(atom_from(entries) if atom else rss_from(entries, raw))
    if feed is not None and not raw and not atom:
        distinct = {e["guid"].strip() for e in entries if e.get("guid", "").strip()}
        if len(distinct) == sum(1 for e in entries if e.get("guid", "").strip()) == len(entries):
            assert len(feed.items) <= len(entries)


mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 20_000), st.sampled_from(SNIPPETS)),
    st.tuples(st.just("delete"), st.integers(0, 20_000), st.integers(1, 200)),
    st.tuples(st.just("byte"), st.integers(0, 20_000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.integers(0, 20_000), st.just(b"")),
)


def mutate(seed: bytes, steps: list[tuple[str, int, object]]) -> bytes:
    data = bytearray(seed)
    for op, where, arg in steps:
        at = where % (len(data) + 1)
        if op == "insert" and isinstance(arg, bytes):
            data[at:at] = arg
        elif op == "delete" and isinstance(arg, int):
            del data[at : at + arg]
        elif op == "byte" and isinstance(arg, bytes):
            data[at : at + len(arg)] = arg
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_real_feeds_never_raise_anything_but_parse_error(
    seed: int, steps: list[tuple[str, int, object]]
) -> None:
    """Real fixture feeds (Korea Herald, DART, EDGAR Atom, Google News) with inserted crasher snippets,
    deletions, random bytes and truncation: the wrapper never lets another exception escape."""
    checked_parse(mutate(SEEDS[seed], steps))


def test_seeds_are_real_feeds() -> None:
    """The fuzz seeds themselves parse to items (so mutations start from meaningful documents)."""
    assert len(SEEDS) >= 3
    assert all((feed := checked_parse(seed)) is not None and feed.items for seed in SEEDS)
