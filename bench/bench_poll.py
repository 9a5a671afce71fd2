"""Benchmark: poll 1,000 feeds of 50 items through the real pipeline, against a plain feedparser loop.

Why: the issue asks for a cold poll of 1,000 feeds within 15 s and at least 6x faster than a sequential
`feedparser.parse(url)` loop, a warm poll (every feed 304) within 3 s and at least 20x faster, and peak
memory under 300 MB. Only ratios measured in one run mean much on a shared 2-core machine, so everything
is measured in one run against one server:

  (a) loop:  `feedparser.parse(url)` for every feed, one after another (what a plain script does; it
             sends no validators, so a second pass costs the same and is the baseline for both ratios);
  (b) cold:  `monitor.pipeline.poll` on a fresh SQLite file (a Pipeline from monitor.app.build_pipeline,
             feeds synced with sync_config): fetch, parse, classify, group, store, for all 50,000 items;
  (c) warm:  the same pipeline polling every feed again: all 304;
      changed: then every feed gains one item on top (a new body of 50 items, 49 of them stored): the
             steady state of `monitor run`, where stored items must not be analysed again;
  (d) pools: monitor.fetch_pool and monitor.parse_pool on their own (no database, no classification),
             cold and warm: the floor under what the pipeline, which uses them, can reach.

Nothing is monkeypatched. Peak memory is the kernel's count (VmHWM, restarted before each phase); the memory
target is judged on the monitor's processes together: this process's peak during the polls plus the peak of
each of its child processes (parse workers, multiprocessing's resource tracker; the feed server's is left
out). CPU time is reported per phase for this process and for its parse workers. With
`--breakdown`, where the polls' time goes is measured by sampling the main thread's stack every 5 ms (stage =
the innermost pipeline function on the stack); the sampler takes the GIL each time, so the polls of such a
run are slower (~2 s of CPU on a cold poll) and the targets are judged on a run without it. The feeds are generated
here (RSS 2.0, and Atom for every fifth feed; 50 items with ~600-character HTML summaries, unique guids,
some wire stories shared between feeds) and served by a threaded HTTP/1.1 server with ETag support in a
separate process, with a per-request latency (default 20-100 ms, as in shared/docs/performance.md; use
`--latency-ms 0` for none).

Run: `python bench/bench_poll.py` (1,000 feeds, a few minutes) or `--feeds 100` for a quick run.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

import monitor  # noqa: E402
from monitor.app import build_pipeline  # noqa: E402
from monitor.fetch import FetchResult, make_client  # noqa: E402
from monitor.fetch_pool import DEFAULT_PER_HOST, FetchJob, fetch_all, iter_fetch  # noqa: E402
from monitor.parse_pool import ParseJob, ParsePool, shared_pool  # noqa: E402
from monitor.pipeline import poll, sync_config  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.types import FeedSpec  # noqa: E402

ITEMS_PER_FEED = 50
NOW = datetime.now(UTC).replace(microsecond=0)

# -- synthetic feeds --------------------------------------------------------------------------------

_CDMOS = ["Lonza", "Samsung Biologics", "WuXi Biologics", "Catalent", "Fujifilm Diosynth", "AGC Biologics",
          "Rentschler", "Siegfried", "Recipharm", "Thermo Fisher", "Celltrion", "SK pharmteco", "Northwind Biologics",
          "Halcyon CDMO", "Ardent Fill Finish", "Meridian Bioprocess"]  # fmt: skip
_CLIENTS = ["Arcadia Therapeutics", "Bluefin Bio", "Corvane Pharma", "Delphine Oncology", "Elmstead Biotech",
            "Fairlight Vaccines", "Granitebay Therapeutics", "Harbor Gene", "Ilex Biosciences", "Juniper Rx",
            "Kestrel Medicines", "Larchmont Bio"]  # fmt: skip
_SITES = ["Visp", "Incheon", "Songdo", "Bloomington", "Hillerod", "Cork", "Singapore", "Raleigh", "Basel", "Tuas"]
_DRUGS = ["antibody-drug conjugate", "bispecific antibody", "mRNA vaccine", "AAV gene therapy", "GLP-1 peptide",
          "cell therapy", "biosimilar", "oligonucleotide"]  # fmt: skip
# About one item in five is CDMO news (contracts, plants); the rest is the ordinary flow of a pharma feed
# (results, trials, approvals, people, financing), as in real newsroom and wire feeds.
DEAL_SHARE = 0.2
_DEAL_TEMPLATES = [
    "{cdmo} signs {value} manufacturing agreement with {client}",
    "{client} taps {cdmo} to produce its {drug}",
    "{cdmo} breaks ground on {value} plant in {site}",
    "{cdmo} completes GMP qualification of new {site} facility",
    "{cdmo} expands {drug} capacity in {site} with {value} investment",
    "{cdmo} and {client} extend commercial supply deal for {drug}",
]
_OTHER_TEMPLATES = [
    "{client} reports positive phase 2 data for {drug} candidate",
    "{client} raises {value} in series B financing",
    "{client} appoints new chief medical officer",
    "FDA accepts {client} filing for {drug}",
    "{client} posts third-quarter revenue of {value}",
    "{client} to present {drug} results at annual oncology congress",
    "Court rules in patent dispute between {client} and rival over {drug}",
    "{client} cuts 12% of staff in restructuring",
    "Analysts expect {drug} market to reach {value} by 2030",
    "{client} licenses {drug} rights to Asian partner",
]
_DEAL_LEDE = (
    "The agreement covers process development, clinical supply and commercial manufacturing &amp; "
    "fill-finish at the company&rsquo;s flagship site, with technology transfer expected to start next "
    "quarter. Financial terms beyond the headline figure were not disclosed. Analysts said the deal "
    "reflects sustained demand for outsourced biologics capacity across the industry. "
)
_OTHER_LEDE = (
    "The company said the results were in line with its guidance and that it would provide an update "
    "at its investor day later this year. Shares rose 3% in early trading on the news, and analysts "
    "at two brokerages raised their price targets. The company&rsquo;s chief executive said the "
    "priority for next year remains the launch of its lead programme in the United States and Europe. "
)


def _headline(rng: random.Random) -> tuple[str, bool]:
    value = f"${rng.choice([15, 40, 75, 120, 250, 480, 900])}{rng.choice(['M', ' million', 'B'])}"
    deal = rng.random() < DEAL_SHARE
    template = rng.choice(_DEAL_TEMPLATES if deal else _OTHER_TEMPLATES)
    return template.format(cdmo=rng.choice(_CDMOS), client=rng.choice(_CLIENTS), value=value,
                           site=rng.choice(_SITES), drug=rng.choice(_DRUGS)), deal  # fmt: skip


def _summary(rng: random.Random, title: str, link: str, deal: bool) -> str:
    filler = _DEAL_LEDE if deal else _OTHER_LEDE
    start = rng.randrange(0, 60)
    return (
        f"<p><strong>{escape(title)}</strong> &mdash; {filler[start:]}</p>"
        f'<p>Read more on <a href="{escape(link)}?utm_source=rss">the full article</a>. {filler[: 120 + start]}</p>'
    )


@dataclass(frozen=True, slots=True)
class Entry:
    guid: str
    link: str
    title: str
    summary: str
    published: datetime


def feed_entries(index: int, edition: int = 0) -> list[Entry]:
    """50 entries of feed `index`; about one in ten is a wire story that several feeds carry.

    Edition 1 is the same feed an hour later: one new entry on top, the oldest gone.
    """
    if edition:
        older = feed_entries(index)
        rng = random.Random(20_000_000 + index)
        title, deal = _headline(rng)
        link = f"https://news{index % 40}.example.com/articles/{index}-new"
        new = Entry(f"urn:bench:{index}:new", link, title, _summary(rng, title, link, deal), NOW)
        return [new, *older[:-1]]
    rng = random.Random(index)
    entries = []
    for n in range(ITEMS_PER_FEED):
        shared = rng.random() < 0.1
        story = rng.randrange(300) if shared else None
        local = random.Random(10_000_000 + story) if story is not None else rng
        title, deal = _headline(local)
        link = (f"https://wire.example.com/news/{story}" if story is not None
                else f"https://news{index % 40}.example.com/articles/{index}-{n}")  # fmt: skip
        guid = f"urn:bench:{index}:{n}"
        when = NOW - timedelta(minutes=17 * n + index % 13)
        entries.append(Entry(guid, link, title, _summary(local, title, link, deal), when))
    return entries


def render_rss(index: int, entries: list[Entry]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
             f"<title>Bench outlet {index}</title><link>https://news{index % 40}.example.com/</link>",
             "<description>Synthetic biopharma manufacturing news</description>"]  # fmt: skip
    for e in entries:
        parts.append(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f'<guid isPermaLink="false">{e.guid}</guid><pubDate>{format_datetime(e.published, usegmt=True)}</pubDate>'
            f"<description>{escape(e.summary)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def render_atom(index: int, entries: list[Entry]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>Bench outlet {index}</title><id>urn:bench:feed:{index}</id>",
             f"<updated>{entries[0].published.isoformat()}</updated>"]  # fmt: skip
    for e in entries:
        parts.append(
            f'<entry><title>{escape(e.title)}</title><link href="{escape(e.link)}"/><id>{e.guid}</id>'
            f"<updated>{e.published.isoformat()}</updated>"
            f'<summary type="html">{escape(e.summary)}</summary></entry>'
        )
    parts.append("</feed>")
    return "".join(parts).encode()


def feed_document(index: int, edition: int = 0) -> tuple[bytes, str]:
    entries = feed_entries(index, edition)
    if index % 5 == 4:
        return render_atom(index, entries), "application/atom+xml; charset=utf-8"
    return render_rss(index, entries), "application/rss+xml; charset=utf-8"


# -- the server (its own process, so it does not compete for the benchmark's GIL) ----------------------


def _serve(feeds: int, hosts: int, latency: tuple[float, float], bases_out: Any, stop: Any, later: Any) -> None:
    editions = [{f"/feed/{i}.xml": feed_document(i, edition) for i in range(feeds)} for edition in (0, 1)]
    tags = [{path: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for path, (body, _) in docs.items()}
            for docs in editions]  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if latency[1] > 0:
                time.sleep(random.uniform(*latency))
            edition = 1 if later.is_set() else 0
            found = editions[edition].get(self.path)
            if found is None:
                self._send(404, b"", "text/plain", {})
                return
            body, content_type = found
            etag = tags[edition][self.path]
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", content_type, {"ETag": etag})
                return
            self._send(200, body, content_type, {"ETag": etag})

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    servers = [ThreadingHTTPServer((f"127.0.0.{n + 1}", 0), Handler) for n in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    bases_out.put([f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers])
    stop.wait(3600)  # bounded: the server stops by itself after an hour at most
    for server in servers:
        server.shutdown()


@dataclass
class Served:
    """The local servers' base URLs, and a switch to the feeds' next edition (one new item each)."""

    bases: list[str]
    later: Any

    def next_edition(self) -> None:
        self.later.set()


@contextmanager
def feed_server(feeds: int, latency: tuple[float, float], hosts: int = 1) -> Iterator[Served]:
    """Servers on 127.0.0.1, 127.0.0.2, ... (loopback), `hosts` of them, all serving every feed."""
    context = multiprocessing.get_context("spawn")
    bases_queue, stop, later = context.Queue(), context.Event(), context.Event()
    process = context.Process(target=_serve, args=(feeds, hosts, latency, bases_queue, stop, later), daemon=True)
    process.start()
    if process.pid is not None:
        _SERVER_PIDS.add(process.pid)  # the publishers' CPU is not the pipeline's
    try:
        yield Served(bases_queue.get(timeout=120), later)
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


_SERVER_PIDS: set[int] = set()


def feed_urls(bases: list[str], feeds: int) -> list[str]:
    """Feed i on host i mod len(bases), so every host carries its share as real feeds spread over outlets."""
    return [f"{bases[i % len(bases)]}/feed/{i}.xml" for i in range(feeds)]


# -- measuring --------------------------------------------------------------------------------------

_STAGES = {  # innermost match wins: (module, function) -> stage
    ("monitor.pipeline", "poll"): "fetch (threads; main thread waits)",
    ("monitor.parse", "parse_feed"): "parse (feedparser + normalise)",
    ("monitor.classify", "classify"): "classify",
    ("monitor.grouping", "fingerprint"): "group (fingerprint, assign_story, index)",
    ("monitor.grouping", "assign_story"): "group (fingerprint, assign_story, index)",
    ("monitor.story_index", "add"): "group (fingerprint, assign_story, index)",
    ("monitor.pipeline", "_place_in_story"): "store (stories, outbox rows)",
    ("monitor.pipeline", "place_in_story"): "store (stories, outbox rows)",
    ("monitor.pipeline", "ingest"): "store (items: dedup queries, ORM add/flush)",
    ("monitor.pipeline", "process_fetch"): "store (transaction, commit, feed state)",
    ("monitor.pipeline", "_record_failure"): "store (transaction, commit, feed state)",
}


def _hotspot(frame: FrameType | None) -> str:
    """The innermost `monitor` function on the stack (with the line it is on): where to optimise."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("monitor."):
            return f"{module}.{frame.f_code.co_name}:{frame.f_lineno}"
        frame = frame.f_back
    return "(outside monitor)"


def _stage(frame: FrameType | None) -> tuple[str, bool]:
    in_sql = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith(("sqlalchemy", "sqlmodel", "sqlite3")):
            in_sql = True
        stage = _STAGES.get((module, frame.f_code.co_name))
        if stage is not None:
            return stage, in_sql
        frame = frame.f_back
    return "other", in_sql


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS count (VmHWM) at the current size; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_peak_rss_mib() -> dict[int, float]:
    """Each child process's peak RSS (VmHWM) but the feed server's: the parse workers and multiprocessing's
    resource tracker, all part of the monitor's memory (Linux /proc; empty elsewhere)."""
    found = {}
    for pid in _children_cpu_s():
        try:
            with open(f"/proc/{pid}/status") as status:
                found[pid] = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            continue
    return found


@dataclass
class PeakMemory:
    """This process's peak RSS during a block: exact, from the kernel's VmHWM restarted at the block's start.

    Why not sampling: a sampler thread takes the GIL every few milliseconds from the thread being measured
    (a 5 ms stack sampler cost the cold poll ~2 s of CPU) and misses short peaks. Where VmHWM cannot be
    restarted (not Linux), RSS is sampled every 50 ms instead.
    """

    peak_rss_mib: float = 0.0

    @contextmanager
    def measuring(self) -> Iterator[PeakMemory]:
        if _reset_peak_rss():
            try:
                yield self
            finally:
                self.peak_rss_mib = _peak_rss_mib()
            return
        sampler = StackSampler(interval=0.05, stacks=False)
        with sampler.running():
            yield self
        self.peak_rss_mib = sampler.peak_rss_mib


@dataclass
class StackSampler:
    """Samples the main thread's stack (which stage) and this process's RSS every `interval` seconds.

    Only with --breakdown: the sampling competes with the measured code for the GIL, so the figures of a
    run with it are a little slower than without.
    """

    interval: float = 0.005
    stacks: bool = True
    stages: Counter[str] = field(default_factory=Counter)
    hotspots: Counter[str] = field(default_factory=Counter)
    sql_samples: int = 0
    peak_rss_mib: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        main = threading.main_thread().ident
        while not self._stop.wait(self.interval):
            self.peak_rss_mib = max(self.peak_rss_mib, _rss_mib())
            if not self.stacks:
                continue
            frame = sys._current_frames().get(main or 0)
            stage, in_sql = _stage(frame)
            self.stages[stage] += 1
            self.hotspots[_hotspot(frame)] += 1
            self.sql_samples += in_sql

    @contextmanager
    def running(self) -> Iterator[StackSampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@dataclass
class Phase:
    name: str
    seconds: float
    peak_rss_mib: float
    note: str = ""
    sampler: StackSampler | None = None  # where the main thread's time went, with --breakdown
    cpu_s: float = 0.0  # CPU time of this process (all its threads)
    workers_cpu_s: float = 0.0  # CPU time of its child processes but the feed server (the parse workers)


def _children_cpu_s() -> dict[int, float]:
    """CPU seconds (user + system) of each child process of this one but the feed server, by pid (Linux /proc)."""
    me, tick, found = os.getpid(), os.sysconf("SC_CLK_TCK"), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in _SERVER_PIDS:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def timed(
    name: str, action: Callable[[], Any], note: Callable[[Any], str] = lambda _: "", *, breakdown: bool = False
) -> tuple[Phase, Any]:
    """Run `action` once: its wall time, CPU time (this process, its workers), peak RSS and maybe a breakdown.

    Why CPU: on two cores a cold poll keeps both busy, so its time is set by the CPU all its processes need.
    """
    memory, sampler = PeakMemory(), StackSampler() if breakdown else None
    with memory.measuring(), sampler.running() if sampler else nullcontext():
        workers_before, cpu_before = _children_cpu_s(), time.process_time()
        started = time.perf_counter()
        value = action()
        seconds = time.perf_counter() - started
        cpu, workers_after = time.process_time() - cpu_before, _children_cpu_s()
    workers = sum(spent - workers_before.get(pid, 0.0) for pid, spent in workers_after.items())
    return Phase(name, seconds, memory.peak_rss_mib, note(value), sampler, cpu, workers), value


def run_loop(urls: list[str]) -> int:
    items = 0
    for url in urls:
        items += len(feedparser.parse(url).entries)
    return items


def _statuses(results: list[Any]) -> str:
    counts = Counter(r.status for r in results)
    errors = [r.error for r in results if r.error][:3]
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + (f"; errors e.g. {errors}" if errors else "")


def run_pipeline(urls: list[str], workdir: Path, served: Served, *, breakdown: bool = False) -> list[Phase]:
    settings = Settings(db=str(workdir / "bench.db"), allow_private_networks=True, alerts_dir=ROOT / "alerts")
    pipeline = build_pipeline(settings, load_rules(settings.alerts_dir))
    specs = [FeedSpec(name=f"feed-{i}", url=url, interval=timedelta(minutes=30)) for i, url in enumerate(urls)]
    sync_config(pipeline, specs)
    cold, _ = timed("pipeline cold poll (all new, baseline)", lambda: poll(pipeline), _statuses, breakdown=breakdown)
    names = [spec.name for spec in specs]
    warm, _ = timed("pipeline warm poll (all 304)", lambda: poll(pipeline, names), _statuses, breakdown=breakdown)
    # an hour later: every feed has one new item on top (a changed body; its 49 other items are known)
    served.next_edition()
    changed, _ = timed("pipeline changed poll (1 new item per feed)", lambda: poll(pipeline, names),
                       lambda r: f"{_statuses(r)}; {sum(x.new_items for x in r)} new items",
                       breakdown=breakdown)  # fmt: skip
    pipeline.http.close()
    pipeline.engine.dispose()
    return [cold, warm, changed]


def run_pools(urls: list[str], per_host: int) -> tuple[list[Phase], list[int]]:
    jobs = [FetchJob(url) for url in urls]
    phases: list[Phase] = []
    with make_client(allow_private=True) as client, ParsePool() as pool:
        pool.parse_all([ParseJob(b"<rss version='2.0'><channel/></rss>", "http://warm.up/")] * 8, NOW)  # start workers
        phase, outcomes = timed("pools: fetch_all cold (no DB)", lambda: fetch_all(client, jobs, per_host=per_host),
                                lambda o: f"{sum(getattr(x, 'status', 0) == 200 for x in o)} bodies")  # fmt: skip
        phases.append(phase)
        bodies = [ParseJob(o.body, o.final_url, o.headers) for o in outcomes if getattr(o, "status", 0) == 200]
        phase, _ = timed("pools: parse_all on 2 processes (no DB)", lambda: count_items(pool.iter_parse(bodies, NOW)),
                         lambda n: f"{n} items")  # fmt: skip
        phases.append(phase)
        phase, _ = timed("pools: fetch streamed into parse (no DB)", lambda: stream(client, jobs, pool, per_host))
        phases.append(phase)
        warm_jobs = [FetchJob(j.url, etag=getattr(o, "etag", None)) for j, o in zip(jobs, outcomes, strict=True)]
        outcomes.clear()  # release the bodies, as the pipeline would
        bodies.clear()
        phase, _ = timed("pools: fetch_all warm, all 304 (no DB)",
                         lambda: fetch_all(client, warm_jobs, per_host=per_host),
                         lambda o: f"{sum(getattr(x, 'status', 0) == 304 for x in o)} not modified")  # fmt: skip
        phases.append(phase)
        worker_peaks = pool.worker_peak_rss_kib()
    return phases, worker_peaks


def stream(client: Any, jobs: list[FetchJob], pool: ParsePool, per_host: int) -> int:
    """Fetch and parse overlapped: each body goes to a parse worker as soon as it arrives."""
    futures = [
        pool.submit(ParseJob(outcome.body, outcome.final_url, outcome.headers), NOW)
        for _, outcome in iter_fetch(client, jobs, per_host=per_host)
        if isinstance(outcome, FetchResult) and outcome.status == 200
    ]
    items = 0
    for index, future in enumerate(futures):
        items += len(getattr(future.result(), "items", ()))
        futures[index] = None  # type: ignore[call-overload]  # released as a pipeline would after ingesting
    return items


def count_items(outcomes: Iterable[Any]) -> int:
    return sum(len(getattr(outcome, "items", ())) for outcome in outcomes)


# -- report -----------------------------------------------------------------------------------------


def report(feeds: int, latency: str, loop: Phase, pipeline: list[Phase], pools: list[Phase],
           worker_peaks: list[int], helpers: dict[int, float]) -> None:  # fmt: skip
    cold, warm = pipeline[:2]
    print(f"\n== {feeds} feeds x {ITEMS_PER_FEED} items on 127.0.0.x, {latency} ==")
    for phase in [loop, *pipeline, *pools]:
        print(f"{phase.name:48s} {phase.seconds:8.2f} s   peak RSS {phase.peak_rss_mib:6.0f} MiB   {phase.note}")
    print("\nCPU time (s): this process (all threads) + its parse workers")
    for phase in [*pipeline, *pools]:
        print(f"  {phase.name:46s} {phase.cpu_s:6.1f} + {phase.workers_cpu_s:5.1f}")
    print(
        f"\ncold poll: {cold.seconds:.2f} s (target <= 15 s), "
        f"{loop.seconds / cold.seconds:.1f}x the loop (target >= 6x)"
    )
    print(
        f"warm poll: {warm.seconds:.2f} s (target <= 3 s), {loop.seconds / warm.seconds:.1f}x the loop (target >= 20x)"
    )
    polls = max(phase.peak_rss_mib for phase in pipeline)
    total = polls + sum(helpers.values())
    parts = " + ".join(f"{mib:.0f}" for mib in sorted(helpers.values(), reverse=True))
    print(f"peak memory during the polls: this process {polls:.0f} MiB + its child processes {parts or 0} MiB "
          f"= {total:.0f} MiB = {total * 1.048576:.0f} MB (target < 300 MB)")  # fmt: skip
    print("  (each process's own peak RSS, summed: at least the peak of the sum; the children are the parse workers")
    print("   and multiprocessing's resource tracker)")
    peak = max(phase.peak_rss_mib for phase in [loop, *pipeline, *pools])
    print(f"  (this process over the whole run, with the loop and the pools' diagnostics: {peak:.0f} MiB)")
    if worker_peaks:
        peaks = ", ".join(f"{k / 1024:.0f}" for k in sorted(set(worker_peaks)))
        print(f"parse workers' own count of their peak RSS: {peaks} MiB")
    sampled = [phase for phase in pipeline if phase.sampler is not None]
    for phase in sampled:
        breakdown(phase)
    if not sampled:
        print("\n(run with --breakdown to see where the polls' main thread spends its time; sampling its stack")
        print(" every 5 ms competes with it for the GIL and slows the polls measured in that run)")


def breakdown(phase: Phase) -> None:
    sampler = phase.sampler
    assert sampler is not None
    total = sum(sampler.stages.values()) or 1
    print(f"\nwhere the time of the {phase.name} goes (main thread, {total} samples every "
          f"{sampler.interval * 1000:.0f} ms):")  # fmt: skip
    for stage, count in sampler.stages.most_common():
        print(f"  {stage:48s} {100 * count / total:5.1f} %  ~{phase.seconds * count / total:6.2f} s")
    print(f"  (of all samples, inside SQLAlchemy/SQLite: {100 * sampler.sql_samples / total:.1f} %)")
    print("  innermost monitor function on the stack (top 10):")
    for where, count in sampler.hotspots.most_common(10):
        print(f"    {where:62s} {100 * count / total:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency-ms", default="20-100", help="per-request server latency range, e.g. 20-100 or 0")
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses the feeds are spread over")
    parser.add_argument("--per-host", type=int, default=DEFAULT_PER_HOST, help="fetch_pool's per-host limit")
    parser.add_argument(
        "--breakdown", action="store_true", help="sample the polls' main thread every 5 ms: where its time goes"
    )
    args = parser.parse_args()
    print(f"monitor modules: {monitor.RUNS_AS}", flush=True)
    low, _, high = args.latency_ms.partition("-")
    latency = (float(low) / 1000, float(high or low) / 1000)
    with feed_server(args.feeds, latency, args.hosts) as served, tempfile.TemporaryDirectory() as tmp:
        urls = feed_urls(served.bases, args.feeds)
        print(f"serving {args.feeds} feeds on {len(served.bases)} loopback hosts; running the loop ...", flush=True)
        loop, _ = timed("loop: feedparser.parse(url), sequential", lambda: run_loop(urls), lambda n: f"{n} items")
        print(f"loop done in {loop.seconds:.1f} s; polling through the pipeline ...", flush=True)
        pipeline = run_pipeline(urls, Path(tmp), served, breakdown=args.breakdown)
        worker_peaks = shared_pool().worker_peak_rss_kib()  # the workers the polls used
        helpers = _children_peak_rss_mib()  # they and the resource tracker, before the pools start other workers
        print("pipeline done; measuring the pools alone ...", flush=True)
        pools, _ = run_pools(urls, args.per_host)
    where = f"{args.hosts} loopback hosts, per-host limit {args.per_host}"
    report(args.feeds, f"{args.latency_ms} ms latency, {where}", loop, pipeline, pools, worker_peaks, helpers)


if __name__ == "__main__":
    main()
