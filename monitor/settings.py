"""Settings from the command line and the environment, read once in the CLI and passed down.

Nothing reads `os.environ` at import time or deep inside the pipeline: tests pass a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "monitor.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the configuration and database are, and how to reach Slack."""

    feeds_path: Path = Path("feeds.yaml")
    alerts_dir: Path = Path("alerts")
    db: str = DEFAULT_DB
    slack_bot_token: str | None = None
    slack_api_url: str | None = None
    allow_private_networks: bool = False
    companies_paths: tuple[Path, ...] = ()
    ops_channel: str | None = None  # where blocked deliveries and long-failing feeds are reported
    environ: Mapping[str, str] | None = None  # where webhook_env names are looked up

    def webhook_url(self, env_name: str) -> str | None:
        return (self.environ or {}).get(env_name) or None

    def __repr__(self) -> str:  # never print the token
        token = "set" if self.slack_bot_token else "unset"
        return f"Settings(feeds={self.feeds_path}, alerts={self.alerts_dir}, db={self.db}, slack_bot_token={token})"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_settings(
    environ: Mapping[str, str],
    *,
    feeds: str | None = None,
    alerts: str | None = None,
    db: str | None = None,
) -> Settings:
    """Command-line values win over the environment, which wins over the defaults."""
    companies = environ.get("MONITOR_COMPANIES", "")
    return Settings(
        feeds_path=Path(feeds or environ.get("MONITOR_FEEDS") or "feeds.yaml"),
        alerts_dir=Path(alerts or environ.get("MONITOR_ALERTS") or "alerts"),
        db=db or environ.get("MONITOR_DB") or DEFAULT_DB,
        slack_bot_token=environ.get("SLACK_BOT_TOKEN") or None,
        slack_api_url=environ.get("SLACK_API_URL") or None,
        allow_private_networks=_flag(environ.get("MONITOR_ALLOW_PRIVATE_NETWORKS")),
        companies_paths=tuple(Path(p) for p in companies.split(":") if p),
        ops_channel=environ.get("MONITOR_OPS_CHANNEL") or None,
        environ=dict(environ),
    )
