"""Long chains: lineage and impact at depth 1 to 30, both stores giving the same answers.

The Neo4j store fetches levels ahead of the walk (``olgraph.store.neo4j.read``); these graphs
are deeper than one statement looks ahead, branch, carry a symlink and a dropped table, so the
cache of expanded nodes is used, outgrown and refilled within one walk. Embedded and Neo4j must
give identical answers, and Neo4j must need far fewer statements than levels.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from contract_events import (
    Event,
    apply_events,
    chain,
    dataset,
    dataset_event,
    lifecycle,
    run_event,
    symlink,
)
from contract_stores import embedded_factory, neo4j_factory

from olgraph import keys
from olgraph.store.base import GraphStore

LENGTH = 30


def long_chain_events() -> list[Event]:
    """t0 -step0-> t1 -step1-> ... t30; every fifth step also writes a side table read by a
    report job; t12 has a symlink; t20 is dropped (the walk must not cross it)."""
    events: list[Event] = []
    for i in range(LENGTH):
        events += chain(i, f"t{i}", f"t{i + 1}", run=i + 1, minute=2 * i)
        if i % 5 == 0:
            events += chain(100 + i, f"t{i + 1}", f"side{i}", run=200 + i, minute=2 * i + 1)
            events += chain(300 + i, f"side{i}", f"report{i}", run=400 + i, minute=2 * i + 1)
    aliased = dataset("warehouse", "t12", symlinks=symlink("hive", "db.t12"))
    events.append(
        run_event("COMPLETE", 600, 70, ("etl", "step500"), [dataset("warehouse", "t11")], [aliased])
    )
    events += chain(501, "hive_copy", "db.t12", run=601, minute=71, ns="hive")
    events.append(dataset_event(80, dataset("warehouse", "t20", lifecycleStateChange=lifecycle("DROP"))))
    return events


def _id(name: str) -> str:
    return keys.dataset_key("warehouse", name)


async def _answers(store: GraphStore) -> list[object]:
    answers: list[object] = []
    for start in ("t0", "t10", "t15", "t30", "side5"):
        for direction in ("downstream", "upstream", "both"):
            for depth in (1, 5, 10, 20, 30):
                answers.append(await store.lineage(_id(start), direction, depth, 1000))
            answers.append(await store.lineage(_id(start), direction, 30, 7))
            answers.append(await store.lineage(_id(start), direction, 30, 1000, include_deleted=True))
        answers.append(await store.impact(_id(start), 30, 1000))
    return answers


@pytest.mark.neo4j
async def test_deep_lineage_is_the_same_on_both_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    results = []
    for factory in (embedded_factory(tmp_path), neo4j_factory(request)):
        async with factory() as store:
            await apply_events(store, long_chain_events())
            results.append(await _answers(store))
    embedded, neo4j = results
    assert len(embedded) == len(neo4j)
    for mine, theirs in zip(embedded, neo4j, strict=True):
        assert mine == theirs
    deepest = embedded[3]  # t0 downstream at depth 20
    assert len(deepest.nodes) > 20  # type: ignore[attr-defined]


@pytest.mark.neo4j
async def test_neo4j_walks_many_levels_per_statement(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from olgraph.store.neo4j import read  # noqa: PLC0415 - only when a Neo4j test runs

    counted: list[str] = []
    real: Callable[..., Any] = read.records

    async def counting(tx: Any, query: str, **params: Any) -> Any:
        counted.append(query)
        return await real(tx, query, **params)

    async with neo4j_factory(request)() as store:
        await apply_events(store, long_chain_events())
        expected = await store.lineage(_id("t0"), "downstream", 20, 1000)
        monkeypatch.setattr(read, "records", counting)
        assert await store.lineage(_id("t0"), "downstream", 20, 1000) == expected
        # a start statement, a few look-ahead statements, the probe past the depth: not 20 levels
        assert 2 <= len(counted) <= 8, len(counted)
        statements = {read.PREFETCH_NODES: len(counted)}
        # expanding ahead one node at a time, or not at all, changes the cost, never the answer
        for extra in (1, 0):
            monkeypatch.setattr(read, "PREFETCH_NODES", extra)
            counted.clear()
            assert await store.lineage(_id("t0"), "downstream", 20, 1000) == expected
            statements[extra] = len(counted)
        assert statements[0] > 20  # one statement per level (and the start and the probe)
        assert statements[1] < statements[0]


def wide_job_events() -> list[Event]:
    """Job ``etl.fan`` reads ``src`` and writes ``d0`` … ``d5``; ``d0`` … ``d3`` are dropped,
    ``d4`` and ``d5`` each feed a two-table chain."""
    outputs = [dataset("warehouse", f"d{i}") for i in range(6)]
    events = [run_event("COMPLETE", 1, 0, ("etl", "fan"), [dataset("warehouse", "src")], outputs)]
    for i in range(4):
        events.append(
            dataset_event(10 + i, dataset("warehouse", f"d{i}", lifecycleStateChange=lifecycle("DROP")))
        )
    for i in (4, 5):
        events += chain(10 * i, f"d{i}", f"e{i}", run=10 * i, minute=20 + i)
        events += chain(10 * i + 1, f"e{i}", f"f{i}", run=10 * i + 1, minute=30 + i)
    return events


@pytest.mark.neo4j
async def test_a_level_with_more_relationships_than_room_still_walks_on_when_it_fits(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The Neo4j walk does not fetch ahead past nodes whose relationships alone number the room
    left (the cap would end the walk there). ``etl.fan`` has six outputs and room for three
    more nodes, but four outputs are dropped: the level fits, and the walk must go on exactly
    as the embedded store's does."""
    fan = keys.job_key("etl", "fan")
    results = []
    for factory in (embedded_factory(tmp_path), neo4j_factory(request)):
        async with factory() as store:
            await apply_events(store, wide_job_events())
            results.append(
                [
                    await store.lineage(fan, "downstream", 10, 4),
                    await store.lineage(fan, "downstream", 10, 4, include_deleted=True),
                    await store.lineage(fan, "both", 10, 5),
                    await store.impact(fan, 10, 4),
                ]
            )
    embedded, neo4j = results
    assert embedded == neo4j
    walked_on = embedded[0]
    assert walked_on.distances == {fan: 0, _id("d4"): 1, _id("d5"): 1, keys.job_key("etl", "step40"): 2}
    assert walked_on.truncated_by == ("nodes",)
    assert embedded[1].distances == {fan: 0, _id("d0"): 1, _id("d1"): 1, _id("d2"): 1}
