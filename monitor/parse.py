"""Feed bytes -> normalised items: feedparser on the fetched bytes and headers, never on a URL.

Pure: no network and no clock but the `now` passed in. feedparser is given no base URL on purpose, so a
non-URL `<guid>` stays as the publisher wrote it (feedparser would otherwise resolve `20210209000915`
against the feed URL and give the same article a different id in every section feed); links are then
resolved here against the final URL. feedparser can raise on some inputs: every exception becomes a
ParseError naming the feed.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser

from monitor.errors import ParseError
from monitor.text import plain_text
from monitor.types import ParsedItem
from monitor.urls import canonical_url, clean_url, outlet

MAX_ITEMS_PER_FEED = 500
FUTURE_TOLERANCE = timedelta(days=1)
_TZ_SUFFIX = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|\b(?:GMT|UTC|UT|[ECMP][SD]T|KST|JST|CET|CEST|BST))\s*$", re.I)
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


def parse_feed(
    body: bytes, *, final_url: str, headers: dict[str, str], timezone: str = "UTC", now: datetime
) -> ParsedFeed:
    """Parse `body` (as fetched from `final_url`) into normalised items."""
    parse_headers = {k: v for k, v in headers.items() if k.lower() != "content-location"}
    parse_headers.setdefault("content-type", "application/xml")
    try:
        parsed = feedparser.parse(
            body, response_headers=parse_headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser raises on some hostile inputs instead of setting bozo
        raise ParseError(f"feedparser failed on {final_url}: {type(exc).__name__}: {exc}") from exc
    entries = list(parsed.get("entries") or [])
    bozo = parsed.get("bozo_exception")
    if not entries and bozo is not None and not parsed.get("feed"):
        raise ParseError(f"not a feed at {final_url}: {type(bozo).__name__}: {bozo}")
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
    feed_title = plain_text(str((parsed.get("feed") or {}).get("title") or ""), limit=300)
    return ParsedFeed(
        title=feed_title,
        items=tuple(items),
        skipped=skipped + max(0, len(entries) - MAX_ITEMS_PER_FEED),
        bozo=f"{type(bozo).__name__}: {bozo}" if bozo is not None else None,
    )


def normalise_entry(entry: Any, *, final_url: str, tz: ZoneInfo, now: datetime) -> ParsedItem | None:
    """One feedparser entry -> ParsedItem; None when it has neither id nor link."""
    link = _link(entry, final_url)
    raw_guid = str(entry.get("id") or "").strip()
    guid = raw_guid or (canonical_url(link) if link else "")
    if not guid:
        return None
    published = entry_time(entry, tz=tz, now=now)
    return ParsedItem(
        guid=guid[:1000],
        url=link,
        title=plain_text(str(entry.get("title") or ""), limit=500),
        summary=plain_text(str(entry.get("summary") or entry.get("description") or "")),
        published=published,
        source=_publisher(entry) or outlet(link),
    )


def _publisher(entry: Any) -> str:
    """The real outlet of an aggregator item (Google News names it in `<source url=...>`)."""
    source = entry.get("source")
    href = source.get("href") if isinstance(source, dict) else None
    return outlet(str(href)) if href else ""


def _link(entry: Any, final_url: str) -> str | None:
    href = str(entry.get("link") or "").strip()
    if not href:
        return None
    absolute = urljoin(final_url, href)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None  # javascript:, data:, file: links are never shown or followed
    return clean_url(absolute)


def entry_time(entry: Any, *, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The entry's publication time in UTC, honouring the feed's time zone for naive timestamps.

    Prefers `published`, then `updated` (EDGAR Atom has only `updated`). Dates more than a day in the
    future are wrong and dropped (the caller uses the time first seen instead).
    """
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if not raw:
            continue
        when = parse_date(str(raw), entry.get(f"{key}_parsed"), tz)
        if when is not None:
            return when if when <= now + FUTURE_TOLERANCE else None
    return None


def parse_date(raw: str, parsed: time.struct_time | None, tz: ZoneInfo) -> datetime | None:
    """A feed date string -> aware UTC datetime; naive times are read in `tz`."""
    raw = raw.strip()
    naive = not _TZ_SUFFIX.search(raw)
    if parsed is not None and not naive:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
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
