"""`monitor run`: APScheduler ticks; the database decides which feeds are due.

APScheduler 3.x with an in-memory job store only ticks (coalesced, one instance at a time): the schedule
itself (next poll per feed, backoff) lives in the feed table, so a restart loses nothing and `run` and
`poll` share one code path. SIGINT and SIGTERM stop the scheduler; a running poll fetches nothing more,
stores what it fetched (the other feeds stay due) and `run` waits for it before it exits.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler

from monitor.app import (
    Configuration,
    build_notifiers,
    build_pipeline,
    load_configuration,
    report_alarms,
    utc_now,
)
from monitor.deliver import drain_outbox, unblock_alerts
from monitor.digest import make_digests
from monitor.errors import ConfigError, MonitorError
from monitor.health import PollMetrics, serve_health
from monitor.notify import NotifierFactory
from monitor.pipeline import Pipeline, poll, sync_config
from monitor.settings import Settings

log = logging.getLogger(__name__)


def config_fingerprint(settings: Settings) -> tuple[tuple[str, float, int], ...]:
    """Modification times and sizes of feeds.yaml and every rule file: a cheap change detector."""
    paths = [settings.feeds_path]
    if settings.alerts_dir.is_dir():
        paths += sorted(p for p in settings.alerts_dir.iterdir() if p.suffix in (".yaml", ".yml"))
    stats = []
    for path in paths:
        try:
            stat = Path(path).stat()
            stats.append((str(path), stat.st_mtime, stat.st_size))
        except OSError:
            stats.append((str(path), 0.0, -1))
    return tuple(stats)


@dataclass
class Runner:
    """The jobs `monitor run` schedules, with the last good configuration."""

    settings: Settings
    pipeline: Pipeline
    notifiers: NotifierFactory
    seen_config: tuple[tuple[str, float, int], ...] = field(default_factory=tuple)
    metrics: PollMetrics = field(default_factory=PollMetrics)
    stopping: threading.Event = field(default_factory=threading.Event)  # set on SIGTERM: a running poll wraps up
    polling: threading.Lock = field(default_factory=threading.Lock)  # held while a poll runs

    def reload_if_changed(self) -> None:
        current = config_fingerprint(self.settings)
        if current == self.seen_config:
            return
        self.seen_config = current
        try:
            configuration = load_configuration(self.settings)
        except ConfigError as exc:
            log.error("configuration edit rejected, keeping the last good one:\n  %s", "\n  ".join(exc.problems))
            return
        self.pipeline.rules = configuration.rules
        sync_config(self.pipeline, configuration.feeds)
        unblock_alerts(self.pipeline.engine, utc_now())
        enabled = sum(1 for feed in configuration.feeds if feed.enabled)
        # printed like "monitor running": after a rejected edit, this says the next one took effect
        print(f"configuration reloaded: {enabled} feeds, {len(configuration.rules)} rules")

    def poll_due(self) -> None:
        with self.polling:
            if not self.stopping.is_set():
                self._poll_due()

    def _poll_due(self) -> None:
        try:
            self.reload_if_changed()
            started = time.monotonic()
            results = poll(self.pipeline, stop=self.stopping)
            self.metrics.record(results, time.monotonic() - started)
            report_alarms([r.alarm for r in results if r.alarm], self.settings)
            for result in results:
                if result.error:
                    log.warning("feed %s failed: %s", result.feed, result.error)
                else:
                    log.info("feed %s: %s, %d new, %d flagged", result.feed, result.status, result.new_items,
                             result.flagged)  # fmt: skip
        except MonitorError:
            log.exception("poll failed; retrying at the next tick")

    def deliver(self) -> None:
        try:
            make_digests(self.pipeline.engine, self.pipeline.rules, utc_now())
            report = drain_outbox(
                self.pipeline.engine,
                self.notifiers,
                self.pipeline.rules,
                utc_now,
                ops_channel=self.settings.ops_channel,
            )
            for error in report.errors:
                log.warning("alert not delivered: %s", error)
        except MonitorError:
            log.exception("delivery failed; retrying at the next tick")


def stopper(scheduler: BlockingScheduler, runner: Runner | None = None) -> Callable[[int, FrameType | None], None]:
    """The SIGTERM/SIGINT handler: stop the scheduler after the running job, from another thread.

    Why a thread: a signal handler runs in the main thread, which may be inside the scheduler's own job
    processing, holding its (re-entrant) job-store lock. Shutting down there emptied the job store under
    that loop, which then failed to update the job it was handling (JobLookupError: `monitor run` died
    with a traceback and exit code 1 instead of stopping cleanly). From another thread, the shutdown
    waits for the lock. A second signal while stopping changes nothing. `runner`'s poll, if one runs, stops
    fetching and stores what it has (see `run_forever`, which waits for it).
    """
    stopping = runner.stopping if runner is not None else threading.Event()

    def shut_down() -> None:
        with contextlib.suppress(SchedulerNotRunningError):
            scheduler.shutdown(wait=False)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.warning("received signal %d, stopping", signum)
        threading.Thread(target=shut_down, name="stop").start()

    return stop


def _quiet_overlap(record: logging.LogRecord) -> bool:
    """Keep APScheduler's "skipped: maximum number of running instances reached" out of the log: a tick that
    comes while a long poll still runs is expected (coalesced: the running poll takes in every due feed)."""
    return "maximum number of running instances reached" not in record.getMessage()


def run_forever(
    settings: Settings, configuration: Configuration, tick_s: int = 30, health: tuple[str, int] | None = None
) -> None:
    """Tick until SIGINT/SIGTERM; optionally serve /healthz and /metrics on `health` (host, port)."""
    pipeline = build_pipeline(settings, configuration.rules)
    sync_config(pipeline, configuration.feeds)
    runner = Runner(settings, pipeline, build_notifiers(settings), config_fingerprint(settings))
    endpoint = serve_health(pipeline.engine, health[0], health[1], metrics=runner.metrics) if health else None
    if endpoint is not None:
        print(f"health endpoint: {endpoint.url}/healthz and {endpoint.url}/metrics")
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                                "misfire_grace_time": 300})  # fmt: skip
    scheduler.add_job(runner.poll_due, "interval", seconds=tick_s, id="poll", next_run_time=utc_now())
    scheduler.add_job(runner.deliver, "interval", seconds=max(5, tick_s // 3), id="deliver", next_run_time=utc_now())

    stop = stopper(scheduler, runner)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("apscheduler.scheduler").addFilter(_quiet_overlap)
    enabled = sum(1 for f in configuration.feeds if f.enabled)
    print(f"monitor running: {enabled} feeds, {len(configuration.rules)} rules, database {settings.db} (Ctrl-C stops)")
    scheduler.start()
    with runner.polling:  # a poll still running stores what it fetched first (it stops fetching at once)
        pass
    if endpoint is not None:
        endpoint.close()
    pipeline.http.close()
    print("monitor stopped")
