"""``connected`` (lineage through jobs' inputs and outputs, either way) and ``get_namespaces``,
on both stores: the questions the Marquez-compatible API asks that the others do not."""

from __future__ import annotations

import pytest
from contract_events import apply_events, dataset, run_event, stored_time

from olgraph import keys
from olgraph.errors import NotFound
from olgraph.store.base import GraphStore

NS = "lake"


def _ds(name: str) -> str:
    return keys.dataset_key(NS, name)


def _job(name: str) -> str:
    return keys.job_key("etl", name)


@pytest.fixture
async def siblings(store: GraphStore) -> GraphStore:
    """``raw`` is read by ``a`` (writes ``x``) and by ``b`` (writes ``y``); ``c`` reads ``y``,
    writes ``z``; ``d`` writes ``raw``'s unrelated neighbour ``other``."""
    runs = [
        ("a", ["raw"], ["x"]),
        ("b", ["raw"], ["y"]),
        ("c", ["y"], ["z"]),
        ("d", [], ["other"]),
    ]
    events = [
        run_event(
            "COMPLETE",
            n,
            n,
            ("etl", job),
            [dataset(NS, i) for i in inputs],
            [dataset(NS, o) for o in outputs],
        )
        for n, (job, inputs, outputs) in enumerate(runs, start=1)
    ]
    await apply_events(store, events)
    return store


async def test_connected_reaches_siblings_through_a_shared_input(siblings: GraphStore) -> None:
    # from job a: raw and x (1), then b through raw (2), then y (3), then c (4), then z (5)
    found = await siblings.connected(_job("a"), depth=5, max_nodes=100)
    assert found.distances == {
        _job("a"): 0,
        _ds("raw"): 1,
        _ds("x"): 1,
        _job("b"): 2,
        _ds("y"): 3,
        _job("c"): 4,
        _ds("z"): 5,
    }
    assert [(e.source, e.target, e.type) for e in found.edges] == [
        (_ds("raw"), _job("a"), "CONSUMED_BY"),
        (_ds("raw"), _job("b"), "CONSUMED_BY"),
        (_ds("y"), _job("c"), "CONSUMED_BY"),
        (_job("a"), _ds("x"), "PRODUCES"),
        (_job("b"), _ds("y"), "PRODUCES"),
        (_job("c"), _ds("z"), "PRODUCES"),
    ]
    assert not found.truncated


async def test_connected_answers_the_nodes_it_reaches_by_their_identity_alone(siblings: GraphStore) -> None:
    """Its caller reads what it shows of each node afterwards, in one call: the walk ships no
    properties past the start's (jobs' SQL, datasets' facets)."""
    found = await siblings.connected(_job("a"), depth=5, max_nodes=100)
    reached = sorted((n for n in found.nodes if n.id != _job("a")), key=lambda n: n.id)
    assert [(n.id, n.type, n.namespace, n.name, n.deleted, n.props) for n in reached] == [
        (_ds(name), "dataset", NS, name, False, {}) for name in ("raw", "x", "y", "z")
    ] + [(_job(name), "job", "etl", name, False, {}) for name in ("b", "c")]
    start = next(n for n in found.nodes if n.id == _job("a"))
    assert start.props["lastSeenAt"] == stored_time(1)


async def test_connected_stops_at_its_depth_and_says_so(siblings: GraphStore) -> None:
    found = await siblings.connected(_job("a"), depth=3, max_nodes=100)
    assert set(found.distances) == {_job("a"), _ds("raw"), _ds("x"), _job("b"), _ds("y")}
    assert found.truncated_by == ("depth",)
    capped = await siblings.connected(_job("a"), depth=5, max_nodes=3)
    assert capped.truncated_by == ("nodes",)
    assert len(capped.nodes) == 3


async def test_connected_from_a_dataset_and_unknown_nodes(siblings: GraphStore) -> None:
    found = await siblings.connected(_ds("y"), depth=1, max_nodes=100)
    assert found.distances == {_ds("y"): 0, _job("b"): 1, _job("c"): 1}
    lonely = await siblings.connected(_ds("other"), depth=0, max_nodes=100)
    assert [n.id for n in lonely.nodes] == [_ds("other")]
    with pytest.raises(NotFound):
        await siblings.connected(_ds("nope"), depth=2, max_nodes=100)


async def test_get_namespaces_answers_the_known_ones_with_their_times(siblings: GraphStore) -> None:
    found = await siblings.get_namespaces([NS, "etl", "nope"])
    assert sorted(found) == ["etl", NS]
    assert found[NS]["firstSeenAt"] == stored_time(1)
    assert found[NS]["lastSeenAt"] == stored_time(4)
    assert found["etl"]["firstSeenAt"] == stored_time(1)
    assert "key" not in found["etl"]
    assert found[NS]["deleted"] is False
    assert await siblings.get_namespaces([]) == {}
