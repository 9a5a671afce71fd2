"""feeds.yaml: the watched sources, validated strictly into `FeedSpec` records.

Only parsing and validation live here; nothing is fetched. Every problem in the file is collected and
reported at once (file, line, field), so a user fixes them in one pass.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from monitor.errors import ConfigError
from monitor.types import BackfillSpec, FeedSpec
from monitor.yamlconf import Field, read_yaml

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)
DEFAULT_INTERVAL = timedelta(minutes=30)

_TOP_KEYS = {"defaults", "feeds"}
_DEFAULT_KEYS = {"interval", "timezone", "enabled"}
_FEED_KEYS = {"name", "url", "interval", "enabled", "tags", "timezone", "backfill"}
_BACKFILL_KEYS = {"url", "first", "step", "max_pages"}
_INTERVAL = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def parse_interval(text: str) -> timedelta | None:
    """`15m`, `1h`, `1h30m`, `90s`, `1d` -> timedelta; None when the text is not of that form."""
    match = _INTERVAL.fullmatch(text.strip().lower())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_interval(interval: timedelta) -> str:
    """The inverse of parse_interval, for tables: 5400 s -> `1h30m`."""
    total = int(interval.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{seconds}s" if seconds else ""]
    return "".join(parts) or "0s"


def _interval(field: Field, problems: list[str]) -> timedelta | None:
    node_value = getattr(field.node, "value", None)
    if getattr(field.node, "tag", "").endswith(":int"):
        problems.append(field.error(f"{node_value!r} has no unit; write for example 15m or 1h"))
        return None
    text = field.text(problems)
    if text is None:
        return None
    interval = parse_interval(text)
    if interval is None:
        problems.append(field.error(f"{text!r} is not an interval; write for example 15m, 1h or 1h30m"))
        return None
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        problems.append(field.error(f"{text} is outside the allowed range of 5m to 24h"))
        return None
    return interval


def _timezone(field: Field, problems: list[str]) -> str | None:
    text = field.text(problems)
    if text is None:
        return None
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(field.error(f"unknown time zone {text!r}; use an IANA name such as Asia/Seoul"))
        return None
    return text


def _url(field: Field, problems: list[str]) -> str | None:
    text = field.text(problems)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        problems.append(field.error(f"{text!r} is not an http or https URL"))
        return None
    if parts.username is not None or parts.password is not None:  # never echo it: it holds a secret
        problems.append(field.error("the URL contains a user name or password; secrets do not belong in this file"))
        return None
    if not parts.hostname:
        problems.append(field.error(f"{text!r} has no host"))
        return None
    return text


def load_feeds(path: Path) -> list[FeedSpec]:
    """Read and validate feeds.yaml. Raises ConfigError listing every problem found."""
    root = read_yaml(path)
    if root is None:
        raise ConfigError(f"{path}: the file is empty; it needs a `feeds:` list")
    problems: list[str] = []
    top = root.mapping(_TOP_KEYS, problems)
    defaults = _read_defaults(top.get("defaults"), problems)
    if "feeds" not in top:
        problems.append(f"{path}:{root.line}: feeds: missing; list the feeds to watch under `feeds:`")
    feeds = [_read_feed(f, defaults, problems) for f in top["feeds"].items(problems)] if "feeds" in top else []
    specs = [f for f in feeds if f is not None]
    _check_unique(specs, path, problems)
    if problems:
        raise ConfigError(problems)
    return specs


def _read_defaults(field: Field | None, problems: list[str]) -> dict[str, object]:
    values: dict[str, object] = {"interval": DEFAULT_INTERVAL, "timezone": "UTC", "enabled": True}
    if field is None:
        return values
    fields = field.mapping(_DEFAULT_KEYS, problems)
    if "interval" in fields and (interval := _interval(fields["interval"], problems)) is not None:
        values["interval"] = interval
    if "timezone" in fields and (tz := _timezone(fields["timezone"], problems)) is not None:
        values["timezone"] = tz
    if "enabled" in fields and (enabled := fields["enabled"].boolean(problems)) is not None:
        values["enabled"] = enabled
    return values


def _read_feed(field: Field, defaults: dict[str, object], problems: list[str]) -> FeedSpec | None:
    before = len(problems)
    fields = field.mapping(_FEED_KEYS, problems)
    for required in ("name", "url"):
        if required not in fields and isinstance(field.node, yaml.MappingNode):
            problems.append(field.error(f"{required}: missing"))
    name = fields["name"].text(problems) if "name" in fields else None
    url = _url(fields["url"], problems) if "url" in fields else None
    interval = _interval(fields["interval"], problems) if "interval" in fields else defaults["interval"]
    enabled = fields["enabled"].boolean(problems) if "enabled" in fields else defaults["enabled"]
    timezone = _timezone(fields["timezone"], problems) if "timezone" in fields else defaults["timezone"]
    tags = fields["tags"].text_list(problems) if "tags" in fields else ()
    backfill = _backfill(fields["backfill"], problems) if "backfill" in fields else None
    if len(problems) > before or name is None or url is None:
        return None
    assert isinstance(interval, timedelta) and isinstance(enabled, bool) and isinstance(timezone, str)
    return FeedSpec(
        name=name,
        url=url,
        interval=interval,
        enabled=enabled,
        tags=tags,
        timezone=timezone,
        backfill=backfill,
        line=field.line,
    )


def _backfill(field: Field, problems: list[str]) -> BackfillSpec | None:
    """`backfill: {url: 'https://x/feed/?paged={page}', first: 2, step: 1, max_pages: 50}`."""
    fields = field.mapping(_BACKFILL_KEYS, problems)
    if "url" not in fields:
        problems.append(field.error("url: missing; give a URL template with {page} or {offset}"))
        return None
    url = _url(fields["url"], problems)
    if url is not None and "{page}" not in url and "{offset}" not in url:
        problems.append(fields["url"].error("the template needs {page} or {offset} where the page number goes"))
        return None
    numbers: dict[str, int] = {}
    for key, default, low, high in (("first", 2, 0, 100_000), ("step", 1, 1, 10_000), ("max_pages", 50, 1, 1000)):
        value = fields[key].number(problems) if key in fields else float(default)
        if value is None:
            continue
        if not value.is_integer() or not low <= value <= high:
            problems.append(fields[key].error(f"expected a whole number from {low} to {high}"))
            continue
        numbers[key] = int(value)
    if url is None or len(numbers) < 3:
        return None
    return BackfillSpec(url=url, first=numbers["first"], step=numbers["step"], max_pages=numbers["max_pages"])


def _check_unique(specs: list[FeedSpec], path: Path, problems: list[str]) -> None:
    by_name: dict[str, FeedSpec] = {}
    by_url: dict[str, FeedSpec] = {}
    for spec in specs:
        if (first := by_name.setdefault(spec.name.lower(), spec)) is not spec:
            problems.append(f"{path}:{spec.line}: name: {spec.name!r} is already used on line {first.line}")
        url_key = spec.url.rstrip("/").lower()
        if (first := by_url.setdefault(url_key, spec)) is not spec:
            problems.append(f"{path}:{spec.line}: url: {spec.url!r} is already the feed {first.name!r}")
