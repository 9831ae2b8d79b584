"""normalize_time: every ISO-8601 shape producers send → fixed-width UTC nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olgraph.ingest.times import normalize_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-12-28T19:51:01.641Z", "2020-12-28T19:51:01.641000000Z"),
        ("2020-12-28T19:51:01.641499", "2020-12-28T19:51:01.641499000Z"),  # no timezone: UTC
        ("2020-12-28T19:51:01.123456789Z", "2020-12-28T19:51:01.123456789Z"),  # nanoseconds kept
        ("2020-12-28T19:51:01.1234567891Z", "2020-12-28T19:51:01.123456789Z"),  # beyond ns: truncated
        ("2020-12-28T19:52:00.001+10:00", "2020-12-28T09:52:00.001000000Z"),
        ("2020-12-28T19:52:00-0530", "2020-12-29T01:22:00.000000000Z"),
        ("2020-12-28T19:52:00+01", "2020-12-28T18:52:00.000000000Z"),
        ("2020-12-28 19:52:00z", "2020-12-28T19:52:00.000000000Z"),
        ("2020-12-28t19:52Z", "2020-12-28T19:52:00.000000000Z"),
        ("2020-12-28T19:52:00,5Z", "2020-12-28T19:52:00.500000000Z"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999999Z"),  # leap second
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z"),
    ],
)
def test_normalizes_accepted_shapes(value: str, expected: str) -> None:
    assert normalize_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2020-12-28",
        "2020-13-01T00:00:00Z",
        "2020-02-30T00:00:00Z",
        "2020-12-28T25:00:00Z",
        "2020-12-28T10:00:00+10:75",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "2020-12-28T10:00:00Z trailing",
    ],
)
def test_rejects_what_is_not_a_date_time(value: str) -> None:
    with pytest.raises(ValueError, match="date-time"):
        normalize_time(value)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    st.integers(min_value=0, max_value=999_999_999),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_string_order_is_time_order_and_nanoseconds_survive(naive: datetime, nanos: int, offset: int) -> None:
    tz = timedelta(minutes=offset)
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    text = f"{naive:%Y-%m-%dT%H:%M:%S}.{nanos:09d}{sign}{hours:02d}:{minutes:02d}"
    result = normalize_time(text)
    expected_utc = naive.replace(microsecond=0) - tz
    assert result == f"{expected_utc:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"
    assert len(result) == 30
    later = normalize_time(f"{(expected_utc + timedelta(seconds=1)).replace(tzinfo=UTC).isoformat()}")
    assert later > result
