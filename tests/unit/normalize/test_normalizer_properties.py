"""Property-based tests of the normalizer: determinism, closed batches, order independence."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olgraph.ingest import ParsedEvent, parse_event
from olgraph.normalize.mutations import Mutation, ReadVersion, ReplaceLinks, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize

RUN_IDS = ["0176a8c2-fe01-7439-87e6-56a1a1b4029f", "11111111-2222-3333-4444-555555555555"]
names = st.sampled_from(["a", "b", "c", "db.t", "x:y"])
namespaces = st.sampled_from(["pg", "s3://lake", "airflow"])
times = st.sampled_from(["2024-05-01T12:00:00Z", "2024-05-01T13:00:00.5Z", "2024-05-02T00:00:00+02:00"])
json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
json_object = st.dictionaries(st.text(max_size=5), json_value, max_size=3)


def _ref(namespace: str, name: str) -> dict[str, Any]:
    return {"namespace": namespace, "name": name}


field_ref = st.builds(
    lambda ns, n, f, t: {**_ref(ns, n), "field": f, "transformations": t},
    namespaces,
    names,
    names,
    st.lists(st.fixed_dictionaries({"type": st.sampled_from(["DIRECT", "INDIRECT"])}), max_size=2),
)
dataset_facets = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.builds(
            lambda fs: {"fields": [{"name": f, "type": "INT"} for f in fs]}, st.lists(names, max_size=3)
        ),
        "symlinks": st.builds(
            lambda ns, n: {"identifiers": [{**_ref(ns, n), "type": "TABLE"}]}, namespaces, names
        ),
        "columnLineage": st.builds(
            lambda f, refs, ds: {"fields": {f: {"inputFields": refs}}, "dataset": ds},
            names,
            st.lists(field_ref, max_size=2),
            st.lists(field_ref, max_size=1),
        ),
        "ownership": st.builds(lambda o: {"owners": [{"name": n} for n in o]}, st.lists(names, max_size=2)),
        "tags": st.builds(
            lambda t: {"tags": [{"key": k, "value": "v"} for k in t]}, st.lists(names, max_size=2)
        ),
        "version": st.builds(lambda v: {"datasetVersion": v}, names),
        "lifecycleStateChange": st.sampled_from(
            [{"lifecycleStateChange": "DROP"}, {"lifecycleStateChange": "CREATE"}, {"_deleted": True}]
        ),
        "datasetType": st.sampled_from([{"datasetType": "MODEL"}, {"datasetType": "TABLE"}]),
        "documentation": st.sampled_from([{"description": "d"}, {"_deleted": True}]),
        "custom": json_object,
    },
)
datasets = st.builds(lambda ns, n, f: {**_ref(ns, n), "facets": f}, namespaces, names, dataset_facets)
parents = st.none() | st.builds(
    lambda rid, ns, n, root: {
        "run": {"runId": rid},
        "job": _ref(ns, n),
        **({"root": {"run": {"runId": RUN_IDS[0]}, "job": _ref("airflow", "dag")}} if root else {}),
    },
    st.sampled_from(RUN_IDS),
    namespaces,
    names,
    st.booleans(),
)
job_facets = st.fixed_dictionaries(
    {},
    optional={
        "jobType": st.sampled_from(
            [{"processingType": "STREAMING", "integration": "FLINK"}, {"_deleted": True}]
        ),
        "ownership": st.builds(lambda o: {"owners": [{"name": n} for n in o]}, st.lists(names, max_size=2)),
        "custom": json_object,
    },
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["run", "run", "job", "dataset"]))
    event: dict[str, Any] = {"eventTime": draw(times)}
    if kind == "dataset":
        event["dataset"] = draw(datasets)
        return event
    event["job"] = {**_ref(draw(namespaces), draw(names)), "facets": draw(job_facets)}
    event["inputs"] = draw(st.lists(datasets, max_size=2))
    event["outputs"] = draw(st.lists(datasets, max_size=2))
    if kind == "run":
        parent = draw(parents)
        event["run"] = {
            "runId": draw(st.sampled_from(RUN_IDS)),
            "facets": {"parent": parent} if parent else {},
        }
        event["eventType"] = draw(st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"]))
    return event


def _check_closed(muts: list[Mutation]) -> None:
    """Every node an edge, link set or read refers to is upserted in the same batch."""
    keys = {m.key for m in muts if isinstance(m, UpsertNode)}
    for m in muts:
        if isinstance(m, UpsertEdge):
            assert {m.source, m.target} <= keys, m
        elif isinstance(m, ReplaceLinks):
            assert {m.node, *(link.key for link in m.others)} <= keys, m
        elif isinstance(m, ReadVersion):
            assert {m.run, m.dataset} <= keys, m
    first_edge = next((i for i, m in enumerate(muts) if not isinstance(m, UpsertNode)), len(muts))
    assert all(not isinstance(m, UpsertNode) for m in muts[first_edge:]), "nodes come first"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_normalize_is_deterministic_and_closed(data: dict[str, Any]) -> None:
    event = parse_event(data)
    first = normalize(event)
    again = normalize(parse_event(copy.deepcopy(data)))
    assert first == again
    _check_closed(first)
    assert len({m.key for m in first if isinstance(m, UpsertNode)}) == sum(
        isinstance(m, UpsertNode) for m in first
    ), "one upsert per node"


# mini_graph is a class, not per-test state, so sharing it between examples is fine
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(events(), min_size=2, max_size=4), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_graph(
    mini_graph: Any, data: list[dict[str, Any]], rnd: Any
) -> None:
    batches = [normalize(parse_event(d)) for d in data]
    reference = mini_graph()
    for batch in batches:
        reference.apply(batch)
    shuffled = batches[:]
    rnd.shuffle(shuffled)
    shuffled.append(batches[0])  # a re-delivery changes nothing either
    other = mini_graph()
    for batch in shuffled:
        other.apply(batch)
    assert other.snapshot() == reference.snapshot()


@settings(deadline=None)
@given(json_value, events())
def test_never_crashes_on_garbage_that_bypasses_parsing(garbage: Any, data: dict[str, Any]) -> None:
    event = parse_event(data)
    raw = copy.deepcopy(event.raw)
    for section in ("job", "run", "dataset"):
        if isinstance(raw.get(section), dict):
            raw[section]["facets"] = {
                "parent": garbage,
                "schema": garbage,
                "ownership": garbage,
                "lineage": garbage,
            }
    for section in ("inputs", "outputs"):
        raw[section] = [garbage, {"namespace": "n", "name": "x", "facets": {"columnLineage": garbage}}]
    broken = ParsedEvent(
        event.kind, event.event_time, event.event_type, event.run_id, event.job_namespace, event.job_name,
        None, None, raw, event.content_id,
    )  # fmt: skip
    _check_closed(normalize(broken))
