"""Amounts as news writes them, converted at the fixed reference rates of monitor.money."""

from __future__ import annotations

import pytest

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
