"""Backfill: bring in history through the same pipeline as a live poll, without flooding Slack.

Remote feeds are paged back as far as each source allows: RFC 5005 links (`prev-archive`, paged
`next`), WordPress `?paged=N`, or the feed's `backfill:` URL template in feeds.yaml, stopping at
`--since`. Each page is stored in one transaction together with the feed's backfill position, so an
interrupted run continues where it stopped and a rerun stores nothing twice. Local files (`--from`:
RSS/Atom documents, a folder of them, or JSON lines) are read whole and processed in published order,
so stories form as they would have live.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlmodel import Session, col, select

from monitor import store
from monitor.collector import rare_collections
from monitor.decide import QUIET, AlertPolicy
from monitor.errors import ConfigError, FeedError, MonitorError
from monitor.fetch import fetch
from monitor.parse import ParsedFeed, parse_feed
from monitor.parse_pool import Analysis, shared_pool
from monitor.pipeline import Entry, IngestCounts, Pipeline, ingest, ingest_entries
from monitor.tables import BackfillState, Feed
from monitor.text import plain_text
from monitor.types import FeedSpec, ParsedItem
from monitor.urls import canonical_url, clean_url, outlet

log = logging.getLogger(__name__)

AUTO_MAX_PAGES = 50
# Local imports: items per story-index batch (one prefetch; wider batches read wider time windows and
# were slower), and batches per transaction (each commit waits for an fsync: fewer, larger ones).
CHUNK = 500
CHUNKS_PER_TRANSACTION = 4
NOTIFY_MODES = ("none", "digest", "all")


def policy_for(notify: str) -> AlertPolicy:
    """--notify none: store only; digest: one summary per rule at the end; all: normal alerts, paced."""
    if notify == "none":
        return QUIET
    if notify == "digest":
        return AlertPolicy(notify=True, status="held-backfill", max_age=None)
    return AlertPolicy(notify=True, status="pending", max_age=None)


@dataclass
class BackfillSummary:
    pages: int = 0
    items_seen: int = 0
    stored: int = 0
    flagged: int = 0
    stories: int = 0
    alerts: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, counts: IngestCounts) -> None:
        self.stored += counts.new_items
        self.flagged += counts.flagged
        self.stories += counts.stories
        self.alerts += counts.alerts


Progress = Callable[[str, int], None]  # (description, items just processed)


def _in_window(item: ParsedItem, since: datetime | None, until: datetime | None) -> bool:
    if item.published is None:
        return since is None
    return (since is None or item.published >= since) and (until is None or item.published <= until)


# -- remote feeds -----------------------------------------------------------------------------------


def _wordpress_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    query.append(("paged", str(page)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _template_page(spec: FeedSpec, index: int) -> str | None:
    assert spec.backfill is not None
    if index >= spec.backfill.max_pages:
        return None
    number = spec.backfill.first + index * spec.backfill.step
    return spec.backfill.url.replace("{page}", str(number)).replace("{offset}", str(number))


def next_page(spec: FeedSpec, page_index: int, parsed: ParsedFeed) -> str | None:
    """The URL of the page after `page_index` (0 is the feed itself), by the first method that applies."""
    if spec.backfill is not None:
        return _template_page(spec, page_index)
    if page_index + 1 >= AUTO_MAX_PAGES:
        return None
    if parsed.older:
        return parsed.older
    if "wordpress" in parsed.generator.lower():
        return _wordpress_page(spec.url, page_index + 2)
    return None


def backfill_feed(
    pipeline: Pipeline,
    spec: FeedSpec,
    *,
    since: datetime | None,
    until: datetime | None,
    policy: AlertPolicy,
    summary: BackfillSummary,
    progress: Progress,
    restart: bool = False,
) -> None:
    """Page back through one feed, storing each page with the feed's position in one transaction."""
    window = f"{since.isoformat() if since else ''}|{until.isoformat() if until else ''}"
    with store.transaction(pipeline.engine) as session:
        state = _state(session, spec.name, window, restart)
        if state.done:
            progress(f"{spec.name}: already complete", 0)
            return
        url: str | None = state.next_url or spec.url
        page_index = state.pages
    while url is not None:
        try:
            result = fetch(pipeline.http, url, allow_private=pipeline.allow_private)
            parsed = parse_feed(
                result.body, final_url=result.final_url, headers=result.headers, timezone=spec.timezone,
                now=pipeline.clock(),
            )  # fmt: skip
        except FeedError as exc:
            if page_index > 0 and exc.status in (404, 410):
                url = None  # the end of WordPress or template paging
                parsed = ParsedFeed(title="", items=())
            else:
                summary.errors.append(f"{spec.name}: {exc}")
                return
        if url is None or not parsed.items:
            _finish(pipeline, spec.name)
            return
        in_window = [item for item in parsed.items if _in_window(item, since, until)]
        # pages run from newest to oldest: a page reaching past --since is the last one needed
        reached_since = since is not None and any(i.published is not None and i.published < since for i in parsed.items)
        following = None if reached_since else next_page(spec, page_index, parsed)
        if following == url:
            following = None
        with store.transaction(pipeline.engine) as session:
            feed = _feed_row(session, spec)
            counts = ingest(pipeline, session, feed, in_window, pipeline.clock(), policy=policy, feed_tags=spec.tags)
            state = _state(session, spec.name, window, False)
            state.pages, state.items = page_index + 1, state.items + counts.new_items
            state.next_url, state.done = following, following is None
        summary.pages += 1
        summary.items_seen += len(parsed.items)
        summary.add(counts)
        progress(f"{spec.name} page {page_index + 1}", len(parsed.items))
        url, page_index = following, page_index + 1


def _state(session: Session, feed: str, window: str, restart: bool) -> BackfillState:
    state = session.get(BackfillState, feed)
    if state is None:
        state = BackfillState(feed=feed, window=window)
        session.add(state)
    elif restart or state.window != window:
        state.window, state.next_url, state.pages, state.items, state.done = window, None, 0, 0, False
    return state


def _finish(pipeline: Pipeline, feed: str) -> None:
    with store.transaction(pipeline.engine) as session:
        state = session.get(BackfillState, feed)
        if state is not None:
            state.done, state.next_url = True, None


def _feed_row(session: Session, spec: FeedSpec) -> Feed:
    row = session.exec(select(Feed).where(Feed.name == spec.name)).first()
    if row is None:
        row = Feed(name=spec.name, url=spec.url, enabled=spec.enabled, tags=",".join(spec.tags))
        session.add(row)
        session.flush()
    return row


# -- local files ------------------------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    if not value:
        return None
    text = str(value).strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(text[:10]), time(), tzinfo=UTC)
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def item_from_record(record: dict[str, object], where: str) -> ParsedItem:
    """One JSON-lines record (the fields `monitor classify` reads) -> ParsedItem; `id` is the guid."""
    guid = str(record.get("id") or record.get("guid") or "").strip()
    raw_url = str(record.get("url") or "").strip()
    url = clean_url(raw_url) if urlsplit(raw_url).scheme in ("http", "https") else None
    if not guid and url:
        guid = canonical_url(url)
    if not guid:
        raise ConfigError(f"{where}: the record has neither `id` nor `url`")
    return ParsedItem(
        guid=guid[:1000],
        url=url,
        title=plain_text(str(record.get("title") or ""), limit=500),
        summary=plain_text(str(record.get("summary") or "")),
        published=_parse_time(record.get("published")),
        source=str(record.get("source") or "") or outlet(url),
    )


def read_local(path: Path, now: datetime) -> Iterator[tuple[str, ParsedItem]]:
    """(source name, item) for every item in a file or a folder of files."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        name = f"import:{file.stem}"
        data = file.read_bytes()
        if file.suffix.lower() in (".jsonl", ".json", ".ndjson") or data.lstrip()[:1] == b"{":
            for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise ConfigError(f"{file}:{number}: not JSON: {exc}") from exc
                if not isinstance(record, dict):
                    raise ConfigError(f"{file}:{number}: expected a JSON object")
                yield name, item_from_record(record, f"{file}:{number}")
        else:
            try:
                parsed = parse_feed(data, final_url=file.resolve().as_uri(), headers={}, now=now)
            except FeedError as exc:
                raise ConfigError(f"{file}: {exc}") from exc
            for item in parsed.items:
                yield name, item


def import_local(
    pipeline: Pipeline,
    path: Path,
    *,
    since: datetime | None,
    until: datetime | None,
    policy: AlertPolicy,
    summary: BackfillSummary,
    progress: Progress,
    total: Callable[[int], None] = lambda _n: None,
) -> None:
    """Import local items in published order, in chunks of one transaction each."""
    now = pipeline.clock()
    pairs = [(name, item) for name, item in read_local(path, now) if _in_window(item, since, until)]
    pairs.sort(key=lambda pair: pair[1].published or now)
    total(len(pairs))
    summary.items_seen += len(pairs)
    pool = shared_pool()

    def analyse(start: int) -> tuple[list[tuple[str, ParsedItem]], Callable[[], list[Analysis]]]:
        block = _unknown(pipeline, pairs[start : start + BLOCK])  # a rerun classifies nothing again
        return block, pool.analyse_later([item for _, item in block], now, pipeline.vocabulary_paths)

    upcoming = analyse(0) if pairs else None
    with rare_collections():
        for start in range(0, len(pairs), BLOCK):
            assert upcoming is not None
            block, results = upcoming
            analyses = results()
            # the workers analyse the next block while this one is stored
            upcoming = analyse(start + BLOCK) if start + BLOCK < len(pairs) else None
            _import_block(pipeline, path, block, analyses, now, policy, summary, progress)


BLOCK = CHUNK * CHUNKS_PER_TRANSACTION  # items analysed together and stored in one transaction


def _unknown(pipeline: Pipeline, block: list[tuple[str, ParsedItem]]) -> list[tuple[str, ParsedItem]]:
    """The items of `block` not stored yet (imported items belong to one pseudo-feed per file)."""
    with store.transaction(pipeline.engine) as session:
        ids = {row.name: row.id for row in session.exec(select(Feed).where(col(Feed.name).in_({n for n, _ in block})))}
        known: set[tuple[str, str]] = set()
        for name, feed_id in ids.items():
            if feed_id is not None:
                guids = [item.guid for n, item in block if n == name]
                known |= {(name, guid) for guid in store.known_guids(session, feed_id, guids)}
    return [(name, item) for name, item in block if (name, item.guid) not in known]


def _import_block(
    pipeline: Pipeline,
    path: Path,
    block: list[tuple[str, ParsedItem]],
    analyses: list[Analysis],
    now: datetime,
    policy: AlertPolicy,
    summary: BackfillSummary,
    progress: Progress,
) -> None:
    """One transaction: a block of imported items, already analysed, stored a chunk at a time.

    The counts reach `summary` and `progress` only once the transaction has committed.
    """
    counts: list[tuple[IngestCounts, int]] = []
    with store.transaction(pipeline.engine) as session:
        feeds = {name: _import_feed(session, name, path) for name in dict.fromkeys(name for name, _ in block)}
        for offset in range(0, len(block), CHUNK):
            entries = [
                Entry(feeds[name], (), item, c, fp, link)
                for (name, item), (c, fp, link) in zip(
                    block[offset : offset + CHUNK], analyses[offset : offset + CHUNK], strict=True
                )
            ]
            counts.append((ingest_entries(pipeline, session, entries, now, policy=policy), len(entries)))
    for chunk_counts, size in counts:
        summary.add(chunk_counts)
        progress(f"{path.name}", size)


def _import_feed(session: Session, name: str, path: Path) -> Feed:
    """Imported items belong to a disabled pseudo-feed named after their file."""
    row = session.exec(select(Feed).where(Feed.name == name)).first()
    if row is None:
        row = Feed(name=name, url=str(path), enabled=False, baseline_done=True)
        session.add(row)
        session.flush()
    return row


def run_backfill(
    pipeline: Pipeline,
    specs: Sequence[FeedSpec],
    *,
    since: datetime | None,
    until: datetime | None,
    notify: str,
    source: Path | None,
    progress: Progress,
    total: Callable[[int], None] = lambda _n: None,
    restart: bool = False,
) -> BackfillSummary:
    """Backfill the given feeds (or import `source`); errors of one feed never stop the others."""
    policy = policy_for(notify)
    summary = BackfillSummary()
    if source is not None:
        import_local(pipeline, source, since=since, until=until, policy=policy, summary=summary, progress=progress,
                     total=total)  # fmt: skip
        return summary
    for spec in specs:
        try:
            backfill_feed(pipeline, spec, since=since, until=until, policy=policy, summary=summary,
                          progress=progress, restart=restart)  # fmt: skip
        except MonitorError as exc:
            summary.errors.append(f"{spec.name}: {exc}")
            log.warning("backfill of %s failed: %s", spec.name, exc)
    return summary
