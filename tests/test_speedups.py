"""The optional mypyc-compiled modules: chosen only while they match their sources, and identical in results.

setup.py compiles monitor/_speedups.COMPILED_MODULES when it can; monitor/_speedups.py decides at import
whether those compiled files may run. These tests check that decision on folders made here, that a stale
compiled file is never imported (a real subprocess on a copy of the package), and, where this install is
compiled, that compiled and pure-Python runs give the same results on the test suite's own examples.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import monitor
from monitor._speedups import (
    COMPILED_MODULES,
    INHERITED_ENV,
    MANIFEST,
    PURE_PYTHON_ENV,
    decide,
    source_digests,
    stale_modules,
)

PACKAGE = Path(monitor.__file__).parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _package_copy(tmp_path: Path) -> Path:
    """The package's sources (no compiled files) under tmp_path/monitor."""
    target = tmp_path / "monitor"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("*.so", "*.pyd", MANIFEST, "__pycache__"))
    return target


def test_stale_modules_are_those_whose_source_changed_or_that_the_manifest_lacks() -> None:
    manifest = {"classify": "aa", "money": "bb"}
    assert stale_modules(["classify", "money"], manifest, {"classify": "aa", "money": "bb"}) == []
    assert stale_modules(["classify", "money"], manifest, {"classify": "aa", "money": "cc"}) == ["money"]
    assert stale_modules(["classify", "text"], manifest, {"classify": "aa", "text": "dd"}) == ["text"]


def test_decide_on_a_package_with_and_without_compiled_files(tmp_path: Path) -> None:
    folder = _package_copy(tmp_path)
    assert decide(folder, {}) == ("pure Python", False)

    (folder / f"classify{SUFFIX}").write_bytes(b"")  # a compiled file with no manifest: not trusted
    runs_as, use_sources = decide(folder, {})
    assert use_sources and runs_as == "pure Python (stale compiled modules: classify)"

    (folder / MANIFEST).write_text(json.dumps(source_digests(folder)))
    assert decide(folder, {}) == ("compiled", False)
    assert decide(folder, {PURE_PYTHON_ENV: "1"}) == (f"pure Python ({PURE_PYTHON_ENV}=1)", True)

    with (folder / "classify.py").open("a") as source:
        source.write("\n# an edit after the build\n")
    assert decide(folder, {}) == ("pure Python (stale compiled modules: classify)", True)
    # a child process runs what its parent runs, whatever the files say now (pickles cross between them)
    assert decide(folder, {INHERITED_ENV: "compiled"}) == ("compiled", False)
    assert decide(folder, {INHERITED_ENV: "sources"}) == ("pure Python (as the parent process)", True)


def test_a_stale_compiled_module_is_never_imported(tmp_path: Path) -> None:
    """A copy of the package with an unloadable 'compiled' money module and an outdated manifest: the
    import must use every source (loading the fake file would raise), and warn with the rebuild command."""
    folder = _package_copy(tmp_path)
    for name in ("money", "classify"):
        (folder / f"{name}{SUFFIX}").write_bytes(b"not a shared library")
    digests = source_digests(folder)
    (folder / MANIFEST).write_text(json.dumps({**digests, "money": "0" * 64}))
    code = (
        "import monitor, monitor.classify, monitor.money\n"
        "print(monitor.RUNS_AS)\n"
        "print(monitor.classify.__file__)\n"
        "print(monitor.classify.classify('Lonza signs manufacturing agreement with Vertex', '').labels)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop(PURE_PYTHON_ENV, None)
    env.pop(INHERITED_ENV, None)  # this process's own choice is handed down; the copy must decide for itself
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs_as, classify_file, labels = done.stdout.splitlines()
    assert runs_as == "pure Python (stale compiled modules: money)"
    assert classify_file == str(folder / "classify.py")  # classify was fresh, but compiled modules go together
    assert labels == "('cdmo_contract',)"
    assert "pip install -e ." in done.stderr and "money" in done.stderr


_EXAMPLES_SCRIPT = """
from datetime import UTC, datetime
from pathlib import Path
import monitor
from monitor.classify import classify
from monitor.grouping import fingerprint
from monitor.parse import parse_feed, parse_feed_with_feedparser
from monitor.types import ParsedItem
from tests.test_classify import BOTH_LABELS, CONTRACTS, HARD_NEGATIVES, KOREAN, PLANTS
now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
print(monitor.RUNS_AS)
for n, (title, summary, _) in enumerate(CONTRACTS + KOREAN + PLANTS + BOTH_LABELS + HARD_NEGATIVES):
    labels = classify(title, summary)
    item = ParsedItem(f"g{n}", f"https://news.example.com/a/{n}?utm_source=x", title, summary, now, "example.com")
    print(repr(labels), repr(fingerprint(item, labels, now)) if labels.flagged else "-")
for path in sorted(Path("tests/data").glob("*.xml")):
    for parse in (parse_feed, parse_feed_with_feedparser):
        parsed = parse(path.read_bytes(), final_url="https://example.com/feed", headers={}, now=now)
        print(repr(parsed))
        for item in parsed.items:
            labels = classify(item.title, item.summary)
            print(repr(fingerprint(item, labels, now)) if labels.flagged else "-")
"""


@pytest.mark.skipif(monitor.RUNS_AS != "compiled", reason=f"this install runs {monitor.RUNS_AS}")
def test_compiled_and_pure_python_give_the_same_results() -> None:
    root = PACKAGE.parent
    runs = {}
    for pure in (False, True):
        env = {**os.environ, PURE_PYTHON_ENV: "1" if pure else "0"}
        env.pop(INHERITED_ENV, None)
        done = subprocess.run(
            [sys.executable, "-c", _EXAMPLES_SCRIPT], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        runs[pure] = done.stdout.splitlines()
    assert runs[False][0] == "compiled"
    assert runs[True][0] == f"pure Python ({PURE_PYTHON_ENV}=1)"
    assert len(runs[False]) > 100
    assert runs[False][1:] == runs[True][1:]


def test_every_compiled_module_is_a_module_of_the_package() -> None:
    assert all((PACKAGE / f"{name}.py").is_file() for name in COMPILED_MODULES)


def test_version_says_which_modules_run() -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"monitor {monitor.__version__}; modules: {monitor.RUNS_AS}"


_EDIT_WHILE_RUNNING_SCRIPT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
import monitor
from monitor.parse_pool import ParseJob, ParsePool
from tests.servers import rss
from tests.test_classify import CONTRACTS
print(monitor.RUNS_AS)
with open(Path(monitor.__file__).parent / "classify.py", "a") as source:  # a `git pull` while running
    source.write("# edited\\n")
items = [{"title": t, "guid": f"g{n}", "link": f"https://e.com/{n}"} for n, (t, _, _) in enumerate(CONTRACTS[:3])]
jobs = [ParseJob(rss(items).encode(), f"https://e.com/{n}.xml", classify_with=()) for n in range(12)]
pool = ParsePool(workers=2, min_batch=1)
outcomes = [future.result() for future in [pool.submit(job, datetime.now(UTC)) for job in jobs]]
print(sorted({type(o).__name__ for o in outcomes}), sum(len(o.items) for o in outcomes),
      sum(f is not None for o in outcomes for f in o.fingerprints))
print(pool._pool().submit(eval, "__import__('monitor').RUNS_AS").result())  # what a worker runs
"""


@pytest.mark.skipif(monitor.RUNS_AS != "compiled", reason=f"this install runs {monitor.RUNS_AS}")
def test_workers_run_the_parents_modules_after_a_source_edit(tmp_path: Path) -> None:
    """Parse workers spawned after a source was edited still run the compiled modules their parent runs:
    their results are pickles of compiled classes, which the pure-Python classes cannot read."""
    folder = tmp_path / "monitor"
    shutil.copytree(PACKAGE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for shared in PACKAGE.parent.glob(f"monitor__mypyc*{SUFFIX}"):
        shutil.copy(shared, tmp_path)
    shutil.copytree(PACKAGE.parent / "tests", tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    for name in (PURE_PYTHON_ENV, INHERITED_ENV):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _EDIT_WHILE_RUNNING_SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["compiled", "['ParsedFeed'] 36 36", "compiled"]


def test_what_workers_send_back_survives_pickling_with_its_cached_keys() -> None:
    """A worker's parsed and analysed feed reaches the storing process by pickle, with each flagged item's
    story keys computed once in the worker. Whatever runs compiled must keep both working."""
    import pickle
    from datetime import UTC, datetime

    from monitor.parse_pool import ParseJob, parse_job
    from tests.servers import rss
    from tests.test_classify import CONTRACTS

    items = [{"title": t, "guid": f"g{n}", "link": f"https://e.com/{n}"} for n, (t, _, _) in enumerate(CONTRACTS[:5])]
    parsed = parse_job(ParseJob(rss(items).encode(), "https://e.com/feed.xml", classify_with=()), datetime.now(UTC))
    copy = pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == parsed
    fingerprints = [f for f in copy.fingerprints if f is not None]
    assert len(fingerprints) == 5
    assert all(f.keys is f.keys and f.keys for f in fingerprints)  # cached, not recomputed on each use
