"""Bad feed documents (catalogue rows F01–F30, except the XML bombs F03–F07 in test_xml_bombs.py).

Each test cites its row. Parse-level tests call the real parse wrapper; pipeline-level tests run the real
poll against a FeedServer on 127.0.0.1 and read the SQLite file: a bad feed is skipped with its error
recorded, what was stored stays, other feeds are polled in the same cycle.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from monitor.errors import ParseError
from tests.robustness.conftest import NOISE, Monitor, contract, item, parse, rss_doc

RSS_HEAD = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'


def one_item(title: str, extra: str = "", guid: str = "g1") -> str:
    return f"{RSS_HEAD}<item><guid>{guid}</guid><title>{title}</title>{extra}</item></channel></rss>"


def valid_utf8(*texts: str) -> bool:
    for text in texts:
        text.encode("utf-8")  # raises on lone surrogates
    return True


# -- pipeline-level: a broken feed is skipped, recorded, and hurts nothing else ---------------------


def test_F01_html_page_is_skipped_with_error_and_previous_items_kept(monitor: Monitor) -> None:
    """F01: a login/parking page served 200 text/html is "not a feed": consecutive failures +1, error
    recorded, earlier items intact, the other feed of the same cycle still polled and alerting."""
    monitor.write_feeds({"flaky": "/flaky.xml", "good": "/good.xml"})
    monitor.feeds.set("/flaky.xml", rss_doc([item(NOISE, "old-1")]))
    monitor.feeds.set("/good.xml", rss_doc([item(NOISE, "g-0")]))
    monitor.poll()
    monitor.feeds.set("/flaky.xml", "<html><head><title>Sign in</title></head><body><form>CAPTCHA</form></body></html>",
                      content_type="text/html")  # fmt: skip
    monitor.feeds.set("/good.xml", rss_doc([item(NOISE, "g-0"), contract(0)]))
    results = monitor.cycle()
    assert results["flaky"].status == "error" and "not a feed" in (results["flaky"].error or "")
    row = monitor.db().feed("flaky")
    assert row["consecutive_failures"] == 1 and "not a feed" in row["last_error"]
    assert "old-1" in monitor.db().guids()
    assert results["good"].status == "ok" and len(monitor.slack.posts()) == 1


def test_F11_parser_crash_is_contained_and_other_feeds_unaffected(monitor: Monitor) -> None:
    """F11 (+X16): `&#x110000;` makes feedparser raise; the wrapper turns it into the feed's recorded error
    naming the exception type, and the healthy feed's new contract still alerts exactly once."""
    monitor.write_feeds({"crasher": "/crash.xml", "good": "/good.xml"})
    monitor.feeds.set("/crash.xml", rss_doc([item(NOISE, "x-0")]))
    monitor.feeds.set("/good.xml", rss_doc([item(NOISE, "g-0")]))
    monitor.poll()
    monitor.feeds.set("/crash.xml", one_item("boom &#x110000;"))
    monitor.feeds.set("/good.xml", rss_doc([item(NOISE, "g-0"), contract(1)]))
    results = monitor.cycle()
    assert results["crasher"].status == "error" and "ValueError" in (results["crasher"].error or "")
    assert "ValueError" in monitor.db().feed("crasher")["last_error"]
    assert results["good"].alerts == 1 and len(monitor.slack.posts()) == 1


def test_F19_changing_guid_and_tracking_parameters_alert_once(monitor: Monitor) -> None:
    """F19: the guid changes on every fetch and the link gains new utm_* parameters; the canonical link
    dedupes: exactly one alert."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    for n in range(3):
        link = f"https://news.example.com/lonza-acme?utm_source=rss&utm_campaign={n}"
        monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), {**contract(0, guid=f"rand-{n}"), "link": link}]))
        monitor.cycle()
    assert len(monitor.slack.posts()) == 1


def test_F20_edited_title_under_same_guid_does_not_alert_again(monitor: Monitor) -> None:
    """F20: a correction (same guid, edited title and summary) is no new alert."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), contract(0, guid="deal-1")]))
    monitor.cycle()
    edited = {**contract(0, guid="deal-1"), "title": contract(0)["title"] + " (corrected)", "description": "Updated."}
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), edited]))
    monitor.cycle()
    assert len(monitor.slack.posts()) == 1


def test_F22_same_story_in_two_feeds_alerts_once(monitor: Monitor) -> None:
    """F22: the same story syndicated by two feeds with different guids and links -> one alert listing both
    sources (the later outlet is at most a thread reply to it)."""
    monitor.write_feeds({"wire": "/wire.xml", "trade": "/trade.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "w")]))
    monitor.feeds.set("/trade.xml", rss_doc([item(NOISE, "t")]))
    monitor.poll()
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "w"), item(contract(0), "wire-77", "https://wire.example/77")]))
    monitor.feeds.set("/trade.xml", rss_doc([item(NOISE, "t"), item(contract(0), "tp-9", "https://trade.example/9")]))
    monitor.cycle()
    top = [c for c in monitor.slack.posts() if not c.body.get("thread_ts")]
    assert len(top) == 1  # a second outlet may add a thread reply ("Also reported by"), never a new alert
    assert "wire.example" in top[0].body["text"] and "trade.example" in top[0].body["text"]


def test_F23_item_without_any_date_still_alerts(monitor: Monitor) -> None:
    """F23: no dates anywhere -> published NULL, first-seen time used, still eligible to alert."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([{"title": "x", "guid": "n"}]))
    monitor.poll()
    undated = {k: v for k, v in contract(2).items() if k != "pubDate"}
    monitor.feeds.set("/wire.xml", rss_doc([{"title": "x", "guid": "n"}, undated]))
    monitor.cycle()
    assert monitor.db().rows("SELECT published_at FROM item WHERE guid = 'c2'") == [(None,)]
    assert len(monitor.slack.posts()) == 1


def test_F26_new_feed_backlog_is_a_silent_baseline(monitor: Monitor) -> None:
    """F26: the first fetch of a brand-new feed holding 300 backlog items (some flagged) stores them all
    and sends 0 alerts; polling again changes nothing."""
    backlog = [item(NOISE, f"old-{n}", f"https://news.example.com/old-{n}") for n in range(296)]
    backlog += [contract(i) for i in range(4)]
    monitor.write_feeds({"new": "/new.xml"})
    monitor.feeds.set("/new.xml", rss_doc(backlog))
    assert monitor.poll()["new"].status == "baseline"
    monitor.deliver()
    monitor.cycle()
    assert monitor.db().count("item") == 300 and monitor.slack.posts() == []


def test_F28_entry_links_to_internal_addresses_are_never_fetched(monitor: Monitor) -> None:
    """F28 (+F27): item links pointing at a canary "metadata" server are stored/rendered only: the monitor
    never fetches entry links (no full-text fetch) and asks Slack not to unfurl them; canary 0 hits."""
    canary = "/latest/meta-data/"
    monitor.feeds.set(canary, "secret")
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    monitor.feeds.set(
        "/wire.xml", rss_doc([item(NOISE, "n"), item(CONTRACT0 := contract(0), "c0", monitor.feeds.url(canary))])
    )
    monitor.cycle()
    assert CONTRACT0 and monitor.feeds.hits(canary) == []
    (post,) = monitor.slack.posts()
    assert post.body["unfurl_links"] is False and post.body["unfurl_media"] is False


# -- parse-level rows ---------------------------------------------------------------------------------


def test_F02_truncated_document_keeps_only_complete_identified_entries() -> None:
    """F02: socket closed mid-document / unterminated CDATA: bozo is reported, entries with a stable id
    are kept, nothing raises."""
    body = RSS_HEAD + "<item><guid>a</guid><title>complete</title></item><item><guid>b</guid><title><![CDATA[cut"
    feed = parse(body)
    assert feed.bozo is not None and feed.items[0].guid == "a"
    assert all(i.guid for i in feed.items)


def test_F08_declared_ascii_but_utf8_bytes_decode_correctly() -> None:
    """F08: declared us-ascii, bytes are UTF-8: CharacterEncodingOverride is survivable, text is right."""
    doc = one_item("Café – “deal”").replace('encoding="UTF-8"', 'encoding="us-ascii"').encode("utf-8")
    feed = parse(doc, content_type="application/rss+xml; charset=us-ascii")
    assert feed.items[0].title == "Café – “deal”"


@pytest.mark.parametrize(
    "body",
    [
        one_item("bad \udcff bytes").encode("utf-8", "surrogateescape"),  # invalid UTF-8 byte 0xFF
        one_item("“smart” quotes").replace("UTF-8", "windows-1252").encode("cp1252"),
        (one_item("x") + "\x00\x00").encode(),
    ],
    ids=["invalid-utf8", "cp1252", "nul-tail"],
)
def test_F09_bad_bytes_give_valid_utf8_text_and_no_exception(body: bytes) -> None:
    """F09: invalid UTF-8, windows-1252 smart quotes, NULs: stored strings are valid UTF-8, no exception
    escapes (a ParseError is the only allowed failure)."""
    try:
        feed = parse(body)
    except ParseError:
        return
    assert valid_utf8(feed.title, *(i.title for i in feed.items), *(i.summary for i in feed.items))
    assert all("\x00" not in i.title for i in feed.items)


@pytest.mark.parametrize(
    ("encoding", "title"),
    [("utf-16", "Δeal 受託"), ("utf-32", "Δeal 受託"), ("shift_jis", "受託製造契約"), ("koi8-r", "Контракт"),
     ("big5", "製造合約"), ("gb2312", "制造合同"), ("euc-kr", "위탁생산 계약")],
)  # fmt: skip
def test_F10_declared_encodings_decode_to_the_original_text(encoding: str, title: str) -> None:
    """F10: UTF-16/32 with BOM, Shift-JIS, KOI8-R, Big5, GB2312, EUC-KR documents decode exactly."""
    doc = one_item(title).replace('encoding="UTF-8"', f'encoding="{encoding}"').encode(encoding)
    assert parse(doc).items[0].title == title


@pytest.mark.parametrize("ref", ["&#x110000;", "&#xFFFFFFFF;", "&#xD800;", "&#1114112;", "&#99999999999;"])
def test_F11_out_of_range_character_references_raise_only_parse_error(ref: str) -> None:
    """F11: feedparser raises ValueError/OverflowError/UnicodeEncodeError (feedparser#599); the wrapper
    lets only a ParseError out, naming the feed and the exception type."""
    with pytest.raises(ParseError, match=r"news\.example\.com/feed: (ValueError|OverflowError|UnicodeEncodeError)"):
        parse(one_item(f"t {ref}"))


@pytest.mark.parametrize("value", [r"C:\data", r"C:\temp", r"a\1b", "x\\"])
def test_F12_backslash_in_entity_value_is_kept_literally(value: str) -> None:
    """F12: `<!ENTITY path "C:\\data">` made feedparser raise re.error and `C:\\temp` silently became
    "C:<TAB>emp"; fixed in parse.py: the stored title equals the raw entity text."""
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY path "{value}">\n]>\n'
        '<rss version="2.0"><channel><title>T</title><item><guid>g</guid><title>&path;</title></item></channel></rss>'
    )
    assert parse(doc).items[0].title == value


def test_F13_gml_srsname_with_non_numeric_epsg_is_contained() -> None:
    """F13: GeoRSS GML `srsName="EPSG:abc"` raises inside feedparser; contained as a ParseError."""
    doc = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:georss="http://www.georss.org/georss" '
        'xmlns:gml="http://www.opengis.net/gml"><channel><item><guid>g</guid><georss:where>'
        '<gml:Point srsName="EPSG:abc"><gml:pos>1 2</gml:pos></gml:Point></georss:where></item></channel></rss>'
    )
    with pytest.raises(ParseError, match="ValueError"):
        parse(doc)


@pytest.mark.parametrize("body", [b"", b"   \r\n\t  "])
def test_F14_empty_and_blank_bodies_are_an_empty_document_error(body: bytes) -> None:
    """F14: 0 bytes or whitespace with 200: skipped as "empty document" (feedparser itself says nothing)."""
    with pytest.raises(ParseError, match="empty document"):
        parse(body)


def test_F01_html_page_is_not_a_feed_at_parse_level() -> None:
    """F01: an HTML page has no feed version and no entries -> ParseError "not a feed"."""
    with pytest.raises(ParseError, match="not a feed"):
        parse("<!doctype html><html><body><h1>Domain for sale</h1></body></html>", content_type="text/html")


FORMATS = {
    "rss091": '<?xml version="1.0"?><rss version="0.91"><channel><title>T</title><item><title>Deal</title>'
    "<link>https://f.example/1</link></item></channel></rss>",
    "rss10": '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://f.example/"><title>T</title></channel>'
    '<item rdf:about="https://f.example/1"><title>Deal</title><link>https://f.example/1</link></item></rdf:RDF>',
    "rss20": '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>Deal</title>'
    "<link>https://f.example/1</link><guid>https://f.example/1</guid></item></channel></rss>",
    "atom03": '<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title>'
    '<entry><title>Deal</title><link rel="alternate" href="https://f.example/1"/><id>https://f.example/1</id>'
    "</entry></feed>",
    "atom10": '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry>'
    '<title>Deal</title><link href="https://f.example/1"/><id>https://f.example/1</id></entry></feed>',
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_F17_every_xml_format_gives_the_same_item(name: str) -> None:
    """F17: RSS 0.91, RSS 1.0 (RDF), RSS 2.0, Atom 0.3 and Atom 1.0 give the same item model."""
    (entry,) = parse(FORMATS[name]).items
    assert (entry.title, entry.url) == ("Deal", "https://f.example/1")


def test_F17_json_feed_gives_the_same_item() -> None:
    """F17: JSON Feed 1.1 (application/feed+json) -> the same item model."""
    entry_json = {"id": "https://f.example/1", "url": "https://f.example/1", "title": "Deal"}
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [entry_json]})
    (entry,) = parse(body, content_type="application/feed+json").items
    assert (entry.title, entry.url) == ("Deal", "https://f.example/1")


def test_F18_entry_with_empty_title_has_a_stable_key() -> None:
    """F18: `<title/>` with a guid: parsed with an empty title and the same key on every fetch."""
    doc = one_item("", guid="stable-1")
    assert parse(doc).items[0].guid == parse(doc).items[0].guid == "stable-1"


def test_F18_entry_without_guid_or_link_gets_a_content_hash_key() -> None:
    """F18: no guid and no link -> a stable fallback key, the same on re-fetch."""
    doc = f"{RSS_HEAD}<item><title>Lonza signs deal</title><description>x</description></item></channel></rss>"
    first, second = parse(doc).items, parse(doc).items
    assert len(first) == 1 and first[0].guid == second[0].guid


def test_F21_duplicate_guid_in_one_document_is_one_item() -> None:
    """F21: the same guid twice in one document -> one item."""
    feed = parse(rss_doc([{"title": "a", "guid": "dup"}, {"title": "a again", "guid": "dup"}]))
    assert [i.guid for i in feed.items] == ["dup"]


@pytest.mark.parametrize(
    "raw", ["Thu, 01 Jan 2099 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "32/13/2024",
            "Tue, 31 Feb 2026 10:00:00 GMT", "2026-11-22T10:00:00", "Κυρ, 11 Ιούλ 2004 12:00:00 EST",
            "2004년 05월 28일 01:31:15 +0900", "\x00garbage"],
)  # fmt: skip
def test_F24_hostile_dates_never_raise_and_future_is_dropped(raw: str) -> None:
    """F24: unparseable dates -> None; dates in the far future -> None (first-seen time used), never an
    exception and never a date that would suppress alerting for ever."""
    feed = parse(rss_doc([{"title": "t", "guid": "g", "pubDate": raw}]))
    published = feed.items[0].published
    assert published is None or published.year <= 2026
    if raw.startswith("Thu, 01 Jan 2099"):
        assert published is None


@pytest.mark.parametrize(
    ("link", "expected"),
    [("javascript:alert(1)", None), ("file:///etc/passwd", None), ("data:text/html,<b>x</b>", None),
     ("gopher://x.example/1", None), ("/p/1", "https://news.example.com/p/1")],
)  # fmt: skip
def test_F27_only_http_links_survive_and_relative_links_resolve(link: str, expected: str | None) -> None:
    """F27: javascript:, file:, data:, gopher: links are dropped; a relative link resolves to http(s)."""
    (entry,) = parse(rss_doc([{"title": "t", "guid": "g", "link": link}])).items
    assert entry.url == expected


def test_F27_non_url_guid_is_not_turned_into_a_made_up_link() -> None:
    """F27: feedparser copies a non-URL `<guid>12345</guid>` into `link`; resolved against the feed URL
    that was a made-up address shown in Slack. Fixed in parse.py: no link."""
    (entry,) = parse(rss_doc([{"title": "t", "guid": "12345"}])).items
    assert entry.guid == "12345" and entry.url is None


def test_F29_html_in_titles_is_stripped_to_text() -> None:
    """F29: `<script>`, `<img onerror>`, `<a href=javascript:>` in a title and `<b>` in a summary become
    plain text; nothing is interpreted."""
    title = (
        "&lt;script&gt;alert(1)&lt;/script&gt;Deal &lt;img src=x onerror=alert(1)&gt;"
        "&lt;a href='javascript:x'&gt;here&lt;/a&gt;"
    )
    doc = one_item(title, extra="<description type='text'>&lt;b&gt;bold&lt;/b&gt; news</description>")
    entry = parse(doc).items[0]
    assert entry.title == "Deal here"
    assert entry.summary == "bold news"


def test_F30_control_characters_are_removed_from_stored_text() -> None:
    """F30: CR/LF, ANSI escapes and NUL in titles: removed from stored/display text (one line)."""
    entry = parse(one_item("Deal\r\nInjected: ok&#x1b;[2J done &#x7;")).items[0]
    assert "\x1b" not in entry.title and "\r" not in entry.title and "\n" not in entry.title
    assert "\x07" not in entry.title and entry.title.startswith("Deal Injected: ok")


def test_F06_body_that_names_a_local_file_is_not_opened(tmp_path: Path) -> None:
    """F06 (file access): feedparser opens a *string or bytes* argument as a file name when it can. A
    feed body that is exactly a local path used to make the monitor parse that file; parse.py now
    passes a stream, so the path is just a (non-feed) document and no file is opened."""
    secret = tmp_path / "secret.xml"
    secret.write_text(rss_doc([{"title": "FROM THE LOCAL FILE", "guid": "leak"}]), encoding="utf-8")
    opened: list[str] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and args and str(args[0]) == str(secret):
            opened.append(event)

    sys.addaudithook(audit)
    with pytest.raises(ParseError):
        parse(str(secret).encode())
    assert opened == []
