"""A DB-API cursor on a session's own SQLite connection, for the ingest path's hot statements.

Why: SQLAlchemy's statement set-up cost more than SQLite itself on the few statements run per stored
item. The cursor works inside the session's transaction. It is always closed before the block ends:
sqlite3 shares one prepared statement between cursors running the same SQL, and a cursor left to be
garbage-collected later (possibly on another thread holding a frame that refers to it) resets that
statement while another cursor is using it ("bad parameter or other API misuse").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session

_CONNECTION = "monitor.dbapi.connection"


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A cursor on the session's connection, closed on leaving the block."""
    cursor = _dbapi_connection(session).cursor()
    try:
        yield cursor
    finally:
        cursor.close()


@lru_cache(maxsize=4096)  # a batch writes the same few times (its `now`, shared publication times) many times
def db_time(moment: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime in SQLite, so raw and ORM reads and writes agree."""
    utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    # SQLAlchemy's format is "%04d-%02d-%02d %02d:%02d:%02d.%06d"; isoformat writes the same, faster
    # than strftime (which also leaves years before 1000 unpadded on glibc).
    return utc.isoformat(" ", "microseconds")


def _dbapi_connection(session: Session) -> Any:
    """The session transaction's DB-API connection, remembered for that transaction.

    `Session.connection()` costs ~10 us of SQLAlchemy bookkeeping, and a poll asks for a cursor ~100,000
    times; within one transaction the connection cannot change.
    """
    transaction = session.get_transaction()
    known = session.info.get(_CONNECTION)
    if transaction is not None and known is not None and known[0] is transaction:
        return known[1]
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection
