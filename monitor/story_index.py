"""The story index in SQLite: blocking keys and fingerprints, so grouping never scans all items.

`SqlStoryIndex` implements `monitor.grouping.StoryIndex` on two tables. `StoryKey` holds one row
per (blocking key, item) with the item's time, under a composite index (key, seen_at): a lookup
reads, for each of the new item's ~30 keys, at most a few dozen most recent rows inside the time
window, whatever the size of the archive. `ItemFingerprint` holds the compact JSON fingerprint of
each item, read back only for the best-ranked candidates (those sharing the most keys).

It writes and reads through the caller's session and connection (the caller commits; we never
begin or commit a transaction) and uses Core statements rather than ORM objects: the cost per item
is then a few index probes (see docs/performance.md: ORM queries cost 20-30 times raw ones).
Plain integer columns, no foreign keys: the item and story tables belong to the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Index, func, insert, select, union_all
from sqlmodel import Field, Session, SQLModel

from monitor.grouping import MAX_CANDIDATES, StoryFingerprint, index_keys

PER_KEY = 40  # most recent rows read per key: bounds the cost of a very common key


class StoryKey(SQLModel, table=True):
    """One blocking key of one item (see `monitor.grouping.index_keys`)."""

    __tablename__ = "story_key"
    __table_args__ = (Index("ix_story_key_key_seen", "key", "seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str
    item_id: int
    story_id: int
    seen_at: datetime


class ItemFingerprint(SQLModel, table=True):
    """The story fingerprint of one item, as compact JSON (`StoryFingerprint.to_dict`)."""

    __tablename__ = "item_fingerprint"

    item_id: int = Field(primary_key=True)
    story_id: int = Field(index=True)
    seen_at: datetime
    data: str


def _utc(moment: datetime) -> datetime:
    """Times are stored and compared in UTC (naive values are taken to be UTC already)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class SqlStoryIndex:
    """`StoryIndex` over the `story_key` and `item_fingerprint` tables, in the caller's session."""

    def __init__(self, session: Session, cap: int = MAX_CANDIDATES, per_key: int = PER_KEY) -> None:
        self._session = session
        self._cap = cap
        self._per_key = per_key

    def add(self, story_id: int, item_id: int, fp: StoryFingerprint) -> None:
        """Store `fp` and its keys for item `item_id` of story `story_id` (no commit)."""
        seen = _utc(fp.at)
        conn = self._session.connection()
        conn.execute(
            insert(ItemFingerprint.__table__),  # type: ignore[arg-type]
            [{"item_id": item_id, "story_id": story_id, "seen_at": seen,
              "data": json.dumps(fp.to_dict(), separators=(",", ":"))}],
        )
        rows = [{"key": k, "item_id": item_id, "story_id": story_id, "seen_at": seen} for k in index_keys(fp)]
        conn.execute(insert(StoryKey.__table__), rows)  # type: ignore[arg-type]

    def candidates(self, keys: Sequence[str], since: datetime) -> list[tuple[int, StoryFingerprint]]:
        """Stored items sharing a key with `keys`, seen at or after `since`, most shared keys first."""
        if not keys:
            return []
        ranked = self._ranked_items(keys, _utc(since))
        if not ranked:
            return []
        table = ItemFingerprint.__table__
        rows = self._session.connection().execute(
            select(table.c.item_id, table.c.story_id, table.c.data).where(table.c.item_id.in_(ranked))  # type: ignore[attr-defined]
        )
        found = {int(r.item_id): (int(r.story_id), StoryFingerprint.from_dict(json.loads(r.data))) for r in rows}
        return [found[i] for i in ranked if i in found]

    def _ranked_items(self, keys: Sequence[str], since: datetime) -> list[int]:
        table = StoryKey.__table__
        c = table.c  # type: ignore[attr-defined]
        per_key = [
            select(c.item_id, c.seen_at)
            .where(c.key == key, c.seen_at >= since)
            .order_by(c.seen_at.desc())
            .limit(self._per_key)
            .subquery()
            .select()
            for key in dict.fromkeys(keys)
        ]
        hits = union_all(*per_key).subquery()
        query = (
            select(hits.c.item_id, func.count().label("n"), func.max(hits.c.seen_at).label("last"))
            .group_by(hits.c.item_id)
            .order_by(func.count().desc(), func.max(hits.c.seen_at).desc())
            .limit(self._cap)
        )
        return [int(r.item_id) for r in self._session.connection().execute(query)]
