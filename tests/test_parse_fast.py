"""The fast path (monitor.fastparse) against feedparser: the same ParsedFeed for every document.

`parse_feed` takes the fast path where it can; `parse_feed_with_feedparser` always runs feedparser (the
reference). Every fixture document, the benchmark feeds, targeted edge cases and generated RSS / Atom
documents must give equal results (or the same ParseError); the documents the fast path is meant for must
really take it, and the ones it does not understand must fall back.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from feedparser.datetimes import _parse_date
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.fastparse import fast_parse, parse_date
from monitor.parse import ParsedFeed, parse_feed, parse_feed_with_feedparser
from tests.robustness.test_feeds_bad_input import FORMATS

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import bench_poll

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
URL = "https://news.example.com/rss/section/xml"
RSS = "application/rss+xml; charset=utf-8"
NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "atom": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "snf": "http://www.smartnews.be/snf",
}
XMLNS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())


def outcome(parse: Any, body: bytes, content_type: str, url: str, timezone: str) -> ParsedFeed | str:
    try:
        feed: ParsedFeed = parse(
            body, final_url=url, headers={"content-type": content_type}, timezone=timezone, now=NOW
        )
    except ParseError as exc:
        return f"ParseError: {exc}"
    return feed


def assert_same(body: bytes | str, content_type: str = RSS, url: str = URL, timezone: str = "UTC") -> ParsedFeed | str:
    """Both paths give the same outcome; returns it."""
    data = body.encode() if isinstance(body, str) else body
    fast = outcome(parse_feed, data, content_type, url, timezone)
    reference = outcome(parse_feed_with_feedparser, data, content_type, url, timezone)
    assert fast == reference
    return fast


def takes_fast_path(body: bytes | str, content_type: str = RSS) -> bool:
    data = body.encode() if isinstance(body, str) else body
    return fast_parse(data, {"content-type": content_type}) is not None


def rss(
    items: list[str], channel: str = "<title>Feed</title><link>https://news.example.com/</link>", root: str = ""
) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {XMLNS}{root}><channel>{channel}'
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


def atom(entries: list[str], head: str = "<title>Feed</title><id>urn:feed</id>", root: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{root}>{head}'
        + "".join(f"<entry>{entry}</entry>" for entry in entries)
        + "</feed>"
    )


# -- real documents ---------------------------------------------------------------------------------

FIXTURES = sorted(DATA.rglob("*.xml"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_documents_give_the_same_feed_on_the_fast_path(path: Path) -> None:
    body = path.read_bytes()
    for url, timezone in ((URL, "UTC"), ("https://www.sec.gov/cgi-bin/browse-edgar", "Asia/Seoul")):
        feed = assert_same(body, url=url, timezone=timezone)
        assert isinstance(feed, ParsedFeed) and feed.items
    assert takes_fast_path(body)


@pytest.mark.parametrize("index", range(50))
def test_benchmark_feeds_give_the_same_feed_on_the_fast_path(index: int) -> None:
    body, content_type = bench_poll.feed_document(index)
    feed = assert_same(body, content_type)
    assert isinstance(feed, ParsedFeed) and len(feed.items) == bench_poll.ITEMS_PER_FEED
    assert takes_fast_path(body, content_type)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_xml_format_gives_the_same_feed(name: str) -> None:
    assert_same(FORMATS[name])


# -- targeted cases ---------------------------------------------------------------------------------

CASES: dict[str, str] = {
    "non-URL guid stays raw and is not the link": rss(["<title>t</title><guid>20210209000915</guid>"]),
    "non-URL guid before the link": rss(["<guid>12345</guid><link>https://x.example/a</link><title>t</title>"]),
    "guid isPermaLink false": rss(['<title>t</title><guid isPermaLink="false">https://x.example/1</guid>']),
    "guid isPermaLink True (not 'true')": rss(['<title>t</title><guid isPermaLink="True">/rel/1</guid>']),
    "permalink guid copied to a missing link": rss(["<title>t</title><guid>https://x.example/p?id=1</guid>"]),
    "two guids": rss(["<title>t</title><guid>a</guid><guid isPermaLink='false'>b</guid>"]),
    "relative link": rss(["<title>t</title><link>/manufacturing/acme?utm_source=rss&amp;id=7</link>"]),
    "link with entity in query": rss(["<title>t</title><link>https://x.example/?a=1&amp;amp;b=2&#038;c=3</link>"]),
    "javascript link": rss(["<title>t</title><guid>g</guid><link>javascript:alert(1)</link>"]),
    "link with spaces and triple slash": rss(["<title>t</title><link>  https:///x.example/a  </link>"]),
    "html in title": rss(['<title>&lt;a href="/x"&gt;Acme Bio &amp;amp; Lonza&lt;/a&gt;</title><guid>g</guid>']),
    "CDATA title and description": rss(
        [
            "<title><![CDATA[Seegene <b>found</b>]]></title><description><![CDATA[Korea&rsquo;s <p>x</p>]]>"
            "</description><guid>g</guid>"
        ]
    ),
    "typed description": rss(["<title>t</title><description type='text'>&lt;b&gt;bold&lt;/b&gt;</description>"]),
    "description then content:encoded": rss(
        ["<title>t</title><description>short</description><content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded>"]
    ),
    "content:encoded then description": rss(
        ["<title>t</title><content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded><description>short</description>"]
    ),
    "content:encoded only": rss(["<title>t</title><content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded>"]),
    "two descriptions": rss(["<title>t</title><description>one</description><description>two</description>"]),
    "empty description and itunes:subtitle": rss(
        ["<title>t</title><guid>g</guid><description></description><itunes:subtitle>sub</itunes:subtitle>"]
    ),
    "itunes:subtitle only": rss(["<title>t</title><guid>g</guid><itunes:subtitle>sub</itunes:subtitle>"]),
    "two titles, first empty": rss(["<title></title><title>second</title><title>third</title><guid>g</guid>"]),
    "media:title after title": rss(["<title>first</title><media:title>media</media:title><guid>g</guid>"]),
    "media:title before title": rss(["<media:title>media</media:title><title>first</title><guid>g</guid>"]),
    "dc:title": rss(["<dc:title>dc title</dc:title><guid>g</guid>"]),
    "title after source": rss(["<title>a</title><source url='https://o.example'>O</source><title>b</title>"]),
    "dc:date only": rss(["<title>t</title><guid>g</guid><dc:date>2026-08-26T06:02:00Z</dc:date>"]),
    "pubDate and dc:date": rss(
        [
            "<title>t</title><guid>g</guid><pubDate>Wed, 26 Aug 2026 06:02:00 GMT</pubDate>"
            "<dc:date>2026-08-25T06:02:00Z</dc:date>"
        ]
    ),
    "naive Korean timestamp": rss(["<title>t</title><guid>g</guid><pubDate>2026-01-14 09:53:39</pubDate>"]),
    "date in the future": rss(["<title>t</title><guid>g</guid><pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate>"]),
    "unparseable date": rss(["<title>t</title><guid>g</guid><pubDate>32/13/2024</pubDate>"]),
    "Korean date format": rss(["<title>t</title><guid>g</guid><pubDate>2004년 05월 28일 01:31:15 +0900</pubDate>"]),
    "dcterms dates": rss(
        [
            "<title>t</title><guid>g</guid><dcterms:modified>2026-01-02T00:00:00+09:00</dcterms:modified>"
            "<dcterms:created>2026-01-01</dcterms:created>"
        ]
    ),
    "no date": rss(["<title>t</title><guid>g</guid>"]),
    "google news source": rss(
        [
            '<title>Headline - Outlet</title><guid isPermaLink="false">CBMi</guid>'
            '<source url="https://www.countynewscenter.com">countynewscenter.com</source>'
        ]
    ),
    "source without url": rss(["<title>t</title><guid>g</guid><source>Outlet</source>"]),
    "no guid, no link: content hash": rss(["<title>only a title</title><description>x</description>"]),
    "duplicate guids": rss(["<title>a</title><guid>d</guid>", "<title>b</title><guid>d</guid>", "<guid></guid>"]),
    "atom:link next in RSS": rss(
        ["<title>t</title><guid>g</guid>"],
        channel='<title>F</title><atom:link rel="self" href="https://x.example/feed"/>'
        '<atom:link rel="next" href="/feed?page=2"/>',
    ),
    "atom:link prev-archive in RSS": rss(
        ["<title>t</title><guid>g</guid>"],
        channel='<title>F</title><atom:link rel="PREV-ARCHIVE" href="https://x.example/2025"/>',
    ),
    "atom:link alternate in an item": rss(
        ['<title>t</title><atom:link rel="alternate" type="text/html" href="/alt"/><guid isPermaLink="false">g</guid>']
    ),
    "xml:base on rss": rss(
        ["<title>t</title><link>/a/b</link><guid>12</guid>"], root=' xml:base="https://base.example/x/"'
    ),
    "xml:base on an item child": rss(
        ["<title>t</title><comments xml:base='https://c.example/'>c</comments><link>rel</link><guid>9</guid>"]
    ),
    "unknown elements": rss(
        ["<title>t</title><guid>g</guid><foo>bar</foo><snf:logo url='x'/><sy:updatePeriod>hourly</sy:updatePeriod>"],
        channel="<title>F</title><foo><bar>x</bar></foo><date>2026-01-01</date>",
    ),
    "media elements": rss(
        [
            '<title>t</title><guid>g</guid><media:content url="https://x.example/i.jpg" medium="image">'
            '<media:thumbnail url="https://x.example/t.jpg"/><media:credit>C</media:credit></media:content>'
            '<enclosure url="https://x.example/a.mp3" type="audio/mpeg" length="1"/><category>Deals</category>'
            "<author>a@x.example (A)</author><dc:creator>A</dc:creator><comments>https://x.example/c</comments>"
        ]
    ),
    "channel image and generator": rss(
        ["<title>t</title><guid>g</guid>"],
        channel="<generator>NFE/5.0</generator><title>Feed</title><image><title>Logo</title><url>u</url>"
        "<link>https://x.example/</link></image><title>Second title</title>",
    ),
    "channel title after the items": (
        '<rss version="2.0"><channel><title>First</title><item><title>t</title><guid>g</guid></item>'
        "<title>Last</title></channel></rss>"
    ),
    "C1 and mojibake text": rss(["<title>caf\u00c3\u00a9 \u0092quoted\u0093</title><guid>g</guid>"]),
    "upper-case element names": (
        '<rss version="2.0"><Channel><Title>F</Title><Item><Title>t</Title><PubDate>Wed, 26 Aug 2026 06:02:00 GMT'
        "</PubDate><GUID>g</GUID></Item></Channel></rss>"
    ),
    "rss 0.91": '<rss version="0.91"><channel><title>T</title><item><title>Deal</title><link>https://f.example/1</link>'
    "</item></channel></rss>",
    "atom text, html and typed titles": atom(
        [
            '<title type="html">&lt;b&gt;Acme&lt;/b&gt; &amp;amp; Lonza</title><id>urn:1</id>'
            '<link href="https://x.example/1"/><updated>2026-03-01T10:00:00+01:00</updated>',
            '<title type="text">plain</title><id>tag:x.example,2026:2</id><link rel="self" href="/2"/>'
            '<link rel="alternate" type="text/html" href="/2.html"/><published>2026-03-01T10:00:00Z</published>',
        ]
    ),
    "atom xhtml title": atom(
        ['<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>B</b></div></title><id>urn:1</id>']
    ),
    "atom summary and content": atom(
        [
            '<title>t</title><id>urn:1</id><content type="html">&lt;p&gt;content&lt;/p&gt;</content>'
            "<summary>summary</summary>",
            '<title>t</title><id>urn:2</id><content type="html">&lt;p&gt;only content&lt;/p&gt;</content>',
            '<title>t</title><id>urn:3</id><content type="text/xml"><a-b>1</a-b><c>2</c></content>',
            '<title>t</title><id>urn:4</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div>'
            "</content>",
        ]
    ),
    "atom links": atom(
        [
            '<title>t</title><id>urn:1</id><link rel="enclosure" href="/a.mp3"/><link rel="related" href="/r"/>',
            '<title>t</title><id>urn:2</id><link href="/x" type="application/pdf"/>',
            "<title>t</title><id>https://x.example/id/3</id>",
            '<title>t</title><id>/relative/id</id><link href=""/>',
        ],
        head='<title>F</title><link rel="next" href="?page=2"/><link rel="self" href="/feed"/>',
    ),
    "atom source and author": atom(
        [
            "<title>t</title><id>urn:1</id><author><name>A</name><email>a@x.example</email></author>"
            "<source><title>S</title><id>urn:s</id></source>"
        ]
    ),
    "atom with a prefix": '<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>F</a:title><a:entry><a:title>t'
    '</a:title><a:id>urn:1</a:id><a:link href="/1"/><a:updated>2026-01-01T00:00:00Z</a:updated></a:entry></a:feed>',
    "userland default namespace": '<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>F'
    "</title><item><title>t</title><link>https://x.example/1</link></item></channel></rss>",
    "namespace declared on an item": rss(
        ['<title>t</title><guid>g</guid><x:extra xmlns:x="http://x.example/ns">1</x:extra>']
    ),
    "xml:base on the channel and a relative next link": (
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel xml:base="https://b.example/feeds/">'
        '<title>F</title><atom:link rel="next" href="page2.xml"/><item><title>t</title><link>a/1</link>'
        "<guid>7</guid></item></channel></rss>"
    ),
    "atom 0.3": FORMATS["atom03"],
    "rss 1.0": FORMATS["rss10"],
    "json feed": '{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [{"id": "1", "title": "x"}]}',
    "malformed": "<rss version='2.0'><channel><title>T</title><item><guid>a</guid><title>complete</title></item>"
    "<item><guid>b</guid><title><![CDATA[cut",
    "doctype": '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n<rss version="2.0"><channel>'
    "<title>T</title><item><guid>g</guid><title>Deal&nbsp;signed</title></item></channel></rss>",
    "html page": "<html><head><title>Sign in</title></head><body>x</body></html>",
    "empty channel": rss([]),
    "georss": '<rss version="2.0" xmlns:georss="http://www.georss.org/georss"><channel><item><guid>g</guid>'
    "<georss:point>1 2</georss:point></item></channel></rss>",
    "prefix dc bound elsewhere": '<rss version="2.0" xmlns:dc="http://example.com/not-dc"><channel><item><title>t'
    "</title><dc:date>2026-01-01</dc:date><guid>g</guid></item></channel></rss>",
    "out-of-range character reference": rss(["<title>t &#x110000;</title><guid>g</guid>"]),
    "declared us-ascii, UTF-8 bytes": rss(["<title>Café – “deal”</title><guid>g</guid>"]).replace("UTF-8", "us-ascii"),
}
FALLS_BACK = {
    "atom xhtml title", "atom summary and content", "atom source and author", "atom 0.3", "rss 1.0", "malformed",
    "doctype", "html page", "georss", "prefix dc bound elsewhere", "out-of-range character reference",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_cases_give_the_same_feed(name: str) -> None:
    body = CASES[name]
    for content_type in (RSS, "text/html; charset=utf-8"):
        for timezone in ("UTC", "Asia/Seoul"):
            assert_same(body, content_type=content_type, timezone=timezone)
    if name != "json feed":
        assert takes_fast_path(body) == (name not in FALLS_BACK)


def test_a_non_url_guid_is_kept_raw_and_never_becomes_the_link() -> None:
    feed = assert_same(CASES["non-URL guid stays raw and is not the link"])
    assert isinstance(feed, ParsedFeed)
    (item,) = feed.items
    assert (item.guid, item.url) == ("20210209000915", None)


def test_rfc5005_links_are_found_on_the_fast_path() -> None:
    next_page = assert_same(CASES["atom:link next in RSS"])
    archive = assert_same(CASES["atom:link prev-archive in RSS"])
    assert isinstance(next_page, ParsedFeed) and next_page.older == "https://news.example.com/feed?page=2"
    assert isinstance(archive, ParsedFeed) and archive.older == "https://x.example/2025"


def test_naive_times_are_read_in_the_feed_time_zone() -> None:
    feed = assert_same(CASES["naive Korean timestamp"], timezone="Asia/Seoul")
    assert isinstance(feed, ParsedFeed) and feed.items[0].published == datetime(2026, 1, 14, 0, 53, 39, tzinfo=UTC)


# -- generated documents ----------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

texts = st.sampled_from(
    ["Acme Bio &amp; Lonza", "&lt;b&gt;Deal&lt;/b&gt;", "<![CDATA[Korea&rsquo;s <p>deal</p>]]>", "", "  padded \n",
     "&amp;amp;", "caf\u00c3\u00a9", "\u0092x\u0093", "受託", "&#x2019;", "x &amp;nbsp; y"]
)  # fmt: skip
links = st.sampled_from(
    ["https://x.example/a?utm_source=rss&amp;id=1", "/rel/path", "rel", "javascript:alert(1)", " https:///x.example/b ",
     "", "https://news.example.com/a#frag", "HTTP://X.example/A"]
)  # fmt: skip
dates = st.sampled_from(
    ["Wed, 26 Aug 2026 06:02:00 GMT", "Tue, 09 Feb 2021 15:22:43 +0900", "2026-01-14 09:53:39", "2026-03-01T10:00:00Z",
     "2026-03-01T10:00:00+09:00", "Mon, 01 Jan 2035 00:00:00 GMT", "Jun 29, 2026 11:09am", "2026.01.14 09:53", "junk",
     "", "2026-11-22", "Sun, 22 Nov 2026 12:00:00 EST"]
)  # fmt: skip
guids = st.sampled_from(["12345", "https://x.example/g/1", "/g/2", "urn:uuid:1", "", "tag:x,2026:3"])
types = st.sampled_from(
    ["", ' type="html"', ' type="text"', ' type="text/plain"', ' type="xhtml"', ' type="image/png"']
)
permalink = st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="True"'])
rels = st.sampled_from(
    ["", ' rel="alternate"', ' rel="self"', ' rel="next"', ' rel="prev-archive"', ' rel="enclosure"']
)
bases = st.sampled_from(["", ' xml:base="https://base.example/d/"', ' xml:base="/sub/"', ' xml:base="javascript:x"'])


def element(name: str, value: str, attrs: str = "") -> str:
    return f"<{name}{attrs}>{value}</{name}>"


item_part = st.one_of(
    st.builds(element, st.sampled_from(["title", "dc:title", "media:title"]), texts, types),
    st.builds(element, st.just("link"), links, bases),
    st.builds(lambda rel, href: f'<atom:link{rel} href="{href}"/>', rels, links),
    st.builds(element, st.just("guid"), guids, permalink),
    st.builds(element, st.sampled_from(["description", "content:encoded", "itunes:subtitle", "itunes:summary"]),
              texts, types),
    st.builds(element, st.sampled_from(["pubDate", "dc:date", "dcterms:modified", "lastBuildDate"]), dates),
    st.builds(element, st.just("source"), texts,
              st.sampled_from(["", ' url="https://www.outlet.example/x"', ' url=""'])),
    st.sampled_from(
        ["<category>c</category>", "<foo>bar</foo>", '<snf:logo url="x"/>', "<author>a</author>",
         "<comments>c</comments>", '<media:content url="https://x.example/i.jpg"/>',
         "<media:group><media:title>g</media:title></media:group>",
         "<date>2026-01-01</date>", "<!-- comment -->", "<enclosure url='/a.mp3'/>", "<dc:creator>A</dc:creator>",
         "<title>a <b>bold</b> title</title>", '<link xmlns:x="http://x.example/" x:href="/x">/y</link>',
         '<extra xmlns="http://unknown.example/"><title>inner</title></extra>', "<guid>  spaced  </guid>",
         "<description>a\n  b\tc</description>", "<image><url>u</url></image>", "<dc:subject>s</dc:subject>",
         '<itunes:image href="https://x.example/i.png"/>', "<media:keywords>a, b</media:keywords>"]
    ),
)  # fmt: skip
channel_part = st.one_of(
    st.builds(element, st.sampled_from(["title", "dc:title", "generator", "description"]), texts, types),
    st.builds(lambda rel, href: f'<atom:link{rel} href="{href}"/>', rels, links),
    st.builds(element, st.just("link"), links),
    st.builds(element, st.sampled_from(["pubDate", "lastBuildDate"]), dates),
    st.sampled_from(["<image><title>Logo</title><url>u</url><link>/l</link></image>", "<ttl>60</ttl>", "<foo a='1'/>"]),
)


@FUZZ
@given(
    st.lists(channel_part, max_size=5),
    st.lists(st.lists(item_part, max_size=9), max_size=5),
    bases,
    st.sampled_from([URL, "https://www.sec.gov/cgi-bin/browse-edgar", "http://127.0.0.1:8080/feed.xml"]),
    st.sampled_from(["UTC", "Asia/Seoul"]),
    st.lists(channel_part, max_size=2),
    st.sampled_from(
        [
            (RSS, "UTF-8"),
            ("text/xml", "UTF-8"),
            ("text/html", "UTF-8"),
            ("application/octet-stream", "UTF-8"),
            ("application/rss+xml", "ISO-8859-1"),
            ("application/xml; charset=iso-8859-1", "UTF-8"),
            ("", "UTF-8"),
        ]
    ),
)
def test_generated_rss_gives_the_same_feed(
    channel: list[str],
    items: list[list[str]],
    base: str,
    url: str,
    timezone: str,
    tail: list[str],
    served: tuple[str, str],
) -> None:
    content_type, encoding = served
    body = rss(["".join(parts) for parts in items], channel="".join(channel), root=base).replace(
        "</channel>", "".join(tail) + "</channel>"
    )
    data = body.replace('encoding="UTF-8"', f'encoding="{encoding}"').encode(encoding, "xmlcharrefreplace")
    assert_same(data, content_type=content_type, url=url, timezone=timezone)


entry_part = st.one_of(
    st.builds(element, st.just("title"), texts, types),
    st.builds(lambda rel, href, kind: f'<link{rel}{kind} href="{href}"/>', rels, links,
              st.sampled_from(["", ' type="text/html"', ' type="application/pdf"'])),
    st.builds(element, st.just("id"), guids),
    st.builds(element, st.sampled_from(["summary", "content"]), texts, types),
    st.builds(element, st.sampled_from(["published", "updated"]), dates),
    st.sampled_from(
        ["<author><name>A</name></author>", '<category term="8-K"/>', "<rights>r</rights>", "<x-y>1</x-y>"]
    ),
)  # fmt: skip


@FUZZ
@given(st.lists(st.lists(entry_part, max_size=8), max_size=5), bases, st.sampled_from(["UTC", "Asia/Seoul"]))
def test_generated_atom_gives_the_same_feed(entries: list[list[str]], base: str, timezone: str) -> None:
    body = atom(["".join(parts) for parts in entries], head="<title>F</title>", root=base)
    assert_same(body, content_type="application/atom+xml", timezone=timezone)


# -- dates ----------------------------------------------------------------------------------------------

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
offsets = st.tuples(st.sampled_from("+-"), st.integers(0, 24), st.integers(0, 99))
date_fields = st.tuples(
    st.integers(0, 10_000), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61),
    st.integers(0, 61),
)  # fmt: skip


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(date_fields, offsets, st.sampled_from(DAYS), st.booleans(), st.sampled_from(["", ".5", ".999999", ".1234567"]))
@example((1, 1, 1, 0, 0, 0), ("+", 0, 0), "Mon", False, "")
@example((9999, 12, 31, 23, 59, 59), ("-", 0, 0), "Fri", True, ".5")
@example((2026, 3, 1, 0, 30, 0), ("+", 0, 59), "Sun", False, "")
def test_fast_dates_equal_feedparsers(
    fields: tuple[int, ...], offset: tuple[str, int, int], weekday: str, utc: bool, fraction: str
) -> None:
    """fastparse.parse_date computes the common RFC 822 and W3DTF shapes itself: always feedparser's value
    (out-of-range fields included, where feedparser's later handlers have their say)."""
    year, month, day, hour, minute, second = fields
    sign, zone_hours, zone_minutes = offset
    month_name = MONTHS[(month - 1) % 12]
    rfc_zone = "GMT" if utc else f"{sign}{zone_hours:02d}{zone_minutes:02d}"
    w3_zone = "Z" if utc else f"{sign}{zone_hours:02d}:{zone_minutes:02d}"
    for value in (
        f"{weekday}, {day:02d} {month_name} {year:04d} {hour:02d}:{minute:02d}:{second:02d} {rfc_zone}",
        f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{w3_zone}",
    ):
        assert parse_date(value) == _parse_date(value), value
