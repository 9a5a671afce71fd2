"""Amounts as news writes them, converted at the fixed reference rates of monitor.money."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import money
from monitor.money import INCONSISTENT_RATIO, USD_PER_UNIT, find_amounts, parse_amount, pick_value, to_usd

KRW = USD_PER_UNIT["KRW"]
INR = USD_PER_UNIT["INR"]

# (text, amount text as written, currency, value in that currency)
CASES = [
    ("signs $1.2 billion deal", "$1.2 billion", "USD", 1.2e9),
    ("a $411M contract", "$411M", "USD", 411e6),
    ("a US$81M CMO contract", "US$81M", "USD", 81e6),
    ("worth US $668 million", "US $668 million", "USD", 668e6),
    ("USD 149,999,994 in total", "USD 149,999,994", "USD", 149_999_994),
    ("$ 6.5 billion plant", "$ 6.5 billion", "USD", 6.5e9),
    ("a 1.7 trillion won deal", "1.7 trillion won", "KRW", 1.7e12),
    ("a 1.8 trillion-won contract", "1.8 trillion-won", "KRW", 1.8e12),
    ("worth 53.5 bln won", "53.5 bln won", "KRW", 53.5e9),
    ("KRW 1.8001 trillion", "KRW 1.8001 trillion", "KRW", 1.8001e12),
    ("₩1.4 trillion investment", "₩1.4 trillion", "KRW", 1.4e12),
    ("acquire IDT for W339b", "W339b", "KRW", 339e9),
    ("1조 8000억원 규모", "1조 8000억원", "KRW", 1.8e12),
    ("3,000억 원 투자", "3,000억 원", "KRW", 3e11),
    ("5억 달러 계약", "5억 달러", "USD", 5e8),
    ("a Rs 328 crore facility", "Rs 328 crore", "INR", 328e7),
    ("Rs. 1,000 crore plan", "Rs. 1,000 crore", "INR", 1e10),
    ("₹500 crore", "₹500 crore", "INR", 5e9),
    ("a €325m plant", "€325m", "EUR", 325e6),
    ("230 million euro investment", "230 million euro", "EUR", 230e6),
    ("EUR 50 million upfront", "EUR 50 million", "EUR", 50e6),
    ("CHF 850 million", "CHF 850 million", "CHF", 850e6),
    ("up to 100 million Swiss francs", "100 million Swiss francs", "CHF", 100e6),
    ("a £10m expansion", "£10m", "GBP", 10e6),
    ("¥10 billion plant", "¥10 billion", "JPY", 10e9),
    ("30 billion yen", "30 billion yen", "JPY", 30e9),
    ("2 billion yuan", "2 billion yuan", "CNY", 2e9),
    ("RMB 500 million", "RMB 500 million", "CNY", 500e6),
    ("2.5亿元", "2.5亿元", "CNY", 2.5e8),
    ("13 million kronor", "13 million kronor", "SEK", 13e6),
]


@pytest.mark.parametrize(("text", "written", "currency", "value"), CASES)
def test_amounts_as_written(text: str, written: str, currency: str, value: float) -> None:
    amount = parse_amount(text)
    assert amount is not None
    assert (amount.text, amount.currency) == (written, currency)
    assert amount.value == pytest.approx(value)
    assert amount.usd == pytest.approx(value * USD_PER_UNIT[currency])


def test_crore_and_jo_eok_conversions() -> None:
    crore = parse_amount("Rs 328 crore")
    assert crore is not None
    assert crore.usd == pytest.approx(3.28e9 / 83)
    won = parse_amount("1조 8000억원")
    assert won is not None
    assert won.usd == pytest.approx(1.8e12 / 1350)  # about $1.33 billion


@pytest.mark.parametrize(
    "text",
    [
        "$63.50 per share",
        "in 2024, the W3 model",
        "Covid19 vaccine",
        "a 12,000-square-foot site",
        "phase 3 trial",
        "CAGR of 11.31% to 2031",
    ],
)
def test_not_money(text: str) -> None:
    assert find_amounts(text) == []


def test_amounts_in_order_without_overlap() -> None:
    amounts = find_amounts("paid $36.5 million, then invested ~$50 million and 70 billion won")
    assert [a.text for a in amounts] == ["$36.5 million", "$50 million", "70 billion won"]


def test_consistent_pair_keeps_text_and_prefers_stated_dollars() -> None:
    text = "worth 460 billion won ($330 million) in total"
    value = pick_value(find_amounts(text), text)
    assert value is not None
    assert value.text == "460 billion won ($330 million)"
    assert value.usd == pytest.approx(330e6)
    assert value.inconsistent is False


def test_pair_that_disagrees_is_flagged_and_not_converted() -> None:
    text = "a deal worth 53.5 billion won ($411 million)"
    value = pick_value(find_amounts(text), text)
    assert value is not None
    assert value.text == "53.5 billion won ($411 million)"
    assert value.inconsistent is True
    assert value.usd is None
    assert 411e6 / (53.5e9 * KRW) > INCONSISTENT_RATIO


def test_separate_amounts_are_not_a_pair() -> None:
    text = "$330 million up front and up to $1 billion in total"
    value = pick_value(find_amounts(text), text)
    assert value is not None
    assert (value.text, value.inconsistent) == ("$330 million", False)


def test_to_usd_and_rates_are_plausible() -> None:
    assert to_usd(100, "usd") == 100
    assert to_usd(1e7, "INR") == pytest.approx(1e7 * INR)
    assert 1000 < 1 / KRW < 1600  # won per dollar
    assert 0.9 < USD_PER_UNIT["EUR"] < 1.3
    assert 0.9 < USD_PER_UNIT["CHF"] < 1.3
    assert 100 < 1 / USD_PER_UNIT["JPY"] < 170
    assert 6 < 1 / USD_PER_UNIT["CNY"] < 8
    assert 70 < 1 / INR < 95


# Digits (ASCII, Arabic-Indic, full-width), separators, currency prefixes and their last letters, spaces,
# a literal "?" (what the ASCII encoding puts for other characters) and a dash.
_AMOUNT_CHARS = st.sampled_from(
    [*"0123456789,. $?wrsdk-", "\u0663", "\uff15", "—", "us$", "rs.", "u.s. $", "eur ", "krw", "the ", "€", "₩", "ü"]
)


@settings(max_examples=500)
@given(st.lists(_AMOUNT_CHARS, max_size=40).map("".join))
def test_numbers_are_those_of_a_regex_scan(lower: str) -> None:
    """_numbers jumps from digit to digit instead of scanning; it must find what finditer finds."""
    expected = [m.span() for m in money._NUMBER.finditer(lower)]
    assert [m.span() for m in money._numbers(lower)] == expected


def _currency_before_by_search(lower: str, start: int) -> tuple[int, str | None]:
    """_currency_before as a regex search alone, without the look at the characters before `start`."""
    if start > 0 and lower[start - 1] == "w" and (start == 1 or not lower[start - 2].isalnum()):
        return start - 1, "KRW"
    pos = max(0, start - 7)
    while True:
        m = money._PREFIX_RE.search(lower, pos, start)
        if m is None:
            return start, None
        pos = m.start()
        if pos > 0 and (lower[pos - 1].isalnum() or lower[pos - 1] == "$"):
            pos += 1
            continue
        return pos, money._PREFIX_CURRENCY[m.group(0).strip().replace(" ", "")]


@settings(max_examples=500)
@given(st.lists(_AMOUNT_CHARS, max_size=12).map("".join), st.data())
def test_currency_prefixes_are_those_of_a_regex_search(lower: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(lower)))
    assert money._currency_before(lower, start) == _currency_before_by_search(lower, start)


@given(st.from_regex(re.compile(money._PREFIX), fullmatch=True))
def test_every_prefix_ends_in_a_known_last_character(prefix: str) -> None:
    assert prefix[-1] in money._PREFIX_ENDS


def test_amounts_are_built_as_the_dataclass_builds_them() -> None:
    built, plain = money._amount("$5m", "USD", 5e6, 2, 5), money.Amount("$5m", "USD", 5e6, 2, 5)
    assert (built, hash(built), repr(built)) == (plain, hash(plain), repr(plain))
    assert money._amount("$5m", "USD", 5e6, 2, 6) != plain
