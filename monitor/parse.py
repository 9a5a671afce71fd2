"""Feed bytes -> normalised items: feedparser on the fetched bytes and headers, never on a URL.

Ordinary well-formed RSS 2.0 / Atom 1.0 documents are read by monitor.fastparse instead, which gives
feedparser's result in a fraction of the time; everything it is unsure about still goes to feedparser.

Pure: no network and no clock but the `now` passed in. feedparser is given no base URL on purpose, so a
non-URL `<guid>` stays as the publisher wrote it (feedparser would otherwise resolve `20210209000915`
against the feed URL and give the same article a different id in every section feed); links are then
resolved here against the final URL. feedparser can raise on some inputs: every exception becomes a
ParseError naming the feed.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser

from monitor.errors import ParseError
from monitor.fastparse import fast_parse
from monitor.text import plain_text
from monitor.types import Classification, ParsedItem
from monitor.urls import canonical_url, clean_joined_link, clean_url, outlet

if TYPE_CHECKING:  # grouping is not needed to parse, only to type what a parse worker may add
    from monitor.grouping import StoryFingerprint

MAX_ITEMS_PER_FEED = 500
_SURVIVABLE_BOZO = frozenset({"CharacterEncodingOverride", "NonXMLContentType"})
MAX_ENTITY_EXPANSION = 256 * 1024  # characters that declared XML entities may add to a document
_ENTITY_DECL = re.compile(r"""<!ENTITY\s+(%\s+)?([^\s%;&"'<>]+)\s+(?:"([^"]*)"|'([^']*)'|[^>]*)>""")
_ENTITY_REF = re.compile(r"&([^\s#;&]+);")
_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_FEEDPARSER_ENTITY = re.compile(rb"^\s*<!ENTITY([^>]*?)>", re.MULTILINE)  # feedparser.sanitizer's pattern
_WIDE_STARTS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
FUTURE_TOLERANCE = timedelta(days=1)
_DATE_KEYS = (("published", "published_parsed"), ("updated", "updated_parsed"), ("created", "created_parsed"))
_TZ_SUFFIX = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|\b(?:GMT|UTC|UT|[ECMP][SD]T|KST|JST|CET|CEST|BST))\s*$", re.I)
_ZONE_LENGTH = len("+09:00")  # the longest _TZ_SUFFIX match in a stripped date
_EXTRA_FORMATS = (
    "%b %d, %Y %I:%M%p",  # Drupal (Fierce): "Jun 29, 2026 11:09am"
    "%Y-%m-%d %H:%M:%S",  # ND Soft (Korean outlets), naive local time
    "%Y-%m-%d %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y-%m-%d",
)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed document holds: its title, its items, and how many entries were unusable."""

    title: str
    items: tuple[ParsedItem, ...]
    skipped: int = 0
    bozo: str | None = None
    older: str | None = None  # RFC 5005: the archive (prev-archive) or page (next) of older entries
    generator: str = ""
    # the items' classifications, aligned with `items`, when a parse worker also classified them; with them
    # the flagged items' story fingerprints (None for the others) and every item's canonical link
    classifications: tuple[Classification | None, ...] = ()  # None: a known item, not analysed again
    fingerprints: tuple[StoryFingerprint | None, ...] = ()
    links: tuple[str | None, ...] = ()


def parse_feed(
    body: bytes, *, final_url: str, headers: dict[str, str], timezone: str = "UTC", now: datetime
) -> ParsedFeed:
    """Parse `body` (as fetched from `final_url`) into normalised items.

    Ordinary RSS 2.0 / Atom 1.0 documents take monitor.fastparse (the same result in a fraction of the
    time); everything else goes to feedparser.
    """
    return _parse_feed(body, final_url=final_url, headers=headers, timezone=timezone, now=now, fast=True)


def parse_feed_with_feedparser(
    body: bytes, *, final_url: str, headers: dict[str, str], timezone: str = "UTC", now: datetime
) -> ParsedFeed:
    """`parse_feed` without the fast path: feedparser reads every XML document (the reference behaviour,
    which the differential tests compare the fast path with)."""
    return _parse_feed(body, final_url=final_url, headers=headers, timezone=timezone, now=now, fast=False)


def _parse_feed(
    body: bytes, *, final_url: str, headers: dict[str, str], timezone: str, now: datetime, fast: bool
) -> ParsedFeed:
    parse_headers = {k: v for k, v in headers.items() if k.lower() != "content-location"}
    parse_headers.setdefault("content-type", "application/xml")
    if not body.strip():
        raise ParseError(f"empty document at {final_url}: no feed to read")
    parsed: dict[str, Any] | None
    if _is_json_feed(body, parse_headers):
        parsed = _json_feed(body, final_url)
    else:
        parsed = fast_parse(body, parse_headers) if fast else None
        if parsed is None:
            parsed = _feedparser(body, final_url, parse_headers)
    entries = list(parsed.get("entries") or [])
    bozo = parsed.get("bozo_exception")
    if not entries and bozo is not None and type(bozo).__name__ not in _SURVIVABLE_BOZO:
        # broken and nothing usable (a truncated download): an error, not an empty feed (that would
        # count as the feed's silent baseline, and its whole real content would alert later)
        raise ParseError(f"not a feed at {final_url}: {type(bozo).__name__}: {bozo}")
    if not entries and not parsed.get("version"):
        raise ParseError(f"not a feed at {final_url}: no RSS, Atom or JSON feed found (an HTML page?)")
    tz = ZoneInfo(timezone)
    items: list[ParsedItem] = []
    skipped = 0
    seen: set[str] = set()
    for entry in entries[:MAX_ITEMS_PER_FEED]:
        item = normalise_entry(entry, final_url=final_url, tz=tz, now=now)
        if item is None or item.guid in seen:
            skipped += 1
            continue
        seen.add(item.guid)
        items.append(item)
    feed_meta = parsed.get("feed") or {}
    return ParsedFeed(
        title=plain_text(str(feed_meta.get("title") or ""), limit=300),
        items=tuple(items),
        skipped=skipped + max(0, len(entries) - MAX_ITEMS_PER_FEED),
        bozo=f"{type(bozo).__name__}: {bozo}" if bozo is not None else None,
        older=_older_link(feed_meta, final_url),
        generator=str(feed_meta.get("generator") or "")[:200],
    )


def _feedparser(body: bytes, final_url: str, headers: dict[str, str]) -> Any:
    body = _defuse_entities(body, final_url)
    try:
        return feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser raises on some hostile inputs instead of setting bozo
        raise ParseError(f"feedparser failed on {final_url}: {type(exc).__name__}: {exc}") from exc


def _is_json_feed(body: bytes, headers: dict[str, str]) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "json" in content_type or body.lstrip()[:1] == b"{"


def _json_feed(body: bytes, final_url: str) -> dict[str, Any]:
    """JSON Feed 1.0/1.1 mapped onto the shape feedparser returns, so one normaliser serves both."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a JSON feed at {final_url}: {exc}") from exc
    if not isinstance(document, dict) or "jsonfeed.org/version" not in str(document.get("version", "")):
        raise ParseError(f"not a feed at {final_url}: JSON without a jsonfeed.org version")
    raw_items = document.get("items")
    entries = []
    for raw in raw_items if isinstance(raw_items, list) else []:
        if not isinstance(raw, dict):
            continue
        entries.append(
            {
                "id": str(raw.get("id") or ""),
                "link": str(raw.get("url") or raw.get("external_url") or ""),
                "title": str(raw.get("title") or ""),
                "summary": str(raw.get("summary") or raw.get("content_text") or raw.get("content_html") or ""),
                "published": str(raw.get("date_published") or ""),
                "updated": str(raw.get("date_modified") or ""),
            }
        )
    next_url = document.get("next_url")
    links = [{"rel": "next", "href": str(next_url)}] if next_url else []
    feed = {"title": str(document.get("title") or ""), "links": links}
    return {"entries": entries, "feed": feed, "version": "json1", "bozo_exception": None}


def _older_link(feed_meta: Any, final_url: str) -> str | None:
    """RFC 5005 archive or paging link to older entries, resolved against the document's URL."""
    links = {str(link.get("rel")): str(link.get("href") or "") for link in feed_meta.get("links") or []}
    href = links.get("prev-archive") or links.get("next")
    if not href:
        return None
    absolute = urljoin(final_url, href)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _defuse_entities(body: bytes, final_url: str) -> bytes:
    """Refuse XML entity bombs before feedparser sees them; keep backslashes in entity values literal.

    Expat limits expansion on the strict path, but when strict parsing fails feedparser's loose parser
    expands the "safe" (text-only) entities itself, without limit: one 1 MB entity referenced 5,000
    times is 5 GB. Nested declarations (billion laughs) are refused too. feedparser also re-inserts
    entity declarations through `re.sub`, so a backslash in a value (`C:\\temp`) raised or turned into a
    tab (feedparser#599); they are doubled here exactly where feedparser's own pattern will read them.
    """
    text = _as_text(body)
    if "<!ENTITY" not in text:
        return body
    declared = {m.group(2): m.group(3) if m.group(3) is not None else m.group(4) for m in _ENTITY_DECL.finditer(text)}
    expansion = 0
    for name, value in declared.items():
        if value is None:
            continue  # external (SYSTEM/PUBLIC) entities are never resolved
        nested = {ref for ref in _ENTITY_REF.findall(value) if ref not in _PREDEFINED}
        if nested:
            raise ParseError(f"refused {final_url}: nested XML entity declarations (an entity bomb?)")
        expansion += len(value) * text.count(f"&{name};")
        if expansion > MAX_ENTITY_EXPANSION:
            raise ParseError(
                f"refused {final_url}: XML entities would expand to more than {MAX_ENTITY_EXPANSION // 1024} KiB"
            )
    if b"\\" in body:
        body = _FEEDPARSER_ENTITY.sub(lambda m: m.group(0).replace(b"\\", b"\\\\"), body)
    return body


def _as_text(body: bytes) -> str:
    """The document as text for the entity check: UTF-32/16 when it starts like that, else byte-wise."""
    for marks, codec in _WIDE_STARTS:
        if body.startswith(marks):
            return body.decode(codec, "replace")
    return body.decode("latin-1")


def normalise_entry(entry: Any, *, final_url: str, tz: ZoneInfo, now: datetime) -> ParsedItem | None:
    """One feedparser entry -> ParsedItem; None when it has no id, no link and no text.

    The id is the raw guid, else the canonical link, else (thin feeds that give neither) a hash of
    the title, published time and summary, so the same entry gets the same id on every fetch.
    `entry` is a FeedParserDict (or a plain dict from a JSON Feed); keys that FeedParserDict maps to
    nothing else are read with dict.get (the same value, without its Python-level lookup).
    """
    get = dict.get
    link = _link(entry, final_url)
    title = plain_text(str(get(entry, "title") or ""), limit=500)
    summary = plain_text(str(get(entry, "summary") or entry.get("description") or ""))
    published = entry_time(entry, tz=tz, now=now)
    guid = str(get(entry, "id") or "").strip() or (canonical_url(link) if link else "")
    if not guid and (title or summary):
        when = str(get(entry, "published") or entry.get("updated") or "")
        guid = "sha256:" + hashlib.sha256(f"{title}|{when}|{summary}".encode()).hexdigest()[:32]
    if not guid:
        return None
    return ParsedItem(
        guid=guid[:1000],
        url=link,
        title=title,
        summary=summary,
        published=published,
        source=_publisher(entry) or outlet(link),
    )


def _publisher(entry: Any) -> str:
    """The real outlet of an aggregator item (Google News names it in `<source url=...>`)."""
    source = dict.get(entry, "source")
    href = source.get("href") if isinstance(source, dict) else None
    return outlet(str(href)) if href else ""


def _link(entry: Any, final_url: str) -> str | None:
    href = str(dict.get(entry, "link") or "").strip()
    if not href:
        return None
    # most links: the result below without urljoin's cost (they have a scheme: the guid test would pass them)
    joined = clean_joined_link(final_url, href)
    if joined is not None:
        return joined
    if dict.get(entry, "guidislink") and href == str(dict.get(entry, "id") or "").strip() and not urlsplit(href).scheme:
        return None  # feedparser copied a non-URL <guid> (`12345`) into the link: it is no address
    absolute = urljoin(final_url, href)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None  # javascript:, data:, file: links are never shown or followed
    return clean_url(absolute)


def entry_time(entry: Any, *, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The entry's publication time in UTC, honouring the feed's time zone for naive timestamps.

    Prefers `published`, then `updated` (EDGAR Atom has only `updated`). Dates more than a day in the
    future are wrong and dropped (the caller uses the time first seen instead).
    """
    for key, parsed_key in _DATE_KEYS:
        # FeedParserDict answers `updated` with `published` when there is none: keep its lookup there
        raw = entry.get(key) if key == "updated" else dict.get(entry, key)
        if not raw:
            continue
        when = parse_date(str(raw), entry.get(parsed_key) if key == "updated" else dict.get(entry, parsed_key), tz)
        if when is not None:
            return when if when <= now + FUTURE_TOLERANCE else None
    return None


def parse_date(raw: str, parsed: time.struct_time | None, tz: ZoneInfo) -> datetime | None:
    """A feed date string -> aware UTC datetime; naive times are read in `tz`.

    A date Python cannot represent (feedparser turns "31 Dec 9999 23:00 -0500" into year 10000) is no
    date at all, like an unreadable one: the item keeps its other fields.
    """
    try:
        return _parse_date(raw, parsed, tz)
    except (ValueError, OverflowError, OSError):
        return None


def _parse_date(raw: str, parsed: time.struct_time | None, tz: ZoneInfo) -> datetime | None:
    raw = raw.strip()
    naive = not _has_zone(raw)
    if parsed is not None and not naive:
        return _utc_datetime(parsed)
    try:
        iso = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        iso = None
    if iso is not None:
        return (iso if iso.tzinfo else iso.replace(tzinfo=tz)).astimezone(UTC)
    rfc = email.utils.parsedate_tz(raw)
    if rfc is not None and rfc[9] is not None:
        return datetime.fromtimestamp(email.utils.mktime_tz(rfc), tz=UTC)
    for fmt in _EXTRA_FORMATS:
        try:
            local = datetime.strptime(raw, fmt)  # noqa: DTZ007 - naive by design, zone applied below
        except ValueError:
            continue
        return local.replace(tzinfo=tz).astimezone(UTC)
    if parsed is not None:  # feedparser understood it; it had no zone: it is local time
        return datetime(*parsed[:6], tzinfo=tz).astimezone(UTC)
    return None


def _has_zone(raw: str) -> bool:
    """`_TZ_SUFFIX.search(raw)` for a stripped date, searched in its last characters only.

    A match ends the string (nothing is left for `\\s*` once it is stripped) and is at most
    `_ZONE_LENGTH` characters long (`+09:00`), so it starts there; `\\b` still reads the character before
    the search's start. The whole-string search tried every position (case-insensitively) and cost more
    than the rest of the date's handling.
    """
    return _TZ_SUFFIX.search(raw, len(raw) - _ZONE_LENGTH) is not None


def _utc_datetime(parsed: time.struct_time) -> datetime:
    """`datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)`: the UTC time feedparser's fields spell.

    For fields a datetime accepts that is the datetime of those fields, built without timegm's Python
    arithmetic; others (a leap second `:60`, which timegm carries into the next minute) take timegm.
    """
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
