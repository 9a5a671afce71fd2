"""Measure story grouping on the labelled corpus: pairwise precision and recall, and the errors.

The corpus rows carry a hand-made `story_id`. Grouping is replayed as the monitor would run it:
rows in published order, each fingerprinted, classified with the current classifier and assigned
through a `MemoryStoryIndex`. A pair of items counts as predicted when both land in one story and as
true when both share `story_id`. A split check tunes the two main thresholds on half the stories
(chosen by a hash of `story_id`) and reports the other half, to show whether they generalise.

Undated rows: a monitor dates an undated item by the time it first saw it. Rows without a date but
with an annotator's "approx. date: YYYY-MM[-DD]" in `notes` are replayed at that date (mid-month
for a month, 1 July for a year only). Rows with no date at all are replayed last, as a backfill,
and compared with the whole archive (no time window); the report counts them.

Run: `python -m monitor.eval_stories ../shared/corpus/dev.jsonl`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from monitor import grouping
from monitor.classify import classify
from monitor.grouping import MemoryStoryIndex, StoryFingerprint, Thresholds, assign_story, fingerprint
from monitor.story_text import jaccard
from monitor.types import ParsedItem

ARCHIVE_WINDOW = timedelta(days=36500)
_APPROX = re.compile(r"approx\. date:\s*(\d{4})(?:-(\d\d))?(?:-(\d\d))?")


@dataclass(frozen=True)
class Link:
    """One wrong or missed merge: the two items and why they were (not) merged."""

    first: str
    second: str
    first_title: str
    second_title: str
    reason: str


@dataclass
class StoryReport:
    """Pairwise figures of one evaluation run, with the errors behind them."""

    items: int = 0
    stories: int = 0
    predicted_stories: int = 0
    undated_backfill: int = 0
    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    wrong_merges: list[Link] = field(default_factory=list)
    missed_merges: list[Link] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    split: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def replay_time(row: dict[str, Any]) -> datetime | None:
    """When the monitor would have seen `row`: its date, else the annotator's approximate date."""
    if row.get("published"):
        return datetime.fromisoformat(str(row["published"])).replace(tzinfo=UTC)
    m = _APPROX.search(str(row.get("notes") or ""))
    if not m:
        return None
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    if month is None:
        return datetime(year, 7, 1, tzinfo=UTC)
    return datetime(year, int(month), int(day) if day else 15, tzinfo=UTC)


def parsed_item(row: dict[str, Any]) -> ParsedItem:
    published = datetime.fromisoformat(str(row["published"])).replace(tzinfo=UTC) if row.get("published") else None
    return ParsedItem(
        guid=str(row["id"]),
        url=row.get("url"),
        title=str(row["title"]),
        summary=str(row.get("summary") or ""),
        published=published,
        source=str(row.get("source") or ""),
    )


def _ordered(rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], datetime, bool]]:
    """Rows in replay order with their replay time and whether they are an undated backfill."""
    dated = [(replay_time(r), i, r) for i, r in enumerate(rows)]
    known = sorted((t, i, r) for t, i, r in dated if t is not None)
    last = known[-1][0] + timedelta(days=1) if known else datetime(2000, 1, 1, tzinfo=UTC)
    for t, _, r in known:
        yield r, t, False
    undated = [r for t, _, r in dated if t is None]
    for n, r in enumerate(undated):
        # A year apart from everything: no "same days" rule can fire, only text and link rules.
        yield r, last + timedelta(days=365 * (n + 1)), True


def fingerprints(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], StoryFingerprint, bool]]:
    """Rows in replay order with their fingerprints (classified by the current classifier)."""
    out = []
    for row, seen_at, backfill in _ordered(rows):
        item = parsed_item(row)
        fp = fingerprint(replace(item, published=None), classify(item.title, item.summary), seen_at)
        out.append((row, fp, backfill))
    return out


def assign_all(
    prepared: list[tuple[dict[str, Any], StoryFingerprint, bool]], thresholds: Thresholds
) -> tuple[dict[str, int], dict[str, str]]:
    """Replay grouping: item id -> predicted story number, and the reason for each join."""
    index = MemoryStoryIndex()
    story_of: dict[str, int] = {}
    reason_of: dict[str, str] = {}
    for n, (row, fp, backfill) in enumerate(prepared):
        window = ARCHIVE_WINDOW if backfill else grouping.DEFAULT_WINDOW
        story, reason = assign_story(fp, index, window, thresholds)
        story_of[row["id"]] = n if story is None else story
        if reason:
            reason_of[row["id"]] = reason
        index.add(story_of[row["id"]], n, fp)
    return story_of, reason_of


def _pairs(groups: dict[str, Any]) -> set[tuple[str, str]]:
    members: dict[Any, list[str]] = defaultdict(list)
    for item_id, group in groups.items():
        members[group].append(item_id)
    return {tuple(sorted(p)) for ids in members.values() for p in combinations(ids, 2)}  # type: ignore[misc]


def score(
    prepared: list[tuple[dict[str, Any], StoryFingerprint, bool]], thresholds: Thresholds
) -> tuple[StoryReport, dict[str, int], dict[str, str]]:
    """Pairwise figures of one replay."""
    story_of, reason_of = assign_all(prepared, thresholds)
    gold = {row["id"]: row["story_id"] for row, _, _ in prepared}
    truth, predicted = _pairs(gold), _pairs(story_of)
    report = StoryReport(
        items=len(prepared),
        stories=len(set(gold.values())),
        predicted_stories=len(set(story_of.values())),
        undated_backfill=sum(1 for _, _, b in prepared if b),
        true_pairs=len(truth),
        predicted_pairs=len(predicted),
        correct_pairs=len(truth & predicted),
    )
    for reason in reason_of.values():
        kind = re.sub(r"[\d.]+$", "", reason.split(":")[0]).strip() or reason
        report.reasons[kind] = report.reasons.get(kind, 0) + 1
    return report, story_of, reason_of


def evaluate(rows: list[dict[str, Any]], thresholds: Thresholds | None = None) -> StoryReport:
    """Replay grouping over `rows` and measure it against their `story_id`s, with a split check."""
    chosen = thresholds or Thresholds()
    prepared = fingerprints(rows)
    report, story_of, reason_of = score(prepared, chosen)
    _explain(report, prepared, story_of, reason_of)
    report.split = split_check(rows)
    return report


def _explain(
    report: StoryReport,
    prepared: list[tuple[dict[str, Any], StoryFingerprint, bool]],
    story_of: dict[str, int],
    reason_of: dict[str, str],
) -> None:
    rows = {row["id"]: (row, fp) for row, fp, _ in prepared}
    order = [row["id"] for row, _, _ in prepared]
    gold = {i: rows[i][0]["story_id"] for i in order}
    for a, b in combinations(order, 2):
        same_gold, same_pred = gold[a] == gold[b], story_of[a] == story_of[b]
        if same_gold == same_pred:
            continue
        ra, rb = rows[a][0], rows[b][0]
        if same_pred:
            why = reason_of.get(b) or reason_of.get(a) or "joined through another item"
            report.wrong_merges.append(Link(a, b, ra["title"], rb["title"], why))
        else:
            why = _why_apart(rows[a][1], rows[b][1])
            report.missed_merges.append(Link(a, b, ra["title"], rb["title"], why))


def _why_apart(a: StoryFingerprint, b: StoryFingerprint) -> str:
    days = abs((a.at - b.at).days)
    veto = grouping.conflict(b, a)
    overlap, shared = grouping.name_overlap(b, a)
    shared_keys = set(grouping.index_keys(a)) & set(grouping.index_keys(b))
    return (
        f"{days}d apart; text {jaccard(a.signature, b.signature):.2f}; names {overlap:.2f} "
        f"{'/'.join(shared[:4])}; keys {len(shared_keys)}" + (f"; veto: {veto}" if veto else "")
    )


def _half(story_id: str) -> int:
    return hashlib.blake2b(story_id.encode(), digest_size=1).digest()[0] % 2


def split_check(rows: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Tune text and event thresholds on half A of the stories; report A and the untouched half B."""
    halves = [[r for r in rows if _half(str(r["story_id"])) == h] for h in (0, 1)]
    prepared = [fingerprints(h) for h in halves]
    best: tuple[float, Thresholds] | None = None
    for near in (0.4, 0.5, 0.6, 0.7):
        for close in (1.0, 2.0, 4.0):
            for parties in (7.0, 14.0, 21.0, 30.0):
                candidate = Thresholds(near_duplicate=near, close_days=close, party_days=parties)
                rep = score(prepared[0], candidate)[0]
                objective = rep.recall if rep.precision >= 0.97 else rep.precision - 1.0
                if best is None or objective > best[0]:
                    best = (objective, candidate)
    assert best is not None
    tuned = best[1]
    result = {}
    for name, prep in (("A (tuned)", prepared[0]), ("B (held out)", prepared[1])):
        tuned_label = f"tuned near={tuned.near_duplicate} close={tuned.close_days} parties={tuned.party_days}"
        for label, th in (("defaults", Thresholds()), (tuned_label, tuned)):
            rep = score(prep, th)[0]
            result[f"{name}, {label}"] = (rep.precision, rep.recall)
    return result


def format_report(report: StoryReport, show_errors: bool = True) -> str:
    """The figures, the join reasons, the split check and (optionally) every error pair."""
    lines = [
        f"items {report.items}, true stories {report.stories}, predicted stories {report.predicted_stories}, "
        f"undated backfill items {report.undated_backfill}",
        f"pairs: true {report.true_pairs}, predicted {report.predicted_pairs}, correct {report.correct_pairs}",
        f"pairwise precision {report.precision:.3f}  recall {report.recall:.3f}",
        "joins by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(report.reasons.items())),
    ]
    if report.split:
        lines.append("split check (stories halved by hash of story_id):")
        lines += [f"  {name}: precision {p:.3f} recall {r:.3f}" for name, (p, r) in report.split.items()]
    if show_errors:
        lines.append(f"wrong merges ({len(report.wrong_merges)} pairs):")
        lines += [
            f"  {x.first} | {x.second}: {x.first_title[:60]!r} ~ {x.second_title[:60]!r} [{x.reason}]"
            for x in report.wrong_merges
        ]
        lines.append(f"missed merges ({len(report.missed_merges)} pairs):")
        lines += [
            f"  {x.first} | {x.second}: {x.first_title[:60]!r} ~ {x.second_title[:60]!r} [{x.reason}]"
            for x in report.missed_merges
        ]
    return "\n".join(lines)


def load(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines corpus file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=Path("../shared/corpus/dev.jsonl"))
    parser.add_argument("--quiet", action="store_true", help="figures only, no error pairs")
    args = parser.parse_args(argv)
    print(format_report(evaluate(load(args.corpus)), show_errors=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
