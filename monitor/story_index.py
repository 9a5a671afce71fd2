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
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Index, event
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
# The same read limited to rows committed before the reading transaction began (ids are never reused:
# `story_key` only grows, and a rolled-back row was never committed). The covering index holds the rowid.
_NEWEST_COMMITTED = (
    "SELECT seen_at, item_id, story_id FROM story_key WHERE key = ? AND seen_at >= ? AND id <= ? "
    "ORDER BY seen_at DESC LIMIT ?"
)
_ROWS_SINCE = "SELECT key, seen_at, item_id, story_id FROM story_key WHERE id > ? AND id <= ? AND seen_at >= ?"

Row = tuple[str, int, int]  # (seen_at stamp, item id, story id): sorts newest first as the queries order them
MAX_CACHED_KEYS = 50_000  # keys whose committed rows a process keeps (up to ~25 MB); cleared beyond


class _CommittedRows:
    """Per engine and process: for each key looked up so far, its newest `PER_KEY` committed rows.

    Why: a poll looks up ~140 keys per feed, and the popular ones (a company pair, an amount) again in
    every transaction: one index read each, ~60,000-140,000 reads for 1,000 feeds, most answering what
    the previous transaction already read. Here a key is read once; each transaction first reads the
    rows committed since (by this process or another: `story_key` only grows, so rows with an id above
    the last one seen are exactly the new ones) and folds them into the keys it holds. A transaction's
    own uncommitted rows never enter; they live in `_OwnRows` until the next transaction reads them back.
    Rows seen before `floor` are not held; a lookup reaching further back resets the cache lower.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, list[Row]] = {}
        self.max_id = -1  # rows with id <= max_id are folded in; -1: nothing read yet
        self.floor = ""

    def catch_up(self, cur: Any, committed_max: int, since: str, margin: timedelta) -> None:
        """Make the held rows those committed up to `committed_max`, covering lookups from `since`."""
        if committed_max < self.max_id or since < self.floor or len(self.rows) > MAX_CACHED_KEYS or self.max_id < 0:
            self.rows = {}
            self.max_id = committed_max
            self.floor = db_time(datetime.fromisoformat(since) - margin)
            return
        if committed_max == self.max_id:
            return
        held, fresh = self.rows, dict[str, list[Row]]()
        for key, seen, item_id, story_id in cur.execute(_ROWS_SINCE, (self.max_id, committed_max, self.floor)):
            if key in held:
                fresh.setdefault(key, []).append((seen, item_id, story_id))
        for key, rows in fresh.items():  # in id order, not time order: sorted once per key
            held[key] = sorted(held[key] + rows, reverse=True)[:PER_KEY]
        self.max_id = committed_max

    def fold(self, own: _OwnRows) -> None:
        """Take in the rows `own`'s transaction has just committed, instead of reading them back next time.

        Exact only when those rows are all that was committed since `max_id`: this cache was caught up to
        `own.committed_max` and the rows with ids above it were counted, before the commit, as many as the
        transaction wrote (see `_before_commit`). Otherwise nothing changes and the next `catch_up` reads them.
        A key's new rows are the transaction's view of it (the newest PER_KEY committed or written rows)
        when the view was built on this floor, else the merge of its written rows.
        """
        if self.max_id != own.committed_max or own.top <= self.max_id:
            return
        held, floor = self.rows, self.floor
        view = own.view if own.view_floor == floor else {}
        for key, written in own.rows.items():
            rows = held.get(key)
            if rows is None:
                continue
            merged = view.get(key)
            if merged is None:
                merged = sorted(rows + written, reverse=True)[:PER_KEY]
            if merged and merged[-1][0] < floor:  # held rows are never older than the floor
                merged = [row for row in merged if row[0] >= floor]
            held[key] = merged
        self.max_id = own.top

    def newest(self, cur: Any, key: str) -> list[Row]:
        """The key's newest `PER_KEY` committed rows seen since `floor`, newest first (read once)."""
        rows = self.rows.get(key)
        if rows is None:
            rows = cur.execute(_NEWEST_COMMITTED, (key, self.floor, self.max_id, PER_KEY)).fetchall()
            self.rows[key] = rows
        return rows


def _with_row(rows: list[Row], row: Row, per_key: int) -> list[Row]:
    """A new list: `rows` (newest first) with `row` in its place, cut to `per_key` (the input may be shared)."""
    if not rows or row > rows[0]:  # the usual case: one feed's items arrive in time order
        return [row, *rows[: per_key - 1]]
    return sorted([*rows, row], reverse=True)[:per_key]


_committed: WeakKeyDictionary[Engine, _CommittedRows] = WeakKeyDictionary()
_committed_lock = threading.Lock()


def _committed_rows(engine: Engine) -> _CommittedRows:
    with _committed_lock:
        found = _committed.get(engine)
        if found is None:
            found = _committed[engine] = _CommittedRows()
        return found


class _OwnRows:
    """What one transaction (several feeds share one) wrote to the index, and its view of the keys it read."""

    def __init__(self, transaction: object, committed_max: int, committed: _CommittedRows) -> None:
        self.transaction = transaction  # held, so its identity cannot be reused while this lives
        self.committed_max = committed_max  # the largest story_key id committed before it wrote
        self.committed = committed  # the process's committed rows of this engine, to fold these into
        self.inserted = 0  # story_key rows written
        self.top = committed_max  # once counted before the commit: the largest id, when every row above
        # committed_max is one written here (else committed_max: nothing to fold)
        self.rows: dict[str, list[Row]] = {}  # key -> rows written here, in any order (the newest PER_KEY kept)
        self.fps: dict[int, tuple[int, StoryFingerprint]] = {}  # item id -> (story id, fingerprint)
        # key -> the newest PER_KEY rows, committed or written here, seen at or after view_floor (the committed
        # rows' floor when the view was built), newest first: later feeds of the transaction find their keys here
        self.view: dict[str, list[Row]] = {}
        self.view_floor = ""
        # keys whose view list was made here (not shared with the process's cache): `write` changes those in
        # place instead of copying a list of PER_KEY rows for each of an item's ~23 keys
        self.owned: set[str] = set()

    def write(self, keys: Sequence[str], row: Row) -> None:
        """Record `row` under each of `keys`, in the view too where the view holds the key."""
        written = self.rows
        for key in keys:
            rows = written.get(key)
            if rows is None:
                written[key] = [row]
            else:
                rows.append(row)
                if len(rows) > 4 * PER_KEY:  # only a key's newest PER_KEY own rows can count
                    rows.sort(reverse=True)
                    del rows[PER_KEY:]
        if row[0] >= self.view_floor:
            view, owned = self.view, self.owned
            for key in keys:
                rows = view.get(key)
                if rows is None or (len(rows) >= PER_KEY and row < rows[-1]):
                    continue  # no view of the key, or a full one where the row is too old to stay
                if key not in owned:
                    view[key] = _with_row(rows, row, PER_KEY)
                    owned.add(key)
                elif not rows or row > rows[0]:  # the usual case: a feed's items arrive in time order
                    rows.insert(0, row)
                    del rows[PER_KEY:]
                else:
                    rows.append(row)
                    rows.sort(reverse=True)
                    del rows[PER_KEY:]


_OWN_ROWS = "monitor.story_index.own_rows"


_LISTENING = "monitor.story_index.listening"


def _own_rows(session: Session, cur: Any, engine: Engine) -> _OwnRows:
    """This transaction's `_OwnRows` (kept in `session.info`, replaced when a new transaction begins)."""
    transaction = session.get_transaction()
    own = session.info.get(_OWN_ROWS)
    if own is None or own.transaction is not transaction:
        top = cur.execute("SELECT max(id) FROM story_key").fetchone()[0]
        own = session.info[_OWN_ROWS] = _OwnRows(transaction, int(top or 0), _committed_rows(engine))
        if not session.info.get(_LISTENING):
            event.listen(session, "before_commit", _before_commit)
            event.listen(session, "after_commit", _after_commit)
            session.info[_LISTENING] = True
    assert isinstance(own, _OwnRows)
    return own


def _current_own_rows(session: Session) -> _OwnRows | None:
    own = session.info.get(_OWN_ROWS)
    return own if isinstance(own, _OwnRows) and own.transaction is session.get_transaction() else None


_COUNT_SINCE = "SELECT count(*), max(id) FROM story_key WHERE id > ?"


def _before_commit(session: Session) -> None:
    """Count the rows above `committed_max`: if they are the ones written here, the commit can fold them in."""
    own = _current_own_rows(session)
    if own is None or not own.inserted:
        return
    with raw_cursor(session) as cur:
        count, top = cur.execute(_COUNT_SINCE, (own.committed_max,)).fetchone()
    if count == own.inserted:
        own.top = int(top)


def _after_commit(session: Session) -> None:
    """Fold the committed transaction's rows into the process's cache (rolled back ones never get here)."""
    own = _current_own_rows(session)
    if own is None:
        return
    del session.info[_OWN_ROWS]  # its rows and fingerprints are no longer needed
    with own.committed.lock:
        own.committed.fold(own)


class SqlStoryIndex:
    """`StoryIndex` over the `story_key` and `item_fingerprint` tables, in the caller's session.

    `prefetch` gathers the rows every key of a batch of fingerprints will ask for (from the process's
    `_CommittedRows`, reading only keys it does not hold, plus this transaction's own rows); the batch's
    lookups are then answered in memory (kept up to date by `add`), with the same result the per-item
    ranking query gives (see `candidates`). Everything stays inside the caller's transaction, so a
    concurrent writer (a backfill beside `monitor run`) cannot make the prefetched rows stale.
    """

    def __init__(self, session: Session, cap: int = MAX_CANDIDATES, per_key: int = PER_KEY) -> None:
        self._session = session
        self._engine = session.connection().engine
        self._database = str(self._engine.url)
        self._cap = cap
        self._per_key = per_key
        # key -> the newest `per_key` rows seen at or after _since (or earlier), newest first: the transaction's
        # view after `prefetch`; lists may be shared with `_CommittedRows`, so they are replaced, never changed
        self._rows: dict[str, list[Row]] = {}
        self._since = ""

    def add(self, story_id: int, item_id: int, fp: StoryFingerprint) -> None:
        """Store `fp` and its keys for item `item_id` of story `story_id` (no commit)."""
        seen = db_time(fp.at)
        keys = fp.keys
        with raw_cursor(self._session) as cur:
            own = _own_rows(self._session, cur, self._engine)
            cur.execute(
                "INSERT OR REPLACE INTO item_fingerprint (item_id, story_id, seen_at, data) VALUES (?, ?, ?, ?)",
                (item_id, story_id, seen, fp.stored),
            )
            cur.executemany(
                "INSERT INTO story_key (key, item_id, story_id, seen_at) VALUES (?, ?, ?, ?)",
                [(k, item_id, story_id, seen) for k in keys],
            )
        own.fps[item_id] = (story_id, fp)
        own.inserted += len(keys)
        row = (seen, item_id, story_id)
        own.write(keys, row)
        gathered, per_key = self._rows, self._per_key
        if gathered is own.view or seen < self._since:
            return
        for key in keys:
            rows = gathered.get(key)
            if rows is not None:  # only keys whose rows were all read
                gathered[key] = _with_row(rows, row, per_key)

    def prefetch(self, fps: Sequence[StoryFingerprint], window: timedelta) -> None:
        """Gather the rows the lookups of `fps` will need (newest `per_key` per key since the earliest window)."""
        keys = list(dict.fromkeys(k for fp in fps for k in fp.keys))
        if not keys:
            return
        since = db_time(min(fp.at for fp in fps) - window)
        per_key = self._per_key
        with raw_cursor(self._session) as cur:
            own = _own_rows(self._session, cur, self._engine)
            if per_key != PER_KEY:  # the process's cache and the view hold PER_KEY rows per key: read each here
                self._rows = {key: cur.execute(_NEWEST_ROWS, (key, since, per_key)).fetchall() for key in keys}
                self._since = since
                return
            committed = _committed_rows(self._engine)
            with committed.lock:
                committed.catch_up(cur, own.committed_max, since, window)
                if own.view_floor != committed.floor:  # built on rows since another floor: rebuilt
                    own.view, own.view_floor, own.owned = {}, committed.floor, set()
                view, written = own.view, own.rows
                for key in keys:
                    if key not in view:
                        found = committed.newest(cur, key)
                        mine = written.get(key)
                        if mine:
                            view[key] = sorted(found + mine, reverse=True)[:PER_KEY]
                            own.owned.add(key)
                        else:
                            view[key] = found
        self._rows, self._since = own.view, own.view_floor

    def candidates(self, keys: Sequence[str], since: datetime) -> list[tuple[int, StoryFingerprint]]:
        """Stored items sharing a key with `keys`, seen at or after `since`, most shared keys first."""
        unique = dict.fromkeys(keys)
        if not unique:
            return []
        stamp = db_time(since)
        gathered = self._rows
        if gathered and stamp >= self._since and gathered.keys() >= unique.keys():
            return self._fingerprints(self._ranked_in_memory(unique, stamp))
        conn = self._session.connection()
        ranked = [int(r[0]) for r in conn.exec_driver_sql(*self._ranking(list(unique), stamp))]
        return self._fingerprints([("", item_id, -1) for item_id in ranked])

    def _ranked_in_memory(self, keys: Iterable[str], since: str) -> list[Row]:
        """What `_ranking` returns (with each item's time and story), from the gathered rows.

        The newest `per_key` rows seen after `since` are always among the newest `per_key` rows seen after
        an earlier bound, so filtering the gathered rows loses nothing. All rows of one item carry its one
        time and story (`add` writes them so), so counting rows ranks exactly as the query's count(*) and
        max(seen_at) do; Counter does the counting in C. A key's rows (at most `per_key`, newest first) are
        usually all inside the window and counted as a list. Only rows counted at least as often as the
        `cap`-th most shared one can rank, so only those are sorted, as (count, row) pairs, in C, in the
        query's order (they never tie: a row names its item). Sorting just those halved the ranking's time.
        """
        found: list[Row] = []
        gathered = self._rows
        for key in keys:
            rows = gathered[key]
            found += rows if not rows or rows[-1][0] >= since else [row for row in rows if row[0] >= since]
        shared = Counter(found)
        cap = self._cap
        if len(shared) > cap:
            least = sorted(shared.values(), reverse=True)[cap - 1]
            order = sorted([(count, row) for row, count in shared.items() if count >= least], reverse=True)
        else:
            order = sorted(zip(shared.values(), shared, strict=True), reverse=True)
        return [row for _count, row in order[:cap]]

    def _fingerprints(self, ranked: list[Row]) -> list[tuple[int, StoryFingerprint]]:
        """The fingerprints of `ranked`, in order: this transaction's own from memory, others read (and cached).

        A row's time and story, when known (`seen` not empty), let a cached decoding be used.
        """
        if not ranked:
            return []
        own = _current_own_rows(self._session)
        mine = own.fps if own is not None else {}
        found: dict[int, tuple[int, StoryFingerprint]] = {}
        missing = []
        for seen, item_id, story_id in ranked:
            hit = mine.get(item_id) or (_cached(self._database, item_id, seen, story_id) if seen else None)
            if hit is not None:
                found[item_id] = hit
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
        return [found[item_id] for _seen, item_id, _story in ranked if item_id in found]

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
