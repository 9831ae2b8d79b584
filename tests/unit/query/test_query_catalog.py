"""Listing requests (pure): the ``sort`` values, and cursors that keep their order."""

from __future__ import annotations

import pytest

from olgraph.errors import InvalidQuery
from olgraph.query.catalog import SORTS, list_order, listing, node_positions
from olgraph.query.lineage import QueryLimits
from olgraph.query.paging import encode_cursor
from olgraph.store.base import NodeView
from olgraph.store.listing import BY_NAME, ListOrder

LIMITS = QueryLimits()


def test_sorts_name_a_property_and_a_direction() -> None:
    assert list_order(None) == BY_NAME == list_order("name")
    assert list_order("-name") == ListOrder("name", descending=True)
    assert list_order("lastSeen") == ListOrder("lastSeenAt")
    assert list_order("-lastSeen") == ListOrder("lastSeenAt", descending=True)
    assert list(SORTS) == ["name", "-name", "lastSeen", "-lastSeen"]


@pytest.mark.parametrize("sort", ["", "lastseen", "-", "--name", "updated", "name "])
def test_an_unknown_sort_is_refused_naming_the_allowed_ones(sort: str) -> None:
    with pytest.raises(InvalidQuery, match="one of name, -name, lastSeen, -lastSeen") as caught:
        list_order(sort)
    assert caught.value.field == "sort"


def _cursor(order: ListOrder, position: list[object]) -> str:
    made = listing("list:dataset", "f", limit=1, offset=None, cursor=None, limits=LIMITS, order=order)
    return encode_cursor(made.kind, made.filters, position)


def test_a_cursor_holds_the_sort_value_and_is_refused_with_another_order() -> None:
    newest = ListOrder("lastSeenAt", descending=True)
    token = _cursor(newest, ["2024-05-01T12:00:00.000000000Z", "dataset:a:b"])
    again = listing("list:dataset", "f", limit=5, offset=None, cursor=token, limits=LIMITS, order=newest)
    assert (again.window.after, again.window.order, again.window.limit) == (
        ("2024-05-01T12:00:00.000000000Z", "dataset:a:b"),
        newest,
        5,
    )
    for other in (BY_NAME, ListOrder("lastSeenAt"), ListOrder("name", descending=True)):
        with pytest.raises(InvalidQuery, match="another sort") as caught:
            listing("list:dataset", "f", limit=5, offset=None, cursor=token, limits=LIMITS, order=other)
        assert caught.value.field == "cursor"


def test_a_missing_value_is_a_position_only_where_values_may_be_missing() -> None:
    newest = ListOrder("lastSeenAt", descending=True)
    token = _cursor(newest, [None, "dataset:a:b"])
    after = listing("list:dataset", "f", limit=5, offset=None, cursor=token, limits=LIMITS, order=newest)
    assert after.window.after == (None, "dataset:a:b")
    assert after.name_after is None
    for bad in ([None, "dataset:a:b"], [1, "dataset:a:b"], ["a"], ["a", 2]):
        with pytest.raises(InvalidQuery) as caught:
            listing("list:dataset", "f", limit=5, offset=None, cursor=_cursor(BY_NAME, bad), limits=LIMITS)
        assert caught.value.field == "cursor"


def test_positions_are_the_sort_value_and_the_id() -> None:
    nodes = [
        NodeView("dataset:n:a", "dataset", "n", "a", props={"lastSeenAt": "2024-05-01T12:00:00.000000000Z"}),
        NodeView("dataset:n:b", "dataset", "n", "b"),
    ]
    assert node_positions(nodes) == [("a", "dataset:n:a"), ("b", "dataset:n:b")]
    assert node_positions(nodes, ListOrder("lastSeenAt", descending=True)) == [
        ("2024-05-01T12:00:00.000000000Z", "dataset:n:a"),
        (None, "dataset:n:b"),
    ]
