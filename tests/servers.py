"""Real local servers for tests: a feed server and a Slack stand-in, both on 127.0.0.1 with port 0.

The feed server serves documents per path with ETag / Last-Modified and answers conditional requests
with 304, and can be scripted per path (status, headers, delay). The Slack stand-in speaks enough of
the Web API (`chat.postMessage`, `conversations.history`, `auth.test`) and incoming webhooks for the
real slack-sdk to talk to it, records every request, and can be scripted to fail.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Server(ThreadingHTTPServer):
    """A threaded HTTP server with a real server's listen backlog.

    socketserver's default backlog is 5: eight simultaneous connects to a busy test server overflowed
    it, and the dropped connection attempts were retried by TCP a second later, failing a timing test
    on a loaded machine.
    """

    request_queue_size = 128


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    delay_s: float = 0.0
    conditional: bool = True  # honour If-None-Match / If-Modified-Since
    modified: float = 1_700_000_000.0  # Last-Modified, advanced by FeedServer.set on every change
    # Fault hooks (robustness tests): called when the request arrives, before any answer / after the answer.
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    # Hostile behaviour: "" (normal), "drip" (body one byte every drip_s), "blackhole" (accept, never
    # answer for hold_s), "truncate" (full Content-Length, half the body, close), "short_length"
    # (Content-Length: 100, whole body), "huge_header" (a 1 MB header line), "no_length" (body, no length).
    mode: str = ""
    drip_s: float = 0.5
    hold_s: float = 5.0


class FeedServer:
    """Serves `routes[path]`; records (path, request headers) of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._version = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes | str, **kwargs: Any) -> None:
        data = body.encode() if isinstance(body, str) else body
        self._version += 1
        self.routes[path] = Route(body=data, modified=1_700_000_000.0 + 60 * self._version, **kwargs)

    def hits(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for p, headers in self.requests if p == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path
                with server._lock:
                    server.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.before is not None:
                    route.before()
                if route.mode and self._hostile(route):
                    return
                if route.delay_s:
                    time.sleep(route.delay_s)
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                last_modified = formatdate(route.modified, usegmt=True)
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                unchanged = inm == etag if inm is not None else ims == last_modified
                if route.status == 200 and route.conditional and unchanged:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                if route.status == 200 and route.conditional:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", last_modified)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(route.body)
                self.wfile.flush()
                if route.after is not None:
                    route.after()

            def _hostile(self, route: Route) -> bool:
                """Misbehave as `route.mode` says; False when the mode is a normal answer after all."""
                body = route.body
                try:
                    if route.mode == "blackhole":
                        time.sleep(route.hold_s)
                        self.close_connection = True
                        return True
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    for key, value in route.headers.items():
                        self.send_header(key, value)
                    if route.mode == "huge_header":
                        self.send_header("X-Padding", "a" * (1024 * 1024))
                    if route.mode == "short_length":
                        self.send_header("Content-Length", "100")
                    elif route.mode not in ("drip", "no_length"):
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if route.mode == "drip":
                        for index in range(len(body)):
                            self.wfile.write(body[index : index + 1])
                            self.wfile.flush()
                            time.sleep(route.drip_s)
                    elif route.mode == "truncate":
                        self.wfile.write(body[: len(body) // 2])
                    else:
                        self.wfile.write(body)
                    self.wfile.flush()
                except OSError:  # the client gave up: that is the point of these routes
                    pass
                self.close_connection = True
                return True

        return Handler

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class SlackCall:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class SlackStandIn:
    """A local Slack: records calls; `script` holds scripted answers to the next message posts."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        # answers for the next posts: (status, body, headers[, store]); store=True keeps the message first
        self.script: list[tuple[Any, ...]] = []
        self.messages: list[dict[str, Any]] = []  # messages Slack "stored" (for conversations.history)
        # Fault hooks (robustness tests) for message posts without a script entry: `before_store` runs when
        # the post arrives (Slack has not kept it), `after_store` once Slack kept it, before the answer.
        self.before_store: Callable[[SlackCall], None] | None = None
        self.after_store: Callable[[SlackCall], None] | None = None
        self._lock = threading.Lock()
        self._ts = 1_700_000_000
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def webhook_url(self, name: str = "T000/B000/XXXX") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/services/{name}"

    def posts(self) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith("chat.postMessage") or "/services/" in c.path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    body: dict[str, Any] = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                path = urlsplit(self.path).path
                is_post = path.endswith("chat.postMessage") or path.startswith("/services/")
                call = SlackCall(path, body, {k.lower(): v for k, v in self.headers.items()})
                with stand_in._lock:
                    stand_in.calls.append(call)
                    scripted = stand_in.script.pop(0) if stand_in.script and is_post else None
                if scripted is None and is_post and stand_in.before_store is not None:
                    stand_in.before_store(call)
                if scripted is not None:
                    status, answer, headers = scripted[:3]
                    if len(scripted) > 3 and scripted[3]:  # Slack kept the message, then failed to answer well
                        with stand_in._lock:
                            stand_in._ts += 1
                            stand_in.messages.append({**body, "ts": f"{stand_in._ts}.000100"})
                    self._reply(status, answer, headers)
                    return
                if path.startswith("/services/"):
                    if stand_in.after_store is not None:
                        stand_in.after_store(call)
                    self._reply(200, "ok", {})
                    return
                if path.endswith("chat.postMessage"):
                    with stand_in._lock:
                        stand_in._ts += 1
                        ts = f"{stand_in._ts}.000100"
                        stand_in.messages.append({**body, "ts": ts})
                    if stand_in.after_store is not None:
                        stand_in.after_store(call)
                    self._reply(200, {"ok": True, "channel": "C0TEST", "ts": ts}, {})
                    return
                if path.endswith("conversations.list"):
                    channels = [{"id": "C0TEST", "name": "cdmo"}, {"id": "C0OPS", "name": "ops"}]
                    self._reply(200, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}, {})
                    return
                if path.endswith("conversations.history"):
                    with stand_in._lock:
                        messages = list(reversed(stand_in.messages))
                    self._reply(200, {"ok": True, "messages": messages, "has_more": False}, {})
                    return
                self._reply(200, {"ok": True}, {})

            do_GET = do_POST

            def _reply(self, status: int, answer: dict[str, Any] | str, headers: dict[str, str]) -> None:
                data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> SlackStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@contextmanager
def slack_stand_in() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item dict may have title, link, guid, description, pubDate."""
    from xml.sax.saxutils import escape

    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>']
    parts.append("<link>https://news.example.com/</link><description>test</description>")
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in item:
                parts.append(f"<{key}>{escape(item[key])}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)
