"""alerts/: one YAML file per alert rule, validated strictly, and the pure matching of a story to rules.

A rule says which events go where: `events` (cdmo_contract, plant_milestone), a destination (`channel`,
posted with the bot token, or `webhook_env`, the *name* of an environment variable holding an incoming
webhook URL; secrets never live in these files) and optional filters. Mentions come only from rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from monitor.errors import ConfigError
from monitor.types import LABELS, Entities
from monitor.yamlconf import Field, read_yaml

_RULE_KEYS = {
    "name",
    "description",
    "enabled",
    "events",
    "channel",
    "webhook_env",
    "companies",
    "keywords",
    "min_value_usd",
    "feeds",
    "tags",
    "mention",
    "follow_up",
    "mode",
    "schedule",
}
FOLLOW_UPS = ("thread", "update", "none")
MODES = ("instant", "digest")
_MENTION = re.compile(r"@here|@channel|<@[UW][A-Z0-9]+>|<!subteam\^[A-Z0-9]+>")
_CHANNEL = re.compile(r"#?[a-z0-9][a-z0-9_-]{0,79}|[CGD][A-Z0-9]{8,}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SECRET = re.compile(r"://|^xox[a-z]-|^xapp-|hooks\.slack\.com", re.I)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One validated rule from alerts/<file>.yaml."""

    name: str
    events: tuple[str, ...]
    channel: str | None = None
    webhook_env: str | None = None
    enabled: bool = True
    description: str = ""
    companies: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    min_value_usd: float | None = None
    feeds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    mention: str | None = None
    follow_up: str = "thread"
    mode: str = "instant"
    schedule: str | None = None  # cron expression (5 fields, UTC) for digests
    file: str = ""

    @property
    def destination(self) -> str:
        """A stable name of where the rule posts: `channel:#x` or `webhook:ENV_NAME`."""
        return f"channel:{self.channel}" if self.channel else f"webhook:{self.webhook_env}"


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """What rules look at: a story's labels and fields, and the feed and text of its first item."""

    labels: tuple[str, ...]
    entities: Entities
    feed: str
    feed_tags: tuple[str, ...]
    title: str
    summary: str


def load_rules(directory: Path) -> list[AlertRule]:
    """Read every *.yaml / *.yml file of `directory` as one rule. Raises ConfigError listing all problems."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: alert rules folder not found (name another with --alerts or MONITOR_ALERTS)")
    problems: list[str] = []
    rules: list[AlertRule] = []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        try:
            root = read_yaml(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if root is None:
            problems.append(f"{path}: the file is empty; a rule needs at least name, events and a destination")
            continue
        rule = _read_rule(root, path, problems)
        if rule is not None:
            rules.append(rule)
    seen: dict[str, AlertRule] = {}
    for rule in rules:
        if (first := seen.setdefault(rule.name.lower(), rule)) is not rule:
            problems.append(f"{rule.file}: name: {rule.name!r} is already the name of the rule in {first.file}")
    if problems:
        raise ConfigError(problems)
    return rules


def _read_rule(root: Field, path: Path, problems: list[str]) -> AlertRule | None:
    before = len(problems)
    fields = root.mapping(_RULE_KEYS, problems)
    for required in ("name", "events"):
        if required not in fields:
            problems.append(f"{path}:{root.line}: {required}: missing")
    name = fields["name"].text(problems) if "name" in fields else None
    events = _events(fields["events"], problems) if "events" in fields else ()
    channel = _matching(fields.get("channel"), _CHANNEL, "a channel name like #cdmo-alerts or an ID", problems)
    webhook_env = _matching(fields.get("webhook_env"), _ENV_NAME, "an environment variable name", problems)
    if (channel is None) == (webhook_env is None) and "channel" not in fields and "webhook_env" not in fields:
        problems.append(f"{path}:{root.line}: destination missing: give `channel` or `webhook_env`")
    elif "channel" in fields and "webhook_env" in fields:
        problems.append(fields["webhook_env"].error("give either `channel` or `webhook_env`, not both"))
    if webhook_env is not None and webhook_env.startswith("HTTP"):
        problems.append(fields["webhook_env"].error("name the environment variable, never the URL itself"))
    mention = _matching(fields.get("mention"), _MENTION, "@here, @channel, <@U…> or <!subteam^…>", problems)
    follow_up = fields["follow_up"].text(problems) if "follow_up" in fields else "thread"
    if follow_up is not None and follow_up not in FOLLOW_UPS:
        problems.append(fields["follow_up"].error(f"expected one of {', '.join(FOLLOW_UPS)}"))
    mode = fields["mode"].text(problems) if "mode" in fields else "instant"
    if mode is not None and mode not in MODES:
        problems.append(fields["mode"].error(f"expected one of {', '.join(MODES)}"))
    schedule = _schedule(fields.get("schedule"), problems)
    if mode == "digest" and "schedule" not in fields:
        problems.append(
            f"{path}:{root.line}: schedule: missing; a digest rule needs a cron schedule like '0 8 * * 1-5'"
        )
    min_value = fields["min_value_usd"].number(problems) if "min_value_usd" in fields else None
    enabled = fields["enabled"].boolean(problems) if "enabled" in fields else True
    if len(problems) > before or name is None or enabled is None or follow_up is None or mode is None:
        return None

    def texts(key: str) -> tuple[str, ...]:
        return fields[key].text_list(problems) if key in fields else ()

    return AlertRule(
        name=name,
        events=events,
        channel=channel,
        webhook_env=webhook_env,
        enabled=enabled,
        description=(fields["description"].text(problems) or "") if "description" in fields else "",
        companies=texts("companies"),
        keywords=texts("keywords"),
        min_value_usd=min_value,
        feeds=texts("feeds"),
        tags=texts("tags"),
        mention=mention,
        follow_up=follow_up,
        mode=mode,
        schedule=schedule,
        file=str(path),
    )


def _schedule(field: Field | None, problems: list[str]) -> str | None:
    if field is None:
        return None
    text = field.text(problems)
    if text is None:
        return None
    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        problems.append(field.error(f"{text!r} is not a cron schedule (minute hour day month weekday): {exc}"))
        return None
    return text


def _events(field: Field, problems: list[str]) -> tuple[str, ...]:
    events = field.text_list(problems)
    for event in events:
        if event not in LABELS:
            problems.append(field.error(f"unknown event {event!r}; expected {' or '.join(LABELS)}"))
    if not events:
        problems.append(field.error("list at least one event"))
    return events


def _matching(field: Field | None, pattern: re.Pattern[str], what: str, problems: list[str]) -> str | None:
    if field is None:
        return None
    text = field.text(problems)
    if text is not None and _SECRET.search(text):  # a webhook URL or token pasted in: refuse, never echo it
        problems.append(
            field.error(
                f"not {what}: this looks like a secret (a webhook URL or token); keep secrets in environment "
                "variables and give `webhook_env` the variable's name"
            )
        )
        return None
    if text is not None and not pattern.fullmatch(text):
        problems.append(field.error(f"{text!r} is not {what}"))
        return None
    return text


def rule_matches(rule: AlertRule, facts: StoryFacts, canonical: Callable[[str], str | None]) -> bool:
    """Whether `facts` pass every filter of `rule`. `canonical` maps a company alias to its canonical name."""
    if not rule.enabled or not set(rule.events) & set(facts.labels):
        return False
    if rule.feeds and facts.feed not in rule.feeds:
        return False
    if rule.tags and not set(rule.tags) & set(facts.feed_tags):
        return False
    if rule.companies and not _names_company(rule.companies, facts, canonical):
        return False
    if rule.keywords:
        text = f"{facts.title}\n{facts.summary}".casefold()
        if not any(keyword.casefold() in text for keyword in rule.keywords):
            return False
    if rule.min_value_usd is not None:
        value = facts.entities.value_usd
        if value is None or value < rule.min_value_usd:
            return False
    return True


def _names_company(watchlist: Sequence[str], facts: StoryFacts, canonical: Callable[[str], str | None]) -> bool:
    wanted = {(canonical(name) or name).casefold() for name in watchlist}
    named = [facts.entities.cdmo, facts.entities.client, *facts.entities.companies]
    return any(n is not None and (canonical(n) or n).casefold() in wanted for n in named)
