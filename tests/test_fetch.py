"""Fetching from a real HTTP server on 127.0.0.1: conditional GET, redirects, limits, refusals."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from monitor.errors import FetchError
from monitor.fetch import (
    USER_AGENT,
    PassedChecks,
    fetch,
    is_public_address,
    make_client,
    parse_retry_after,
    system_resolver,
)
from tests.servers import FeedServer, rss


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=5, connect_timeout=2) as c:
        yield c


def test_conditional_get_sends_validators_and_handles_304(server: FeedServer, client: httpx.Client) -> None:
    server.set("/feed", rss([{"title": "a", "guid": "1"}]))
    first = fetch(client, server.url("/feed"), allow_private=True)
    assert first.status == 200 and first.etag and first.last_modified and b"<rss" in first.body
    second = fetch(client, server.url("/feed"), etag=first.etag, last_modified=first.last_modified, allow_private=True)
    assert second.status == 304 and second.body == b""
    headers = server.hits("/feed")[1]
    assert headers["if-none-match"] == first.etag
    assert headers["if-modified-since"] == first.last_modified
    assert headers["user-agent"] == USER_AGENT


def test_cookies_are_neither_kept_nor_sent_to_other_feeds(server: FeedServer, client: httpx.Client) -> None:
    # a feed reader that kept a jar would hand one publisher's session cookie to the next feed on that host
    server.set("/a", rss([]), headers={"Set-Cookie": "session=abc; Path=/"})
    server.set("/b", rss([]))
    fetch(client, server.url("/a"), allow_private=True)
    fetch(client, server.url("/b"), allow_private=True)
    fetch(client, server.url("/a"), allow_private=True)
    assert [h.get("cookie") for h in server.hits("/b") + server.hits("/a")] == [None, None, None]


def test_a_client_not_made_by_make_client_is_refused() -> None:
    # its connections would not go through the guarded backend that checks every address at connect time
    with httpx.Client() as plain, pytest.raises(TypeError, match="make_client"):
        fetch(plain, "http://127.0.0.1:9/feed", allow_private=True)


def test_permanent_redirect_is_followed_and_reported(server: FeedServer, client: httpx.Client) -> None:
    server.set("/old", b"", status=301, headers={"Location": "/new"}, conditional=False)
    server.set("/new", rss([]))
    result = fetch(client, server.url("/old"), allow_private=True)
    assert result.status == 200 and result.final_url == server.url("/new") and result.moved_to == server.url("/new")


def test_temporary_redirect_is_not_a_move(server: FeedServer, client: httpx.Client) -> None:
    server.set("/old", b"", status=302, headers={"Location": "/new"}, conditional=False)
    server.set("/new", rss([]))
    assert fetch(client, server.url("/old"), allow_private=True).moved_to is None


def test_redirect_loop_stops_after_five_hops(server: FeedServer, client: httpx.Client) -> None:
    server.set("/loop", b"", status=302, headers={"Location": "/loop"}, conditional=False)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(client, server.url("/loop"), allow_private=True)
    assert len(server.hits("/loop")) == 6


def test_http_errors_carry_status_and_retry_after(server: FeedServer, client: httpx.Client) -> None:
    server.set("/busy", b"slow down", status=429, headers={"Retry-After": "120"}, conditional=False)
    server.set("/gone", b"", status=410, conditional=False)
    with pytest.raises(FetchError) as busy:
        fetch(client, server.url("/busy"), allow_private=True)
    assert (busy.value.status, busy.value.retry_after) == (429, 120.0)
    assert str(busy.value).endswith("(Retry-After: 120 s)")  # the user sees why the next poll is late
    with pytest.raises(FetchError) as gone:
        fetch(client, server.url("/gone"), allow_private=True)
    assert gone.value.status == 410 and "Retry-After" not in str(gone.value)


def test_oversized_and_gzip_bomb_bodies_are_refused(server: FeedServer, client: httpx.Client) -> None:
    bomb = gzip.compress(b"<" * (3 * 1024 * 1024))
    assert len(bomb) < 50_000
    server.set("/bomb", bomb, headers={"Content-Encoding": "gzip"}, conditional=False)
    with pytest.raises(FetchError, match="exceeds"):
        fetch(client, server.url("/bomb"), allow_private=True, max_bytes=1024 * 1024)


def test_timeout_is_a_fetch_error(server: FeedServer) -> None:
    server.set("/slow", rss([]), delay_s=1.5, conditional=False)
    with make_client(timeout=0.3, connect_timeout=0.3) as quick, pytest.raises(FetchError, match="timed out"):
        fetch(quick, server.url("/slow"), allow_private=True)


def test_loopback_and_private_addresses_are_refused_by_default(server: FeedServer, client: httpx.Client) -> None:
    server.set("/feed", rss([]))
    with pytest.raises(FetchError, match="MONITOR_ALLOW_PRIVATE_NETWORKS"):
        fetch(client, server.url("/feed"))
    assert server.hits("/feed") == []


def test_redirect_to_a_private_address_is_refused(server: FeedServer, client: httpx.Client) -> None:
    metadata = "http://169.254.169.254/latest/meta-data"
    server.set("/out", b"", status=302, headers={"Location": metadata}, conditional=False)

    def resolver(host: str, port: int) -> list[str]:
        # the test server's address passes as public; every other host resolves to itself
        return ["93.184.216.34"] if host == "127.0.0.1" else [host]

    with pytest.raises(FetchError, match=r"refused 169\.254\.169\.254"):
        fetch(client, server.url("/out"), resolve=resolver)
    assert len(server.hits("/out")) == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False), ("169.254.169.254", False),
     ("::1", False), ("::ffff:127.0.0.1", False), ("fd00::1", False), ("8.8.8.8", True), ("2606:4700::1111", True)],
)  # fmt: skip
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_only_http_and_https(client: httpx.Client) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetch(client, "file:///etc/passwd")


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("90", now) == 90
    assert parse_retry_after("Sun, 22 Nov 2026 12:05:00 GMT", now) == 300
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now) == 1  # past dates clamp to the minimum
    assert parse_retry_after("99999999", now) == 2 * 24 * 3600  # clamped to two days
    assert parse_retry_after("soon", now) is None


@pytest.mark.parametrize("allow_private", [False, True], ids=["checked-before-connecting", "at-connect-time"])
def test_a_dns_lookup_that_hangs_ends_at_the_fetch_deadline(
    monkeypatch: pytest.MonkeyPatch, allow_private: bool
) -> None:
    # getaddrinfo has no timeout: a dead DNS server can hold a lookup for tens of seconds. The system's
    # lookup is replaced by one that hangs until the test ends; the fetch must give up at its deadline.
    release = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def hanging_getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        if host == "feeds.example.test":
            release.wait(30)
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    client = make_client(allow_private=allow_private)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=r"feeds\.example\.test.*DNS lookup"):
            fetch(client, "http://feeds.example.test/rss", deadline_s=0.5)
        assert time.monotonic() - started < 5
    finally:
        release.set()
        client.close()


def test_an_ip_literal_needs_no_lookup_thread(
    server: FeedServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    real_start = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    server.set("/feed", rss([{"title": "a", "guid": "1"}]))
    monkeypatch.setattr(threading.Thread, "start", recording_start)
    assert fetch(client, server.url("/feed"), allow_private=True, deadline_s=5).status == 200
    assert not [name for name in started if name.startswith("dns ")]


def test_a_host_name_is_looked_up_within_the_deadline(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # the lookup thread's answer (and its errors) reach the fetch: here a name that resolves to loopback
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *_a, **_k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
    )
    with pytest.raises(FetchError, match=r"refused feeds\.example\.test \(127\.0\.0\.1\)"):
        fetch(client, "http://feeds.example.test/rss", deadline_s=5)

    def failing(*_a: object, **_k: object) -> object:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(FetchError, match=r"cannot resolve feeds\.example\.test: .*not known"):
        fetch(client, "http://feeds.example.test/rss", deadline_s=5)


def test_passed_checks_are_forgotten_after_their_time_and_stay_bounded() -> None:
    passed = PassedChecks(ttl_s=0.05, limit=2)
    news = (system_resolver, "news.example.com", 443)
    passed.add(news)
    assert passed.recent(news) and not passed.recent((system_resolver, "news.example.com", 80))
    time.sleep(0.06)
    assert not passed.recent(news)
    passed.add(news)
    passed.add((system_resolver, "a.example.com", 443))
    passed.add((system_resolver, "b.example.com", 443))  # beyond the limit: the older ones are dropped
    assert not passed.recent(news) and passed.recent((system_resolver, "b.example.com", 443))
