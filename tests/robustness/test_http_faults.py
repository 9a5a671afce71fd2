"""Hostile HTTP servers (catalogue rows H01–H11, F15, F16): every failure is a FetchError naming the
feed URL, bounded in time and size, and in a poll the other feeds are still fetched on time.
"""

from __future__ import annotations

import gzip
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from monitor.errors import FetchError
from monitor.fetch import fetch, make_client, parse_retry_after
from tests.robustness.conftest import NOISE, Monitor, item, rss_doc
from tests.servers import FeedServer

FEED = rss_doc([item(NOISE, "n")])


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=1, connect_timeout=1, allow_private=True, deadline_s=3, max_bytes=1024 * 1024) as c:
        yield c


def public_except_canary(canary_port: int):  # type: ignore[no-untyped-def]
    """A resolver for which the test server counts as public, so the address policy is really applied."""

    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "127.0.0.1" and port != canary_port else [host]

    return resolve


def test_H01_redirect_chains_and_loops_stop_after_five_hops(server: FeedServer, client: httpx.Client) -> None:
    """H01: a 30-hop chain and an A→B→A loop: "more than 5 redirects", at most 6 requests."""
    for n in range(30):
        server.set(f"/hop{n}", b"", status=302, headers={"Location": f"/hop{n + 1}"}, conditional=False)
    server.set("/a", b"", status=301, headers={"Location": "/b"}, conditional=False)
    server.set("/b", b"", status=301, headers={"Location": "/a"}, conditional=False)
    for start in ("/hop0", "/a"):
        with pytest.raises(FetchError, match="more than 5 redirects"):
            fetch(client, server.url(start))
    assert sum(len(server.hits(f"/hop{n}")) for n in range(30)) == 6


@pytest.mark.parametrize("location", ["file:///etc/passwd", "http://127.0.0.2:{port}/", "//169.254.169.254/latest/"])
def test_H02_redirects_to_files_and_internal_hosts_are_refused_before_connect(
    location: str, server: FeedServer
) -> None:
    """H02: `Location: file:///etc/passwd`, a loopback canary and `//169.254.169.254/`: refused before any
    connection; the canary sees 0 requests."""
    with FeedServer() as canary:
        canary.set("/", "metadata")
        port = int(canary.base.rsplit(":", 1)[1])
        server.set("/out", b"", status=302, headers={"Location": location.format(port=port)}, conditional=False)
        with make_client(timeout=1, connect_timeout=1, allow_private=False) as guarded, pytest.raises(FetchError):
            fetch(guarded, server.url("/out"), resolve=public_except_canary(port))
        assert canary.hits("/") == []


def test_H02_loopback_feed_url_refused_without_the_opt_in(server: FeedServer) -> None:
    """H02/C06: a feed URL on loopback is refused at connect time unless MONITOR_ALLOW_PRIVATE_NETWORKS=1."""
    server.set("/feed", FEED)
    with make_client(timeout=1, connect_timeout=1) as guarded, pytest.raises(FetchError, match="ALLOW_PRIVATE"):
        fetch(guarded, server.url("/feed"))
    assert server.hits("/feed") == []


def test_H03_permanent_redirect_is_followed_and_suggested_not_applied(monitor: Monitor) -> None:
    """H03: a 301 is followed, the new URL is recorded for the operator, feeds.yaml is not rewritten."""
    monitor.write_feeds({"moved": "/old.xml"})
    before = (monitor.root / "feeds.yaml").read_text()
    monitor.feeds.set("/old.xml", b"", status=301, headers={"Location": "/new.xml"}, conditional=False)
    monitor.feeds.set("/new.xml", FEED)
    assert monitor.poll()["moved"].status == "baseline"
    assert monitor.db().feed("moved")["moved_to"] == monitor.feeds.url("/new.xml")
    assert (monitor.root / "feeds.yaml").read_text() == before


@pytest.mark.slow
def test_H04_slow_loris_is_cut_by_the_total_deadline_and_others_stay_on_time(monitor: Monitor) -> None:
    """H04 (+H05): one byte every 0.3 s (below the read timeout) is cut by the total deadline (5 s in the
    test client) and a never-answering server by the read timeout; the healthy feed of the same poll is
    processed and the poll ends within the deadline."""
    monitor.write_feeds({"drip": "/drip.xml", "hole": "/hole.xml", "good": "/good.xml"})
    monitor.feeds.set("/drip.xml", FEED, mode="drip", drip_s=0.3)
    monitor.feeds.set("/hole.xml", FEED, mode="blackhole", hold_s=8)
    monitor.feeds.set("/good.xml", FEED)
    started = time.monotonic()
    results = monitor.poll()
    elapsed = time.monotonic() - started
    assert results["drip"].status == "error" and results["hole"].status == "error", results
    assert results["good"].status == "baseline"
    assert elapsed < 7.5, elapsed
    assert monitor.db().feed("drip")["consecutive_failures"] == 1


def test_H06_huge_header_line_is_a_fetch_error(server: FeedServer, client: httpx.Client) -> None:
    """H06: a 1 MB header line -> FetchError (h11's header limit), no hang."""
    server.set("/hdr", FEED, mode="huge_header")
    with pytest.raises(FetchError):
        fetch(client, server.url("/hdr"))


@pytest.mark.parametrize("mode", ["truncate", "short_length"])
def test_H07_lying_content_length_stores_nothing_partial(monitor: Monitor, mode: str) -> None:
    """H07 (+F02): `Content-Length` larger than the body (connection closed early) is an error and nothing
    of the partial document is stored; `Content-Length: 100` with a longer body yields at most the first
    100 bytes, which are not a feed: error, nothing stored, and no silent baseline (a broken document with
    no entries counted as the feed's baseline; fixed in parse.py)."""
    monitor.write_feeds({"liar": "/liar.xml"})
    body = rss_doc([item(NOISE, f"n{n}") for n in range(50)])
    monitor.feeds.set("/liar.xml", body, mode=mode)
    result = monitor.poll()["liar"]
    assert result.status == "error" and monitor.db().count("item") == 0
    row = monitor.db().feed("liar")
    assert row["last_error"] and not row["baseline_done"]


@pytest.mark.parametrize("with_length", [True, False])
def test_F15_oversized_body_aborts_at_the_cap(server: FeedServer, client: httpx.Client, with_length: bool) -> None:
    """F15: a 3 MB feed (cap 1 MiB in the test client), with and without Content-Length: "exceeds"."""
    huge = rss_doc([item(NOISE, f"n{n}") for n in range(15_000)])
    assert len(huge) > 3 * 1024 * 1024
    server.set("/huge", huge, conditional=False, mode="" if with_length else "no_length")
    with pytest.raises(FetchError, match="exceeds"):
        fetch(client, server.url("/huge"))


def test_F16_gzip_bomb_stops_at_the_cap(server: FeedServer, client: httpx.Client) -> None:
    """F16: 50 MB of zeros gzip-compressed to ~50 KB: decoding stops at the 1 MiB cap."""
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    server.set("/bomb", bomb, headers={"Content-Encoding": "gzip"}, conditional=False)
    started = time.monotonic()
    with pytest.raises(FetchError, match="exceeds"):
        fetch(client, server.url("/bomb"))
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3600", 3600.0), ("Sun, 22 Nov 2026 13:00:00 GMT", 3600.0), ("-1", None), ("soon-ish", None), ("", None)],
)
def test_H08_retry_after_forms(header: str, expected: float | None) -> None:
    """H08: delta-seconds and HTTP-date are honoured; `-1` and garbage fall back to the default backoff."""
    assert parse_retry_after(header, datetime(2026, 11, 22, 12, 0, tzinfo=UTC)) == expected


def test_H08_429_with_retry_after_postpones_the_feed_without_hot_loop(monitor: Monitor) -> None:
    """H08: 429 with `Retry-After: 3600`: the next poll is ≥ 1 h away; polling again immediately does not
    hit the server (no hot loop); garbage Retry-After still backs off by the interval."""
    monitor.write_feeds({"busy": "/busy.xml", "odd": "/odd.xml"})
    monitor.feeds.set("/busy.xml", b"slow down", status=429, headers={"Retry-After": "3600"}, conditional=False)
    monitor.feeds.set("/odd.xml", b"down", status=503, headers={"Retry-After": "garbage"}, conditional=False)
    monitor.poll()
    assert monitor.poll() == {}  # nothing due: no request
    assert len(monitor.feeds.hits("/busy.xml")) == 1 and len(monitor.feeds.hits("/odd.xml")) == 1
    monitor.advance(minutes=59)
    monitor.poll()
    assert len(monitor.feeds.hits("/busy.xml")) == 1 and len(monitor.feeds.hits("/odd.xml")) == 2


def test_H09_not_modified_is_success_without_parse(monitor: Monitor) -> None:
    """H09: 304 with validators: no parse, no error, `last_success_at` advances."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", FEED)
    monitor.poll()
    first = monitor.db().feed("wire")["last_success_at"]
    result = monitor.cycle()["wire"]
    row = monitor.db().feed("wire")
    assert result.status == "not_modified" and row["last_error"] is None and row["last_success_at"] > first


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=wrong.example"], check=True, capture_output=True)  # fmt: skip
    import ssl

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(FEED.encode())

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/feed"
    httpd.shutdown()
    httpd.server_close()


def test_H10_self_signed_wrong_host_certificate_is_refused(tls_server: str, client: httpx.Client) -> None:
    """H10: a self-signed certificate for another host name: TLS error, never `verify=False`."""
    with pytest.raises(FetchError):
        fetch(client, tls_server)


def test_H11_dns_failure_is_a_feed_error(client: httpx.Client) -> None:
    """H11: NXDOMAIN (injected resolver): FetchError "cannot resolve", no connection attempted."""

    def nxdomain(host: str, port: int) -> list[str]:
        raise OSError(f"[Errno -2] Name or service not known: {host}")

    with make_client(timeout=1, connect_timeout=1) as guarded, pytest.raises(FetchError, match="cannot resolve"):
        fetch(guarded, "http://no-such-host.invalid/feed", resolve=nxdomain)
