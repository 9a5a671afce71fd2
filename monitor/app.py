"""The composition root: settings + configuration -> a ready Pipeline and notifier factory.

Kept apart from the CLI so `run`, `poll`, `backfill` and tests build the monitor the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config import load_feeds
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import make_client
from monitor.notify import NotifierFactory, make_notifier_factory
from monitor.pipeline import Pipeline
from monitor.render import Message, escape
from monitor.rules import AlertRule, load_rules
from monitor.settings import Settings
from monitor.store import make_engine
from monitor.types import FeedSpec
from monitor.vocabulary import Vocabulary, load_vocabulary


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Configuration:
    """feeds.yaml and alerts/ as validated together."""

    feeds: list[FeedSpec]
    rules: list[AlertRule]


def load_configuration(settings: Settings) -> Configuration:
    """Validate feeds.yaml and alerts/; a ConfigError lists the problems of both."""
    problems: list[str] = []
    feeds: list[FeedSpec] = []
    rules: list[AlertRule] = []
    try:
        feeds = load_feeds(settings.feeds_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        rules = load_rules(settings.alerts_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Configuration(feeds=feeds, rules=rules)


def load_user_vocabulary(settings: Settings) -> Vocabulary:
    try:
        return load_vocabulary(settings.companies_paths)
    except MonitorError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(f"company vocabulary: {exc}") from exc


def build_pipeline(settings: Settings, rules: list[AlertRule], clock: Callable[[], datetime] = utc_now) -> Pipeline:
    return Pipeline(
        engine=make_engine(settings.db),
        http=make_client(allow_private=settings.allow_private_networks),
        rules=rules,
        vocabulary=load_user_vocabulary(settings),
        clock=clock,
        allow_private=settings.allow_private_networks,
        vocabulary_paths=tuple(str(p) for p in settings.companies_paths),
    )


def build_notifiers(settings: Settings) -> NotifierFactory:
    return make_notifier_factory(
        bot_token=settings.slack_bot_token, api_url=settings.slack_api_url, webhook_url=settings.webhook_url
    )


def report_alarms(alarms: list[str], settings: Settings) -> None:
    """Report feeds failing for a day: the log, and the ops channel when one is configured."""
    log = logging.getLogger("monitor")
    for alarm in alarms:
        log.error(alarm)
        if settings.ops_channel:
            try:
                notifier = build_notifiers(settings)(f"channel:{settings.ops_channel}")
                notifier.send(Message(text=f"monitor: {escape(alarm)}", blocks=[]))
            except MonitorError as exc:
                log.error("could not report to the ops channel: %s", exc)
