"""Parse many feed bodies on every core: a process pool created once and reused.

Why processes: parsing is the CPU bottleneck of a poll (feedparser, pure Python, ~11 ms per 50-item
feed) and threads would share one core through the GIL. Spawning workers costs about a second, so the pool
is made once (lazily) and kept; a small batch (a warm poll where two feeds changed) is parsed in-process,
where the round trip to a worker would cost more than it saves. Workers are started with "spawn" because
the parent has threads (fetch workers, the scheduler, SQLite) and forking a threaded process is unsafe.
Every exception becomes a ParseError value for its own job. Pure: no database, no network.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib.machinery import ModuleSpec
from pathlib import Path

from monitor.classify import classify
from monitor.collector import collect_rarely
from monitor.errors import ParseError
from monitor.grouping import StoryFingerprint, fingerprint, relocated
from monitor.parse import ParsedFeed, parse_feed
from monitor.types import Classification, Entities, ParsedItem
from monitor.urls import canonical_url
from monitor.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

MIN_BATCH = 8  # below this many bodies, parsing in-process is cheaper than the round trip
CHUNK = 4  # bodies per message to a worker: fewer round trips, still balanced over 1,000 feeds
CLASSIFY_CHUNK = 250  # items per message when a worker analyses a backfill
# Workers by default: one per usable core, at most this many. The one storing process (fetching, grouping,
# SQLite) needs ~60% of the workers' CPU (bench_poll cold poll: 5.6 s against 9.0 s), so a third worker
# would mostly wait for it, and each worker holds ~40 MiB: more cores would cost memory, not time.
MAX_DEFAULT_WORKERS = 2

ParseOutcome = ParsedFeed | ParseError
# an item's classification, its story fingerprint when flagged, and its canonical link (when it has one)
Analysis = tuple[Classification, StoryFingerprint | None, str | None]


@dataclass(frozen=True, slots=True)
class ParseJob:
    """One fetched body and what parse_feed needs to read it."""

    body: bytes
    final_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timezone: str = "UTC"
    now: datetime | None = None
    # classify the items too (with the default vocabulary extended by these files), fingerprint the flagged
    # ones and canonicalise links: the other CPU-heavy stages of a poll, on every core as well
    classify_with: tuple[str, ...] | None = None
    # guids the feed has stored already: their items are parsed but not analysed (storing skips them);
    # a changed feed usually repeats most of its items
    known_guids: frozenset[str] = frozenset()


_vocabularies: dict[tuple[str, ...], Vocabulary] = {}


def _vocabulary(paths: tuple[str, ...]) -> Vocabulary:
    """One vocabulary per set of extension files, loaded once per process."""
    if paths not in _vocabularies:
        _vocabularies[paths] = load_vocabulary([Path(p) for p in paths])
    return _vocabularies[paths]


def parse_job(job: ParseJob, now: datetime) -> ParseOutcome:
    """Parse (and classify) one body; any exception becomes a ParseError value."""
    try:
        parsed = parse_feed(job.body, final_url=job.final_url, headers=job.headers, timezone=job.timezone, now=now)
        if job.classify_with is None:
            return parsed
        vocabulary = _vocabulary(job.classify_with)
        known = job.known_guids
        analyses: list[tuple[Classification | None, StoryFingerprint | None, str | None]] = [
            _NOT_ANALYSED if item.guid in known else _analyse_one(item, now, vocabulary, job.final_url)
            for item in parsed.items
        ]
        return replace(
            parsed,
            classifications=tuple(a[0] for a in analyses),
            fingerprints=tuple(a[1] for a in analyses),
            links=tuple(a[2] for a in analyses),
        )
    except ParseError as exc:
        return exc
    except Exception as exc:
        return ParseError(f"cannot parse {job.final_url}: {type(exc).__name__}: {exc}")


def _in_worker(job: ParseJob, now: datetime) -> ParsedFeed | str:
    """Runs in a worker: errors travel back as text (exception pickling loses keyword arguments)."""
    outcome = parse_job(job, now)
    return str(outcome) if isinstance(outcome, ParseError) else outcome


def _worker_peak_rss_kib() -> int:
    """This process's own peak resident memory (KiB).

    On Linux from VmHWM: ru_maxrss of a spawned worker starts at its parent's resident size when it was
    forked (exec keeps the larger figure), so it reported the storing process's memory as the worker's.
    """
    import resource

    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _as_outcome(value: ParsedFeed | str) -> ParseOutcome:
    return ParseError(value) if isinstance(value, str) else value


class ParsePool:
    """A reusable process pool for parse jobs, with an in-process fallback for small batches and failures."""

    def __init__(self, workers: int | None = None, *, min_batch: int = MIN_BATCH) -> None:
        self.workers = workers or min(_usable_cores(), MAX_DEFAULT_WORKERS)
        self.min_batch = min_batch
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=context, initializer=_set_up_worker
                )
                _start_workers(self._executor, self.workers)
            return self._executor

    def _discard_broken(self) -> None:
        with self._lock:
            if self._executor is not None:
                # said once per broken pool: the jobs go on in this process (slower), a new pool starts next time
                log.warning("a parse worker failed; parsing in this process until a new worker pool starts")
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    def parse_all(self, jobs: Sequence[ParseJob], now: datetime) -> list[ParseOutcome]:
        """One outcome per job, in job order."""
        return list(self.iter_parse(jobs, now))

    def iter_parse(self, jobs: Sequence[ParseJob], now: datetime) -> Iterator[ParseOutcome]:
        """Outcomes in job order, yielded as soon as each is ready (ingest can start on the first)."""
        if len(jobs) < self.min_batch or self.workers < 2:
            yield from (parse_job(job, job.now or now) for job in jobs)
            return
        done = 0
        try:
            nows = [job.now or now for job in jobs]
            for value in self._pool().map(_in_worker, jobs, nows, chunksize=CHUNK):
                yield _as_outcome(value)
                done += 1
        except BrokenProcessPool:  # a worker died (out of memory, killed): finish here, rebuild next time
            self._discard_broken()
            yield from (parse_job(job, job.now or now) for job in jobs[done:])

    def submit(self, job: ParseJob, now: datetime) -> Future[ParseOutcome]:
        """Parse one job in a worker; the future never raises (a broken pool falls back to in-process)."""
        result: Future[ParseOutcome] = Future()
        try:
            inner = self._pool().submit(_in_worker, job, job.now or now)
        except (BrokenProcessPool, RuntimeError):
            self._discard_broken()
            result.set_result(parse_job(job, job.now or now))
            return result
        inner.add_done_callback(lambda f: result.set_result(self._settle(f, job, now)))
        return result

    def _settle(self, inner: Future[ParsedFeed | str], job: ParseJob, now: datetime) -> ParseOutcome:
        try:
            return _as_outcome(inner.result())
        except (BrokenProcessPool, CancelledError):  # cancelled: queued when another job broke the pool
            self._discard_broken()
            return parse_job(job, job.now or now)
        except Exception as exc:
            return ParseError(f"cannot parse {job.final_url}: {type(exc).__name__}: {exc}")

    def analyse_later(
        self, items: Sequence[ParsedItem], now: datetime, vocabulary_paths: tuple[str, ...] = ()
    ) -> Callable[[], list[Analysis]]:
        """Start analysing `items` in the workers now; the returned function waits for the results.

        Backfills spend their CPU here: classification and fingerprints are pure functions of the item
        (and `now`, which stands in for a missing date), so the storing process only assigns stories and
        writes, and can store one block while the workers analyse the next.
        """
        if len(items) < CLASSIFY_CHUNK or self.workers < 2:
            return lambda: _analyse_chunk(list(items), now, vocabulary_paths)
        chunks = [list(items[i : i + CLASSIFY_CHUNK]) for i in range(0, len(items), CLASSIFY_CHUNK)]
        try:  # Executor.map submits every chunk at once; only collecting the results waits
            results = self._pool().map(_analyse_chunk, chunks, [now] * len(chunks), [vocabulary_paths] * len(chunks))
        except (BrokenProcessPool, RuntimeError):
            self._discard_broken()
            return lambda: _analyse_chunk(list(items), now, vocabulary_paths)

        def collect() -> list[Analysis]:
            try:
                return [c for chunk in results for c in chunk]
            except BrokenProcessPool:
                self._discard_broken()
                return _analyse_chunk(list(items), now, vocabulary_paths)

        return collect

    def worker_peak_rss_kib(self) -> list[int]:
        """Each worker's peak resident memory (KiB), for the benchmark's memory figure."""
        if self._executor is None:
            return []
        return list(self._pool().map(_call_peak, range(self.workers * 4)))

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_NOT_ANALYSED: tuple[None, None, None] = (None, None, None)


# A wire story reaches many feeds word for word, and its analysis depends on its text alone (with the
# vocabulary): each process remembers the classification and fingerprint of its last SAME_TEXT_MEMO texts.
# A fingerprint is then only moved to the item's own link and time (`relocated`). Entries hold ~4 KB.
SAME_TEXT_MEMO = 2048
_same_text: OrderedDict[tuple[str, str], tuple[Vocabulary, Classification, StoryFingerprint | None]] = OrderedDict()
_memo_lock = threading.Lock()  # guards both per-process memos: _same_text and _shared_unflagged (below)


def analyse(item: ParsedItem, now: datetime, vocabulary: Vocabulary) -> Analysis:
    """An item's classification, its story fingerprint when it is flagged, and its canonical link."""
    link = canonical_url(item.url) if item.url else None
    text = (item.title, item.summary)
    with _memo_lock:
        known = _same_text.get(text)
        if known is not None and known[0] is not vocabulary:
            known = None  # read with another vocabulary: analysed again (and remembered with this one)
        if known is not None:
            _same_text.move_to_end(text)
    if known is not None:
        result, fp = known[1], known[2]
        fp = relocated(fp, item, now, link=link) if fp is not None else None
    else:
        result = _one_instance(classify(item.title, item.summary, vocabulary))
        fp = fingerprint(item, result, now, link=link) if result.flagged else None
        with _memo_lock:
            _same_text[text] = (vocabulary, result, fp)
            if len(_same_text) > SAME_TEXT_MEMO:
                _same_text.popitem(last=False)
    if fp is not None:  # computed here, in a worker, and pickled with it: the storing process only writes them
        _ = fp.keys, fp.stored
    return result, fp, link


# Most items are not flagged, and their classifications repeat (no label, often no company and no amount):
# in 200 bench feeds, 22 values for 7,923 unflagged items. One shared instance per value means a parsed
# feed pickles each value once and the storing process builds it once (pickle keeps one copy of an
# object met twice): unpickling classifications took 11 us per item, over a third of the unpickling.
SHARED_UNFLAGGED_LIMIT = 4096
_shared_unflagged: dict[Entities, Classification] = {}


def _one_instance(result: Classification) -> Classification:
    """The process's instance equal to an unflagged `result` (its label-less evidence follows from its entities)."""
    if result.flagged:
        return result
    with _memo_lock:
        found = _shared_unflagged.get(result.entities)
        if found is None:
            if len(_shared_unflagged) >= SHARED_UNFLAGGED_LIMIT:
                _shared_unflagged.clear()
            found = _shared_unflagged[result.entities] = result
    return found if found == result else result


def _analyse_one(item: ParsedItem, now: datetime, vocabulary: Vocabulary, source: str) -> Analysis:
    """`analyse(item)`, or, when it raises, the item unflagged: one odd item must not cost its feed.

    Twice a token no test had thought of (a circled digit, an amount of 400 digits) made a fingerprint raise,
    and the whole feed became a parse error on every poll. The item is still stored (and `monitor reclassify`
    can classify it again once the bug is fixed); the warning goes to the worker's stderr, the service's log.
    """
    try:
        return analyse(item, now, vocabulary)
    except Exception as exc:
        log.warning(
            "cannot classify item %r of %s, stored unflagged: %s: %s", item.guid, source, type(exc).__name__, exc
        )
        return Classification(), None, None


def _analyse_chunk(items: list[ParsedItem], now: datetime, vocabulary_paths: tuple[str, ...]) -> list[Analysis]:
    vocabulary = _vocabulary(vocabulary_paths)
    return [_analyse_one(item, now, vocabulary, "a backfill block") for item in items]


WORKER_NICENESS = 10


def _set_up_worker() -> None:
    """Workers yield the CPU to the storing process when both want it, and collect garbage rarely.

    The storing process (one thread: stories, SQLite) is the pipeline's narrowest stage in a backfill;
    with two workers and it sharing two cores it got about two thirds of one. Idle cores still go to
    the workers, so their throughput is unchanged when the storing process waits.
    """
    with contextlib.suppress(OSError):  # not permitted: run at normal priority
        os.nice(WORKER_NICENESS)
    collect_rarely()  # a worker does nothing but bulk work (see monitor.collector)


# A main module with this name is never run again in a spawned child (as for `python -m package`).
_NOT_RERUN = ModuleSpec("__main__", None)


def _start_workers(executor: ProcessPoolExecutor, count: int) -> None:
    """Start all `count` workers now, without the parent's main script.

    Why: "spawn" runs the parent's main script again in every child (as `__mp_main__`) so that functions
    defined there can be unpickled. A worker only ever runs functions of this module, and the `monitor`
    console script (or a benchmark script) imports the whole application: 0.9 s of CPU and ~40 MB per
    worker, at the start of a poll, against 0.3 s for what a worker needs. multiprocessing leaves a main
    module named `__main__` alone, so the main module carries that name while the workers start. A
    worker is spawned by a submit that finds none idle; submitting `count` empty jobs here spawns every
    worker (ProcessPoolExecutor spawns none later, except after a crash, when this pool is replaced).
    """
    main = sys.modules.get("__main__")
    saved = getattr(main, "__spec__", None)
    if main is not None:
        main.__spec__ = _NOT_RERUN
    try:
        for _ in range(count):
            executor.submit(_ready)
    finally:
        if main is not None:
            main.__spec__ = saved


def _ready() -> None:
    """The job that starts a worker."""


def _call_peak(_: int) -> int:
    return _worker_peak_rss_kib()


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


_shared: ParsePool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ParsePool:
    """The process's one ParsePool, created on first use and shut down at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParsePool()
            atexit.register(_shared.close)
        return _shared
