"""Property: names made of any Unicode, NUL included, round-trip byte for byte in both stores.

Issue 14 found, on the embedded store, that a NUL in a name listed the job but answered its
lineage with 404, let a later event overwrite ``firstSeenAt``, and gave its run no inputs or
outputs (SQLite's JSON functions cut text at a NUL). Here namespaces, job and dataset names
and a field name are drawn from all of Unicode (surrogates excepted: they are not valid in
JSON text), and every answer that names them must give them back exactly.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contract_events import RUN_EVENT_SCHEMA, at, stored_time
from contract_stores import StoreFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olgraph import keys
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore

RUN_ID = str(uuid.UUID(int=0x00AA))

# Any code point but surrogates; NUL, controls, combining marks, astral planes all appear.
_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=24)


@st.composite
def names(draw: st.DrawFn) -> dict[str, str]:
    """Five names, each with a NUL somewhere about half of the time."""
    drawn = {}
    for role in ("namespace", "job", "source", "target", "field"):
        text = draw(_TEXT)
        if draw(st.booleans()):
            cut = draw(st.integers(0, len(text)))
            text = text[:cut] + "\x00" + text[cut:]
        drawn[role] = text
    return drawn


def events(n: dict[str, str]) -> list[dict[str, Any]]:
    """START then COMPLETE of one run reading ``source`` and writing ``target`` (with a field)."""
    ns = n["namespace"]
    target = {
        "namespace": ns,
        "name": n["target"],
        "facets": {
            "schema": {
                "_producer": "https://example.org/tests",
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                "fields": [{"name": n["field"], "type": "string"}],
            }
        },
    }
    return [
        {
            "eventType": event_type,
            "eventTime": at(minute),
            "producer": "https://example.org/tests",
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": RUN_ID},
            "job": {"namespace": ns, "name": n["job"]},
            "inputs": [{"namespace": ns, "name": n["source"]}],
            "outputs": [target],
        }
        for event_type, minute in (("START", 1), ("COMPLETE", 2))
    ]


async def _check(store: GraphStore, n: dict[str, str]) -> None:
    for event in events(n):  # one batch per event, as the consumer applies them
        await store.apply(normalize(parse_event(event)))
    ns = n["namespace"]
    job, source, target = (
        keys.job_key(ns, n["job"]),
        keys.dataset_key(ns, n["source"]),
        keys.dataset_key(ns, n["target"]),
    )

    listed = await store.list_jobs(ns, limit=10, offset=0)
    assert [(v.id, v.namespace, v.name) for v in listed.items] == [(job, ns, n["job"])]
    node = await store.get_node(job)
    assert node is not None
    assert node.props["firstSeenAt"] == stored_time(1)  # the second event did not overwrite it
    assert node.props["lastSeenAt"] == stored_time(2)

    lineage = await store.lineage(job, "both", depth=2, max_nodes=100)
    assert {v.id for v in lineage.nodes} == {job, source, target}
    assert {(v.id, v.name) for v in lineage.nodes if v.type == "dataset"} == {
        (source, n["source"]),
        (target, n["target"]),
    }

    run = await store.get_run(RUN_ID)
    assert run is not None
    assert run.job == job
    assert [ref.dataset for ref in run.inputs] == [source]
    assert [ref.dataset for ref in run.outputs] == [target]

    dataset = await store.get_dataset(target)
    assert dataset is not None
    assert dataset.node.name == n["target"]
    assert dataset.fields == [n["field"]]
    datasets = await store.list_datasets(ns, limit=10, offset=0)
    assert sorted(v.name for v in datasets.items) == sorted({n["source"], n["target"]})


def test_any_unicode_name_round_trips(make_store: StoreFactory, store_kind: str) -> None:
    @settings(
        max_examples=12 if store_kind == "neo4j" else 60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(names())
    def check(n: dict[str, str]) -> None:
        async def run() -> None:
            async with make_store() as store:
                await _check(store, n)

        asyncio.run(run())

    check()


def test_a_nul_in_every_name(make_store: StoreFactory) -> None:
    """The case issue 14 reported, always tried (not left to chance)."""
    nul = {role: f"a\x00{role}" for role in ("namespace", "job", "source", "target", "field")}

    async def run() -> None:
        async with make_store() as store:
            await _check(store, nul)

    asyncio.run(run())
