"""monitor.regexes: the first-character lookahead never changes what a pattern matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import classify, story_text
from monitor.regexes import first_characters, scanning, source_of

# Invented text in the shape of trade-press items: names, amounts, dates, punctuation, Korean.
TEXTS = [
    "Northwind Biologics signs $120 million manufacturing agreement with Arcadia Therapeutics.\n"
    "The 2nd plant in Visp, Switzerland will add 3 new suites and 200 jobs by 2027 -- officials said.",
    "Halcyon CDMO breaks ground on 50,000 sq ft fill-finish facility at its Raleigh, N.C. campus; "
    "x2000 L bioreactors, four lines. Dr. Kim's team (CEO) spoke at BIO.",
    "삼성바이오로직스, 1조 2000억원 규모 위탁생산 계약 체결 — 5공장 가동",
    "Q3 revenue rose 12%; shares fell. What is a CDMO? Lonza's Plant 2 and the 3rd plant...",
    "",
    "a",
]
PATTERNS = [
    r"\bfor (?:a |an )?x|'s\b|[A-Z]\w+|\d+(?:st)|(?:ab|cd)e",
    r"(?<![\w$])(?:us\$|\$|€)\s?\d",
    r"\b(?:two|three|\d+) (?:new )?(?:suites|lines)",
    r"[.!?]['\"”]? (?=['\"“(]?[A-Z0-9])|\s[*•]\s|\s--?\s(?=[A-Z])",
    r"(?:in|at) (?:its |the |a )?(?P<p>[A-Z][\w.'-]+)",
    r"x?y",  # can start with y: the lookahead must include it
    r"\w*plant",  # a word character or the p
    r".*plant",  # may start anywhere: no lookahead
    r"[^a]b",  # negated class: no lookahead
]


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def _project_patterns() -> list[str]:
    """The source of every pattern the classifier and the grouping compile with `scanning`."""
    rules = [value for value in vars(classify).values() if isinstance(value, classify._Rule)]
    rules += [rule for value in vars(classify).values() if isinstance(value, list) for rule in value
              if isinstance(rule, classify._Rule)]  # fmt: skip
    sources = [classify._strip_leading_boundaries(rule.pattern) or rule.pattern for rule in rules]
    return sources + [source_of(pattern) for _, pattern in story_text._KINDS]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_scanning_finds_the_same_matches(pattern: str) -> None:
    plain, fast = re.compile(pattern), scanning(pattern)
    for text in TEXTS:
        assert _spans(fast, text) == _spans(plain, text)
        for pos in range(len(text)):
            assert bool(fast.match(text, pos)) == bool(plain.match(text, pos))


def test_every_project_pattern_finds_the_same_matches_on_sample_text() -> None:
    patterns = _project_patterns()
    assert len(patterns) > 80
    lookaheads = 0
    for source in patterns:
        plain, fast = re.compile(source), scanning(source)
        lookaheads += fast.pattern != source
        for text in TEXTS:
            for variant in (text, text.lower()):
                assert _spans(fast, variant) == _spans(plain, variant), source
    # about half gain a lookahead; the others start with a literal, a class or a choice of literals,
    # which the engine skips to by itself
    assert lookaheads > len(patterns) // 3


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pattern=st.sampled_from(PATTERNS[:6]), data=st.data())
def test_every_match_starts_with_an_admitted_character(pattern: str, data: st.DataObject) -> None:
    atoms = first_characters(pattern)
    assert atoms is not None
    text = data.draw(st.from_regex(pattern, fullmatch=True).filter(bool))
    assert re.match(f"[{''.join(atoms)}]", text), (pattern, text)


def test_what_cannot_be_worked_out_is_compiled_unchanged() -> None:
    assert first_characters(r".*plant") is None
    assert first_characters(r"[^a]b") is None
    assert first_characters(r"(?:ab)?") is None  # matches the empty string anywhere
    assert first_characters("(?i)abc") is None
    assert first_characters("abc", re.IGNORECASE) is None
    assert scanning(r".*plant").pattern == r".*plant"
    assert first_characters(r"\w*plant") == {r"\w", "p"}
    assert first_characters(r"\b(?:two|\d+) x") == {"t", r"\d"}
    assert scanning("x?y").pattern.startswith("(?=[")


@pytest.mark.parametrize(
    ("pattern", "lookahead"),
    [
        (r"\b(?:two|three) lines", True),  # \b first: the engine would try every position
        (r"(?:ab|cd)e", False),  # a choice of literals: the engine skips to a or c itself
        (r"[A-Z]\w+", False),  # a class
        (r"plant|(?:ab)c", False),  # every alternative starts with a literal
        (r"plant|[ab]c", True),  # a class inside a choice: the engine cannot skip
    ],
)
def test_lookahead_only_where_the_engine_cannot_skip_by_itself(pattern: str, lookahead: bool) -> None:
    assert (scanning(pattern).pattern != pattern) == lookahead
