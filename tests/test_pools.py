"""fetch_pool and parse_pool against a real local server and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import FetchError, ParseError
from monitor.fetch import make_client
from monitor.fetch_pool import FetchJob, fetch_all, interleave_by_host, iter_fetch
from monitor.parse import ParsedFeed
from monitor.parse_pool import ParseJob, ParsePool, parse_job
from monitor.types import ParsedItem
from tests.servers import FeedServer, rss

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_fetch_all_returns_outcomes_in_job_order_with_errors_as_values(server: FeedServer) -> None:
    server.set("/a", rss([{"title": "a", "guid": "1"}]))
    server.set("/gone", b"", status=410, conditional=False)
    jobs = [FetchJob(server.url("/a")), FetchJob(server.url("/gone")), FetchJob("ftp://x/"), FetchJob(server.url("/a"))]
    with make_client(timeout=2, connect_timeout=1, allow_private=True) as client:
        first = fetch_all(client, jobs, workers=4)
        etag = getattr(first[0], "etag", None)
        again = fetch_all(client, [FetchJob(server.url("/a"), etag=etag)])
    assert [getattr(o, "status", None) for o in first] == [200, 410, None, 200]
    assert isinstance(first[1], FetchError) and isinstance(first[2], FetchError)
    assert getattr(again[0], "status", None) == 304


def test_fetch_all_refuses_private_addresses_by_default(server: FeedServer) -> None:
    server.set("/a", rss([]))
    with make_client(timeout=2, connect_timeout=1) as client:
        [outcome] = fetch_all(client, [FetchJob(server.url("/a"))])
    assert isinstance(outcome, FetchError) and server.hits("/a") == []


def test_per_host_limit_bounds_concurrency(server: FeedServer) -> None:
    server.set("/slow", rss([]), delay_s=0.2, conditional=False)
    jobs = [FetchJob(server.url("/slow"))] * 8
    with make_client(timeout=5, connect_timeout=1, allow_private=True) as client:
        started = time.monotonic()
        fetch_all(client, jobs, workers=8, per_host=2)
        limited = time.monotonic() - started
        started = time.monotonic()
        fetch_all(client, jobs, workers=8, per_host=8)
        free = time.monotonic() - started
    assert limited >= 0.75  # 8 requests of 0.2 s, 2 at a time
    assert free < limited


def test_fetches_wait_while_the_caller_holds_a_window_of_bodies(server: FeedServer) -> None:
    server.set("/a", rss([{"title": "a", "guid": "1"}]), conditional=False)
    jobs = [FetchJob(server.url("/a"))] * 8
    handed = 0
    with make_client(timeout=2, connect_timeout=1, allow_private=True) as client:
        for _index, outcome in iter_fetch(client, jobs, workers=8, window=2):
            assert getattr(outcome, "status", None) == 200
            handed += 1
            time.sleep(0.1)  # a caller busy storing: threads free to run ahead would fetch everything now
            assert len(server.hits("/a")) <= handed + 2
    assert handed == 8 and len(server.hits("/a")) == 8


def test_jobs_are_interleaved_by_host() -> None:
    jobs = [FetchJob(u) for u in ["http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://c/1", "http://b/2"]]
    assert interleave_by_host(jobs) == [0, 3, 4, 1, 5, 2]


def _bodies(n: int) -> list[ParseJob]:
    return [ParseJob(rss([{"title": f"t{i}", "guid": f"g{i}"}]).encode(), f"https://x.example/{i}") for i in range(n)]


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "processes"])
def test_parse_pool_keeps_order_and_turns_failures_into_parse_errors(workers: int) -> None:
    jobs = _bodies(10)
    jobs[3] = ParseJob(b"<html><body>not a feed", "https://x.example/3")
    with ParsePool(workers, min_batch=2) as pool:
        outcomes = pool.parse_all(jobs, NOW)
        single = pool.submit(jobs[5], NOW).result(timeout=30)
    assert isinstance(outcomes[3], ParseError)
    titles = [o.items[0].title for o in outcomes if isinstance(o, ParsedFeed)]
    assert titles == [f"t{i}" for i in range(10) if i != 3]
    assert isinstance(single, ParsedFeed) and single.items[0].guid == "g5"


def test_a_worker_does_not_analyse_items_the_feed_has_stored_already() -> None:
    body = rss([
        {"title": "Northwind Biologics signs manufacturing agreement with Arcadia Therapeutics", "guid": "old"},
        {"title": "Halcyon CDMO breaks ground on fill-finish plant in Raleigh", "guid": "new"},
    ]).encode()  # fmt: skip
    job = ParseJob(body, "https://x.example/feed", classify_with=(), known_guids=frozenset({"old"}))
    parsed = parse_job(job, NOW)
    assert isinstance(parsed, ParsedFeed)
    assert [item.guid for item in parsed.items] == ["old", "new"]  # still parsed: storing decides
    old, new = parsed.classifications
    assert old is None and parsed.fingerprints[0] is None and parsed.links[0] is None
    assert new is not None and new.labels == ("plant_milestone",) and parsed.fingerprints[1] is not None
    everything = parse_job(ParseJob(body, "https://x.example/feed", classify_with=()), NOW)
    assert isinstance(everything, ParsedFeed)
    labels = [c.labels if c is not None else None for c in everything.classifications]
    assert labels == [("cdmo_contract",), ("plant_milestone",)]


def test_a_worker_killed_mid_poll_loses_no_feed(caplog: pytest.LogCaptureFixture) -> None:
    """A parse worker dies (OOM killer, SIGKILL) with jobs running and queued: every job still gets its
    parsed feed (in-process from then on), none an error; the pool is rebuilt for the next poll."""
    import os
    import signal

    items = [
        {"title": f"Halcyon CDMO breaks ground on plant number {n} in Raleigh", "guid": f"g{n}"} for n in range(150)
    ]
    jobs = [ParseJob(rss(items).encode(), f"https://x.example/{i}", classify_with=()) for i in range(24)]
    with ParsePool(2, min_batch=2) as pool:
        futures = [pool.submit(job, NOW) for job in jobs]
        processes = pool._pool()._processes  # the executor's worker processes (pid -> Process)
        deadline = time.monotonic() + 30
        while not processes and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(next(iter(processes)), signal.SIGKILL)
        outcomes = [future.result(timeout=120) for future in futures]
        again = pool.submit(jobs[0], NOW).result(timeout=120)
    assert [type(o).__name__ for o in outcomes] == ["ParsedFeed"] * len(jobs)
    assert all(len(o.items) == 150 for o in outcomes if isinstance(o, ParsedFeed))
    assert isinstance(again, ParsedFeed)
    assert "a parse worker failed" in caplog.text


_MAIN_SCRIPT = """
import os, sys
with open(os.environ["RUNS_LOG"], "a") as log:
    log.write(__name__ + "\\n")  # the parent writes __main__; a child re-running this script, __mp_main__

if __name__ == "__main__":
    from datetime import UTC, datetime
    from monitor.parse_pool import ParseJob, ParsePool
    body = b'<rss version="2.0"><channel><title>t</title><item><title>one</title><guid>g</guid></item></channel></rss>'
    with ParsePool(2, min_batch=2) as pool:
        outcomes = pool.parse_all([ParseJob(body, f"https://x.example/{i}") for i in range(6)], datetime.now(UTC))
    print(",".join(o.items[0].title for o in outcomes))
"""


def test_parse_workers_do_not_run_the_parents_main_script_again(tmp_path: Path) -> None:
    """The `monitor` console script imports the whole application; a worker needs only the parse pool's
    modules, so it must not re-run the parent's main script, as "spawn" otherwise does in every child."""
    script, runs = tmp_path / "main_script.py", tmp_path / "runs.log"
    script.write_text(_MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RUNS_LOG": str(runs)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ",".join(["one"] * 6)  # parsed in the workers all the same
    assert runs.read_text().split() == ["__main__"]


def test_an_item_whose_analysis_raises_is_stored_unflagged_and_its_feed_survives(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug on one odd item (injected here: fingerprinting it raises) must not turn its feed into an error."""
    import monitor.parse_pool as parse_pool

    real = parse_pool.fingerprint

    def failing_on_odd_items(item: ParsedItem, *args: object, **kwargs: object) -> object:
        if "odd" in item.title:
            raise OverflowError("cannot convert float infinity to integer")
        return real(item, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_pool, "fingerprint", failing_on_odd_items)
    body = rss([
        {"title": "Halcyon CDMO signs odd manufacturing agreement with Quorra Pharma", "guid": "odd"},
        {"title": "Halcyon CDMO breaks ground on fill-finish plant in Raleigh", "guid": "fine"},
    ]).encode()  # fmt: skip
    parsed = parse_job(ParseJob(body, "https://x.example/feed", classify_with=()), NOW)
    assert isinstance(parsed, ParsedFeed), parsed
    odd, fine = parsed.classifications
    assert odd is not None and odd.labels == () and parsed.fingerprints[0] is None
    assert fine is not None and fine.labels == ("plant_milestone",) and parsed.fingerprints[1] is not None
    assert "cannot classify item 'odd' of https://x.example/feed" in caplog.text


def test_a_text_seen_before_is_analysed_as_if_new_for_its_own_link_time_and_vocabulary(tmp_path: Path) -> None:
    """The worker's memo of recent texts (syndicated copies) gives what analysing the copy afresh gives."""
    import monitor.parse_pool as parse_pool
    from monitor.classify import default_vocabulary, load_vocabulary

    title = "ZetaBio signs manufacturing agreement with Quorra Pharma for its antibody"
    summary = "ZetaBio will supply Quorra's antibody from its Incheon plant, the companies said on Monday."
    extra = tmp_path / "mine.yaml"
    extra.write_text("companies:\n  - {name: Zeta Biomanufacturing, roles: [cdmo], aliases: [ZetaBio]}\n")
    known, plain = load_vocabulary([extra]), default_vocabulary()
    wire = ParsedItem("w-1", "https://wire.example/news/1", title, summary, datetime(2026, 5, 1, 9, tzinfo=UTC))
    copy = ParsedItem("c-1", "https://daily.example/zeta", title, summary, datetime(2026, 5, 1, 12, tzinfo=UTC))

    parse_pool.analyse(wire, NOW, known)
    remembered = parse_pool.analyse(copy, NOW, known)
    other_vocabulary = parse_pool.analyse(copy, NOW, plain)
    parse_pool._same_text.clear()
    afresh = parse_pool.analyse(copy, NOW, known)

    assert remembered == afresh
    classification, fingerprint, link = remembered
    assert classification.entities.cdmo == "Zeta Biomanufacturing" and fingerprint is not None
    assert (fingerprint.url, fingerprint.at, link) == ("https://daily.example/zeta", copy.published, link)
    assert fingerprint.keys == afresh[1].keys and fingerprint.stored == afresh[1].stored  # type: ignore[union-attr]
    assert other_vocabulary[0].entities.cdmo != "Zeta Biomanufacturing"


def test_equal_unflagged_classifications_travel_as_one_object_and_flagged_ones_apart() -> None:
    """Unflagged items with the same entities share one classification, so a parsed feed pickles it once."""
    import pickle

    import monitor.parse_pool as parse_pool
    from monitor.classify import classify, default_vocabulary

    vocabulary = default_vocabulary()
    texts = [
        ("Quorra Pharma posts quarterly revenue of $40 million", "Sales rose on its antibody."),
        ("Quorra Pharma reports full-year revenue of $40 million", "The results beat guidance."),
        ("Zeta Bio names new chief medical officer", ""),
        ("Lonza signs manufacturing agreement with Quorra Pharma", "Lonza will make the antibody in Visp."),
        ("Lonza signs manufacturing agreement with Quorra Pharma", "Lonza will make the antibody in Visp!"),
    ]
    items = [ParsedItem(f"g-{n}", f"https://news.example/{n}", title, summary, NOW) for n, (title, summary) in
             enumerate(texts)]  # fmt: skip
    parse_pool._shared_unflagged.clear()
    results = [parse_pool.analyse(item, NOW, vocabulary)[0] for item in items]

    assert results == [classify(title, summary, vocabulary) for title, summary in texts]  # same values as ever
    first, second, other, deal, deal_again = results
    assert not first.flagged and first.entities.value == second.entities.value
    assert first is second  # same value: one object
    assert other is not first  # another value: its own
    assert deal.flagged and deal == deal_again and deal is not deal_again  # flagged ones keep their own
    back = pickle.loads(pickle.dumps(results))
    assert back[0] is back[1] and back[0] == first


def test_the_pool_takes_one_worker_per_core_up_to_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond two workers a poll waits on its one storing process; each worker costs ~40 MiB."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    assert ParsePool().workers == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert ParsePool().workers == 1
    assert ParsePool(workers=6).workers == 6  # asked for explicitly
