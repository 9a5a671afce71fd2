"""Rule-based classifier: does a news item report a CDMO contract, a plant milestone, both, or neither?

Why rules and not a model: analysts must see *why* an item fired (every label carries the phrases
that triggered it), the result must be deterministic and fast (no downloads, no network), and the
hard negatives of the corpus (earnings with "big deals" in the headline, licensing, raw-material
supply to a CDMO, CDMO-to-CDMO alliances, labs and offices, financings, explainers, plants only
"weighed") are easier to express as vetoes than to learn from a few hundred items.

How it decides, per label:
  * evidence patterns find phrases, each *strong* ("signs manufacturing agreement", "selects X as
    CDMO", "to make Y's vaccine", "breaks ground", "acquires ... plant", "receives EU GMP
    certificate") or *weak* (a generic "inks deal" in a manufacturing context; an "expands
    capacity" that comes with a figure, jobs, space or a place);
  * vetoes are *hard* (earnings/executive/financing/explainer headline, lawsuit, 483 or warning
    letter, licensing, termination, a raw-material supplier as the only counterparty, CDMO-to-CDMO
    alliance, an office/lab, a plant only weighed) or *soft* (drug-approval, trial, interview or
    conference headline), and soft vetoes only cancel weak evidence;
  * a weak contract also needs a contract manufacturer in the item (vocabulary role, or the words
    CDMO/CMO/contract manufacturer).
Fields come from the company vocabulary (roles decide who is the CDMO and who the client), from
`monitor.money` for values, and from small keyword tables for site, modality and stage. They are
filled for flagged items; unflagged items only get `companies` and `value`.

Speed: every rule names its trigger words. An item is tokenised once, the rules whose trigger words
occur are looked up once per item (a trigger -> rules table), and the others are skipped without a
call; "anchored" rules are tried only where one of their first words starts. This keeps the regex
engine from scanning each item several dozen times. A hard veto is checked before any evidence is
looked for, and the other vetoes and the fields only when some evidence was found.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.money import StatedValue, find_amounts, pick_value
from monitor.regexes import scanning
from monitor.types import LABELS, Classification, Entities, Label
from monitor.vocabulary import (
    Mention,
    Vocabulary,
    VocabularyError,
    has_hangul_or_cjk,
    load_vocabulary,
    normalize_text,
    tokenize,
)

__all__ = [
    "CLASSIFIER_VERSION",
    "Vocabulary",
    "VocabularyError",
    "classify",
    "default_vocabulary",
    "load_vocabulary",
]

CLASSIFIER_VERSION = "1.1"


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The packaged vocabulary, loaded once per process."""
    return load_vocabulary()


# --- the item as the rules see it ---------------------------------------------------------------


class _Doc:
    """The item as the rules see it: normalised text, a lowercased copy with the same offsets,
    where the trigger words start, company mentions and amounts. Sentences and the copy with
    company names blanked are computed on first use (many items never need them)."""

    __slots__ = (
        "_masked",
        "_sentence_starts",
        "active",
        "amounts",
        "lower",
        "mentions",
        "positions",
        "rule_starts",
        "substring_active",
        "text",
        "title_end",
        "vocabulary",
        "word_starts_are_boundaries",
    )

    def __init__(self, title: str, summary: str, vocabulary: Vocabulary) -> None:
        title_n, summary_n = normalize_text(title), normalize_text(summary)
        self.text = f"{title_n}\n{summary_n}" if summary_n else title_n
        self.title_end = len(title_n)
        lower = self.text.lower()
        if len(lower) != len(self.text):  # a few characters lowercase to two; keep offsets aligned
            lower = "".join(c.lower()[0] for c in self.text)
        self.lower = lower
        words, word_starts = tokenize(lower)
        self.vocabulary = vocabulary
        cjk = has_hangul_or_cjk(lower)
        self.mentions = tuple(vocabulary.find(self.text, words, word_starts, cjk))
        self.amounts = tuple(find_amounts(self.text, lower, cjk))
        self.positions = _positions(words, word_starts)
        # Rules whose trigger words occur, and the subset triggered by a substring (Korean,
        # Japanese, Chinese): those can match anywhere, so they are never tried as anchored.
        # Whether every regex word boundary before a Latin letter or digit starts a word of
        # `tokenize`: not when the item has Hangul, kana or CJK, or the multiplication or division
        # sign (U+00D7, U+00F7), which `tokenize` counts as word characters and the regex does not.
        self.word_starts_are_boundaries = not cjk and "\u00d7" not in lower and "\u00f7" not in lower
        self.active, self.substring_active = _active_rules(self.positions, lower, cjk, self.word_starts_are_boundaries)
        self._masked: str | None = None
        self._sentence_starts: list[int] | None = None
        self.rule_starts: dict[_Rule, list[int]] = {}  # see _Rule._starts

    @property
    def title(self) -> str:
        return self.lower[: self.title_end]

    @property
    def masked(self) -> str:
        """`lower` with company names blanked, so "Charles River Laboratories" is no lab."""
        if self._masked is None:
            lower, done = self.lower, 0
            parts: list[str] = []
            for m in sorted(self.mentions, key=lambda m: m.start):
                start = max(m.start, done)
                if m.end > start:
                    parts += (lower[done:start], "#" * (m.end - start))
                    done = m.end
            parts.append(lower[done:])
            self._masked = "".join(parts)
        return self._masked

    def sentence_span(self, pos: int) -> tuple[int, int]:
        """Where the sentence (title, or a summary sentence) around `pos` starts and ends."""
        if pos < self.title_end:
            return 0, self.title_end
        if self._sentence_starts is None:
            self._sentence_starts = _sentence_starts(self.text, self.title_end)
        starts = self._sentence_starts
        i = bisect_right(starts, pos) - 1
        start = starts[i] if i >= 0 else self.title_end
        end = starts[i + 1] if i + 1 < len(starts) else len(self.lower)
        return start, end

    def mentions_between(self, start: int, end: int) -> list[Mention]:
        return [m for m in self.mentions if m.start >= start and m.end <= end]


def _positions(words: list[str], starts: list[int]) -> dict[str, list[int]]:
    """Trigger key -> offsets of the words it stands for (the word itself, or its first 4 or 5 letters)."""
    positions: dict[str, list[int]] = {}
    known = _WORD_KEYS
    for i, word in enumerate(words):
        keys = known.get(word)
        if keys is None:
            keys = _remember_keys(word)
        if not keys:  # most words
            continue
        start = starts[i]
        for key in keys:
            found = positions.get(key)
            if found is None:
                positions[key] = [start]
            elif found[-1] != start:
                found.append(start)
    return positions


# word -> the trigger keys it stands for, filled as words are met (news reuses a few thousand words)
_WORD_KEYS: dict[str, tuple[str, ...]] = {}
_WORD_KEYS_LIMIT = 200_000


def _remember_keys(word: str) -> tuple[str, ...]:
    if len(word) <= 4:
        keys: tuple[str, ...] = (word,) if word in _TRIGGER_KEYS else ()
    else:  # a longer word is its first 4 or 5 letters (a 5-letter word is its own first 5)
        keys = tuple(key for key in (word[:4], word[:5]) if key in _TRIGGER_KEYS)
    if len(_WORD_KEYS) >= _WORD_KEYS_LIMIT:
        _WORD_KEYS.clear()
    _WORD_KEYS[word] = keys
    return keys


def _active_rules(
    positions: dict[str, list[int]], lower: str, cjk: bool, word_starts_are_boundaries: bool
) -> tuple[dict[_Rule, list[str]], frozenset[_Rule]]:
    """The rules worth trying on an item, each with its trigger keys that occur (none for untriggered rules).

    Not a rule whose later words (`_Rule.later_keys`) are all missing, when the item's word starts are
    its regex word boundaries (then those words are found as `tokenize` words)."""
    active: dict[_Rule, list[str]] = {rule: [] for rule in _UNTRIGGERED_RULES}
    by_key = _RULES_BY_KEY
    for key in positions:
        for rule in by_key[key]:
            present = active.get(rule)
            if present is None:
                active[rule] = [key]
            else:
                present.append(key)
    if word_starts_are_boundaries:
        for rule in _RULES_WITH_LATER_WORDS:
            if rule in active and not any(key in positions for key in rule.later_keys):
                del active[rule]
    if not cjk:  # every substring trigger has a Hangul or CJK character
        return active, frozenset()
    by_substring = {rule for sub, rules in _RULES_BY_SUBSTRING.items() if sub in lower for rule in rules}
    for rule in by_substring:
        active.setdefault(rule, [])
    return active, frozenset(by_substring)


def _build_doc(title: str, summary: str, vocabulary: Vocabulary) -> _Doc:
    return _Doc(title, summary, vocabulary)


_SENTENCE_END = re.compile(r"[.!?]['\"”]? (?=['\"“(]?[A-Z0-9])|\s[*•]\s|\s--?\s(?=[A-Z])")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]|\b(?:Inc|Co|Corp|Ltd|No|Jr|Sr|St|Mr|Ms|Dr|vs|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov"
    r"|Dec|U\.S|U\.K|N\.C|Md|Mass|Calif|Ill|Tenn|Ind|Mich|Fla|Ga|Pa|Va|Wash|Conn|Ariz|Colo|Tex))$"
)


def _sentence_starts(text: str, title_end: int) -> list[int]:
    """Where the summary's sentences start: after each match of `_SENTENCE_END.finditer(text,
    title_end + 1)` that does not end an abbreviation. The matches are found by trying the regex
    only at its possible first characters (same matches: same regex, same order, none overlapping)."""
    starts = [title_end + 1] if len(text) > title_end else []
    match, last_end = _SENTENCE_END.match, title_end + 1
    for pos in _sentence_end_candidates(text, title_end + 1):
        if pos < last_end:
            continue
        m = match(text, pos)
        if m is None:
            continue
        last_end = m.end()
        if not _ABBREVIATION.search(text, max(0, m.start() - 8), m.start()):
            starts.append(m.end())
    return starts


def _sentence_end_candidates(text: str, start: int) -> list[int]:
    """Where a _SENTENCE_END match can start, from `start` on, in order: at ".", "!" or "?", or at
    whitespace before "*", "•" or "-" (str.find runs in C; a regex search would try every space)."""
    found: list[int] = []
    for mark in ".!?*•-":
        after_space = mark in "*•-"
        pos = text.find(mark, start)
        while pos >= 0:
            if not after_space:
                found.append(pos)
            elif pos - 1 >= start and text[pos - 1].isspace():  # `\s` and str.isspace agree
                found.append(pos - 1)
            pos = text.find(mark, pos + 1)
    found.sort()
    return found


@dataclass
class _Evidence:
    """Phrases found for one label: strong, weak, and loose (weak, concrete only item-wide)."""

    strong: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)

    def phrases(self, include_loose: bool = True) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.strong + self.weak + (self.loose if include_loose else [])))


def _has_any(text: str, needs: tuple[str, ...], start: int = 0, end: int = sys.maxsize) -> bool:
    """Whether one of `needs` occurs inside text[start:end]: str.find scans in C, where a regex of mixed
    alternatives is tried at every position. Before such a regex, with strings one of which every match
    contains, a False answer means no match."""
    return any(text.find(need, start, end) >= 0 for need in needs)


class _Rule:
    """A regex plus the words one of which must occur for it to match (checked first, cheaply).

    Python's regex engine scans every position of the text; most rules cannot match most items,
    so a set lookup of trigger words skips them (this is what makes `classify` fast). Triggers are
    words or word starts: up to 4 characters they must equal a word or its first 4 characters,
    longer ones are cut to 5 and compared with words' first 5 characters. Triggers in Korean,
    Japanese or Chinese are plain substrings. A trigger list that misses a form the regex accepts
    is a bug; the tests check the rules against their examples.
    """

    __slots__ = (
        "anchored",
        "bounded",
        "keys",
        "later_keys",
        "matcher",
        "needs",
        "pattern",
        "regex",
        "start_keys",
        "subs",
    )

    def __init__(
        self,
        pattern: str,
        triggers: str = "",
        anchored: bool = False,
        starts: str = "",
        needs: str = "",
        later: str = "",
    ) -> None:
        self.pattern = pattern
        # Words one of which every match has after its first, written as trigger words: a word the
        # regex bounds by \b, a space or the end of a \w* run, so that it is a word of `tokenize` with
        # such a key (where `_Doc.word_starts_are_boundaries`). An item with none of them cannot match,
        # and the rule is not tried there (items often have a rule's first word and not the later one).
        self.later_keys = tuple(sorted({_trigger_key(w) for w in later.split()}))
        _index_words_only(self.later_keys)
        if self.later_keys:
            _RULES_WITH_LATER_WORDS.append(self)
        # Strings one of which every match contains (as written, space-separated; "_" stands for a
        # space): `search` looks for them with str.find before the regex, which for a pattern of
        # mixed alternatives tries every position of the span.
        self.needs = tuple(word.replace("_", " ") for word in needs.split())
        # Anchored rules only match where a trigger word starts (the triggers are all the words a
        # match can begin with), so they are tried at a few offsets instead of every position.
        self.anchored = anchored
        # Rules triggered by a later word ("plant ... opens") can still name the words every match
        # begins with (`starts`); `finditer` then tries them only where one of those starts.
        self.start_keys = tuple(sorted({_trigger_key(w) for w in starts.split()}))
        if self.start_keys and (anchored or not all(_TRIGGER_WORD.fullmatch(w) for w in starts.split())):
            raise ValueError(f"start words are for rules triggered by other words, and Latin: {starts}")
        _index_words_only(self.start_keys)
        # A leading \b stops the regex engine from skipping ahead by first character; drop it
        # and check the word boundary in Python instead (matches are rare, positions are many).
        stripped = _strip_leading_boundaries(pattern)
        self.bounded = stripped is not None
        source = stripped if stripped is not None else pattern
        self.regex = scanning(source)
        # For `match` at a known offset: the lookahead `scanning` adds would only be checked once more.
        self.matcher = re.compile(source)
        words = triggers.split()
        self.subs = tuple(w for w in words if not _TRIGGER_WORD.fullmatch(w))
        self.keys = frozenset(_trigger_key(w) for w in words if _TRIGGER_WORD.fullmatch(w))
        if not all(has_hangul_or_cjk(sub) for sub in self.subs):  # _active_rules looks for them only then
            raise ValueError(f"substring triggers must be Hangul or CJK: {self.subs}")
        _TRIGGER_KEYS.update(self.keys)
        for key in self.keys:
            _RULES_BY_KEY.setdefault(key, []).append(self)
        for sub in self.subs:
            _RULES_BY_SUBSTRING.setdefault(sub, []).append(self)
        if not self.keys and not self.subs:
            _UNTRIGGERED_RULES.append(self)

    def finditer(self, doc: _Doc) -> Iterable[re.Match[str]]:
        """Every match in the item, left to right, not overlapping."""
        if self not in doc.active:
            return ()
        if self.anchored and self not in doc.substring_active:
            return self._anchored_matches(doc, first_only=False)
        if self.start_keys and self.bounded and doc.word_starts_are_boundaries:
            return self._word_start_matches(doc, 0, len(doc.lower), first_only=False)
        if not self.bounded:
            return self.regex.finditer(doc.lower)
        return self._bounded_matches(doc.lower, 0, len(doc.lower), first_only=False)

    def search(self, doc: _Doc, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if self not in doc.active:
            return None
        if self.needs and not _has_any(text, self.needs, pos, endpos):
            return None  # a match lies inside text[pos:endpos] and contains one of them
        if not self.bounded:
            return self.regex.search(text, pos, endpos)
        if text is doc.lower and (self.anchored or self.start_keys) and doc.word_starts_are_boundaries:
            found = self._word_start_matches(doc, pos, endpos, first_only=True)
        else:
            found = self._bounded_matches(text, pos, endpos, first_only=True)
        return found[0] if found else None

    def in_span(self, doc: _Doc, start: int, end: int, text: str | None = None) -> re.Match[str] | None:
        """The first match inside doc.lower[start:end] (or the same span of `text`, e.g. `doc.masked`)."""
        if self not in doc.active:
            return None
        text = doc.lower if text is None else text
        if not self.anchored or (
            self in doc.substring_active and any(sub in doc.lower[start:end] for sub in self.subs)
        ):
            return self.search(doc, text, start, end)
        match, starts = self.matcher.match, self._starts(doc)
        for i in range(bisect_left(starts, start), len(starts)):
            pos = starts[i]
            if pos >= end:
                break
            m = match(text, pos, end)
            if m is not None:
                return m
        return None

    def in_title(self, doc: _Doc) -> re.Match[str] | None:
        return self.in_span(doc, 0, doc.title_end)

    def first(self, doc: _Doc) -> re.Match[str] | None:
        """The first match in the whole item (what `finditer` would give first)."""
        if self not in doc.active:
            return None
        if self.anchored and self not in doc.substring_active:
            found = self._anchored_matches(doc, first_only=True)
            return found[0] if found else None
        if not self.bounded:
            return self.regex.search(doc.lower)
        found = self._bounded_matches(doc.lower, 0, len(doc.lower), first_only=True)
        return found[0] if found else None

    def _starts(self, doc: _Doc) -> list[int]:
        """Where the words a match can begin with start in the item, in order: the trigger words of an
        anchored rule, the start words of another. Kept per item: some rules are asked once per match."""
        starts = doc.rule_starts.get(self)
        if starts is not None:
            return starts
        positions = doc.positions
        present = doc.active[self] if self.anchored else [key for key in self.start_keys if key in positions]
        if len(present) == 1:
            starts = positions[present[0]]  # already in order, each offset once
        else:
            starts = sorted({start for key in present for start in positions[key]})
        doc.rule_starts[self] = starts
        return starts

    def _anchored_matches(self, doc: _Doc, *, first_only: bool) -> list[re.Match[str]]:
        # A list, not a generator: most rules match nowhere, and a call is cheaper than a generator.
        match, lower, last_end = self.matcher.match, doc.lower, -1
        found: list[re.Match[str]] = []
        for start in self._starts(doc):
            if start < last_end:
                continue
            m = match(lower, start)
            if m is not None:
                if first_only:
                    return [m]
                found.append(m)
                last_end = m.end()
        return found

    def _word_start_matches(self, doc: _Doc, pos: int, endpos: int, *, first_only: bool) -> list[re.Match[str]]:
        """What `_bounded_matches(doc.lower, pos, endpos)` finds, tried only where a first word starts.

        Every match begins with one of the rule's first words (`_starts`) right after a word
        boundary, and such a position is where `tokenize` starts a word (when
        `_Doc.word_starts_are_boundaries`); word starts that are no boundary for the regex (after
        "_" or a Greek letter) are skipped by the same check as in `_bounded_matches`. Matching at
        a few offsets costs far less than a scan."""
        match, lower, starts = self.matcher.match, doc.lower, self._starts(doc)
        found: list[re.Match[str]] = []
        last_end = pos
        for i in range(bisect_left(starts, pos), len(starts)):
            start = starts[i]
            if start >= endpos:
                break
            if start < last_end or (start > 0 and (lower[start - 1].isalnum() or lower[start - 1] == "_")):
                continue
            m = match(lower, start, endpos)
            if m is not None:
                found.append(m)
                if first_only:
                    return found
                last_end = m.end() if m.end() > start else start + 1
        return found

    def _bounded_matches(self, text: str, pos: int, endpos: int, *, first_only: bool) -> list[re.Match[str]]:
        # A list, not a generator (as in `_anchored_matches`): cheaper to call and to consume.
        search = self.regex.search
        found: list[re.Match[str]] = []
        while True:
            m = search(text, pos, endpos)
            if m is None:
                return found
            start = m.start()
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
                pos = start + 1
                continue
            found.append(m)
            if first_only:
                return found
            pos = m.end() if m.end() > start else start + 1


def _index_words_only(keys: Iterable[str]) -> None:
    """Have every item index these words (as trigger words are) without their triggering any rule."""
    for key in keys:
        _TRIGGER_KEYS.add(key)
        _RULES_BY_KEY.setdefault(key, [])


def _strip_leading_boundaries(pattern: str) -> str | None:
    """The pattern without the \\b that starts each top-level alternative, or None if one lacks it."""
    branches: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    if not all(b.startswith("\\b") for b in branches):
        return None
    return "|".join(b[2:] for b in branches)


_TRIGGER_KEYS: set[str] = set()  # every rule's keys: the only words worth indexing in an item
_RULES_BY_KEY: dict[str, list[_Rule]] = {}
_RULES_BY_SUBSTRING: dict[str, list[_Rule]] = {}
_UNTRIGGERED_RULES: list[_Rule] = []
_RULES_WITH_LATER_WORDS: list[_Rule] = []
_TRIGGER_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+")


def _trigger_key(word: str) -> str:
    return word if len(word) <= 4 else word[:5]


_c = _Rule


def _anchored(pattern: str, first_words: str, later: str = "") -> _Rule:
    """A rule tried only where one of `first_words` starts (they must cover every match start), and only in
    items with one of its `later` words (see `_Rule`)."""
    return _Rule(pattern, first_words, anchored=True, later=later)


# --- vocabulary of the patterns ----------------------------------------------------------------

_W = r"[\w$€£₩¥.,'&/-]+"  # a word inside a phrase window (amounts included)
_DEAL = (
    r"(?:agreements?|deals?|contracts?(?! (?:development|manufactur\w*|research|organi[sz]ation|drug|pharma\w*))|"
    r"pacts?|orders?|partnerships?|collaborations?|alliances?|loi|mou"
    r"|letters? of intent|memorandum of understanding|arrangements?|tie-?ups?|cooperation)"
)
# The words a match of _DEAL can begin with, as trigger words (for `later`; after a space in every rule).
_DEAL_WORDS = (
    "agreement agreements deal deals contract contracts pact pacts order orders partnership partnerships "
    "collaboration collaborations alliance alliances loi mou letter letters memorandum arrangement arrangements "
    "tie tieup tieups cooperation"
)
_MFG = (
    r"(?:contract (?:development and )?manufacturing|manufacturing(?: services?)?(?: and supply)?|production"
    r"|fill[- /&]*finish(?:ing)?|fill and finish|aseptic (?:filling|fill)|filling|cmo|cdmo|cdo|crdmo"
    r"|development and manufacturing|development and supply|master services?|clinical supply"
    r"|commercial supply|biomanufacturing|manufacturing partnership|supply and manufacturing)"
)
_PLANT = (
    r"(?:plants?|facility|facilities|sites?|factory|factories|campus|suites?|(?:production|manufacturing"
    r"|filling|fill-finish) lines?|lines?|bioreactors?|manufacturing (?:hub|cent(?:er|re)|capacity|capacities"
    r"|capabilities|footprint|operations|unit|space|building)|production (?:capacity|base|building|hub)"
    r"|capacity|capacities|cleanrooms?|공장|工場|工厂)"
)
# The words a match of _PLANT can begin with (for `starts`; its Hangul and CJK words are found by a scan).
_PLANT_STARTS = (
    "plant facility site factory campus suite production manufacturing filling fill line bioreactor capacity cleanroom"
)
_PLANT_ASSET = (
    r"(?:plants?|facility|facilities|sites?|factory|factories|campus|manufacturing (?:operations|assets|unit"
    r"|network|business|capabilities|capacity|footprint)|cdmo|cmo|contract manufacturer|"
    r"contract development and manufacturing organi[sz]ation"
    r"|공장)"
)
_PLANT_ASSET_STARTS = "plant facility site factory campus manufacturing cdmo cmo contract"

# Strong contract phrases: a manufacturing-type agreement, making a client's product, being
# selected as its manufacturer, providing manufacturing services, reserving capacity, DART.
_CONTRACT_STRONG = [
    _Rule(
        rf"\b{_MFG}(?: [\w-]+){{0,2}} {_DEAL}\b",
        "contract manufacturing production fill aseptic filling cmo cdmo cdo crdmo development master clinical "
        "commercial biomanufacturing supply",
        anchored=True,
        later=_DEAL_WORDS,
    ),
    _anchored(r"\b(?:contract|order) wins?\b", "contract order"),
    _Rule(
        rf"\b{_DEAL} (?:to|for) (?:the )?(?:[\w-]+ ){{0,3}}?(?:manufactur\w*|produc\w*|fill|formulat\w*|bottl\w*|"
        rf"make)\b",
        f"{_DEAL_WORDS} ties",
        anchored=True,
        later="manufactur produc fill formulat bottl make",
    ),
    _anchored(
        r"\b(?:selects?|selected|picks?|picked|taps?|tapped|chooses|chose|chosen|enlists?|engages?"
        r"|appoints?|hires?|adds?) (?:[\w.&'-]+ ){0,5}?(?:as (?:its |a |the )?(?:[\w-]+ ){0,3}?"
        r"(?:manufactur\w*|cdmo|cmo|producer|supplier)|to (?:manufactur\w*|make|produce|fill|bottle)"
        r"|for (?:[\w-]+ ){0,4}?(?:manufactur\w*|production|fill\w*|vaccine|doses|drug substance))",
        "selects select selected picks pick picked tap taps tapped chooses chose chosen enlist enlists engage "
        "engages appoint appoints hire hires add adds",
    ),
    _Rule(
        r"\b(?:new|adds?|second|another) (?:[\w-]+ ){0,3}?(?:manufacturing|production|cdmo|cmo) partner\b",
        "new add adds second another",
        anchored=True,
        later="partner",
    ),
    _anchored(r"\bcapacity reservation|\breserv\w* (?:[\w-]+ ){0,3}capacity\b|\btask order\b", "capacity reserv task"),
    _c(
        r"단일판매·공급계약|위탁생산|위탁개발|\bc[dm]?mo ?계약|\bcdo ?계약|受託製造|製造受託|委託製造",
        "단일판매 위탁 계약 受託 委託",
    ),
    _anchored(
        r"\blettre d'intention\b|\bproduira\b|\bcontrat de (?:fabrication|production)\b", "lettre produira contrat"
    ),
    _anchored(
        r"\babfüll\w*|\bfüllt\b.{0,60}\bab\b|\bliefervertrag|\bherstellungsvertrag|\bproduktionsvertrag",
        "abfüll füllt liefervertrag herstellungsvertrag produktionsvertrag",
    ),
]
# To make/produce something that visibly belongs to a client (possessive, "for X", doses).
_MAKE_FOR = _Rule(
    r"\b(?:to|will|would|agreed to|agrees to|set to|plans to|help(?:s|ing)?|aims to)"
    r"(?: help| support| begin| start| also| jointly| further| continue to)?(?: (?:rival |its )?[\w-]+)??"
    r" (?:manufactur\w*|make|making|produc\w*|fill|bottle|fill-finish|formulate|supply)(?![\w-])",
    "to will would agreed agrees set plans help helps helping aims",
    anchored=True,
    later="manufactur make making produc fill bottle formulate supply",
)
# "Piramal manufactures Ipsen's API": a bare making verb right after a contract manufacturer.
_MAKES = _anchored(
    r"\b(?:manufactures?|makes?|produces?|fills?|bottles?)\b",
    "manufacture manufactures make makes produce produces fill fills bottle bottles",
)
_PROVIDE_MFG = _anchored(
    r"\b(?:provide|provides|providing|deliver|delivers|offer|offers|perform|performs|deploy|deploys)"
    r" (?:[\w,'-]+ ){0,6}?(?:contract )?(?:manufactur\w*|production|fill[- /&]*finish\w*|cdmo|cmo|cdo"
    r"|development and manufacturing|biomanufacturing)(?: [\w()-]+){0,3}? (?:services?|support|for|capacit\w+)\b"
    r"|\bprovide (?:[\w-]+ ){0,2}with (?:[\w-]+ ){0,3}capacity\b",
    "provide provides providing deliver delivers offer offers perform performs deploy deploys",
)
_SUPPORT_MFG = _anchored(
    r"\b(?:support|supports|supporting|help|helps|helping)(?: the| in)? (?:[\w-]+ ){0,4}?manufactur\w*",
    "support supports supporting help helps helping",
    later="manufactur",
)
_CLIENT_MARK = _c(
    r"'s\b|\bdoses\b|\bcandidate\b|under development by|\bfor (?:a |an |the )?(?:u\.s\.|us|european|asian|global"
    r"|japanese|chinese|korean|major)",
    needs="'s doses candidate under_development_by for_",
)

# Generic deal wording: counts only in a manufacturing context with a contract manufacturer.
_CONTRACT_WEAK = [
    _Rule(
        rf"\b(?:wins?|won|bags?|bagged|lands?|landed|secures?|secured|receives?|received|awarded|gets|nets"
        rf"|clinch\w*|books?|inks?|inked|signs?|signed|seals?|sealed|strikes?|struck|enters?(?: into)?"
        rf"|entered(?: into)?|reach(?:es|ed)?|finali[sz]\w*|expands?|expanded|extends?|extended|renews?"
        rf"|renewed|forges?|forged|establish\w*|agrees?|agreed|announces?|announced|unveils?|ups) "
        rf"(?:{_W} ){{0,8}}?{_DEAL}\b",
        "win wins won bag bags bagged land lands landed secure secures secured receive receives received awarded "
        "gets nets clinch clinches clinched book books ink inks inked sign signs signed seal seals sealed strike "
        "strikes struck enter enters entered reach reaches reached finalized finalised finalizes finalises expand "
        "expands expanded extend extends extended renew renews renewed forge forges forged establish establishes "
        "established agree agrees agreed announce announces announced unveil unveils ups",
        anchored=True,
        later=_DEAL_WORDS,
    ),
    _anchored(
        r"\b(?:partners?|partnered|partnering|teams? up|teamed up|collaborat\w+|joins? forces) (?:with|on)\b",
        "partner partners partnered partnering team teams teamed collaborat join joins",
    ),
    _anchored(
        rf"\b{_DEAL} with\b|\bexpansion of (?:the )?(?:[\w'-]+ ){{0,3}}?(?:partnership|collaboration)\b",
        f"{_DEAL_WORDS} ties expansion",
    ),
    _anchored(
        r"\b(?:supply|service|development|cmo|cdmo) (?:[\w-]+ ){0,1}?(?:agreement|contract|deal)s?\b",
        "supply service development cmo cdmo",
        later="agreement contract deal deals",
    ),
    _c(
        r"수주|공급 ?계약|생산 ?계약|\bauftrag\b|\bvertrag\b|\bprolonge\b|\bverlänger\w*",
        "수주 공급 생산 auftrag vertrag prolonge verlänger",
    ),
    _anchored(
        r"\b(?:extend|extends|extended|extension of|expand|expands|expanded|"
        r"continue[sd]?) (?:[\w-]+ ){0,4}?(?:partnership|collaboration|relationship)\b",
        "extend extends extended extension expand expands expanded continue continues continued",
        later="partnership collaboration relationship",
    ),
]
_MFG_AGREEMENT = re.compile(r"manufactur\w* (?:and supply )?agreement")
_MFG_CONTEXT = _anchored(
    r"(?:bio)?manufactur|produc|make\b|making\b|cmo\b|cdmo\b|cdo\b|fill|finish|bottl|drug substance"
    r"|drug product|capacity|supply\b|doses|contract development|위탁|생산|abfüll|herstell|fabricat",
    "manufactur biomanufactur produc make making cmo cdmo cdo fill finish bottl drug capacity supply doses contract"
    " abfüll herstell fabricat 위탁 생산",
)
_CDMO_WORDS = _anchored(
    r"\bcdmo|\bcmo\b|\bcdo\b|\bcrdmo|contract (?:development and )?manufactur|contract manufacturer|contractor"
    r"|toll manufactur|manufacturing partner|fill[- /&]*finish|위탁|pharmazulieferer|sous-traitant",
    "cdmo cmo cdo crdmo contract contractor toll manufacturing fill pharmazulieferer sous 위탁",
)
_ACQUISITION = _anchored(
    r"\b(?:acquir\w*|acquisition|buy|buys|buying|bought|buyout|purchas\w*|takeover|take over|takes over"
    r"|sell|sells|selling|sold|sale|divest\w*|merger)\b",
    "acquir acquisition buy buys buying bought buyout purchas takeover take takes sell sells selling sold sale "
    "divest merger",
)

# Contract vetoes.
_LICENSING = _anchored(
    r"licen[cs]\w*|royalt\w*|co-develop\w*|codevelop\w*|co-commerciali\w*|commerciali[sz]ation "
    r"(?:agreement|deal|rights|partner\w*)|drug discovery|discovery collaboration|research collaboration"
    r"|platform (?:deal|agreement|technolog\w*)|option to license|out-licens\w*|develop, license"
    r"|research projects?|workforce|training program|learning program|education|innovation opportunit\w*",
    "licen royalt co codevelop commercialization commercialisation drug discovery research platform option out "
    "develop workforce training learning education innovation",
)
_LICENSING_OVERRIDE = _c(
    r"manufactur\w* (?:and supply )?(?:services )?(?:agreement|deal|contract)|master services?|clinical supply|cmo|"
    r"cdmo|fill"
)
_RAW_MATERIAL = _anchored(
    r"raw materials?|consumables|(?:cell )?culture media|\bresins?\b|single-use (?:bags|systems|technolog\w*|products)"
    r"|bioprocess(?:ing)? (?:equipment|solutions|products)|equipment supply|supply chain solutions|\bfilters\b",
    "raw consumables cell culture resin resins single bioprocess bioprocessing equipment supply filters",
)
_ALLIANCE = _c(r"\b(?:cdmo|cmo|cdo|crdmo) (?:business|market|sector|industry)\b", "business market sector industry")
_TERMINATION = _anchored(
    r"terminat\w*|cancel\w*|scrap\w*|(?<![\w-])(?:ends?|ended|exits?|exited|pulls? out of|walks? away from) "
    r"(?:\w+ ){0,3}(?:contract|deal|agreement|partnership)|streamlin\w*|downsiz\w*",
    "terminat cancel scrap end ends ended exit exits exited pull pulls walk walks streamlin downsiz",
)
_PROSPECTIVE = _anchored(
    r"\b(?:audit|inspection|visit\w*|talks|negotiat\w*|bid\w*|pursu\w*|seek\w*|hopes?|aims? to win|courting"
    r"|consider\w*) (?:\w+ ){0,4}(?:for|on|to win|over|about) (?:a |the |new |potential )*(?:cmo|cdmo"
    r"|manufacturing|supply|production) (?:contract|deal|agreement)",
    "audit inspection visit visits visited visiting talks negotiat bid bids bidding pursu seek seeks seeking hope "
    "hopes aim aims courting consider",
)

# Plant milestone evidence.
# "strikes deal for Belgian CDMO": buying a plant or a contract manufacturer, not hiring one.
_DEAL_FOR_ASSET = _anchored(
    r"\bdeal (?:for|to buy|to acquire) (?:a |an |the )?(?:[\w-]+ ){0,3}?(?:cdmo|cmo|contract manufacturer|plant"
    r"|facility|site)\b(?! services| capacity| support)",
    "deal",
)
_PLANT_STRONG = [
    # construction
    _anchored(
        r"\bbreak(?:s|ing)? ground|\bbroke ground|\bbroken ground|ground-?breaking|ground breaking|foundation stone"
        r"|cornerstone|topping[- ]out|topped out|\btops? out|steel erection|structural completion"
        r"|mechanical completion|site unveiling|착공|기공식|준공|상량식|증설 ?완료|着工|竣工|开工",
        "break breaks breaking broke broken ground groundbreaking foundation cornerstone topping topped top tops "
        "steel structural mechanical site 착공 기공식 준공 상량식 증설 着工 竣工 开工",
    ),
    _anchored(
        r"\b(?:begins?|began|begun|starts?|started|commenc\w+|kicks? off|launch\w*|initiat\w*) (?:the )?"
        r"(?:construction|building work|work on|works on)\b|\bconstruction (?:of|on|begins|began|starts|started"
        r"|has (?:begun|started|commenced)|works? (?:begins?|began|start\w*)|milestone|progress)\b"
        r"|\b(?:complet\w+|finish\w*) (?:the )?construction",
        "begin begins began begun start starts started commenc kick kicks launch initiat construction complet finish "
        "finished finishes",
    ),
    # completion of an expansion or plant
    _anchored(
        r"\bcomplet\w+ (?:of )?(?:the |its |a |an )?(?:[\w$€£₩.,-]+ ){0,5}?(?:expansion|facility|plant"
        r"|building|suite|line)\b",
        "complet",
    ),
    # opening
    _anchored(
        rf"\b(?:opens?|opened|opening|inaugurat\w*|unveil\w*|ribbon[- ]cutting|cut(?:s|ting)? (?:the )?ribbon"
        rf"|grand opening|launch(?:es|ed|ing)?"
        rf"|dedicat\w+|christen\w*) (?:of )?(?:[\w$€£₩.,'-]+ ){{0,6}}?(?:\w+-)?{_PLANT}\b",
        "open opens opened opening inaugurat unveil ribbon cut cuts cutting grand launch launches launched launching "
        "dedicat christen",
        later=_PLANT_STARTS,
    ),
    _c(
        rf"\b{_PLANT} (?:[\w-]+ ){{0,3}}?(?:opens|opened|inaugurated|is now open|officially open\w*)\b",
        "opens opened inaugurated open officially",
        starts=_PLANT_STARTS,
    ),
    # operations
    _anchored(
        r"\b(?:begins?|began|begun|starts?|started|commenc\w+|kicks? off|launch(?:es|ed)?|initiat\w+)"
        r" (?:\w+ ){0,3}?(?:full-scale |commercial |gmp |cgmp |large-scale )?(?:operations?|production|manufacturing"
        r"|making|producing)\b.{0,80}?\b(?:plant|facility|site|campus|line|suite)",
        "begin begins began begun start starts started commenc kick kicks launch launches launched initiat",
        later="plant facility site campus line suite",
    ),
    _c(
        r"\b(?:plant|facility|site|campus|line|suite)s?\b.{0,60}?\b(?:begins?|began|starts?|started|commenc\w+)"
        r" (?:\w+ ){0,2}?(?:operations?|production|manufacturing)\b",
        "begin begins began start starts started commenc",
        starts="plant facility site campus line suite",
    ),
    _anchored(
        rf"\bcommission(?:s|ed|ing)? (?:of )?(?:the |a |an |its |new |first )*(?:[\w-]+ ){{0,3}}?{_PLANT}\b",
        "commission commissions commissioned commissioning",
        later=_PLANT_STARTS,
    ),
    _anchored(
        r"\bfirst (?:gmp |cgmp |commercial |engineering )?(?:batch|batches|manufacturing run|production run"
        r"|commercial (?:manufacturing )?run|lot)\b|\b(?:goes|went) (?:live|online)\b|\bcomes? online|\bcame online"
        r"|full-scale operations?|\bstart (?:making|producing|manufacturing)|가동",
        "first goes went come comes came full start 가동",
    ),
    # regulatory pass of a facility
    _anchored(
        r"\b(?:eu-?)?gmp (?:certificat\w*|approval|licen[cs]e|compliance)|\bmanufacturing (?:licen[cs]e|"
        r"authori[sz]ation"
        r"|permit)|\b(?:licen[cs]ed|approved|certified|cleared|qualified) (?:the )?(?:[\w-]+ ){0,3}?(?:plant|facility"
        r"|site|line)\b|\b(?:approval|nod|clearance|go-ahead|certification|licen[cs]e) for (?:the |its |a |new )*"
        r"(?:[\w-]+ ){0,3}?(?:plant|facility|site|line)\b|\bpre-?approval inspection"
        r"|\bpre-?licen[cs]e inspection|\bpass(?:es|ed)? (?:[\w-]+ ){0,3}inspection|\bgreen light for (?:[\w-]+ ){0,3}"
        r"(?:plant|facility|site)|\bsegmented manufacturing",
        "gmp eu eugmp manufacturing licensed licenced approved certified cleared qualified approval nod clearance go "
        "certification license licence pre preapproval prelicense prelicence pass passes passed green segmented",
    ),
    _c(
        r"\b(?:plant|facility|site)s? (?:[\w-]+ ){0,3}?(?:approval|certification|licen[cs]e)\b|gmp 인증",
        "approval certification license licence 인증",
    ),
    # closure, idling, layoffs at a site
    _anchored(
        rf"\b(?:clos(?:e|es|ed|ing|ure)|shut(?:s|ting)?(?: down)?|shutter\w*|idl(?:e|es|ed|ing)|mothball\w*"
        rf"|wind(?:s|ing)? down|pull\w* (?:the )?plug on|consolidat\w+) (?:of )?(?:[\w,'-]+ ){{0,5}}?{_PLANT_ASSET}\b",
        "close closes closed closing closure shut shuts shutting shutter idle idles idled idling mothball wind winds "
        "winding pull pulls pulled pulling consolidat",
        later=_PLANT_ASSET_STARTS,
    ),
    _anchored(
        r"\blay(?:s|ing)? off|\blayoffs?\b|\bjob cuts\b|\bcut(?:s|ting)? (?:[\w-]+ ){0,4}jobs\b|\bredundanc\w+|폐쇄",
        "lay lays laying layoff layoffs job cut cuts cutting redundanc 폐쇄",
    ),
    # acquisition or sale of a plant or of a contract manufacturer
    _anchored(
        rf"{_ACQUISITION.pattern} (?:[\w$€£₩¥.,'&-]+ ){{0,8}}?{_PLANT_ASSET}\b",
        "acquir acquisition buy buys buying bought buyout purchas takeover take takes sell sells selling sold sale "
        "divest merger",
        later=_PLANT_ASSET_STARTS,
    ),
    _c(
        rf"\b{_PLANT_ASSET} (?:[\w-]+ ){{0,2}}?(?:acquisition|purchase|sale|buy|takeover)\b",
        "acquisition purchase sale buy takeover",
        starts=_PLANT_ASSET_STARTS,
    ),
    _anchored(
        rf"\b(?:throws? down|pays?|paid|paying|shells? out|forks? over|spends?|spent) (?:[\w$€£₩.,'-]+ ){{0,4}}?"
        rf"(?:for|on|to (?:buy|acquire)) (?:[\w$€£₩.,'&-]+ ){{0,5}}?{_PLANT_ASSET}\b",
        "throw throws pay pays paid paying shell shells fork forks spend spends spent",
        later=_PLANT_ASSET_STARTS,
    ),
    _DEAL_FOR_ASSET,
    _c(r"공장 ?인수|인수", "인수"),
]
_PLANT_WEAK = [
    _Rule(
        rf"\b(?:to|will|would|plans? to|set to|intends to|aims to) (?:[\w-]+ ){{0,2}}?(?:build|construct|set up"
        rf"|establish|erect|open|add|create) (?:[\w$€£₩.,'-]+ ){{0,6}}?{_PLANT}\b",
        "to will would plan plans set intends aims",
        anchored=True,
        later="build construct set establish erect open add create",
    ),
    _anchored(
        rf"\b(?:expan\w+|scal\w+ up|scales up|boost\w*|bolster\w*|doubl\w+|tripl\w+|increas\w+|adds?|adding"
        rf"|augment\w*|upgrad\w*|extend\w*|invest\w*) (?:[\w$€£₩.,'-]+ ){{0,6}}?{_PLANT}\b",
        "expan scal scales boost bolster doubl tripl increas add adds adding augment upgrad extend invest",
        later=_PLANT_STARTS,
    ),
    _anchored(r"\bexpansion plans?\b|증설", "expansion 증설"),
    _anchored(
        r"\b(?:plans?|announces?|announced|unveils?|unveiled|details|outlines) (?:a |an |its |major |new )*"
        r"(?:[\w$€£₩.,-]+ ){0,3}?expansion\b",
        "plan plans announce announces announced unveil unveils unveiled details outlines",
        later="expansion",
    ),
    _c(rf"\b{_PLANT} expansions?\b", "expansion expansions", starts=_PLANT_STARTS),
    _anchored(
        r"\bnew (?:[\w-]+ ){0,3}?(?:production|manufacturing|filling) lines?\b|\badditional (?:[\w-]+ ){0,2}?suites\b",
        "new additional",
    ),
    _anchored(
        r"\baddition of (?:a |an )?(?:new |\d+(?:st|nd|rd|th) )?(?:[\w-]+ ){0,3}?(?:site|plant|facility|line|"
        r"suites?)\b",
        "addition",
    ),
]
# Building a plant, expanding a named physical site or production capacity, investing in a new
# plant, or creating jobs: these need no further figure.
_PHYSICAL = r"(?:plants?|facility|facilities|sites?|factory|factories|campus|hub|suites?|lines?)"
_PLANT_BUILD = [
    _anchored(
        r"\b(?:building|builds?|built|construct\w*) (?:a |an |its |the )?(?:new |second |third |fourth |"
        r"fifth )?(?:[\w$€.,-]+ ){0,4}?(?:plant|facility|factory)",
        "building build builds built construct",
        later="plant facility factory",
    ),
    _anchored(
        rf"\bexpansion (?:of|at|in|to) (?:its |the )?(?:[\w,.()-]+ ){{0,8}}?(?:{_PHYSICAL}|(?:production|manufacturing)"
        rf" capacity)\b",
        "expansion",
        later="plant facility site factory campus hub suite line production manufacturing",
    ),
    _c(
        rf"\b(?:{_PHYSICAL}|(?:production|manufacturing|fill-finish|filling) capacity) expansions?\b",
        "expansion expansions",
        starts="plant facility site factory campus hub suite line production manufacturing fill filling",
    ),
    _anchored(
        r"\b(?:expands?|expanded|expanding|boosts?|boosted|boosting|doubles?|doubled|doubling|triples?|tripled)"
        r" (?:its |their |the )?(?:[\w-]+ ){0,3}?(?:production|manufacturing|fill-finish|filling) capacity\b",
        "expand expands expanded expanding boost boosts boosted boosting double doubles doubled doubling triple"
        " triples tripled",
        later="capacity",
    ),
    _anchored(
        r"\binvest(?:s|ed|ing|ment)? (?:of )?(?:[\w$€£₩.,+-]+ ){0,3}?in (?:a |an |its )?new (?:[\w-]+ ){0,5}?"
        r"(?:plant|facility|site|campus|factory)\b",
        "invest invests invested investing investment",
        later="plant facility site campus factory",
    ),
    _anchored(
        r"\b(?:set|sets) up (?:a |an )?(?:[\w$€.,-]+ ){0,4}?(?:plant|facility|factory)",
        "set sets",
        later="plant facility factory",
    ),
    _anchored(
        r"\b(?:creat\w+|add\w*|hir\w+|plots?) (?:[\w-]+ ){0,3}?\d[\d,]* (?:new )?(?:jobs|hires|positions)\b",
        "creat add adds adding added additional hire hires hiring hired plot plots",
        later="jobs hires positions",
    ),
]
_INVEST_VERB = _c(
    r"invest\w*|spend\w*|\bdrop\w*|\bpour\w*|commit\w*|\$|€|£|₩|won\b|crore",
    needs="invest spend drop pour commit $ € £ ₩ won crore",
)
_CONCRETE = _c(
    r"\d[\d,.]* ?(?:sq\.? ?ft|square[- ]f(?:oo|ee)t|square met(?:er|re)s|m2|m²|liters?|litres?|l\b|-liter|-litre)"
    r"|\d[\d,]* (?:new )?(?:jobs|hires|positions|employees|workers|staff)\b|\b(?:two|three|four|five|six|nine|\d+)"
    r" (?:new )?(?:suites|lines|bioreactors)|\bx ?\d{3,5} ?l\b|\b\d+(?:st|nd|rd|th) (?:global |new )?(?:site|plant|"
    r"facility)",
    "sq square m m2 liter liters litre litres l jobs hires positions employees workers staff suites lines "
    "bioreactors x site plant facility liter",
)
# _CONCRETE split for a yes/no answer (a match exists iff one of these finds one), so that each starts
# with what the engine skips to by itself: a digit (a \b before it becomes "not after a word
# character", the lookbehind after the digit), the "x" of "x 2000 l", or the number words, searched
# only when the word they need follows somewhere.
_CONCRETE_DIGIT = re.compile(
    r"\d(?:[\d,.]* ?(?:sq\.? ?ft|square[- ]f(?:oo|ee)t|square met(?:er|re)s|m2|m²|liters?|litres?|l\b|-liter|-litre)"
    r"|[\d,]* (?:new )?(?:jobs|hires|positions|employees|workers|staff)\b"
    r"|(?<!\w\d)\d* (?:new )?(?:suites|lines|bioreactors)"
    r"|(?<!\w\d)\d*(?:st|nd|rd|th) (?:global |new )?(?:site|plant|facility))"
)
_CONCRETE_X = re.compile(r"x(?<!\wx) ?\d{3,5} ?l\b")
_CONCRETE_WORDS = re.compile(r"\b(?:two|three|four|five|six|nine) (?:new )?(?:suites|lines|bioreactors)")
_PLACE_AFTER = re.compile(r"(?:in|at) (?:its |the )?[A-Z][\w.'-]+")

# Plant vetoes.
_LAB_OR_OFFICE = _anchored(
    r"\boffices?\b|headquarters|\bhq\b|r&d|research (?:and development )?(?:cent(?:er|re)|facility|institute|hub|site)"
    r"|laborator\w+|\blabs?\b|\bqc\b|quality control|testing|analytical|biosafety|innovation (?:cent(?:er|re)|hub)"
    r"|development (?:cent(?:er|re)|facility)|training|academy|warehouse|distribution cent(?:er|re)|museum",
    "office offices headquarters hq r research laborator lab labs qc quality testing analytical biosafety innovation "
    "development training academy warehouse distribution museum",
)
_MANUFACTURING = _anchored(
    r"(?:bio)?manufactur|production|gmp\b|cgmp|plants?\b|fill|bioreactor|factory|공장",
    "manufactur biomanufactur production gmp cgmp plant plants fill bioreactor factory 공장",
)
_WEIGHED = _anchored(
    r"\bweigh\w*|\bmull\w*|consider\w*|\beyes\b|\beyeing\b|explor\w*|evaluat\w*|scout\w*|shortlist\w*|could build"
    r"|may build|in talks|potential (?:new )?(?:site|plant)|feasibility",
    "weigh weighs weighing mull mulls mulling consider considers considering considered eyes eyeing explor evaluat"
    " scout shortlist could may in potential feasibility",
)
# Evidence that only recalls the past: "after purchasing the site", "follows the 2022 agreement for the expansion".
_BACKGROUND = re.compile(
    r"\b(?:after|since|following|follows|followed|previous|previously|earlier|prior to|(?:19|20)\d\d)\b[^,.;:]{0,35}$"
)
# Every _BACKGROUND match contains one of these: its first word (a year starts with 19 or 20).
_BACKGROUND_NEEDS = ("after", "since", "follow", "previous", "earlier", "prior to", "19", "20")


def _background(lower: str, start: int) -> bool:
    """`_BACKGROUND.search(lower, max(0, start - 45), start)`, without the search at every position of the
    window when none of the words a match starts with occurs in it (most windows)."""
    window = max(0, start - 45)
    return _has_any(lower, _BACKGROUND_NEEDS, window, start) and _BACKGROUND.search(lower, window, start) is not None


_VISIT = _anchored(r"\b(?:visits?|visited|inspects|tours?|toured)\b", "visit visits visited inspects tour tours toured")

# Vetoes for both labels. Title-only unless noted.
_EARNINGS = _anchored(
    r"\bq[1-4]\b|\bquarter\w*|\b[1-4]q\b|\bh[12]\b|first half|second half|half-year|full-year|\bfy ?\d+|net (?:income"
    r"|profit|loss)|\bprofits?\b|\brevenues?\b|\bearnings\b|\bresults\b|sales (?:rebound|growth|fall|drop|rise)"
    r"|\bguidance\b|\boutlook\b|operating (?:profit|income|loss)|ausblick|umsatz|gewinn|halbjahr|quartal"
    r"|\bshares? (?:jump|fall|rise|drop|surge|slump|soar)|\bstock\b|downgrade|\bwarns\b|\banalysts?\b|영업이익|실적",
    "q1 q2 q3 q4 quarter 1q 2q 3q 4q h1 h2 first second half year full fy fy19 fy20 fy21 fy22 fy23 fy24 fy25 fy26 "
    "fy27 fy28 fy29 fy30 net profit profits revenue revenues earnings results sales guidance outlook operating "
    "ausblick umsatz gewinn halbjahr quartal share shares stock downgrade warns analyst analysts 영업이익 실적",
)
_EXECUTIVE = _anchored(
    r"(?:\b(?:ceo|cfo|coo|cto|chief (?:executive|financial|operating|commercial|technology) officer|chief executive"
    r"|president|chairman|chairwoman)\b.{0,40}\b(?:appoint\w*|names?|named|hires?|poach\w*|promot\w*|steps? down"
    r"|resign\w*|depart\w*|retir\w*|succeed\w*|exit\w*)|\b(?:appoint\w*|names?|named|hires?|poach\w*|promot\w*"
    r"|seeks?|new)\b.{0,40}\b(?:ceo|cfo|coo|chief executive|president|head)\b)",
    "ceo cfo coo cto chief president chairman chairwoman appoint appoints appointed appointing appointment name names"
    " named hire hires hired poach poaches poached promot seek seeks new",
)
_FINANCING = _anchored(
    r"\bipo\b|pre-ipo|initial public offering|\braises?\b|\braised\b|fund-?raising|funding round|series [a-f]\b"
    r"|\bfinancing\b|private placement|\blisting\b|stake sale|\bbonds?\b|\bloan\b|\bbank\b|상장|투자 유치",
    "ipo pre initial raise raises raised fund fundraising funding series financing private listing stake bond bonds"
    " loan bank 상장 투자",
)
_LAWSUIT = _anchored(
    r"lawsuit|litigation|class action|\bsettle(?:s|d|ment)?\b|\bsues\b|\bsued\b|\bcourt\b|\bcomplaint\b|bpcia"
    r"|patent infringement|arbitration|injunction",
    "lawsuit litigation class settle settles settled settlement sues sued court complaint bpcia patent arbitration "
    "injunction",
)
_EXPLAINER = _anchored(
    r"\b(?:how to|what (?:is|are)|why|guide|choos\w+ (?:the right|a|your) |selection strategy|considerations"
    r"|explainer|market (?:size|report|research|forecast|share|analysis|outlook|set to)|cagr|forecasts?"
    r"|report by|act|legislat\w*|policy|opinion|editor|commentary|paradox|survey"
    r"|ranking|profile|anniversary|at \d+ years|landscape|navigat\w*|reshap\w*|preparing for|lessons"
    r"|out-licensing|k-bio|trends)\b",
    "how what why guide choos selection considerations explainer market cagr forecast forecasts report act legislat"
    " policy opinion editor editorial commentary paradox survey ranking profile anniversary at landscape navigat"
    " reshap preparing lessons out k trends",
)
_YEAR_RANGE = re.compile(r"\d{4} ?[-–] ?\d{4}")  # "2023-2030" (reports)

_REGULATORY_HEADLINE = _anchored(
    r"\b(?:fda|ema|mfds|nmpa|chmp|mhra|health canada|regulators?)\b.{0,40}\b(?:approv\w*|nod|clears?|accepts?"
    r"|grants?)|\bapprov\w* (?:[\w-]+ ){0,3}(?:drug|therapy|biosimilar|vaccine|treatment|for)\b|\bnod\b|\bfiles\b"
    r"|\bfiling\b|\bsubmits?\b|accepted for review|\bbla\b|\bnda\b|marketing authori[sz]ation|\bphase (?:[1-3]|i+)\b"
    r"|\btrial\b|endpoints?",
    "fda ema mfds nmpa chmp mhra health regulator regulators approv nod files filing submit submits accepted bla nda "
    "marketing phase trial endpoint endpoints",
)
_INSPECTION_FINDINGS = _anchored(
    r"\b483s?\b|warning letter|deficienc\w*|\bobservations\b|wrist slap|import alert|\brecalls?\b|consent decree"
    r"|quality (?:lapses|issues|problems)|control lapses|contaminat\w*|violations",
    "483 483s warning deficienc observations wrist import recall recalls consent quality control contaminat violations",
)
_FEATURE = _anchored(
    r"\binterview\b|\bq&a\b|\bfeature\b|\bspotlight\b|\bexclusive\b|\bgrowth pill\b|\bdrive growth\b"
    r"|\bset to double\b|\bat (?:the )?(?:bio|bio usa|bio international|cphi|dcat|bioprocess international)\b"
    r"|\bconference\b|\bconvention\b|trade (?:show|event)|\bpavilion\b|\bshowcase\w*|\bdisplays\b|\bsummit\b|"
    r"\bwebinar\b",
    "interview q feature spotlight exclusive growth drive set at conference convention trade pavilion showcase "
    "displays summit webinar",
)


# --- evidence --------------------------------------------------------------------------------


def _active(doc: _Doc, rules: list[_Rule]) -> list[_Rule]:
    """The rules of a list whose triggers occur in the item (skips a call per rule that cannot match)."""
    active = doc.active
    return [rule for rule in rules if rule in active]


def _contract_evidence(doc: _Doc) -> _Evidence:
    evidence = _Evidence()
    for pattern in _active(doc, _CONTRACT_STRONG):
        for m in pattern.finditer(doc):
            evidence.strong.append(doc.text[m.start() : m.end()])
    for pattern in (_MAKE_FOR, _SUPPORT_MFG, _PROVIDE_MFG):
        for m in pattern.finditer(doc):
            if _client_marked(doc, m.start(), m.end()):
                evidence.strong.append(doc.text[m.start() : min(m.end() + 40, len(doc.text))].split("\n")[0])
    for m in _makes_after_cdmo(doc):
        if _client_marked(doc, m.start(), m.end()):
            evidence.strong.append(doc.text[m.start() : min(m.end() + 40, len(doc.text))].split("\n")[0])
    item_is_acquisition = bool(_ACQUISITION.first(doc))
    for pattern in _active(doc, _CONTRACT_WEAK):
        for m in pattern.finditer(doc):
            s_start, s_end = doc.sentence_span(m.start())
            if _acquisition_deal(doc, s_start, s_end):
                continue
            if _MFG_CONTEXT.in_span(doc, s_start, s_end) or (
                _cdmo_in_sentence(doc, m.start()) and not item_is_acquisition
            ):
                evidence.weak.append(doc.text[m.start() : m.end()])
    return evidence


def _cdmo_just_before(doc: _Doc, pos: int) -> bool:
    return any(_is_proper_cdmo(doc, m.company) for m in doc.mentions if 0 <= pos - m.end <= 2)


def _makes_after_cdmo(doc: _Doc) -> list[re.Match[str]]:
    """The matches of `_MAKES.finditer(doc)` for which `_cdmo_just_before` holds, the regex tried only at
    the word starts 0-2 characters after a contract manufacturer's name (most of its words follow none).

    `_MAKES` is anchored and its matches are single ASCII words, so no match covers another word start:
    each start that matches gives a match of finditer, whatever the starts skipped here gave."""
    if _MAKES not in doc.active:
        return []
    ends = {m.end for m in doc.mentions if _is_proper_cdmo(doc, m.company)}
    found: list[re.Match[str]] = []
    if not ends:
        return found
    match, lower = _MAKES.matcher.match, doc.lower
    for start in _MAKES._starts(doc):
        if any(0 <= start - end <= 2 for end in ends):
            m = match(lower, start)
            if m is not None:
                found.append(m)
    return found


def _cdmo_in_sentence(doc: _Doc, pos: int) -> bool:
    start, end = doc.sentence_span(pos)
    return any(_is_proper_cdmo(doc, m.company) for m in doc.mentions_between(start, end))


def _client_marked(doc: _Doc, start: int, end: int) -> bool:
    """The verb phrase at start..end is followed by something that belongs to a client."""
    window_end = min(len(doc.lower), end + 70)
    newline = doc.lower.find("\n", end, window_end)
    window_end = newline if newline >= 0 else window_end
    if _CLIENT_MARK.search(doc, doc.lower, end, window_end):
        return True
    # "to help Pfizer make ...": a client named inside the phrase counts too
    return any(not doc.vocabulary.is_cdmo_group(m.company) for m in doc.mentions_between(start + 3, window_end))


def _acquisition_deal(doc: _Doc, start: int, end: int) -> bool:
    """A generic "deal" in a sentence (doc.lower[start:end]) about buying or selling a company or plant is M&A.

    Searched in place rather than in a copy of the sentence, so the anchored rules are tried only
    where their first words start (a sentence starts the text or follows a space: same boundaries)."""
    lower = doc.lower
    bought = _ACQUISITION.search(doc, lower, start, end) or _DEAL_FOR_ASSET.search(doc, lower, start, end)
    return bool(bought) and not _MFG_AGREEMENT.search(lower, start, end)


def _plant_evidence(doc: _Doc) -> _Evidence:
    evidence = _Evidence()
    for pattern in _active(doc, _PLANT_STRONG):
        for m in pattern.finditer(doc):
            if _plant_evidence_ok(doc, m.start(), m.end()):
                evidence.strong.append(doc.text[m.start() : m.end()])
    for pattern in _active(doc, _PLANT_WEAK):
        for m in pattern.finditer(doc):
            if not _plant_evidence_ok(doc, m.start(), m.end()):
                continue
            phrase = doc.text[m.start() : m.end()]
            if _concrete_nearby(doc, m.start(), m.end()):
                evidence.weak.append(phrase)
            elif doc.amounts or _concrete_in(doc, 0, len(doc.lower)):
                evidence.loose.append(phrase)
    for pattern in _active(doc, _PLANT_BUILD):
        for m in pattern.finditer(doc):
            if _plant_evidence_ok(doc, m.start(), m.end()):
                evidence.weak.append(doc.text[m.start() : m.end()])
    evidence.weak.extend(_acquired_cdmo(doc))
    evidence.weak.extend(_investment_evidence(doc))
    return evidence


def _plant_evidence_ok(doc: _Doc, start: int, end: int) -> bool:
    """Not about a lab or office (company names masked), not weighed, not a recalled past event."""
    if _background(doc.lower, start):
        return False
    s_start, s_end = doc.sentence_span(start)
    masked = doc.masked
    if _LAB_OR_OFFICE.in_span(doc, start, end, masked) and not _MANUFACTURING.in_span(doc, start, end, masked):
        return False
    if _LAB_OR_OFFICE.in_span(doc, s_start, s_end, masked) and not _MANUFACTURING.in_span(doc, s_start, s_end, masked):
        return False
    return not _WEIGHED.in_span(doc, s_start, s_end, masked)


def _concrete_nearby(doc: _Doc, start: int, end: int) -> bool:
    """An expansion counts when its sentence gives a figure, jobs, space, or a named place."""
    s_start, s_end = doc.sentence_span(start)
    if _concrete_in(doc, s_start, s_end):
        return True
    if any(s_start <= a.start < s_end for a in doc.amounts):
        return True
    return bool(_PLACE_AFTER.search(doc.text[end : end + 40]))


def _concrete_in(doc: _Doc, start: int, end: int) -> bool:
    """Whether `_CONCRETE.search(doc, doc.lower, start, end)` finds a figure, without its slow scan."""
    if _CONCRETE not in doc.active:
        return False
    lower = doc.lower
    if _CONCRETE_DIGIT.search(lower, start, end) or _CONCRETE_X.search(lower, start, end):
        return True
    words = any(lower.find(word, start, end) >= 0 for word in ("suites", "lines", "bioreactors"))
    return words and _CONCRETE_WORDS.search(lower, start, end) is not None


def _acquired_cdmo(doc: _Doc) -> list[str]:
    """Buying a contract manufacturer (its plants are the asset): "to acquire Forge Biologics"."""
    found = []
    for m in _ACQUISITION.finditer(doc):
        window_end = min(len(doc.lower), m.end() + 80)
        newline = doc.lower.find("\n", m.end(), window_end)
        window_end = newline if newline >= 0 else window_end
        targets = [x for x in doc.mentions_between(m.end(), window_end) if _is_proper_cdmo(doc, x.company)]
        if targets and " by " not in doc.lower[m.end() : targets[0].start]:
            found.append(doc.text[m.start() : targets[0].end])
    return found


def _is_proper_cdmo(doc: _Doc, name: str) -> bool:
    company = doc.vocabulary.get(name)
    return company is not None and company.is_cdmo


_DIRECT_PLANT = re.compile(
    r"\+?\s*(?:[\w-]+ ){0,2}?(?:manufacturing |production )?(?:facility|plant|factory|site|campus)"
)
_INVESTMENT_NOUN = re.compile(r"\s*(?:investment|expansion|project|upgrade)")
_INTO_PLANT = re.compile(
    rf"\+?\s*(?:[\w-]+ ){{0,4}}?{_PLANT}\b|\s*(?:[\w-]+ ){{0,3}}?(?:in|into|to|for) (?:[\w,.'-]+ ){{0,6}}?{_PLANT}\b"
    r"|\s*(?:in|into) (?:u\.s\. |us |domestic |new |its |additional )?(?:manufacturing|production)\b"
    r"(?! (?:contract|deal|agreement|partner))"
)


def _investment_evidence(doc: _Doc) -> list[str]:
    """An amount invested in a plant, site or capacity ("$75 million in Canton site")."""
    found = []
    for amount in doc.amounts:
        before = doc.lower[max(0, amount.start - 40) : amount.start]
        after = doc.lower[amount.end : amount.end + 60]
        invested = _DIRECT_PLANT.match(after) or _INVEST_VERB.search(doc, before) or _INVESTMENT_NOUN.match(after)
        if not invested or not _INTO_PLANT.match(after):
            continue
        if _plant_evidence_ok(doc, amount.start, amount.end + len(after)):
            found.append(doc.text[max(0, amount.start - 12) : amount.end + 40].split("\n")[0].strip())
    return found


# --- vetoes ----------------------------------------------------------------------------------


def _hard_veto_both(doc: _Doc) -> bool:
    """Earnings, executive, financing or explainer headline; lawsuit or inspection findings."""
    return bool(
        _EARNINGS.in_title(doc)
        or _EXECUTIVE.in_title(doc)
        or _FINANCING.in_title(doc)
        or _EXPLAINER.in_title(doc)
        or _question_or_years(doc.title)
        or _LAWSUIT.first(doc)
        or _INSPECTION_FINDINGS.first(doc)
    )


def _question_or_years(title: str) -> bool:
    """A question headline, or a range of years: what searching `\\?\\s*$|\\d{4} ?[-–] ?\\d{4}` finds, but
    a regex search tries every position of the title, and most titles have neither "?" nor a dash."""
    if title.rstrip().endswith("?"):  # `\s*$`: `\s` and str.rstrip agree on what whitespace is
        return True
    return _has_year_range(title)


def _has_year_range(title: str) -> bool:
    """Whether `_YEAR_RANGE.search(title)` finds a match: its dash follows four digits, or four digits and a
    space, so the regex is only matched there, at dashes after a digit (`\\d` is str.isdecimal)."""
    for dash in "-–":
        pos = title.find(dash)
        while pos >= 0:
            for start, digit in ((pos - 4, pos - 1), (pos - 5, pos - 2)):
                if start >= 0 and title[digit].isdecimal() and _YEAR_RANGE.match(title, start) is not None:
                    return True
            pos = title.find(dash, pos + 1)
    return False


def _soft_veto_both(doc: _Doc) -> bool:
    """Drug-approval, trial, interview or conference headline: only strong evidence survives."""
    return bool(_REGULATORY_HEADLINE.in_title(doc) or _FEATURE.in_title(doc))


def _hard_veto_plant(doc: _Doc) -> bool:
    return bool(_WEIGHED.in_title(doc) or _VISIT.in_title(doc) or _lab_headline(doc))


def _lab_headline(doc: _Doc) -> bool:
    end, masked = doc.title_end, doc.masked
    return bool(_LAB_OR_OFFICE.in_span(doc, 0, end, masked)) and not _MANUFACTURING.in_span(doc, 0, end, masked)


def _contract_vetoed(doc: _Doc, contract: _Evidence) -> bool:
    """Licensing, termination, prospective deal, raw-material supply, or CDMO-to-CDMO alliance."""
    explicit = any(_LICENSING_OVERRIDE.search(doc, p.lower()) for p in contract.strong)
    if _LICENSING.first(doc) and not explicit:
        return True
    if _TERMINATION.first(doc) or _PROSPECTIVE.first(doc):
        return True
    if _RAW_MATERIAL.first(doc) or _only_suppliers(doc):
        return True
    return _cdmo_alliance(doc)


def _only_suppliers(doc: _Doc) -> bool:
    """Every counterparty of the CDMO is a raw-material supplier (Merck KGaA, Sartorius, ...)."""
    roles = [doc.vocabulary.get(m.company) for m in doc.mentions]
    suppliers = [c for c in roles if c is not None and "supplier" in c.roles and not c.is_cdmo]
    others = [c for c in roles if c is not None and c.roles & {"pharma", "biotech", "government"}]
    return bool(suppliers) and all(c in suppliers for c in others)


def _cdmo_alliance(doc: _Doc) -> bool:
    """Contract manufacturers cooperating with each other, with no client named or described."""
    if _UNDISCLOSED.first(doc):
        return False
    vocab = doc.vocabulary
    names = {m.company for m in doc.mentions}
    cdmos = [n for n in names if vocab.is_cdmo_group(n)]
    clients = [n for n in names if n not in cdmos and not any(vocab.related(n, c) for c in cdmos)]
    if clients or not cdmos:
        return False
    groups: list[str] = []
    for name in cdmos:
        if not any(vocab.related(name, g) for g in groups):
            groups.append(name)
    if len(groups) >= 2 or _ALLIANCE.search(doc, doc.masked):
        return not _is_acting_cmo(doc)
    return False


def _is_acting_cmo(doc: _Doc) -> bool:
    return any(_client_marked(doc, m.start(), m.end()) for m in _MAKE_FOR.finditer(doc))


# --- decision --------------------------------------------------------------------------------


def _decide_contract(doc: _Doc, evidence: _Evidence, soft: Callable[[], bool]) -> tuple[str, ...]:
    if not (evidence.strong or evidence.weak) or _contract_vetoed(doc, evidence):
        return ()
    if evidence.strong:
        return evidence.phrases()
    if soft() or not _has_cdmo(doc):
        return ()
    return evidence.phrases()


def _has_cdmo(doc: _Doc) -> bool:
    return any(doc.vocabulary.is_cdmo_group(m.company) for m in doc.mentions) or bool(_CDMO_WORDS.first(doc))


def _decide_plant(doc: _Doc, evidence: _Evidence, soft: Callable[[], bool], contract_strong: bool) -> tuple[str, ...]:
    # A contract's own value is no figure for an expansion: then only nearby figures count.
    allow_loose = not contract_strong
    if not (evidence.strong or evidence.weak or (allow_loose and evidence.loose)) or _hard_veto_plant(doc):
        return ()
    if evidence.strong or not soft():
        return evidence.phrases(allow_loose)
    return ()


def classify(title: str, summary: str = "", vocabulary: Vocabulary | None = None) -> Classification:
    """Label one item from its title and (optional) summary, with the evidence for each label.

    Entities are filled for flagged items; for others only `companies` and `value` are set.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    doc = _build_doc(title, summary, vocab)
    fired: dict[Label, tuple[str, ...]] = {}
    # A hard veto (earnings headline, lawsuit, ...) leaves nothing to look for: check it first.
    if _hard_veto_both(doc):
        contract = plant = _Evidence()
    else:
        contract, plant = _contract_evidence(doc), _plant_evidence(doc)
    if contract.strong or contract.weak or plant.strong or plant.weak or plant.loose:
        soft_cache: list[bool] = []

        def soft() -> bool:
            if not soft_cache:
                soft_cache.append(_soft_veto_both(doc))
            return soft_cache[0]

        fired["cdmo_contract"] = _decide_contract(doc, contract, soft)
        fired["plant_milestone"] = _decide_plant(doc, plant, soft, bool(contract.strong))
    labels = tuple(label for label in LABELS if fired.get(label))
    entities = _entities(doc, labels)
    evidence: dict[str, tuple[str, ...]] = {label: fired[label] for label in labels}
    for name in ("cdmo", "client", "value", "site"):
        value = getattr(entities, name)
        if value:
            evidence[name] = (value,)
    return Classification(labels=labels, entities=entities, evidence=evidence, version=CLASSIFIER_VERSION)


# --- entities --------------------------------------------------------------------------------

_UNDISCLOSED = _anchored(
    r"\b(?:undisclosed|unnamed|unidentified|anonymous) (?:[\w-]+ ){0,3}?(?:client|customer|company|firm|partner"
    r"|pharma\w*|biotech\w*|drugmaker)|\ban? (?:[\w.-]+ ){0,2}?(?:u\.s\.|us|american|european|asian|asia|japanese"
    r"|chinese|korean|swiss|german|global|large|major|mid-sized|mid-size|big)[\w.-]*(?:-based)? (?:[\w-]+ ){0,2}?"
    r"(?:pharma\w*|biotech\w*|biopharma\w*|drugmaker|drug company|company|firm|partner)\b|\bbig pharma (?:client|"
    r"customer)"
    r"|\b(?:u\.s\.|us|european|asian|japanese|chinese|korean)(?:-based)? (?:pharma\w*|biotech\w*|biopharma\w*|"
    r"drugmaker) (?:company|firm)?",
    "undisclosed unnamed unidentified anonymous a an big u us european asian japanese chinese korean",
)
_DECLARED_CDMO = scanning(
    r"(?:CDMO|CMO|CRDMO|[Cc]ontract manufacturer|"
    r"[Cc]ontractor)(?: giant)? (?P<a>[A-Z][\w&.'-]*(?: [A-Z][\w&.'-]*){0,3})"
    r"|(?P<b>[A-Z][\w&.'-]*(?: [A-Z][\w&.'-]*){0,3}),? (?:an?|the) (?:[\w-]+ ){0,6}?(?:CDMO|CMO|CRDMO|contract"
    r" (?:development and )?manufactur\w+ organi[sz]ation|contract manufacturer)"
)
_DECLARED_CDMO_NEEDS = ("CDMO", "CMO", "CRDMO", "ontract")  # every _DECLARED_CDMO match contains one
_TITLE_PREFIX = re.compile(
    r"^(?:(?:BRIEF|UPDATE|LEAD|EXCLUSIVE)\s*[-—:]\s*|\((?:LEAD|UPDATE|2ND LD)\)\s*|\[[^\]]*\]\s*|[A-Z]+\d*:\s*"
    r"|(?:CDMO|CMO|Korea's|Korean|Indian|Japan's|Swiss|German|Chinese|South Korea's|Spain's|France's)\s+)+"
)
_SUBJECT_STOP = re.compile(
    r"^(?:to|will|announces?|announced|opens?|breaks?|begins?|completes?|signs?|inks?|acquires?|invests?|expands?"
    r"|launch\w*|wins?|secures?|lands?|bags?|starts?|plans?|celebrates?|receives?|gets?|buys?|sells?|builds?"
    r"|adds?|and|in|on|for|with|of|at|is|has|set|taps?|picks?|selects?|partners?|closes?|holds?|marks?)$",
    re.IGNORECASE,
)
_SITE_AFTER = re.compile(
    r"(?:facility|plant|site|campus|factory|Campus|Plant) (?:in|"
    r"at) (?:the )?(?P<p>[A-Z][\w.'-]+(?:[ -][A-Z][\w.'-]+){0,3}"
    r"(?:, (?:[A-Z][\w.]+)(?: [A-Z][\w.]+)?)?)"
)
_SITE_BEFORE = scanning(
    r"(?:in|at) (?:its |the |a )?(?P<p>[A-Z][\w.'-]+(?:[ -][A-Z][\w.'-]+){0,2}(?:, [A-Z][\w.]+(?: [A-Z][\w.]+)?)?)"
    r",? (?:[\w-]+ ){0,3}?(?:facility|plant|site|campus|factory|Bio Campus)"
)
_SITE_WORDS = ("facility", "plant", "site", "campus", "factory")  # as _SITE_AFTER and _SITE_BEFORE spell them


def _occurrences(text: str, word: str) -> Iterator[int]:
    pos = text.find(word)
    while pos >= 0:
        yield pos
        pos = text.find(word, pos + 1)


_PLANT_NUMBER = scanning(r"\bPlant \d\b|\b\d(?:st|nd|rd|th) plant\b")
_PLANT_NUMBER_NEEDS = ("Plant ", "st plant", "nd plant", "rd plant", "th plant")  # every match contains one
_MODALITIES: tuple[tuple[str, _Rule], ...] = (
    ("ADC", _anchored(r"antibody[- ]drug conjugate|\badcs?\b|bioconjugat\w*", "antibody adc adcs bioconjugat")),
    (
        "cell or gene therapy",
        _anchored(
            r"cell (?:and|&) gene|gene therap\w*|cell therap\w*|\baav\b|lentivir\w*|viral vector|car-t|\bcgt\b|plasmid",
            "cell gene aav lentivir viral car cgt plasmid",
        ),
    ),
    ("mRNA", _anchored(r"\bmrna\b|messenger rna", "mrna messenger")),
    ("vaccine", _anchored(r"vaccin\w*|impfstoff\w*|백신", "vaccin impfstoff 백신")),
    (
        "oligonucleotide",
        _anchored(r"oligonucleotide|\boligo\b|sirna|antisense", "oligo oligonucleotide sirna antisense"),
    ),
    ("peptide", _anchored(r"\bpeptides?\b|glp-1", "peptide peptides glp")),
    (
        "fill-finish",
        _anchored(
            r"fill[- /&]*finish|fill and finish|aseptic fill\w*|sterile injectable|drug product|abfüll\w*|syringe",
            "fill aseptic sterile drug abfüll syringe",
        ),
    ),
    (
        "small molecule",
        _anchored(
            r"small[- ]molecule|\bapis?\b|active pharmaceutical ingredient|hpapi|solid dose|oral solid",
            "small api apis active hpapi solid oral",
        ),
    ),
    (
        "mAb",
        _anchored(
            r"monoclonal|antibod\w*|\bmabs?\b|biosimilar|mammalian|항체",
            "monoclonal antibod mab mabs biosimilar mammalian 항체",
        ),
    ),
)
_COMMERCIAL = _anchored(
    r"commercial (?:supply|manufacturing|production|scale|launch|products?)|commerciali[sz]ation|"
    r"\blate-stage to commercial"
    r"|상업",
    "commercial commercialization commercialisation late 상업",
)
_CLINICAL = _anchored(
    r"clinical[- ](?:stage|supply|trial|manufacturing|material|development)|\bphase (?:[1-3]|i+)\b|early-phase|임상",
    "clinical phase early 임상",
)


def _entities(doc: _Doc, labels: tuple[Label, ...]) -> Entities:
    stated = _stated_value(doc)
    companies = tuple(dict.fromkeys(m.company for m in doc.mentions))
    if not labels:
        return Entities(
            value=stated.text if stated else None,
            value_usd=stated.usd if stated else None,
            value_inconsistent=stated.inconsistent if stated else False,
            companies=companies,
        )
    cdmo = _pick_cdmo(doc, labels)
    client = _pick_client(doc, cdmo) if "cdmo_contract" in labels else None
    return Entities(
        cdmo=cdmo,
        client=client,
        value=stated.text if stated else None,
        value_usd=stated.usd if stated else None,
        value_inconsistent=stated.inconsistent if stated else False,
        site=_site(doc),
        modality=_modality(doc),
        stage=_stage(doc),
        companies=companies,
    )


def _pick_cdmo(doc: _Doc, labels: tuple[Label, ...]) -> str | None:
    vocab = doc.vocabulary
    cdmos = [m for m in doc.mentions if vocab.is_cdmo_group(m.company)]
    if cdmos:
        return _prefer_operating_company(doc, cdmos)
    declared = _declared_cdmo(doc)
    if declared:
        return declared
    if "cdmo_contract" in labels:
        maker = _maker_before_verb(doc)
        if maker:
            return maker
    candidates = [m for m in doc.mentions if not _only_role(doc, m.company, {"supplier", "investor", "government"})]
    if candidates:
        return candidates[0].company
    return _title_subject(doc)


def _prefer_operating_company(doc: _Doc, cdmos: list[Mention]) -> str:
    """Earliest CDMO in the item; a parent (Lotte, Fujifilm) yields to its named CDMO unit."""
    first = cdmos[0].company
    company = doc.vocabulary.get(first)
    if company is not None and not company.is_cdmo:
        for m in cdmos[1:]:
            if doc.vocabulary.related(first, m.company) and doc.vocabulary.get(m.company) is not None:
                return m.company
    return first


def _only_role(doc: _Doc, name: str, roles: set[str]) -> bool:
    company = doc.vocabulary.get(name)
    return company is not None and company.roles <= roles


def _declared_cdmo(doc: _Doc) -> str | None:
    if not _has_any(doc.text, _DECLARED_CDMO_NEEDS):
        return None  # its scan tries the second alternative at every capital letter: about 200k instructions
    for m in _DECLARED_CDMO.finditer(doc.text):
        name = (m.group("a") or m.group("b") or "").strip(" .,'")
        name = re.sub(r"(?:'s| Inc\.?| Ltd\.?| plc| AG| SE| Co\.?| Corp\.?)$", "", name).strip()
        if name and name.lower() not in {"the", "a", "an", "this", "its"} and len(name) > 2:
            return doc.vocabulary.canonical(name) or name
    return None


def _maker_before_verb(doc: _Doc) -> str | None:
    for m in _MAKE_FOR.finditer(doc):
        before = [x for x in doc.mentions if x.end <= m.start() and m.start() - x.end < 40]
        if before:
            return before[-1].company
    return None


def _title_subject(doc: _Doc) -> str | None:
    title = _TITLE_PREFIX.sub("", doc.text[: doc.title_end])
    words: list[str] = []
    for word in title.split():
        if _SUBJECT_STOP.match(word) or not word[:1].isupper():
            break
        words.append(word.rstrip(",:;"))
        if word.endswith((",", ":", ";", "'s", "’s")):
            break
    name = " ".join(words).removesuffix("'s").strip()
    if not name or len(words) > 4:
        return None
    return doc.vocabulary.canonical(name) or name


def _pick_client(doc: _Doc, cdmo: str | None) -> str | None:
    vocab = doc.vocabulary
    for m in doc.mentions:
        if cdmo and (m.company == cdmo or vocab.related(m.company, cdmo)):
            continue
        company = vocab.get(m.company)
        if company is None or (company.is_cdmo and not company.roles & {"pharma", "biotech"}):
            continue
        if company.roles & {"pharma", "biotech", "government"}:
            return m.company
    if _UNDISCLOSED.first(doc):
        return "undisclosed"
    return None


def _stated_value(doc: _Doc) -> StatedValue | None:
    title_amounts = [a for a in doc.amounts if a.start < doc.title_end]
    summary_amounts = [a for a in doc.amounts if a.start > doc.title_end]
    for group in (title_amounts, summary_amounts):
        for i in range(len(group)):
            stated = pick_value(group[i:], doc.text)
            if stated is not None and stated.inconsistent:
                return stated
    for group in (title_amounts, summary_amounts):
        stated = pick_value(group, doc.text)
        if stated is not None:
            return stated
    return None


def _site(doc: _Doc) -> str | None:
    # Both patterns need a plant word; the first one starts with it, so it is only tried there.
    plant_words = sorted(pos for word in _SITE_WORDS for pos in _occurrences(doc.lower, word))
    if plant_words:
        text = doc.text
        m = next(filter(None, (_SITE_AFTER.match(text, pos) for pos in plant_words)), None)
        if m and not doc.vocabulary.canonical(m.group("p")):
            return m.group("p")
        m = _site_before(text)
        if m and not doc.vocabulary.canonical(m.group("p")):
            return m.group("p")
    m = _PLANT_NUMBER.search(doc.text) if _has_any(doc.text, _PLANT_NUMBER_NEEDS) else None
    return m.group(0) if m else None


def _site_before(text: str) -> re.Match[str] | None:
    """`_SITE_BEFORE.search(text)`: its matches start with "in " or "at ", which str.find finds in C;
    the regex is tried there, and the leftmost match wins, as in a search."""
    best: re.Match[str] | None = None
    for lead in ("in ", "at "):
        pos = text.find(lead)
        while pos >= 0 and (best is None or pos < best.start()):
            m = _SITE_BEFORE.match(text, pos)
            if m is not None:
                best = m
                break
            pos = text.find(lead, pos + 1)
    return best


def _modality(doc: _Doc) -> str | None:
    for name, pattern in _MODALITIES:
        if pattern.first(doc):
            return name
    return None


def _stage(doc: _Doc) -> str | None:
    commercial, clinical = bool(_COMMERCIAL.first(doc)), bool(_CLINICAL.first(doc))
    if commercial and clinical:
        return "clinical and commercial"
    return "commercial" if commercial else "clinical" if clinical else None
