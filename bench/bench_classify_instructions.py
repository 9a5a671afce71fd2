"""Benchmark: CPU instructions per classified item (valgrind callgrind), a figure that does not drift.

Why: on a shared virtual machine the speed of a core drifts by 30-50 % from one minute to the next, so
items per second (bench_classify.py) cannot tell a 5 % change from noise. The number of instructions
the classifier executes per item is the same on every run: this script runs the corpus through
`classify` under callgrind once with no timed passes and once with `--passes` of them, and prints the
difference per item. Needs valgrind (`apt install valgrind`); about a minute per run.

Run: `python bench/bench_classify_instructions.py [PATH] [--passes N]` (PATH: the corpus, as for
bench_classify.py). It measures the `monitor` package next to this file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev.jsonl"


def classify_corpus(path: Path, passes: int) -> None:
    """Runs under callgrind: warm up (caches, regex lookaheads), then `passes` passes over the corpus."""
    sys.path.insert(0, str(REPO))
    from monitor.classify import classify, default_vocabulary

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [(row.get("title") or "", row.get("summary") or "") for row in rows]
    vocabulary = default_vocabulary()
    for title, summary in items:
        classify(title, summary, vocabulary)
    for _ in range(passes):
        for title, summary in items:
            classify(title, summary, vocabulary)


def instructions(path: Path, passes: int) -> int:
    """Instructions callgrind counts for the whole process classifying `passes` times."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                   str(path), "--inner", str(passes)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no summary line")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)  # the run under callgrind
    args = parser.parse_args()
    if args.inner is not None:
        classify_corpus(args.path, args.inner)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed; bench_classify.py measures items per second instead")
    sys.path.insert(0, str(REPO))
    import monitor

    print(f"monitor modules: {monitor.RUNS_AS}", flush=True)
    count = sum(1 for line in args.path.read_text(encoding="utf-8").splitlines() if line.strip())
    baseline, measured = instructions(args.path, 0), instructions(args.path, args.passes)
    per_item = (measured - baseline) / (args.passes * count)
    print(f"{count} items x {args.passes} passes, title + summary: {per_item:,.0f} instructions per item (callgrind)")


if __name__ == "__main__":
    main()
