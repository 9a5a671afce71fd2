"""`monitor run` as a real subprocess: polls on schedule, reloads edited configuration, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.servers import FeedServer, SlackStandIn, rss

ITEM = {"title": "Acme reports results", "guid": "r-1", "link": "https://n.example/1"}


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def polled(db: Path, feed: str) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            row = connection.execute("SELECT last_success_at FROM feed WHERE name = ?", (feed,)).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def test_run_polls_reloads_configuration_and_stops_on_sigterm(tmp_path: Path) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.set("/a.xml", rss([ITEM]))
        feeds.set("/b.xml", rss([ITEM]))
        feeds_yaml = tmp_path / "feeds.yaml"
        feeds_yaml.write_text(f"feeds:\n  - {{name: a, url: '{feeds.url('/a.xml')}'}}\n", encoding="utf-8")
        (tmp_path / "alerts").mkdir()
        (tmp_path / "alerts" / "all.yaml").write_text(
            "name: all\nevents: [cdmo_contract, plant_milestone]\nchannel: '#x'\n", encoding="utf-8"
        )
        db = tmp_path / "monitor.db"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",
            "MONITOR_DB": str(db),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": slack.api_url,
        }
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--tick", "1", "--health-port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert wait_for(lambda: polled(db, "a")), "feed a was never polled"
            assert wait_for(lambda: "monitor_polls_total" in _get(f"http://127.0.0.1:{port}/metrics"))
            assert '"status": "healthy"' in _get(f"http://127.0.0.1:{port}/healthz")
            health = subprocess.run(
                [sys.executable, "-m", "monitor", "health"], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            assert health.returncode == 0 and health.stdout.startswith("HEALTHY"), health.stdout
            # an invalid edit is reported and the last good configuration stays in force
            feeds_yaml.write_text("feeds:\n  - {name: a, url: 'ftp://nowhere'}\n", encoding="utf-8")
            time.sleep(2.5)
            assert process.poll() is None
            # a valid edit adds feed b without a restart
            feeds_yaml.write_text(
                f"feeds:\n  - {{name: a, url: '{feeds.url('/a.xml')}'}}\n"
                f"  - {{name: b, url: '{feeds.url('/b.xml')}'}}\n",
                encoding="utf-8",
            )
            assert wait_for(lambda: polled(db, "b")), "the added feed b was never polled"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "configuration edit rejected" in output and "feeds[0].url" in output
        assert output.count("feeds[0].url") == 1  # the rejection is said once, not once per output channel
        assert "configuration reloaded: 2 feeds" in output
        assert "monitor stopped" in output


def test_a_signal_landing_inside_the_schedulers_job_processing_stops_it_cleanly() -> None:
    """SIGTERM can arrive while the scheduler's main loop is between handing a job over and updating it.

    The executor below lets the signal land exactly there. Shutting down from the handler itself emptied
    the job store under that loop, which then raised JobLookupError: `monitor run` died with a traceback.
    """
    from datetime import UTC, datetime

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.base import STATE_STOPPED
    from apscheduler.schedulers.blocking import BlockingScheduler

    from monitor.scheduler import stopper

    class SignalledWhileSubmitting(ThreadPoolExecutor):
        def _do_submit_job(self, job: Any, run_times: Any) -> None:
            super()._do_submit_job(job, run_times)
            stop(signal.SIGTERM, None)

    scheduler = BlockingScheduler(timezone="UTC", executors={"default": SignalledWhileSubmitting()})
    scheduler.add_job(lambda: None, "interval", seconds=60, id="poll", next_run_time=datetime.now(UTC))
    stop = stopper(scheduler)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            scheduler.start()
        except BaseException as exc:  # what the old handler raised out of start()
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and errors == [] and scheduler.state == STATE_STOPPED


def test_a_tick_skipped_while_a_long_poll_runs_is_not_logged_as_a_warning() -> None:
    import logging

    from monitor.scheduler import _quiet_overlap

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("apscheduler.scheduler", logging.WARNING, __file__, 1, message, None, None)

    skipped = 'Execution of job "Runner.poll_due" skipped: maximum number of running instances reached (1)'
    assert not _quiet_overlap(record(skipped))
    assert _quiet_overlap(record('Run time of job "Runner.poll_due" was missed by 0:05:01'))
