"""The whole monitor as a user runs it: the real `monitor` command in a subprocess, a feed server and a
Slack stand-in on 127.0.0.1, a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import FeedServer, SlackStandIn, rss
from tests.workspace import Db, Workspace

CONTRACT = {
    # Publishers double-escape: this arrives as the text "<!channel> ... <https://evil.example|login>".
    "title": "&lt;!channel&gt; Lonza signs manufacturing agreement with Acme Therapeutics "
    "&lt;https://evil.example|login&gt;",
    "link": "https://news.example.com/lonza-acme?utm_source=rss",
    "guid": "news-101",
    "description": "Swiss CDMO Lonza will produce Acme's antibody at its Visp site under a multi-year contract.",
    "pubDate": "Sun, 22 Nov 2026 08:00:00 GMT",
}
NOISE = {
    "title": "Acme Therapeutics reports third-quarter results",
    "link": "https://news.example.com/acme-q3",
    "guid": "news-102",
    "description": "Revenue rose 4% on higher sales of its marketed products.",
    "pubDate": "Sun, 22 Nov 2026 08:30:00 GMT",
}
OLD = {
    "title": "Celltrion opens new biologics plant in Incheon",
    "link": "https://news.example.com/celltrion-plant",
    "guid": "news-100",
    "description": "The plant completed construction and started GMP operation.",
    "pubDate": "Sat, 21 Nov 2026 08:00:00 GMT",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with FeedServer() as feeds, SlackStandIn() as slack:
        (tmp_path / "feeds.yaml").write_text(
            "feeds:\n"
            f"  - name: trade-news\n    url: '{feeds.url('/trade.xml')}'\n    interval: 15m\n"
            f"  - name: broken\n    url: '{feeds.url('/missing.xml')}'\n",
            encoding="utf-8",
        )
        (tmp_path / "alerts").mkdir()
        (tmp_path / "alerts" / "default.yaml").write_text(
            "name: everything\nevents: [cdmo_contract, plant_milestone]\nchannel: '#cdmo'\n", encoding="utf-8"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": slack.api_url,
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",
            "MONITOR_DB": str(tmp_path / "monitor.db"),
        }
        yield Workspace(tmp_path, feeds, slack, env)


def test_baseline_then_one_escaped_alert_per_new_flagged_item(workspace: Workspace) -> None:
    workspace.feeds.set("/trade.xml", rss([OLD]))
    first = workspace.monitor("poll")
    assert "baseline" in first.stderr
    assert workspace.slack.posts() == []  # adding a feed never floods Slack

    workspace.feeds.set("/trade.xml", rss([OLD, CONTRACT, NOISE]))
    second = workspace.monitor("poll")
    posts = workspace.slack.posts()
    assert len(posts) == 1, second.stderr
    body = posts[0].body
    assert body["channel"] == "#cdmo"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    rendered = json.dumps(body)
    assert "<!channel>" not in rendered and "<https://evil.example|" not in rendered
    assert "&lt;!channel&gt; Lonza signs manufacturing agreement" in body["text"]
    assert "&lt;https://evil.example|login&gt;" in body["text"]
    assert "<https://news.example.com/lonza-acme|" in json.dumps(body["blocks"])  # tracking parameter removed
    assert posts[0].headers["authorization"] == "Bearer xoxb-test-token"

    workspace.monitor("poll")  # unchanged feed (304): nothing new
    assert len(workspace.slack.posts()) == 1

    exported = [json.loads(line) for line in workspace.monitor("export").stdout.splitlines()]
    by_guid = {item["guid"]: item for item in exported}
    assert set(by_guid) == {"news-100", "news-101", "news-102"}
    contract = by_guid["news-101"]
    assert contract["feed"] == "trade-news" and "cdmo_contract" in contract["labels"]
    assert contract["story_id"] is not None and isinstance(contract["entities"], dict)
    assert by_guid["news-102"]["labels"] == []
    assert {"guid", "url", "title", "feed", "published", "labels", "story_id", "entities"} <= set(contract)


def test_broken_feed_is_reported_and_others_still_poll(workspace: Workspace) -> None:
    workspace.feeds.set("/trade.xml", rss([OLD]))
    result = workspace.monitor("poll")
    assert result.returncode == 0
    assert "HTTP 404" in result.stderr and "broken" in result.stderr
    table = workspace.monitor("feeds").stdout
    assert "trade-news" in table and "HTTP 404" in table


def test_console_alerts_when_no_slack_is_configured(workspace: Workspace) -> None:
    del workspace.env["SLACK_BOT_TOKEN"]
    workspace.feeds.set("/trade.xml", rss([OLD]))
    workspace.monitor("poll")
    workspace.feeds.set("/trade.xml", rss([OLD, CONTRACT]))
    out = workspace.monitor("poll").stdout
    assert "[channel:#cdmo]" in out and "Lonza signs manufacturing agreement" in out
    assert workspace.slack.posts() == []


def test_invalid_configuration_exits_non_zero_naming_the_line(workspace: Workspace) -> None:
    (workspace.root / "feeds.yaml").write_text("feeds:\n  - name: x\n    url: 'ftp://x'\n", encoding="utf-8")
    result = workspace.monitor("poll", check=False)
    assert result.returncode == 1
    assert "feeds.yaml:3: feeds[0].url" in result.stderr
    assert workspace.monitor("check", check=False).returncode == 1


def test_events_lists_the_story(workspace: Workspace) -> None:
    workspace.feeds.set("/trade.xml", rss([OLD]))
    workspace.monitor("poll")
    workspace.feeds.set("/trade.xml", rss([OLD, CONTRACT]))
    workspace.monitor("poll")
    stories = json.loads(workspace.monitor("events", "--format", "json").stdout)
    titles = [s["title"] for s in stories]
    assert any("Lonza signs manufacturing agreement" in t for t in titles)
    csv_out = workspace.monitor("events", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("story_id,labels,title")


def test_ctrl_c_during_a_backfill_says_how_to_go_on_and_the_rerun_finishes_it(workspace: Workspace) -> None:
    lines = [
        json.dumps({"id": f"item-{i}", "title": f"Meridian Bioprocess names site lead number {i}",
                    "summary": f"Routine staffing update {i} at the plant.", "published": f"2026-{1 + i % 9:02d}-01"})
        for i in range(30_000)
    ]  # fmt: skip
    (workspace.root / "history.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = workspace.popen("backfill", "--from", "history.jsonl")
    db = workspace.db()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (db.path.exists() and _stored(db) > 0):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "backfill interrupted" in err and "run the same command again" in err and "Traceback" not in err
    interrupted = _stored(db)
    assert 0 < interrupted < 30_000
    workspace.monitor("backfill", "--from", "history.jsonl", timeout=300)
    assert _stored(db) == 30_000 and len(db.guids()) == 30_000


def _stored(db: Db) -> int:
    try:
        return db.count("item")
    except sqlite3.OperationalError:  # the tables are being created
        return 0
