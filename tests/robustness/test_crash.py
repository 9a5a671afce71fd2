"""Crash tests (catalogue row X09): the real `monitor poll` is SIGKILLed at chosen steps, then rerun.

No test hook lives in production code: the feed server or the Slack stand-in sends SIGKILL to the
`monitor` subprocess (its pid comes from Popen) at the moment a request arrives, so the kill point is
deterministic:
- `feed`: while the feed request is being answered (nothing of this poll is committed yet);
- `post-before:N`: when Slack receives message N, before Slack keeps it (the row is `sending`);
- `post-after:N`: after Slack kept message N, before the answer reaches the monitor (the ambiguous
  window "after 200, before the `sent` commit": only reconciliation through metadata avoids a duplicate).
After the kill the rows left in `sending` hold a 2-minute lease; the test ages that lease in the
database (time passing) instead of sleeping, then reruns `monitor poll` and checks: nothing stored is
lost, every flagged item produced exactly one message Slack kept, no outbox row is left pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

import pytest

from tests.robustness.conftest import NOISE, Workspace, contract, item, rss_doc, stored_keys
from tests.servers import SlackCall

pytestmark = pytest.mark.slow


class Killed(Exception):
    """Raised in the stand-in after the kill, so the request gets no answer."""


def age_leases(workspace: Workspace) -> None:
    """Let the `sending` lease of a killed sender expire (the monitor reconciles such rows on the next run)."""
    workspace.db().rows("UPDATE alert SET next_attempt_at = '2000-01-01 00:00:00.000000' WHERE status = 'sending'")


def crash_then_recover(workspace: Workspace, step: str) -> subprocess.CompletedProcess[str]:
    workspace.write_feeds({"wire": "/wire.xml"})
    workspace.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    assert workspace.run("poll").returncode == 0  # baseline
    workspace.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), contract(0), contract(1), contract(2)]))
    state: dict[str, Any] = {"pid": None, "posts": 0, "armed": True}
    where, _, nth = step.partition(":")

    def kill() -> None:
        if state["armed"] and state["pid"]:
            state["armed"] = False
            os.kill(state["pid"], signal.SIGKILL)
            raise Killed(step)

    def on_post(when: str) -> Any:
        def hook(_call: SlackCall) -> None:
            if where != when:
                return
            state["posts"] += 1
            if state["posts"] == int(nth):
                kill()

        return hook

    if where == "feed":
        workspace.feeds.routes["/wire.xml"].before = kill
    workspace.slack.before_store = on_post("post-before")
    workspace.slack.after_store = on_post("post-after")
    proc = workspace.popen("poll")
    state["pid"] = proc.pid
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert not state["armed"], "the kill point was never reached"
    workspace.feeds.routes["/wire.xml"].before = None
    workspace.slack.before_store = workspace.slack.after_store = None
    age_leases(workspace)
    return workspace.run("poll")


@pytest.mark.parametrize(
    "step", ["feed", "post-before:1", "post-before:2", "post-after:1", "post-after:2", "post-after:3"]
)
def test_X09_sigkill_at_each_step_loses_nothing_and_sends_each_alert_once(workspace: Workspace, step: str) -> None:
    """X09: SIGKILL at the feed fetch, before Slack keeps message N, and after Slack kept message N but
    before the monitor recorded it; rerun: all 4 items stored, exactly 3 messages kept by Slack (one per
    alert key, Web API), every outbox row `sent`."""
    rerun = crash_then_recover(workspace, step)
    assert rerun.returncode == 0, rerun.stderr
    keys = stored_keys(workspace.slack)
    assert len(keys) == 3 and len(set(keys)) == 3, keys
    assert workspace.db().guids() == {"n", "c0", "c1", "c2"}
    assert workspace.db().alert_statuses() == {"sent": 3}
    again = workspace.run("poll")
    assert again.returncode == 0 and len(stored_keys(workspace.slack)) == 3
