"""Every connection the store opens gets the durability and speed settings the pipeline relies on."""

from __future__ import annotations

from pathlib import Path

from monitor.store import CACHE_KIB, make_engine


def test_every_connection_is_durable_and_has_the_larger_page_cache(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "monitor.db"))
    first, second = engine.raw_connection(), engine.raw_connection()  # two pooled connections, both configured
    try:
        for connection in (first, second):
            cursor = connection.cursor()
            names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "cache_size")
            settings = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in names}
            cursor.close()
            # WAL, and synchronous=FULL (2): a committed item, story or outbox row survives a power cut
            assert settings == {
                "journal_mode": "wal",
                "synchronous": 2,
                "foreign_keys": 1,
                "busy_timeout": 30000,
                "cache_size": -CACHE_KIB,
            }
    finally:
        first.close()
        second.close()
    assert CACHE_KIB >= 16 * 1024  # SQLite's 2 MiB default made a cold poll re-read its index pages
