"""Delivery channels: Slack Web API (bot token), Slack incoming webhooks, and the console.

Each notifier sends one rendered message and either returns a Receipt or raises DeliveryError with a
`kind` the outbox acts on. slack-sdk's default retry handler is turned off: it can post a message twice
(a reset after Slack received the request), and the outbox owns retries.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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
    """Sends messages to one destination."""

    #: whether `find` can tell if a message was delivered (the Web API can; webhooks cannot)
    can_reconcile: bool

    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt: ...

    def find(self, key: str, since: datetime) -> Receipt | None:
        """The message carrying alert `key` posted since `since`, if Slack has it."""
        ...

    def update(self, receipt: Receipt, message: Message) -> None:
        """Replace a sent message (to refresh its list of outlets)."""
        ...


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
    raw = (getter("Retry-After") or getter("retry-after")) if getter else None
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _api_error(exc: SlackApiError) -> DeliveryError:
    error = str(exc.response.get("error") or "")
    status = exc.response.status_code
    return DeliveryError(
        f"Slack refused the call ({status} {error})",
        kind=classify_slack_error(error, status),
        retry_after=_retry_after(exc.response.headers),
    )


def _network_error(exc: Exception, what: str) -> DeliveryError:
    """Refused connections and DNS failures happen before anything is sent; anything else may be after."""
    text = str(exc).lower()
    markers = ("refused", "name or service not known", "nodename nor servname", "getaddrinfo", "no address")
    before_sending = isinstance(exc, ConnectionRefusedError) or any(marker in text for marker in markers)
    return DeliveryError(
        f"cannot reach {what}: {type(exc).__name__}: {exc}", kind="retry" if before_sending else "ambiguous"
    )


class SlackWebNotifier:
    """chat.postMessage with the bot token to one channel.

    Each message carries its alert key in `metadata`, so that after an ambiguous failure (a timeout, a
    reset or a 5xx after the request was sent) `find` can look in `conversations.history` before resending.
    """

    can_reconcile = True

    def __init__(self, token: str, channel: str, base_url: str | None = None, timeout: int = 15) -> None:
        self._client = WebClient(
            token=token,
            timeout=timeout,
            base_url=base_url.rstrip("/") + "/" if base_url else WebClient.BASE_URL,
            retry_handlers=[],
        )
        self._channel = channel
        looks_like_id = channel[:1] in ("C", "G") and channel.isupper() and channel.isalnum()
        self._channel_id: str | None = channel if looks_like_id else None

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
            raise _api_error(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise _network_error(exc, "Slack") from exc
        self._channel_id = str(response.get("channel") or "") or self._channel_id
        return Receipt(channel=str(response.get("channel") or self._channel), ts=response.get("ts"))

    def find(self, key: str, since: datetime) -> Receipt | None:
        try:
            channel = self._resolve_channel_id()
            if channel is None:
                return None
            response = self._client.conversations_history(
                channel=channel, oldest=f"{since.timestamp() - 120:.6f}", limit=200, include_all_metadata=True
            )
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise _network_error(exc, "Slack") from exc
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return Receipt(channel=channel, ts=message.get("ts"))
        return None

    def update(self, receipt: Receipt, message: Message) -> None:
        if not receipt.ts:
            return
        try:
            self._client.chat_update(channel=receipt.channel, ts=receipt.ts, text=message.text, blocks=message.blocks)
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise _network_error(exc, "Slack") from exc

    def _resolve_channel_id(self) -> str | None:
        """conversations.history needs the channel ID; rules may name the channel instead."""
        if self._channel_id:
            return self._channel_id
        name = self._channel.lstrip("#")
        cursor = None
        for _page in range(20):
            response = self._client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor, exclude_archived=True
            )
            for channel in response.get("channels") or []:
                if channel.get("name") == name:
                    self._channel_id = str(channel.get("id"))
                    return self._channel_id
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None


class SlackWebhookNotifier:
    """An incoming webhook. WebhookClient returns HTTP errors instead of raising: check status and body.

    A webhook returns no message id, so delivery cannot be checked afterwards (`can_reconcile` False).
    """

    can_reconcile = False

    def __init__(self, url: str, timeout: int = 15) -> None:
        self._client = WebhookClient(url=url, timeout=timeout, retry_handlers=[])

    def send(self, message: Message, *, thread_ts: str | None = None, key: str = "") -> Receipt:
        try:
            response = self._client.send(
                text=message.text, blocks=message.blocks or None, unfurl_links=False, unfurl_media=False
            )
        except (SlackClientError, OSError) as exc:
            raise _network_error(exc, "the webhook") from exc
        if response.status_code == 200 and response.body == "ok":
            return Receipt(channel="webhook", ts=None)
        body = (response.body or "").strip()[:100]
        raise DeliveryError(
            f"webhook refused the message ({response.status_code} {body})",
            kind=classify_slack_error(body, response.status_code),
            retry_after=_retry_after(response.headers),
        )

    def find(self, key: str, since: datetime) -> Receipt | None:
        return None

    def update(self, receipt: Receipt, message: Message) -> None:
        return None


class ConsoleNotifier:
    """Prints alerts when no Slack is configured, so the monitor works out of the box."""

    can_reconcile = False

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

    def find(self, key: str, since: datetime) -> Receipt | None:
        return None

    def update(self, receipt: Receipt, message: Message) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"  ✎ [{self._destination}] updated: {message.text}\n")
        stream.flush()


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
