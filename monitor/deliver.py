"""Draining the outbox: deliver every due alert once, and lose none.

The life of a row: `pending` -> `sending` (written before the network call, with a lease) -> `sent`
(written after Slack confirms, with the channel and `ts`). A row left in `sending` (a crash, a timeout,
a reset, a 5xx after the request went out) may or may not have arrived, so before sending it again:
on the Web API the alert key in the message metadata is looked up in `conversations.history`; a webhook
cannot be asked, so it is resent at most once (counted) and otherwise parked as `uncertain`.
Configuration errors park a row as `blocked` (reported once, retried later and after a reload);
payload errors fall back to plain text; 429 pauses the whole workspace or webhook for Retry-After.
No transaction is open during a network call. Messages to one destination are paced.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor import store
from monitor.errors import DeliveryError
from monitor.notify import Notifier, NotifierFactory, Receipt
from monitor.render import Message, StoryView, render_digest, render_follow_up, render_story
from monitor.rules import AlertRule
from monitor.tables import Alert, Item, Story
from monitor.types import Entities

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
BLOCKED_RETRY = timedelta(minutes=30)
LEASE = timedelta(minutes=2)  # a `sending` row younger than this belongs to a sender still at work
BURST = 3  # messages a destination may receive at once before pacing to one per `pace_s`
ORDERED_KINDS = ("new", "digest")  # delivered per destination in creation order, even after an outage


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    blocked: int = 0
    reconciled: int = 0  # found already delivered after an ambiguous attempt: not sent again
    uncertain: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Pacer:
    """A token bucket per destination: small bursts, then one message per `pace_s`."""

    pace_s: float
    sleep: Callable[[float], None]
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)  # destination -> (tokens, at)

    def wait(self, destination: str) -> None:
        if self.pace_s <= 0:
            return
        now = time.monotonic()
        tokens, at = self.tokens.get(destination, (float(BURST), now))
        tokens = min(float(BURST), tokens + (now - at) / self.pace_s)
        if tokens < 1:
            self.sleep((1 - tokens) * self.pace_s)
            now, tokens = time.monotonic(), 1.0
        self.tokens[destination] = (tokens - 1, now)


def _scope(destination: str) -> str:
    """What a 429 pauses: Web API limits apply to the whole workspace, a webhook's to itself."""
    return "web-api" if destination.startswith("channel:") else destination


def _entities(item: Item | None) -> Entities:
    if item is None:
        return Entities()
    data = json.loads(item.entities or "{}")
    known = {k: v for k, v in data.items() if k in Entities.__dataclass_fields__}
    known["companies"] = tuple(known.get("companies") or ())
    return Entities(**known)


def _evidence(item: Item | None) -> dict[str, tuple[str, ...]]:
    data = json.loads(item.evidence or "{}") if item else {}
    return {k: tuple(v) for k, v in data.items() if isinstance(v, list)}


def story_view(session: Session, story: Story, mention: str | None = None) -> StoryView:
    """What a message shows of a story, from its current state (outlets grow as others report it)."""
    first = session.get(Item, story.first_item_id) if story.first_item_id is not None else None
    return StoryView(
        title=story.title,
        url=story.url,
        labels=tuple(label for label in story.labels.split(",") if label),
        entities=_entities(first),
        outlets=tuple(o for o in story.outlets.split(",") if o),
        published=story.published_at,
        evidence=_evidence(first),
        mention=mention,
    )


def build_message(session: Session, alert: Alert, rules: dict[str, AlertRule]) -> Message:
    """Render an outbox row."""
    rule = rules.get(alert.rule)
    if alert.kind == "digest":
        ids = json.loads(alert.payload or "[]")
        stories = [s for s in (session.get(Story, i) for i in ids) if s is not None]
        return render_digest(alert.rule, [story_view(session, s) for s in stories], rule.mention if rule else None)
    story = session.get(Story, alert.story_id)
    assert story is not None
    if alert.kind == "follow_up" and alert.item_id is not None and (item := session.get(Item, alert.item_id)):
        return render_follow_up(item.source, item.title, item.url)
    return render_story(story_view(session, story, rule.mention if rule else None))


@dataclass
class _Claim:
    """An alert claimed for sending, with everything the network call needs."""

    alert_id: int
    destination: str
    key: str
    kind: str
    message: Message
    maybe_sent: bool  # a previous attempt may have arrived
    resends: int
    created_at: datetime
    thread_ts: str | None = None
    parent: Receipt | None = None


def drain_outbox(
    engine: Engine,
    notifier_for: NotifierFactory,
    rules: list[AlertRule],
    clock: Callable[[], datetime],
    *,
    pace_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    limit: int = 500,
    ops_channel: str | None = None,
) -> DeliveryReport:
    """Deliver every due alert; returns what happened. Safe to run in several processes at once."""
    report = DeliveryReport()
    rules_by_name = {rule.name: rule for rule in rules}
    pacer = _Pacer(pace_s, sleep)
    paused: dict[str, datetime] = {}
    with store.transaction(engine) as session:
        due_rows = store.due_alerts(session, clock(), limit)
        due = [(a.id, a.destination, a.kind) for a in due_rows if a.id is not None]
        oldest = store.oldest_waiting_alerts(session)
    due_ids = {alert_id for alert_id, _, _ in due}
    halted: set[str] = set()  # destinations where an older alert failed in this round
    for alert_id, destination, kind in due:
        if kind in ORDERED_KINDS and (
            destination in halted
            or (oldest.get(destination, alert_id) < alert_id and oldest[destination] not in due_ids)
        ):
            continue  # keep a destination's alerts in creation order: an older one is still waiting
        claim = _claim(engine, alert_id, rules_by_name, clock(), paused)
        if claim is None:
            continue
        notifier = notifier_for(claim.destination)
        try:
            if claim.maybe_sent and (found := _already_delivered(notifier, claim)) is not None:
                _mark_sent(engine, claim.alert_id, found, clock())
                report.reconciled += 1
                continue
            if claim.maybe_sent and not notifier.can_reconcile and claim.resends >= 1:
                _mark_uncertain(engine, claim.alert_id, report)
                continue
            if claim.maybe_sent:
                _count_resend(engine, claim.alert_id)
            pacer.wait(claim.destination)
            receipt = _send(notifier, claim)
        except DeliveryError as exc:
            _record_failure(engine, claim, exc, clock(), report, paused, notifier_for, ops_channel)
            if exc.kind != "config":
                halted.add(claim.destination)
            continue
        _mark_sent(engine, claim.alert_id, receipt, clock())
        report.sent += 1
    return report


def _claim(
    engine: Engine, alert_id: int, rules: dict[str, AlertRule], now: datetime, paused: dict[str, datetime]
) -> _Claim | None:
    """Mark the row `sending` with a lease (write-ahead), and render its message."""
    with store.transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.status not in ("pending", "sending", "blocked"):
            return None
        if alert.next_attempt_at is not None and alert.next_attempt_at > now:
            return None  # another sender took it meanwhile
        if (until := paused.get(_scope(alert.destination))) is not None:
            alert.next_attempt_at = until
            return None
        parent: Alert | None = None
        if alert.kind in ("follow_up", "update"):
            parent = store.parent_alert(session, alert.story_id, alert.destination)
            if parent is None or parent.status != "sent" or not parent.ts:
                alert.next_attempt_at = now + timedelta(seconds=30)  # wait for the first message
                return None
        maybe_sent = alert.status == "sending"
        message = build_message(session, alert, rules)
        alert.status, alert.next_attempt_at = "sending", now + LEASE
        alert.attempts += 1
        assert alert.id is not None
        return _Claim(
            alert_id=alert.id,
            destination=alert.destination,
            key=alert.dedupe_key,
            kind=alert.kind,
            message=message,
            maybe_sent=maybe_sent,
            resends=alert.resends,
            created_at=alert.created_at,
            thread_ts=parent.ts if parent is not None and alert.kind == "follow_up" else None,
            parent=Receipt(channel=parent.channel or "", ts=parent.ts) if parent is not None else None,
        )


def _already_delivered(notifier: Notifier, claim: _Claim) -> Receipt | None:
    if claim.kind == "update" or not notifier.can_reconcile:
        return None  # an update is idempotent; webhooks cannot be asked
    return notifier.find(claim.key, claim.created_at)


def _send(notifier: Notifier, claim: _Claim) -> Receipt:
    """Send; when Slack refuses the payload itself, fall back once to the plain-text message."""
    if claim.kind == "update":
        assert claim.parent is not None
        notifier.update(claim.parent, claim.message)
        return claim.parent
    try:
        return notifier.send(claim.message, thread_ts=claim.thread_ts, key=claim.key)
    except DeliveryError as exc:
        if exc.kind != "payload":
            raise
        plain = Message(text=claim.message.text, blocks=[])
        return notifier.send(plain, thread_ts=claim.thread_ts, key=claim.key)


def _mark_sent(engine: Engine, alert_id: int, receipt: Receipt, now: datetime) -> None:
    with store.transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.status, alert.sent_at, alert.channel, alert.ts = "sent", now, receipt.channel, receipt.ts
        alert.next_attempt_at = None
        alert.last_error = None


def _count_resend(engine: Engine, alert_id: int) -> None:
    with store.transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.resends += 1


def _mark_uncertain(engine: Engine, alert_id: int, report: DeliveryReport) -> None:
    with store.transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.status = "uncertain"
        alert.next_attempt_at = None
        alert.last_error = "a webhook post may have arrived; resent once already, not sent again"
    report.uncertain += 1
    log.warning("alert %d: webhook delivery uncertain after one resend; not sent again", alert_id)


def _record_failure(
    engine: Engine,
    claim: _Claim,
    error: DeliveryError,
    now: datetime,
    report: DeliveryReport,
    paused: dict[str, datetime],
    notifier_for: NotifierFactory,
    ops_channel: str | None,
) -> None:
    report.errors.append(f"{claim.destination}: {error}")
    first_report = False
    with store.transaction(engine) as session:
        alert = session.get(Alert, claim.alert_id)
        assert alert is not None
        alert.last_error = str(error)[:500]
        if error.kind == "config":
            first_report = not store.blocked_reported(session, alert.destination, alert.last_error)
            alert.status, alert.next_attempt_at, alert.reported = "blocked", now + BLOCKED_RETRY, True
            report.blocked += 1
        else:
            # ambiguous: may have arrived, so it stays `sending` and the next attempt checks first;
            # otherwise it was not sent (refused connection, 429, a 5xx Slack reports before sending)
            maybe_sent = error.kind == "ambiguous" or claim.maybe_sent
            alert.status = "sending" if maybe_sent else "pending"
            alert.next_attempt_at = now + _backoff(alert.attempts, error.retry_after)
            if error.retry_after is not None:
                paused[_scope(alert.destination)] = now + timedelta(seconds=error.retry_after)
            report.retried += 1
    if first_report:
        _report_blocked(claim.destination, str(error), notifier_for, ops_channel)


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    delay = min(timedelta(seconds=5 * 2 ** min(max(attempts - 1, 0), 12)), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(timedelta(seconds=retry_after), timedelta(seconds=1))
    return delay


def _report_blocked(destination: str, error: str, notifier_for: NotifierFactory, ops_channel: str | None) -> None:
    """Once per problem: the log, and the ops channel when one is configured."""
    text = f"alerts to {destination} are blocked until the configuration is fixed: {error}"
    log.error(text)
    if ops_channel and f"channel:{ops_channel}" != destination:
        try:
            notifier_for(f"channel:{ops_channel}").send(Message(text=f"monitor: {text}", blocks=[]))
        except DeliveryError as exc:
            log.error("could not report to the ops channel %s: %s", ops_channel, exc)


def unblock_alerts(engine: Engine, now: datetime) -> int:
    """Blocked alerts are due again at once (after a configuration reload or a restart)."""
    with store.transaction(engine) as session:
        blocked = store.alerts_with_status(session, "blocked")
        for alert in blocked:
            alert.next_attempt_at = now
    return len(blocked)


def outbox_counts(session: Session, since: datetime) -> dict[str, int]:
    """Pending, blocked, uncertain and sent-since counts, for `monitor alerts` and health."""
    rows = list(session.exec(select(Alert.status, Alert.sent_at).where(col(Alert.status) != "skipped")))
    counts = {"pending": 0, "sending": 0, "blocked": 0, "held": 0, "uncertain": 0, "sent_since": 0}
    for status, sent_at in rows:
        if status in counts:
            counts[status] += 1
        if status == "sent" and sent_at is not None and sent_at >= since:
            counts["sent_since"] += 1
    return counts
