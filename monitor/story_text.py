"""What story grouping reads in an item's text: folded words, MinHash, amounts, names, parties, event kinds.

Split from `monitor.grouping` so that it can be compiled (mypyc, see `monitor._speedups`): a story
fingerprint costs several times a classification per flagged item, nearly all of it here, while the
`StoryFingerprint` dataclass itself must stay uncompiled (parse workers pickle it). Pure functions of text;
`grouping` builds fingerprints and decides with them. The names with a leading underscore that grouping
imports are shared with it only.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import pairwise
from json.encoder import encode_basestring_ascii
from typing import Final

from monitor.vocabulary import non_ascii_positions

# MinHash: one-permutation hashing into _BUCKETS buckets of 32-bit minima, densified by rotation.
# (Final: mypyc compiles such a name to a constant or a C static; any other module-level name is a dict
# lookup each time a compiled function reads it, which the loops over words and shingles do.)
_BUCKETS: Final = 32
_MAX_NAMES = 24  # salient names kept per item
_MAX_PARTIES = 12  # parties kept per item
_MEMO_SIZE: Final = 1 << 15  # entries in each memo of this module; one that fills up is emptied (a few MB at most)

# ---------------------------------------------------------------------------------------------
# Text normalisation


# Curly quotes and dashes: what fold writes in ASCII (none has a decomposition for NFKD to make).
_ASCII_PUNCTUATION = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}


def fold(text: str) -> str:
    """Lower-case, accent-free, ASCII-quoted text: the form every comparison works on."""
    if text.isascii():  # most headlines: nothing to decompose (and this is on every item's path)
        return text.lower()
    positions = non_ascii_positions(text)
    if positions is None or any(text[p] not in _ASCII_PUNCTUATION for p in positions):
        text = "".join([c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)])
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


# ---------------------------------------------------------------------------------------------
# Tokens: the matches of _WORD, _NAME_TOKEN and _PHRASE_TOKEN, found through a bytes table
#
# Why: a regex findall over a lede cost about 190,000 instructions (a match attempt, a match object and
# a string per token), and a fingerprint ran three of them over the whole text. Where no letter or digit
# is outside ASCII (English news, once fold has made quotes and dashes ASCII, or with only symbols
# outside it), bytes.translate turns every character that cannot be in a token into a space and
# str.split cuts the tokens out, in C, several times faster. A token can hold characters it cannot
# start with ("U.S.", "a_b"); those are stripped from the front of each run of token characters,
# which is where the regex would have started. Any other text goes to the regex.


def _ascii_or_none(text: str) -> bytes | None:
    """`text` in ASCII with each non-ASCII character a "?", or None when one of them is a letter or digit.

    Outside ASCII a token character (a word character: a letter, a digit or "_") is a letter or a digit,
    so the others are gaps between tokens, as "?" is in every table below.
    """
    if text.isascii():
        return text.encode("ascii")
    positions = non_ascii_positions(text)
    if positions is None or any(text[p].isalnum() for p in positions):
        return None
    return text.encode("ascii", "replace")


def _token_table(inner: str, breaks: str = "") -> bytes:
    """A bytes.translate table: ASCII letters, digits and `inner` kept, `breaks` made "|", all else a space."""
    kept = {c for c in range(128) if chr(c).isalnum() or chr(c) in inner}
    return bytes(c if c in kept else ord("|") if chr(c) in breaks else ord(" ") for c in range(256))


def _runs_from_letter(runs: list[str], lead: str) -> list[str]:
    """The runs from their first letter or digit on (without the `lead` characters, which a token holds but
    cannot start with), and none that held nothing else."""
    return [token for token in (run.lstrip(lead) for run in runs) if token]


_WORD_GAPS: Final = _token_table("")


def _word_tokens(text: str) -> list[str]:
    """`_WORD.findall(text)`: the runs of letters and digits."""
    plain = _ascii_or_none(text)
    if plain is None:
        return _WORD.findall(text)
    return plain.translate(_WORD_GAPS).decode("ascii").split()


def title_key(title: str) -> str:
    """The title as words only, without wire prefixes ("(LEAD)", "BRIEF-") or publisher suffixes."""
    text = title.strip()
    for _ in range(2):
        text = _TITLE_PREFIX.sub("", text)
        stripped = _TITLE_SUFFIX.sub("", text)
        if len(_word_tokens(stripped)) >= 4:
            text = stripped
    return " ".join(_word_tokens(fold(text)))


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _short_hash(text: str) -> str:
    """`hashlib.blake2b(text.encode(), digest_size=6).hexdigest()`: a copy of a fresh hash object with those
    parameters is the same state, without parsing the constructor's keyword arguments again."""
    digest = _SHORT_HASH_START.copy()
    digest.update(text.encode())
    return digest.hexdigest()


_SHORT_HASH_START: Final = hashlib.blake2b(digest_size=6)  # never updated: each _short_hash works on a copy


# ---------------------------------------------------------------------------------------------
# MinHash (one-permutation hashing, densified): O(shingles), not O(shingles x permutations)


def minhash(words: Sequence[str]) -> tuple[int, ...]:
    """32 bucket minima of the hashed word 2-shingles (and single words for very short texts)."""
    shingles = [f"{a} {b}" for a, b in pairwise(words)] or list(words)  # a repeat changes no minimum
    mins = [-1] * _BUCKETS
    for shingle in shingles:
        packed = _SHINGLE_HASHES.get(shingle)
        if packed is None:
            if len(_SHINGLE_HASHES) >= _MEMO_SIZE:
                _SHINGLE_HASHES.clear()
            packed = _SHINGLE_HASHES[shingle] = _bucket_and_value(shingle)
        bucket, value = packed % _BUCKETS, packed // _BUCKETS
        if mins[bucket] < 0 or value < mins[bucket]:
            mins[bucket] = value
    return _densify(mins)


# Shingle -> its bucket and value, memoised: a BLAKE2b digest cost two thirds of a MinHash, and news
# repeats its word pairs ("of the", a company's name, a wire's boilerplate) from item to item.
_SHINGLE_HASHES: Final[dict[str, int]] = {}


def _bucket_and_value(shingle: str) -> int:
    """The shingle's bucket (low 5 bits of its 64-bit hash) and 32-bit value (high half), packed as
    value * _BUCKETS + bucket: one small int to keep, no 64-bit arithmetic on a repeat."""
    h = _hash64(shingle)
    return ((h >> 32) & 0xFFFFFFFF) * _BUCKETS + h % _BUCKETS


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
# (?=\d): only a digit starts a match (though the engine still tries that lookahead at every position:
# see _may_name_a_currency_after)
_MONEY_AFTER = re.compile(
    r"(?=\d)" + _NUM + r"\s?" + _SCALES + r"?\s?(won|dollars|euros?|yen|yuan|rupees|francs|pounds)\b", re.I
)
_MIN_DEAL_USD = 1e6  # "$63.50 per share" is not a deal value


# Not r"\d+": a pattern that opens with a repeat gives the regex engine no first character to skip ahead
# to, so it tried a match at every position of the text; one that opens with a class skips in C.
_DIGIT_RUN = re.compile(r"\d\d*")
# The last characters of _MONEY_BEFORE's currencies, in every form re.IGNORECASE matches them in (the
# long s is an s to it, the Kelvin sign a k); tests/test_story_text.py tries every code point.
_CURRENCY_ENDS: Final = frozenset("$€£₩¥.dDrRpPfFwWyYsSbBkK\u017f\u212a")
# Every currency word _MONEY_AFTER ends with contains one of these, and in text.lower() whatever its case:
# only the capitals of these letters match them case-insensitively, and each lowers to one character
# (not so "s", which the long s matches, nor "k" or "i"). tests/test_story_text.py tries every code point.
_CURRENCY_WORDS_AFTER = ("won", "dollar", "euro", "yen", "yuan", "rupee", "franc", "pound")


def money_usd(text: str) -> tuple[float, ...]:
    """Amounts stated in `text`, converted to US dollars at fixed rates, rounded, largest first."""
    found: list[float] = []
    for m in _currency_first(text):
        found.append(_amount(m.group(2), m.group(3), m.group(1)))
    if _may_name_a_currency_after(text):
        for m in _MONEY_AFTER.finditer(text):
            found.append(_amount(m.group(1), m.group(2), m.group(3)))
    values = {float(f"{v:.3g}") for v in found if v >= _MIN_DEAL_USD and math.isfinite(v)}  # not 400 digits
    return tuple(sorted(values, reverse=True))


def _currency_first(text: str) -> list[re.Match[str]]:
    """The matches of `_MONEY_BEFORE.finditer(text)`, trying the pattern only just before runs of digits.

    A match is a currency of at most three characters, an optional space and a number, so it starts
    at most four characters before the start of a run of digits. Case-insensitive, the pattern gives
    the regex engine no first character to skip ahead to: it tried every position of the text, a
    fifth of the cost of a fingerprint. Trying the positions in order from the end of the last match
    finds the same matches as finditer. And they are tried only when the character before the number
    (or before the one space the pattern allows) can end a currency: most numbers in news are not
    amounts, and four tries of a case-insensitive pattern cost more than that test.
    """
    found: list[re.Match[str]] = []
    match, last_end = _MONEY_BEFORE.match, 0
    for run in _DIGIT_RUN.finditer(text):
        digits = run.start()
        last = digits - 2 if digits > 0 and text[digits - 1].isspace() else digits - 1  # before the \s?
        if last < 0 or text[last] not in _CURRENCY_ENDS:
            continue  # "in 2030", "rose 3%": no currency ends where the number starts
        for start in range(max(last_end, digits - 4), digits):
            m = match(text, start)
            if m is not None:
                found.append(m)
                last_end = m.end()
                break
    return found


def _may_name_a_currency_after(text: str) -> bool:
    """False when _MONEY_AFTER cannot match: no currency word (in any case) that an amount could precede.

    Why: the pattern's digit lookahead gives the regex engine no character to skip ahead to, so a
    finditer tried that lookahead at every position of the text, about 6% of a fingerprint; most items
    name no currency after a number ("$120 million" is the usual form), and lowering the text and
    searching it for eight words costs a fraction of that.
    """
    lowered = text.lower()
    return any(word in lowered for word in _CURRENCY_WORDS_AFTER)


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
_WEAK: Final = _words(
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
_NAME_GAPS: Final = _token_table("_&'.-")


def _name_tokens(text: str) -> list[str]:
    """`_NAME_TOKEN.findall(text)` (see _ascii_or_none)."""
    plain = _ascii_or_none(text)
    if plain is None:
        return _NAME_TOKEN.findall(text)
    return _runs_from_letter(plain.translate(_NAME_GAPS).decode("ascii").split(), "_&'.-")


_NAME_SPLIT = re.compile(r"[-/]")
_YEAR = re.compile(r"^(19|20)\d\d$")


def salient_names(text: str) -> tuple[str, ...]:
    """Capitalised words, acronyms and long numbers, folded, in order of first appearance."""
    seen: dict[str, None] = {}
    for raw in _name_tokens(text):
        for token in _name_parts(raw):
            if token not in seen:
                seen[token] = None
    return tuple(seen)[:_MAX_NAMES]


# Raw token -> its name forms, and -> its party token, memoised: news repeats its words, and these ran a
# few hundred times per fingerprint. Plain dicts, as the shingle hashes: a lookup costs a fraction of a
# call through functools.lru_cache, which they were.
_NAME_PARTS: Final[dict[str, tuple[str, ...]]] = {}
_PARTY_TOKENS: Final[dict[str, str]] = {}


def _name_parts(raw: str) -> tuple[str, ...]:
    """The name forms in one raw token: "Lonza's" -> ("lonza",), "Samsung-Lonza" -> both."""
    parts = _NAME_PARTS.get(raw)
    if parts is None:
        if len(_NAME_PARTS) >= _MEMO_SIZE:
            _NAME_PARTS.clear()
        bare = _without_possessive(raw.rstrip(".-'"))
        parts = _NAME_PARTS[raw] = tuple(token for token in map(_name_form, _NAME_SPLIT.split(bare)) if token)
    return parts


def _party_token(raw: str) -> str:
    token = _PARTY_TOKENS.get(raw)
    if token is None:
        if len(_PARTY_TOKENS) >= _MEMO_SIZE:
            _PARTY_TOKENS.clear()
        token = _PARTY_TOKENS[raw] = _name_form(_without_possessive(raw.rstrip(".-'"))) if raw[0].isalnum() else ""
    return token


def _without_possessive(word: str) -> str:
    return word[:-2] if word.endswith("'s") else word[:-1] if word.endswith("'") else word


_PHRASE_TOKEN = re.compile(r"[^\W_][\w&'.]*|[,;:()|\"\n]", re.U)
_PHRASE_GAPS: Final = _token_table("_&'.", ',;:()|"\n')


def _phrase_tokens(text: str) -> list[str]:
    """`_PHRASE_TOKEN.findall(text)` (see _ascii_or_none), every punctuation mark that ends a run as "|"
    (parties reads them only as not being a word, which "|" is not either)."""
    plain = _ascii_or_none(text)
    if plain is None:
        return _PHRASE_TOKEN.findall(text)
    marked = plain.translate(_PHRASE_GAPS).replace(b"|", b" | ")  # a mark is a token of its own
    return _runs_from_letter(marked.decode("ascii").split(), "_&'.")


def parties(text: str) -> tuple[str, ...]:
    """Runs of consecutive capitalised non-stop words ("eli lilly", "samsung"), strong words only.

    A party named by two words ("Charles River") counts once when comparing two items.
    """
    runs: list[list[str]] = [[]]
    for raw in _phrase_tokens(text):
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
    return _without_sub_phrases(found)[:_MAX_PARTIES]


def _merge_parties(found: Sequence[str], companies: Sequence[str]) -> tuple[str, ...]:
    """Text parties plus the classifier's companies (strong words only), without sub-phrases."""
    extra = [" ".join(w for w in c.split() if w not in _WEAK and w not in _STOP) for c in companies]
    merged = list(dict.fromkeys([*found, *(e for e in extra if e)]))
    return _without_sub_phrases(merged)[:_MAX_PARTIES]


def _without_sub_phrases(phrases: list[str]) -> tuple[str, ...]:
    """The distinct `phrases` whose words are not a strict subset of another's ("lilly" goes, "eli lilly" stays).

    Each phrase's word set is built once (a pair test building both sets was the costliest part of a
    fingerprint's parties: ~25 phrases, so ~600 pairs per item)."""
    word_sets = [frozenset(p.split()) for p in phrases]
    return tuple(p for p, words in zip(phrases, word_sets, strict=True) if not any(words < o for o in word_sets))


def shared_parties(a: Sequence[str], names_b: Iterable[str]) -> list[str]:
    """The parties of `a` that the other item names (by any of their words)."""
    words = set(names_b)
    return [p for p in a if words.intersection(p.split())]


def _name_form(part: str) -> str:
    if not part:
        return ""
    if part[0].isdigit():
        digits = part.replace(",", "")
        if digits.isdecimal() and int(digits) >= 100 and not _YEAR.match(digits):
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
# times slower (every position compared case-insensitively). They are never scanned: see `_occurs`.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
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
# Every match of a kind's pattern starts with one of these strings (tests/test_story_text.py checks it on
# texts Hypothesis writes from every branch). Loose on purpose: "clos" is also found inside "disclosed",
# where the pattern's leading \b then fails, as it does in a search.
_KIND_STARTS: dict[str, tuple[str, ...]] = {
    "acquisition": (
        "acqui",
        "buy",
        "bought",
        "purchas",
        "takeover",
        "take over",
        "divest",
        "sell",
        "sale of",
        "to sell",
        "sold",
    ),
    "construction": ("break", "ground", "topping", "construction", "begin", "start"),
    "opening": ("open", "inaugurat", "ribbon", "full-scale operations", "start", "unveil"),
    "closure": ("clos", "shut", "lay", "job cuts", "cut"),
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
        "to manufacture",
    ),
    "investment": ("invest", "expan"),
    "regulatory": ("fda", "ema", "mfds", "483", "warning letter", "inspection", "approv", "licen", "regulator"),
    "legal": ("lawsuit", "class action", "settle", "litigation", "sues", "sued", "court"),
    "earnings": ("earnings", "profit", "quarter", "results", "revenue", "sales", "guidance", "outlook"),
    "people": ("ceo", "cfo", "appoint", "names new", "chief executive", "step", "resign"),
}
_CLOSING = re.compile(
    r"\b(complet\w* (the |its |of )?(\w+ )?(acquisition|purchase|takeover|sale|merger|deal)|"
    r"(acquisition|purchase|takeover|sale|deal) (is |was |has been )?(completed|closed|finali[sz]ed)|"
    r"clos(es|ed|ing) (the |its |of )?(\w+ )?(acquisition|purchase|takeover|sale|deal)|"
    r"finali[sz]\w* (the |its )?(acquisition|purchase|takeover))\b"
)
_LOI = re.compile(r"\b(letter of intent|loi|mou|memorandum of understanding|term sheet|lettre d.intention)\b")
_DEFINITIVE = re.compile(r"\b(definitive|final contract|binding contract|formal contract)\b")
_PHASE_STARTS: dict[str, tuple[str, ...]] = {  # as _KIND_STARTS, for the phase patterns
    "closing": ("complet", "acquisition", "purchase", "takeover", "sale", "deal", "clos", "finali"),
    "loi": ("letter of intent", "loi", "mou", "memorandum of understanding", "term sheet", "lettre d"),
    "definitive": ("definitive", "final contract", "binding contract", "formal contract"),
}


def _occurs(text: str, starts: tuple[str, ...], pattern: re.Pattern[str]) -> bool:
    """`pattern.search(text) is not None`, for a pattern every match of which starts with one of `starts`.

    The pattern is tried only where str.find (in C) finds one of them. Why: these patterns open with a
    word boundary and a choice of words, so a search (even with `scanning`'s first-character lookahead)
    tried them at most positions of the lede: the larger part of a fingerprint's cost in kinds and phase.
    A match at such an offset (its word boundary looks at the character before it, as in a search)
    exists exactly when a search finds one; which match comes first does not matter here.
    """
    match = pattern.match
    for start in starts:
        pos = text.find(start)
        while pos >= 0:
            if match(text, pos) is not None:
                return True
            pos = text.find(start, pos + 1)
    return False


def event_kinds(text: str) -> tuple[str, ...]:
    """Coarse kinds of event a headline and lede speak of ("acquisition", "construction", ...)."""
    return _kinds_of(fold(text))


def _kinds_of(folded: str) -> tuple[str, ...]:
    return tuple(kind for kind, pattern in _KINDS if _occurs(folded, _KIND_STARTS[kind], pattern))


def deal_phase(text: str) -> str:
    """ "closing" for a completed acquisition, "loi" for a letter of intent, "definitive", or ""."""
    return _phase_of(fold(text))


def _phase_of(text: str) -> str:
    # closing wins over the others, and definitive over a letter of intent: each searched only if needed
    if _occurs(text, _PHASE_STARTS["closing"], _CLOSING):
        return "closing"
    if _occurs(text, _PHASE_STARTS["definitive"], _DEFINITIVE):
        return "definitive"
    return "loi" if _occurs(text, _PHASE_STARTS["loi"], _LOI) else ""


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
    return " ".join(_word_tokens(fold(value)))


# ---------------------------------------------------------------------------------------------
# Blocking keys (what `monitor.grouping.index_keys` returns; the keys are stored, so every one of them
# must stay byte for byte what it was)
#
# Why here: index_keys ran as interpreted code in grouping, a seventh of the cost of a flagged item's
# fingerprint (strong names worked out twice, a slice, repr and f-string per MinHash band); compiled
# with this module, the same steps cost a fraction of that. grouping passes the fingerprint's fields.

_BAND_ROWS: Final = 2
_BANDS: Final = 8  # LSH: 8 bands of 2 rows find pairs of Jaccard 0.5 with p = 0.90, 0.6 with p = 0.97
_KEY_NAMES: Final = 5  # names whose pairs become blocking keys


def strong_names_of(title_names: Sequence[str], names: Sequence[str]) -> list[str]:
    """Names that identify a party (no numbers, countries or generic words), title first, each once."""
    seen: dict[str, None] = {}
    for group in (title_names, names):
        for name in group:
            if name not in seen:
                seen[name] = None
    return [name for name in seen if name not in _WEAK and not name.startswith("#")]


def blocking_keys(
    url: str,
    slug: str,
    title: str,
    signature: Sequence[int],
    title_names: Sequence[str],
    names: Sequence[str],
    kinds: Sequence[str],
    values: Sequence[float],
    cdmo: str,
    party: str,
    site: str,
) -> tuple[str, ...]:
    """The keys of `grouping.index_keys`, in its order, each once, from a fingerprint's fields."""
    keys: list[str] = []
    if url:
        keys.append("u:" + url)
    if slug:
        keys.append("s:" + slug)
    if len(title.split()) >= 3:
        keys.append("t:" + _short_hash(title))
    for band in range(min(_BANDS, len(signature) // _BAND_ROWS)):
        first = band * _BAND_ROWS
        # the text repr() gives the band's tuple of two rows: "(a, b)"
        keys.append(f"b{band}:" + _short_hash(f"({signature[first]}, {signature[first + 1]})"))
    strong = strong_names_of(title_names, names)
    top = sorted(strong[:_KEY_NAMES])
    for i, a in enumerate(top):
        for b in top[i + 1 :]:
            keys.append(f"n:{a}|{b}")
    if strong:
        lead = strong[0]
        for kind in dict.fromkeys(kinds[:2]):
            keys.append(f"p:{lead}|{kind}")
        if values:  # the amount's bucket (quarter-decades) and the next one up
            bucket = math.floor(4 * math.log10(values[0]))
            keys.append(f"v:{lead}|{bucket}")
            keys.append(f"v:{lead}|{bucket + 1}")
    if cdmo:
        if party:
            keys.append(f"e:{cdmo}|{party}")
        if site and site != party:
            keys.append(f"e:{cdmo}|{site}")
    # Each kind of key has a prefix of its own, and within a kind the keys above differ, except pairs of names
    # that hold a "|" ("n:a|b|c"): only then can a key repeat. (Hashing every key to drop repeats that
    # cannot occur cost an eighth of this function.)
    if any("|" in name for name in top):
        return tuple(dict.fromkeys(keys))
    return tuple(keys)


# ---------------------------------------------------------------------------------------------
# The stored form of a fingerprint (`StoryFingerprint.stored`: its `to_dict` as compact JSON, which the
# story index writes and reads back; it must stay byte for byte what json wrote)
#
# Why here: json.JSONEncoder.encode of that dict cost about three times the JSON it writes (the encoder's
# set-up on every call, and a dict and eight lists built only to be read once); this writes the same text
# directly, each string escaped by the function json itself escapes strings with (ensure_ascii).


def fingerprint_json(
    url: str,
    slug: str,
    title: str,
    signature: Sequence[int],
    names: Sequence[str],
    title_names: Sequence[str],
    parties: Sequence[str],
    title_kinds: Sequence[str],
    values: Sequence[object],
    kinds: Sequence[str],
    phase: str,
    labels: Sequence[str],
    cdmo: str,
    party: str,
    site: str,
    at: datetime,
) -> str:
    """`StoryFingerprint.to_dict` of these fields as compact JSON, or "" when an amount is not a finite float.

    json writes other amounts (an int, an infinity) in other ways; the caller lets json write those.
    """
    amounts: list[str] = []
    for value in values:
        if type(value) is not float or not math.isfinite(value):
            return ""
        amounts.append(repr(value))
    packed = struct.pack(f">{len(signature)}I", *signature)
    return "".join(
        [
            '{"u":',
            encode_basestring_ascii(url),
            ',"s":',
            encode_basestring_ascii(slug),
            ',"t":',
            encode_basestring_ascii(title),
            ',"m":"',
            packed.hex(),
            '","n":',
            _json_strings(names),
            ',"tn":',
            _json_strings(title_names),
            ',"pa":',
            _json_strings(parties),
            ',"tk":',
            _json_strings(title_kinds),
            ',"v":[',
            ",".join(amounts),
            '],"k":',
            _json_strings(kinds),
            ',"p":',
            encode_basestring_ascii(phase),
            ',"l":',
            _json_strings(labels),
            ',"c":',
            encode_basestring_ascii(cdmo),
            ',"y":',
            encode_basestring_ascii(party),
            ',"z":',
            encode_basestring_ascii(site),
            ',"a":',
            encode_basestring_ascii(at.isoformat()),
            "}",
        ]
    )


def _json_strings(items: Sequence[str]) -> str:
    """A list of strings as compact JSON."""
    return "[" + ",".join([encode_basestring_ascii(item) for item in items]) + "]"
