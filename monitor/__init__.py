"""monitor: an event-driven monitor of CDMO contracts and plant milestones (feeds -> Slack)."""

from pathlib import Path

from monitor._speedups import choose

__version__ = "0.1.0"
# "compiled" when the mypyc-compiled modules run, else why the pure-Python sources do (monitor/_speedups.py)
RUNS_AS = choose(Path(__file__).parent)
