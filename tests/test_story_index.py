"""SqlStoryIndex on a temporary SQLite file: keys and window decide the candidates."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, create_engine

from monitor.grouping import StoryFingerprint, assign_story, fingerprint, index_keys
from monitor.store import make_engine
from monitor.story_index import _NEWEST_COMMITTED, _NEWEST_ROWS, PER_KEY, SqlStoryIndex, _committed_rows
from monitor.types import Classification, ParsedItem

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def fp(title: str, url: str, days: float) -> StoryFingerprint:
    item = ParsedItem(guid=url, url=url, title=title)
    return fingerprint(item, Classification(), T0 + timedelta(days=days))


def test_candidates_share_a_key_and_fall_in_the_window(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'stories.db'}")
    SQLModel.metadata.create_all(engine)
    old = fp("Korvan Biologics breaks ground on Ridgeton plant", "https://a.example/1", 0)
    recent = fp("Korvan Biologics breaks ground on Ridgeton plant", "https://b.example/2", 40)
    other = fp("Delmar Pharma names new finance chief", "https://c.example/3", 41)
    with Session(engine) as session:
        index = SqlStoryIndex(session)
        index.add(10, 1, old)
        index.add(20, 2, recent)
        index.add(30, 3, other)
        found = index.candidates(index_keys(recent), since=T0 + timedelta(days=30))
        assert [story for story, _ in found] == [20]
        assert found[0][1] == recent
        everything = index.candidates(index_keys(recent), since=T0 - timedelta(days=1))
        assert sorted(story for story, _ in everything) == [10, 20]
        assert index.candidates(["u:https://nowhere.example/x"], since=T0) == []
        session.commit()


def test_assign_story_through_sql(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'stories.db'}")
    SQLModel.metadata.create_all(engine)
    first = fp("Korvan Biologics inks manufacturing deal with GSK", "https://wire.example/view/AEN1", 0)
    lead = fp("(LEAD) Korvan Biologics inks manufacturing deal with GSK", "https://wire.example/view/AEN2", 0.1)
    with Session(engine) as session:
        index = SqlStoryIndex(session)
        assert assign_story(first, index) == (None, None)
        index.add(7, 1, first)
        assert assign_story(lead, index) == (7, "same title")
    with Session(engine) as session:  # nothing was committed: the caller owns the transaction
        assert SqlStoryIndex(session).candidates(index_keys(lead), since=T0) == []


def test_a_prefetched_batch_answers_like_the_per_item_query(tmp_path: Path) -> None:
    """The batch read (`prefetch`) and the per-item ranking query give the same candidates, in order.

    A crowded archive (many items sharing company, title and amount keys, more than PER_KEY per key,
    spread over two months) is stored first; then a batch is grouped item by item twice, once through
    a prefetched index and once through the plain query, adding each item as the pipeline does.
    """
    import random

    engine = create_engine(f"sqlite:///{tmp_path / 'stories.db'}")
    SQLModel.metadata.create_all(engine)
    rng = random.Random(5)
    makers, clients = ["Korvan Biologics", "Halden CDMO", "Ostrava Bio"], ["Pellis", "Quorra", "Tamsin", "Ulric"]

    def story(n: int, days: float) -> StoryFingerprint:
        maker, client = rng.choice(makers), rng.choice(clients)
        title = f"{maker} signs ${rng.choice([40, 75, 120])} million manufacturing deal with {client} Pharma"
        if rng.random() < 0.3:
            title = f"(LEAD) {title}"
        return fp(title, f"https://news{n % 7}.example/a/{n}", days)

    archive = [story(n, rng.uniform(0, 60)) for n in range(300)]
    batch = sorted((story(1000 + n, rng.uniform(35, 62)) for n in range(40)), key=lambda f: f.at)
    with Session(engine) as session:
        index = SqlStoryIndex(session)
        for n, old in enumerate(archive):
            index.add(n % 50, n + 1, old)
        session.commit()

    def group(prefetch: bool) -> list[list[int]]:
        with Session(engine) as session:
            index = SqlStoryIndex(session)
            if prefetch:
                index.prefetch(batch, timedelta(days=30))
            answers = []
            for n, new in enumerate(batch):
                found = index.candidates(index_keys(new), since=new.at - timedelta(days=30))
                answers.append([item_story for item_story, _ in found])
                index.add(100 + n, 5000 + n, new)
            session.rollback()
            return answers

    plain, prefetched = group(prefetch=False), group(prefetch=True)
    assert prefetched == plain
    assert sum(len(a) for a in plain) > len(batch)  # the archive is crowded enough to rank and cut


def test_a_database_made_before_the_covering_index_gets_it_on_opening(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    make_engine(str(db)).dispose()
    with sqlite3.connect(db) as conn:  # what version 1 of the schema had
        conn.execute("DROP INDEX ix_story_key_lookup")
        conn.execute("CREATE INDEX ix_story_key_key_seen ON story_key (key, seen_at)")
        conn.execute("CREATE INDEX ix_item_feed_id ON item (feed_id)")
    make_engine(str(db)).dispose()
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = conn.execute(f"EXPLAIN QUERY PLAN {_NEWEST_ROWS}", ("k", "2025-01-01", 16)).fetchall()
    assert "ix_story_key_lookup" in names
    assert "ix_story_key_key_seen" not in names and "ix_item_feed_id" not in names
    assert "COVERING INDEX ix_story_key_lookup" in str(plan)


def _crowded(seed: int, count: int, start_days: float, span_days: float) -> list[StoryFingerprint]:
    """Fingerprints of deal stories over few companies, so their keys repeat across many items."""
    import random

    rng = random.Random(seed)
    makers, clients = ["Korvan Biologics", "Halden CDMO", "Ostrava Bio"], ["Pellis", "Quorra", "Tamsin", "Ulric"]
    out = []
    for n in range(count):
        title = (f"{rng.choice(makers)} signs ${rng.choice([40, 75, 120])} million manufacturing deal with "
                 f"{rng.choice(clients)} Pharma")  # fmt: skip
        out.append(fp(title, f"https://news{n % 5}.example/{seed}/{n}", start_days + rng.uniform(0, span_days)))
    return sorted(out, key=lambda f: f.at)


def _group_in_transactions(
    engine: Any, transactions: list[list[list[StoryFingerprint]]], prefetch: bool
) -> list[list[tuple[int, str]]]:
    """Group feeds of items as the pipeline does: several feeds per committed transaction, one prefetch per feed."""
    answers: list[list[tuple[int, str]]] = []
    item_id = 10_000
    for feeds in transactions:
        with Session(engine) as session:
            for feed in feeds:
                index = SqlStoryIndex(session)
                if prefetch:
                    index.prefetch(feed, timedelta(days=30))
                for new in feed:
                    found = index.candidates(index_keys(new), since=new.at - timedelta(days=30))
                    answers.append([(story, old.url) for story, old in found])
                    item_id += 1
                    index.add(found[0][0] if found else item_id, item_id, new)
            session.commit()
    return answers


def test_feeds_in_successive_transactions_answer_like_the_per_item_query(tmp_path: Path) -> None:
    """The process keeps the committed rows of the keys it read; later transactions must see the same.

    The first transaction writes more than 4 x PER_KEY rows under some keys (its own rows are then cut).
    """
    transactions = [[_crowded(10 * t + f, 60 if t == 0 else 12, 5 * t, 8) for f in range(4)] for t in range(5)]
    plain = _group_in_transactions(make_engine(str(tmp_path / "plain.db")), transactions, prefetch=False)
    cached = _group_in_transactions(make_engine(str(tmp_path / "cached.db")), transactions, prefetch=True)
    assert cached == plain
    assert sum(len(a) for a in plain) > 8 * len(plain)  # crowded: most lookups rank and cut


def test_a_commit_folds_its_rows_into_the_process_cache_as_reading_them_would(tmp_path: Path) -> None:
    """After each commit the rows the process holds are what reading them afresh gives, and it holds every
    committed row (max_id), so the next transaction need not read its predecessor's rows back."""
    engine = make_engine(str(tmp_path / "stories.db"))
    committed = _committed_rows(engine)
    for t in range(4):
        _group_in_transactions(
            engine, [[_crowded(100 * t + f, 40 if t == 0 else 15, 4 * t, 8) for f in range(3)]], True
        )
        with engine.connect() as conn:
            top = conn.exec_driver_sql("SELECT max(id) FROM story_key").scalar()
            read = [
                (key, conn.exec_driver_sql(_NEWEST_COMMITTED, (key, committed.floor, top, PER_KEY)))
                for key in committed.rows
            ]
            fresh = {key: [tuple(row) for row in rows] for key, rows in read}
        assert committed.max_id == top
        assert committed.rows == fresh
        assert sum(len(rows) == PER_KEY for rows in fresh.values()) > 10  # crowded keys: the newest rows were cut


def test_rows_committed_by_another_connection_are_seen_and_rolled_back_rows_are_not(tmp_path: Path) -> None:
    db = tmp_path / "stories.db"
    engine = make_engine(str(db))
    first = fp("Korvan Biologics signs $75 million manufacturing deal with Pellis Pharma", "https://a.example/1", 0)
    again = fp("Korvan Biologics signs $75 million manufacturing deal with Pellis Pharma", "https://b.example/2", 1)
    later = fp("Korvan Biologics signs $75 million manufacturing deal with Pellis Pharma", "https://c.example/3", 2)

    def stories_for(target: StoryFingerprint) -> list[int]:
        with Session(engine) as session:
            index = SqlStoryIndex(session)
            index.prefetch([target], timedelta(days=30))
            return [story for story, _ in index.candidates(index_keys(target), since=target.at - timedelta(days=30))]

    with Session(engine) as session:  # written, looked up inside its transaction, then rolled back
        index = SqlStoryIndex(session)
        index.add(5, 1, first)
        index.prefetch([later], timedelta(days=30))  # reads the keys it shares with `first` for the first time
        assert [story for story, _ in index.candidates(index_keys(later), since=T0)] == [5]
        session.rollback()
    held = _committed_rows(engine).rows
    assert held and not [row for rows in held.values() for row in rows if row[1] == 1]
    assert stories_for(later) == []
    other = make_engine(str(db))  # another writer (a backfill process, say) commits a row
    with Session(other) as session:
        SqlStoryIndex(session).add(9, 2, again)
        session.commit()
    other.dispose()
    assert stories_for(later) == [9]
