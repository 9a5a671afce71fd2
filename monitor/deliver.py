"""Draining the outbox: render each pending alert from the database, send it, mark it sent.

An alert row is read in one short transaction, sent with no transaction open, and marked sent (with
Slack's channel and `ts`) in another. A crash between Slack's answer and the mark can repeat that one
message; every other failure leaves the row pending or blocked, never lost. Messages to one
destination are paced (Slack allows about one message per second per channel).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor import store
from monitor.errors import DeliveryError
from monitor.notify import Notifier, NotifierFactory, Receipt
from monitor.render import Message, StoryView, render_follow_up, render_story
from monitor.rules import AlertRule
from monitor.tables import Alert, Item, Story
from monitor.types import Entities

MAX_BACKOFF = timedelta(hours=1)
BLOCKED_RETRY = timedelta(minutes=30)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    blocked: int = 0
    errors: list[str] = field(default_factory=list)


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


def build_message(session: Session, alert: Alert, rules: dict[str, AlertRule]) -> Message:
    """Render an outbox row from the current state of its story (outlets grow as others report it)."""
    story = session.get(Story, alert.story_id)
    assert story is not None
    item = session.get(Item, alert.item_id) if alert.item_id is not None else None
    if alert.kind == "follow_up" and item is not None:
        return render_follow_up(item.source, item.title, item.url)
    first = session.get(Item, story.first_item_id) if story.first_item_id is not None else item
    rule = rules.get(alert.rule)
    view = StoryView(
        title=story.title,
        url=story.url,
        labels=tuple(label for label in story.labels.split(",") if label),
        entities=_entities(first),
        outlets=tuple(o for o in story.outlets.split(",") if o),
        published=story.published_at,
        evidence=_evidence(first),
        mention=rule.mention if rule else None,
    )
    return render_story(view)


def drain_outbox(
    engine: Engine,
    notifier_for: NotifierFactory,
    rules: list[AlertRule],
    clock: Callable[[], datetime],
    *,
    pace_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    limit: int = 200,
) -> DeliveryReport:
    """Send every pending alert that is due; returns what happened."""
    report = DeliveryReport()
    rules_by_name = {rule.name: rule for rule in rules}
    last_sent: dict[str, float] = {}
    with store.transaction(engine) as session:
        batch = [a.id for a in store.pending_alerts(session, clock(), limit) if a.id is not None]
    for alert_id in batch:
        with store.transaction(engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or alert.status != "pending":
                continue
            message = build_message(session, alert, rules_by_name)
            thread_ts = None
            if alert.kind == "follow_up":
                parent = store.parent_alert(session, alert.story_id, alert.destination)
                if parent is None or parent.status != "sent" or not parent.ts:
                    alert.next_attempt_at = clock() + timedelta(seconds=30)
                    continue
                thread_ts = parent.ts
            destination, key = alert.destination, alert.dedupe_key
        _pace(destination, last_sent, pace_s, sleep)
        try:
            receipt = _send(notifier_for(destination), message, thread_ts, key)
        except DeliveryError as exc:
            _record_failure(engine, alert_id, exc, clock(), report)
            continue
        finally:
            last_sent[destination] = time.monotonic()
        with store.transaction(engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            alert.status, alert.sent_at, alert.channel, alert.ts = "sent", clock(), receipt.channel, receipt.ts
            alert.attempts += 1
            alert.last_error = None
        report.sent += 1
    return report


def _send(notifier: Notifier, message: Message, thread_ts: str | None, key: str) -> Receipt:
    """Send; when Slack refuses the payload itself, fall back once to the plain-text message."""
    try:
        return notifier.send(message, thread_ts=thread_ts, key=key)
    except DeliveryError as exc:
        if exc.kind != "payload":
            raise
        return notifier.send(Message(text=message.text, blocks=[]), thread_ts=thread_ts, key=key)


def _pace(destination: str, last_sent: dict[str, float], pace_s: float, sleep: Callable[[float], None]) -> None:
    previous = last_sent.get(destination)
    if previous is not None:
        wait = pace_s - (time.monotonic() - previous)
        if wait > 0:
            sleep(wait)


def _record_failure(engine: Engine, alert_id: int, error: DeliveryError, now: datetime, report: DeliveryReport) -> None:
    with store.transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.attempts += 1
        alert.last_error = str(error)[:500]
        if error.kind == "config":
            alert.status = "blocked"
            alert.next_attempt_at = now + BLOCKED_RETRY
            report.blocked += 1
        else:
            backoff = min(timedelta(seconds=5 * 2 ** min(alert.attempts, 12)), MAX_BACKOFF)
            if error.retry_after is not None:
                backoff = max(backoff, timedelta(seconds=error.retry_after))
            alert.next_attempt_at = now + backoff
            report.retried += 1
        report.errors.append(f"{alert.destination}: {error}")


def unblock_alerts(engine: Engine, now: datetime) -> int:
    """Blocked alerts become pending again (after a configuration fix or reload)."""
    with store.transaction(engine) as session:
        blocked = store.alerts_with_status(session, "blocked")
        for alert in blocked:
            alert.status, alert.next_attempt_at = "pending", now
    return len(blocked)
