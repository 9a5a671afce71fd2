"""One pipeline for `run`, `poll` and `backfill`: fetch -> parse -> classify -> group -> store -> outbox.

Fetching runs in threads and parsing with classification in worker processes; the writes run in this
process, a feed's items, stories and outbox rows always in the same transaction as its new state (several
feeds that are ready together share one). Per-feed failures are values
(PollResult.error): one broken feed never stops the others.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor import store
from monitor.classify import CLASSIFIER_VERSION, classify
from monitor.collector import rare_collections
from monitor.decide import QUIET, AlertPolicy, alert_key, may_alert, next_poll_at, routes_for
from monitor.errors import FeedError, FetchError
from monitor.fetch import FetchResult
from monitor.fetch_pool import FetchJob, iter_fetch
from monitor.grouping import DEFAULT_WINDOW, StoryFingerprint, assign_story, fingerprint
from monitor.parse_pool import MIN_BATCH, ParseJob, ParseOutcome, parse_job, shared_pool
from monitor.rules import AlertRule, StoryFacts
from monitor.story_index import SqlStoryIndex
from monitor.tables import Alert, Feed
from monitor.types import Classification, Entities, FeedSpec, ParsedItem
from monitor.urls import canonical_url
from monitor.vocabulary import Vocabulary

Clock = Callable[[], datetime]


@dataclass
class Pipeline:
    """The composed monitor: everything a poll needs, built once by the CLI."""

    engine: Engine
    http: httpx.Client
    rules: list[AlertRule]
    vocabulary: Vocabulary
    clock: Clock
    allow_private: bool = False
    vocabulary_paths: tuple[str, ...] = ()  # the user's vocabulary files, for parse workers to load

    def canonical(self, name: str) -> str | None:
        return self.vocabulary.canonical(name)


@dataclass(frozen=True, slots=True)
class PollResult:
    """What polling one feed did. `status`: ok, not_modified, unchanged, baseline or error."""

    feed: str
    status: str
    new_items: int = 0
    flagged: int = 0
    alerts: int = 0
    error: str | None = None
    alarm: str | None = None  # set once when the feed has been failing for a day


FAILING_REPORT_AFTER = timedelta(hours=24)


@dataclass
class IngestCounts:
    new_items: int = 0
    flagged: int = 0
    alerts: int = 0
    stories: int = 0


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """The feed state a fetch needs, read before the network call so no transaction spans it."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    timezone: str
    interval: timedelta
    failures: int
    baseline_done: bool
    tags: tuple[str, ...]


def sync_config(pipeline: Pipeline, specs: Sequence[FeedSpec]) -> None:
    with store.transaction(pipeline.engine) as session:
        store.sync_feeds(session, specs, pipeline.clock())


def poll(
    pipeline: Pipeline, names: Sequence[str] | None = None, *, notify: bool = True, stop: threading.Event | None = None
) -> list[PollResult]:
    """Poll the due feeds (or the named ones), store what is new and enqueue alerts.

    Fetches run in threads (a per-host limit keeps it polite) and each changed body is handed to the
    parse pool (parsing and classification on every core) as soon as it arrives. Between arrivals, the
    feeds parsed so far are stored, in fetch order, those parsed within COMMIT_EVERY of each other in one
    transaction (see _next_batch): storing overlaps fetching and parsing, a body is held only until it is
    parsed and a parsed feed until it is stored, and fetching waits while MAX_FEEDS_AHEAD feeds are not
    stored yet. Feeds whose fetch failed or found nothing new are recorded together at the end, in one
    transaction.

    Once `stop` is set (SIGTERM to `monitor run`), no further feed is fetched: what was fetched is stored and
    recorded, the other feeds stay due for the next start, and only their results are missing from the list.
    """
    with rare_collections():  # a cold poll makes millions of short-lived objects
        return _poll(pipeline, names, notify=notify, stop=stop)


def _poll(
    pipeline: Pipeline, names: Sequence[str] | None, *, notify: bool, stop: threading.Event | None
) -> list[PollResult]:
    now = pipeline.clock()
    with store.transaction(pipeline.engine) as session:
        snapshots = [_snapshot(row) for row in store.due_feeds(session, now, names)]
    if not snapshots:
        return []
    jobs = [FetchJob(s.url, s.etag, s.last_modified) for s in snapshots]
    pool = shared_pool() if len(snapshots) >= MIN_BATCH else None
    quiet: list[tuple[int, FetchResult | FeedError, str | None]] = []
    parsing: deque[_Parsing] = deque()
    results: dict[int, PollResult] = {}

    last_commit = -COMMIT_EVERY

    def store_batch(batch: list[_Parsed]) -> None:
        nonlocal last_commit
        with store.transaction(pipeline.engine) as session:
            rows = store.feeds_by_id(session, [snapshots[index].id for index, *_ in batch])  # one query
            for index, outcome, body_hash, parsed in batch:
                snap = snapshots[index]
                results[index] = _store_parsed(pipeline, session, snap, rows[snap.id], outcome, body_hash, parsed,
                                               notify=notify)  # fmt: skip
        last_commit = time.monotonic()

    def store_parsed(wait: bool) -> None:
        while batch := _next_batch(parsing, wait=wait, gather_until=last_commit + COMMIT_EVERY):
            store_batch(batch)
        while len(parsing) >= MAX_FEEDS_AHEAD:  # fetching is far ahead: store what is parsed before going on
            store_batch(
                _next_batch(parsing, wait=True, gather_until=time.monotonic() + COMMIT_EVERY, limit=AHEAD_BATCH)
            )

    fetched = iter_fetch(pipeline.http, jobs, allow_private=pipeline.allow_private, window=FETCH_WINDOW)
    for index, outcome in fetched:
        if stop is not None and stop.is_set():
            fetched.close()  # fetches not started never start; this outcome and those after it are dropped
            break
        snap = snapshots[index]
        if isinstance(outcome, FeedError) or outcome.status == 304:
            quiet.append((index, outcome, snap.body_hash))
            continue
        body_hash = hashlib.sha256(outcome.body).hexdigest()
        if body_hash == snap.body_hash:
            quiet.append((index, outcome, body_hash))  # many servers ignore validators: unchanged body
            continue
        known = store.recent_guids(pipeline.engine, snap.id) if snap.body_hash else frozenset()
        job = ParseJob(outcome.body, outcome.final_url, outcome.headers, snap.timezone,
                       classify_with=pipeline.vocabulary_paths, known_guids=known)  # fmt: skip
        parsed = pool.submit(job, now) if pool else parse_job(job, now)
        # the job holds the body until it is parsed; what waits here to be stored needs no body
        parsing.append((index, replace(outcome, body=b""), body_hash, parsed))
        store_parsed(wait=False)
    results.update(_record_quiet(pipeline, snapshots, quiet, now))
    store_parsed(wait=True)
    return [results[i] for i in range(len(snapshots)) if i in results]  # all of them unless stopped


# Larger transactions write each touched index page to the WAL (and the checkpoint) fewer times: storing 1,000
# bench feeds 50 at a time wrote 200k pages, 200 at a time 114k (and took ~8% less CPU). Items, their stories
# and their alerts still reach the database within COMMIT_EVERY of being parsed, well inside "within minutes".
# A cold poll's transactions are smaller (AHEAD_BATCH, below); its CPU was the same (5.6-5.8 s against 5.6-6.1 s).
MAX_FEEDS_PER_TRANSACTION = 200
# A cold poll fetches far faster than it parses and stores. Bounds on what it holds meanwhile (a cold poll of
# 1,000 bench feeds held all their bodies and parsed items: main process peak 250 MiB, bounded 163 MiB, same time):
FETCH_WINDOW = 128  # bodies fetched and not yet handed to the parse pool (with those being fetched)
MAX_FEEDS_AHEAD = 100  # changed feeds handed to the parse pool and not yet stored; beyond it, the poll stores
AHEAD_BATCH = 50  # feeds it then stores at once (the workers parse the others meanwhile)
COMMIT_EVERY = 2.0  # seconds: parsed feeds arriving closer together than this share one commit
_Parsing = tuple[int, FetchResult, str, Future[ParseOutcome] | ParseOutcome]
_Parsed = tuple[int, FetchResult, str, ParseOutcome]


def _next_batch(
    parsing: deque[_Parsing], *, wait: bool, gather_until: float, limit: int = MAX_FEEDS_PER_TRANSACTION
) -> list[_Parsed]:
    """The changed feeds to store next in one transaction, taken off the front of `parsing` in fetch order.

    Empty when nothing is to be stored yet: the front feed is still parsing and `wait` is false, or
    fewer than MAX_FEEDS_PER_TRANSACTION feeds are ready before `gather_until` (a time.monotonic()
    value). With `wait`, the front feed is waited for, and then the feeds parsed until `gather_until`.
    At most `limit` feeds are taken.
    Why group: a commit with synchronous=FULL costs an fsync (15-25 ms here) during which the storing
    thread waits; when feeds finish parsing one at a time, a commit each made a cold poll of 1,000
    feeds wait ~600 times. Grouping by time keeps every item at most COMMIT_EVERY from the database.
    """
    if not parsing or (not wait and _still_parsing(parsing[0])):
        return []
    if not wait and time.monotonic() < gather_until and _ready_count(parsing) < MAX_FEEDS_PER_TRANSACTION:
        return []
    batch: list[_Parsed] = []
    while parsing and len(batch) < limit:
        pending = parsing[0][3]
        if batch and isinstance(pending, Future) and not pending.done():
            remaining = gather_until - time.monotonic()
            if not wait or remaining <= 0:
                break
            futures_wait([pending], timeout=remaining)
            continue
        index, outcome, body_hash, pending = parsing.popleft()
        batch.append((index, outcome, body_hash, pending.result() if isinstance(pending, Future) else pending))
    return batch


def _ready_count(parsing: deque[_Parsing]) -> int:
    """How many feeds at the front of `parsing` are parsed (counting stops at MAX_FEEDS_PER_TRANSACTION)."""
    count = 0
    for entry in parsing:
        if count >= MAX_FEEDS_PER_TRANSACTION or _still_parsing(entry):
            break
        count += 1
    return count


def _still_parsing(entry: _Parsing) -> bool:
    pending = entry[3]
    return isinstance(pending, Future) and not pending.done()


def _record_quiet(
    pipeline: Pipeline,
    snapshots: list[FeedSnapshot],
    quiet: list[tuple[int, FetchResult | FeedError, str | None]],
    now: datetime,
) -> dict[int, PollResult]:
    """Failures, 304s and unchanged bodies: only feed state changes, all in one transaction."""
    results: dict[int, PollResult] = {}
    if not quiet:
        return results
    with store.transaction(pipeline.engine) as session:
        rows = store.feeds_by_id(session, [snapshots[index].id for index, _, _ in quiet])  # one query, not 1,000
        for index, outcome, body_hash in quiet:
            snap = snapshots[index]
            feed = rows[snap.id]
            if isinstance(outcome, FeedError):
                results[index] = _failure(feed, snap, outcome, now)
            else:
                _mark_success(feed, snap, outcome, now, body_hash)
                results[index] = PollResult(snap.name, "not_modified" if outcome.status == 304 else "unchanged")
    return results


def _store_parsed(
    pipeline: Pipeline,
    session: Session,
    snap: FeedSnapshot,
    feed: Feed,
    outcome: FetchResult,
    body_hash: str,
    parsed: ParseOutcome,
    *,
    notify: bool,
) -> PollResult:
    """Store one changed feed's items, stories and alerts with its new state (in the caller's transaction).

    `feed` is the feed's row, loaded in that transaction.
    """
    now = pipeline.clock()
    if isinstance(parsed, FeedError):
        return _failure(feed, snap, parsed, now)
    policy = AlertPolicy() if notify and snap.baseline_done else QUIET
    count = len(parsed.items)
    analysed = zip(
        parsed.items,
        parsed.classifications or (None,) * count,
        parsed.fingerprints or (None,) * count,
        parsed.links or (None,) * count,
        strict=True,
    )
    entries = [Entry(feed, snap.tags, item, c, fp, link) for item, c, fp, link in analysed]
    counts = ingest_entries(pipeline, session, entries, now, policy=policy)
    status = "ok" if snap.baseline_done else "baseline"
    feed.baseline_done = True
    _mark_success(feed, snap, outcome, now, body_hash)
    return PollResult(snap.name, status, counts.new_items, counts.flagged, counts.alerts)


def _snapshot(row: Feed) -> FeedSnapshot:
    assert row.id is not None
    return FeedSnapshot(
        id=row.id,
        name=row.name,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        timezone=row.timezone,
        interval=timedelta(seconds=row.interval_s),
        failures=row.consecutive_failures,
        baseline_done=row.baseline_done,
        tags=tuple(t for t in row.tags.split(",") if t),
    )


def _mark_success(feed: Feed, snap: FeedSnapshot, outcome: FetchResult, now: datetime, body_hash: str | None) -> None:
    feed.last_polled_at = feed.last_success_at = now
    feed.consecutive_failures = 0
    feed.last_error = None
    feed.wait_until = None
    feed.failing_since, feed.failure_reported = None, False
    if outcome.status == 200:
        feed.etag, feed.last_modified, feed.body_hash = outcome.etag, outcome.last_modified, body_hash
    feed.moved_to = outcome.moved_to
    feed.next_poll_at = next_poll_at(now, snap.interval, jitter_unit=random.random())


def _failure(feed: Feed, snap: FeedSnapshot, error: FeedError, now: datetime) -> PollResult:
    """Record a failed poll on the feed row (inside the caller's transaction): backoff, 410, day alarm."""
    feed.last_polled_at = feed.last_error_at = now
    feed.consecutive_failures += 1
    feed.last_error = str(error)[:500]
    if isinstance(error, FetchError) and error.status == 410:
        feed.gone = True
        feed.last_error = f"{error} (410 Gone: polling stopped; remove or fix the URL in feeds.yaml)"
    feed.wait_until = now + timedelta(seconds=error.retry_after) if error.retry_after is not None else None
    feed.next_poll_at = next_poll_at(
        now, snap.interval, failures=feed.consecutive_failures, retry_after=error.retry_after
    )
    feed.failing_since = feed.failing_since or now
    alarm = None
    if now - feed.failing_since >= FAILING_REPORT_AFTER and not feed.failure_reported:
        feed.failure_reported = True
        alarm = (
            f"feed {snap.name} has been failing since {feed.failing_since:%Y-%m-%d %H:%M} UTC "
            f"({feed.consecutive_failures} attempts): {feed.last_error}; it keeps being retried"
        )
    return PollResult(snap.name, "error", error=str(error), alarm=alarm)


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed item with the feed it came from."""

    feed: Feed
    tags: tuple[str, ...]
    item: ParsedItem
    classification: Classification | None = None  # when a parse worker already classified it
    fingerprint: StoryFingerprint | None = None  # when a worker also fingerprinted it (flagged items)
    canonical: str | None = None  # canonical_url(item.url), when a worker computed it


def ingest(
    pipeline: Pipeline,
    session: Session,
    feed: Feed,
    items: Iterable[ParsedItem],
    now: datetime,
    *,
    policy: AlertPolicy,
    feed_tags: tuple[str, ...] = (),
) -> IngestCounts:
    """Store one feed's new items (see ingest_entries)."""
    return ingest_entries(pipeline, session, [Entry(feed, feed_tags, item) for item in items], now, policy=policy)


def ingest_entries(
    pipeline: Pipeline, session: Session, entries: Sequence[Entry], now: datetime, *, policy: AlertPolicy
) -> IngestCounts:
    """Store new items in published order, group flagged ones into stories and enqueue their alerts.

    Runs inside the caller's transaction, so items, stories and outbox rows commit together. Lookups are
    batched (one query per feed for known guids, one for known links) and unflagged items are inserted
    in one statement: a backfill of 100,000 items is bound by classification, not by the database.
    """
    batch = sorted(entries, key=lambda e: e.item.published or now)
    feed_ids = _feed_ids(batch)  # read once per entry: an ORM attribute read costs far more than a tuple's
    known = _known(session, batch, feed_ids)
    canonical = {e.item.url: e.canonical or canonical_url(e.item.url) for e in batch if e.item.url}
    links = store.items_by_canonical_url(session, set(canonical.values()))
    counts = IngestCounts()
    fresh: list[tuple[Entry, int, Classification]] = []
    for entry, feed_id in zip(batch, feed_ids, strict=True):
        if (feed_id, entry.item.guid) in known:
            continue
        known.add((feed_id, entry.item.guid))
        classification = entry.classification or classify(entry.item.title, entry.item.summary, pipeline.vocabulary)
        fresh.append((entry, feed_id, classification))
    fps = {
        i: e.fingerprint or fingerprint(e.item, c, now, link=canonical.get(e.item.url or ""))
        for i, (e, _, c) in enumerate(fresh)
        if c.flagged
    }
    index = SqlStoryIndex(session)
    index.prefetch(list(fps.values()), DEFAULT_WINDOW)  # one read for the whole batch's story lookups
    plain_rows: list[store.ItemRow] = []
    added: dict[int, tuple[Feed, int]] = {}  # feed id -> (row, new items): one ORM attribute write per feed
    for position, (entry, feed_id, classification) in enumerate(fresh):
        parsed = entry.item
        link = canonical.get(parsed.url) if parsed.url else None
        row = _item_row(feed_id, parsed, classification, now, link)
        counts.new_items += 1
        added[feed_id] = (entry.feed, added[feed_id][1] + 1 if feed_id in added else 1)
        same_link = links.get(link) if link else None
        if not classification.flagged:
            plain_rows.append(row)
            if link and same_link is None:
                links[link] = None
            continue
        counts.flagged += 1

        def store_item(story_id: int, row: store.ItemRow = row) -> int:
            return store.insert_item(session, row._replace(story_id=story_id))

        story_id = place_in_story(pipeline, session, index, entry, classification, link in links, same_link, now,
                                  policy, counts, store_item, fps[position])  # fmt: skip
        if link:
            links[link] = story_id
    store.insert_items(session, plain_rows)
    for feed, count in added.values():
        feed.item_count += count
    return counts


def _feed_ids(batch: Sequence[Entry]) -> list[int]:
    """Each entry's feed id, read from each feed row once."""
    by_row: dict[int, int] = {}
    found: list[int] = []
    for entry in batch:
        feed_id = by_row.get(id(entry.feed))
        if feed_id is None:
            assert entry.feed.id is not None
            feed_id = by_row[id(entry.feed)] = entry.feed.id
        found.append(feed_id)
    return found


def _known(session: Session, batch: Sequence[Entry], feed_ids: Sequence[int]) -> set[tuple[int, str]]:
    by_feed: dict[int, list[str]] = {}
    for entry, feed_id in zip(batch, feed_ids, strict=True):
        by_feed.setdefault(feed_id, []).append(entry.item.guid)
    return {
        (feed_id, guid) for feed_id, guids in by_feed.items() for guid in store.known_guids(session, feed_id, guids)
    }


def _item_row(
    feed_id: int, parsed: ParsedItem, classification: Classification, now: datetime, link: str | None
) -> store.ItemRow:
    return store.ItemRow(  # positional (in ItemRow's field order): half the cost of keywords, 50,000 times a poll
        feed_id,
        parsed.guid,
        parsed.url,
        link,
        parsed.title,
        parsed.summary,
        parsed.source,
        parsed.published,
        now,
        ",".join(classification.labels),
        entities_json(classification.entities),
        evidence_json(classification.evidence),
        CLASSIFIER_VERSION,
        None,
    )


@lru_cache(maxsize=4096)
def entities_json(entities: Entities) -> str:
    """Entities as stored; many items share theirs (over half of a feed's items have none), so each is encoded once."""
    return store.dumps(entities.to_dict())


def evidence_json(evidence: Mapping[str, Sequence[str]]) -> str:
    """Evidence as stored ("{}" for the many items without any)."""
    return store.dumps({k: list(v) for k, v in evidence.items()}) if evidence else "{}"


def place_in_story(
    pipeline: Pipeline,
    session: Session,
    index: SqlStoryIndex,
    entry: Entry,
    classification: Classification,
    link_seen: bool,
    same_link_story: int | None,
    now: datetime,
    policy: AlertPolicy,
    counts: IngestCounts,
    store_item: Callable[[int], int],
    fp: StoryFingerprint | None = None,
) -> int:
    """Put a flagged item in its story (a known one, or a new one that may alert); returns the story id.

    `store_item(story_id)` stores the item and returns its id. An item whose link was stored before
    (`link_seen`) joins that link's story and never alerts again. `fp` is the item's fingerprint when
    the caller computed it already.
    """
    parsed = entry.item
    fp = fp or fingerprint(parsed, classification, now)
    story_id = same_link_story if same_link_story is not None else assign_story(fp, index)[0]
    state = store.story_state(session, story_id) if story_id is not None else None
    if story_id is None or state is None:
        story_id = store.insert_story(session, _new_story(parsed, classification, now))
        item_id = store_item(story_id)
        store.update_story(session, story_id, first_item_id=item_id)
        counts.stories += 1
        if not link_seen and may_alert(published=parsed.published, now=now, policy=policy):
            _enqueue_new(pipeline, session, story_id, item_id, entry, classification, now, policy, counts)
    else:
        item_id = store_item(story_id)
        _join_story(pipeline, session, story_id, state, item_id, parsed.source, now)
    index.add(story_id, item_id, fp)
    return story_id


def _enqueue_new(
    pipeline: Pipeline,
    session: Session,
    story_id: int,
    item_id: int,
    entry: Entry,
    classification: Classification,
    now: datetime,
    policy: AlertPolicy,
    counts: IngestCounts,
) -> None:
    facts = StoryFacts(
        labels=classification.labels,
        entities=classification.entities,
        feed=entry.feed.name,
        feed_tags=entry.tags,
        title=entry.item.title,
        summary=entry.item.summary,
    )
    for route in routes_for(pipeline.rules, facts, pipeline.canonical):
        key = alert_key(story_id, route.destination, "new")
        status = "held" if route.rule.mode == "digest" and policy.status == "pending" else policy.status
        alert = Alert(dedupe_key=key, story_id=story_id, item_id=item_id, rule=route.rule.name,
                      destination=route.destination, kind="new", status=status, created_at=now)  # fmt: skip
        if store.enqueue_alert(session, alert):
            counts.alerts += 1
            store.update_story(session, story_id, alerted=True)


def _new_story(parsed: ParsedItem, classification: Classification, now: datetime) -> dict[str, object]:
    entities = classification.entities
    return {
        "labels": ",".join(classification.labels),
        "title": parsed.title,
        "url": parsed.url,
        "cdmo": entities.cdmo,
        "client": entities.client,
        "value": entities.value,
        "value_usd": entities.value_usd,
        "first_seen_at": now,
        "last_seen_at": now,
        "published_at": parsed.published,
        "item_count": 1,
        "outlets": parsed.source,
        "alerted": False,
    }


def _join_story(
    pipeline: Pipeline,
    session: Session,
    story_id: int,
    state: tuple[str, bool],
    item_id: int,
    source: str,
    now: datetime,
) -> None:
    """A later report of a known story: no new alert; a follow-up (thread reply or update) where the rule asks."""
    outlets_text, alerted = state
    outlets = [o for o in outlets_text.split(",") if o]
    is_new_outlet = bool(source) and source not in outlets
    store.count_story_item(session, story_id, now, ",".join([*outlets, source]) if is_new_outlet else None)
    if not alerted or not is_new_outlet:
        return
    follow_ups = {r.name: r.follow_up for r in pipeline.rules if r.channel and r.mode == "instant"}
    for parent in store.story_alerts(session, story_id):
        kind = {"thread": "follow_up", "update": "update"}.get(follow_ups.get(parent.rule, "none"))
        if parent.kind == "new" and kind is not None:
            key = alert_key(story_id, parent.destination, kind, item_id)
            alert = Alert(dedupe_key=key, story_id=story_id, item_id=item_id, rule=parent.rule,
                          destination=parent.destination, kind=kind, created_at=now)  # fmt: skip
            store.enqueue_alert(session, alert)
