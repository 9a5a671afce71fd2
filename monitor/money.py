"""Money amounts as news states them ("$1.2B", "1.7 trillion won", "Rs 328 crore", "1조 8000억원").

Why: analysts filter and sort alerts by deal size, and story grouping compares one deal reported in
dollars by one outlet and in won by another. So every amount keeps its text as written and gets a
USD figure at FIXED reference rates. The rates below are data, not a market feed: they are rounded
2023-2024 averages, chosen once so that the same text always converts to the same number (the
classifier is deterministic). They are good to about ±10%, which is the tolerance the evaluation
and story grouping use; do not use them for accounting.

When an item states one amount with its conversion and the two disagree by far ("53.5 billion won
($411 million)"), `pick_value` keeps the stated text, sets `inconsistent` and gives no USD figure
rather than silently choosing one of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from monitor.vocabulary import non_ascii_positions

#: USD per unit of currency (fixed reference rates; see module docstring).
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "KRW": 1 / 1350,
    "EUR": 1.08,
    "JPY": 1 / 145,
    "CNY": 1 / 7.2,
    "INR": 1 / 83,
    "CHF": 1.12,
    "GBP": 1.26,
    "SEK": 1 / 10.5,
    "DKK": 1 / 6.9,
}

#: Two statements of one amount whose USD values differ by more than this factor disagree.
INCONSISTENT_RATIO = 1.5

_SCALES: dict[str, float] = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "mil": 1e6,
    "m": 1e6,
    "mio": 1e6,
    "mio.": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "mrd": 1e9,
    "mrd.": 1e9,
    "milliarden": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "tril": 1e12,
    "trn": 1e12,
    "crore": 1e7,
    "crores": 1e7,
    "cr": 1e7,
    "lakh": 1e5,
    "lakhs": 1e5,
    "lakh crore": 1e12,
}

_PREFIX_CURRENCY: dict[str, str] = {
    "us$": "USD",
    "u.s.$": "USD",
    "u.s. $": "USD",
    "usd": "USD",
    "$": "USD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "₩": "KRW",
    "krw": "KRW",
    "w": "KRW",
    "chf": "CHF",
    "sfr": "CHF",
    "sfr.": "CHF",
    "fr.": "CHF",
    "rs": "INR",
    "rs.": "INR",
    "inr": "INR",
    "₹": "INR",
    "rmb": "CNY",
    "cny": "CNY",
    "sek": "SEK",
    "dkk": "DKK",
}

_SUFFIX_CURRENCY: dict[str, str] = {
    "dollars": "USD",
    "dollar": "USD",
    "usd": "USD",
    "us dollars": "USD",
    "u.s. dollars": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "eur": "EUR",
    "won": "KRW",
    "krw": "KRW",
    "korean won": "KRW",
    "yen": "JPY",
    "jpy": "JPY",
    "yuan": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "renminbi": "CNY",
    "rupees": "INR",
    "rupee": "INR",
    "inr": "INR",
    "swiss francs": "CHF",
    "francs": "CHF",
    "franc": "CHF",
    "chf": "CHF",
    "pounds": "GBP",
    "pound": "GBP",
    "pounds sterling": "GBP",
    "gbp": "GBP",
    "kronor": "SEK",
    "krona": "SEK",
    "sek": "SEK",
    "dkk": "DKK",
    "달러": "USD",
    "원": "KRW",
    "엔": "JPY",
    "위안": "CNY",
    "유로": "EUR",
    "円": "JPY",
    "元": "CNY",
    "美元": "USD",
    "韩元": "KRW",
}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = (
    r"lakh crores?|trillion|billion|million|thousand|milliarden|crores?|lakhs?|mrd\.?|mio\.?"
    r"|trn|tril|bln|mln|mil|bn|mn|tn|cr|[kmb]"
)
_PREFIX = r"u\.s\. ?\$|us ?\$|usd|\$|€|eur|£|gbp|¥|jpy|₩|krw|chf|sfr\.?|rs\.?|inr|₹|rmb|cny|sek|dkk"  # and "w", in code
_SUFFIX = (
    r"u\.s\. dollars|us dollars|korean won|swiss francs|pounds sterling|dollars?|euros?|won|yen|yuan"
    r"|renminbi|rupees?|francs?|pounds?|kronor|krona|usd|eur|krw|jpy|cny|rmb|inr|chf|gbp|sek|dkk"
)
# Scanning starts at each number (the regex engine skips ahead to digits fast) and then looks at
# the few characters before it for a currency prefix and after it for a scale and currency word.
# Matching is done on lowercased text, without IGNORECASE, for the same reason: speed.
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_PREFIX_ENDS = frozenset(prefix[-1] for prefix in _PREFIX_CURRENCY)  # the last characters of `_PREFIX`
_PREFIX_RE = re.compile(rf"(?:{_PREFIX}) ?\Z")  # searched with endpos: \Z is where the number starts
_AFTER_PREFIX = re.compile(rf"(?: ?-?(?P<scale>{_SCALE}))?(?![\w%])")
_AFTER_NUMBER = re.compile(rf"(?: ?-?(?P<scale>{_SCALE}))? ?-?(?P<cur>{_SUFFIX})(?![\w])")
# Korean/Chinese numerals: 1조 8000억원, 3,000억 원, 5억 달러, 2.5亿元
_CJK = re.compile(
    rf"(?:(?P<jo>{_NUM}) ?조)? ?(?:(?P<eok>{_NUM}) ?(?:억|亿))? ?(?:(?P<man>{_NUM}) ?(?:만|万))? ?"
    r"(?P<cur>원|달러|엔|위안|유로|円|元|美元|韩元)"
)
_PER_SHARE = re.compile(r"^ ?(?:per|a|/) ?share")
_PAIR_GAP = re.compile(
    r"^ ?[(\[] ?(?:about |approximately |approx\. |around |roughly |nearly |some |or |~|≈)?$|^ ?(?:,|or|/) ?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Amount:
    """One amount as written: its text, currency, value in that currency and USD conversion."""

    text: str
    currency: str
    value: float
    start: int = 0
    end: int = 0

    @property
    def usd(self) -> float:
        return self.value * USD_PER_UNIT[self.currency]


def _amount(text: str, currency: str, value: float, start: int, end: int) -> Amount:
    """`Amount(text, currency, value, start, end)`, the fields set as the dataclass `__init__` sets them.

    Why: that generated `__init__` stays interpreted Python when this module is compiled, and a call
    to it costs several times more than these assignments."""
    amount = Amount.__new__(Amount)
    object.__setattr__(amount, "text", text)
    object.__setattr__(amount, "currency", currency)
    object.__setattr__(amount, "value", value)
    object.__setattr__(amount, "start", start)
    object.__setattr__(amount, "end", end)
    return amount


@dataclass(frozen=True, slots=True)
class StatedValue:
    """The deal value an item states: text as written, USD figure, and whether it disagrees."""

    text: str
    usd: float | None
    inconsistent: bool = False


def to_usd(value: float, currency: str) -> float:
    """Convert `value` units of an ISO currency code at the fixed reference rate."""
    return value * USD_PER_UNIT[currency.upper()]


def find_amounts(text: str, lower: str | None = None, cjk: bool | None = None) -> list[Amount]:
    """All money amounts in `text`, in order, not overlapping (per-share prices are skipped).

    `lower` is the text lowercased with the same offsets, when the caller already has it; `cjk` False
    when the caller knows the text has no Hangul or CJK character (no won or yuan written in them).
    """
    if lower is None:
        lower = text.lower()
        if len(lower) != len(text):
            lower = "".join(c.lower()[0] for c in text)
    found: list[Amount] = []
    for amount in [*_latin_amounts(text, lower), *(_cjk(text) if cjk is not False else ())]:
        if _PER_SHARE.match(lower[amount.end : amount.end + 12]):
            continue
        if not math.isfinite(amount.usd):  # hundreds of digits: no amount (and inf would break every use of it)
            continue
        found.append(amount)
    found.sort(key=lambda a: (a.start, -(a.end - a.start)))
    kept: list[Amount] = []
    for amount in found:
        if kept and amount.start < kept[-1].end:
            continue
        kept.append(amount)
    return kept


def parse_amount(text: str) -> Amount | None:
    """The first amount in `text`, or None."""
    amounts = find_amounts(text)
    return amounts[0] if amounts else None


def pick_value(amounts: list[Amount], text: str) -> StatedValue | None:
    """The item's value: the first amount, with its stated conversion when one follows it."""
    if not amounts:
        return None
    first = amounts[0]
    second = amounts[1] if len(amounts) > 1 else None
    if second is None or not _PAIR_GAP.match(text[first.end : second.start]):
        return StatedValue(first.text, first.usd)
    stated = text[first.start : second.end]
    if text[second.end : second.end + 1] in ")]":
        stated += text[second.end]
    if _disagree(first.usd, second.usd):
        return StatedValue(stated, None, inconsistent=True)
    usd = second.usd if second.currency == "USD" else first.usd
    return StatedValue(stated, usd)


def _disagree(a: float, b: float) -> bool:
    low, high = sorted((a, b))
    return low <= 0 or high / low > INCONSISTENT_RATIO


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _scale(raw: str | None) -> float:
    return _SCALES[raw.lower()] if raw else 1.0


def _latin_amounts(text: str, lower: str) -> list[Amount]:
    amounts = []
    for m in _numbers(lower):
        raw = m.group(0).rstrip(",")
        start, end = m.start(), m.start() + len(raw)
        before = lower[start - 1] if start > 0 else " "
        if before.isdigit() or before in ".,":
            continue  # inside a longer number
        amount = _with_prefix(text, lower, raw, start, end)
        if amount is None and not before.isalnum():
            amount = _with_suffix(text, lower, raw, start, end)
        if amount is not None:
            amounts.append(amount)
    return amounts


# ASCII digits as "0", every other byte as a space: marks where the numbers are for bytes.find.
_DIGIT_MARKS = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))


def _numbers(lower: str) -> list[re.Match[str]]:
    """What `_NUMBER.finditer(lower)` finds, without the regex engine testing every character for a digit.

    bytes.translate marks the digits in one C pass and bytes.find (memchr) jumps from one to the next;
    the regex is matched only there. A match starts at each digit the previous match did not take, so
    the matches are the same. `\\d` is str.isdecimal: a text with a non-ASCII decimal digit is scanned."""
    if lower.isascii():
        encoded = lower.encode("ascii")
    else:
        positions = non_ascii_positions(lower)
        if positions is None or any(lower[p].isdecimal() for p in positions):
            return list(_NUMBER.finditer(lower))
        encoded = lower.encode("ascii", "replace")  # one "?" per other character: offsets stay
    marks = encoded.translate(_DIGIT_MARKS)
    match = _NUMBER.match
    found: list[re.Match[str]] = []
    pos = marks.find(b"0")
    while pos >= 0:
        m = match(lower, pos)
        if m is None:  # cannot happen: a digit starts a match
            break
        found.append(m)
        pos = marks.find(b"0", m.end())
    return found


def _with_prefix(text: str, lower: str, raw: str, start: int, end: int) -> Amount | None:
    prefix_start, currency = _currency_before(lower, start)
    if currency is None:
        return None
    tail = _AFTER_PREFIX.match(lower, end)
    if tail is None:
        return None
    scale = tail.group("scale")
    if currency == "KRW" and lower[prefix_start] == "w" and not scale:
        return None  # "W3" without a scale is more likely a model name than won
    value = _number(raw) * _scale(scale)
    return _amount(text[prefix_start : tail.end()], currency, value, prefix_start, tail.end())


def _currency_before(lower: str, start: int) -> tuple[int, str | None]:
    """Where a currency prefix ending right before `start` begins, and its currency."""
    if start > 0 and lower[start - 1] == "w" and (start == 1 or not lower[start - 2].isalnum()):
        return start - 1, "KRW"
    # A prefix ends right before the number or before one space there: most numbers follow a word
    # that ends in no prefix's last character, and need no regex search.
    last = start - 2 if lower[start - 1 : start] == " " else start - 1
    if last < 0 or lower[last] not in _PREFIX_ENDS:
        return start, None
    pos = max(0, start - 7)
    while True:  # the leftmost prefix that ends at `start` and starts a word
        m = _PREFIX_RE.search(lower, pos, start)
        if m is None:
            return start, None
        pos = m.start()
        if pos > 0 and (lower[pos - 1].isalnum() or lower[pos - 1] == "$"):
            pos += 1
            continue
        return pos, _PREFIX_CURRENCY[m.group(0).strip().replace(" ", "")]


def _with_suffix(text: str, lower: str, raw: str, start: int, end: int) -> Amount | None:
    if start > 0 and lower[start - 1] in "$€£¥₩₹":
        return None
    tail = _AFTER_NUMBER.match(lower, end)
    if tail is None:
        return None
    value = _number(raw) * _scale(tail.group("scale"))
    return _amount(text[start : tail.end()], _SUFFIX_CURRENCY[tail.group("cur")], value, start, tail.end())


_CJK_CURRENCY_CHAR = re.compile("[원달러엔위안유로円元]")  # a regex scan: no string object per character


def _cjk(text: str) -> list[Amount]:
    if text.isascii() or _CJK_CURRENCY_CHAR.search(text) is None:
        return []
    amounts = []
    for m in _CJK.finditer(text):
        parts = (("jo", 1e12), ("eok", 1e8), ("man", 1e4))
        value = sum(_number(m.group(name)) * unit for name, unit in parts if m.group(name))
        if not value:
            continue
        currency = _SUFFIX_CURRENCY[m.group("cur")]
        start = min(m.start(name) for name, _ in parts if m.group(name))
        amounts.append(_amount(text[start : m.end()].strip(), currency, value, start, m.end()))
    return amounts
