"""Every per-feed state transition of a poll, through the real pipeline: `pipeline.poll` with a fresh
SQLite file and feeds served on 127.0.0.1 (tests/servers.py), plus a raw-socket server that drips bytes.

The clock starts at the real time (Retry-After dates are read against it) and is moved forward by hand.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
import tracemalloc
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from monitor import store
from monitor.cli import main as cli
from monitor.errors import FetchError
from monitor.fetch import fetch, make_client, release_idle_connections
from monitor.pipeline import Pipeline, PollResult, poll, sync_config
from monitor.tables import Feed, Item
from monitor.types import FeedSpec
from monitor.vocabulary import load_vocabulary
from tests.servers import FeedServer, rss

INTERVAL = timedelta(minutes=15)
ITEMS = [{"title": "Lonza signs supply deal", "guid": "a-1", "link": "https://news.example.com/a-1"},
         {"title": "Acme posts results", "guid": "a-2", "link": "https://news.example.com/a-2"}]  # fmt: skip


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Poller:
    """A pipeline on a temporary database, polling one feed called "f"."""

    pipeline: Pipeline
    clock: Clock
    db: Path

    def poll(self) -> list[PollResult]:
        return poll(self.pipeline)

    def poll_one(self) -> PollResult:
        results = self.poll()
        assert len(results) == 1, results
        return results[0]

    def row(self) -> Feed:
        with store.transaction(self.pipeline.engine) as session:
            return next(f for f in store.all_feeds(session) if f.name == "f")

    def delay(self) -> timedelta:
        """The time from now to the feed's next poll."""
        next_poll = self.row().next_poll_at
        assert next_poll is not None
        return next_poll - self.clock.now

    def wait_until_due(self) -> None:
        next_poll = self.row().next_poll_at
        assert next_poll is not None
        self.clock.now = max(self.clock.now, next_poll) + timedelta(seconds=1)


def make_poller(tmp_path: Path, url: str, *, allow_private: bool = True, timeout: float = 2.0, **client: Any) -> Poller:
    """`client` options (connect_timeout, deadline_s, max_bytes) go to make_client."""
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    db = tmp_path / "monitor.db"
    client.setdefault("connect_timeout", 1.0)
    pipeline = Pipeline(
        engine=store.make_engine(str(db)),
        http=make_client(timeout, allow_private=allow_private, **client),
        rules=[],
        vocabulary=load_vocabulary(),
        clock=clock,
        allow_private=allow_private,
    )
    sync_config(pipeline, [FeedSpec(name="f", url=url, interval=INTERVAL)])
    return Poller(pipeline, clock, db)


def feeds_table(db: Path) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), "feeds"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


# -- success paths ----------------------------------------------------------------------------------


def test_304_is_success_with_nothing_new_and_schedules_the_next_poll(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", rss(ITEMS))
    poller = make_poller(tmp_path, server.url("/feed"))
    first = poller.poll_one()
    assert (first.status, first.new_items) == ("baseline", 2)
    etag = poller.row().etag
    assert etag
    poller.wait_until_due()
    second = poller.poll_one()
    assert (second.status, second.new_items) == ("not_modified", 0)
    assert server.hits("/feed")[1]["if-none-match"] == etag
    row = poller.row()
    assert (row.consecutive_failures, row.item_count, row.etag) == (0, 2, etag)
    assert INTERVAL <= poller.delay() <= INTERVAL * 1.1  # the interval plus at most 10 % jitter


def test_not_due_feeds_are_not_fetched(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", rss(ITEMS))
    poller = make_poller(tmp_path, server.url("/feed"))
    poller.poll_one()
    poller.clock.now += INTERVAL / 2
    assert poller.poll() == []
    assert len(server.hits("/feed")) == 1


def test_an_unchanged_body_is_not_parsed_again(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", rss(ITEMS), conditional=False)  # a server that ignores validators
    poller = make_poller(tmp_path, server.url("/feed"))
    assert poller.poll_one().status == "baseline"
    body_hash = poller.row().body_hash
    poller.wait_until_due()
    assert poller.poll_one().status == "unchanged"
    assert poller.row().body_hash == body_hash
    server.set("/feed", rss([*ITEMS, {"title": "Samsung Biologics opens plant", "guid": "a-3"}]), conditional=False)
    poller.wait_until_due()
    changed = poller.poll_one()
    assert (changed.status, changed.new_items) == ("ok", 1)
    assert poller.row().body_hash != body_hash


def test_a_poll_stores_what_it_has_before_fetching_further_ahead(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold poll fetches faster than it stores: it must not hold every body and parsed feed at once."""
    import monitor.pipeline

    monkeypatch.setattr(monitor.pipeline, "FETCH_WINDOW", 2)
    monkeypatch.setattr(monitor.pipeline, "MAX_FEEDS_AHEAD", 2)
    monkeypatch.setattr(monitor.pipeline, "AHEAD_BATCH", 1)
    poller = make_poller(tmp_path, server.url("/feed/0"))
    count = 7
    sync_config(poller.pipeline, [FeedSpec(name=f"f{i}", url=server.url(f"/feed/{i}"), interval=INTERVAL)
                                  for i in range(count)])  # fmt: skip
    ahead: list[int] = []

    def count_unstored() -> None:  # runs in the server as each request arrives (WAL: reads committed rows)
        with sqlite3.connect(poller.db) as conn:
            stored = conn.execute("SELECT count(*) FROM feed WHERE last_success_at IS NOT NULL").fetchone()[0]
        ahead.append(len(server.requests) - stored)

    for i in range(count):
        server.set(f"/feed/{i}", rss(ITEMS), before=count_unstored)
    results = poll(poller.pipeline)
    assert [r.status for r in results] == ["baseline"] * count
    assert len(ahead) == count
    assert max(ahead) <= 2 + 2  # fetched and not handed over, plus handed over and not stored


def test_a_stopped_poll_stores_what_it_fetched_and_leaves_the_other_feeds_due(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM to `monitor run` mid-poll: no further fetch, nothing half done, the rest polled at the next start."""
    import monitor.pipeline

    monkeypatch.setattr(monitor.pipeline, "FETCH_WINDOW", 1)  # one fetch at a time: the stop lands at a known feed
    poller = make_poller(tmp_path, server.url("/feed/0"))
    count = 6
    sync_config(poller.pipeline, [FeedSpec(name=f"f{i}", url=server.url(f"/feed/{i}"), interval=INTERVAL)
                                  for i in range(count)])  # fmt: skip
    stop = threading.Event()
    for i in range(count):
        server.set(f"/feed/{i}", rss(ITEMS), before=stop.set if i == 2 else None)  # the signal comes with feed 2
    results = poll(poller.pipeline, stop=stop)
    assert [r.status for r in results] == ["baseline", "baseline"]  # feeds 0 and 1, handed over before the stop
    assert len(server.requests) <= 3 + 1  # feed 2, and at most the one fetch already started after it
    with store.transaction(poller.pipeline.engine) as session:
        due = sorted(row.name for row in store.due_feeds(session, poller.clock.now))
        stored = session.exec(select(Item)).all()
    assert due == ["f2", "f3", "f4", "f5"] and len(stored) == 2 * len(ITEMS)
    assert [r.status for r in poll(poller.pipeline)] == ["baseline"] * 4  # the next start polls the rest


def test_a_changed_body_tells_the_parse_worker_which_items_are_stored(server: FeedServer, tmp_path: Path) -> None:
    # poll() reads these before handing a changed body over, so repeated items are not classified again
    server.set("/feed", rss(ITEMS))
    poller = make_poller(tmp_path, server.url("/feed"))
    poller.poll_one()
    feed_id = poller.row().id
    assert feed_id is not None
    expected = {item["guid"] for item in ITEMS}
    assert store.recent_guids(poller.pipeline.engine, feed_id) == expected
    assert len(store.recent_guids(poller.pipeline.engine, feed_id, limit=1)) == 1
    assert store.recent_guids(poller.pipeline.engine, feed_id + 1) == frozenset()


# -- the server asks us to wait ---------------------------------------------------------------------


def test_429_with_retry_after_seconds_delays_the_next_poll(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"slow down", status=429, headers={"Retry-After": "7200"}, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"))
    result = poller.poll_one()
    assert result.status == "error" and "429" in (result.error or "")
    assert poller.delay() == timedelta(seconds=7200)  # longer than the 15-minute backoff
    poller.clock.now += timedelta(hours=1)
    assert poller.poll() == []
    assert len(server.hits("/feed")) == 1


def test_503_with_retry_after_http_date_delays_the_next_poll(server: FeedServer, tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "http://placeholder.invalid/")
    when = poller.clock.now + timedelta(hours=3)
    server.set("/feed", b"", status=503, headers={"Retry-After": formatdate(when.timestamp(), usegmt=True)},
               conditional=False)  # fmt: skip
    sync_config(poller.pipeline, [FeedSpec(name="f", url=server.url("/feed"), interval=INTERVAL)])
    assert poller.poll_one().status == "error"
    assert abs(poller.delay() - timedelta(hours=3)) < timedelta(seconds=5)


def test_retry_after_is_clamped_to_two_days(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"", status=429, headers={"Retry-After": "99999999"}, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"))
    poller.poll_one()
    assert poller.delay() == timedelta(days=2)


def test_errors_back_off_exponentially_up_to_a_day_and_success_resets(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"oops", status=500, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"))
    delays = []
    for _ in range(9):
        assert poller.poll_one().status == "error"
        delays.append(poller.delay())
        poller.wait_until_due()
    minutes = [int(d.total_seconds() // 60) for d in delays]
    assert minutes == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    assert poller.row().consecutive_failures == 9
    server.set("/feed", rss(ITEMS))
    assert poller.poll_one().status == "baseline"
    row = poller.row()
    assert (row.consecutive_failures, row.last_error) == (0, None)
    assert poller.delay() <= INTERVAL * 1.1


# -- the feed moved or is gone ----------------------------------------------------------------------


def test_301_is_followed_and_recorded_as_a_suggested_url(server: FeedServer, tmp_path: Path) -> None:
    server.set("/old", b"", status=301, headers={"Location": "/new"}, conditional=False)
    server.set("/new", rss(ITEMS))
    poller = make_poller(tmp_path, server.url("/old"))
    assert poller.poll_one().status == "baseline"
    row = poller.row()
    assert (row.url, row.moved_to) == (server.url("/old"), server.url("/new"))  # the user decides
    assert f"moved permanently: use {server.url('/new')}" in feeds_table(poller.db)


def test_410_stops_polling_and_says_so(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"", status=410, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"))
    assert poller.poll_one().status == "error"
    row = poller.row()
    assert row.gone and "410 Gone: polling stopped" in (row.last_error or "")
    poller.clock.now += timedelta(days=3)
    assert poller.poll() == []
    assert len(server.hits("/feed")) == 1
    assert "stopped (410)" in feeds_table(poller.db)


def test_monitor_poll_leaves_out_gone_and_waiting_feeds_unless_named(server: FeedServer, tmp_path: Path) -> None:
    server.set("/gone", b"", status=410, conditional=False)
    server.set("/busy", b"slow down", status=429, headers={"Retry-After": "3600"}, conditional=False)
    server.set("/live", rss(ITEMS))
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "all.yaml").write_text("name: all\nevents: [cdmo_contract]\nchannel: '#x'\n")
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n"
        + "".join(f"  - name: {name}\n    url: '{server.url('/' + path)}'\n"
                  for name, path in [("old", "gone"), ("busy", "busy"), ("live", "live")])
    )  # fmt: skip
    args = ["--feeds", str(tmp_path / "feeds.yaml"), "--alerts", str(tmp_path / "alerts"),
            "--db", str(tmp_path / "monitor.db"), "poll"]  # fmt: skip
    env = {"MONITOR_ALLOW_PRIVATE_NETWORKS": "1", "COLUMNS": "250", "SLACK_BOT_TOKEN": ""}
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert "HTTP 410" in first.output and "HTTP 429" in first.output
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0, again.output
    assert len(server.hits("/live")) == 2  # polled again: `monitor poll` is "now" for every other feed
    assert len(server.hits("/gone")) == 1 and len(server.hits("/busy")) == 1
    assert "not polled: old (410 Gone" in again.output and "--feed old" in again.output
    assert "not polled: busy (its server asked, with Retry-After, to wait until" in again.output
    named = CliRunner().invoke(cli, [*args, "--feed", "old", "--feed", "busy"], env=env)
    assert named.exit_code == 0, named.output
    assert len(server.hits("/gone")) == 2 and len(server.hits("/busy")) == 2 and "not polled" not in named.output
    server.set("/busy", rss(ITEMS))  # the server is back: a success ends the wait
    assert CliRunner().invoke(cli, [*args, "--feed", "busy"], env=env).exit_code == 0
    last = CliRunner().invoke(cli, args, env=env)
    assert "not polled: busy" not in last.output and len(server.hits("/busy")) == 4


# -- limits -----------------------------------------------------------------------------------------


def test_a_slow_server_times_out(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", rss(ITEMS), delay_s=1.5, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"), timeout=0.3, connect_timeout=0.3)
    result = poller.poll_one()
    assert result.status == "error" and "timed out" in (result.error or "")
    assert poller.row().consecutive_failures == 1


class DripServer:
    """Sends a valid response head (or half of one) and then one byte every `every` seconds, for `limit` s."""

    def __init__(self, *, every: float = 0.1, limit: float = 8.0, headers_first: bool = True) -> None:
        self.every, self.limit, self.headers_first = every, limit, headers_first
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(limit)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed"

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n"
            pieces = [head, *[b"x"] * 1000] if self.headers_first else [bytes([b]) for b in head]
            deadline = time.monotonic() + self.limit
            for piece in pieces:
                if time.monotonic() > deadline:
                    return
                try:
                    conn.sendall(piece)
                except OSError:
                    return  # the client gave up: what the test wants
                time.sleep(self.every)

    def __enter__(self) -> DripServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.thread.join(timeout=self.limit + 1)


@pytest.mark.parametrize("headers_first", [True, False], ids=["dripping-body", "dripping-headers"])
def test_a_dripping_server_is_cut_off_at_the_total_deadline(tmp_path: Path, headers_first: bool) -> None:
    with DripServer(headers_first=headers_first) as drip:
        poller = make_poller(tmp_path, drip.url, timeout=0.5, connect_timeout=0.5, deadline_s=1.0)
        started = time.monotonic()
        result = poller.poll_one()
        elapsed = time.monotonic() - started
    assert result.status == "error" and "total deadline of 1 s exceeded" in (result.error or "")
    assert elapsed < 2.0  # each byte arrives well within the 0.5 s read timeout: only the deadline stops it


def test_an_oversized_body_is_refused(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"<rss>" + b"x" * (2 * 1024 * 1024), conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"), max_bytes=1024 * 1024)
    result = poller.poll_one()
    assert result.status == "error" and "exceeds 1 MiB" in (result.error or "")
    assert poller.row().consecutive_failures == 1


def _gzip_of_zeros(mib: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(mib)) + packer.flush()


def test_a_gzip_bomb_stops_at_the_default_cap_without_inflating(server: FeedServer, tmp_path: Path) -> None:
    bomb = _gzip_of_zeros(200)
    assert len(bomb) < 1024 * 1024
    server.set("/feed", bomb, headers={"Content-Encoding": "gzip"}, conditional=False)
    poller = make_poller(tmp_path, server.url("/feed"))
    tracemalloc.start()
    try:
        result = poller.poll_one()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "error" and "exceeds 10 MiB (decoded)" in (result.error or "")
    assert peak < 40 * 1024 * 1024  # 200 MiB never materialise: decoding stops at the 10 MiB cap


# -- address policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_without_the_opt_in(server: FeedServer, tmp_path: Path, host: str) -> None:
    server.set("/feed", rss(ITEMS))
    url = server.url("/feed").replace("127.0.0.1", host)
    poller = make_poller(tmp_path, url, allow_private=False)
    result = poller.poll_one()
    assert result.status == "error" and "MONITOR_ALLOW_PRIVATE_NETWORKS" in (result.error or "")
    assert server.hits("/feed") == []


def test_a_redirect_to_a_private_address_is_refused(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", b"", status=302, headers={"Location": "http://169.254.169.254/latest/"}, conditional=False)
    with make_client(timeout=1, connect_timeout=1) as client, pytest.raises(FetchError, match=r"169\.254\.169\.254"):
        # the first hop is allowed by a resolver that calls it public; the metadata address never is
        fetch(client, server.url("/feed"), resolve=lambda host, port: ["93.184.216.34"] if host == "127.0.0.1"
              else [host])  # fmt: skip
    assert len(server.hits("/feed")) == 1


def test_dns_rebinding_between_check_and_connect_is_refused_at_connect_time(server: FeedServer) -> None:
    server.set("/feed", rss(ITEMS))
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when checked, loopback when connecting

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    url = server.url("/feed").replace("127.0.0.1", "feeds.rebind.test")
    with make_client(timeout=1, connect_timeout=1) as client, pytest.raises(FetchError, match="at connect time"):
        fetch(client, url, resolve=rebinding)
    assert server.hits("/feed") == []


def test_a_host_that_passed_the_early_check_skips_it_for_a_while_but_every_connection_is_checked(
    server: FeedServer,
) -> None:
    server.set("/feed", rss(ITEMS))
    asked: list[str] = []

    def public_then_loopback(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.216.34"] if len(asked) == 1 else ["127.0.0.1"]

    url = server.url("/feed").replace("127.0.0.1", "feeds.memo.test")
    with make_client(timeout=1, connect_timeout=1) as client:
        for _ in range(2):
            with pytest.raises(FetchError, match="at connect time"):
                fetch(client, url, resolve=public_then_loopback)
        assert len(asked) == 3  # one early check for both fetches; each connection looked up on its own
        release_idle_connections(client)  # the fetch run ended: the next one checks early again
        with pytest.raises(FetchError, match=r"refused feeds\.memo\.test \(127\.0\.0\.1\): loopback"):
            fetch(client, url, resolve=public_then_loopback)
        assert len(asked) == 4
        refusals_asked = len(asked)
        for _ in range(2):  # a refusal is never remembered as a pass
            with pytest.raises(FetchError, match=r"refused feeds\.memo\.test \(127\.0\.0\.1\): loopback"):
                fetch(client, url, resolve=public_then_loopback)
        assert len(asked) == refusals_asked + 2
    assert server.hits("/feed") == []


def test_connections_go_to_the_address_that_was_checked(server: FeedServer) -> None:
    server.set("/feed", rss(ITEMS))
    url = server.url("/feed").replace("127.0.0.1", "feeds.pinned.test")  # a name no real DNS knows
    with make_client(timeout=1, connect_timeout=1) as client:
        result = fetch(client, url, allow_private=True, resolve=lambda host, port: ["127.0.0.1"])
    assert result.status == 200
    assert server.hits("/feed")[0]["host"].startswith("feeds.pinned.test")


def test_a_client_made_without_the_opt_in_refuses_private_addresses_even_outside_fetch(server: FeedServer) -> None:
    server.set("/feed", rss(ITEMS))
    with make_client(timeout=1, connect_timeout=1) as client, pytest.raises(FetchError, match="at connect time"):
        client.get(server.url("/feed"))
    assert server.hits("/feed") == []


# -- configuration reload ---------------------------------------------------------------------------


def test_run_picks_up_feed_edits_and_keeps_the_last_good_configuration(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from monitor.app import build_notifiers
    from monitor.scheduler import Runner
    from monitor.settings import Settings

    feeds, alerts = tmp_path / "feeds.yaml", tmp_path / "alerts"
    alerts.mkdir()
    (alerts / "all.yaml").write_text("name: all\nevents: [cdmo_contract]\nchannel: '#x'\n")
    feeds.write_text(f"feeds:\n  - name: f\n    url: '{server.url('/a')}'\n")
    settings = Settings(
        feeds_path=feeds, alerts_dir=alerts, db=str(tmp_path / "monitor.db"), allow_private_networks=True
    )
    poller = make_poller(tmp_path, server.url("/a"))
    runner = Runner(settings, poller.pipeline, build_notifiers(settings))

    def enabled() -> dict[str, str]:
        with store.transaction(poller.pipeline.engine) as session:
            return {row.name: row.url for row in store.all_feeds(session) if row.enabled}

    runner.reload_if_changed()
    assert enabled() == {"f": server.url("/a")} and [r.name for r in poller.pipeline.rules] == ["all"]
    feeds.write_text(
        f"feeds:\n  - name: f\n    url: '{server.url('/a')}'\n  - name: g\n    url: '{server.url('/b')}'\n"
    )
    capsys.readouterr()
    runner.reload_if_changed()
    assert enabled() == {"f": server.url("/a"), "g": server.url("/b")}
    assert "configuration reloaded: 2 feeds, 1 rules" in capsys.readouterr().out
    feeds.write_text("feeds:\n  - name: f\n    url: 'ftp://nowhere'\n    interval: soon\n")  # invalid edit
    with caplog.at_level(logging.ERROR, logger="monitor"):
        runner.reload_if_changed()
    (rejected,) = [r.getMessage() for r in caplog.records if "configuration edit rejected" in r.getMessage()]
    assert "keeping the last good one" in rejected and "feeds[0].url" in rejected and "feeds[0].interval" in rejected
    assert "reloaded" not in capsys.readouterr().out
    assert enabled() == {"f": server.url("/a"), "g": server.url("/b")}
    assert [r.name for r in poller.pipeline.rules] == ["all"]
