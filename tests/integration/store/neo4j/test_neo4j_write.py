"""Batches touching every label and relationship type at once, on the real server.

The Neo4j store locks the nodes of every label in one statement, the relationships of
every type in another, and writes what is left in a third (see
``olgraph.store.neo4j.write``). These batches give each of those statements rows for
every label or type at once; the graph must be the one the same mutations make when
applied one at a time, and concurrent writers of such batches must all land.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from olgraph import keys
from olgraph.normalize.mutations import (
    MODEL_LABEL,
    Label,
    Link,
    Merge,
    Mutation,
    Prop,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store.base import GraphDump
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore, write
from olgraph.store.neo4j import cypher as cy

pytestmark = pytest.mark.neo4j

NS = keys.namespace_key("ns")
JOB, UPSTREAM_JOB = keys.job_key("ns", "job"), keys.job_key("ns", "upstream")
RUN, PARENT_RUN = keys.run_key("r1"), keys.run_key("r0")
SOURCE, TARGET, ALIAS = (keys.dataset_key("ns", name) for name in ("source", "target", "alias"))
VERSION = keys.dataset_version_key(TARGET, "v1")
FIELD_IN, FIELD_OUT = keys.field_key(SOURCE, "a"), keys.field_key(TARGET, "b")
OWNERS = [keys.owner_key(name) for name in ("alice", "bob", "carol")]
TAGS = [keys.tag_key("pii", value) for value in ("yes", "no")]


@pytest.fixture
async def store(
    neo4j_uri: str, neo4j_auth: tuple[str, str] | None, clean_neo4j: None
) -> AsyncIterator[Neo4jStore]:
    user, password = neo4j_auth or (None, None)
    opened = Neo4jStore(neo4j_uri, user=user, password=password)
    await opened.open()
    yield opened
    await opened.close()


def _every_label_and_type(writer: int, at: str) -> list[Mutation]:
    """One batch with nodes of every label (and ``Model``), relationships of every type,
    owner and tag replacement and an implicit read; ``writer`` and ``at`` vary the values."""
    mark = (Prop("writers", [f"w{writer:02d}"], Merge.UNION), Prop("last", at, Merge.MAX))
    seen = (Prop("lastSeenAt", at, Merge.MAX), Prop("type", f"t{writer % 3}", version=at))
    nodes: list[Mutation] = [
        UpsertNode(NS, Label.NAMESPACE, (Prop("name", "ns"), *mark)),
        UpsertNode(JOB, Label.JOB, (Prop("namespace", "ns"), Prop("name", "job"), *mark)),
        UpsertNode(UPSTREAM_JOB, Label.JOB, (Prop("namespace", "ns"), Prop("name", "upstream"))),
        UpsertNode(RUN, Label.RUN, (Prop("runId", "r1"), Prop("updatedAt", at, Merge.MAX), *mark)),
        UpsertNode(PARENT_RUN, Label.RUN, (Prop("runId", "r0"),)),
        *(
            UpsertNode(key, Label.DATASET, (Prop("namespace", "ns"), Prop("name", key[-6:]), *mark))
            for key in (SOURCE, ALIAS)
        ),
        UpsertNode(TARGET, Label.DATASET, (Prop("name", "target"), *mark), frozenset({MODEL_LABEL})),
        UpsertNode(
            VERSION,
            Label.DATASET_VERSION,
            (Prop("dataset", TARGET), Prop("version", "v1"), Prop("createdAt", at, Merge.MIN)),
        ),
        *(UpsertNode(f, Label.FIELD, (Prop("name", f[-1]), *mark)) for f in (FIELD_IN, FIELD_OUT)),
        *(UpsertNode(o, Label.OWNER, (Prop("name", o[6:]),)) for o in OWNERS),
        *(UpsertNode(t, Label.TAG) for t in TAGS),
    ]
    edges = [
        (RelType.CONSUMED_BY, SOURCE, JOB),
        (RelType.PRODUCES, JOB, TARGET),
        (RelType.WROTE, RUN, VERSION),
        (RelType.VERSION_OF, VERSION, TARGET),
        (RelType.RUN_OF, RUN, JOB),
        (RelType.CHILD_OF, RUN, PARENT_RUN),
        (RelType.HAS_FIELD, SOURCE, FIELD_IN),
        (RelType.HAS_FIELD, TARGET, FIELD_OUT),
        (RelType.DERIVES, FIELD_IN, FIELD_OUT),
        (RelType.INFLUENCES, FIELD_IN, TARGET),
        (RelType.FEEDS, UPSTREAM_JOB, JOB),
        (RelType.ALIAS_OF, ALIAS, TARGET),
        (RelType.CONTAINS, NS, JOB),
        (RelType.TAGGED, RUN, TAGS[0]),
        (RelType.OWNS, OWNERS[2], JOB),
        (RelType.READ_BY, VERSION, RUN),
    ]
    rnd = random.Random(writer)
    owners = tuple(Link(o, (("type", "team"),)) for o in rnd.sample(OWNERS[:2], rnd.randint(0, 2)))
    tags = tuple(Link(t) for t in rnd.sample(TAGS, rnd.randint(0, 2)))
    return [
        *nodes,
        *(UpsertEdge(rel, source, target, seen) for rel, source, target in edges),
        ReplaceLinks(TARGET, RelType.OWNS, owners, incoming=True, version=at, slot="ownership"),
        ReplaceLinks(SOURCE, RelType.TAGGED, tags, incoming=False, version=at, slot="tags"),
        ReadVersion(RUN, SOURCE, at),
    ]


def _covers_every_label_and_type(dump: GraphDump) -> None:
    labels = {label for node_labels, _ in dump.nodes.values() for label in node_labels}
    assert labels >= {label.value for label in Label} | {MODEL_LABEL}
    assert {rel for rel, _, _ in dump.edges} == {t.value for t in RelType}


async def _one_by_one(batches: list[list[Mutation]], path: Path) -> GraphDump:
    """The graph of ``batches`` applied one mutation at a time, in order, by the embedded store."""
    embedded = EmbeddedStore(path)
    await embedded.open()
    try:
        for batch in batches:
            for mutation in batch:
                await embedded.apply([mutation])
        return await embedded.dump()
    finally:
        await embedded.close()


async def test_a_batch_of_every_label_and_type_gives_the_graph_of_its_mutations_one_by_one(
    store: Neo4jStore, tmp_path: Path
) -> None:
    first = _every_label_and_type(1, "2024-01-01T00:00:00Z")
    # Later: every node and relationship changes, owners and tags are replaced (some removed).
    second = _every_label_and_type(2, "2024-01-02T00:00:00Z")

    await store.apply(first)
    dump = await store.dump()
    _covers_every_label_and_type(dump)
    assert dump == await _one_by_one([first], tmp_path / "first.db")

    await store.apply(second)
    await store.apply(first)  # an older batch redelivered changes nothing the merge rules keep
    dump = await store.dump()
    _covers_every_label_and_type(dump)
    assert dump == await _one_by_one([first, second, first], tmp_path / "second.db")
    assert dump.nodes[JOB][1]["writers"] == ["w01", "w02"]
    assert dump.edges[(RelType.DERIVES.value, FIELD_IN, FIELD_OUT)]["type"] == "t2"


async def test_concurrent_batches_of_every_label_and_type_all_land(store: Neo4jStore, tmp_path: Path) -> None:
    """Writers lock the same nodes and relationships of every label and type; none may fail."""
    batches = [_every_label_and_type(w, f"2024-01-01T00:{w:02d}:00Z") for w in range(16)]

    await asyncio.gather(*(store.apply(batch) for batch in batches))

    dump = await store.dump()
    _covers_every_label_and_type(dump)
    assert dump.nodes[JOB][1]["writers"] == [f"w{w:02d}" for w in range(16)]
    assert dump == await _one_by_one(batches, tmp_path / "sequential.db")


def _operators(plan: dict[str, Any], depth: int = 0) -> list[str]:
    """``plan``'s operators with their details, as an indented list; ``Eager`` buffers left out."""
    name = str(plan["operatorType"]).split("@")[0]
    ops = [] if name == "Eager" else [f"{' ' * depth}{name} {plan.get('args', {}).get('Details', '')}"]
    for child in plan.get("children", []):
        ops += _operators(child, depth + (name != "Eager"))
    return ops


def _plans(driver: Driver) -> dict[str, list[str]]:
    statements = {"lock nodes": write.LOCK_NODES, "lock edges": write.LOCK_EDGES, "flush": write.FLUSH}
    plans = {}
    with driver.session() as session:
        for name, statement in statements.items():
            # Planned afresh, on the statistics Neo4j has now (a plan is cached by text and
            # parameter types: ``rows`` is always a map).
            session.run("CALL db.clearQueryCaches()").consume()
            explain = "EXPLAIN " + statement.removeprefix(cy.PLAN_ONCE)
            plan = session.run(explain, {"rows": {}}).consume().plan
            assert plan is not None
            plans[name] = _operators(plan)
    return plans


async def test_the_write_plans_do_not_depend_on_the_graph(store: Neo4jStore, neo4j_driver: Driver) -> None:
    """Why the write statements may skip re-planning: planned on an empty graph or a filled
    one, they seek the unique key indexes and element ids the same way and run the same
    operators. (Only where Neo4j buffers rows with ``Eager`` may differ: buffering is there
    for correctness whatever the data, and costs a copy of the rows.)"""
    empty = _plans(neo4j_driver)
    for writer in range(30):
        batch = _every_label_and_type(writer, f"2024-01-01T00:{writer:02d}:00Z")
        suffix = f"-{writer}"
        await store.apply([_renamed(m, suffix) for m in batch])

    filled = _plans(neo4j_driver)

    assert filled == empty
    for name in ("lock nodes", "lock edges", "flush"):
        assert not [op for op in empty[name] if "Scan " in op], name
    seeks = [op.split()[0] for op in empty["lock nodes"] if "Seek" in op]
    assert seeks == ["NodeUniqueIndexSeek(Locking)"] * len(Label)
    seeks = [op.split()[0] for op in empty["lock edges"] if "Seek" in op]
    assert seeks == ["NodeByElementIdSeek"] * 2 * len(RelType)


def _renamed(mutation: Mutation, suffix: str) -> Mutation:
    """``mutation`` on other keys (every key gets ``suffix``), so that the graph grows."""
    if isinstance(mutation, UpsertNode):
        return UpsertNode(mutation.key + suffix, mutation.label, mutation.props, mutation.extra_labels)
    if isinstance(mutation, UpsertEdge):
        return UpsertEdge(mutation.type, mutation.source + suffix, mutation.target + suffix, mutation.props)
    if isinstance(mutation, ReplaceLinks):
        others = tuple(Link(link.key + suffix, link.props) for link in mutation.others)
        return ReplaceLinks(
            mutation.node + suffix, mutation.type, others, mutation.incoming, mutation.version, mutation.slot
        )
    assert isinstance(mutation, ReadVersion)
    return ReadVersion(mutation.run + suffix, mutation.dataset + suffix, mutation.at, mutation.props)
