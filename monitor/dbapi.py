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


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A cursor on the session's connection, closed on leaving the block."""
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    cursor = connection.cursor()
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
