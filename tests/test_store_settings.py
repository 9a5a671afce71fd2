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


def test_a_database_from_an_earlier_version_gains_the_columns_added_since(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "monitor.db"
    make_engine(str(db)).dispose()
    with sqlite3.connect(db) as conn:  # what a version before `feed.wait_until` made, with a feed in it
        conn.execute("ALTER TABLE feed DROP COLUMN wait_until")
        conn.execute("INSERT INTO feed (name, url, enabled, interval_s, timezone, tags, baseline_done, "
                     "consecutive_failures, failure_reported, gone, item_count) "
                     "VALUES ('wire', 'https://news.example.com/feed', 1, 1800, 'UTC', '', 1, 0, 0, 0, 7)")  # fmt: skip
    make_engine(str(db)).dispose()
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(feed)")]
        kept = conn.execute("SELECT name, item_count, wait_until FROM feed").fetchall()
    assert "wait_until" in columns
    assert kept == [("wire", 7, None)]
