"""Parsing and normalising real and hand-made feed documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.parse import parse_feed, parse_feed_with_feedparser
from monitor.text import plain_text
from tests.servers import rss

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def parse(body: bytes | str, url: str = "https://news.example.com/rss/xml", timezone: str = "UTC"):  # type: ignore[no-untyped-def]
    data = body.encode() if isinstance(body, str) else body
    return parse_feed(data, final_url=url, headers={"content-type": "application/rss+xml"}, timezone=timezone, now=NOW)


def test_korea_herald_keeps_the_raw_numeric_guid_and_decodes_entities_in_cdata() -> None:
    feed = parse((DATA / "koreaherald-rss_xml-trimmed.xml").read_bytes(), url="https://www.koreaherald.com/rss/newsAll")
    (item,) = feed.items
    assert item.guid == "20210209000915"  # not resolved against the feed URL
    assert item.url == "http://www.koreaherald.com/view.php?ud=20210209000915"
    assert "South Korea’s speedy" in item.summary and "&rsquo;" not in item.summary
    assert item.published == datetime(2021, 2, 9, 6, 22, 43, tzinfo=UTC)  # +0900 converted
    assert item.source == "koreaherald.com"


def test_same_guid_from_two_section_feeds_is_the_same_id() -> None:
    body = rss([{"title": "A", "guid": "12345", "link": "https://x.example/a"}])
    one = parse(body, url="https://x.example/rss/xml").items[0]
    two = parse(body, url="https://x.example/rss/manufacturing/xml").items[0]
    assert one.guid == two.guid == "12345"


def test_dart_titles_and_dates() -> None:
    feed = parse(
        (DATA / "dart-companyRSS-samsung-electronics.xml").read_bytes(), url="https://dart.fss.or.kr/api/x.xml"
    )
    assert feed.items[0].title == "(유가)삼성전자 - 임원ㆍ주요주주특정증권등소유상황보고서"
    assert feed.items[0].published == datetime(2026, 8, 26, 6, 2, tzinfo=UTC)
    assert feed.items[0].guid == "https://dart.fss.or.kr/api/link.jsp?rcpNo=20260826000445"


def test_edgar_atom_uses_updated_when_published_is_missing() -> None:
    feed = parse((DATA / "sec-edgar-company-s1.atom.xml").read_bytes(), url="https://www.sec.gov/cgi-bin/browse-edgar")
    assert len(feed.items) == 5
    assert all(i.published is not None and i.published.tzinfo is not None for i in feed.items)
    assert all(i.guid.startswith("urn:tag:sec.gov") for i in feed.items)


def test_google_news_item_names_the_real_publisher() -> None:
    feed = parse((DATA / "google-news-search-trimmed.xml").read_bytes(), url="https://news.google.com/rss/search?q=x")
    first = feed.items[0]
    assert first.source == "countynewscenter.com"
    assert first.guid == "CBMinwFBVV95cUxObDNTMW1VT3pC"
    assert "<a" not in first.summary and "&nbsp;" not in first.summary


def test_html_in_title_is_removed_and_relative_link_resolved() -> None:
    body = rss([{
        "title": '<a href="/manufacturing/x" hreflang="en">Acme Bio &amp;amp; Lonza sign deal</a>',
        "link": "/manufacturing/acme-lonza?utm_source=rss&utm_medium=rss&id=7",
        "description": "<figure><img src='x.jpg'/><figcaption>Photo</figcaption></figure><p>Lede &lt;here&gt;.</p>",
    }])  # fmt: skip
    (item,) = parse(body, url="https://www.fiercepharma.com/rss/manufacturing/xml").items
    assert item.title == "Acme Bio & Lonza sign deal"
    assert item.url == "https://www.fiercepharma.com/manufacturing/acme-lonza?id=7"
    assert item.guid == "https://fiercepharma.com/manufacturing/acme-lonza?id=7"  # no guid: canonical link
    assert item.summary == "Lede <here>."


@pytest.mark.parametrize(
    ("raw", "timezone", "expected"),
    [
        ("2026-01-14 09:53:39", "Asia/Seoul", datetime(2026, 1, 14, 0, 53, 39, tzinfo=UTC)),
        ("Jun 29, 2026 11:09am", "America/New_York", datetime(2026, 6, 29, 15, 9, tzinfo=UTC)),
        ("2026.01.14 09:53", "Asia/Seoul", datetime(2026, 1, 14, 0, 53, tzinfo=UTC)),
        ("Tue, 09 Feb 2021 15:22:43 +0900", "America/New_York", datetime(2021, 2, 9, 6, 22, 43, tzinfo=UTC)),
        ("Wed, 26 Aug 2026 06:02:00 GMT", "Asia/Seoul", datetime(2026, 8, 26, 6, 2, tzinfo=UTC)),
        ("2026-03-01T10:00:00+01:00", "Asia/Seoul", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_dates_honour_the_feed_timezone_only_when_naive(raw: str, timezone: str, expected: datetime) -> None:
    (item,) = parse(rss([{"title": "t", "guid": "g", "pubDate": raw}]), timezone=timezone).items
    assert item.published == expected


def test_far_future_dates_are_dropped() -> None:
    (item,) = parse(rss([{"title": "t", "guid": "g", "pubDate": "Mon, 01 Jan 2035 00:00:00 GMT"}])).items
    assert item.published is None


@pytest.mark.parametrize(
    "raw", ["Fri, 31 Dec 9999 23:00:00 -0500", "9999-12-31T23:30:00-05:00", "Sat, 01 Jan 10000 00:00:00 GMT"]
)
@pytest.mark.parametrize("parser", [parse_feed, parse_feed_with_feedparser])
def test_dates_past_what_python_can_hold_leave_the_item_undated(raw: str, parser: Any) -> None:
    # feedparser converts the first two to year 10000 in UTC; datetime raised ValueError from parse_feed
    body = rss([{"title": "t", "guid": "g", "pubDate": raw}, {"title": "u", "guid": "h"}]).encode()
    feed = parser(body, final_url="https://x.example/rss", headers={}, now=NOW)
    assert [(item.title, item.published) for item in feed.items] == [("t", None), ("u", None)]


def test_entries_without_id_or_link_get_a_content_key_and_duplicates_collapse() -> None:
    body = rss([{"title": "no id"}, {"title": "a", "guid": "1"}, {"title": "a again", "guid": "1"}, {}])
    feed = parse(body)
    assert [i.title for i in feed.items] == ["no id", "a"]
    assert feed.items[0].guid.startswith("sha256:") and feed.items[0].guid == parse(body).items[0].guid
    assert feed.skipped == 2  # the duplicate guid, and the entry with no text at all


def test_javascript_links_are_dropped() -> None:
    (item,) = parse(rss([{"title": "t", "guid": "g", "link": "javascript:alert(1)"}])).items
    assert item.url is None


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError):
        parse(b"\x00\x01\x02 not xml at all <<<")


def test_plain_text_double_escaping_and_control_characters() -> None:
    assert plain_text("Lonza &amp;amp; Roche\x07  deal") == "Lonza & Roche deal"
    assert plain_text("<script>alert(1)</script>Visible") == "Visible"
