"""The stale rule: a node not seen for ``stale_after_days`` days before now (or ``asOf``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from olgraph.ingest.times import normalize_time
from olgraph.query.stale import StaleRule
from olgraph.store.base import NodeView

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def stored(moment: datetime) -> str:
    return normalize_time(moment.isoformat())


def node(last_seen: str | None, *, deleted: bool = False) -> NodeView:
    props = {} if last_seen is None else {"lastSeenAt": last_seen}
    return NodeView("dataset:db:t", "dataset", "db", "t", deleted=deleted, props=props)


def test_the_boundary_is_exactly_the_days_before_now() -> None:
    rule = StaleRule.at(30, now=NOW)
    boundary = NOW - timedelta(days=30)
    assert rule.threshold == "2026-11-07T04:00:00.000000000Z"
    assert rule.is_stale(node(stored(boundary - timedelta(microseconds=1))))
    assert not rule.is_stale(node(stored(boundary)))
    assert not rule.is_stale(node(stored(NOW - timedelta(days=1))))
    assert rule.is_stale(node(stored(NOW - timedelta(days=90))))


def test_the_boundary_keeps_as_ofs_nanoseconds() -> None:
    rule = StaleRule.at(1, "2024-05-02T00:00:00.000000007Z")
    assert rule.threshold == "2024-05-01T00:00:00.000000007Z"
    assert rule.is_stale_seen("2024-05-01T00:00:00.000000006Z")
    assert not rule.is_stale_seen("2024-05-01T00:00:00.000000007Z")


def test_as_of_is_the_reference_not_the_clock() -> None:
    rule = StaleRule.at(30, "2024-07-01T00:00:00.000000000Z", now=NOW)
    assert rule.is_stale(node("2024-05-31T23:59:59.000000000Z"))
    assert not rule.is_stale(node("2024-06-15T00:00:00.000000000Z"))
    # seen after asOf (the store keeps the latest sighting): still in use then, not stale
    assert not rule.is_stale(node("2026-01-01T00:00:00.000000000Z"))


def test_zero_days_turns_the_rule_off() -> None:
    rule = StaleRule.at(0, now=NOW)
    assert rule.threshold is None
    assert not rule.is_stale(node("1970-01-01T00:00:00.000000000Z"))
    assert StaleRule.at(0, "2024-07-01T00:00:00.000000000Z").threshold is None


def test_deleted_and_never_seen_nodes_are_not_stale() -> None:
    rule = StaleRule.at(30, now=NOW)
    assert not rule.is_stale(node("2020-01-01T00:00:00.000000000Z", deleted=True))
    assert not rule.is_stale(node(None))


def test_an_as_of_near_year_one_has_nothing_older() -> None:
    rule = StaleRule.at(30, "0001-01-10T00:00:00.000000000Z")
    assert rule.threshold is None
    assert not rule.is_stale(node("0001-01-01T00:00:00.000000000Z"))


@given(
    seen=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    reference=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=0, max_value=3650),
)
def test_stale_exactly_when_last_seen_more_than_the_days_before_the_reference(
    seen: datetime, reference: datetime, days: int
) -> None:
    rule = StaleRule.at(days, stored(reference))
    expected = days > 0 and seen < reference - timedelta(days=days)
    assert rule.is_stale(node(stored(seen))) is expected
