"""Story grouping: decide whether a new item reports an event already seen, so it is alerted once.

One deal is printed by a wire, syndicated verbatim, mirrored under staging hosts, re-filed as
"(LEAD)", rewritten by trade press in dollars and by Korean press in won, and announced twice (by
the client and by the CDMO). Analysts want one alert for all of it, and a separate alert for the
same company's next deal, the closing of an acquisition whose signing they saw, or another plant.

The module is a pure core with no I/O. `fingerprint` reduces an item and its classification to a compact,
JSON-serialisable `StoryFingerprint` (reading the text with `monitor.story_text`); `index_keys` gives the
few blocking keys (URL, slug, title, MinHash LSH bands, pairs of salient names, entity signatures) under
which it is stored and looked up; `same_story` compares two fingerprints with explicit rules, from the
cheapest and surest (same URL) to the loosest (same names and amount in the same weeks), after vetoes that
keep apart what must stay apart (conflicting amounts, clients or sites; signing vs closing). `assign_story`
only ever looks at the candidates an index returns for those keys inside a time window, so its cost does not
grow with the number of stored items (see docs/performance.md: scans do not scale).

Thresholds were chosen by measurement on the labelled corpus (`python -m monitor.eval_stories`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, Protocol

from monitor.story_text import (
    _MAX_NAMES,
    _MIN_DEAL_USD,
    _STOP,
    _TITLE_PREFIX,
    _WEAK,
    _entity,
    _kinds_of,
    _merge_parties,
    _phase_of,
    _word_tokens,
    blocking_keys,
    event_kinds,
    fingerprint_json,
    fold,
    jaccard,
    minhash,
    money_usd,
    name_weight,
    parties,
    salient_names,
    shared_parties,
    strong_names_of,
    title_key,
    url_slug,
    values_match,
)
from monitor.types import Classification, ParsedItem
from monitor.urls import canonical_url

DEFAULT_WINDOW = timedelta(days=30)
MAX_CANDIDATES = 12

# (the MinHash signature and its LSH bands: monitor.story_text.minhash and blocking_keys)
_NEAR_DUP = 0.5  # estimated Jaccard of word 2-shingles above which two texts are one article

# ---------------------------------------------------------------------------------------------
# Fingerprint


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True)
class StoryFingerprint:
    """Everything `same_story` needs about one item; `to_dict` is what the store keeps."""

    url: str
    slug: str
    title: str
    signature: tuple[int, ...]
    names: tuple[str, ...]
    values: tuple[float, ...]
    kinds: tuple[str, ...]
    phase: str
    labels: tuple[str, ...]
    cdmo: str
    party: str
    site: str
    at: datetime
    title_names: tuple[str, ...] = field(default=())
    parties: tuple[str, ...] = field(default=())
    title_kinds: tuple[str, ...] = field(default=())

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """`index_keys(self)`, computed once: the batch read, the lookup and the write all need them."""
        return index_keys(self)

    # Sets the comparisons ask for again and again (a stored fingerprint meets many new items).
    @cached_property
    def name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    @cached_property
    def party_words(self) -> frozenset[str]:
        return frozenset(w for p in self.parties for w in p.split())

    @cached_property
    def lead_names(self) -> frozenset[str]:
        """The first two strong names: who the item is about."""
        return frozenset(strong_names(self)[:2])

    @cached_property
    def stored(self) -> str:
        """`to_dict` as compact JSON: what the story index writes (see story_text.fingerprint_json)."""
        written = fingerprint_json(
            self.url,
            self.slug,
            self.title,
            self.signature,
            self.names,
            self.title_names,
            self.parties,
            self.title_kinds,
            self.values,
            self.kinds,
            self.phase,
            self.labels,
            self.cdmo,
            self.party,
            self.site,
            self.at,
        )
        return written or _COMPACT_JSON.encode(self.to_dict())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its attributes: the fields and what was cached (a parse worker sends `keys` and `stored`).

        Why not the default: it pickles the same attributes, but unpickling a new object of the class and
        then its state cost the storing process about 8,000 instructions more per fingerprint than one call
        of `_restore_fingerprint`; the storing process, one thread, unpickles every flagged item.
        """
        return _restore_fingerprint, (dict(self.__dict__),)

    def to_dict(self) -> dict[str, Any]:
        return {
            "u": self.url,
            "s": self.slug,
            "t": self.title,
            "m": struct.pack(f">{len(self.signature)}I", *self.signature).hex(),
            "n": list(self.names),
            "tn": list(self.title_names),
            "pa": list(self.parties),
            "tk": list(self.title_kinds),
            "v": list(self.values),
            "k": list(self.kinds),
            "p": self.phase,
            "l": list(self.labels),
            "c": self.cdmo,
            "y": self.party,
            "z": self.site,
            "a": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryFingerprint:
        sig = str(data.get("m", ""))
        return cls(
            url=str(data["u"]),
            slug=str(data["s"]),
            title=str(data["t"]),
            signature=struct.unpack(f">{len(sig) // 8}I", bytes.fromhex(sig)),
            names=tuple(data["n"]),
            title_names=tuple(data.get("tn", ())),
            parties=tuple(data.get("pa", ())),
            title_kinds=tuple(data.get("tk", ())),
            values=tuple(float(v) for v in data["v"]),
            kinds=tuple(data["k"]),
            phase=str(data["p"]),
            labels=tuple(data["l"]),
            cdmo=str(data["c"]),
            party=str(data["y"]),
            site=str(data["z"]),
            at=_utc(datetime.fromisoformat(str(data["a"]))),
        )


def _restore_fingerprint(attributes: dict[str, Any]) -> StoryFingerprint:
    """The fingerprint `StoryFingerprint.__reduce__` pickled: the same attributes, set without __init__
    (a frozen dataclass's __init__ sets each field by a call, and would drop the cached ones)."""
    fp = object.__new__(StoryFingerprint)
    fp.__dict__.update(attributes)
    return fp


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fingerprint(
    item: ParsedItem, classification: Classification, seen_at: datetime, *, link: str | None = None
) -> StoryFingerprint:
    """Reduce `item` to what story grouping compares; `seen_at` stands in for a missing date.

    `link` is `canonical_url(item.url)` when the caller has it already (a parse worker computes it for every
    item), so it is not computed twice; it is used only when the item has a url.
    """
    ent = classification.entities
    text = f"{item.title}\n{item.summary}"
    values = set(money_usd(text))
    if ent.value_usd and ent.value_usd >= _MIN_DEAL_USD and not ent.value_inconsistent:
        values.add(float(f"{ent.value_usd:.3g}"))
    url, at = _link_and_time(item, seen_at, link)
    folded = fold(text)
    names = salient_names(text)
    company_names = tuple(_entity(c) for c in ent.companies if _entity(c))
    return StoryFingerprint(
        url=url,
        slug=url_slug(url),
        title=title_key(item.title),
        signature=minhash(_word_tokens(folded)),
        names=tuple(dict.fromkeys(names + company_names))[:_MAX_NAMES],
        title_names=salient_names(_TITLE_PREFIX.sub("", item.title))[:8],
        parties=_merge_parties(parties(text), company_names),
        values=tuple(sorted(values, reverse=True))[:6],
        kinds=_kinds_of(folded),
        title_kinds=event_kinds(item.title),
        phase=_phase_of(folded),
        labels=tuple(sorted(classification.labels)),
        cdmo=_entity(ent.cdmo),
        party=_entity(ent.client),
        site=_entity(ent.site),
        at=at,
    )


def relocated(
    fp: StoryFingerprint, item: ParsedItem, seen_at: datetime, *, link: str | None = None
) -> StoryFingerprint:
    """What `fingerprint(item, ...)` gives, from `fp`: the fingerprint of an item with the same title and summary.

    Only the link and the time belong to the item itself; everything else is read from its text and its
    classification (a function of the same text). A wire story reaches many feeds word for word, and reading
    the text is nearly all of a fingerprint's cost.
    """
    url, at = _link_and_time(item, seen_at, link)
    return replace(fp, url=url, slug=url_slug(url), at=at)


def _link_and_time(item: ParsedItem, seen_at: datetime, link: str | None) -> tuple[str, datetime]:
    """What of a fingerprint is the item's own: its canonical link (else its guid's) and its UTC time."""
    url = link if link is not None and item.url else canonical_url(item.url or item.guid)
    return url, _utc(item.published or seen_at)


# ---------------------------------------------------------------------------------------------
# Blocking keys


def index_keys(fp: StoryFingerprint) -> tuple[str, ...]:
    """Keys under which `fp` is stored and candidates for it are looked up (about 10 to 30).

    The URL, the slug, the title's hash, one hash per MinHash LSH band, pairs of the first strong names,
    the lead name with each of the first two kinds and with the amount's bucket, and the classifier's
    event signature: built by the compiled `story_text.blocking_keys` (see there why).
    """
    return blocking_keys(
        fp.url,
        fp.slug,
        fp.title,
        fp.signature,
        fp.title_names,
        fp.names,
        fp.kinds,
        fp.values,
        fp.cdmo,
        fp.party,
        fp.site,
    )


def strong_names(fp: StoryFingerprint) -> list[str]:
    """Names that identify a party (no numbers, countries or generic words), title first."""
    return strong_names_of(fp.title_names, fp.names)


# ---------------------------------------------------------------------------------------------
# Decision

_VALUE_SAME = 1.25  # amounts within 25% are the same amount (fixed exchange rates, rounding)
_VALUE_CONFLICT = 1.25  # amounts further apart than this are different deals


@dataclass(frozen=True)
class Thresholds:
    """The measured cut-offs of `same_story` (defaults chosen on the corpus; see eval_stories)."""

    near_duplicate: float = _NEAR_DUP  # estimated Jaccard of word 2-shingles: one article
    same_days_text: float = 0.15  # same company within `close_days` and this much wording in common
    close_days: float = 2.0  # same company and kind of event this close: one announcement
    headline_days: float = 1.0  # same company, headlines of the same kind (even "contract") this close
    value_days: float = 14.0  # same company and amount this close
    party_days: float = 14.0  # two shared parties (or the classifier's event signature) this close


DEFAULTS = Thresholds()


def same_story(new: StoryFingerprint, old: StoryFingerprint, thresholds: Thresholds = DEFAULTS) -> str | None:
    """None when `new` and `old` report different events, else a short reason they are one story."""
    if new.url and new.url == old.url:
        return "same url"
    if new.slug and new.slug == old.slug:
        return "same url slug"
    if conflict(new, old):
        return None
    if new.title and new.title == old.title and len(new.title.split()) >= 4:
        return "same title"
    sim = jaccard(new.signature, old.signature)
    if sim >= thresholds.near_duplicate:
        return f"near-duplicate text {sim:.2f}"
    return _same_event(new, old, thresholds)


def conflict(new: StoryFingerprint, old: StoryFingerprint) -> str | None:
    """Why two items must be different events even if they look alike, or None."""
    if new.values and old.values and not values_match(new.values, old.values, _VALUE_CONFLICT):
        return "different amounts"
    if new.cdmo and old.cdmo and not (_mentions(old, new.cdmo) or _mentions(new, old.cdmo)):
        return "different CDMO"
    phases = {new.phase, old.phase}
    deal = "acquisition" in new.kinds or "acquisition" in old.kinds or "loi" in phases
    if deal and phases in ({"closing", ""}, {"closing", "definitive"}, {"loi", "definitive"}):
        return "different phase"
    if new.party and old.party and not (_mentions(old, new.party) or _mentions(new, old.party)):
        return "different client"
    return None


_SPECIFIC_KINDS = frozenset(
    {"acquisition", "construction", "opening", "closure", "regulatory", "earnings", "people", "legal"}
)


def _mentions(fp: StoryFingerprint, entity: str) -> bool:
    """`fp` names `entity` (any of its strong words) anywhere in its text."""
    words = _strong_words(entity)
    return not (fp.name_set.isdisjoint(words) and fp.party_words.isdisjoint(words))


@lru_cache(maxsize=4096)
def _strong_words(entity: str) -> frozenset[str]:
    """An entity's words that can identify it; a batch asks for the same few CDMOs and clients ~10 times per item."""
    return frozenset(w for w in entity.split() if w not in _WEAK and w not in _STOP)


def _kind_conflict(new: StoryFingerprint, old: StoryFingerprint) -> bool:
    """Both headlines (or both texts) name a specific kind of event, and not the same one."""
    for a, b in ((new.title_kinds, old.title_kinds), (new.kinds, old.kinds)):
        ka, kb = _SPECIFIC_KINDS.intersection(a), _SPECIFIC_KINDS.intersection(b)
        if ka and kb and not ka & kb:
            return True
    return False


def _same_subject(new: StoryFingerprint, old: StoryFingerprint) -> bool:
    """Each item's first two strong names appear in the other item (who the story is about)."""
    return not (new.lead_names.isdisjoint(old.name_set) or old.lead_names.isdisjoint(new.name_set))


def _same_event(new: StoryFingerprint, old: StoryFingerprint, th: Thresholds) -> str | None:
    """Same parties, and an amount, a kind of event or some wording in common, in the same days."""
    days = abs((new.at - old.at).total_seconds()) / 86400
    entity = _entity_match(new, old)
    if entity and days <= th.party_days:
        return f"same event: {entity}"
    if not _same_subject(new, old) or _kind_conflict(new, old):
        return None
    shared = min(shared_parties(new.parties, old.names), shared_parties(old.parties, new.names), key=len)
    if not shared:
        return None
    who = " / ".join(shared[:3])
    value = values_match(new.values, old.values, _VALUE_SAME)
    if len(shared) >= 2 and days <= th.party_days:
        return f"same parties: {who}"
    if value and days <= th.value_days:
        return f"same event: {who} / ${_human(_common_value(new.values, old.values))}"
    kinds = _SPECIFIC_KINDS.intersection(new.kinds, old.kinds)
    if kinds and days <= th.close_days:
        return f"same event: {'+'.join(sorted(kinds))} {who}"
    headline = set(new.title_kinds) & set(old.title_kinds)
    if headline and days <= th.headline_days:
        return f"same event: {'+'.join(sorted(headline))} {who} (headlines)"
    sim = jaccard(new.signature, old.signature)
    if sim >= th.same_days_text and days <= th.close_days:
        return f"same company, similar text {sim:.2f}: {who}"
    return None


def _entity_match(new: StoryFingerprint, old: StoryFingerprint) -> str:
    """The classifier's event signature (labels, CDMO, client or site) when both items have one."""
    if not (new.cdmo and new.cdmo == old.cdmo and set(new.labels) & set(old.labels)):
        return ""
    other = new.party if new.party and new.party == old.party else new.site if new.site and new.site == old.site else ""
    if not other:
        return ""
    value = _common_value(new.values, old.values)
    amount = f" / ${_human(value)}" if value else ""
    return f"{'+'.join(sorted(set(new.labels) & set(old.labels)))} {new.cdmo} / {other}{amount}"


def _common_value(a: Sequence[float], b: Sequence[float]) -> float:
    for x in a:
        for y in b:
            if max(x, y) <= _VALUE_SAME * min(x, y):
                return x
    return 0.0


def name_overlap(new: StoryFingerprint, old: StoryFingerprint) -> tuple[float, list[str]]:
    """Weighted overlap coefficient of the two items' salient names, and the shared strong names."""
    a, b = set(new.names), set(old.names)
    shared = a & b
    if not shared:
        return 0.0, []
    weight = sum(name_weight(t) for t in shared)
    smaller = min(sum(name_weight(t) for t in a), sum(name_weight(t) for t in b))
    strong = [t for t in new.names if t in shared and name_weight(t) >= 1.0]
    return weight / max(smaller, 3.0), strong


def _human(value: float) -> str:
    for unit, size in (("tn", 1e12), ("bn", 1e9), ("m", 1e6)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


# ---------------------------------------------------------------------------------------------
# Index protocol and assignment


class StoryIndex(Protocol):
    """Where fingerprints are stored by key; `SqlStoryIndex` in production, memory in tests."""

    def candidates(self, keys: Sequence[str], since: datetime) -> list[tuple[int, StoryFingerprint]]: ...

    def add(self, story_id: int, item_id: int, fp: StoryFingerprint) -> None: ...


def assign_story(
    fp: StoryFingerprint, index: StoryIndex, window: timedelta = DEFAULT_WINDOW, thresholds: Thresholds = DEFAULTS
) -> tuple[int | None, str | None]:
    """The story `fp` joins and why, or (None, None) for a new story. Only indexed candidates."""
    best: tuple[int, str] | None = None
    for story_id, old in index.candidates(fp.keys, fp.at - window):
        if abs(fp.at - old.at) > window:
            continue
        reason = same_story(fp, old, thresholds)
        if reason is None:
            continue
        if best is None or _strength(reason) > _strength(best[1]):
            best = (story_id, reason)
            if _strength(reason) >= 3:
                break
    return (best[0], best[1]) if best else (None, None)


def _strength(reason: str) -> int:
    if reason.startswith(("same url", "same title")):
        return 3
    return 2 if reason.startswith("near-duplicate") else 1


class MemoryStoryIndex:
    """Dict-based `StoryIndex` for evaluation and tests (everything in memory)."""

    def __init__(self, cap: int = MAX_CANDIDATES) -> None:
        self._by_key: dict[str, list[int]] = {}
        self._items: dict[int, tuple[int, StoryFingerprint]] = {}
        self._cap = cap

    def add(self, story_id: int, item_id: int, fp: StoryFingerprint) -> None:
        self._items[item_id] = (story_id, fp)
        for key in fp.keys:
            self._by_key.setdefault(key, []).append(item_id)

    def candidates(self, keys: Sequence[str], since: datetime) -> list[tuple[int, StoryFingerprint]]:
        hits: dict[int, int] = {}
        for key in keys:
            for item_id in self._by_key.get(key, ()):
                if self._items[item_id][1].at >= since:
                    hits[item_id] = hits.get(item_id, 0) + 1
        ranked = sorted(hits, key=lambda i: (-hits[i], -i))[: self._cap]
        return [self._items[i] for i in ranked]
