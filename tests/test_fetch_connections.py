"""Keep-alive connections, seen from a real HTTP/1.1 server on 127.0.0.1 that records each request's
client port (one port per TCP connection) and each connection it saw closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from monitor.errors import FetchError
from monitor.fetch import GuardedTransport, fetch, make_client, release_idle_connections
from monitor.fetch_pool import FetchJob, fetch_all
from tests.servers import rss


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client dropping a connection mid-body (the long error page) is what one test wants


class KeepAliveServer:
    """Serves /feed* (200, or 304 for a matching If-None-Match), /moved (301 to /feed), /missing (404 with a
    short page), /huge-error (404 with a 1 MiB page) and /slow (200 after `slow_s`)."""

    def __init__(self) -> None:
        self.ports: list[int] = []  # client port of every request, in order
        self.closed: set[int] = set()  # client ports whose connection ended
        self.slow_s = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.ports.append(self.client_address[1])
                if self.path.startswith("/feed"):
                    body = rss([{"title": self.path, "guid": self.path}]).encode()
                    if self.headers.get("If-None-Match") == '"v1"':
                        self._send(304, b"")
                    else:
                        self._send(200, body, {"ETag": '"v1"'})
                elif self.path == "/moved":
                    self._send(301, b"<p>moved</p>", {"Location": "/feed-target"})
                elif self.path == "/missing":
                    self._send(404, b"<html>not here</html>")
                elif self.path == "/huge-error":
                    self._send(404, b"x" * (1024 * 1024))
                elif self.path == "/slow":
                    time.sleep(server.slow_s)
                    self._send(200, rss([]).encode())

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def finish(self) -> None:
                super().finish()
                with server._lock:
                    server.closed.add(self.client_address[1])

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def connections(self) -> int:
        with self._lock:
            return len(set(self.ports))

    def wait_all_closed(self, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if set(self.ports) <= self.closed:
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    s = KeepAliveServer()
    yield s
    s.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=5, connect_timeout=2, allow_private=True) as c:
        yield c


def test_a_hosts_feeds_and_their_304s_share_one_connection(server: KeepAliveServer, client: httpx.Client) -> None:
    first = fetch(client, server.url("/feed-a"))
    assert first.status == 200
    assert fetch(client, server.url("/feed-a"), etag=first.etag).status == 304
    assert fetch(client, server.url("/feed-b"), etag=first.etag).status == 304
    assert fetch(client, server.url("/feed-c")).status == 200
    assert len(server.ports) == 4
    assert server.connections() == 1  # a 304 left unread used to close its connection


def test_redirect_and_error_pages_are_read_to_their_end_and_the_connection_reused(
    server: KeepAliveServer, client: httpx.Client
) -> None:
    moved = fetch(client, server.url("/moved"))
    assert moved.status == 200 and moved.moved_to == server.url("/feed-target")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(client, server.url("/missing"))
    assert fetch(client, server.url("/feed-a")).status == 200
    assert len(server.ports) == 4 and server.connections() == 1


def test_a_long_error_page_is_not_read_and_its_connection_is_dropped(
    server: KeepAliveServer, client: httpx.Client
) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(client, server.url("/huge-error"))
    assert fetch(client, server.url("/feed-a")).status == 200
    assert server.connections() == 2


def test_a_fetch_run_closes_its_idle_connections_when_it_ends(server: KeepAliveServer, client: httpx.Client) -> None:
    outcomes = fetch_all(client, [FetchJob(server.url(f"/feed-{n}")) for n in range(12)], per_host=2)
    assert all(getattr(o, "status", None) == 200 for o in outcomes)
    assert server.connections() <= 2  # a host's feeds reuse its connections (at most per_host at once)
    assert server.wait_all_closed()  # nothing left open until the next poll


def test_pools_beyond_max_origins_are_closed_least_recently_used_first() -> None:
    servers = [KeepAliveServer() for _ in range(3)]
    try:
        transport = GuardedTransport(allow_private=True, max_origins=2)
        with httpx.Client(transport=transport) as plain:
            for s in servers:
                plain.get(s.url("/feed-a")).raise_for_status()
            assert servers[0].wait_all_closed()  # the third origin pushed out the first
            assert servers[1].closed == set() and servers[2].closed == set()
            plain.get(servers[2].url("/feed-b")).raise_for_status()
            assert servers[2].connections() == 1  # its pool, still open, served the next request
        transport.close()
    finally:
        for s in servers:
            s.stop()


def test_releasing_idle_connections_leaves_a_request_in_flight_alone(
    server: KeepAliveServer, client: httpx.Client
) -> None:
    server.slow_s = 0.5
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(fetch(client, server.url("/slow"))))
    worker.start()
    while not server.ports:  # the request has reached the server
        time.sleep(0.01)
    release_idle_connections(client)
    worker.join(5)
    assert len(outcome) == 1 and getattr(outcome[0], "status", None) == 200
    release_idle_connections(client)  # now idle: closed
    assert server.wait_all_closed()
