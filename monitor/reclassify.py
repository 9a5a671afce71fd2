"""`monitor reclassify`: run the current classifier and story grouping over stored items.

After a classifier upgrade or a vocabulary edit, stored items are classified again: changed labels and
fields are written, newly flagged items are placed in stories (alerting only when asked), and items no
longer flagged leave their story. What changed is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from monitor import store
from monitor.classify import CLASSIFIER_VERSION, classify
from monitor.decide import AlertPolicy
from monitor.pipeline import Entry, IngestCounts, Pipeline, entities_json, evidence_json, place_in_story
from monitor.story_index import SqlStoryIndex
from monitor.tables import Feed, Item
from monitor.types import ParsedItem

CHUNK = 500


@dataclass
class ReclassifySummary:
    items: int = 0
    labels_changed: int = 0
    fields_changed: int = 0
    newly_flagged: int = 0
    unflagged: int = 0
    stories: int = 0
    alerts: int = 0
    examples: list[str] = field(default_factory=list)  # a few "old -> new: title" lines to show


def reclassify(
    pipeline: Pipeline,
    *,
    since: datetime | None,
    policy: AlertPolicy,
    progress: Callable[[int], None] = lambda _n: None,
    total: Callable[[int], None] = lambda _n: None,
) -> ReclassifySummary:
    """Reclassify stored items (first seen since `since`), oldest first, one transaction per chunk."""
    summary = ReclassifySummary()
    with store.transaction(pipeline.engine) as session:
        query = select(Item.id).order_by(col(Item.published_at), col(Item.id))
        if since is not None:
            query = query.where(col(Item.first_seen_at) >= since)
        ids = [i for i in session.exec(query) if i is not None]
    total(len(ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with store.transaction(pipeline.engine) as session:
            index = SqlStoryIndex(session)
            counts = IngestCounts()
            for item_id in chunk:
                item = session.get(Item, item_id)
                if item is not None:
                    _reclassify_item(pipeline, session, index, item, policy, counts, summary)
            summary.stories += counts.stories
            summary.alerts += counts.alerts
        summary.items += len(chunk)
        progress(len(chunk))
    return summary


def _reclassify_item(
    pipeline: Pipeline,
    session: Session,
    index: SqlStoryIndex,
    item: Item,
    policy: AlertPolicy,
    counts: IngestCounts,
    summary: ReclassifySummary,
) -> None:
    result = classify(item.title, item.summary, pipeline.vocabulary)
    old_labels = tuple(label for label in item.labels.split(",") if label)
    new_entities = entities_json(result.entities)
    if old_labels != result.labels:
        summary.labels_changed += 1
        if len(summary.examples) < 20:
            summary.examples.append(
                f"{'+'.join(old_labels) or 'none'} -> {'+'.join(result.labels) or 'none'}: {item.title}"
            )
    elif new_entities != item.entities:
        summary.fields_changed += 1
    item.labels = ",".join(result.labels)
    item.entities = new_entities
    item.evidence = evidence_json(result.evidence)
    item.classifier_version = CLASSIFIER_VERSION
    if result.flagged and item.story_id is None:
        summary.newly_flagged += 1
        feed = session.get(Feed, item.feed_id)
        assert feed is not None and item.id is not None
        parsed = ParsedItem(guid=item.guid, url=item.url, title=item.title, summary=item.summary,
                            published=item.published_at, source=item.source)  # fmt: skip
        entry = Entry(feed, tuple(t for t in feed.tags.split(",") if t), parsed)
        existing_id = item.id

        def attach(story_id: int) -> int:
            item.story_id = story_id
            return existing_id

        place_in_story(pipeline, session, index, entry, result, False, None, pipeline.clock(), policy, counts, attach)
    elif not result.flagged and item.story_id is not None:
        summary.unflagged += 1
        store.count_story_item(session, item.story_id, pipeline.clock(), None, delta=-1)
        item.story_id = None


def describe(summary: ReclassifySummary) -> str:
    lines = [
        f"items reclassified: {summary.items}",
        f"labels changed: {summary.labels_changed} (newly flagged {summary.newly_flagged}, no longer flagged "
        f"{summary.unflagged}); fields changed: {summary.fields_changed}",
        f"new stories: {summary.stories}; alerts queued: {summary.alerts}",
    ]
    lines += [f"  {example}" for example in summary.examples]
    return "\n".join(lines)
