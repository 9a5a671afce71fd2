"""Fetch many feeds at once: a thread pool over one shared client, at most `per_host` at a time per host.

Why threads: fetching is waiting on the network, and httpx's sync client releases the GIL while it waits;
the CPU-heavy step (parsing) goes to processes in `monitor.parse_pool`. Jobs are interleaved by host
before they are queued so that workers do not all queue behind one slow or rate-limited host while other
hosts wait. Every failure, expected or not, comes back as a FeedError value for its own job: one feed
never stops the others. No database code here; the pipeline reads feed state before and writes after.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx

from monitor.errors import FeedError, FetchError
from monitor.fetch import FetchResult, HostLimiter, fetch, release_idle_connections

DEFAULT_WORKERS = 64  # threads mostly wait on the network; the per-host limit keeps it polite
DEFAULT_PER_HOST = 4
DEFAULT_WINDOW = 128  # fetches started and not yet handed over (see iter_fetch)

FetchOutcome = FetchResult | FeedError


@dataclass(frozen=True, slots=True)
class FetchJob:
    """One conditional GET: the feed's URL and the validators stored from its last successful fetch."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


def interleave_by_host(jobs: Sequence[FetchJob]) -> list[int]:
    """Job indexes ordered round-robin across hosts (a, b, c, a, b, a, ...), each host's jobs in order."""
    by_host: dict[str, list[int]] = defaultdict(list)
    for index, job in enumerate(jobs):
        by_host[HostLimiter.host_of(job.url)].append(index)
    rounds = itertools.zip_longest(*by_host.values())
    return [index for round_ in rounds for index in round_ if index is not None]


def _fetch_job(client: httpx.Client, job: FetchJob, limiter: HostLimiter, allow_private: bool | None) -> FetchOutcome:
    try:
        with limiter.hold(job.url):
            return fetch(client, job.url, etag=job.etag, last_modified=job.last_modified, allow_private=allow_private)
    except FeedError as exc:
        return exc
    except Exception as exc:  # a bug or library surprise must not cost the other feeds their poll
        return FetchError(f"unexpected error fetching {job.url}: {type(exc).__name__}: {exc}")


def iter_fetch(
    client: httpx.Client,
    jobs: Sequence[FetchJob],
    *,
    workers: int = DEFAULT_WORKERS,
    per_host: int = DEFAULT_PER_HOST,
    allow_private: bool | None = None,
    window: int = DEFAULT_WINDOW,
) -> Generator[tuple[int, FetchOutcome], None, None]:
    """(job index, outcome) pairs in the order fetches finish, so parsing can start before the last fetch.

    At most `window` fetches are started and not yet handed over: a caller that stops to store what it
    has (a cold poll) is not sent every body at once (1,000 feeds of ~50 KB were all held in memory).
    """
    if not jobs:
        return
    limiter = HostLimiter(per_host)
    threads = max(1, min(workers, window, len(jobs)))
    order = iter(interleave_by_host(jobs))
    futures: dict[Future[FetchOutcome], int] = {}
    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch") as pool:

            def start(count: int) -> None:
                for index in itertools.islice(order, count):
                    futures[pool.submit(_fetch_job, client, jobs[index], limiter, allow_private)] = index

            start(max(1, window))
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        start(1)  # one handed over, one more started: at most `window` bodies wait for the caller
                        yield futures.pop(future), future.result()  # popped: no body is kept once handed over
            finally:  # the caller stopped early (closed this generator): fetches not started never start
                for future in futures:
                    future.cancel()
    finally:
        release_idle_connections(client)  # the next poll is minutes away: keep no sockets open till then


def fetch_all(
    client: httpx.Client,
    jobs: Sequence[FetchJob],
    *,
    workers: int = DEFAULT_WORKERS,
    per_host: int = DEFAULT_PER_HOST,
    allow_private: bool | None = None,
) -> list[FetchOutcome]:
    """Every job's outcome, in job order: a FetchResult (200 or 304) or the FeedError that stopped it.

    `allow_private=None` takes the client's default (see monitor.fetch.make_client).
    """
    outcomes: list[FetchOutcome | None] = [None] * len(jobs)
    for index, outcome in iter_fetch(client, jobs, workers=workers, per_host=per_host, allow_private=allow_private):
        outcomes[index] = outcome
    return [o if o is not None else FetchError(f"not fetched: {jobs[i].url}") for i, o in enumerate(outcomes)]
