"""parse.py's date shortcuts against the expressions they stand for (every input gives the same outcome)."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor import parse

FAST = settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
DATE_PARTS = [
    "GMT", "gmt", "UTC", "UT", "ut", "Z", "z", "EST", "PDT", "KST", "CEST", "cest", "BST", "+09:00", "-0500", "+0900",
    "+09:0", "-05", "+", "-", ":", "x", "xGMT", "1", "00", "\u0663", "\uff10", " ", "\t", "\n", "\u3000", "\xa0",
    "Mon, 02 Mar 2026 06:02:00", "2026-03-01T06:02:00", "2026-03-01 10:00",
]  # fmt: skip
dates = st.lists(st.one_of(st.sampled_from(DATE_PARTS), st.text(max_size=3)), max_size=8).map("".join)


@FAST
@given(dates)
@example("Mon, 02 Mar 2026 06:02:00 GMT")
@example("2026-03-01T06:02:00+09:00")
@example("xGMT")
@example("GMT")
@example("1 +09:00")
def test_the_zone_is_found_in_the_last_characters_as_in_the_whole_date(raw: str) -> None:
    stripped = raw.strip()
    assert parse._has_zone(stripped) == (parse._TZ_SUFFIX.search(stripped) is not None)


def outcome(function: Any, parsed: time.struct_time) -> str:
    try:
        return repr(function(parsed))
    except Exception as exc:  # the same exception is part of the same outcome
        return f"{type(exc).__name__}: {exc}"


def reference_utc_datetime(parsed: time.struct_time) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


fields = st.tuples(
    st.integers(-1, 10_001), st.integers(-1, 13), st.integers(-1, 32), st.integers(-1, 25), st.integers(-1, 61),
    st.integers(-1, 62), st.integers(0, 6), st.integers(0, 366), st.integers(-1, 1),
)  # fmt: skip


@FAST
@given(st.one_of(st.datetimes().map(lambda moment: moment.utctimetuple()), fields.map(time.struct_time)))
@example(time.struct_time((2026, 3, 1, 23, 59, 60, 6, 60, 0)))
@example(time.struct_time((1, 1, 1, 0, 0, 0, 0, 1, 0)))
@example(time.struct_time((9999, 12, 31, 23, 59, 59, 4, 365, 0)))
@example(time.struct_time((2026, 2, 29, 12, 0, 0, 0, 60, 0)))
def test_utc_datetime_equals_timegm_then_fromtimestamp(parsed: time.struct_time) -> None:
    assert outcome(parse._utc_datetime, parsed) == outcome(reference_utc_datetime, parsed)
