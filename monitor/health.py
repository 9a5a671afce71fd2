"""Health of a running monitor: `monitor health` (exit code), /healthz and Prometheus /metrics.

Why it is shaped like this: the verdict is a pure function of the feed and outbox state and `now`
(`evaluate`), so every rule is testable with plain records and the CLI, the HTTP endpoint and tests agree.
The database is read once per check (`read_state`), outside that function. Counters that only the running
process knows (polls, errors, new items, alerts enqueued since start) live in `PollMetrics`, which the
scheduler feeds after each poll; everything else is derived from the database, so /metrics survives a
restart and `monitor health` works from another process. The endpoint is a stdlib ThreadingHTTPServer in
a daemon thread: no extra dependency for two read-only pages.

Verdicts: "unhealthy" (feeds are not being polled: the scheduler is stuck or not running), "degraded" (a
feed failing for a day, a 410, alerts blocked or stuck), "healthy". Notes (a suggested URL after a 301)
are shown but do not change the verdict. Exit code 0 only when healthy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor import store
from monitor.errors import MonitorError
from monitor.tables import Alert, Feed

HEALTHY, DEGRADED, UNHEALTHY, NOTE = "healthy", "degraded", "unhealthy", "note"
_RANK = {HEALTHY: 0, NOTE: 0, DEGRADED: 1, UNHEALTHY: 2}
QUEUED_STATUSES = ("pending", "sending")  # the outbox depth: alerts still to be delivered


@dataclass(frozen=True, slots=True)
class FeedState:
    """What health needs of one feed row (a plain record, so `evaluate` needs no database)."""

    name: str
    enabled: bool = True
    gone: bool = False
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    moved_to: str | None = None
    item_count: int = 0

    @classmethod
    def from_row(cls, row: Feed) -> FeedState:
        return cls(row.name, row.enabled, row.gone, row.next_poll_at, row.last_polled_at, row.last_success_at,
                   row.last_error, row.consecutive_failures, row.moved_to, row.item_count)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutboxState:
    """Alert counts by status and the creation time of the oldest alert still queued."""

    by_status: Mapping[str, int] = field(default_factory=dict)
    oldest_queued_at: datetime | None = None

    @property
    def depth(self) -> int:
        return sum(self.by_status.get(status, 0) for status in QUEUED_STATUSES)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """Thresholds. `max_lag`: a due feed not polled within it means polling has stalled."""

    max_lag: timedelta = timedelta(minutes=15)
    failing_for: timedelta = timedelta(hours=24)
    failures_without_success: int = 3  # a feed that never succeeded: report after this many failures
    max_queue_age: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # unhealthy | degraded | note
    message: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: str
    findings: tuple[Finding, ...]
    checked_at: datetime

    @property
    def exit_code(self) -> int:
        return 0 if self.status == HEALTHY else 1

    def lines(self) -> list[str]:
        head = f"{self.status.upper()} at {self.checked_at:%Y-%m-%d %H:%M:%S} UTC"
        return [head, *(f"  {f.severity}: {f.message}" for f in self.findings)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "findings": [{"severity": f.severity, "message": f.message} for f in self.findings],
        }


# -- the verdict (pure) ---------------------------------------------------------------------------------


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def polled(feed: FeedState) -> bool:
    """Whether the monitor is meant to poll the feed (enabled and not stopped by a 410)."""
    return feed.enabled and not feed.gone


def lag(feed: FeedState, now: datetime) -> timedelta:
    """How late the feed's next poll is (zero when not yet due or not polled at all)."""
    if not polled(feed) or feed.next_poll_at is None:
        return timedelta(0)
    return max(timedelta(0), now - feed.next_poll_at)


def failing_too_long(feed: FeedState, now: datetime, policy: HealthPolicy = HealthPolicy()) -> bool:
    """A feed failing for `policy.failing_for` (since its last success), or never fetched after N tries."""
    if not polled(feed) or feed.consecutive_failures == 0:
        return False
    if feed.last_success_at is None:
        return feed.consecutive_failures >= policy.failures_without_success
    return now - feed.last_success_at >= policy.failing_for


def _stall_findings(feeds: Sequence[FeedState], now: datetime, policy: HealthPolicy) -> list[Finding]:
    late = sorted((f for f in feeds if lag(f, now) > policy.max_lag), key=lambda f: lag(f, now), reverse=True)
    if not late:
        return []
    worst = late[0]
    return [Finding(UNHEALTHY, f"{len(late)} feed(s) overdue by more than {_span(policy.max_lag)} (worst: "
                               f"{worst.name}, {_span(lag(worst, now))} late): is `monitor run` running?")]  # fmt: skip


def _feed_findings(feeds: Sequence[FeedState], now: datetime, policy: HealthPolicy) -> list[Finding]:
    findings: list[Finding] = []
    for feed in feeds:
        if feed.enabled and feed.gone:
            findings.append(Finding(DEGRADED, f"feed {feed.name}: 410 Gone, polling stopped; remove it or fix "
                                              "its URL in feeds.yaml"))  # fmt: skip
        elif failing_too_long(feed, now, policy):
            since = f"for {_span(now - feed.last_success_at)}" if feed.last_success_at else "since it was added"
            error = feed.last_error or "unknown error"
            message = f"feed {feed.name}: failing {since} ({feed.consecutive_failures} consecutive failures): {error}"
            findings.append(Finding(DEGRADED, message))
        if feed.enabled and feed.moved_to:
            findings.append(Finding(NOTE, f"feed {feed.name}: moved permanently, use {feed.moved_to}"))
    return findings


def _outbox_findings(outbox: OutboxState, now: datetime, policy: HealthPolicy) -> list[Finding]:
    findings: list[Finding] = []
    blocked, uncertain = outbox.by_status.get("blocked", 0), outbox.by_status.get("uncertain", 0)
    if blocked:
        findings.append(Finding(DEGRADED, f"{blocked} alert(s) blocked: a token, channel or webhook needs fixing"))
    if uncertain:
        findings.append(Finding(DEGRADED, f"{uncertain} alert(s) may or may not have been delivered"))
    if outbox.oldest_queued_at is not None and now - outbox.oldest_queued_at > policy.max_queue_age:
        age = _span(now - outbox.oldest_queued_at)
        findings.append(
            Finding(DEGRADED, f"{outbox.depth} alert(s) waiting, the oldest for {age}: is Slack reachable?")
        )
    return findings


def evaluate(
    feeds: Sequence[FeedState], outbox: OutboxState, now: datetime, policy: HealthPolicy = HealthPolicy()
) -> HealthReport:
    """The verdict and its reasons, from state and `now` alone."""
    findings = _stall_findings(feeds, now, policy) + _feed_findings(feeds, now, policy)
    findings += _outbox_findings(outbox, now, policy)
    if not feeds:  # a database no `monitor run` or `monitor poll` has used yet
        findings.append(Finding(DEGRADED, "no feed in the database yet: has `monitor run` started on it?"))
    elif not any(polled(f) for f in feeds):
        findings.append(Finding(DEGRADED, "no feed is enabled: nothing is monitored"))
    worst = max((_RANK[f.severity] for f in findings), default=0)
    status = {0: HEALTHY, 1: DEGRADED, 2: UNHEALTHY}[worst]
    return HealthReport(status, tuple(findings), now)


# -- process counters ---------------------------------------------------------------------------------


class PollOutcome(Protocol):
    """The parts of monitor.pipeline.PollResult that metrics count."""

    @property
    def status(self) -> str: ...
    @property
    def new_items(self) -> int: ...
    @property
    def alerts(self) -> int: ...


class PollMetrics:
    """Counters since this process started, fed by the scheduler after each poll (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.polls: dict[str, int] = {}
        self.new_items = 0
        self.alerts = 0
        self.last_poll_seconds = 0.0

    def record(self, results: Iterable[PollOutcome], seconds: float = 0.0) -> None:
        with self._lock:
            for result in results:
                self.polls[result.status] = self.polls.get(result.status, 0) + 1
                self.new_items += result.new_items
                self.alerts += result.alerts
            self.last_poll_seconds = seconds

    def snapshot(self) -> tuple[dict[str, int], int, int, float]:
        with self._lock:
            return dict(self.polls), self.new_items, self.alerts, self.last_poll_seconds


# -- Prometheus text format -------------------------------------------------------------------------


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _ts(when: datetime | None) -> float:
    return when.timestamp() if when is not None else 0.0


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_metrics(
    feeds: Sequence[FeedState], outbox: OutboxState, now: datetime, counters: PollMetrics | None = None
) -> str:
    """Prometheus text exposition (version 0.0.4) of the state and this process's counters."""
    out = _Exposition()
    report = evaluate(feeds, outbox, now)
    out.metric("monitor_up", "gauge", "1 when healthy, 0 when degraded or unhealthy", [({}, report.exit_code == 0)])
    _process_metrics(out, counters or PollMetrics())
    polled_feeds = [f for f in feeds if polled(f)]
    states = {
        "polled": len(polled_feeds),
        "disabled": sum(not f.enabled for f in feeds),
        "gone": sum(f.gone for f in feeds),
        "failing": sum(f.consecutive_failures > 0 for f in polled_feeds),
    }
    out.metric("monitor_feeds", "gauge", "Feeds by state", [({"state": k}, v) for k, v in states.items()])
    out.metric("monitor_feed_lag_seconds", "gauge", "How late each feed's next poll is",
               [({"feed": f.name}, lag(f, now).total_seconds()) for f in polled_feeds])  # fmt: skip
    out.metric("monitor_feed_consecutive_failures", "gauge", "Consecutive failed polls per feed",
               [({"feed": f.name}, f.consecutive_failures) for f in polled_feeds])  # fmt: skip
    out.metric("monitor_feed_last_success_timestamp_seconds", "gauge", "Unix time of each feed's last success",
               [({"feed": f.name}, _ts(f.last_success_at)) for f in polled_feeds])  # fmt: skip
    out.metric(
        "monitor_feed_items", "gauge", "Items stored per feed", [({"feed": f.name}, f.item_count) for f in feeds]
    )
    out.metric("monitor_outbox_depth", "gauge", "Alerts waiting to be delivered", [({}, outbox.depth)])
    out.metric("monitor_alerts", "gauge", "Alerts in the outbox by status",
               [({"status": k}, v) for k, v in sorted(outbox.by_status.items())])  # fmt: skip
    oldest = (now - outbox.oldest_queued_at).total_seconds() if outbox.oldest_queued_at else 0.0
    out.metric("monitor_outbox_oldest_age_seconds", "gauge", "Age of the oldest queued alert", [({}, oldest)])
    return out.text()


def _process_metrics(out: _Exposition, counters: PollMetrics) -> None:
    polls, new_items, alerts, seconds = counters.snapshot()
    out.metric("monitor_polls_total", "counter", "Feed polls since start by result (ok, not_modified, unchanged, "
               "baseline, error)", [({"status": k}, v) for k, v in sorted(polls.items())])  # fmt: skip
    out.metric("monitor_poll_errors_total", "counter", "Failed feed polls since start", [({}, polls.get("error", 0))])
    out.metric("monitor_items_new_total", "counter", "New items stored since start", [({}, new_items)])
    out.metric("monitor_alerts_enqueued_total", "counter", "Alerts enqueued since start", [({}, alerts)])
    out.metric("monitor_last_poll_duration_seconds", "gauge", "Duration of the last poll round", [({}, seconds)])


# -- reading the database -----------------------------------------------------------------------------


def read_state(engine: Engine) -> tuple[list[FeedState], OutboxState]:
    """Feed rows and outbox counts, read in one short transaction."""
    with store.transaction(engine) as session:
        feeds = [FeedState.from_row(row) for row in store.all_feeds(session)]
        counts = session.exec(select(Alert.status, func.count()).group_by(Alert.status)).all()
        queued = (Alert.status == "pending") | (Alert.status == "sending")
        oldest = session.exec(select(func.min(Alert.created_at)).where(queued)).one()
    oldest_at = oldest.replace(tzinfo=UTC) if isinstance(oldest, datetime) and oldest.tzinfo is None else oldest
    return feeds, OutboxState({str(s): int(n) for s, n in counts}, oldest_at)


def check_health(engine: Engine, now: datetime, policy: HealthPolicy = HealthPolicy()) -> HealthReport:
    """`monitor health`: read the database and evaluate; an unreadable database is itself unhealthy."""
    try:
        feeds, outbox = read_state(engine)
    except MonitorError as exc:
        return HealthReport(UNHEALTHY, (Finding(UNHEALTHY, f"cannot read the database: {exc}"),), now)
    return evaluate(feeds, outbox, now, policy)


# -- the HTTP endpoint --------------------------------------------------------------------------------


class HealthServer(ThreadingHTTPServer):
    """Serves /healthz (200 healthy, 503 otherwise, JSON) and /metrics (Prometheus text)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: Engine, metrics: PollMetrics | None,
                 clock: Callable[[], datetime], policy: HealthPolicy) -> None:  # fmt: skip
        super().__init__(address, _Handler)
        self.engine, self.metrics, self.clock, self.policy = engine, metrics, clock, policy

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            report = check_health(self.server.engine, self.server.clock(), self.server.policy)
            self._send(200 if report.exit_code == 0 else 503, json.dumps(report.to_dict()), "application/json")
        elif path == "/metrics":
            self._send_metrics()
        else:
            self._send(404, "not found: try /healthz or /metrics\n", "text/plain")

    def _send_metrics(self) -> None:
        try:
            feeds, outbox = read_state(self.server.engine)
        except MonitorError as exc:
            self._send(503, f"cannot read the database: {exc}\n", "text/plain")
            return
        text = render_metrics(feeds, outbox, self.server.clock(), self.server.metrics)
        self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def utc_now() -> datetime:
    return datetime.now(UTC)


def serve_health(
    engine: Engine,
    host: str = "127.0.0.1",
    port: int = 9108,
    *,
    metrics: PollMetrics | None = None,
    clock: Callable[[], datetime] = utc_now,
    policy: HealthPolicy = HealthPolicy(),
) -> HealthServer:
    """Start the endpoint in a daemon thread and return the server (`.url`, `.close()`); port 0 picks one."""
    server = HealthServer((host, port), engine, metrics, clock, policy)
    threading.Thread(target=server.serve_forever, name="health-endpoint", daemon=True).start()
    return server
