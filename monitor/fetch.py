"""The only module that GETs feeds: httpx with timeouts, a size cap, conditional GET and checked redirects.

Redirects are followed here, hop by hop, so that every hop's address is checked (no feed may lead the
monitor to loopback, private or cloud-metadata addresses unless MONITOR_ALLOW_PRIVATE_NETWORKS=1) and a
permanent redirect can be reported to the user as a suggested new URL. Errors are raised as FetchError
and become values in the pipeline.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from monitor import __version__
from monitor.errors import FetchError

USER_AGENT = f"cdmo-monitor/{__version__} (feed monitor for CDMO news; python-httpx)"
MAX_REDIRECTS = 5
MAX_BODY_BYTES = 10 * 1024 * 1024
TOTAL_DEADLINE_S = 60.0
RETRY_AFTER_RANGE_S = (1.0, 2 * 24 * 3600.0)

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A feed document as fetched. `status` is 200 (body present) or 304 (not modified, empty body)."""

    url: str
    final_url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # target of a permanent (301/308) redirect, to suggest to the user


def make_client(timeout: float = 20.0, connect_timeout: float = 10.0) -> httpx.Client:
    """One client per process: timeouts, our User-Agent, no environment proxies, no auto-redirects."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
        },
        follow_redirects=False,
        trust_env=False,
    )


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local (cloud metadata), multicast and reserved addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_address(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"refused {url!r}: only http and https URLs are fetched")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for address in addresses:
        if not is_public_address(address):
            raise FetchError(
                f"refused {parts.hostname} ({address}): loopback, private and link-local addresses are not "
                "fetched unless MONITOR_ALLOW_PRIVATE_NETWORKS=1"
            )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), clamped to a sane range; None if absent."""
    if not value:
        return None
    value = value.strip()
    seconds: float | None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    low, high = RETRY_AFTER_RANGE_S
    return min(max(seconds, low), high)


def fetch(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    resolve: Resolver = system_resolver,
    max_bytes: int = MAX_BODY_BYTES,
    deadline_s: float = TOTAL_DEADLINE_S,
) -> FetchResult:
    """GET `url` conditionally and return the document; raises FetchError on any failure."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    current, moved_to, permanent_so_far = url, None, True
    for _hop in range(MAX_REDIRECTS + 1):
        check_address(current, allow_private=allow_private, resolve=resolve)
        try:
            with client.stream("GET", current, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    permanent_so_far = permanent_so_far and response.status_code in (301, 308)
                    moved_to = target if permanent_so_far else None
                    current = target
                    continue
                return _read_response(response, url, current, moved_to, max_bytes, started + deadline_s)
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out fetching {current}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {current}: {type(exc).__name__}: {exc}") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects starting at {url}")


def _read_response(
    response: httpx.Response, url: str, final_url: str, moved_to: str | None, max_bytes: int, deadline: float
) -> FetchResult:
    status = response.status_code
    if status == 304:
        return FetchResult(url=url, final_url=final_url, status=304, moved_to=moved_to)
    if status >= 400:
        retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        raise FetchError(f"HTTP {status} from {final_url}", status=status, retry_after=retry_after)
    if status != 200:
        raise FetchError(f"unexpected HTTP {status} from {final_url}", status=status)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body of {final_url} exceeds {max_bytes // (1024 * 1024)} MiB (decoded); not read")
        if time.monotonic() > deadline:
            raise FetchError(f"fetching {final_url} took longer than the total deadline")
        chunks.append(chunk)
    return FetchResult(
        url=url,
        final_url=final_url,
        status=200,
        body=b"".join(chunks),
        headers={k.lower(): v for k, v in response.headers.items()},
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        moved_to=moved_to,
    )
