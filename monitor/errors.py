"""The exceptions of monitor, one tree, wrapping library errors at module borders.

MonitorError
├── ConfigError        bad feeds.yaml, alerts/ or environment: names file, line and field
├── FeedError          one feed failed; becomes a value in the poll result, never stops others
│   ├── FetchError     network, HTTP status, size or address policy
│   └── ParseError     the body is not a feed feedparser could read
├── StorageError       the database refused a write or read
└── DeliveryError      Slack (or a webhook) did not take an alert
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """Invalid configuration. `problems` lists every problem found, each naming where it is."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FeedError(MonitorError):
    """A feed could not be polled. `retry_after` is set when the server asked us to wait."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FetchError(FeedError):
    """The feed could not be fetched (network, HTTP status, size limit, refused address)."""


class ParseError(FeedError):
    """The body could not be read as a feed."""


class StorageError(MonitorError):
    """A database operation failed."""


class DeliveryError(MonitorError):
    """An alert could not be delivered.

    `kind` says what the sender should do: "retry" (not sent, try later), "ambiguous" (may have been
    sent), "config" (operator must fix a token, channel or webhook), "payload" (Slack refused the
    message itself).
    """

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
