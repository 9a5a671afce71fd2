"""The story index in SQLite: blocking keys and fingerprints, so grouping never scans all items.

`SqlStoryIndex` implements `monitor.grouping.StoryIndex` on two tables. `StoryKey` holds one row
per (blocking key, item) with the item's time, under a covering index (key, seen_at, item, story): a lookup
reads, for each of the new item's ~30 keys, at most a few dozen most recent rows inside the time
window, whatever the size of the archive. `ItemFingerprint` holds the compact JSON fingerprint of
each item, read back only for the best-ranked candidates (those sharing the most keys).

It writes and reads through the caller's session and connection (the caller commits; we never
begin or commit a transaction) with plain SQL on that connection rather than ORM objects or Core
statement building: the cost per item is then a few index probes (docs/performance.md: ORM queries
cost 20-30 times raw ones; building a 20-way UNION with Core alone cost ~5 ms here). The SQL is
SQLite's (qmark parameters), the store's engine.
Plain integer columns, no foreign keys: the item and story tables belong to the store.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Index
from sqlmodel import Field, Session, SQLModel

from monitor.dbapi import db_time, raw_cursor
from monitor.grouping import MAX_CANDIDATES, StoryFingerprint

PER_KEY = 16  # most recent rows read per key: bounds the cost of a very common key
CACHE_SIZE = 20_000  # decoded fingerprints kept per process (JSON decoding was a tenth of a lookup)

# (database, item id) -> (seen_at stamp, story id, fingerprint). A hit is used only when the row read
# from the database has the same time and story, so a rolled-back and reused item id cannot mislead it.
_decoded: OrderedDict[tuple[str, int], tuple[str, int, StoryFingerprint]] = OrderedDict()


class StoryKey(SQLModel, table=True):
    """One blocking key of one item (see `monitor.grouping.index_keys`)."""

    __tablename__ = "story_key"
    # Covering: the per-key read of the newest rows is answered from the index alone (25% faster
    # than looking each row up in the table, measured on the backfill benchmark's database).
    __table_args__ = (Index("ix_story_key_lookup", "key", "seen_at", "item_id", "story_id"),)

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


def _cached(database: str, item_id: int, seen_at: str, story_id: int) -> tuple[int, StoryFingerprint] | None:
    """The decoded fingerprint of a stored row whose time and story were just read, if still cached."""
    hit = _decoded.get((database, item_id))
    if hit is not None and hit[0] == seen_at and hit[1] == story_id:
        return story_id, hit[2]
    return None


def _decode(database: str, item_id: int, story_id: int, seen_at: str, data: str) -> StoryFingerprint:
    key = (database, item_id)
    hit = _decoded.get(key)
    if hit is not None and hit[0] == seen_at and hit[1] == story_id:
        _decoded.move_to_end(key)
        return hit[2]
    fp = StoryFingerprint.from_dict(json.loads(data))
    _decoded[key] = (seen_at, story_id, fp)
    if len(_decoded) > CACHE_SIZE:
        _decoded.popitem(last=False)
    return fp


_NEWEST_ROWS = (
    "SELECT seen_at, item_id, story_id FROM story_key WHERE key = ? AND seen_at >= ? ORDER BY seen_at DESC LIMIT ?"
)


class SqlStoryIndex:
    """`StoryIndex` over the `story_key` and `item_fingerprint` tables, in the caller's session.

    `prefetch` reads, in one statement, the rows every key of a batch of fingerprints will ask for; the
    batch's lookups are then answered in memory (kept up to date by `add`), with the same result the
    per-item ranking query gives (see `candidates`). Everything stays inside the caller's transaction,
    so a concurrent writer (a backfill beside `monitor run`) cannot make the prefetched rows stale.
    """

    def __init__(self, session: Session, cap: int = MAX_CANDIDATES, per_key: int = PER_KEY) -> None:
        self._session = session
        self._database = str(session.connection().engine.url)
        self._cap = cap
        self._per_key = per_key
        # key -> the newest `per_key` rows (seen_at stamp, item id), newest first, seen at or after _since
        self._rows: dict[str, list[tuple[str, int]]] = {}
        self._since = ""
        self._added: dict[int, tuple[int, StoryFingerprint]] = {}  # item id -> (story id, fp), this transaction
        self._stored: dict[int, tuple[str, int]] = {}  # item id -> (seen_at, story id) as prefetched

    def add(self, story_id: int, item_id: int, fp: StoryFingerprint) -> None:
        """Store `fp` and its keys for item `item_id` of story `story_id` (no commit)."""
        seen = db_time(fp.at)
        keys = fp.keys
        with raw_cursor(self._session) as cur:
            cur.execute(
                "INSERT INTO item_fingerprint (item_id, story_id, seen_at, data) VALUES (?, ?, ?, ?)",
                (item_id, story_id, seen, fp.stored),
            )
            cur.executemany(
                "INSERT INTO story_key (key, item_id, story_id, seen_at) VALUES (?, ?, ?, ?)",
                [(k, item_id, story_id, seen) for k in keys],
            )
        self._added[item_id] = (story_id, fp)
        if seen < self._since:
            return
        row = (seen, item_id)
        for key in keys:
            rows = self._rows.get(key)
            if rows is None:  # only keys whose stored rows were all read; others go to the database
                continue
            if not rows or row > rows[0]:  # the usual case: items arrive in time order
                rows.insert(0, row)
            else:
                rows.append(row)
                rows.sort(reverse=True)
            del rows[self._per_key :]

    def prefetch(self, fps: Sequence[StoryFingerprint], window: timedelta) -> None:
        """Read the rows the lookups of `fps` will need (newest `per_key` per key since the earliest window)."""
        keys = list(dict.fromkeys(k for fp in fps for k in fp.keys))
        if not keys:
            return
        since = db_time(min(fp.at for fp in fps) - window)
        rows: dict[str, list[tuple[str, int]]] = {}
        stored = self._stored
        with raw_cursor(self._session) as cur:
            for key in keys:  # one prepared statement, an index range read of at most per_key rows per key
                found = cur.execute(_NEWEST_ROWS, (key, since, self._per_key)).fetchall()
                rows[key] = [(seen, item_id) for seen, item_id, _ in found]
                for seen, item_id, story_id in found:
                    stored[item_id] = (seen, story_id)
        self._rows, self._since = rows, since

    def candidates(self, keys: Sequence[str], since: datetime) -> list[tuple[int, StoryFingerprint]]:
        """Stored items sharing a key with `keys`, seen at or after `since`, most shared keys first."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return []
        stamp = db_time(since)
        if self._rows and stamp >= self._since and all(key in self._rows for key in unique):
            ranked = self._ranked_in_memory(unique, stamp)
        else:
            conn = self._session.connection()
            ranked = [int(r[0]) for r in conn.exec_driver_sql(*self._ranking(unique, stamp))]
        return self._fingerprints(ranked)

    def _ranked_in_memory(self, keys: list[str], since: str) -> list[int]:
        """What `_ranking` returns, from prefetched rows: newest rows per key since `since`, by shared keys.

        The newest `per_key` rows seen after `since` are always among the newest `per_key` rows seen after
        the (earlier) prefetch bound, so filtering the prefetched rows loses nothing. All rows of one item
        carry its one time (`add` writes them so), so counting (time, item) pairs ranks exactly as the
        query's count(*) and max(seen_at) do; Counter does the counting in C. A key's rows (at most `per_key`,
        newest first) are usually all inside the window and counted as a list; (count, row) pairs sort in C
        in the query's order, and never tie (a row names its item).
        """
        found: list[tuple[str, int]] = []
        for key in keys:
            rows = self._rows[key]
            found += rows if not rows or rows[-1][0] >= since else [row for row in rows if row[0] >= since]
        shared = Counter(found)
        order = sorted(zip(shared.values(), shared, strict=True), reverse=True)
        return [item_id for _count, (_seen, item_id) in order[: self._cap]]

    def _fingerprints(self, ranked: list[int]) -> list[tuple[int, StoryFingerprint]]:
        """The fingerprints of `ranked`, in order: this transaction's own from memory, others read (and cached)."""
        if not ranked:
            return []
        found: dict[int, tuple[int, StoryFingerprint]] = {}
        missing = []
        for item_id in ranked:
            own = self._added.get(item_id)
            cached = _cached(self._database, item_id, *self._stored[item_id]) if item_id in self._stored else None
            if own is not None:
                found[item_id] = own
            elif cached is not None:
                found[item_id] = cached
            else:
                missing.append(item_id)
        if missing:
            marks = ", ".join("?" * len(missing))
            with raw_cursor(self._session) as cur:
                rows = cur.execute(
                    f"SELECT item_id, story_id, seen_at, data FROM item_fingerprint WHERE item_id IN ({marks})",
                    tuple(missing),
                ).fetchall()
            for item_id, story_id, seen, data in rows:
                found[item_id] = (story_id, _decode(self._database, item_id, story_id, seen, data))
        return [found[i] for i in ranked if i in found]

    def _ranking(self, keys: list[str], since: str) -> tuple[str, tuple[object, ...]]:
        """One statement: the newest `per_key` rows of each key in the window, ranked by shared keys."""
        one = (
            "SELECT * FROM (SELECT item_id, seen_at FROM story_key WHERE key = ? AND seen_at >= ? "
            "ORDER BY seen_at DESC LIMIT ?)"
        )
        union = " UNION ALL ".join([one] * len(keys))
        sql = (
            f"SELECT item_id, count(*) AS n, max(seen_at) AS last FROM ({union}) "
            "GROUP BY item_id ORDER BY n DESC, last DESC, item_id DESC LIMIT ?"
        )
        params: list[object] = []
        for key in keys:
            params += [key, since, self._per_key]
        return sql, (*params, self._cap)
