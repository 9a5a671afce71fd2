"""Frozen records passed between the pipeline's stages.

No I/O and no database types live here: these are the values that the pure core (parse, classify,
grouping, decide, render) takes and returns. Table rows are in `monitor.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Label = Literal["cdmo_contract", "plant_milestone"]
LABELS: tuple[Label, ...] = ("cdmo_contract", "plant_milestone")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed as configured in feeds.yaml (validated)."""

    name: str
    url: str
    interval: timedelta
    enabled: bool = True
    tags: tuple[str, ...] = ()
    timezone: str = "UTC"
    backfill: BackfillSpec | None = None
    line: int = 0  # line of the entry in feeds.yaml, for messages


@dataclass(frozen=True, slots=True)
class BackfillSpec:
    """How to page back through a feed's history: a URL template with {page} or {offset}."""

    url: str
    first: int = 2
    step: int = 1
    max_pages: int = 50


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One feed entry, normalised: plain text, canonical link, UTC time.

    `guid` is the feed's own raw id (never resolved against the feed URL) or, when the entry has
    none, the canonical link. `source` is the outlet (the link's host without www./m.).
    """

    guid: str
    url: str | None
    title: str
    summary: str = ""
    published: datetime | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Entities:
    """The deal's fields as stated in an item; None where the item does not state them.

    `value` is the amount as written ("53.5 billion won"); `value_usd` its conversion at the fixed
    rates in the classifier's vocabulary. `value_inconsistent` is set when the item states two values
    that disagree by far. `companies` lists every known company the item names (canonical names), so
    watchlists and story grouping can match on them.
    """

    cdmo: str | None = None
    client: str | None = None
    value: str | None = None
    value_usd: float | None = None
    value_inconsistent: bool = False
    site: str | None = None
    modality: str | None = None
    stage: str | None = None
    companies: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (written by hand: dataclasses.asdict is slow on the ingest path)."""
        return {
            "cdmo": self.cdmo,
            "client": self.client,
            "value": self.value,
            "value_usd": self.value_usd,
            "value_inconsistent": self.value_inconsistent,
            "site": self.site,
            "modality": self.modality,
            "stage": self.stage,
            "companies": list(self.companies),
        }


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier decided about one item, and why.

    `evidence` maps a label (or a field name) to the phrases of the item that made it fire.
    """

    labels: tuple[Label, ...] = ()
    entities: Entities = field(default_factory=Entities)
    evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)
    version: str = "0"

    @property
    def flagged(self) -> bool:
        return bool(self.labels)
