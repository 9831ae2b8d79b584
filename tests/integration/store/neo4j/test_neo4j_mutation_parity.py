"""Random mutation batches give the same graph and answers in Neo4j as in the embedded store.

The contract suite starts from events; this goes below the normalizer to reach corners it
never produces: relationships to nodes that do not exist, several ``ReplaceLinks`` on one
node in one batch, producer-named ``initial`` versions, explicit and implicit reads of one
version, tombstones, dropped datasets. The batches are seeded, so a failure is replayable.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

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
from olgraph.store.base import GraphStore
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore

pytestmark = pytest.mark.neo4j

DATASETS = [keys.dataset_key("ns", f"d{i}") for i in range(4)]
JOBS = [keys.job_key("ns", f"j{i}") for i in range(2)]
RUNS = [keys.run_key(f"r{i}") for i in range(3)]
OWNERS = [keys.owner_key(f"o{i}") for i in range(3)]
TAGS = [keys.tag_key("k", f"v{i}") for i in range(2)]
TIMES = [f"2024-01-0{day}" for day in range(1, 9)]


def _node(key: str, *props: Prop, model: bool = False) -> UpsertNode:
    label = {"dataset": Label.DATASET, "job": Label.JOB, "run": Label.RUN}.get(
        key.partition(":")[0], Label.OWNER
    )
    return UpsertNode(key, label, props, frozenset({MODEL_LABEL}) if model else frozenset())


def _maybe(rnd: random.Random, *nodes: UpsertNode) -> list[Mutation]:
    """The nodes, each left out one time in five (then only an earlier batch may have made it)."""
    return [n for n in nodes if rnd.random() < 0.8]


def _dataset(rnd: random.Random) -> list[Mutation]:
    key = rnd.choice(DATASETS)
    props = (
        Prop("namespace", "ns"),
        Prop("name", key[-2:]),
        Prop("lastModifiedAt", rnd.choice(TIMES), Merge.MAX),
        Prop("droppedAt", rnd.choice([None, *TIMES]), Merge.MAX),
        Prop("facet.x", rnd.choice(['{"a": 1}', None]), version=rnd.choice(TIMES)),  # None: a tombstone
    )
    return [_node(key, *props, model=rnd.random() < 0.2)]


def _run(rnd: random.Random) -> list[Mutation]:
    run, job = rnd.choice(RUNS), rnd.choice(JOBS)
    state = Prop("state", rnd.choice(["START", "COMPLETE"]), version=rnd.choice(TIMES))
    props = (Prop("runId", run[4:]), Prop("updatedAt", rnd.choice(TIMES), Merge.MAX), state)
    return [
        _node(run, *props),
        _node(job, Prop("namespace", "ns"), Prop("name", job[-2:])),
        UpsertEdge(RelType.RUN_OF, run, job),
    ]


def _write(rnd: random.Random) -> list[Mutation]:
    dataset, run = rnd.choice(DATASETS), rnd.choice(RUNS)
    name = rnd.choice(["a", "b", "initial", f"run:{run}"])
    version, at = keys.dataset_version_key(dataset, name), rnd.choice(TIMES)
    props = (
        Prop("dataset", dataset),
        Prop("version", name),
        Prop("createdAt", at, Merge.MIN),
        Prop("runId", run[4:]),
    )
    return [
        UpsertNode(version, Label.DATASET_VERSION, props),
        UpsertEdge(RelType.VERSION_OF, version, dataset),
        UpsertEdge(RelType.WROTE, run, version, (Prop("at", at, Merge.MIN),)),
        *_maybe(rnd, _node(dataset), _node(run)),
    ]


def _read(rnd: random.Random) -> list[Mutation]:
    dataset, run = rnd.choice(DATASETS), rnd.choice(RUNS)
    if rnd.random() < 0.8:
        return [ReadVersion(run, dataset, rnd.choice(TIMES)), *_maybe(rnd, _node(dataset), _node(run))]
    version = keys.dataset_version_key(dataset, rnd.choice(["a", "initial"]))  # a read naming its version
    read_props = (Prop("at", rnd.choice(TIMES), Merge.MIN), Prop("implicit", rnd.random() < 0.5, Merge.OR))
    return [
        UpsertNode(version, Label.DATASET_VERSION, (Prop("dataset", dataset),)),
        UpsertEdge(RelType.VERSION_OF, version, dataset),
        UpsertEdge(RelType.READ_BY, version, run, read_props),
        _node(dataset),
        _node(run),
    ]


def _links(rnd: random.Random) -> list[Mutation]:
    if rnd.random() < 0.6:
        node, rel, incoming, slot = (
            rnd.choice(DATASETS + JOBS),
            RelType.OWNS,
            True,
            rnd.choice(["ownership", "x"]),
        )
        others = [
            Link(o, (("type", rnd.choice(["t", None])),)) for o in rnd.sample(OWNERS, rnd.randint(0, 2))
        ]
    else:
        node, rel, incoming, slot = rnd.choice(DATASETS), RelType.TAGGED, False, "tags"
        others = [Link(t) for t in rnd.sample(TAGS, rnd.randint(0, 2))]
    replace = ReplaceLinks(node, rel, tuple(others), incoming, rnd.choice(TIMES[:3]), slot)
    upserts = [UpsertNode(o.key, Label.OWNER if incoming else Label.TAG) for o in others]
    return [replace, *_maybe(rnd, _node(node), *upserts)]


def _lineage(rnd: random.Random) -> list[Mutation]:
    job, dataset = rnd.choice(JOBS), rnd.choice(DATASETS)
    rel = rnd.choice([RelType.CONSUMED_BY, RelType.PRODUCES, RelType.ALIAS_OF, RelType.OWNS])
    ends = {
        RelType.CONSUMED_BY: (dataset, job),
        RelType.PRODUCES: (job, dataset),
        RelType.ALIAS_OF: (dataset, rnd.choice(DATASETS)),
        RelType.OWNS: (rnd.choice(OWNERS), dataset),
    }[rel]
    props = (
        Prop("lastSeenAt", rnd.choice(TIMES), Merge.MAX),
        Prop("type", rnd.choice("ab"), version=rnd.choice(TIMES)),
    )
    return [UpsertEdge(rel, *ends, props), *_maybe(rnd, *(_node(k) for k in ends))]


def random_batches(seed: int) -> list[list[Mutation]]:
    """One to eight batches of one to eight random groups of related mutations."""
    rnd = random.Random(seed)
    makers = [_dataset, _run, _write, _read, _links, _lineage]
    batches = []
    for _ in range(rnd.randint(1, 8)):
        batch = [m for _ in range(rnd.randint(1, 8)) for m in rnd.choice(makers)(rnd)]
        rnd.shuffle(batch)
        batches.append(batch)
    return batches


async def _answers(store: GraphStore) -> list[object]:
    answers: list[object] = [await store.dump(), await store.list_namespaces(10, 0)]
    answers += [await store.list_datasets("ns", 2, 1), await store.list_jobs("ns", -1, -3)]
    for key in DATASETS + JOBS:
        answers.append(await store.get_dataset(key))
        if await store.get_node(key) is None:
            continue
        for direction in ("upstream", "downstream", "both"):
            answers.append(await store.lineage(key, direction, 3, 3))
            answers.append(await store.lineage(key, direction, 5, 100, include_deleted=True))
        answers.append(await store.impact(key, 5, 100))
    for job in JOBS:
        answers += [await store.list_runs(job, 10, 0), await store.list_runs(job, 1, 1)]
    answers += [await store.get_run(run.removeprefix("run:")) for run in RUNS]
    return answers


@pytest.mark.parametrize("seed", range(25))
async def test_random_batches_give_the_embedded_answers(
    seed: int, neo4j_uri: str, neo4j_auth: tuple[str, str] | None, clean_neo4j: None, tmp_path: Path
) -> None:
    batches = random_batches(seed)
    user, password = neo4j_auth or (None, None)
    neo4j = Neo4jStore(neo4j_uri, user=user, password=password)
    embedded = EmbeddedStore(tmp_path / "graph.db")
    await neo4j.open()
    await embedded.open()
    try:
        for batch in batches:
            await neo4j.apply(batch)
            await embedded.apply(batch)
        expected = await _answers(embedded)
        got = await _answers(neo4j)
        assert got[0] == expected[0]  # the graph itself first: the clearest diff
        assert got == expected
    finally:
        await neo4j.close()
        await embedded.close()
