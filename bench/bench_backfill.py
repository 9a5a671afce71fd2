"""Benchmark: `monitor backfill --from items.jsonl` with 100,000 items (issue 6 target: within 60 s).

Generates synthetic but realistic JSON-lines items (biopharma headlines and ledes: CDMO contracts,
plant milestones, hard negatives and ordinary news, with wire re-files of the same events), then runs
the real import path (read, classify, group into stories, store in a fresh SQLite file) and prints
items per second, wall time and peak memory. Usage: python bench/bench_backfill.py [--items N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import monitor
from monitor.app import build_pipeline
from monitor.backfill import run_backfill
from monitor.rules import AlertRule
from monitor.settings import Settings

CDMOS = ["Lonza", "Samsung Biologics", "WuXi Biologics", "Fujifilm Diosynth", "Catalent", "AGC Biologics",
         "Lotte Biologics", "Celltrion", "Rentschler", "Siegfried", "Recipharm", "Abzena", "Patheon"]  # fmt: skip
CLIENTS = [f"{a}{b}" for a in ("Nova", "Astra", "Vera", "Heli", "Quanta", "Orbi", "Lumi", "Zeta")
           for b in ("gen", "thera", "bio", "pharm", "cure", "vax")]  # fmt: skip
SITES = ["Visp", "Incheon", "Songdo", "Wuxi", "Holly Springs", "Bloomington", "Syracuse", "Hillerod", "Laupheim"]
MODALITIES = ["antibody", "ADC", "mRNA vaccine", "cell therapy", "gene therapy", "biosimilar", "peptide"]
OUTLETS = ["fiercepharma.com", "biopharmadive.com", "koreabiomed.com", "prnewswire.com", "endpoints.news"]
GENERIC = [
    "{c} reports third-quarter revenue up {n}%",
    "{c} names new chief executive officer",
    "{c} shares fall after trial readout",
    "FDA approves {c}'s {m} for rare disease",
    "{c} raises ${n} million in series B financing",
    "{c} presents data at annual oncology meeting",
    "Analysts see {m} market growing {n}% a year",
]


LEDE_OPENERS = ["Under the agreement,", "According to the company,", "In a statement on Monday,",
                "The companies said", "Financial details aside,", "As part of the deal,", "Sources said"]  # fmt: skip
LEDE_BODIES = [
    "{a} will {verb} {b}'s {m} at its {site} site from {year}.",
    "the {site} facility of {a} is expected to handle {b}'s late-stage {m} programme.",
    "{a} said the work for {b} covers process development and supply through {year}.",
    "{b} expects {a} to start technology transfer for its {m} in {year}.",
    "the deal lifts {a}'s order backlog to about ${n}0 million, it said.",
]
VERBS = ["manufacture", "produce", "supply", "fill and finish", "scale up"]
OTHER_LEDES = [
    "{a} said revenue grew {n}% as sales of its lead product rose in the United States.",
    "Shares of {a} moved {n}% after the announcement, with analysts split on the outlook.",
    "{a} plans to present the data at a medical meeting in {year}, its chief executive said.",
    "The company, based in {site}, did not give further details on {m} timelines.",
    "{a} has {n} programmes in development, according to its latest filing.",
]


def make_items(count: int, seed: int = 7) -> list[dict[str, str]]:
    """Items with varied wording; about one in five is CDMO news, and a fifth of those are re-filed."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items: list[dict[str, str]] = []
    while len(items) < count:
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 600))
        cdmo, client, site = rng.choice(CDMOS), rng.choice(CLIENTS), rng.choice(SITES)
        modality, n, year = rng.choice(MODALITIES), rng.randrange(2, 900), rng.randrange(2025, 2030)
        fields = {"a": cdmo, "b": client, "m": modality, "site": site, "year": year, "n": n, "verb": rng.choice(VERBS)}
        kind = rng.random()
        if kind < 0.12:
            title = f"{cdmo} signs ${n} million manufacturing agreement with {client} for {modality}"
            lede = f"{rng.choice(LEDE_OPENERS)} {rng.choice(LEDE_BODIES).format(**fields)}"
        elif kind < 0.22:
            title = f"{cdmo} breaks ground on ${n} million {modality} plant in {site}"
            lede = f"Construction in {site} is due to finish in {year}; {rng.choice(LEDE_BODIES).format(**fields)}"
        else:
            other = rng.choice(CLIENTS + CDMOS)
            title = rng.choice(GENERIC).format(c=other, n=n, m=modality)
            lede = rng.choice(OTHER_LEDES).format(**{**fields, "a": other})
        copies = 1 + (rng.random() < 0.2) * rng.randrange(1, 4)  # wire syndication and re-files
        for copy in range(copies):
            outlet = rng.choice(OUTLETS)
            items.append({
                "id": f"bench-{len(items)}",
                "title": title if copy == 0 else f"{title} - {outlet}",
                "summary": lede,
                "url": f"https://{outlet}/news/{len(items)}",
                "source": outlet,
                "published": (when + timedelta(hours=copy * 3)).isoformat(),
            })  # fmt: skip
    return items[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    print(f"monitor modules: {monitor.RUNS_AS}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "items.jsonl"
        source.write_text("\n".join(json.dumps(i) for i in make_items(args.items)) + "\n", encoding="utf-8")
        rule = AlertRule(name="all", events=("cdmo_contract", "plant_milestone"), channel="#bench")
        pipeline = build_pipeline(Settings(db=str(Path(tmp) / "bench.db")), [rule])
        started = time.perf_counter()
        summary = run_backfill(
            pipeline, [], since=None, until=None, notify="none", source=source, progress=lambda _d, _n: None
        )
        elapsed = time.perf_counter() - started
        again_started = time.perf_counter()
        rerun = run_backfill(
            pipeline, [], since=None, until=None, notify="none", source=source, progress=lambda _d, _n: None
        )
        rerun_elapsed = time.perf_counter() - again_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"items: {args.items:,}  stored: {summary.stored:,}  flagged: {summary.flagged:,}  "
          f"stories: {summary.stories:,}")  # fmt: skip
    print(f"import + classify + group + store: {elapsed:.1f} s  ({args.items / elapsed:,.0f} items/s)")
    print(f"rerun (nothing new): {rerun_elapsed:.1f} s, stored {rerun.stored}")
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")
    print(f"target: 100,000 items within 60 s -> {'met' if elapsed * 100_000 / args.items <= 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
