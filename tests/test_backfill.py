"""Backfill through the real pipeline: paging a local server, importing files, resuming, rerunning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from monitor import store
from monitor.app import build_pipeline
from monitor.backfill import run_backfill
from monitor.digest import make_backfill_digests
from monitor.pipeline import Pipeline, sync_config
from monitor.rules import AlertRule
from monitor.settings import Settings
from monitor.tables import Alert, BackfillState, Item, Story
from monitor.types import BackfillSpec, FeedSpec
from tests.servers import FeedServer, rss

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULE = AlertRule(name="all", events=("cdmo_contract", "plant_milestone"), channel="#cdmo")


def entry(n: int, days_ago: int, flagged: bool = False) -> dict[str, str]:
    when = NOW - timedelta(days=days_ago)
    title = (
        f"Lonza signs manufacturing agreement with Client{n} Bio for antibody supply"
        if flagged
        else f"Company{n} names new chief financial officer"
    )
    return {
        "title": title,
        "guid": f"item-{n}",
        "link": f"https://news.example.com/a/{n}",
        "description": "A short lede.",
        "pubDate": when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


def atom_page(entries: list[dict[str, str]], prev_archive: str | None) -> str:
    links = f'<link rel="prev-archive" href="{prev_archive}"/>' if prev_archive else ""
    body = "".join(
        f'<entry><id>{e["guid"]}</id><title>{e["title"]}</title><link href="{e["link"]}"/>'
        f"<updated>{datetime.strptime(e['pubDate'] + ' +0000', '%a, %d %b %Y %H:%M:%S GMT %z').isoformat()}</updated>"
        "</entry>"
        for e in entries
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{links}{body}</feed>'


def wordpress(entries: list[dict[str, str]]) -> str:
    return rss(entries).replace("<channel>", "<channel><generator>https://wordpress.org/?v=6.6</generator>", 1)


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    settings = Settings(db=str(tmp_path / "monitor.db"), allow_private_networks=True)
    return build_pipeline(settings, [RULE], clock=lambda: NOW)


def stored(pipeline: Pipeline) -> int:
    with store.transaction(pipeline.engine) as session:
        return int(session.exec(select(func.count()).select_from(Item)).one())


def run(pipeline: Pipeline, specs: list[FeedSpec], **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"since": None, "until": None, "notify": "none", "source": None}
    options.update(kwargs)
    sync_config(pipeline, specs)
    return run_backfill(pipeline, specs, progress=lambda _d, _n: None, **options)  # type: ignore[arg-type]


def test_rfc5005_archive_paging_until_since(server: FeedServer, pipeline: Pipeline) -> None:
    server.set(
        "/feed", atom_page([entry(i, i) for i in range(0, 5)], "/archive/1"), content_type="application/atom+xml"
    )
    server.set("/archive/1", atom_page([entry(i, i) for i in range(5, 10)], "/archive/2"))
    server.set("/archive/2", atom_page([entry(i, i) for i in range(10, 15)], "/archive/3"))
    server.set("/archive/3", atom_page([entry(i, i) for i in range(15, 20)], None))
    spec = FeedSpec(name="atom", url=server.url("/feed"), interval=timedelta(minutes=30))
    summary = run(pipeline, [spec], since=NOW - timedelta(days=12, hours=1))
    assert stored(pipeline) == 13  # items 0..12: within twelve days
    assert server.hits("/archive/3") == []  # the page older than --since is not fetched
    assert summary.pages == 3 and summary.errors == []


def test_wordpress_paging_stops_at_404_and_rerun_adds_nothing(server: FeedServer, pipeline: Pipeline) -> None:
    server.set("/feed/", wordpress([entry(i, i, flagged=i == 3) for i in range(0, 10)]))
    server.set("/feed/?paged=2", wordpress([entry(i, i) for i in range(10, 20)]))
    server.set("/feed/?paged=3", wordpress([entry(i, i, flagged=i == 25) for i in range(20, 30)]))
    spec = FeedSpec(name="wp", url=server.url("/feed/"), interval=timedelta(minutes=30))
    first = run(pipeline, [spec])
    assert (stored(pipeline), first.flagged, first.alerts) == (30, 2, 0)  # --notify none: no alerts
    assert len(server.hits("/feed/?paged=4")) == 1  # 404: the end
    second = run(pipeline, [spec], restart=True)
    assert (second.stored, second.alerts) == (0, 0)
    assert stored(pipeline) == 30


def test_template_paging_with_offsets(server: FeedServer, pipeline: Pipeline) -> None:
    server.set("/news.rss", rss([entry(i, i) for i in range(0, 3)]))
    server.set("/news.rss?start=3", rss([entry(i, i) for i in range(3, 6)]))
    server.set("/news.rss?start=6", rss([entry(i, i) for i in range(6, 9)]))
    template = BackfillSpec(url=server.url("/news.rss?start={offset}"), first=3, step=3, max_pages=2)
    spec = FeedSpec(name="tpl", url=server.url("/news.rss"), interval=timedelta(minutes=30), backfill=template)
    run(pipeline, [spec])
    assert stored(pipeline) == 9


def test_interrupted_backfill_resumes_at_the_next_page(server: FeedServer, pipeline: Pipeline) -> None:
    server.set("/feed", atom_page([entry(i, i) for i in range(0, 5)], "/archive/1"))
    server.set("/archive/1", atom_page([entry(i, i) for i in range(5, 10)], "/archive/2"))
    server.set("/archive/2", b"busy", status=503, conditional=False)
    spec = FeedSpec(name="atom", url=server.url("/feed"), interval=timedelta(minutes=30))
    first = run(pipeline, [spec])
    assert stored(pipeline) == 10 and first.errors and "503" in first.errors[0]
    with store.transaction(pipeline.engine) as session:
        state = session.get(BackfillState, "atom")
        assert state is not None and state.next_url == server.url("/archive/2") and not state.done
    server.set("/archive/2", atom_page([entry(i, i) for i in range(10, 15)], None))
    second = run(pipeline, [spec])
    assert stored(pipeline) == 15 and second.errors == []
    assert len(server.hits("/feed")) == 1 and len(server.hits("/archive/1")) == 1  # not fetched again


def test_one_broken_feed_does_not_stop_the_others(server: FeedServer, pipeline: Pipeline) -> None:
    server.set("/ok", rss([entry(1, 1)]))
    broken = FeedSpec(name="broken", url=server.url("/missing"), interval=timedelta(minutes=30))
    fine = FeedSpec(name="fine", url=server.url("/ok"), interval=timedelta(minutes=30))
    summary = run(pipeline, [broken, fine])
    assert stored(pipeline) == 1 and len(summary.errors) == 1 and "broken" in summary.errors[0]


def test_import_json_lines_and_feed_files_in_published_order(tmp_path: Path, pipeline: Pipeline) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    records = [
        {"id": "j1", "title": "Samsung Biologics signs $120 million CMO contract with Acme Pharma", "summary": "",
         "url": "https://a.example/1", "published": "2026-10-02"},
        {"id": "j2", "title": "Acme Pharma posts quarterly loss", "published": "2026-10-01T08:00:00+09:00"},
        {"id": "j3", "title": "Old story", "published": "2025-01-01"},
    ]  # fmt: skip
    (folder / "items.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    refile = {
        "title": "(LEAD) Samsung Biologics signs $120 million CMO contract with Acme Pharma",
        "guid": "wire-1",
        "link": "https://wire.example/1",
        "pubDate": "Sat, 03 Oct 2026 09:00:00 GMT",
    }
    # feed.xml is read before items.jsonl, but its re-file is newer: the story must start with j1
    (folder / "feed.xml").write_text(rss([refile, entry(7, 3)]), encoding="utf-8")
    summary = run(pipeline, [], source=folder, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert summary.stored == 4 and summary.items_seen == 4  # the 2025 item is before --since
    with store.transaction(pipeline.engine) as session:
        items = {i.guid: i for i in session.exec(select(Item))}
        story = session.get(Story, items["j1"].story_id)
        assert story is not None and items["wire-1"].story_id == story.id
        assert story.first_item_id == items["j1"].id and story.item_count == 2
    again = run(pipeline, [], source=folder, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert again.stored == 0


def test_bad_json_line_names_file_and_line(tmp_path: Path, pipeline: Pipeline) -> None:
    from monitor.errors import ConfigError

    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "title": "x"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.jsonl:2: not JSON"):
        run(pipeline, [], source=path)


def test_notify_digest_makes_one_summary_per_rule(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "items.jsonl"
    lines = [
        json.dumps({"id": f"d{i}", "title": f"Lonza signs manufacturing agreement with Client{i} Bio",
                    "url": f"https://d.example/{i}", "published": "2026-11-01"})
        for i in range(3)
    ]  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
    summary = run(pipeline, [], source=path, notify="digest")
    assert summary.alerts >= 1
    assert make_backfill_digests(pipeline.engine, [RULE], NOW) == 1
    with store.transaction(pipeline.engine) as session:
        kinds = sorted((a.kind, a.status) for a in session.exec(select(Alert)))
    assert ("digest", "pending") in kinds
    assert all(status == "digested" for kind, status in kinds if kind == "new")
