"""The Neo4j store's search helpers (pure): the tie property and the column names a write records."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from olgraph.store.neo4j.search import TIE_CHARS, new_terms, search_props


def test_searchable_nodes_get_the_start_of_their_key() -> None:
    key = "field:ns:t#" + "x" * 1000
    props = search_props(key, {"name": "X", "searchName": "x"})
    assert props == {"name": "X", "searchName": "x", "searchTie": key[:TIE_CHARS]}
    assert search_props("run:1", {"state": "COMPLETE"}) == {"state": "COMPLETE"}


def test_the_column_names_a_write_records() -> None:
    rows = [
        ("Field", {"searchName": "order_id"}),
        ("Field", {"searchName": "id"}),
        ("Field", {"searchName": "order_id"}),
        ("Dataset", {"searchName": "orders"}),
        ("Field", {"name": "no search name"}),
    ]
    assert new_terms(rows) == ["id", "order_id"]


CHARS = st.sampled_from(["a", "b", "#", ":", "é", "\U0001f600"])
# Keys around the tie's length: some share their first TIE_CHARS characters and differ after.
HEADS = st.sampled_from(["a" * (TIE_CHARS - 2), "a" * (TIE_CHARS - 1) + "b", "b" * TIE_CHARS, ""])
KEYS = st.builds(lambda head, tail: head + tail, HEADS, st.text(CHARS, max_size=4))


@given(st.lists(st.tuples(st.sampled_from(["id", "order_id"]), KEYS), max_size=30))
def test_name_then_tie_then_key_orders_as_name_then_key(nodes: list[tuple[str, str]]) -> None:
    """The index orders by (name, tie) and the key breaks ties inside a tie: the order search ranks in."""
    by_tie = sorted(nodes, key=lambda n: (n[0], search_props(n[1], {"searchName": n[0]})["searchTie"], n[1]))
    assert by_tie == sorted(nodes)
