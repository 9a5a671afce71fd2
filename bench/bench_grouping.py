"""Benchmark: time to assign a story to a new item with N items already stored in SQLite.

Why: grouping runs once per new item, and the archive only grows; the cost per item must stay flat
(target <= 2 ms at 1,000,000 stored items). The archive is synthetic: a few thousand distinct
generated headlines (companies, clients, amounts, kinds of event drawn from skewed pools) are
fingerprinted for real, and the N stored items reuse them with their own link and a time spread over
a year, so that common companies produce long key lists, as in real feeds. The archive is written
with sqlite3 `executemany` (index built after the load) into the tables of `monitor.story_index`;
lookups then go through `SqlStoryIndex` and `assign_story` exactly as in the pipeline.

Run: `python bench/bench_grouping.py` (1,000,000 items) or `--items 50000` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, SQLModel, create_engine

import monitor
from monitor.classify import classify
from monitor.grouping import StoryFingerprint, assign_story, fingerprint, index_keys
from monitor.story_index import SqlStoryIndex, StoryKey
from monitor.types import ParsedItem

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 365
_SYLLABLES = ["sam", "lon", "cel", "gen", "vax", "bio", "tro", "mer", "nov", "zen", "ark", "pha", "lyn", "tek"]
_TEMPLATES = [
    "{cdmo} signs {value} manufacturing deal with {client}",
    "{client} taps {cdmo} to make its {drug} antibody",
    "{cdmo} breaks ground on {value} plant in {site}",
    "{cdmo} to acquire {client} site in {site} for {value}",
    "{cdmo} completes acquisition of {client} plant in {site}",
    "{cdmo} opens fill-finish facility in {site}",
    "{cdmo} to close {site} plant, cut {jobs} jobs",
    "{cdmo} and {client} expand production pact for {drug}",
]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def base_fingerprints(count: int, seed: int = 7) -> list[StoryFingerprint]:
    """`count` distinct synthetic items, fingerprinted by the real code."""
    rng = random.Random(seed)
    cdmos = [_name(rng) + " Biologics" for _ in range(300)]
    clients = [_name(rng) + " Pharma" for _ in range(2000)]
    sites = [_name(rng) + "ville" for _ in range(500)]
    out = []
    for n in range(count):
        fields = {
            "cdmo": cdmos[min(int(rng.paretovariate(1.2)) - 1, len(cdmos) - 1)],
            "client": rng.choice(clients),
            "site": rng.choice(sites),
            "drug": _name(rng).lower() + "mab",
            "value": f"${rng.randint(10, 2000)} million",
            "jobs": rng.randint(50, 900),
        }
        title = rng.choice(_TEMPLATES).format(**fields)
        summary = f"{fields['cdmo']} said on {rng.choice(['Monday', 'Tuesday'])} the agreement covers {fields['drug']}."
        item = ParsedItem(guid=str(n), url=f"https://news{n % 50}.example/{n}", title=title, summary=summary)
        out.append(fingerprint(item, classify(title, summary), START))
    return out


def build_archive(path: Path, items: int, bases: list[StoryFingerprint], seed: int = 11) -> float:
    """Write `items` stored items (fingerprints and keys) with raw executemany; seconds taken."""
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    rng = random.Random(seed)
    began = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
    for index in StoryKey.__table__.indexes:  # the story index's own definition, rebuilt after the load
        conn.execute(f"DROP INDEX IF EXISTS {index.name}")
    step = SPAN_DAYS * 86400 / items
    batch_fp: list[Row] = []
    batch_key: list[KeyRow] = []
    keys_of = {id(b): [k for k in index_keys(b) if not k.startswith(("u:", "s:"))] for b in bases}
    for item_id in range(1, items + 1):
        base = bases[rng.randrange(len(bases))]
        seen = (START + timedelta(seconds=item_id * step)).strftime("%Y-%m-%d %H:%M:%S.%f")
        data = base.to_dict()
        data["u"] = f"https://outlet{item_id % 400}.example/a/{item_id}"
        data["a"] = seen.replace(" ", "T") + "+00:00"
        batch_fp.append((item_id, item_id, seen, json.dumps(data, separators=(",", ":"))))
        keys = [*keys_of[id(base)], "u:" + data["u"]]
        batch_key.extend((k, item_id, item_id, seen) for k in keys)
        if len(batch_fp) >= 20000:
            _flush(conn, batch_fp, batch_key)
    _flush(conn, batch_fp, batch_key)
    conn.commit()
    conn.close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        for index in StoryKey.__table__.indexes:
            index.create(connection)
    engine.dispose()
    return time.perf_counter() - began


Row = tuple[int, int, str, str]
KeyRow = tuple[str, int, int, str]


def _flush(conn: sqlite3.Connection, fps: list[Row], keys: list[KeyRow]) -> None:
    conn.executemany("INSERT INTO item_fingerprint (item_id, story_id, seen_at, data) VALUES (?, ?, ?, ?)", fps)
    conn.executemany("INSERT INTO story_key (key, item_id, story_id, seen_at) VALUES (?, ?, ?, ?)", keys)
    fps.clear()
    keys.clear()


def measure(path: Path, queries: list[StoryFingerprint], stored: int) -> tuple[float, float, int]:
    """Median ms per assign_story, ms per add, and how many queries joined an existing story."""
    engine = create_engine(f"sqlite:///{path}")
    end = START + timedelta(days=SPAN_DAYS)
    assign_ms, add_ms, joined = [], [], 0
    with Session(engine) as session:
        index = SqlStoryIndex(session)
        for n, base in enumerate(queries):
            fp = StoryFingerprint.from_dict({**base.to_dict(), "a": (end + timedelta(minutes=n)).isoformat()})
            t0 = time.perf_counter()
            story, _ = assign_story(fp, index)
            t1 = time.perf_counter()
            index.add(story or stored + n + 1, stored + n + 1, fp)
            t2 = time.perf_counter()
            assign_ms.append((t1 - t0) * 1000)
            add_ms.append((t2 - t1) * 1000)
            joined += story is not None
        session.rollback()
    assign_ms.sort()
    add_ms.sort()
    return assign_ms[len(assign_ms) // 2], add_ms[len(add_ms) // 2], joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="stored items (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=2000, help="new items to assign")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    print(f"monitor modules: {monitor.RUNS_AS}", flush=True)
    t0 = time.perf_counter()
    bases = base_fingerprints(5000)
    fp_ms = (time.perf_counter() - t0) * 1000 / len(bases)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        build_s = build_archive(path, args.items, bases)
        size_mb = path.stat().st_size / 1e6
        queries = base_fingerprints(args.queries, seed=99)[: args.queries // 2] + bases[: args.queries // 2]
        assign, add, joined = measure(path, queries, args.items)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"stored items: {args.items:,} (synthetic, over {SPAN_DAYS} days); archive built in {build_s:.1f} s, "
        f"SQLite file {size_mb:,.0f} MB"
    )
    print(f"classify + fingerprint (synthetic items): {fp_ms:.3f} ms per item")
    print(
        f"assign_story via SqlStoryIndex: median {assign:.3f} ms per item ({len(queries)} queries, "
        f"{joined} joined a story)"
    )
    print(f"SqlStoryIndex.add: median {add:.3f} ms per item")
    print(f"peak memory (RSS): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
