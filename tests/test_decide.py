"""Pure decisions: poll timing, whether an item may alert, routing stories to rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.decide import (
    MAX_ALERT_AGE,
    MAX_BACKOFF,
    QUIET,
    AlertPolicy,
    alert_key,
    may_alert,
    next_poll_at,
    routes_for,
)
from monitor.rules import AlertRule, StoryFacts, rule_matches
from monitor.types import Entities

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALIASES = {"samsung biologics": "Samsung Biologics", "삼성바이오로직스": "Samsung Biologics", "lonza": "Lonza"}


def canonical(name: str) -> str | None:
    return ALIASES.get(name.casefold())


def facts(**overrides: object) -> StoryFacts:
    base: dict[str, object] = {
        "labels": ("cdmo_contract",),
        "entities": Entities(cdmo="Samsung Biologics", client="Acme", value="$150 million", value_usd=150e6),
        "feed": "korea-biomedical-review",
        "feed_tags": ("korea",),
        "title": "Samsung Biologics wins ADC manufacturing order",
        "summary": "",
    }
    base.update(overrides)
    return StoryFacts(**base)  # type: ignore[arg-type]


def test_next_poll_uses_interval_with_jitter_backoff_and_retry_after() -> None:
    interval = timedelta(minutes=30)
    assert next_poll_at(NOW, interval) == NOW + interval
    assert next_poll_at(NOW, interval, jitter_unit=0.5) == NOW + interval * 1.05
    assert next_poll_at(NOW, interval, failures=1) == NOW + interval
    assert next_poll_at(NOW, interval, failures=3) == NOW + interval * 4
    assert next_poll_at(NOW, interval, failures=40) == NOW + MAX_BACKOFF
    assert next_poll_at(NOW, interval, retry_after=7200) == NOW + timedelta(hours=2)


def test_may_alert_only_for_recent_items_when_notifying() -> None:
    live = AlertPolicy()
    assert may_alert(published=NOW - timedelta(hours=1), now=NOW, policy=live)
    assert may_alert(published=None, now=NOW, policy=live)
    assert not may_alert(published=NOW, now=NOW, policy=QUIET)  # baseline and --notify none
    assert not may_alert(published=NOW - MAX_ALERT_AGE - timedelta(hours=1), now=NOW, policy=live)
    backfill_all = AlertPolicy(max_age=None)
    assert may_alert(published=NOW - timedelta(days=400), now=NOW, policy=backfill_all)


def test_watchlist_matches_through_aliases() -> None:
    rule = AlertRule(name="r", events=("cdmo_contract",), channel="#x", companies=("삼성바이오로직스",))
    assert rule_matches(rule, facts(), canonical)
    other = AlertRule(name="r", events=("cdmo_contract",), channel="#x", companies=("Lonza",))
    assert not rule_matches(other, facts(), canonical)


def test_filters_events_feeds_tags_keywords_and_value() -> None:
    def matches(**kwargs: object) -> bool:
        rule = AlertRule(name="r", events=("cdmo_contract",), channel="#x", **kwargs)  # type: ignore[arg-type]
        return rule_matches(rule, facts(), canonical)

    assert matches(min_value_usd=100e6) and not matches(min_value_usd=200e6)
    assert matches(keywords=("adc",)) and not matches(keywords=("mRNA",))
    assert matches(feeds=("korea-biomedical-review",)) and not matches(feeds=("fierce-pharma",))
    assert matches(tags=("korea",)) and not matches(tags=("wire",))
    plant_only = AlertRule(name="r", events=("plant_milestone",), channel="#x")
    assert not rule_matches(plant_only, facts(), canonical)
    unknown_value = facts(entities=Entities(cdmo="Lonza"))
    value_rule = AlertRule(name="r", events=("cdmo_contract",), channel="#x", min_value_usd=1.0)
    assert not rule_matches(value_rule, unknown_value, canonical)


def test_one_story_goes_to_each_destination_once() -> None:
    rules = [
        AlertRule(name="all", events=("cdmo_contract", "plant_milestone"), channel="#cdmo"),
        AlertRule(name="korea", events=("cdmo_contract",), channel="#cdmo", tags=("korea",)),
        AlertRule(name="big", events=("cdmo_contract",), webhook_env="HOOK", min_value_usd=1e8, mention="@here"),
        AlertRule(name="off", events=("cdmo_contract",), channel="#other", enabled=False),
    ]
    routes = routes_for(rules, facts(), canonical)
    assert [(r.rule.name, r.destination) for r in routes] == [("all", "channel:#cdmo"), ("big", "webhook:HOOK")]


def test_alert_keys_are_unique_per_story_destination_and_follow_up_item() -> None:
    assert alert_key(7, "channel:#x", "new") == alert_key(7, "channel:#x", "new", item_id=3)
    assert alert_key(7, "channel:#x", "follow_up", 3) != alert_key(7, "channel:#x", "follow_up", 4)
