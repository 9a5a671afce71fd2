"""One pipeline for `run`, `poll` and `backfill`: fetch -> parse -> classify -> group -> store -> outbox.

Only fetching runs in parallel (threads); parsing, classification and the writes run one feed at a time,
each feed's items, stories and outbox rows in one transaction. Per-feed failures are values
(PollResult.error): one broken feed never stops the others.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor import store
from monitor.classify import CLASSIFIER_VERSION, classify
from monitor.decide import QUIET, AlertPolicy, alert_key, may_alert, next_poll_at, routes_for
from monitor.errors import FeedError, FetchError
from monitor.fetch import FetchResult, fetch
from monitor.grouping import assign_story, fingerprint
from monitor.parse import parse_feed
from monitor.rules import AlertRule, StoryFacts
from monitor.story_index import SqlStoryIndex
from monitor.tables import Alert, Feed, Item, Story
from monitor.types import Classification, FeedSpec, ParsedItem
from monitor.urls import canonical_url
from monitor.vocabulary import Vocabulary

Clock = Callable[[], datetime]
FETCH_WORKERS = 8


@dataclass
class Pipeline:
    """The composed monitor: everything a poll needs, built once by the CLI."""

    engine: Engine
    http: httpx.Client
    rules: list[AlertRule]
    vocabulary: Vocabulary
    clock: Clock
    allow_private: bool = False

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


@dataclass
class IngestCounts:
    new_items: int = 0
    flagged: int = 0
    alerts: int = 0
    stories: int = 0
    story_ids: list[int] = field(default_factory=list)


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


def poll(pipeline: Pipeline, names: Sequence[str] | None = None, *, notify: bool = True) -> list[PollResult]:
    """Poll the due feeds (or the named ones), store what is new and enqueue alerts."""
    now = pipeline.clock()
    with store.transaction(pipeline.engine) as session:
        snapshots = [_snapshot(row) for row in store.due_feeds(session, now, names)]
    if not snapshots:
        return []
    with ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(snapshots))) as pool:
        outcomes = list(pool.map(lambda snap: _fetch_one(pipeline, snap), snapshots))
    return [
        process_fetch(pipeline, snap, outcome, notify=notify) for snap, outcome in zip(snapshots, outcomes, strict=True)
    ]


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


def _fetch_one(pipeline: Pipeline, snap: FeedSnapshot) -> FetchResult | FeedError:
    try:
        return fetch(
            pipeline.http,
            snap.url,
            etag=snap.etag,
            last_modified=snap.last_modified,
            allow_private=pipeline.allow_private,
        )
    except FeedError as exc:
        return exc


def process_fetch(
    pipeline: Pipeline, snap: FeedSnapshot, outcome: FetchResult | FeedError, *, notify: bool
) -> PollResult:
    """Parse, classify and store one feed's fetch outcome in one transaction."""
    now = pipeline.clock()
    if isinstance(outcome, FeedError):
        return _record_failure(pipeline, snap, outcome, now)
    body_hash = hashlib.sha256(outcome.body).hexdigest() if outcome.status == 200 else snap.body_hash
    if outcome.status == 304 or body_hash == snap.body_hash:
        with store.transaction(pipeline.engine) as session:
            feed = _feed_row(session, snap)
            _mark_success(feed, snap, outcome, now, body_hash)
        return PollResult(snap.name, "not_modified" if outcome.status == 304 else "unchanged")
    try:
        parsed = parse_feed(
            outcome.body, final_url=outcome.final_url, headers=outcome.headers, timezone=snap.timezone, now=now
        )
    except FeedError as exc:
        return _record_failure(pipeline, snap, exc, now)
    with store.transaction(pipeline.engine) as session:
        feed = _feed_row(session, snap)
        policy = AlertPolicy() if notify and snap.baseline_done else QUIET
        counts = ingest(pipeline, session, feed, parsed.items, now, policy=policy, feed_tags=snap.tags)
        status = "ok" if snap.baseline_done else "baseline"
        feed.baseline_done = True
        _mark_success(feed, snap, outcome, now, body_hash)
        feed.item_count += counts.new_items
    return PollResult(snap.name, status, counts.new_items, counts.flagged, counts.alerts)


def _feed_row(session: Session, snap: FeedSnapshot) -> Feed:
    feed = session.get(Feed, snap.id)
    assert feed is not None
    return feed


def _mark_success(feed: Feed, snap: FeedSnapshot, outcome: FetchResult, now: datetime, body_hash: str | None) -> None:
    feed.last_polled_at = feed.last_success_at = now
    feed.consecutive_failures = 0
    feed.last_error = None
    if outcome.status == 200:
        feed.etag, feed.last_modified, feed.body_hash = outcome.etag, outcome.last_modified, body_hash
    feed.moved_to = outcome.moved_to
    feed.next_poll_at = next_poll_at(now, snap.interval, jitter_unit=random.random())


def _record_failure(pipeline: Pipeline, snap: FeedSnapshot, error: FeedError, now: datetime) -> PollResult:
    with store.transaction(pipeline.engine) as session:
        feed = _feed_row(session, snap)
        feed.last_polled_at = feed.last_error_at = now
        feed.consecutive_failures += 1
        feed.last_error = str(error)[:500]
        if isinstance(error, FetchError) and error.status == 410:
            feed.gone = True
            feed.last_error = f"{error} (410 Gone: polling stopped; remove or fix the URL in feeds.yaml)"
        feed.next_poll_at = next_poll_at(
            now, snap.interval, failures=feed.consecutive_failures, retry_after=error.retry_after
        )
    return PollResult(snap.name, "error", error=str(error))


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
    """Store the feed's new items, group flagged ones into stories and enqueue their alerts.

    Runs inside the caller's transaction, so items, stories and outbox rows commit together.
    """
    assert feed.id is not None
    batch = sorted(items, key=lambda i: i.published or now)
    known = store.known_guids(session, feed.id, [i.guid for i in batch])
    counts = IngestCounts()
    index = SqlStoryIndex(session)
    for parsed in batch:
        if parsed.guid in known:
            continue
        known.add(parsed.guid)
        classification = classify(parsed.title, parsed.summary, pipeline.vocabulary)
        canonical = canonical_url(parsed.url) if parsed.url else None
        same_link = store.item_with_url(session, canonical)
        item = _item_row(feed.id, parsed, classification, now)
        item.canonical_url = canonical
        session.add(item)
        session.flush()
        counts.new_items += 1
        if not classification.flagged:
            continue
        counts.flagged += 1
        place_in_story(pipeline, session, index, feed, item, parsed, classification, same_link, now, policy,
                        feed_tags, counts)  # fmt: skip
    return counts


def _item_row(feed_id: int, parsed: ParsedItem, classification: Classification, now: datetime) -> Item:
    return Item(
        feed_id=feed_id,
        guid=parsed.guid,
        url=parsed.url,
        title=parsed.title,
        summary=parsed.summary,
        source=parsed.source,
        published_at=parsed.published,
        first_seen_at=now,
        labels=",".join(classification.labels),
        entities=store.dumps(classification.entities.to_dict()),
        evidence=store.dumps({k: list(v) for k, v in classification.evidence.items()}),
        classifier_version=CLASSIFIER_VERSION,
    )


def place_in_story(
    pipeline: Pipeline,
    session: Session,
    index: SqlStoryIndex,
    feed: Feed,
    item: Item,
    parsed: ParsedItem,
    classification: Classification,
    same_link: Item | None,
    now: datetime,
    policy: AlertPolicy,
    feed_tags: tuple[str, ...],
    counts: IngestCounts,
) -> None:
    assert item.id is not None
    fp = fingerprint(parsed, classification, now)
    if same_link is not None and same_link.story_id is not None:
        story_id: int | None = same_link.story_id
    else:
        story_id, _reason = assign_story(fp, index)
    story = session.get(Story, story_id) if story_id is not None else None
    if story is None:
        story = _new_story(item, parsed, classification, now)
        session.add(story)
        session.flush()
        assert story.id is not None
        counts.stories += 1
        counts.story_ids.append(story.id)
        # An item whose link is already stored was seen before: it never alerts again.
        if same_link is None and may_alert(published=parsed.published, now=now, policy=policy):
            facts = StoryFacts(
                labels=classification.labels,
                entities=classification.entities,
                feed=feed.name,
                feed_tags=feed_tags,
                title=parsed.title,
                summary=parsed.summary,
            )
            for route in routes_for(pipeline.rules, facts, pipeline.canonical):
                key = alert_key(story.id, route.destination, "new")
                status = "held" if route.rule.mode == "digest" and policy.status == "pending" else policy.status
                alert = Alert(dedupe_key=key, story_id=story.id, item_id=item.id, rule=route.rule.name,
                              destination=route.destination, kind="new", status=status, created_at=now)  # fmt: skip
                if store.enqueue_alert(session, alert):
                    counts.alerts += 1
                    story.alerted = True
    else:
        _join_story(pipeline, session, story, item, now)
    item.story_id = story.id
    assert story.id is not None
    index.add(story.id, item.id, fp)


def _new_story(item: Item, parsed: ParsedItem, classification: Classification, now: datetime) -> Story:
    entities = classification.entities
    return Story(
        labels=",".join(classification.labels),
        title=parsed.title,
        url=parsed.url,
        cdmo=entities.cdmo,
        client=entities.client,
        value=entities.value,
        value_usd=entities.value_usd,
        first_item_id=item.id,
        first_seen_at=now,
        last_seen_at=now,
        published_at=parsed.published,
        item_count=1,
        outlets=parsed.source,
    )


def _join_story(pipeline: Pipeline, session: Session, story: Story, item: Item, now: datetime) -> None:
    """A later report of a known story: no new alert; a thread follow-up where the rule asks for one."""
    assert story.id is not None and item.id is not None
    story.item_count += 1
    story.last_seen_at = now
    outlets = [o for o in story.outlets.split(",") if o]
    is_new_outlet = bool(item.source) and item.source not in outlets
    if is_new_outlet:
        story.outlets = ",".join([*outlets, item.source])
    if not story.alerted or not is_new_outlet:
        return
    follow_ups = {r.name: r.follow_up for r in pipeline.rules if r.channel and r.mode == "instant"}
    for parent in store.story_alerts(session, story.id):
        kind = {"thread": "follow_up", "update": "update"}.get(follow_ups.get(parent.rule, "none"))
        if parent.kind == "new" and kind is not None:
            key = alert_key(story.id, parent.destination, kind, item.id)
            alert = Alert(dedupe_key=key, story_id=story.id, item_id=item.id, rule=parent.rule,
                          destination=parent.destination, kind=kind, created_at=now)  # fmt: skip
            store.enqueue_alert(session, alert)
