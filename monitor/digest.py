"""Digest rules: at each time of a rule's cron schedule, the stories held for it become one message.

The digest messages are outbox rows like any other (same delivery guarantees); they are created in one
transaction with the marking of the held rows, so a crash can neither lose a story nor list it twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor import store
from monitor.render import DIGEST_MAX_STORIES
from monitor.rules import AlertRule
from monitor.tables import Alert, DigestState


def next_digest_time(schedule: str, after: datetime) -> datetime | None:
    """The first time of the cron `schedule` (UTC) after `after`."""
    trigger = CronTrigger.from_crontab(schedule, timezone="UTC")
    fire = trigger.get_next_fire_time(None, after)
    return fire if isinstance(fire, datetime) else None


def _enqueue_parts(
    session: Session, rule: str, destination: str, story_ids: list[int], period: str, now: datetime
) -> int:
    """Digest messages listing `story_ids` (each once), split to stay within Slack's limits."""
    unique = list(dict.fromkeys(story_ids))
    created = 0
    for part, start in enumerate(range(0, len(unique), DIGEST_MAX_STORIES)):
        chunk = unique[start : start + DIGEST_MAX_STORIES]
        digest = Alert(dedupe_key=f"digest:{rule}:{period}:{part}", story_id=chunk[0], rule=rule,
                       destination=destination, kind="digest", created_at=now, payload=json.dumps(chunk))  # fmt: skip
        if store.enqueue_alert(session, digest):
            created += 1
    return created


def make_digests(engine: Engine, rules: Sequence[AlertRule], now: datetime) -> int:
    """Create the digest messages that are due; returns how many were enqueued."""
    created = 0
    for rule in rules:
        if rule.mode != "digest" or not rule.schedule:
            continue
        with store.transaction(engine) as session:
            state = session.get(DigestState, rule.name)
            if state is None:
                state = DigestState(rule=rule.name, last_sent_at=now)
                session.add(state)
                continue
            after = state.last_sent_at or now
            due = next_digest_time(rule.schedule, after)
            if due is None or due > now:
                continue
            held = list(
                session.exec(
                    select(Alert).where(Alert.rule == rule.name, Alert.status == "held").order_by(col(Alert.id))
                )
            )
            story_ids = [a.story_id for a in held]
            created += _enqueue_parts(session, rule.name, rule.destination, story_ids, f"digest:{due.isoformat()}", now)
            for alert in held:
                alert.status = "digested"
            state.last_sent_at = now
    return created


def make_backfill_digests(engine: Engine, rules: Sequence[AlertRule], now: datetime) -> int:
    """`backfill --notify digest`: one summary per rule of the stories the backfill found."""
    created = 0
    with store.transaction(engine) as session:
        held = list(session.exec(select(Alert).where(Alert.status == "held-backfill").order_by(col(Alert.id))))
        by_rule: dict[str, list[Alert]] = {}
        for alert in held:
            by_rule.setdefault(alert.rule, []).append(alert)
        destinations = {rule.name: rule.destination for rule in rules}
        for rule_name, alerts in by_rule.items():
            destination = destinations.get(rule_name, alerts[0].destination)
            story_ids = [a.story_id for a in alerts]
            created += _enqueue_parts(session, rule_name, destination, story_ids, f"backfill:{now.isoformat()}", now)
            for alert in alerts:
                alert.status = "digested"
    return created
