"""Benchmark: classifier throughput (items per second, one core) on title + summary.

Why: the monitor classifies every new feed item inline, and a backfill of months of feeds must not
take minutes. Target: >= 5,000 items/s. Reads the developer corpus at run time (never copied into
the repository): `python bench/bench_classify.py [PATH] [--repeat N]`, PATH defaulting to
../shared/corpus/dev.jsonl relative to the repository root.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import monitor  # noqa: E402
from monitor.classify import classify, default_vocabulary  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev.jsonl"


def load_items(path: Path) -> list[tuple[str, str]]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                items.append((row.get("title") or "", row.get("summary") or ""))
    return items


def run(items: list[tuple[str, str]], repeat: int) -> tuple[float, float, float]:
    """Items per second of CPU time: over all passes, in the median pass and in the fastest pass.

    CPU time of this process only is the "one core" figure. On a shared virtual machine the speed of a
    core drifts by tens of percent from one second to the next, so the median and fastest passes are
    shown beside the overall rate. The vocabulary is loaded before timing starts.
    """
    vocabulary = default_vocabulary()
    for title, summary in items[:20]:  # warm-up
        classify(title, summary, vocabulary)
    passes = []
    for _ in range(repeat):
        cpu_start = time.process_time()
        for title, summary in items:
            classify(title, summary, vocabulary)
        passes.append(time.process_time() - cpu_start)
    rates = sorted(len(items) / seconds for seconds in passes)
    return len(items) * repeat / sum(passes), statistics.median(rates), rates[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"monitor modules: {monitor.RUNS_AS}", flush=True)
    items = load_items(args.path)
    overall, median, fastest = run(items, args.repeat)
    print(
        f"{len(items)} items x {args.repeat} passes, title + summary, items/s of CPU time on one core: "
        f"{overall:,.0f} overall, {median:,.0f} in the median pass, {fastest:,.0f} in the fastest; target >= 5,000"
    )


if __name__ == "__main__":
    main()
