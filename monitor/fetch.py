"""The only module that GETs feeds: httpx with timeouts, a total deadline, a size cap, conditional GET
and checked redirects.

Why it is built this way:
- Redirects are followed here, hop by hop, so every hop is checked (scheme, address) and a permanent
  redirect can be reported to the user as a suggested new URL.
- The address policy is enforced twice. `check_address` refuses early with a clear message (before any
  connection, also for redirect targets; a host that passed lately is not looked up again); `GuardedBackend`,
  the httpcore network backend of every client made by `make_client`, resolves the host again at connect
  time, checks every answer and connects to the checked IP itself, so DNS rebinding between the check and
  the connect cannot reach loopback, private, link-local or metadata addresses unless
  MONITOR_ALLOW_PRIVATE_NETWORKS=1.
- httpx's read timeout restarts with every chunk, so a server dripping one byte every few seconds would
  hold a worker for ever. Every network stream of our clients is a `DeadlineStream`: each read, write
  and TLS handshake waits at most until the fetch's total deadline, which bounds the whole request; so
  does every DNS lookup (`system_resolver`), which the operating system would let hang for far longer.
- Connections are kept per origin (see GuardedTransport), and bodies that are not used (304, redirects,
  short error pages) are read to their end, so a host's feeds share one connection instead of one TCP
  (and TLS) handshake each; fetches go to the transport directly (no cookie jar: feeds need none).
- Bodies are decoded here (gzip, deflate) with zlib's `max_length`, so a gzip bomb stops at the cap
  instead of inflating a whole 64 KiB wire chunk (up to ~64 MiB) first, as httpx's decoders would.
Errors are raised as FetchError and become values in the pipeline.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor import __version__
from monitor.errors import FetchError

USER_AGENT = f"cdmo-monitor/{__version__} (feed monitor for CDMO news; python-httpx)"
MAX_REDIRECTS = 5
MAX_BODY_BYTES = 10 * 1024 * 1024
TOTAL_DEADLINE_S = 30.0
READ_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
RETRY_AFTER_RANGE_S = (1.0, 2 * 24 * 3600.0)
PASSED_CHECK_TTL_S = 60.0  # how long a host that passed the early address check skips it (see PassedChecks)
PRIVATE_HINT = "loopback, private and link-local addresses are not fetched unless MONITOR_ALLOW_PRIVATE_NETWORKS=1"

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


@dataclass(frozen=True, slots=True)
class _Policy:
    """What the connect-time guard enforces for the fetch running in this thread."""

    allow_private: bool
    resolve: Resolver
    deadline: float | None  # time.monotonic() value, or None for no total deadline


@dataclass(frozen=True, slots=True)
class _ClientDefaults:
    allow_private: bool
    deadline_s: float
    max_bytes: int
    transport: GuardedTransport  # what fetch() sends through (see _sender)
    passed: PassedChecks  # hosts that passed the early address check lately


# Set by fetch() for the duration of one fetch; read by the network backend in the same thread.
_POLICY: ContextVar[_Policy | None] = ContextVar("monitor_fetch_policy", default=None)
_CLIENT_DEFAULTS: weakref.WeakKeyDictionary[httpx.Client, _ClientDefaults] = weakref.WeakKeyDictionary()


def make_client(
    timeout: float = READ_TIMEOUT_S,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    *,
    allow_private: bool = False,
    deadline_s: float = TOTAL_DEADLINE_S,
    max_bytes: int = MAX_BODY_BYTES,
) -> httpx.Client:
    """One client per process: guarded connections, timeouts, our User-Agent, no proxies, no auto-redirects.

    `allow_private`, `deadline_s` and `max_bytes` are the defaults of `fetch()` calls that do not pass
    their own; `allow_private` also applies to requests made on the client directly.
    """
    transport = GuardedTransport(allow_private=allow_private)
    client = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",  # only encodings we can decode with a bounded output
        },
        follow_redirects=False,
        trust_env=False,
    )
    _CLIENT_DEFAULTS[client] = _ClientDefaults(allow_private, deadline_s, max_bytes, transport, PassedChecks())
    return client


# -- address policy ---------------------------------------------------------------------------------


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, waited for at most until the running fetch's total deadline.

    getaddrinfo has no timeout and cannot be cancelled: a dead or slow DNS server can hold the calling
    thread for tens of seconds per attempt, past the deadline that bounds everything else in a fetch. So a
    host name is looked up in a daemon thread and the fetch stops waiting at its deadline (raising
    TimeoutError, an OSError); the abandoned lookup ends on its own at the resolver's timeout and cannot
    delay the process's exit. IP literals and fetches without a deadline are resolved inline.
    """
    left = _remaining(None, TimeoutError, f"resolving {host}")
    if left is None or _is_ip_literal(host):
        return _addresses(host, port)
    outcome: list[list[str] | BaseException] = []
    finished = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(_addresses(host, port))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.append(exc)
        finally:
            finished.set()

    threading.Thread(target=lookup, name=f"dns {host}", daemon=True).start()
    if not finished.wait(left):
        raise TimeoutError(f"DNS lookup of {host} took longer than the {left:.1f} s left of the fetch's deadline")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local (cloud metadata), multicast and reserved addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64:
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast and ip not in _SHARED_ADDRESS_SPACE


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)


def _refuse_non_public(host: str, addresses: Iterable[str], when: str = "") -> None:
    for address in addresses:
        if not is_public_address(address):
            raise FetchError(f"refused {host} ({address}){when}: {PRIVATE_HINT}")


def check_address(
    url: str, *, allow_private: bool, resolve: Resolver = system_resolver, passed: PassedChecks | None = None
) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address.

    With `passed`, a host that passed lately is not looked up again (see PassedChecks).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"refused {url!r}: only http and https URLs are fetched")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    checked = (resolve, parts.hostname, port)
    if passed is not None and passed.recent(checked):
        return
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {parts.hostname}: {exc}") from exc
    _refuse_non_public(parts.hostname, addresses)
    if passed is not None:
        passed.add(checked)


class PassedChecks:
    """Hosts whose addresses `check_address` found public lately: a host's next feeds skip the look-up.

    Why: every fetch looked its host up before connecting (a DNS query and a thread, see system_resolver),
    though a poll fetches many feeds of one host within seconds (Google News queries, a publisher's
    sections) over one kept-alive connection. Skipping it costs no safety: the early check only gives a
    clear refusal before any connection, and every new connection still resolves and checks its own
    answer (GuardedBackend), so a host that starts resolving to a private address is still refused.
    Only passes are kept, for `ttl_s`, per resolver, and all are forgotten when a fetch run ends.
    """

    def __init__(self, ttl_s: float = PASSED_CHECK_TTL_S, limit: int = 4096) -> None:
        self._ttl_s = ttl_s
        self._limit = limit
        self._lock = threading.Lock()
        self._at: dict[tuple[Resolver, str, int], float] = {}

    def recent(self, checked: tuple[Resolver, str, int]) -> bool:
        with self._lock:
            at = self._at.get(checked)
        return at is not None and time.monotonic() - at < self._ttl_s

    def add(self, checked: tuple[Resolver, str, int]) -> None:
        with self._lock:
            if len(self._at) >= self._limit:
                self._at.clear()
            self._at[checked] = time.monotonic()

    def clear(self) -> None:
        with self._lock:
            self._at.clear()


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


# -- the guarded network layer ----------------------------------------------------------------------


def _remaining(timeout: float | None, exc: type[Exception], what: str) -> float | None:
    """`timeout` shortened to what is left of the current fetch's total deadline; raises when none is left."""
    policy = _POLICY.get()
    if policy is None or policy.deadline is None:
        return timeout
    left = policy.deadline - time.monotonic()
    if left <= 0:
        raise exc(f"total deadline exceeded while {what}")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every wait ends at the running fetch's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout, "reading"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout, "writing"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        budget = _remaining(timeout, httpcore.ConnectTimeout, "in the TLS handshake")
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks every answer and connects to a checked IP: the check and the connect see one DNS answer.

    IP literals are connected to as written (there is no DNS answer to rebind); TLS still verifies the
    URL's host name, which httpcore passes as SNI.
    """

    def __init__(self, *, allow_private: bool = False) -> None:
        self._allow_private = allow_private
        self._plain = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        targets = self._checked_targets(host, port)
        error: Exception | None = None
        for address in targets:
            budget = _remaining(timeout, httpcore.ConnectTimeout, "connecting")
            try:
                stream = self._plain.connect_tcp(address, port, budget, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return DeadlineStream(stream)
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")

    def _checked_targets(self, host: str, port: int) -> list[str]:
        policy = _POLICY.get() or _Policy(self._allow_private, system_resolver, None)
        try:
            addresses = policy.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not policy.allow_private:
            _refuse_non_public(host, addresses, when=" at connect time")
        return [host] if _is_ip_literal(host) else addresses

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for feeds")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _OriginTransport(httpx.HTTPTransport):
    """httpx's own transport (exception mapping, streaming) over one small pool that uses GuardedBackend."""

    def __init__(self, *, connections: int, keepalive_expiry: float, allow_private: bool) -> None:
        context = _ssl_context()
        super().__init__(verify=context, trust_env=False)  # a context given is used as it is, not built again
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private),
        )


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verifying context for every pool (loading the CA bundle is the costly part of making one)."""
    return httpx.create_ssl_context(trust_env=False)


@dataclass(eq=False)
class _Origin:
    transport: _OriginTransport
    in_flight: int = 0
    last_used: float = 0.0


class GuardedTransport(httpx.BaseTransport):
    """Keeps connections per origin (scheme, host, port): one small httpcore pool each, all over GuardedBackend.

    Not one pool for all hosts: httpcore's pool rescans every connection it holds (polling the socket
    of each idle one) on every request, and closes idle connections whenever it holds more connections
    in all than its keep-alive limit. Over 50 hosts that meant either a new connection per request or
    seconds of CPU scanning. Per origin, a scan covers a few connections and a host's next feed reuses
    one (no new TCP or TLS handshake). Pools unused for `keepalive_expiry`, and the least recently used
    beyond `max_origins`, are closed when nothing is in flight on them; `release_idle` closes all idle ones.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        per_origin: int = 8,
        max_origins: int = 64,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._allow_private = allow_private
        self._per_origin = per_origin
        self._max_origins = max_origins
        self._expiry = keepalive_expiry
        self._lock = threading.Lock()
        self._origins: OrderedDict[tuple[bytes, str, int | None], _Origin] = OrderedDict()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.host, request.url.port)
        now = time.monotonic()
        with self._lock:
            origin = self._origins.get(key)
            if origin is None:
                transport = _OriginTransport(
                    connections=self._per_origin, keepalive_expiry=self._expiry, allow_private=self._allow_private
                )
                origin = self._origins[key] = _Origin(transport, last_used=now)
            else:
                self._origins.move_to_end(key)
            origin.in_flight += 1
            closing = self._surplus(now)
        for old in closing:
            old.transport.close()
        try:
            response = origin.transport.handle_request(request)
        except BaseException:
            self._finished(origin)
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Released(response.stream, lambda: self._finished(origin)),
            extensions=response.extensions,
        )

    def _finished(self, origin: _Origin) -> None:
        with self._lock:
            origin.in_flight -= 1
            origin.last_used = time.monotonic()

    def _surplus(self, now: float) -> list[_Origin]:
        """Pools to close (called with the lock held): stale or beyond max_origins, least recently used first."""
        closing: list[_Origin] = []
        for key, origin in list(self._origins.items()):
            if len(self._origins) <= self._max_origins and now - origin.last_used <= self._expiry:
                break
            if origin.in_flight == 0:
                del self._origins[key]
                closing.append(origin)
        return closing

    def release_idle(self) -> None:
        """Close every pool with nothing in flight (a poll has ended: the next is minutes away)."""
        with self._lock:
            idle = [key for key, origin in self._origins.items() if origin.in_flight == 0]
            closing = [self._origins.pop(key) for key in idle]
        for origin in closing:
            origin.transport.close()

    def close(self) -> None:
        with self._lock:
            closing = list(self._origins.values())
            self._origins.clear()
        for origin in closing:
            origin.transport.close()


class _Released(httpx.SyncByteStream):
    """A response stream that tells its transport when it is closed (its connection is free again)."""

    def __init__(self, inner: httpx.SyncByteStream, on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()


def release_idle_connections(client: httpx.Client) -> None:
    """Close the idle keep-alive connections of a client made by make_client, and forget the hosts that
    passed the early address check (a fetch run has ended: the next is minutes away)."""
    defaults = _CLIENT_DEFAULTS.get(client)
    if defaults is not None:
        defaults.transport.release_idle()
        defaults.passed.clear()


# -- per-host concurrency ---------------------------------------------------------------------------


class HostLimiter:
    """At most `per_host` fetches to one host at a time: politeness, and httpx's pool degrades beyond it."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @staticmethod
    def host_of(url: str) -> str:
        return (urlsplit(url).hostname or "").lower()

    @contextmanager
    def hold(self, url: str) -> Iterator[None]:
        host = self.host_of(url)
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with slot:
            yield


# -- fetching -------------------------------------------------------------------------------------


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
    allow_private: bool | None = None,
    resolve: Resolver = system_resolver,
    max_bytes: int | None = None,
    deadline_s: float | None = None,
) -> FetchResult:
    """GET `url` conditionally and return the document; raises FetchError on any failure.

    Unset `allow_private`, `max_bytes` and `deadline_s` take the client's defaults (see make_client).
    """
    defaults = _CLIENT_DEFAULTS.get(client)
    if defaults is None:  # its connections would not be checked at connect time
        raise TypeError("fetch() needs a client made by monitor.fetch.make_client")
    allow = defaults.allow_private if allow_private is None else allow_private
    cap = defaults.max_bytes if max_bytes is None else max_bytes
    budget = defaults.deadline_s if deadline_s is None else deadline_s
    deadline = time.monotonic() + budget
    token = _POLICY.set(_Policy(allow, resolve, deadline))
    try:
        headers = {**client.headers, **_conditional_headers(etag, last_modified)}
        send = _sender(defaults.transport, headers, client.timeout.as_dict())
        return _follow(send, url, allow, resolve, defaults.passed, cap, deadline, budget)
    finally:
        _POLICY.reset(token)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _sender(
    transport: httpx.BaseTransport, headers: dict[str, str], timeouts: dict[str, float | None]
) -> Callable[[str], httpx.Response]:
    """GET one URL through the transport itself, as a streamed response the caller closes.

    Not through `httpx.Client.send`: its layers (auth, redirects, which we follow ourselves, and a
    cookie jar that feeds do not need and that would carry one feed's cookies to another) took about
    a third of the CPU of a conditional GET, which is most of a warm poll's work.
    """

    def send(url: str) -> httpx.Response:
        return transport.handle_request(httpx.Request("GET", url, headers=headers, extensions={"timeout": timeouts}))

    return send


def _follow(
    send: Callable[[str], httpx.Response],
    url: str,
    allow_private: bool,
    resolve: Resolver,
    passed: PassedChecks,
    max_bytes: int,
    deadline: float,
    budget: float,
) -> FetchResult:
    """The redirect loop: every hop is checked before it is requested."""
    current, moved_to, permanent_so_far = url, None, True
    for _hop in range(MAX_REDIRECTS + 1):
        check_address(current, allow_private=allow_private, resolve=resolve, passed=passed)
        try:
            with contextlib.closing(send(current)) as response:
                if response.is_redirect and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    permanent_so_far = permanent_so_far and response.status_code in (301, 308)
                    moved_to = target if permanent_so_far else None
                    current = target
                    _drain(response)
                    continue
                return _read_response(response, url, current, moved_to, max_bytes)
        except httpx.TimeoutException as exc:
            if time.monotonic() >= deadline:
                raise FetchError(f"timed out fetching {current}: total deadline of {budget:g} s exceeded") from exc
            raise FetchError(f"timed out fetching {current}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {current}: {type(exc).__name__}: {exc}") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects starting at {url}")


def _read_response(
    response: httpx.Response, url: str, final_url: str, moved_to: str | None, max_bytes: int
) -> FetchResult:
    status = response.status_code
    if status != 200:
        _drain(response)
    if status == 304:
        return FetchResult(url=url, final_url=final_url, status=304, moved_to=moved_to)
    if status >= 400:
        retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        asked = f" (Retry-After: {retry_after:.0f} s)" if retry_after is not None else ""
        raise FetchError(f"HTTP {status} from {final_url}{asked}", status=status, retry_after=retry_after)
    if status != 200:
        raise FetchError(f"unexpected HTTP {status} from {final_url}", status=status)
    body = read_capped(response, final_url, max_bytes)
    headers = {k.lower(): v for k, v in response.headers.items()}
    headers.pop("content-encoding", None)  # the body handed on is decoded
    return FetchResult(
        url=url,
        final_url=final_url,
        status=200,
        body=body,
        headers=headers,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        moved_to=moved_to,
    )


DRAIN_LIMIT = 64 * 1024


def _drain(response: httpx.Response) -> None:
    """Read the end of a response whose body is not used (304, redirect, error page), up to DRAIN_LIMIT.

    A response closed before its end closes its connection too: with 304s left unread, every
    conditional GET of a warm poll opened a new TCP connection. A longer body is not worth reading;
    its connection is closed as before. Read errors are left to the connection's close.
    """
    read = 0
    with contextlib.suppress(httpx.HTTPError):
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > DRAIN_LIMIT:
                return


def _too_big(final_url: str, max_bytes: int) -> FetchError:
    return FetchError(f"body of {final_url} exceeds {max_bytes / (1024 * 1024):g} MiB (decoded); not read")


def read_capped(response: httpx.Response, final_url: str, max_bytes: int) -> bytes:
    """The decoded body, refusing (early) anything whose wire or decoded size exceeds `max_bytes`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_big(final_url, max_bytes)
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), final_url)
    chunks: list[bytes] = []
    size = wire = 0
    for raw in response.iter_raw():
        wire += len(raw)
        chunk = decoder.decode(raw, max_bytes - size + 1)
        size += len(chunk)
        if size > max_bytes or wire > max_bytes:
            raise _too_big(final_url, max_bytes)
        chunks.append(chunk)
    tail = decoder.flush(max_bytes - size + 1)
    if size + len(tail) > max_bytes:
        raise _too_big(final_url, max_bytes)
    chunks.append(tail)
    return b"".join(chunks)


class BoundedDecoder:
    """Content-Encoding gzip/deflate/identity, producing at most `limit` bytes per call (zlib max_length)."""

    def __init__(self, encoding: str, final_url: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding {encoding!r} from {final_url}")
        self._coding = codings[0] if codings else ""
        self._url = final_url
        self._zlib: Any = None
        if self._coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self._coding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        self._first = True

    def decode(self, data: bytes, limit: int) -> bytes:
        """Decoded bytes for `data`; fewer than `limit` bytes means all of `data` was consumed."""
        if self._zlib is None:
            return data
        try:
            return self._decode(data, limit)
        except zlib.error as exc:
            raise FetchError(f"corrupt {self._coding} body from {self._url}: {exc}") from exc

    def _decode(self, data: bytes, limit: int) -> bytes:
        if self._first and self._coding == "deflate":
            self._first = False
            try:
                probe = zlib.decompressobj(zlib.MAX_WBITS)
                out: bytes = probe.decompress(data, limit)
                self._zlib = probe
                return out
            except zlib.error:  # servers send raw deflate as often as zlib-wrapped
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        result: bytes = self._zlib.decompress(data, limit)
        return result

    def flush(self, limit: int) -> bytes:
        if self._zlib is None:
            return b""
        out: bytes = self._zlib.decompress(self._zlib.unconsumed_tail, limit) if self._zlib.unconsumed_tail else b""
        rest: bytes = self._zlib.flush()
        return out + rest
