"""`monitor reclassify` on a real SQLite file: labels rewritten, items moved into and out of stories."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import select

from monitor import store
from monitor.app import build_pipeline
from monitor.cli import main
from monitor.decide import QUIET, AlertPolicy
from monitor.pipeline import ingest, sync_config
from monitor.reclassify import describe, reclassify
from monitor.rules import AlertRule
from monitor.settings import Settings
from monitor.tables import Feed
from monitor.types import FeedSpec, ParsedItem

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULE = AlertRule(name="all", events=("cdmo_contract", "plant_milestone"), channel="#cdmo")
DEAL = "Halvorsen Biologics signs manufacturing agreement with Pellucid Bio for antibody supply"
OTHER = "Pellucid Bio names new chief financial officer"


def test_reclassify_rewrites_what_an_older_classifier_stored(tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    pipeline = build_pipeline(Settings(db=str(db), allow_private_networks=True), [RULE], clock=lambda: NOW)
    sync_config(pipeline, [FeedSpec(name="wire", url="http://127.0.0.1:9/feed.xml", interval=timedelta(minutes=30))])
    items = [
        ParsedItem(guid="deal", url="https://news.example.com/deal", title=DEAL, published=NOW - timedelta(days=1)),
        ParsedItem(guid="other", url="https://news.example.com/cfo", title=OTHER, published=NOW - timedelta(days=1)),
    ]
    with store.transaction(pipeline.engine) as session:
        feed = session.exec(select(Feed)).one()
        ingest(pipeline, session, feed, items, NOW, policy=QUIET)
    with sqlite3.connect(db) as conn:
        (deal_story,) = conn.execute("SELECT story_id FROM item WHERE guid = 'deal'").fetchone()
        assert deal_story is not None
        # what an older classifier might have left: the deal missed, the appointment taken for a contract
        conn.execute(
            "UPDATE item SET labels = '', entities = '{}', evidence = '{}', story_id = NULL WHERE guid = 'deal'"
        )
        conn.execute("UPDATE item SET labels = 'cdmo_contract', story_id = ? WHERE guid = 'other'", (deal_story,))

    summary = reclassify(pipeline, since=None, policy=QUIET)

    assert (summary.items, summary.newly_flagged, summary.unflagged) == (2, 1, 1)
    assert "newly flagged 1, no longer flagged 1" in describe(summary)
    with sqlite3.connect(db) as conn:
        rows = {g: (labels, json.loads(entities), json.loads(evidence), story)
                for g, labels, entities, evidence, story in conn.execute(
                    "SELECT guid, labels, entities, evidence, story_id FROM item")}  # fmt: skip
    labels, entities, evidence, story = rows["deal"]
    assert "cdmo_contract" in labels.split(",") and story is not None
    assert entities["cdmo"] == "Halvorsen Biologics"
    assert evidence["cdmo_contract"]
    assert rows["other"][0] == "" and rows["other"][3] is None
    assert rows["other"][1]["cdmo"] is None and rows["other"][2] == {}


def test_a_story_whose_items_were_all_unflagged_is_never_joined_again(tmp_path: Path) -> None:
    """A false positive that reclassify took out of its story must not swallow the real event's report later.

    Its blocking keys and fingerprint stay in the story index; without the check, a later report of a
    similar deal joined the emptied story (which had alerted) and never alerted itself.
    """
    db = tmp_path / "monitor.db"
    pipeline = build_pipeline(Settings(db=str(db), allow_private_networks=True), [RULE], clock=lambda: NOW)
    sync_config(pipeline, [FeedSpec(name="wire", url="http://127.0.0.1:9/feed.xml", interval=timedelta(minutes=30))])
    first = ParsedItem(guid="first", url="https://news.example.com/a", title=DEAL, published=NOW - timedelta(hours=2))
    with store.transaction(pipeline.engine) as session:
        feed = session.exec(select(Feed)).one()
        assert ingest(pipeline, session, feed, [first], NOW, policy=QUIET).stories == 1
    with sqlite3.connect(db) as conn:  # the publisher corrected the text: it was never a contract
        conn.execute("UPDATE item SET title = ? WHERE guid = 'first'", (OTHER,))
        (emptied,) = conn.execute("SELECT story_id FROM item WHERE guid = 'first'").fetchone()
    assert reclassify(pipeline, since=None, policy=QUIET).unflagged == 1

    later = NOW - timedelta(hours=1)
    second = ParsedItem(guid="second", url="https://other.example.com/b", title=DEAL, published=later)
    with store.transaction(pipeline.engine) as session:
        feed = session.exec(select(Feed)).one()
        counts = ingest(pipeline, session, feed, [second], NOW, policy=AlertPolicy())
    with sqlite3.connect(db) as conn:
        (story,) = conn.execute("SELECT story_id FROM item WHERE guid = 'second'").fetchone()
        alerts = conn.execute("SELECT count(*) FROM alert WHERE story_id = ?", (story,)).fetchone()[0]
    assert story != emptied and counts.stories == 1
    assert alerts == 1  # the real event alerts
    listed = CliRunner().invoke(main, ["--db", str(db), "events", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [event["story_id"] for event in json.loads(listed.output)] == [story]  # the emptied one is no event
