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


def make_items(count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items: list[dict[str, str]] = []
    while len(items) < count:
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 600))
        cdmo, client, site = rng.choice(CDMOS), rng.choice(CLIENTS), rng.choice(SITES)
        modality, n = rng.choice(MODALITIES), rng.randrange(2, 900)
        kind = rng.random()
        if kind < 0.12:
            title = f"{cdmo} signs ${n} million manufacturing agreement with {client} for {modality}"
            lede = f"{client} selected {cdmo} as its contract manufacturer for commercial supply of its {modality}."
        elif kind < 0.22:
            title = f"{cdmo} breaks ground on ${n} million {modality} plant in {site}"
            lede = f"Construction of the {site} facility is due to complete in {2026 + n % 3}."
        else:
            title = rng.choice(GENERIC).format(c=rng.choice(CLIENTS + CDMOS), n=n, m=modality)
            lede = "The company said in a statement on its website that the results were in line with guidance."
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
