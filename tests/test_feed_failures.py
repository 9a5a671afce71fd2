"""A feed failing for a day is reported once and keeps being retried; success clears it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.app import build_pipeline
from monitor.pipeline import poll, sync_config
from monitor.settings import Settings
from monitor.types import FeedSpec
from tests.servers import FeedServer, rss

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def test_failing_for_a_day_is_reported_once_never_disabled(tmp_path: Path) -> None:
    now = [T0]
    pipeline = build_pipeline(
        Settings(db=str(tmp_path / "m.db"), allow_private_networks=True), [], clock=lambda: now[0]
    )
    with FeedServer() as server:
        spec = FeedSpec(name="flaky", url=server.url("/feed"), interval=timedelta(minutes=30))
        sync_config(pipeline, [spec])
        alarms = []
        for hours in (0, 6, 12, 23, 25, 30, 48):
            now[0] = T0 + timedelta(hours=hours)
            (result,) = poll(pipeline, ["flaky"])
            assert result.status == "error" and "404" in (result.error or "")
            alarms.append((hours, result.alarm))
        reported = [(h, a) for h, a in alarms if a]
        assert len(reported) == 1 and reported[0][0] == 25
        assert "failing since 2026-11-22 00:00 UTC" in (reported[0][1] or "")
        server.set("/feed", rss([{"title": "back", "guid": "1"}]))
        now[0] = T0 + timedelta(hours=49)
        (result,) = poll(pipeline, ["flaky"])
        assert result.status == "baseline"
        server.routes.pop("/feed")
        for hours in (50, 76):  # a new outage is reported again after its own day
            now[0] = T0 + timedelta(hours=hours)
            (result,) = poll(pipeline, ["flaky"])
        assert result.alarm is not None
