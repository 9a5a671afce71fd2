"""XML entity bombs and external entities (catalogue rows F03–F07) and the start-up parser check.

Every hostile document is parsed by the real parse wrapper in a child process limited with
RLIMIT_AS (1 GiB) and RLIMIT_CPU (20 s), with an audit hook that records every file opened and every
socket connect. The child reports outcome, time and peak memory allocated during the parse (tracemalloc);
the test asserts the bounds, and the rlimits turn a runaway parse into a failed child, not a dead CI box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from monitor import safety
from tests.robustness.conftest import ROOT
from tests.servers import FeedServer

CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
events = {"open": [], "connect": []}
def audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        name = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if not name.endswith((".py", ".pyc", ".so")) and "/proc/" not in name and "python" not in name:
            events["open"].append(name)
    elif event == "socket.connect":
        events["connect"].append(repr(args[1]))
from datetime import datetime, timezone
from monitor.parse import parse_feed
from monitor.errors import ParseError
body = sys.stdin.buffer.read()
sys.addaudithook(audit)
import tracemalloc
tracemalloc.start()
started = time.monotonic()
try:
    feed = parse_feed(body, final_url="https://bomb.example/feed", headers={"content-type": "application/rss+xml"},
                      now=datetime(2026, 11, 22, tzinfo=timezone.utc))
    outcome = {"ok": True, "title": feed.title[:200], "titles": [i.title[:200] for i in feed.items],
               "longest": max([len(i.title) + len(i.summary) for i in feed.items] + [len(feed.title)])}
except ParseError as exc:
    outcome = {"ok": False, "error": str(exc)}
outcome["seconds"] = time.monotonic() - started
outcome["rss_mb"] = tracemalloc.get_traced_memory()[1] / 2**20  # peak of the parse (ru_maxrss would include
# the parent's pages: Linux keeps the high-water mark across fork and exec)
outcome.update(events)
print(json.dumps(outcome))
"""


def parse_in_jail(body: str | bytes) -> dict[str, Any]:
    data = body.encode() if isinstance(body, str) else body
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD], input=data, capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, f"parse child died ({done.returncode}): {done.stderr.decode()[-2000:]}"
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def laughs(levels: int = 9) -> list[str]:
    decls = ['<!ENTITY lol "lol">', '<!ENTITY lol1 "' + "&lol;" * 10 + '">']
    decls += [f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, levels + 1)]
    return decls


ITEM = '<rss version="2.0"><channel><title>{ref}</title><item><guid>g</guid><title>{ref}</title></item></channel></rss>'


def bounded(result: dict[str, Any], seconds: float = 2.0, rss_mb: float = 150.0) -> None:
    assert result["seconds"] < seconds, result
    assert result["rss_mb"] < rss_mb, result
    if result["ok"]:
        assert result["longest"] < 100_000, "entity text was expanded"


@pytest.mark.slow
def test_F03_billion_laughs_multi_line_doctype_is_bounded_and_not_expanded() -> None:
    """F03: billion laughs with the DOCTYPE over several lines: < 2 s, < 150 MB, nothing expanded."""
    doc = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(laughs()) + "\n]>\n" + ITEM.format(ref="&lol9;")
    result = parse_in_jail(doc)
    bounded(result)
    assert not result["ok"] and "entity" in result["error"]


@pytest.mark.slow
def test_F04_billion_laughs_single_line_doctype_is_bounded() -> None:
    """F04: the single-line DOCTYPE that feedparser's line-anchored regex does not strip: refused before
    Expat, bounded time and memory."""
    doc = '<?xml version="1.0"?><!DOCTYPE rss [' + "".join(laughs()) + "]>" + ITEM.format(ref="&lol9;")
    result = parse_in_jail(doc)
    bounded(result)
    assert not result["ok"] and "entity" in result["error"]


@pytest.mark.slow
@pytest.mark.parametrize("broken", [False, True], ids=["strict", "loose"])
def test_F05_quadratic_blowup_is_a_feed_error_not_oom(broken: bool) -> None:
    """F05: one 1 MB "safe" entity referenced 5,000 times (5 GB if expanded). Before the fix the loose
    parser (after Expat refused, or on a document broken on purpose) expanded it without limit (100 s and
    gigabytes); now it is a feed error in milliseconds, far inside the RLIMIT."""
    tail = "<broken></channel>" if broken else "</channel></rss>"
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 1_000_000 + '">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>'
        + "&a;" * 5000
        + "</title></item>"
        + tail
    )
    result = parse_in_jail(doc)
    bounded(result, rss_mb=200)
    assert not result["ok"] and "expand" in result["error"]


def test_F05_small_legitimate_entities_still_work() -> None:
    """F05 (no false positive): a feed declaring `<!ENTITY nbsp "&#160;">` and using it parses."""
    doc = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n' + ITEM.format(ref="Deal&nbsp;signed")
    result = parse_in_jail(doc)
    assert result["ok"] and result["titles"] in (["Deal\xa0signed"], ["Deal signed"])


@pytest.fixture
def canary() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.set("/x.dtd", '<!ENTITY leak "LEAKED">')
        server.set("/secret", "LEAKED")
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("single_line", [False, True], ids=["multi-line", "single-line"])
def test_F06_external_entities_open_no_file_and_no_connection(canary: FeedServer, single_line: bool) -> None:
    """F06: `<!ENTITY x SYSTEM "file:///etc/passwd">` and `SYSTEM "http://127.0.0.1:<port>/secret">`:
    no file opened (audit hook), canary 0 requests, no connect at all, titles hold no file content."""
    sep = "" if single_line else "\n"
    doc = (
        f'<?xml version="1.0"?>{sep}<!DOCTYPE rss [{sep}<!ENTITY x SYSTEM "file:///etc/passwd">{sep}'
        f'<!ENTITY y SYSTEM "{canary.url("/secret")}">{sep}]>{sep}' + ITEM.format(ref="a&x;b&y;c")
    )
    result = parse_in_jail(doc)
    assert [name for name in result["open"] if "passwd" in name] == []
    assert result["connect"] == [] and canary.hits("/secret") == []
    if result["ok"]:
        assert all("root:" not in t and "LEAKED" not in t for t in [result["title"], *result["titles"]])


@pytest.mark.slow
def test_F07_external_dtd_is_never_fetched(canary: FeedServer) -> None:
    """F07: `<!DOCTYPE rss SYSTEM "http://127.0.0.1:<port>/x.dtd">` (and a parameter entity pulling it
    in): the DTD server receives 0 requests and the document still parses."""
    doc = f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{canary.url("/x.dtd")}">\n' + ITEM.format(ref="Deal")
    param = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "{canary.url("/x.dtd")}"> %p;]>' + ITEM.format(
        ref="Deal"
    )
    for body in (doc, param):
        result = parse_in_jail(body)
        assert result["connect"] == []
        assert result["ok"] and result["titles"] == ["Deal"]
    assert canary.hits("/x.dtd") == []


def test_F06_utf16_entity_bomb_is_refused_too() -> None:
    """F03/F06: the same bomb encoded as UTF-16 (feedparser's own test case shape) is also refused."""
    doc = '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [\n' + "\n".join(laughs(5)) + "\n]>\n"
    result = parse_in_jail((doc + ITEM.format(ref="&lol5;")).encode("utf-16"))
    bounded(result)
    assert not result["ok"]


# -- start-up check (F04: "startup check EXPAT_VERSION >= 2.6.0") -------------------------------------


def test_F04_startup_check_warns_on_old_expat_and_libxml2() -> None:
    """F04: check_xml_parser() warns when Expat < 2.6.0 or libxml2 bindings are importable, and is quiet
    for a safe configuration."""
    assert safety.check_xml_parser(version=(2, 6, 0), libxml2_importable=False) == []
    old = safety.check_xml_parser(version=(2, 5, 0), libxml2_importable=False)
    assert len(old) == 1 and "2.5.0" in old[0] and "2.6.0" in old[0]
    libxml2 = safety.check_xml_parser(version=(2, 7, 1), libxml2_importable=True)
    assert len(libxml2) == 1 and "libxml2" in libxml2[0]


def test_F04_startup_check_reads_the_running_interpreter() -> None:
    """F04: the default call inspects this interpreter: its warnings match pyexpat's actual version."""
    import pyexpat

    version = safety.expat_version()
    assert version is not None and ".".join(map(str, version)) in pyexpat.EXPAT_VERSION
    warnings = safety.check_xml_parser()
    assert any("Expat" in w for w in warnings) == (version < safety.SAFE_EXPAT)
