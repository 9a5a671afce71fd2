"""The database: engine set-up (WAL, synchronous=FULL, BEGIN IMMEDIATE) and the reads and writes the
pipeline needs. The only module besides `monitor.tables` and `monitor.story_index` that speaks SQL.

Every write transaction starts with BEGIN IMMEDIATE so two processes (a `monitor run` and a backfill)
serialise instead of failing with SQLITE_BUSY on a lock upgrade, and no transaction is held across a
network call: the pipeline fetches first and writes after.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from monitor import story_index  # noqa: F401 - registers the story-index tables in the metadata
from monitor.dbapi import db_time, raw_cursor
from monitor.errors import StorageError
from monitor.tables import Alert, Feed
from monitor.types import FeedSpec


def database_url(db: str) -> str:
    """MONITOR_DB takes an SQLAlchemy URL or a file path."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def make_engine(db: str) -> Engine:
    """An engine with the SQLite settings this app relies on, and the tables created."""
    url = database_url(db)
    try:
        engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        SQLModel.metadata.create_all(engine)
        _upkeep_columns(engine)
        _upkeep_indexes(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database {db!r}: {exc}") from exc
    return engine


# Indexes replaced by a later version; dropped when a database made by an earlier one is opened.
_OBSOLETE_INDEXES = (
    "ix_story_key_key_seen",  # became the covering ix_story_key_lookup
    "ix_item_feed_id",  # the unique (feed_id, guid) index starts with feed_id
)


def _upkeep_columns(engine: Engine) -> None:
    """Add the columns a database made by an earlier version lacks (SQLite's ALTER TABLE ADD COLUMN).

    `create_all` creates missing tables but leaves existing ones alone. A column added to a table since
    is nullable, so the rows already there need no value and adding it is the whole migration; any other
    difference would need a real one and is refused with a clear error.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            present = {row[1] for row in connection.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
            for column in table.columns:
                if column.name in present:
                    continue
                if not column.nullable or column.primary_key:
                    raise StorageError(f"the database lacks column {table.name}.{column.name} and it cannot be added")
                kind = column.type.compile(engine.dialect)
                connection.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')


def _upkeep_indexes(engine: Engine) -> None:
    """Create indexes a database made by an earlier version lacks; drop the ones replaced since.

    `create_all` creates missing tables with their indexes but leaves existing tables alone. Indexes
    change no data, so they can follow the code without a migration step (columns cannot).
    """
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                index.create(connection, checkfirst=True)
        if engine.dialect.name == "sqlite":
            for name in _OBSOLETE_INDEXES:
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


# SQLite's page cache per connection (its default is 2 MiB). A cold poll's transaction writes thousands of
# items and ~10,000 story-index rows into indexes spread over a database of ~100 MB: with 2 MiB the pager
# evicted and re-read pages all along (storing 1,000 bench feeds: 439k page reads, 445k page writes; with
# 32 MiB: 93k and 200k). Memory is taken only as pages are used.
CACHE_KIB = 32 * 1024


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One write transaction; commits on success, rolls back on error, wraps database errors."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise StorageError(f"database error: {exc}") from exc


# -- feeds ------------------------------------------------------------------------------------------


def sync_feeds(session: Session, specs: Sequence[FeedSpec], now: datetime) -> None:
    """Make the feed rows match feeds.yaml: config fields come from the file, state stays in the DB.

    A feed removed from the file is disabled (its items and history are kept).
    """
    rows = {row.name: row for row in session.exec(select(Feed))}
    for spec in specs:
        row = rows.pop(spec.name, None)
        if row is None:
            row = Feed(name=spec.name, url=spec.url, next_poll_at=now)
        elif row.url != spec.url:
            row.url, row.etag, row.last_modified, row.body_hash = spec.url, None, None, None
            row.gone, row.moved_to, row.next_poll_at, row.consecutive_failures = False, None, now, 0
            row.wait_until = None
        row.enabled = spec.enabled
        row.interval_s = int(spec.interval.total_seconds())
        row.timezone = spec.timezone
        row.tags = ",".join(spec.tags)
        session.add(row)
    for row in rows.values():
        row.enabled = False
        session.add(row)


def due_feeds(session: Session, now: datetime, names: Sequence[str] | None = None) -> list[Feed]:
    """Enabled feeds whose next poll time has come (or the named ones, due or not)."""
    query = select(Feed).where(col(Feed.enabled), col(Feed.gone).is_(False))
    if names:
        query = select(Feed).where(col(Feed.name).in_(list(names)))
    else:
        query = query.where((col(Feed.next_poll_at).is_(None)) | (col(Feed.next_poll_at) <= now))
    return list(session.exec(query.order_by(col(Feed.next_poll_at))))


def held_feeds(engine: Engine, now: datetime) -> dict[str, str]:
    """Feeds `monitor poll` leaves out unless named, with why: those that answered 410 Gone (until their URL
    changes) and those whose server asked, with Retry-After, not to be polled before a later time."""
    with transaction(engine) as session:
        rows = session.exec(select(Feed).where(col(Feed.gone) | (col(Feed.wait_until) > now)))
        return {
            row.name: "410 Gone: remove it or fix its URL in feeds.yaml"
            if row.gone
            else f"its server asked, with Retry-After, to wait until {row.wait_until:%Y-%m-%d %H:%M} UTC"
            for row in rows
        }


def feeds_by_id(session: Session, ids: Sequence[int]) -> dict[int, Feed]:
    """Feed rows by id, loaded in one query per 500 ids."""
    found: dict[int, Feed] = {}
    for start in range(0, len(ids), 500):
        for row in session.exec(select(Feed).where(col(Feed.id).in_(list(ids[start : start + 500])))):
            if row.id is not None:
                found[row.id] = row
    return found


def all_feeds(session: Session) -> list[Feed]:
    return list(session.exec(select(Feed).order_by(col(Feed.name))))


# -- items and stories ------------------------------------------------------------------------------


def known_guids(session: Session, feed_id: int, guids: Sequence[str]) -> set[str]:
    """Which of `guids` the feed already has (indexed IN queries, plain SQL: run once per stored feed)."""
    found: set[str] = set()
    unique = list(dict.fromkeys(guids))
    with raw_cursor(session) as cur:
        for part, marks in _in_lists(unique):
            sql = f"SELECT guid FROM item WHERE feed_id = ? AND guid IN ({marks})"
            found.update(row[0] for row in cur.execute(sql, (feed_id, *part)))
    return found


def recent_guids(engine: Engine, feed_id: int, limit: int = 500) -> frozenset[str]:
    """The guids of a feed's `limit` most recently stored items (a read outside any transaction).

    A poll hands them to the parse worker so the items a changed feed repeats are not classified again;
    storing checks every guid itself, so an older item missing here only costs its analysis.
    """
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT guid FROM item WHERE feed_id = ? ORDER BY id DESC LIMIT ?", (feed_id, limit)
        )
        return frozenset(row[0] for row in rows)


def items_by_canonical_url(session: Session, links: set[str]) -> dict[str, int | None]:
    """Stored items' canonical links among `links`, each with its story id (None if in no story)."""
    found: dict[str, int | None] = {}
    ordered = sorted(links)
    with raw_cursor(session) as cur:
        for part, marks in _in_lists(ordered):
            sql = f"SELECT canonical_url, story_id FROM item WHERE canonical_url IN ({marks})"
            for link, story_id in cur.execute(sql, part):
                if link is not None and found.get(link) is None:
                    found[link] = story_id
    return found


_IN_LIMIT = 500  # values per IN list (SQLite allows 32,766 parameters; smaller lists plan as well)


def _in_lists(values: list[str]) -> Iterator[tuple[list[str], str]]:
    """`values` in parts of at most _IN_LIMIT, each with its "?, ?, ..." placeholders for an IN list."""
    for start in range(0, len(values), _IN_LIMIT):
        part = values[start : start + _IN_LIMIT]
        yield part, ", ".join("?" * len(part))


# -- the ingest path's writes -------------------------------------------------------------------------
# Plain SQL on the session's own DB-API connection (same transaction): SQLAlchemy Core spent ~0.3 ms of
# statement set-up per execution here, more than SQLite itself, and the ingest path runs a few
# statements per flagged item. Values are converted the way the tables' column types would (`sql_value`).


class ItemRow(NamedTuple):
    """One item table row as the ingest path writes it, in column order (times are UTC-aware)."""

    feed_id: int
    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    source: str
    published_at: datetime | None
    first_seen_at: datetime
    labels: str
    entities: str
    evidence: str
    classifier_version: str
    story_id: int | None


_INSERT_ITEM = f"INSERT INTO item ({', '.join(ItemRow._fields)}) VALUES ({', '.join('?' * len(ItemRow._fields))})"


def sql_value(value: Any) -> Any:
    """A Python value as stored: UTC datetimes as SQLAlchemy's SQLite text, booleans as 0/1."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return db_time(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _item_params(row: ItemRow) -> tuple[Any, ...]:
    return (*row[:7], sql_value(row.published_at), sql_value(row.first_seen_at), *row[9:])


def insert_item(session: Session, row: ItemRow) -> int:
    """Insert one item row and return its id."""
    with raw_cursor(session) as cur:
        cur.execute(_INSERT_ITEM, _item_params(row))
        return int(cur.lastrowid)


def insert_items(session: Session, rows: list[ItemRow]) -> None:
    """Insert many item rows in one statement."""
    if rows:
        with raw_cursor(session) as cur:
            cur.executemany(_INSERT_ITEM, list(map(_item_params, rows)))


def insert_story(session: Session, values: dict[str, Any]) -> int:
    """Insert one story row and return its id."""
    names = ", ".join(values)
    with raw_cursor(session) as cur:
        cur.execute(f"INSERT INTO story ({names}) VALUES ({', '.join('?' * len(values))})",
                    tuple(sql_value(v) for v in values.values()))  # fmt: skip
        return int(cur.lastrowid)


def story_state(session: Session, story_id: int) -> tuple[str, bool] | None:
    """A story's outlets and whether it alerted, or None when there is no such story to join.

    A story all of whose items `monitor reclassify` no longer flags is none: the story index still holds
    their keys, and a later report of a similar real event must start its own story (and alert), not
    join the emptied one.
    """
    with raw_cursor(session) as cur:
        row = cur.execute("SELECT outlets, alerted FROM story WHERE id = ? AND item_count > 0", (story_id,)).fetchone()
    return (str(row[0] or ""), bool(row[1])) if row is not None else None


def update_story(session: Session, story_id: int, **values: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in values)
    params = (*(sql_value(v) for v in values.values()), story_id)
    with raw_cursor(session) as cur:
        cur.execute(f"UPDATE story SET {assignments} WHERE id = ?", params)


def count_story_item(session: Session, story_id: int, now: datetime, outlets: str | None, delta: int = 1) -> None:
    """One more (or, with delta=-1, one fewer) item in a story; `outlets` replaces the list when given."""
    assignments, params = ["item_count = item_count + ?"], [sql_value(delta)]
    if delta > 0:
        assignments.append("last_seen_at = ?")
        params.append(sql_value(now))
    if outlets is not None:
        assignments.append("outlets = ?")
        params.append(outlets)
    with raw_cursor(session) as cur:
        cur.execute(f"UPDATE story SET {', '.join(assignments)} WHERE id = ?", (*params, story_id))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


# Built once: json.dumps with options builds an encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def feed_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in session.exec(select(Feed)) if row.id is not None}


# -- outbox -----------------------------------------------------------------------------------------


def enqueue_alert(session: Session, alert: Alert) -> bool:
    """Add an outbox row unless one with the same dedupe key exists. Returns whether it was added."""
    exists = session.exec(select(Alert.id).where(Alert.dedupe_key == alert.dedupe_key)).first()
    if exists is not None:
        return False
    session.add(alert)
    return True


def due_alerts(session: Session, now: datetime, limit: int = 500) -> list[Alert]:
    """Rows to (re)try now: pending, a `sending` whose lease ran out, blocked ones due for a retry."""
    query = (
        select(Alert)
        .where(col(Alert.status).in_(["pending", "sending", "blocked"]))
        .where((col(Alert.next_attempt_at).is_(None)) | (col(Alert.next_attempt_at) <= now))
        .order_by(col(Alert.id))
        .limit(limit)
    )
    return list(session.exec(query))


def oldest_waiting_alerts(session: Session) -> dict[str, int]:
    """Per destination, the id of its oldest alert not yet delivered (pending or maybe sent)."""
    query = (
        select(Alert.destination, func.min(Alert.id))
        .where(col(Alert.status).in_(["pending", "sending"]), col(Alert.kind).in_(["new", "digest"]))
        .group_by(col(Alert.destination))
    )
    return {destination: int(oldest) for destination, oldest in session.exec(query) if oldest is not None}


def blocked_reported(session: Session, destination: str, error: str) -> bool:
    """Whether this destination's current problem was already reported (report once)."""
    query = select(Alert.id).where(
        Alert.destination == destination, Alert.status == "blocked", col(Alert.reported), Alert.last_error == error
    )
    return session.exec(query.limit(1)).first() is not None


def parent_alert(session: Session, story_id: int, destination: str) -> Alert | None:
    """The story's first ('new') alert to this destination, for threading follow-ups."""
    query = select(Alert).where(Alert.story_id == story_id, Alert.destination == destination, Alert.kind == "new")
    return session.exec(query).first()


def story_alerts(session: Session, story_id: int) -> list[Alert]:
    return list(session.exec(select(Alert).where(Alert.story_id == story_id).order_by(col(Alert.id))))


def alerts_with_status(session: Session, status: str) -> list[Alert]:
    return list(session.exec(select(Alert).where(Alert.status == status).order_by(col(Alert.id))))
