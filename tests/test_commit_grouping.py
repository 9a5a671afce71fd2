"""How `poll` groups parsed feeds into transactions (`pipeline._next_batch`), with real futures.

Feeds are stored in fetch order; those that finish parsing within COMMIT_EVERY of the last commit share
one transaction (one fsync), at most MAX_FEEDS_PER_TRANSACTION of them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future

from monitor.errors import ParseError
from monitor.fetch import FetchResult
from monitor.parse_pool import ParseOutcome
from monitor.pipeline import MAX_FEEDS_PER_TRANSACTION, _next_batch, _Parsing


def _entry(index: int, pending: Future[ParseOutcome] | ParseOutcome) -> _Parsing:
    fetched = FetchResult(f"https://x.example/{index}", f"https://x.example/{index}", 200, b"<rss/>")
    return (index, fetched, f"hash{index}", pending)


def _parsed(index: int) -> ParseOutcome:
    return ParseError(f"feed {index}")  # any outcome will do: the batching never looks inside


def _done(index: int) -> Future[ParseOutcome]:
    future: Future[ParseOutcome] = Future()
    future.set_result(_parsed(index))
    return future


def _indexes(batch: list[tuple[int, FetchResult, str, ParseOutcome]]) -> list[int]:
    return [index for index, *_ in batch]


def test_nothing_is_taken_while_the_front_feed_is_still_parsing() -> None:
    parsing = deque([_entry(0, Future()), _entry(1, _done(1))])
    assert _next_batch(parsing, wait=False, gather_until=0.0) == []
    assert len(parsing) == 2


def test_parsed_feeds_wait_for_the_next_commit_slot_unless_a_full_batch_is_ready() -> None:
    parsing = deque([_entry(i, _done(i)) for i in range(3)] + [_entry(3, Future())])
    later = time.monotonic() + 60
    assert _next_batch(parsing, wait=False, gather_until=later) == []  # too soon after the last commit
    batch = _next_batch(parsing, wait=False, gather_until=time.monotonic() - 1)
    assert _indexes(batch) == [0, 1, 2]  # in fetch order, stopping at the one still parsing
    assert [entry[0] for entry in parsing] == [3]
    assert isinstance(batch[0][3], ParseError) and str(batch[0][3]) == "feed 0"


def test_a_full_batch_is_stored_at_once_and_the_rest_stays_queued() -> None:
    count = MAX_FEEDS_PER_TRANSACTION + 7
    parsing = deque([_entry(i, _done(i)) for i in range(count)])
    batch = _next_batch(parsing, wait=False, gather_until=time.monotonic() + 60)
    assert _indexes(batch) == list(range(MAX_FEEDS_PER_TRANSACTION))
    assert [entry[0] for entry in parsing] == list(range(MAX_FEEDS_PER_TRANSACTION, count))


def test_inline_parses_count_as_parsed() -> None:
    parsing = deque([_entry(0, _parsed(0)), _entry(1, _parsed(1))])
    assert _indexes(_next_batch(parsing, wait=False, gather_until=0.0)) == [0, 1]


def test_waiting_gathers_feeds_that_finish_before_the_deadline_and_no_later() -> None:
    first: Future[ParseOutcome] = Future()
    soon: Future[ParseOutcome] = Future()
    late: Future[ParseOutcome] = Future()
    parsing = deque([_entry(0, first), _entry(1, soon), _entry(2, late)])
    timers = [
        threading.Timer(0.05, first.set_result, [_parsed(0)]),
        threading.Timer(0.15, soon.set_result, [_parsed(1)]),
        threading.Timer(1.5, late.set_result, [_parsed(2)]),
    ]
    for timer in timers:
        timer.start()
    try:
        started = time.monotonic()
        batch = _next_batch(parsing, wait=True, gather_until=started + 0.6)
        took = time.monotonic() - started
        assert _indexes(batch) == [0, 1]
        assert 0.55 <= took < 1.4  # it waited for the gathering window, not for the late feed
        assert _indexes(_next_batch(parsing, wait=True, gather_until=time.monotonic())) == [2]
    finally:
        for timer in timers:
            timer.cancel()


def test_waiting_past_the_deadline_takes_the_front_feed_alone() -> None:
    parsing = deque([_entry(0, _done(0)), _entry(1, Future())])
    started = time.monotonic()
    batch = _next_batch(parsing, wait=True, gather_until=started - 1)
    assert _indexes(batch) == [0]
    assert time.monotonic() - started < 0.5
