"""Real producers' events in every store, and the two stores side by side.

The corpus (``../shared/corpus``) holds events captured from Spark, Airflow, dbt, Flink,
Glue, Marquez's and the OpenLineage client's tests. Every accepted one goes through the
real parser and normalizer into the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_events import Event, apply_events, run_events, warehouse_events
from contract_stores import StoreFactory, embedded_factory, neo4j_factory

from olgraph.errors import InvalidEvent
from olgraph.ingest import decode_json, parse_event
from olgraph.store.base import GraphStore
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.search import SearchQuery

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def corpus_events() -> list[Event]:
    """Every event of the shared corpus that olgraph accepts, in a stable order."""
    events = []
    for path in sorted(CORPUS.glob("*/*.json")):
        try:
            event = decode_json(path.read_bytes())
            parse_event(event)
        except InvalidEvent:
            continue  # invalid on purpose (see the corpus README)
        events.append(event)
    return events


def test_the_corpus_is_there() -> None:
    assert len(corpus_events()) >= 40


async def test_corpus_graph_does_not_depend_on_arrival_order(make_store: StoreFactory) -> None:
    events = corpus_events()
    async with make_store() as forward:
        await apply_events(forward, events)
        expected = await forward.dump()
        await apply_events(forward, events)  # re-delivery of everything
        assert await forward.dump() == expected
    async with make_store() as backward:
        await apply_events(backward, events[::-1])
        assert await backward.dump() == expected
    assert len(expected.nodes) > 100


async def _answers(store: GraphStore) -> list[object]:
    """Query answers over the whole graph: lineage, impact, column lineage and details of every
    job and dataset, their runs and versions, searches and tags."""
    answers: list[object] = [await store.dump()]
    namespaces = await store.list_namespaces(1000, 0, include_deleted=True)
    answers.append(namespaces)
    for namespace in namespaces.items:
        everything = Window(1000)
        datasets = await store.list_nodes(NodeFilter("dataset", namespace, include_deleted=True), everything)
        jobs = await store.list_nodes(NodeFilter("job", namespace, include_deleted=True), everything)
        answers += [datasets, jobs, await store.list_datasets(namespace, 1000, 0)]
        for node in [*datasets.items, *jobs.items]:
            answers.append(await store.lineage(node.id, "both", 4, 50))
            answers.append(await store.impact(node.id, 6, 50))
        for dataset in datasets.items:
            answers.append(await store.get_dataset(dataset.id))
            answers.append(await store.column_lineage(dataset.id, "both", 3, 200))
            versions = await store.list_versions(dataset.id, 1000, 0)
            answers.append(versions)
            for version in versions.items[:2]:
                answers.append(await store.get_version(dataset.id, version.version))
        answers.append(await store.column_edges([d.id for d in datasets.items]))
        for job in jobs.items:
            answers.append(await store.get_job(job.id))
            runs = await store.list_runs(job.id, 1000, 0)
            answers.append(runs)
            for run in runs.items:
                answers.append(await store.get_run_detail(run.run_id))
                answers.append(await store.list_child_runs(run.run_id, 100, 0))
        for term in {namespace[:3], namespace[-4:]}:
            answers.append(await store.search(SearchQuery(term.lower(), limit=100, include_deleted=True)))
    answers.append(await store.list_tags(1000, 0))
    for term in ("spark", "order", "ta", "people", "x"):
        answers.append(await store.search(SearchQuery(term, limit=100)))
    return answers


@pytest.mark.neo4j
async def test_both_stores_give_identical_answers(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    events = [*warehouse_events(), *run_events(), *corpus_events()]
    results = []
    for factory in (embedded_factory(tmp_path), neo4j_factory(request)):
        async with factory() as store:
            await apply_events(store, events)
            results.append(await _answers(store))
    embedded, neo4j = results
    assert len(embedded) == len(neo4j)
    for mine, theirs in zip(embedded, neo4j, strict=True):
        assert mine == theirs
