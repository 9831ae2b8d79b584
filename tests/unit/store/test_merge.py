"""The property merge rules: each is commutative, associative and idempotent."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from olgraph.normalize.mutations import Merge, Prop
from olgraph.store.merge import (
    canonical,
    decode_versions,
    derive_props,
    encode_versions,
    links_win,
    merge_props,
)


def _apply(writes: list[Prop]) -> tuple[dict[str, object], dict[str, str]]:
    props: dict[str, object] = {}
    versions: dict[str, str] = {}
    for write in writes:
        props, versions = merge_props(props, versions, [write])  # type: ignore[arg-type]
    return props, versions


def test_min_max_or_union() -> None:
    props, versions = merge_props(
        {"first": "2024-02", "last": "2024-02", "flag": False, "tags": ["b"]},
        {},
        [
            Prop("first", "2024-01", Merge.MIN),
            Prop("last", "2024-01", Merge.MAX),
            Prop("flag", True, Merge.OR),
            Prop("tags", ["c", "a", "b"], Merge.UNION),
        ],
    )
    assert props == {"first": "2024-01", "last": "2024-02", "flag": True, "tags": ["a", "b", "c"]}
    assert versions == {}


def test_lww_keeps_the_newest_version_and_records_it() -> None:
    props, versions = _apply([Prop("state", "COMPLETE", version="t2"), Prop("state", "START", version="t1")])
    assert props == {"state": "COMPLETE"}
    assert versions == {"state": "t2"}


def test_lww_tie_is_broken_by_canonical_json_in_any_order() -> None:
    a, b = Prop("x", "apple", version="t"), Prop("x", "pear", version="t")
    assert _apply([a, b]) == _apply([b, a]) == ({"x": "pear"}, {"x": "t"})


def test_lww_tombstone_removes_the_value_but_keeps_its_version() -> None:
    props, versions = _apply([Prop("facet.x", "{}", version="t1"), Prop("facet.x", None, version="t2")])
    assert props == {}
    assert versions == {"facet.x": "t2"}
    # an older write arriving later does not resurrect it
    props, _ = merge_props(props, versions, [Prop("facet.x", "{}", version="t0")])
    assert props == {}


def test_none_is_ignored_by_non_lww_rules() -> None:
    props, _ = merge_props({"n": 3}, {}, [Prop("n", None, Merge.MAX), Prop("m", None, Merge.MIN)])
    assert props == {"n": 3}


_WRITES = st.lists(
    st.one_of(
        st.builds(Prop, st.just("lo"), st.integers(0, 9), st.just(Merge.MIN)),
        st.builds(Prop, st.just("hi"), st.integers(0, 9), st.just(Merge.MAX)),
        st.builds(Prop, st.just("flag"), st.booleans(), st.just(Merge.OR)),
        st.builds(Prop, st.just("set"), st.lists(st.sampled_from("abc"), max_size=3), st.just(Merge.UNION)),
        st.builds(
            Prop,
            st.just("lww"),
            st.one_of(st.none(), st.sampled_from(["x", "y"])),
            st.just(Merge.LWW),
            st.sampled_from(["1", "2", "3"]),
        ),
    ),
    max_size=8,
)


@given(_WRITES, st.randoms(use_true_random=False))
def test_any_order_and_duplication_gives_the_same_result(writes: list[Prop], rnd: object) -> None:
    shuffled = [*writes, *writes]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert _apply(shuffled) == _apply(writes)


def test_union_first_write_is_normalized() -> None:
    once = _apply([Prop("set", ["b", "a", "a"], Merge.UNION)])
    assert once == ({"set": ["a", "b"]}, {})
    assert _apply([Prop("set", ["b", "a", "a"], Merge.UNION)] * 2) == once


def test_links_win_by_version_then_canonical_json() -> None:
    assert links_win("t2", [], "t1", [["owner:a", {}]])
    assert not links_win("t1", [["owner:z", {}]], "t2", [])
    assert links_win("t", [["owner:b", {}]], None, [])
    pairs = [([["owner:a", {}]]), ([["owner:b", {}]])]
    outcomes = {links_win("t", new, "t", old) for new, old in itertools.permutations(pairs)}
    assert outcomes == {True, False}


def test_versions_round_trip() -> None:
    raw = encode_versions({"b": "2", "a": "1"})
    assert raw == '{"a":"1","b":"2"}' == canonical({"b": "2", "a": "1"})
    assert decode_versions(raw) == {"a": "1", "b": "2"}
    assert decode_versions(None) == {} == decode_versions("")


def test_dataset_deleted_is_derived_from_drop_and_later_writes() -> None:
    assert derive_props("Dataset", {"droppedAt": "t2", "lastModifiedAt": "t1"})["deleted"] is True
    assert derive_props("Dataset", {"droppedAt": "t1", "lastModifiedAt": "t2"})["deleted"] is False
    assert derive_props("Dataset", {"droppedAt": "t1"})["deleted"] is True
    assert derive_props("Dataset", {})["deleted"] is False
    assert "deleted" not in derive_props("Job", {"droppedAt": "t1"})
