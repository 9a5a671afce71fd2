"""Injected faults and the invariants they must keep (catalogue rows X01–X20; crashes X09 in test_crash.py).

I1 no lost alert: every flagged new item ends with exactly one `sent` outbox row once the fault clears.
I2 no duplicate: Slack keeps at most one message per alert key.
I3 liveness: the next poll/delivery works without a restart.
The real pipeline runs in-process against the Slack stand-in; the clock is moved instead of sleeping.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event

from monitor.errors import MonitorError
from monitor.settings import load_settings
from tests.robustness.conftest import NOISE, Monitor, Workspace, contract, item, rss_doc, stored_keys
from tests.servers import SlackCall


def flagged(monitor: Monitor, count: int = 1) -> None:
    """Baseline one feed, then publish `count` flagged items and poll (alerts enqueued, not yet sent)."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")] + [contract(i) for i in range(count)]))
    monitor.advance(minutes=20)
    results = monitor.poll()
    assert results["wire"].alerts == count, results


def no_duplicates(monitor: Monitor, expected: int) -> None:
    keys = stored_keys(monitor.slack)
    assert len(keys) == expected and max(Counter(keys).values(), default=0) <= 1, keys
    assert monitor.db().alert_statuses() == {"sent": expected}


def drain_until_quiet(monitor: Monitor, rounds: int = 8, minutes: float = 70) -> None:
    for _ in range(rounds):
        monitor.deliver()
        monitor.advance(minutes=minutes)


def test_X01_429_with_retry_after_waits_then_sends_once(monitor: Monitor) -> None:
    """X01: 429 `Retry-After: 30`: no second request before +30 s, then exactly one message."""
    flagged(monitor)
    monitor.slack.script.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    monitor.deliver()
    monitor.advance(seconds=20)
    monitor.deliver()
    assert len(monitor.slack.posts()) == 1  # still waiting
    monitor.advance(seconds=15)
    monitor.deliver()
    no_duplicates(monitor, 1)


def test_X02_429_without_retry_after_backs_off_without_a_tight_loop(monitor: Monitor) -> None:
    """X02: 429 without Retry-After: default backoff; repeated drains within the same second make no new
    request (≤ 1 request), and the alert is delivered once after the backoff."""
    flagged(monitor)
    monitor.slack.script.append((429, {"ok": False, "error": "ratelimited"}, {}))
    for _ in range(5):
        monitor.deliver()
    assert len(monitor.slack.posts()) == 1
    drain_until_quiet(monitor)
    no_duplicates(monitor, 1)


def test_X03_server_errors_with_html_body_are_reconciled_to_one_message(monitor: Monitor) -> None:
    """X03: 500/503 with Slack's HTML error page three times (the first after Slack kept the message):
    ambiguous -> reconciled through conversations.history -> exactly one stored message."""
    flagged(monitor)
    page = "<html><body>Slack is having trouble</body></html>"
    monitor.slack.script += [(500, page, {}, True), (503, page, {}), (500, page, {})]
    drain_until_quiet(monitor)
    no_duplicates(monitor, 1)


def test_X04_connection_refused_is_retried_safely(monitor: Monitor) -> None:
    """X04: Slack unreachable (connection refused) -> the alert stays queued; once Slack is back, exactly
    one message."""
    flagged(monitor)
    good = monitor.env["SLACK_API_URL"]
    monitor.env["SLACK_API_URL"] = "http://127.0.0.1:9/api/"  # discard port: refused
    monitor.deliver()
    assert monitor.db().alert_statuses().get("sent") is None and monitor.slack.posts() == []
    monitor.env["SLACK_API_URL"] = good
    drain_until_quiet(monitor)
    no_duplicates(monitor, 1)


def test_X06_reset_after_slack_kept_the_message_does_not_duplicate(monitor: Monitor) -> None:
    """X06 (+X05): Slack stores the message, then the connection drops without an answer
    (RemoteDisconnected). No automatic slack-sdk retry (that would post twice), and reconciliation
    through metadata finds the message: exactly one."""
    flagged(monitor)
    state = {"n": 0}

    def drop_once(_call: SlackCall) -> None:
        state["n"] += 1
        if state["n"] == 1:
            raise ConnectionAbortedError("stand-in drops the connection after storing")

    monitor.slack.after_store = drop_once
    drain_until_quiet(monitor)
    no_duplicates(monitor, 1)
    assert len(monitor.slack.posts()) == 1  # never re-posted


@pytest.mark.parametrize(
    "error", ["invalid_auth", "token_revoked", "channel_not_found", "not_in_channel", "is_archived"]
)
def test_X07_configuration_errors_park_alerts_without_retry_storm(monitor: Monitor, error: str) -> None:
    """X07: a configuration error blocks the alerts (no retry storm: one request for the whole batch of
    three... at most one per alert), and after the fix (unblock) all are delivered once, in order."""
    from monitor.deliver import unblock_alerts

    flagged(monitor, 3)
    monitor.slack.script += [(200, {"ok": False, "error": error}, {})] * 3
    monitor.deliver()
    monitor.advance(minutes=5)
    monitor.deliver()
    posts_while_broken = len(monitor.slack.posts())
    assert posts_while_broken <= 3 and monitor.db().alert_statuses().get("blocked", 0) >= 1
    monitor.slack.script.clear()
    unblock_alerts(monitor.pipeline.engine, monitor.clock())
    drain_until_quiet(monitor)
    no_duplicates(monitor, 3)
    titles = [str(m["text"]) for m in monitor.slack.messages]
    assert [t.split(": ", 1)[1][:10] for t in titles] == [
        c["title"][:10] for c in (contract(0), contract(1), contract(2))
    ]


def test_X08_rejected_blocks_fall_back_to_plain_text_once(monitor: Monitor) -> None:
    """X08: `invalid_blocks` -> the minimal plain-text message is sent once; the alert is `sent`."""
    flagged(monitor)
    monitor.slack.script.append((200, {"ok": False, "error": "invalid_blocks"}, {}))
    drain_until_quiet(monitor)
    no_duplicates(monitor, 1)
    assert not monitor.slack.messages[0].get("blocks")


def test_X11_database_locked_briefly_by_another_process_loses_nothing(monitor: Monitor) -> None:
    """X11: another connection holds `BEGIN IMMEDIATE` for 2 s while a poll writes: the poll waits
    (busy timeout), then commits everything; nothing lost, alerts once."""
    flagged(monitor)  # creates the database
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")] + [contract(i) for i in range(3)]))
    locked = threading.Event()

    def hold() -> None:
        holder = sqlite3.connect(monitor.env["MONITOR_DB"], timeout=30, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(2.0)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(5)
    monitor.advance(minutes=20)
    started = time.monotonic()
    results = monitor.poll()
    thread.join()
    assert time.monotonic() - started >= 1.5 and results["wire"].alerts == 2
    drain_until_quiet(monitor, rounds=2)
    no_duplicates(monitor, 3)


def test_X12_disk_full_rolls_back_then_recovers_without_loss(monitor: Monitor) -> None:
    """X12: SQLITE_FULL (PRAGMA max_page_count on every connection): the poll fails with a clear storage
    error, nothing partial is stored; once space is back the next poll stores everything and alerts once."""
    flagged(monitor, 1)
    monitor.deliver()
    engine = monitor.pipeline.engine
    pages = int(monitor.db().rows("PRAGMA page_count")[0][0])

    def full(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    event.listen(engine, "connect", full)
    engine.dispose()
    big = [item({"title": f"Filler {n} " + "x" * 3000, "description": "y" * 3000}, f"fill-{n}") for n in range(200)]
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), contract(0), *big, contract(1)]))
    monitor.advance(minutes=20)
    before = monitor.db().count("item")
    with pytest.raises(MonitorError, match=r"(?i)full|database"):
        monitor.poll()
    assert monitor.db().count("item") == before  # rolled back
    event.remove(engine, "connect", full)
    engine.dispose()
    monitor.advance(minutes=20)
    assert monitor.poll()["wire"].alerts == 1
    drain_until_quiet(monitor, rounds=2)
    no_duplicates(monitor, 2)


def test_X13_clock_jumps_forward_and_back_keep_one_poll_and_no_duplicates(monitor: Monitor) -> None:
    """X13: +10 years -> each feed polled once (coalesced, no catch-up storm); -1 hour -> nothing due, no
    duplicate alerts; forward again -> normal polling."""
    flagged(monitor)
    monitor.deliver()
    hits = len(monitor.feeds.hits("/wire.xml"))
    monitor.advance(days=3650)
    assert list(monitor.poll()) == ["wire"] and len(monitor.feeds.hits("/wire.xml")) == hits + 1
    assert monitor.poll() == {}
    monitor.advance(hours=-1)
    assert monitor.poll() == {}
    monitor.deliver()
    monitor.advance(hours=2)
    monitor.poll()
    monitor.deliver()
    no_duplicates(monitor, 1)


def test_X14_feed_down_backs_off_is_never_disabled_and_recovers_once(monitor: Monitor) -> None:
    """X14: the feed server refuses, then answers 503 with Retry-After, for ~6 h: the feed backs off, stays
    enabled, its error is recorded; on recovery the items published meanwhile alert exactly once."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    monitor.feeds.set("/wire.xml", b"down", status=503, headers={"Retry-After": "600"}, conditional=False)
    polls = 0
    for _ in range(36):  # 6 hours in 10-minute steps
        monitor.advance(minutes=10)
        polls += len(monitor.poll())
    row = monitor.db().feed("wire")
    assert row["enabled"] and not row["gone"] and row["consecutive_failures"] == polls and "503" in row["last_error"]
    assert polls <= 12  # backing off: far fewer than the 24 polls a 15-minute interval would make
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), contract(0, when=monitor.now)]))
    for _ in range(5):
        monitor.advance(hours=5)
        monitor.poll()
        monitor.deliver()
    no_duplicates(monitor, 1)


def test_X15_slack_down_for_hours_keeps_every_alert_and_sends_each_once(monitor: Monitor) -> None:
    """X15: Slack answers 503 for a long time: the outbox keeps every alert; on recovery each is sent
    exactly once."""
    flagged(monitor, 4)
    monitor.slack.script += [(503, {"ok": False, "error": "service_unavailable"}, {})] * 6
    drain_until_quiet(monitor, rounds=12)
    no_duplicates(monitor, 4)


def test_X15_recovery_drains_in_creation_order(monitor: Monitor) -> None:
    """X15: when Slack recovers in the middle of a batch, the backlog is still delivered oldest first."""
    flagged(monitor, 4)
    monitor.slack.script += [(503, {"ok": False, "error": "service_unavailable"}, {})] * 6
    drain_until_quiet(monitor, rounds=12)
    assert [str(m["text"]).split(": ", 1)[1][:12] for m in monitor.slack.messages] == [
        contract(i)["title"][:12] for i in range(4)
    ]


def test_X16_one_feeds_parser_crash_is_isolated(monitor: Monitor, monkeypatch: pytest.MonkeyPatch) -> None:
    """X16: feedparser raising an unexpected RuntimeError on one feed's body: that feed's error is recorded,
    the other feed is processed and alerts. (The poisoned body is not well-formed, so the fast path declines
    it, as it does every document it does not fully understand, and feedparser reads it. Only feedparser is
    patched: the monitor's own modules may be compiled, and a compiled module's internal calls ignore
    monkeypatching.)"""
    import feedparser

    from monitor.fastparse import fast_parse

    real = feedparser.parse
    poisoned = rss_doc([item({"title": "POISON", "description": "x"}, "p")]).replace("</rss>", "")
    assert fast_parse(poisoned.encode(), {}) is None

    def flaky(source: object, *args: object, **kwargs: object) -> object:
        data = source.getvalue() if hasattr(source, "getvalue") else source
        if b"POISON" in data:  # type: ignore[operator]
            raise RuntimeError("parser bug")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(feedparser, "parse", flaky)
    monitor.write_feeds({"poison": "/p.xml", "good": "/g.xml"})
    monitor.feeds.set("/p.xml", rss_doc([item(NOISE, "n")]))
    monitor.feeds.set("/g.xml", rss_doc([item(NOISE, "m")]))
    monitor.poll()
    monitor.feeds.set("/p.xml", poisoned)
    monitor.feeds.set("/g.xml", rss_doc([item(NOISE, "m"), contract(0)]))
    results = monitor.cycle()
    assert results["poison"].status == "error" and "RuntimeError" in (results["poison"].error or "")
    assert results["good"].alerts == 1
    no_duplicates(monitor, 1)


@pytest.mark.slow
def test_X17_two_concurrent_polls_never_duplicate(workspace: Workspace) -> None:
    """X17: two `monitor poll` processes at the same moment on one database: UNIQUE keys and the outbox
    claim keep it to one message per alert; nothing lost."""
    workspace.write_feeds({"wire": "/wire.xml"})
    workspace.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    assert workspace.run("poll").returncode == 0
    workspace.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), contract(0), contract(1)]))
    first, second = workspace.popen("poll", "--feed", "wire"), workspace.popen("poll", "--feed", "wire")
    assert first.wait(60) == 0 and second.wait(60) == 0, (first.stderr, second.stderr)
    keys = stored_keys(workspace.slack)
    assert len(keys) == 2 and len(set(keys)) == 2
    assert workspace.db().alert_statuses() == {"sent": 2}


def test_X19_corrupt_database_refuses_to_start_and_is_not_reinitialised(workspace: Workspace) -> None:
    """X19: a garbage database file: `monitor poll` exits 1 with a clear database error and leaves the
    file untouched (no silent re-init that would re-alert everything)."""
    workspace.write_feeds({"wire": "/wire.xml"})
    db = Path(workspace.env["MONITOR_DB"])
    db.write_bytes(b"this is not an sqlite database" * 100)
    before = db.read_bytes()
    result = workspace.run("poll")
    assert result.returncode == 1 and "database" in result.stderr.lower()
    assert db.read_bytes() == before and workspace.feeds.hits("/wire.xml") == []


def test_X20_invalid_hot_reload_keeps_the_last_good_configuration(monitor: Monitor) -> None:
    """X20: feeds.yaml edited to invalid YAML while `run` is running: the scheduler keeps the last good
    feeds, reports the rejection, and no feed is dropped."""
    from monitor.app import build_notifiers
    from monitor.scheduler import Runner, config_fingerprint

    monitor.write_feeds({"wire": "/wire.xml", "trade": "/trade.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.feeds.set("/trade.xml", rss_doc([item(NOISE, "t")]))
    settings = load_settings(monitor.env)
    runner = Runner(settings, monitor.pipeline, build_notifiers(settings), config_fingerprint(settings))
    runner.poll_due()
    (monitor.root / "feeds.yaml").write_text("feeds:\n  - name: wire\n\turl: broken\n", encoding="utf-8")
    monitor.feeds.set("/trade.xml", rss_doc([item(NOISE, "t"), contract(0)]))
    monitor.advance(minutes=20)
    runner.poll_due()
    runner.deliver()
    row = monitor.db().feed("trade")
    assert row["enabled"] and row["last_error"] is None
    assert len(monitor.feeds.hits("/trade.xml")) == 2 and len(monitor.slack.posts()) == 1
