"""SqlStoryIndex on a temporary SQLite file: keys and window decide the candidates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, SQLModel, create_engine

from monitor.grouping import StoryFingerprint, assign_story, fingerprint, index_keys
from monitor.story_index import SqlStoryIndex
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
