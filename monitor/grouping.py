"""Story grouping: decide whether a new item reports an event already seen, so it is alerted once.

One deal is printed by a wire, syndicated verbatim, mirrored under staging hosts, re-filed as
"(LEAD)", rewritten by trade press in dollars and by Korean press in won, and announced twice (by
the client and by the CDMO). Analysts want one alert for all of it, and a separate alert for the
same company's next deal, the closing of an acquisition whose signing they saw, or another plant.

The module is a pure core with no I/O. `fingerprint` reduces an item and its classification to a
compact, JSON-serialisable `StoryFingerprint`; `index_keys` gives the few blocking keys (URL, slug,
title, MinHash LSH bands, pairs of salient names, entity signatures) under which it is stored and
looked up; `same_story` compares two fingerprints with explicit rules, from the cheapest and surest
(same URL) to the loosest (same names and amount in the same weeks), after vetoes that keep apart
what must stay apart (conflicting amounts, clients or sites; signing vs closing). `assign_story`
only ever looks at the candidates an index returns for those keys inside a time window, so its cost
does not grow with the number of stored items (see docs/performance.md: scans do not scale).

Thresholds were chosen by measurement on the labelled corpus (`python -m monitor.eval_stories`).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any, Protocol

from monitor.regexes import scanning
from monitor.types import Classification, ParsedItem
from monitor.urls import canonical_url
from monitor.vocabulary import non_ascii_positions

DEFAULT_WINDOW = timedelta(days=30)
MAX_CANDIDATES = 12

# MinHash: one-permutation hashing into _BUCKETS buckets of 32-bit minima, densified by rotation.
_BUCKETS = 32
_BAND_ROWS = 2
_BANDS = 8  # LSH: 8 bands of 2 rows find pairs of Jaccard 0.5 with p = 0.90, 0.6 with p = 0.97
_NEAR_DUP = 0.5  # estimated Jaccard of word 2-shingles above which two texts are one article
_MAX_NAMES = 24
_KEY_NAMES = 5  # names whose pairs become blocking keys
_MAX_PARTIES = 12

# ---------------------------------------------------------------------------------------------
# Text normalisation


class _CombiningMarks(dict[int, int | None]):
    """A `str.translate` table that deletes combining marks, filled in as characters are met."""

    def __missing__(self, codepoint: int) -> int | None:
        kept = None if unicodedata.combining(chr(codepoint)) else codepoint
        self[codepoint] = kept
        return kept


_WITHOUT_COMBINING = _CombiningMarks()


# Curly quotes and dashes: what fold writes in ASCII (none has a decomposition for NFKD to make).
_ASCII_PUNCTUATION = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}


def fold(text: str) -> str:
    """Lower-case, accent-free, ASCII-quoted text: the form every comparison works on."""
    if text.isascii():  # most headlines: nothing to decompose (and this is on every item's path)
        return text.lower()
    positions = non_ascii_positions(text)
    if positions is None or any(text[p] not in _ASCII_PUNCTUATION for p in positions):
        text = unicodedata.normalize("NFKD", text).translate(_WITHOUT_COMBINING)
    # else only quotes and dashes (English news): no NFKD, no table lookup per character
    for fancy, plain in _ASCII_PUNCTUATION.items():
        text = text.replace(fancy, plain)
    return text.lower()


_TITLE_PREFIX = re.compile(
    r"^\s*(?:\((?:lead|urgent|update|corrected|correction|\d+(?:st|nd|rd|th)\s+ld|\d+(?:st|nd|rd|th)\s+lead)"
    r"[^)]*\)\s*|\[[^\]]{1,30}\]\s*|(?:brief|update\s*\d*|exclusive|corrected|urgent|factbox|analysis)"
    r"\s*[-:\u2014\u2013]+\s*)+",
    re.I,
)
# " - Reuters", " | Fierce Pharma", " – FiercePharma": a short trailer after a spaced separator.
_TITLE_SUFFIX = re.compile(r"\s+(?:[-|\u2013\u2014:]|::)\s+[^-|\u2013\u2014]{2,40}$")
_WORD = re.compile(r"[^\W_]+", re.U)


def title_key(title: str) -> str:
    """The title as words only, without wire prefixes ("(LEAD)", "BRIEF-") or publisher suffixes."""
    text = title.strip()
    for _ in range(2):
        text = _TITLE_PREFIX.sub("", text)
        stripped = _TITLE_SUFFIX.sub("", text)
        if len(_WORD.findall(stripped)) >= 4:
            text = stripped
    return " ".join(_WORD.findall(fold(text)))


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


# ---------------------------------------------------------------------------------------------
# MinHash (one-permutation hashing, densified): O(shingles), not O(shingles x permutations)


def minhash(words: Sequence[str]) -> tuple[int, ...]:
    """32 bucket minima of the hashed word 2-shingles (and single words for very short texts)."""
    shingles = {f"{a} {b}" for a, b in pairwise(words)} or set(words)
    mins = [-1] * _BUCKETS
    for shingle in shingles:
        h = _hash64(shingle)
        bucket, value = h % _BUCKETS, (h >> 32) & 0xFFFFFFFF
        if mins[bucket] < 0 or value < mins[bucket]:
            mins[bucket] = value
    return _densify(mins)


def _densify(mins: list[int]) -> tuple[int, ...]:
    if all(m < 0 for m in mins):
        return ()
    out = list(mins)
    for i, m in enumerate(mins):
        step = 1
        while m < 0:
            j = (i + step) % _BUCKETS
            m = mins[j] if mins[j] < 0 else (mins[j] + step * 0x9E3779B1) & 0xFFFFFFFF
            step += 1
        out[i] = m
    return tuple(out)


def jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two MinHash signatures (0 when either is empty)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    same: int = sum(map(operator.eq, a, b))  # counted in C
    return same / len(a)


# ---------------------------------------------------------------------------------------------
# Light entity extraction from text: amounts in US dollars, salient names, event kind and phase

_SCALE = {
    "trillion": 1e12,
    "tn": 1e12,
    "tril": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "mil": 1e6,
    "crore": 1e7,
    "cr": 1e7,
    "lakh": 1e5,
    "k": 1e3,
    "thousand": 1e3,
}
# Fixed, approximate rates to US dollars: good enough to tell $120 million from $1.2 billion.
_RATE = {
    "usd": 1.0,
    "$": 1.0,
    "us$": 1.0,
    "dollars": 1.0,
    "dollar": 1.0,
    "eur": 1.1,
    "€": 1.1,
    "euro": 1.1,
    "euros": 1.1,
    "gbp": 1.27,
    "£": 1.27,
    "pounds": 1.27,
    "chf": 1.1,
    "francs": 1.1,
    "krw": 1 / 1350,
    "₩": 1 / 1350,
    "w": 1 / 1350,
    "won": 1 / 1350,
    "jpy": 1 / 140,
    "¥": 1 / 140,
    "yen": 1 / 140,
    "inr": 1 / 83,
    "rs": 1 / 83,
    "rs.": 1 / 83,
    "rupees": 1 / 83,
    "cny": 1 / 7.1,
    "rmb": 1 / 7.1,
    "yuan": 1 / 7.1,
    "sek": 0.095,
    "dkk": 0.147,
    "sgd": 0.74,
    "aud": 0.66,
    "cad": 0.74,
}
_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_SCALES = r"(trillion|tril|tn|billion|bln|bn|b|million|mln|mn|mil|m|crore|cr|lakh|thousand|k)"
_MONEY_BEFORE = re.compile(
    r"(?<![\w$])(us\$|usd|\$|€|eur|£|gbp|chf|₩|krw|jpy|¥|inr|rs\.?|cny|rmb|sek|dkk|sgd|aud|cad|w(?=\d))"
    r"\s?" + _NUM + r"(?:\s?" + _SCALES + r"\b)?",
    re.I,
)
# (?=\d) lets the regex engine skip ahead to digits instead of trying the pattern at every position
_MONEY_AFTER = re.compile(
    r"(?=\d)" + _NUM + r"\s?" + _SCALES + r"?\s?(won|dollars|euros?|yen|yuan|rupees|francs|pounds)\b", re.I
)
_MIN_DEAL_USD = 1e6  # "$63.50 per share" is not a deal value


def money_usd(text: str) -> tuple[float, ...]:
    """Amounts stated in `text`, converted to US dollars at fixed rates, rounded, largest first."""
    found: list[float] = []
    for m in _MONEY_BEFORE.finditer(text):
        found.append(_amount(m.group(2), m.group(3), m.group(1)))
    for m in _MONEY_AFTER.finditer(text):
        found.append(_amount(m.group(1), m.group(2), m.group(3)))
    values = {float(f"{v:.3g}") for v in found if v >= _MIN_DEAL_USD}
    return tuple(sorted(values, reverse=True))


def _amount(number: str, scale: str | None, currency: str) -> float:
    value = float(number.replace(",", ""))
    if scale:
        value *= _SCALE[scale.lower()]
    return value * _RATE.get(currency.lower(), 1.0)


def values_match(a: Iterable[float], b: Iterable[float], ratio: float) -> bool:
    """True when some amount of `a` is within `ratio` of some amount of `b`."""
    return any(max(x, y) <= ratio * min(x, y) for x in a for y in b)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that are capitalised in headlines or sentence starts but name nothing.
_STOP = _words(
    """
a an the and or but nor for of in on at to by with from into onto over under after before about as
its it his her their our we they he she this that these those is are was were be been being has have
had will would can could may might shall should do does did not no new first second third last next
one two three four five six also than then there here more most less other another such per via up
down out off amid while during since until still just only even all any each both some many much
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december jan feb mar apr jun jul aug sep sept oct nov dec today
inc ltd llc plc corp corporation co company companies group holding holdings ag sa se nv bv gmbh kk
signs sign signed inks ink strikes strike wins win bags secures secure lands land seals seal agrees
deal deals contract contracts agreement agreements pact partnership partner partners partnering
collaboration cooperation alliance mou loi supply supplies order orders manufacturing manufacture
manufacturer manufacturers make makes making produce production producing provide provides services
service plant plants facility facilities site sites factory campus capacity expansion expand expands
expanding invest invests investment investing build builds building construction opens opening open
acquire acquires acquisition acquiring buy buys buying purchase sale sell sells announce announces
announced announcement says said report reports reported plans plan planned launch launches cdmo
cdmos cmo cmos cdo crdmo cro biotech biopharma biopharmaceutical pharma pharmaceutical
pharmaceuticals drug drugs drugmaker medicine medicines therapy therapies therapeutics vaccine
vaccines firm firms global world leading largest major big key latest news update breaking exclusive
brief lead urgent million billion trillion won dollars usd krw mn bn bln crore year years market
markets size share trends analysis report forecast forecasts segment region cagr chief executive ceo
president chairman officer under terms value worth valued total approximately about around nearly
over more than up including include includes based headquartered south north east west central
"""
)
# Very common in this domain: they count, but little.
_WEAK = _words(
    """
korea korean us usa u.s america american china chinese japan japanese india indian europe european
germany german uk britain british switzerland swiss france french ireland irish asia asian biologics
bio biosciences bioscience sciences science laboratories labs pharmaceutical covid covid-19
coronavirus mrna antibody antibodies adc cell gene vector viral fill finish sterile api biosimilar
biosimilars commercial clinical contract development incheon songdo seoul fda food administration
ema agency mfds nasdaq nyse krx kospi tse lse reuters yonhap ians prnewswire newswire business wire
press release health healthcare medical research technology technologies life international
"""
)
_NAME_TOKEN = re.compile(r"[^\W_][\w&'.-]*", re.U)
_NAME_SPLIT = re.compile(r"[-/]")
_YEAR = re.compile(r"^(19|20)\d\d$")


def salient_names(text: str) -> tuple[str, ...]:
    """Capitalised words, acronyms and long numbers, folded, in order of first appearance."""
    seen: dict[str, None] = {}
    for raw in _NAME_TOKEN.findall(text):
        for token in _name_parts(raw):
            if token not in seen:
                seen[token] = None
    return tuple(seen)[:_MAX_NAMES]


# Both caches: news repeats its words, and these ran a few hundred times per fingerprint.
@lru_cache(maxsize=65_536)
def _name_parts(raw: str) -> tuple[str, ...]:
    """The name forms in one raw token: "Lonza's" -> ("lonza",), "Samsung-Lonza" -> both."""
    bare = _without_possessive(raw.rstrip(".-'"))
    return tuple(token for token in map(_name_form, _NAME_SPLIT.split(bare)) if token)


@lru_cache(maxsize=65_536)
def _party_token(raw: str) -> str:
    return _name_form(_without_possessive(raw.rstrip(".-'"))) if raw[0].isalnum() else ""


def _without_possessive(word: str) -> str:
    return word[:-2] if word.endswith("'s") else word[:-1] if word.endswith("'") else word


_PHRASE_TOKEN = re.compile(r"[^\W_][\w&'.]*|[,;:()|\"\n]", re.U)


def parties(text: str) -> tuple[str, ...]:
    """Runs of consecutive capitalised non-stop words ("eli lilly", "samsung"), strong words only.

    A party named by two words ("Charles River") counts once when comparing two items.
    """
    runs: list[list[str]] = [[]]
    for raw in _PHRASE_TOKEN.findall(text):
        token = _party_token(raw)
        if token and not token.startswith("#") and token not in _WEAK:
            runs[-1].append(token)
            if raw.endswith((".", "'s", "'", "’s")):
                runs.append([])
        elif token in _WEAK and token:
            continue
        elif runs[-1]:
            runs.append([])
    found = list(dict.fromkeys(" ".join(r) for r in runs if r))
    return tuple(p for p in found if not _inside(p, found))[:_MAX_PARTIES]


def _merge_parties(found: Sequence[str], companies: Sequence[str]) -> tuple[str, ...]:
    """Text parties plus the classifier's companies (strong words only), without sub-phrases."""
    extra = [" ".join(w for w in c.split() if w not in _WEAK and w not in _STOP) for c in companies]
    merged = list(dict.fromkeys([*found, *(e for e in extra if e)]))
    return tuple(p for p in merged if not _inside(p, merged))[:_MAX_PARTIES]


def _inside(party: str, others: Sequence[str]) -> bool:
    words = set(party.split())
    return any(o != party and words < set(o.split()) for o in others)


def shared_parties(a: Sequence[str], names_b: Iterable[str]) -> list[str]:
    """The parties of `a` that the other item names (by any of their words)."""
    words = set(names_b)
    return [p for p in a if words.intersection(p.split())]


def _name_form(part: str) -> str:
    if not part:
        return ""
    if part[0].isdigit():
        digits = part.replace(",", "")
        if digits.isdigit() and int(digits) >= 100 and not _YEAR.match(digits):
            return "#" + digits
        return ""
    if not part[0].isupper():
        return ""
    token = fold(part).strip(".'")
    if len(token) < 2 or token in _STOP:
        return ""
    return token


def name_weight(token: str) -> float:
    """How much sharing `token` says: numbers and rare names much, countries and generic words little."""
    if token.startswith("#"):
        return 1.5
    return 0.25 if token in _WEAK else 1.0


# These patterns read folded (lower-case) text, so they need no re.IGNORECASE, which made them several
# times slower (every position compared case-insensitively).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, scanning(pattern))
    for kind, pattern in (
        (
            "acquisition",
            r"\b(acquir\w*|acquisition|buy\w*|bought|purchas\w*|takeover|take over|divest\w*|"
            r"sell\w*|sale of|to sell|sold)\b",
        ),
        (
            "construction",
            r"\b(break\w* ground|groundbreaking|ground-breaking|topping[- ]out|"
            r"construction|begins? building|starts? building)\b",
        ),
        (
            "opening",
            r"\b(opens?|opening|opened|inaugurat\w*|ribbon|full-scale operations|"
            r"start\w* operations|unveil\w*)\b",
        ),
        (
            "closure",
            r"\b(clos(e|es|ing|ure) (of )?(the |its |a |two )?(\w+ )?(site|plant|facilit\w*)|"
            r"shut\w*|lay(s|ing)? off|layoffs?|job cuts|cut\w* \d+ jobs)\b",
        ),
        (
            "contract",
            r"\b(contract(?! (development|manufactur\w*|research|pharma\w*|drug)\b)|agreement|deal|pact|"
            r"letter of intent|mou|supply|partner\w*|collaborat\w*|tie-?up|orders?|manufactur\w* for|"
            r"to (make|produce|manufacture))\b",
        ),
        ("investment", r"\b(invest(s|ed|ing|ment|ments)?|expan(d|ds|ded|ding|sion|sions))\b"),
        ("regulatory", r"\b(fda|ema|mfds|483s?|warning letter|inspection|approv\w*|licen[cs]e|regulator\w*)\b"),
        ("legal", r"\b(lawsuit|class action|settle\w*|litigation|sues|sued|court)\b"),
        ("earnings", r"\b(earnings|profit|quarter\w*|results|revenue|sales|guidance|outlook)\b"),
        ("people", r"\b(ceo|cfo|appoint\w*|names new|chief executive|steps? down|resign\w*)\b"),
    )
)
# Every match of a kind's pattern contains one of these stems: a substring test (in C) skips the
# regex scan of a lede that cannot match, which is most kinds for most items.
_KIND_STEMS: dict[str, tuple[str, ...]] = {
    "acquisition": ("acqui", "buy", "bought", "purchas", "takeover", "take over", "divest", "sell", "sale of", "sold"),
    "construction": ("break", "ground", "topping", "construction", "building"),
    "opening": ("open", "inaugurat", "ribbon", "operations", "unveil"),
    "closure": ("clos", "shut", "lay", "cut"),
    "contract": (
        "contract",
        "agreement",
        "deal",
        "pact",
        "letter of intent",
        "mou",
        "supply",
        "partner",
        "collaborat",
        "tie",
        "order",
        "manufactur",
        "to make",
        "to produce",
    ),
    "investment": ("invest", "expan"),
    "regulatory": ("fda", "ema", "mfds", "483", "warning letter", "inspection", "approv", "licen", "regulator"),
    "legal": ("lawsuit", "class action", "settle", "litigation", "sues", "sued", "court"),
    "earnings": ("earnings", "profit", "quarter", "results", "revenue", "sales", "guidance", "outlook"),
    "people": ("ceo", "cfo", "appoint", "names new", "chief executive", "step", "resign"),
}
_CLOSING = scanning(
    r"\b(complet\w* (the |its |of )?(\w+ )?(acquisition|purchase|takeover|sale|merger|deal)|"
    r"(acquisition|purchase|takeover|sale|deal) (is |was |has been )?(completed|closed|finali[sz]ed)|"
    r"clos(es|ed|ing) (the |its |of )?(\w+ )?(acquisition|purchase|takeover|sale|deal)|"
    r"finali[sz]\w* (the |its )?(acquisition|purchase|takeover))\b"
)
_LOI = scanning(r"\b(letter of intent|loi|mou|memorandum of understanding|term sheet|lettre d.intention)\b")
_DEFINITIVE = scanning(r"\b(definitive|final contract|binding contract|formal contract)\b")
_PHASE_STEMS: dict[str, tuple[str, ...]] = {  # as _KIND_STEMS, for the phase patterns
    "closing": ("complet", "acquisition", "purchase", "takeover", "sale", "deal", "clos", "finali"),
    "loi": ("letter of intent", "loi", "mou", "memorandum of understanding", "term sheet", "lettre d"),
    "definitive": ("definitive", "contract"),
}


def event_kinds(text: str) -> tuple[str, ...]:
    """Coarse kinds of event a headline and lede speak of ("acquisition", "construction", ...)."""
    return _kinds_of(fold(text))


def _kinds_of(folded: str) -> tuple[str, ...]:
    return tuple(
        kind for kind, pattern in _KINDS if any(stem in folded for stem in _KIND_STEMS[kind]) and pattern.search(folded)
    )


def deal_phase(text: str) -> str:
    """ "closing" for a completed acquisition, "loi" for a letter of intent, "definitive", or ""."""
    return _phase_of(fold(text))


def _phase_of(text: str) -> str:
    closing, loi, definitive = (
        any(stem in text for stem in _PHASE_STEMS[name]) and pattern.search(text) is not None
        for name, pattern in (("closing", _CLOSING), ("loi", _LOI), ("definitive", _DEFINITIVE))
    )
    if closing:
        return "closing"
    if loi and not definitive:
        return "loi"
    return "definitive" if definitive else ""


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
        """`to_dict` as compact JSON: what the story index writes."""
        return _COMPACT_JSON.encode(self.to_dict())

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


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_SLUG_WORDS = re.compile(r"[a-z]+")


def url_slug(url: str) -> str:
    """The article's own slug or id (last path segment), which mirrors on other hosts keep."""
    path = url.split("?", 1)[0].split("://", 1)[-1]
    segments = [s for s in path.split("/")[1:] if s]
    if not segments:
        return ""
    last = re.sub(r"\.(html?|php|aspx?)$", "", segments[-1].lower())
    words = _SLUG_WORDS.findall(last)
    if len([w for w in words if len(w) > 1]) >= 4 or (
        len(last) >= 10 and words and re.search(r"\d", last) and re.fullmatch(r"[a-z]{2,5}\d{8,}", last)
    ):
        return last
    return ""


def _entity(value: str | None) -> str:
    if not value or fold(value).strip() in {"undisclosed", "unnamed", "none", "n/a"}:
        return ""
    return " ".join(_WORD.findall(fold(value)))


def fingerprint(item: ParsedItem, classification: Classification, seen_at: datetime) -> StoryFingerprint:
    """Reduce `item` to what story grouping compares; `seen_at` stands in for a missing date."""
    ent = classification.entities
    text = f"{item.title}\n{item.summary}"
    values = set(money_usd(text))
    if ent.value_usd and ent.value_usd >= _MIN_DEAL_USD and not ent.value_inconsistent:
        values.add(float(f"{ent.value_usd:.3g}"))
    url = canonical_url(item.url or item.guid)
    folded = fold(text)
    names = salient_names(text)
    company_names = tuple(_entity(c) for c in ent.companies if _entity(c))
    return StoryFingerprint(
        url=url,
        slug=url_slug(url),
        title=title_key(item.title),
        signature=minhash(_WORD.findall(folded)),
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
        at=_utc(item.published or seen_at),
    )


# ---------------------------------------------------------------------------------------------
# Blocking keys


def index_keys(fp: StoryFingerprint) -> tuple[str, ...]:
    """Keys under which `fp` is stored and candidates for it are looked up (about 10 to 30)."""
    keys: list[str] = []
    if fp.url:
        keys.append("u:" + fp.url)
    if fp.slug:
        keys.append("s:" + fp.slug)
    if len(fp.title.split()) >= 3:
        keys.append("t:" + _short_hash(fp.title))
    sig = fp.signature
    for band in range(min(_BANDS, len(sig) // _BAND_ROWS)):
        rows = sig[band * _BAND_ROWS : (band + 1) * _BAND_ROWS]
        keys.append(f"b{band}:" + _short_hash(repr(rows)))
    keys.extend(_name_keys(fp))
    keys.extend(_value_keys(fp))
    if fp.cdmo:
        keys.extend(f"e:{fp.cdmo}|{other}" for other in (fp.party, fp.site) if other)
    return tuple(dict.fromkeys(keys))


def strong_names(fp: StoryFingerprint) -> list[str]:
    """Names that identify a party (no numbers, countries or generic words), title first."""
    return [n for n in dict.fromkeys(fp.title_names + fp.names) if n not in _WEAK and not n.startswith("#")]


def _name_keys(fp: StoryFingerprint) -> list[str]:
    strong = strong_names(fp)
    top = sorted(strong[:_KEY_NAMES])
    keys = [f"n:{a}|{b}" for i, a in enumerate(top) for b in top[i + 1 :]]
    return keys + [f"p:{n}|{k}" for n in strong[:1] for k in fp.kinds[:2]]


def _value_keys(fp: StoryFingerprint) -> list[str]:
    """Primary name with the amount's bucket (quarter-decades, and the next one up)."""
    strong = strong_names(fp)
    if not strong:
        return []
    buckets = {math.floor(4 * math.log10(v)) for v in fp.values[:1]}
    buckets |= {b + 1 for b in buckets}
    return [f"v:{strong[0]}|{b}" for b in sorted(buckets)]


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
    words = {w for w in entity.split() if w not in _WEAK and w not in _STOP}
    return not (fp.name_set.isdisjoint(words) and fp.party_words.isdisjoint(words))


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
