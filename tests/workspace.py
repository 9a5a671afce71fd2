"""The real `monitor` command in a temporary folder, against the local feed server and Slack stand-in."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import FeedServer, SlackStandIn


@dataclass
class Db:
    path: Path

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path, timeout=30) as conn:
            return list(conn.execute(sql, args))

    def count(self, table: str, where: str = "1=1") -> int:
        return int(self.rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0])

    def feed(self, name: str) -> dict[str, Any]:
        with sqlite3.connect(self.path, timeout=30) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM feed WHERE name = ?", (name,)).fetchone()
        assert row is not None, f"no feed row {name!r}"
        return dict(row)

    def alert_statuses(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self.rows("SELECT status, count(*) FROM alert GROUP BY status")}

    def guids(self) -> set[str]:
        return {str(r[0]) for r in self.rows("SELECT guid FROM item")}


@dataclass
class Workspace:
    root: Path
    feeds: FeedServer
    slack: SlackStandIn
    env: dict[str, str]

    def write_feeds(self, paths: dict[str, str], interval: str = "15m") -> None:
        lines = ["feeds:"]
        for name, path in paths.items():
            lines += [f"  - name: {name}", f"    url: '{self.feeds.url(path)}'", f"    interval: {interval}"]
        (self.root / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "monitor", *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    def db(self) -> Db:
        return Db(Path(self.env["MONITOR_DB"]))

    def monitor(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the CLI; with `check`, a non-zero exit fails the test with its output."""
        result = self.run(*args, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"monitor {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result
