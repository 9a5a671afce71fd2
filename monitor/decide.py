"""Pure decisions of the pipeline: when to poll next, whether an item may alert, which rules fire.

Functions of data and `now` only; the store carries them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.rules import AlertRule, StoryFacts, rule_matches

MAX_BACKOFF = timedelta(hours=24)
JITTER = 0.1
# An unseen item older than this is history (a feed republishing old entries, a new section), not news.
MAX_ALERT_AGE = timedelta(days=7)


def next_poll_at(
    now: datetime,
    interval: timedelta,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    jitter_unit: float = 0.0,
) -> datetime:
    """The next poll time: the interval with jitter, exponential backoff on failures, at least Retry-After.

    `jitter_unit` in [0, 1) spreads feeds with the same interval so they do not all poll at once.
    """
    delay = interval * (1 + JITTER * jitter_unit)
    if failures > 0:
        delay = min(interval * (2 ** min(failures - 1, 16)), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return now + delay


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Whether and how new stories alert: live polls alert recent news; backfills choose (--notify)."""

    notify: bool = True
    status: str = "pending"  # the outbox status of new alerts; "held-backfill" collects a backfill digest
    max_age: timedelta | None = MAX_ALERT_AGE  # None: any age (a backfill asked to alert)


QUIET = AlertPolicy(notify=False)


def may_alert(*, published: datetime | None, now: datetime, policy: AlertPolicy) -> bool:
    """Whether a new flagged item may alert.

    The first successful poll of a feed is a baseline (the caller passes QUIET, so adding a feed never
    floods Slack), `--notify none` never alerts, and an item published long ago is history, not news.
    """
    if not policy.notify:
        return False
    return policy.max_age is None or published is None or now - published <= policy.max_age


@dataclass(frozen=True, slots=True)
class Route:
    """One message to enqueue: a story to a destination, on behalf of a rule."""

    rule: AlertRule
    destination: str


def routes_for(rules: Sequence[AlertRule], facts: StoryFacts, canonical: Callable[[str], str | None]) -> list[Route]:
    """Every destination the story goes to, once each even when several rules match it."""
    routes: dict[str, Route] = {}
    for rule in rules:
        if rule_matches(rule, facts, canonical) and rule.destination not in routes:
            routes[rule.destination] = Route(rule=rule, destination=rule.destination)
    return list(routes.values())


def alert_key(story_id: int, destination: str, kind: str, item_id: int | None = None) -> str:
    """The outbox's unique key: one 'new' alert per story and destination, one follow-up per item."""
    return f"{story_id}:{destination}:{kind}" + (f":{item_id}" if kind != "new" else "")
