"""Depth, direction and page checks: every refusal names its parameter."""

from __future__ import annotations

import pytest

from olgraph.errors import InvalidQuery
from olgraph.query.lineage import (
    MAX_OFFSET,
    QueryLimits,
    check_depth,
    check_direction,
    check_max_nodes,
    check_page,
)

LIMITS = QueryLimits(default_depth=3, max_depth=10, max_nodes=50, default_page=20, max_page=100)


def test_depth_defaults_and_caps() -> None:
    assert check_depth(None, LIMITS) == 3
    assert check_depth(0, LIMITS) == 0
    assert check_depth(10, LIMITS) == 10
    with pytest.raises(InvalidQuery, match=r"^depth: must be <= 10"):
        check_depth(11, LIMITS)
    with pytest.raises(InvalidQuery, match=r"^depth: must be >= 0"):
        check_depth(-1, LIMITS)


def test_default_depth_never_exceeds_the_cap() -> None:
    assert check_depth(None, QueryLimits(default_depth=9, max_depth=4)) == 4


def test_direction() -> None:
    assert check_direction(None) == "both"
    assert check_direction("upstream") == "upstream"
    with pytest.raises(InvalidQuery, match=r"^direction: must be one of upstream, downstream, both"):
        check_direction("sideways")


def test_default_page_never_exceeds_the_cap() -> None:
    assert check_page(None, None, QueryLimits(default_page=100, max_page=50)) == (50, 0)


def test_page() -> None:
    assert check_page(None, None, LIMITS) == (20, 0)
    assert check_page(100, 5, LIMITS) == (100, 5)
    with pytest.raises(InvalidQuery, match=r"^limit: "):
        check_page(101, 0, LIMITS)
    with pytest.raises(InvalidQuery, match=r"^limit: "):
        check_page(0, 0, LIMITS)
    with pytest.raises(InvalidQuery, match=r"^offset: "):
        check_page(10, -1, LIMITS)
    assert check_page(10, MAX_OFFSET, LIMITS) == (10, MAX_OFFSET)
    with pytest.raises(InvalidQuery, match=r"^offset: "):
        check_page(10, MAX_OFFSET + 1, LIMITS)  # beyond a 64-bit store integer is a 400, not a 500


def test_max_nodes_lowers_the_cap_within_one_to_the_servers() -> None:
    limits = QueryLimits(max_nodes=100)
    assert check_max_nodes(None, limits) is limits
    assert check_max_nodes(1, limits).max_nodes == 1
    assert check_max_nodes(100, limits).max_nodes == 100
    assert check_max_nodes(40, limits).max_depth == limits.max_depth
    for bad in (0, -5, 101):
        with pytest.raises(InvalidQuery) as caught:
            check_max_nodes(bad, limits)
        assert caught.value.field == "maxNodes"
        assert f"must be between 1 and 100 (the server's max_nodes), got {bad}" in str(caught.value)
