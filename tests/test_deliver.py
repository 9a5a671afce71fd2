"""Outbox delivery against a local Slack stand-in with the real slack-sdk: once, and never lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor import store
from monitor.deliver import drain_outbox, unblock_alerts
from monitor.digest import make_digests, next_digest_time
from monitor.notify import make_notifier_factory
from monitor.rules import AlertRule
from monitor.tables import Alert, Feed, Item, Story
from tests.servers import SlackStandIn

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WEB_RULE = AlertRule(name="web", events=("cdmo_contract",), channel="#cdmo")
HOOK_RULE = AlertRule(name="hook", events=("cdmo_contract",), webhook_env="HOOK_URL")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return store.make_engine(str(tmp_path / "monitor.db"))


def add_story(engine: Engine, title: str, rule: AlertRule, status: str = "pending", n: int = 1) -> list[int]:
    ids = []
    with store.transaction(engine) as session:
        for i in range(n):
            story = Story(
                title=f"{title} {i}" if n > 1 else title,
                url=f"https://news.example.com/{i}",
                labels="cdmo_contract",
                first_seen_at=T0,
                last_seen_at=T0,
                outlets="news.example.com",
            )
            session.add(story)
            session.flush()
            assert story.id is not None
            key = f"{story.id}:{rule.destination}:new"
            session.add(Alert(dedupe_key=key, story_id=story.id, rule=rule.name, destination=rule.destination,
                              status=status, created_at=T0))  # fmt: skip
            ids.append(story.id)
    return ids


def alerts(engine: Engine) -> list[Alert]:
    with store.transaction(engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)))  # type: ignore[arg-type]


def factory(slack: SlackStandIn, token: str | None = "xoxb-test"):  # type: ignore[no-untyped-def]
    hooks = {"HOOK_URL": slack.webhook_url()}
    return make_notifier_factory(bot_token=token, api_url=slack.api_url, webhook_url=hooks.get)


def drain(engine: Engine, slack: SlackStandIn, clock: Clock, rules: list[AlertRule], **kwargs: object):  # type: ignore[no-untyped-def]
    return drain_outbox(engine, factory(slack), rules, clock, pace_s=0, **kwargs)  # type: ignore[arg-type]


def test_each_alert_is_sent_once_and_marked_with_its_ts(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "Lonza deal", WEB_RULE, n=3)
    report = drain(engine, slack, clock, [WEB_RULE])
    assert report.sent == 3 and len(slack.posts()) == 3
    assert all(a.status == "sent" and a.ts and a.channel == "C0TEST" for a in alerts(engine))
    post = slack.posts()[0].body
    assert post["metadata"]["event_payload"]["key"] == alerts(engine)[0].dedupe_key
    assert post["unfurl_links"] is False and post["link_names"] is False
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 0  # nothing twice
    assert len(slack.posts()) == 3


def test_429_retry_after_pauses_the_workspace_then_every_alert_arrives_once(
    engine: Engine, slack: SlackStandIn
) -> None:
    clock = Clock()
    add_story(engine, "Deal", WEB_RULE, n=3)
    slack.script.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    first = drain(engine, slack, clock, [WEB_RULE])
    assert first.sent == 0 and first.retried == 1
    assert len(slack.posts()) == 1  # the other two waited instead of hitting the limit too
    clock.advance(10)
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 0  # still inside Retry-After
    clock.advance(25)
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 3
    titles = [p.body["text"] for p in slack.posts()[1:]]
    assert len(titles) == len(set(titles)) == 3


def test_500_after_slack_kept_the_message_does_not_duplicate_on_the_web_api(
    engine: Engine, slack: SlackStandIn
) -> None:
    clock = Clock()
    add_story(engine, "Samsung Biologics contract", WEB_RULE)
    slack.script.append((500, {"ok": False, "error": "internal_error"}, {}, True))
    assert drain(engine, slack, clock, [WEB_RULE]).retried == 1
    (alert,) = alerts(engine)
    assert alert.status == "sending"  # may have arrived
    clock.advance(600)
    report = drain(engine, slack, clock, [WEB_RULE])
    assert report.reconciled == 1 and report.sent == 0
    assert len(slack.posts()) == 1
    (alert,) = alerts(engine)
    assert alert.status == "sent" and alert.ts == slack.messages[0]["ts"]
    assert any(c.path.endswith("conversations.history") for c in slack.calls)


def test_500_before_slack_kept_it_is_resent_once(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "Celltrion plant", WEB_RULE)
    slack.script.append((500, {"ok": False, "error": "internal_error"}, {}))
    drain(engine, slack, clock, [WEB_RULE])
    clock.advance(600)
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 1
    assert len(slack.messages) == 1


def test_webhook_ambiguous_failure_is_resent_at_most_once(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "Deal", HOOK_RULE)
    slack.script.append((500, "internal error", {}))
    slack.script.append((500, "internal error", {}))
    drain(engine, slack, clock, [HOOK_RULE])
    clock.advance(600)
    drain(engine, slack, clock, [HOOK_RULE])  # the one resend
    clock.advance(3600)
    report = drain(engine, slack, clock, [HOOK_RULE])
    assert report.uncertain == 1
    assert len(slack.posts()) == 2
    (alert,) = alerts(engine)
    assert (alert.status, alert.resends) == ("uncertain", 1)


def test_configuration_error_blocks_reports_once_and_resends_after_the_fix(
    engine: Engine, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    add_story(engine, "Deal", WEB_RULE, n=2)
    refused = (200, {"ok": False, "error": "not_in_channel"}, {})
    ops_ok = (200, {"ok": True, "channel": "C0OPS", "ts": "1.000001"}, {})
    slack.script.extend([refused, ops_ok, refused])  # alert 1, the one ops report, alert 2
    report = drain(engine, slack, clock, [WEB_RULE], ops_channel="ops")
    assert report.blocked == 2
    assert [a.status for a in alerts(engine)] == ["blocked", "blocked"]
    reports = [r for r in caplog.records if "blocked until the configuration is fixed" in r.getMessage()]
    assert len(reports) == 1
    ops_posts = [p for p in slack.posts() if p.body.get("channel") == "ops"]
    assert len(ops_posts) == 1
    # the bot is invited; after a reload the blocked alerts go out
    unblock_alerts(engine, clock())
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 2
    assert [a.status for a in alerts(engine)] == ["sent", "sent"]


def test_payload_error_falls_back_to_plain_text(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "Deal", WEB_RULE)
    slack.script.append((200, {"ok": False, "error": "invalid_blocks"}, {}))
    assert drain(engine, slack, clock, [WEB_RULE]).sent == 1
    last = slack.posts()[-1].body
    assert "blocks" not in last or not last["blocks"]
    assert "Deal" in last["text"]


def test_connection_refused_keeps_the_alert_pending(engine: Engine) -> None:
    clock = Clock()
    add_story(engine, "Deal", WEB_RULE)
    dead = make_notifier_factory(bot_token="xoxb-x", api_url="http://127.0.0.1:9/api/", webhook_url=lambda _: None)
    report = drain_outbox(engine, dead, [WEB_RULE], clock, pace_s=0)
    assert report.retried == 1
    (alert,) = alerts(engine)
    assert alert.status == "pending" and alert.next_attempt_at is not None and alert.next_attempt_at > clock()


def test_pacing_spaces_messages_to_one_channel(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "Deal", WEB_RULE, n=6)
    waits: list[float] = []
    drain_outbox(engine, factory(slack), [WEB_RULE], clock, pace_s=1.0, sleep=waits.append)
    assert len(slack.posts()) == 6
    assert len(waits) >= 2 and all(0 < w <= 1.0 for w in waits)  # a burst of 3, then paced


def test_thread_follow_up_waits_for_and_uses_the_parent_ts(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    (story_id,) = add_story(engine, "Deal", WEB_RULE)
    with store.transaction(engine) as session:
        feed = Feed(name="wire", url="https://wire.example/rss")
        session.add(feed)
        session.flush()
        assert feed.id is not None
        item = Item(feed_id=feed.id, guid="x", title="Wire copy", source="wire.example", first_seen_at=T0)
        session.add(item)
        session.flush()
        session.add(Alert(dedupe_key="f1", story_id=story_id, item_id=item.id, rule="web", destination="channel:#cdmo",
                          kind="follow_up", created_at=T0))  # fmt: skip
    drain(engine, slack, clock, [WEB_RULE])
    clock.advance(60)
    drain(engine, slack, clock, [WEB_RULE])
    _parent, reply = slack.posts()
    assert reply.body["thread_ts"] == slack.messages[0]["ts"]
    assert "Also reported by wire.example" in reply.body["text"]


def test_digest_lists_held_stories_in_one_message_at_the_scheduled_time(engine: Engine, slack: SlackStandIn) -> None:
    rule = AlertRule(name="daily", events=("cdmo_contract",), channel="#cdmo", mode="digest", schedule="0 8 * * *")
    clock = Clock()
    assert make_digests(engine, [rule], clock()) == 0  # first sight: the schedule starts now
    add_story(engine, "Deal", rule, status="held", n=25)
    clock.now = datetime(2026, 11, 23, 7, 59, tzinfo=UTC)
    assert make_digests(engine, [rule], clock()) == 0
    clock.now = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)
    assert make_digests(engine, [rule], clock()) == 2  # 25 stories: split to stay within Slack's limits
    assert make_digests(engine, [rule], clock()) == 0
    assert drain(engine, slack, clock, [rule]).sent == 2
    texts = [p.body["text"] for p in slack.posts()]
    listed = sum(t.count("\n• ") for t in texts)
    assert listed == 25
    assert all(len(p.body["blocks"]) <= 50 for p in slack.posts())
    assert next_digest_time("0 8 * * *", clock.now) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    statuses = {a.status for a in alerts(engine) if a.kind == "new"}
    assert statuses == {"digested"}


def test_hostile_text_arrives_inert(engine: Engine, slack: SlackStandIn) -> None:
    clock = Clock()
    add_story(engine, "<!channel> <@U123> <https://evil.example|click> deal", WEB_RULE)
    drain(engine, slack, clock, [WEB_RULE])
    body = json.dumps(slack.posts()[0].body)
    for token in ("<!channel>", "<@U123>", "<https://evil.example|"):
        assert token not in body
