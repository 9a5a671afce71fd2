"""SQLModel tables: feed state, items, stories (events) and the alert outbox. All times are UTC.

Rows are storage, not domain records: the pipeline passes `monitor.types` records between stages and
only `monitor.store` turns them into rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC (SQLite keeps no zone) and returns them aware again."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _utc_column(index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


class Feed(SQLModel, table=True):
    """A feed's configuration copy (from feeds.yaml) and its polling state (owned by the database)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    url: str
    enabled: bool = True
    interval_s: int = 1800
    timezone: str = "UTC"
    tags: str = ""  # comma-separated
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    baseline_done: bool = False
    next_poll_at: datetime | None = _utc_column(index=True)
    last_polled_at: datetime | None = _utc_column()
    last_success_at: datetime | None = _utc_column()
    last_error: str | None = None
    last_error_at: datetime | None = _utc_column()
    consecutive_failures: int = 0
    failing_since: datetime | None = _utc_column()
    failure_reported: bool = False  # a feed failing for a day is reported once, never disabled
    moved_to: str | None = None
    gone: bool = False
    item_count: int = 0
    # a server's Retry-After (429/503): not polled before this, not even by `monitor poll` unless named
    wait_until: datetime | None = _utc_column()


class Item(SQLModel, table=True):
    """One entry of one feed. (feed_id, guid) is unique: a feed's own id for the entry."""

    __table_args__ = (UniqueConstraint("feed_id", "guid"),)

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")  # the (feed_id, guid) unique index serves lookups by feed
    guid: str
    url: str | None = None  # the link as published, tracking parameters removed
    canonical_url: str | None = Field(default=None, index=True)  # one spelling per article, for dedup
    title: str = ""
    summary: str = ""
    source: str = ""
    published_at: datetime | None = _utc_column()
    first_seen_at: datetime = _utc_column(index=True, nullable=False)
    labels: str = ""  # comma-separated labels
    entities: str = "{}"  # JSON
    evidence: str = "{}"  # JSON
    classifier_version: str = ""
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)


class Story(SQLModel, table=True):
    """One real-world event (a contract, a plant milestone), however many outlets report it."""

    id: int | None = Field(default=None, primary_key=True)
    labels: str = ""
    title: str = ""
    url: str | None = None
    cdmo: str | None = None
    client: str | None = None
    value: str | None = None
    value_usd: float | None = None
    first_item_id: int | None = None
    first_seen_at: datetime = _utc_column(index=True, nullable=False)
    last_seen_at: datetime = _utc_column(nullable=False)
    published_at: datetime | None = _utc_column(index=True)
    item_count: int = 1
    outlets: str = ""  # comma-separated, in order of first report
    alerted: bool = False  # whether the story produced alerts (False for baseline/backfill)


class Alert(SQLModel, table=True):
    """The outbox: one row per message to deliver, written in the same transaction as its items.

    `dedupe_key` makes enqueuing the same alert twice impossible. A row is marked sent only after
    Slack confirms, with the message's channel and `ts` (needed for thread follow-ups).
    """

    __table_args__ = (Index("ix_alert_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id")
    rule: str
    destination: str
    kind: str = "new"  # new | follow_up | update | digest
    # pending -> sending -> sent; sending left behind by a crash is reconciled before any resend.
    # blocked: configuration error (resent after a fix); held: waiting for its rule's digest;
    # uncertain: a webhook post that may or may not have arrived, already resent once.
    status: str = "pending"
    attempts: int = 0
    resends: int = 0  # ambiguous webhook posts sent again (at most one per alert)
    reported: bool = False  # a blocked alert's problem was reported (reported once)
    next_attempt_at: datetime | None = _utc_column()
    last_error: str | None = None
    created_at: datetime = _utc_column(nullable=False)
    sent_at: datetime | None = _utc_column()
    channel: str | None = None
    ts: str | None = None
    payload: str = ""  # digests: the JSON list of story ids the message lists


class DigestState(SQLModel, table=True):
    """When each digest rule last sent its summary, so `poll` and `run` send each digest once."""

    rule: str = Field(primary_key=True)
    last_sent_at: datetime | None = _utc_column()


class BackfillState(SQLModel, table=True):
    """Where a feed's backfill stands, so an interrupted run resumes at the next page."""

    feed: str = Field(primary_key=True)
    window: str = ""  # the --since/--until of the run this position belongs to
    next_url: str | None = None
    pages: int = 0
    items: int = 0
    done: bool = False
