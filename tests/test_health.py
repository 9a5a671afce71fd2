"""Health: the verdict as a pure function of state and time, the Prometheus text, and the HTTP endpoint
over a real SQLite file."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor import store
from monitor.health import (
    DEGRADED,
    HEALTHY,
    UNHEALTHY,
    FeedState,
    HealthServer,
    OutboxState,
    PollMetrics,
    check_health,
    evaluate,
    failing_too_long,
    render_metrics,
    serve_health,
)
from monitor.pipeline import PollResult
from monitor.tables import Alert, Feed, Story

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OK = FeedState("trade-news", next_poll_at=NOW + timedelta(minutes=5), last_success_at=NOW - timedelta(minutes=10))


def test_a_fresh_healthy_monitor_exits_0() -> None:
    report = evaluate([OK], OutboxState(), NOW)
    assert (report.status, report.exit_code, report.findings) == (HEALTHY, 0, ())


def test_feeds_overdue_mean_polling_has_stalled() -> None:
    late = replace(OK, name="late", next_poll_at=NOW - timedelta(minutes=40))
    slightly = replace(OK, name="slightly", next_poll_at=NOW - timedelta(minutes=5))
    report = evaluate([OK, late, slightly], OutboxState(), NOW)
    assert (report.status, report.exit_code) == (UNHEALTHY, 1)
    assert "1 feed(s) overdue" in report.findings[0].message and "late, 40m late" in report.findings[0].message


def test_disabled_and_gone_feeds_are_never_overdue() -> None:
    old = NOW - timedelta(days=3)
    disabled = replace(OK, name="off", enabled=False, next_poll_at=old)
    report = evaluate([OK, disabled], OutboxState(), NOW)
    assert report.status == HEALTHY


def test_a_feed_failing_for_a_day_degrades_with_its_error() -> None:
    failing = replace(OK, name="broken", consecutive_failures=7, last_error="HTTP 503 from x",
                      last_success_at=NOW - timedelta(hours=25))  # fmt: skip
    report = evaluate([OK, failing], OutboxState(), NOW)
    assert (report.status, report.exit_code) == (DEGRADED, 1)
    assert report.findings[0].message == "feed broken: failing for 25h00m (7 consecutive failures): HTTP 503 from x"


def test_failing_for_less_than_a_day_is_not_reported() -> None:
    recent = replace(OK, consecutive_failures=3, last_success_at=NOW - timedelta(hours=23))
    assert not failing_too_long(recent, NOW)
    assert evaluate([recent], OutboxState(), NOW).status == HEALTHY


def test_a_feed_that_never_succeeded_is_reported_after_three_failures() -> None:
    never = replace(OK, last_success_at=None, consecutive_failures=2)
    assert evaluate([never], OutboxState(), NOW).status == HEALTHY
    report = evaluate([replace(never, consecutive_failures=3)], OutboxState(), NOW)
    assert report.status == DEGRADED and "since it was added" in report.findings[0].message


def test_410_degrades_and_301_is_only_a_note() -> None:
    gone = replace(OK, name="gone", gone=True)
    moved = replace(OK, name="moved", moved_to="https://new.example.com/feed")
    report = evaluate([OK, gone, moved], OutboxState(), NOW)
    assert report.status == DEGRADED
    assert [f.severity for f in report.findings] == ["degraded", "note"]
    assert "410 Gone" in report.findings[0].message and "use https://new.example.com/feed" in report.findings[1].message
    assert evaluate([OK, moved], OutboxState(), NOW).status == HEALTHY


def test_outbox_problems_degrade() -> None:
    stuck = OutboxState({"pending": 3, "sent": 10}, oldest_queued_at=NOW - timedelta(hours=2))
    assert stuck.depth == 3
    report = evaluate([OK], stuck, NOW)
    assert report.status == DEGRADED and "3 alert(s) waiting, the oldest for 2h00m" in report.findings[0].message
    assert evaluate([OK], OutboxState({"pending": 3}, NOW - timedelta(minutes=1)), NOW).status == HEALTHY
    blocked = evaluate([OK], OutboxState({"blocked": 1}), NOW)
    assert blocked.status == DEGRADED and "blocked" in blocked.findings[0].message


def test_no_enabled_feed_degrades() -> None:
    report = evaluate([replace(OK, enabled=False)], OutboxState(), NOW)
    assert report.status == DEGRADED and "no feed is enabled" in report.findings[-1].message
    empty = evaluate([], OutboxState(), NOW)  # a database nothing has polled yet says so, not "none enabled"
    assert empty.status == DEGRADED and "no feed in the database yet" in empty.findings[-1].message


# -- metrics ----------------------------------------------------------------------------------------


def _samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, checking every line is valid exposition format."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) \w+ .+", line), line
            continue
        match = re.fullmatch(r'(\w+(?:\{(?:\w+="(?:[^"\\]|\\.)*",?)*\})?) (-?[\d.e+]+)', line)
        assert match, line
        samples[match.group(1)] = float(match.group(2))
    return samples


def test_metrics_text_has_counters_depth_and_lag_per_feed() -> None:
    counters = PollMetrics()
    counters.record([PollResult("a", "ok", new_items=4, alerts=1), PollResult("b", "error", error="x"),
                     PollResult("c", "not_modified")], seconds=1.5)  # fmt: skip
    late = replace(OK, name='we"ird\\name', next_poll_at=NOW - timedelta(seconds=90), consecutive_failures=2)
    outbox = OutboxState({"pending": 2, "sending": 1, "sent": 5}, NOW - timedelta(minutes=1))
    samples = _samples(render_metrics([OK, late], outbox, NOW, counters))
    assert samples['monitor_polls_total{status="ok"}'] == 1
    assert samples["monitor_poll_errors_total"] == 1
    assert samples["monitor_items_new_total"] == 4
    assert samples["monitor_alerts_enqueued_total"] == 1
    assert samples["monitor_outbox_depth"] == 3
    assert samples['monitor_feed_lag_seconds{feed="trade-news"}'] == 0
    assert samples['monitor_feed_lag_seconds{feed="we\\"ird\\\\name"}'] == 90
    assert samples['monitor_feed_consecutive_failures{feed="we\\"ird\\\\name"}'] == 2
    assert samples['monitor_feeds{state="failing"}'] == 1
    assert samples["monitor_up"] == 1


# -- over a database and HTTP -----------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = store.make_engine(str(tmp_path / "monitor.db"))
    with store.transaction(engine) as session:
        session.add(Feed(name="ok", url="https://a.example/feed", next_poll_at=NOW + timedelta(minutes=5),
                         last_success_at=NOW, item_count=12))  # fmt: skip
        session.add(Feed(name="old", url="https://b.example/feed", gone=True, last_error="HTTP 410"))
        story = Story(first_seen_at=NOW, last_seen_at=NOW)
        session.add(story)
        session.flush()
        assert story.id is not None
        session.add(Alert(dedupe_key="1", story_id=story.id, rule="r", destination="#x", created_at=NOW))
    return engine


@pytest.fixture
def endpoint(engine: Engine) -> Iterator[HealthServer]:
    server = serve_health(engine, port=0, clock=lambda: NOW + timedelta(minutes=1))
    try:
        yield server
    finally:
        server.close()


def test_check_health_reads_the_database(engine: Engine) -> None:
    report = check_health(engine, NOW + timedelta(minutes=1))
    assert report.status == DEGRADED and "feed old: 410 Gone" in report.findings[0].message
    assert report.lines()[0].startswith("DEGRADED at 2026-11-22 12:01:00")


def test_an_unreadable_database_is_unhealthy(tmp_path: Path) -> None:
    engine = store.make_engine(str(tmp_path / "monitor.db"))
    Feed.metadata.drop_all(engine)
    assert check_health(engine, NOW).status == UNHEALTHY


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_healthz_answers_503_with_reasons_when_not_healthy(endpoint: HealthServer) -> None:
    status, content_type, body = _get(endpoint.url + "/healthz")
    assert (status, content_type) == (503, "application/json")
    data = json.loads(body)
    assert data["status"] == "degraded" and "410 Gone" in data["findings"][0]["message"]


def test_healthz_answers_200_when_healthy(engine: Engine, endpoint: HealthServer) -> None:
    with store.transaction(engine) as session:
        for row in store.all_feeds(session):
            row.enabled = row.name == "ok"
    status, _, body = _get(endpoint.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "healthy"


def test_metrics_endpoint_serves_prometheus_text(endpoint: HealthServer) -> None:
    status, content_type, body = _get(endpoint.url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    samples = _samples(body)
    assert samples["monitor_outbox_depth"] == 1
    assert samples['monitor_feed_items{feed="ok"}'] == 12
    assert samples['monitor_feeds{state="gone"}'] == 1
    assert samples["monitor_outbox_oldest_age_seconds"] == 60
    assert _get(endpoint.url + "/nothing")[0] == 404
