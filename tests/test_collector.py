"""The garbage collector's setting for bulk work: raised inside a poll, restored after, never left frozen."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from monitor.collector import BULK_THRESHOLDS, rare_collections
from monitor.pipeline import poll
from tests.servers import FeedServer, rss
from tests.test_polling_states import ITEMS, make_poller


@pytest.fixture(autouse=True)
def default_collector() -> Iterator[None]:
    """Each test starts from the interpreter's default thresholds and nothing frozen."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    yield
    gc.set_threshold(*saved)


def test_inside_the_block_collections_are_rare_and_existing_objects_frozen() -> None:
    before = [object() for _ in range(3)]
    with rare_collections():
        assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_freeze_count() >= len(before)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_nested_blocks_restore_only_when_the_outer_one_ends() -> None:
    with rare_collections():
        with rare_collections():
            assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_threshold() == BULK_THRESHOLDS  # the outer block is still running
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_an_exception_still_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), rare_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_poll_runs_with_rare_collections_and_restores_them(server: FeedServer, tmp_path: Path) -> None:
    server.set("/feed", rss(ITEMS))
    poller = make_poller(tmp_path, server.url("/feed"))
    seen: list[tuple[int, int, int]] = []
    now = poller.clock.now

    def clock() -> datetime:
        seen.append(gc.get_threshold())
        return now

    poller.pipeline.clock = clock
    results = poll(poller.pipeline)
    assert [r.status for r in results] == ["baseline"]
    assert seen and set(seen) == {BULK_THRESHOLDS}
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_parse_worker_collects_rarely_for_its_whole_life() -> None:
    # in its own process: the worker set-up also lowers the process's priority
    code = "import gc; from monitor.parse_pool import _set_up_worker; _set_up_worker(); print(gc.get_threshold())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == str(BULK_THRESHOLDS)
