"""Delivery channels: Slack Web API (bot token), Slack incoming webhooks, and the console.

Each notifier sends one rendered message and either returns a Receipt or raises DeliveryError with a
`kind` the outbox acts on. slack-sdk's default retry handler is turned off: it can post a message twice
(a reset after Slack received the request), and the outbox owns retries.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from monitor.errors import DeliveryError
from monitor.render import Message

CONFIG_ERRORS = frozenset(
    {
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
        "no_permission", "channel_not_found", "not_in_channel", "is_archived", "ekm_access_denied",
        "team_access_not_granted", "access_denied", "message_limit_exceeded", "restricted_action",
        "no_service", "no_service_id", "no_team", "team_disabled", "invalid_token", "no_active_hooks",
        "channel_is_archived", "action_prohibited", "posting_to_general_channel_denied",
    }
)  # fmt: skip
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "too_many_attachments", "no_text",
        "invalid_arguments", "markdown_text_conflict", "metadata_too_large", "invalid_payload",
    }
)  # fmt: skip
RETRY_ERRORS = frozenset({"ratelimited", "rate_limited", "service_unavailable", "request_timeout"})


@dataclass(frozen=True, slots=True)
class Receipt:
    """Slack's confirmation: where the message went and its `ts` (None for webhooks and the console)."""

    channel: str
    ts: str | None


class Notifier(Protocol):
    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt: ...


def classify_slack_error(error: str, status: int | None) -> str:
    """Map a Slack error code / HTTP status to the outbox action: retry, ambiguous, config or payload."""
    if status == 429 or error in RETRY_ERRORS:
        return "retry"
    if error in CONFIG_ERRORS or status in (401, 403, 404, 410):
        return "config"
    if error in PAYLOAD_ERRORS or status == 400:
        return "payload"
    return "ambiguous"


def _retry_after(headers: object) -> float | None:
    getter = getattr(headers, "get", None)
    raw = getter("Retry-After") or getter("retry-after") if getter else None
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


class SlackWebNotifier:
    """chat.postMessage with the bot token to one channel."""

    def __init__(self, token: str, channel: str, base_url: str | None = None, timeout: int = 15) -> None:
        self._client = WebClient(
            token=token,
            timeout=timeout,
            base_url=base_url.rstrip("/") + "/" if base_url else WebClient.BASE_URL,
            retry_handlers=[],
        )
        self._channel = channel

    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt:
        try:
            response = self._client.chat_postMessage(
                channel=self._channel,
                text=message.text,
                blocks=message.blocks or None,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                link_names=False,
                metadata={"event_type": "monitor_alert", "event_payload": {"key": key}} if key else None,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = exc.response.status_code
            kind = classify_slack_error(error, status)
            raise DeliveryError(
                f"Slack refused the message ({status} {error})",
                kind=kind,
                retry_after=_retry_after(exc.response.headers),
            ) from exc
        except (SlackClientError, OSError) as exc:
            refused = isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
            raise DeliveryError(
                f"cannot reach Slack: {type(exc).__name__}: {exc}", kind="retry" if refused else "ambiguous"
            ) from exc
        return Receipt(channel=str(response.get("channel") or self._channel), ts=response.get("ts"))


class SlackWebhookNotifier:
    """An incoming webhook. WebhookClient returns HTTP errors instead of raising: check status and body."""

    def __init__(self, url: str, timeout: int = 15) -> None:
        self._client = WebhookClient(url=url, timeout=timeout, retry_handlers=[])

    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt:
        try:
            response = self._client.send(
                text=message.text, blocks=message.blocks or None, unfurl_links=False, unfurl_media=False
            )
        except (SlackClientError, OSError) as exc:
            refused = isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
            raise DeliveryError(
                f"cannot reach the webhook: {type(exc).__name__}", kind="retry" if refused else "ambiguous"
            ) from exc
        if response.status_code == 200 and response.body == "ok":
            return Receipt(channel="webhook", ts=None)
        body = (response.body or "").strip()[:100]
        kind = classify_slack_error(body, response.status_code)
        raise DeliveryError(
            f"webhook refused the message ({response.status_code} {body})",
            kind=kind,
            retry_after=_retry_after(response.headers),
        )


class ConsoleNotifier:
    """Prints alerts when no Slack is configured, so the monitor works out of the box."""

    def __init__(self, destination: str, stream: TextIO | None = None, reason: str = "") -> None:
        self._destination = destination
        self._stream = stream
        self._reason = reason

    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt:
        stream = self._stream or sys.stdout
        prefix = "  ↳ " if thread_ts else "🔔 "
        note = f" [{self._reason}]" if self._reason and not thread_ts else ""
        stream.write(f"{prefix}[{self._destination}]{note} {message.text}\n")
        stream.flush()
        return Receipt(channel="console", ts=f"console-{key}" if key else None)


NotifierFactory = Callable[[str], Notifier]


def make_notifier_factory(
    *, bot_token: str | None, api_url: str | None, webhook_url: Callable[[str], str | None]
) -> NotifierFactory:
    """Destination (`channel:X` / `webhook:ENV`) -> notifier; the console when Slack is not configured."""
    cache: dict[str, Notifier] = {}

    def factory(destination: str) -> Notifier:
        if destination in cache:
            return cache[destination]
        kind, _, target = destination.partition(":")
        notifier: Notifier
        if kind == "channel" and bot_token:
            notifier = SlackWebNotifier(bot_token, target, base_url=api_url)
        elif kind == "webhook" and (url := webhook_url(target)):
            notifier = SlackWebhookNotifier(url)
        else:
            reason = "SLACK_BOT_TOKEN not set" if kind == "channel" else f"{target} not set"
            notifier = ConsoleNotifier(destination, reason=reason)
        cache[destination] = notifier
        return notifier

    return factory
