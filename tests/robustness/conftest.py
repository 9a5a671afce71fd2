"""Shared harness of the robustness suite (catalogue: /shared/docs/robustness.md §6, summary: docs/robustness.md).

- `parse()` runs the real parse wrapper on bytes.
- `Monitor` is the real pipeline in-process (the same composition as `monitor poll`: app.build_pipeline,
  pipeline.poll, deliver.drain_outbox) against a FeedServer and a SlackStandIn on 127.0.0.1, with a
  controllable clock; `Monitor.db()` reads the SQLite file directly for assertions.
- `Workspace` runs the real `monitor` command as a subprocess (crash and process-level tests).
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app import build_notifiers, build_pipeline, load_configuration
from monitor.deliver import DeliveryReport, drain_outbox
from monitor.fetch import make_client
from monitor.parse import ParsedFeed, parse_feed
from monitor.pipeline import Pipeline, PollResult, poll, sync_config
from monitor.settings import Settings, load_settings
from tests.servers import FeedServer, SlackStandIn, rss
from tests.workspace import Db, Workspace

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# Items the classifier flags (each a distinct story) and one it does not.
CONTRACTS: list[dict[str, str]] = [
    {
        "title": "Lonza signs manufacturing agreement with Acme Therapeutics",
        "description": "Swiss CDMO Lonza will produce Acme's antibody at its Visp site under a multi-year contract.",
    },
    {
        "title": "Samsung Biologics signs $200 million manufacturing deal with Pfizer",
        "description": "The CDMO will manufacture biosimilars at its Songdo plant.",
    },
    {
        "title": "Fujifilm Diosynth signs manufacturing agreement with Gamma Bio",
        "description": "The CDMO will produce the drug substance in Denmark.",
    },
    {
        "title": "Catalent signs manufacturing agreement with Delta Therapeutics",
        "description": "The CDMO will fill and finish the vaccine.",
    },
]
NOISE = {"title": "Acme Therapeutics reports third-quarter results", "description": "Revenue rose 4%."}


def pubdate(when: datetime | None = None) -> str:
    """An RFC 822 date an hour before `when` (default: the real now, as the CLI's clock is real)."""
    moment = (when or datetime.now(UTC)) - timedelta(hours=1)
    return email.utils.format_datetime(moment, usegmt=True)


def item(base: dict[str, str], guid: str, link: str | None = None, when: datetime | None = None) -> dict[str, str]:
    out = {**base, "guid": guid, "pubDate": pubdate(when)}
    out["link"] = link or f"https://news.example.com/{guid}"
    return out


def contract(index: int, guid: str | None = None, when: datetime | None = None) -> dict[str, str]:
    return item(CONTRACTS[index], guid or f"c{index}", when=when)


def parse(
    body: bytes | str, url: str = "https://news.example.com/feed", content_type: str = "application/rss+xml"
) -> ParsedFeed:
    data = body.encode() if isinstance(body, str) else body
    return parse_feed(data, final_url=url, headers={"content-type": content_type}, now=NOW)


def rss_doc(items: list[dict[str, str]], title: str = "Test feed") -> str:
    return rss(items, title=title)


# -- database reads ---------------------------------------------------------------------------------


def alert_keys_posted(slack: SlackStandIn) -> list[str]:
    """The alert key of every message post Slack received (from the message metadata)."""
    keys = []
    for call in slack.posts():
        payload = (call.body.get("metadata") or {}).get("event_payload") or {}
        keys.append(str(payload.get("key") or payload.get("alert_key") or call.body.get("text")))
    return keys


def stored_keys(slack: SlackStandIn) -> list[str]:
    """Alert keys of the messages Slack kept (what users see)."""
    keys = []
    for message in slack.messages:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        keys.append(str(payload.get("key") or payload.get("alert_key") or message.get("text")))
    return keys


# -- in-process monitor -----------------------------------------------------------------------------


@dataclass
class Monitor:
    """The real pipeline in this process, on a fresh database, with a clock the test moves."""

    root: Path
    feeds: FeedServer
    slack: SlackStandIn
    env: dict[str, str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _pipeline: Pipeline | None = None

    def write_feeds(self, paths: dict[str, str], interval: str = "15m") -> None:
        lines = ["feeds:"]
        for name, path in paths.items():
            lines += [f"  - name: {name}", f"    url: '{self.feeds.url(path)}'", f"    interval: {interval}"]
        (self.root / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._pipeline = None

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    def clock(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            configuration = load_configuration(self.settings)
            self._pipeline = build_pipeline(self.settings, configuration.rules, clock=self.clock)
            self._pipeline.http = make_client(timeout=2, connect_timeout=2, allow_private=True, deadline_s=5)
            sync_config(self._pipeline, configuration.feeds)
        return self._pipeline

    def poll(self, names: list[str] | None = None) -> dict[str, PollResult]:
        return {r.feed: r for r in poll(self.pipeline, names)}

    def deliver(self, **kwargs: Any) -> DeliveryReport:
        kwargs.setdefault("pace_s", 0.0)
        kwargs.setdefault("sleep", lambda _s: None)
        return drain_outbox(
            self.pipeline.engine, build_notifiers(self.settings), self.pipeline.rules, self.clock, **kwargs
        )

    def cycle(self, minutes: float = 20) -> dict[str, PollResult]:
        """Advance past every feed's interval, poll, deliver."""
        self.advance(minutes=minutes)
        results = self.poll()
        self.deliver()
        return results

    def db(self) -> Db:
        return Db(Path(self.env["MONITOR_DB"]))


def _write_rules(root: Path, body: str = "") -> None:
    (root / "alerts").mkdir(exist_ok=True)
    (root / "alerts" / "default.yaml").write_text(
        body or "name: everything\nevents: [cdmo_contract, plant_milestone]\nchannel: '#cdmo'\n", encoding="utf-8"
    )


def _env(root: Path, slack: SlackStandIn) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.api_url,
        "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",
        "MONITOR_DB": str(root / "monitor.db"),
        "MONITOR_FEEDS": str(root / "feeds.yaml"),
        "MONITOR_ALERTS": str(root / "alerts"),
    }


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, SlackStandIn]]:
    with FeedServer() as feeds, SlackStandIn() as slack:
        yield feeds, slack


@pytest.fixture
def monitor(tmp_path: Path, servers: tuple[FeedServer, SlackStandIn]) -> Iterator[Monitor]:
    feeds, slack = servers
    _write_rules(tmp_path)
    mon = Monitor(tmp_path, feeds, slack, _env(tmp_path, slack))
    yield mon
    if mon._pipeline is not None:
        mon._pipeline.http.close()
        mon._pipeline.engine.dispose()


# -- the real CLI in a subprocess -------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, servers: tuple[FeedServer, SlackStandIn]) -> Workspace:
    feeds, slack = servers
    _write_rules(tmp_path)
    return Workspace(tmp_path, feeds, slack, _env(tmp_path, slack))


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
