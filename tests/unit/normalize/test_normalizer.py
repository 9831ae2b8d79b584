"""The normalizer, rule by rule (docs/graph-model.md, docs/decisions/0001)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import orjson

from olgraph.errors import InvalidEvent
from olgraph.ingest import ParsedEvent, parse_event
from olgraph.normalize.mutations import (
    Label,
    Merge,
    Mutation,
    Prop,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.normalize.normalizer import normalize
from olgraph.store.merge import derive_props

RUN_ID = "0176a8c2-fe01-7439-87e6-56a1a1b4029f"
RUN = f"run:{RUN_ID}"
JOB = "job:airflow:etl"
T1, T2, T3 = "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z", "2024-05-01T14:00:00Z"
N1, N2, N3 = (f"2024-05-01T{h}:00:00.000000000Z" for h in (12, 13, 14))

RunEventFactory = Callable[..., ParsedEvent]


def nodes(muts: list[Mutation]) -> dict[str, UpsertNode]:
    return {m.key: m for m in muts if isinstance(m, UpsertNode)}


def edges(muts: list[Mutation]) -> dict[tuple[str, str, str], UpsertEdge]:
    return {(m.type.value, m.source, m.target): m for m in muts if isinstance(m, UpsertEdge)}


def prop(m: UpsertNode | UpsertEdge, name: str) -> Prop:
    found = [p for p in m.props if p.name == name]
    assert len(found) == 1, f"{name} in {m.props}"
    return found[0]


def has_prop(m: UpsertNode | UpsertEdge, name: str) -> bool:
    return any(p.name == name for p in m.props)


def dataset(namespace: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, **fields}


# --- jobs, runs, namespaces ----------------------------------------------------------


def test_run_event_upserts_job_run_namespace(run_event: RunEventFactory) -> None:
    muts = normalize(run_event("START", T1))
    n, e = nodes(muts), edges(muts)
    assert n[JOB].label is Label.JOB
    assert prop(n[JOB], "namespace").value == "airflow"
    assert prop(n[JOB], "firstSeenAt") == Prop("firstSeenAt", N1, Merge.MIN)
    assert prop(n[JOB], "lastSeenAt") == Prop("lastSeenAt", N1, Merge.MAX)
    assert not has_prop(n[JOB], "static")
    run = n[RUN]
    assert prop(run, "runId").value == RUN_ID
    assert prop(run, "job").value == JOB
    assert prop(run, "state") == Prop("state", "START", Merge.LWW, f"0|{N1}|START")
    assert prop(run, "endedAt") == Prop("endedAt", None, Merge.LWW, f"0|{N1}|START")
    assert prop(run, "startedAt") == Prop("startedAt", N1, Merge.MIN)
    assert prop(run, "updatedAt") == Prop("updatedAt", N1, Merge.MAX)
    assert ("RUN_OF", RUN, JOB) in e
    assert ("CONTAINS", "namespace:airflow", JOB) in e
    assert n["namespace:airflow"].label is Label.NAMESPACE


def test_terminal_state_versions_outrank_later_non_terminal(run_event: RunEventFactory) -> None:
    complete = nodes(normalize(run_event("COMPLETE", T2)))[RUN]
    assert prop(complete, "state").version == f"1|{N2}|COMPLETE"
    assert prop(complete, "endedAt") == Prop("endedAt", N2, Merge.LWW, f"1|{N2}|COMPLETE")
    assert not has_prop(complete, "startedAt")
    late_running = nodes(normalize(run_event("RUNNING", T3)))[RUN]
    assert prop(late_running, "state").version < prop(complete, "state").version


def test_run_state_is_the_same_in_every_arrival_order(run_event: RunEventFactory, mini_graph: Any) -> None:
    batches = [
        normalize(run_event("START", T1)),
        normalize(run_event("COMPLETE", T2)),
        normalize(run_event("RUNNING", T3)),  # a straggler after the terminal event
        normalize(run_event("START", T1)),  # a duplicate
    ]
    snapshots = set()
    for order in itertools.permutations(batches):
        graph = mini_graph()
        for batch in order:
            graph.apply(batch)
        props = graph.props(RUN)
        assert (props["state"], props["startedAt"], props["endedAt"]) == ("COMPLETE", N1, N2)
        assert (props["firstSeenAt"], props["updatedAt"]) == (N1, N3)
        snapshots.add(graph.snapshot())
    assert len(snapshots) == 1


def test_later_terminal_state_wins(run_event: RunEventFactory, mini_graph: Any) -> None:
    graph = mini_graph().apply(normalize(run_event("FAIL", T3))).apply(normalize(run_event("COMPLETE", T2)))
    assert graph.props(RUN)["state"] == "FAIL"
    assert graph.props(RUN)["endedAt"] == N3


def test_event_without_type_writes_no_state(run_event: RunEventFactory) -> None:
    run = nodes(normalize(run_event(None, T1)))[RUN]
    assert not any(has_prop(run, name) for name in ("state", "endedAt", "startedAt"))
    assert prop(run, "updatedAt").value == N1


# --- facets --------------------------------------------------------------------------


def test_facets_are_kept_as_canonical_json(run_event: RunEventFactory) -> None:
    custom = {"z": 1, "a": {"nested": [1, "x"]}}
    event = run_event(
        "START",
        T1,
        run={"runId": RUN_ID, "facets": {"myCustom": custom}},
        job={"namespace": "airflow", "name": "etl", "facets": {"documentation": {"description": "Loads"}}},
    )
    n = nodes(normalize(event))
    stored = prop(n[RUN], "facet.myCustom")
    assert stored == Prop(
        "facet.myCustom", orjson.dumps(custom, option=orjson.OPT_SORT_KEYS).decode(), Merge.LWW, N1
    )
    assert prop(n[JOB], "facet.documentation").version == N1
    assert prop(n[JOB], "description") == Prop("description", "Loads", Merge.LWW, N1)


def test_deleted_facet_tombstones_the_facet_and_its_promotions(
    run_event: RunEventFactory, mini_graph: Any
) -> None:
    def with_doc(time: str, doc: dict[str, Any]) -> list[Mutation]:
        job = {"namespace": "airflow", "name": "etl", "facets": {"documentation": doc}}
        return normalize(run_event("OTHER", time, job=job))

    deleted = with_doc(T2, {"_deleted": True})
    assert prop(nodes(deleted)[JOB], "facet.documentation") == Prop(
        "facet.documentation", None, Merge.LWW, N2
    )
    assert prop(nodes(deleted)[JOB], "description") == Prop("description", None, Merge.LWW, N2)
    for order in (
        [with_doc(T1, {"description": "old"}), deleted],
        [deleted, with_doc(T1, {"description": "old"})],
    ):
        graph = mini_graph()
        for batch in order:
            graph.apply(batch)
        assert "description" not in graph.props(JOB)
        assert "facet.documentation" not in graph.props(JOB)
    graph = mini_graph().apply(deleted).apply(with_doc(T3, {"description": "new"}))
    assert graph.props(JOB)["description"] == "new"


def test_job_type_promotions_and_streaming(run_event: RunEventFactory) -> None:
    facets = {
        "jobType": {"processingType": "streaming", "integration": "FLINK", "jobType": "JOB"},
        "sql": {"query": "SELECT 1"},
        "sourceCodeLocation": {"type": "git", "url": "https://git/x.py"},
    }
    job = nodes(
        normalize(run_event("RUNNING", T1, job={"namespace": "airflow", "name": "etl", "facets": facets}))
    )[JOB]
    values = {p.name: p.value for p in job.props}
    assert values["processingType"] == "streaming"
    assert values["integration"] == "FLINK"
    assert values["jobType"] == "JOB"
    assert values["streaming"] is True
    assert values["sql"] == "SELECT 1"
    assert values["sourceCodeUrl"] == "https://git/x.py"
    batch = {"jobType": {"processingType": "BATCH", "integration": "SPARK"}}
    job = nodes(
        normalize(run_event("START", T1, job={"namespace": "airflow", "name": "etl", "facets": batch}))
    )[JOB]
    assert prop(job, "streaming").value is False


def test_run_facet_promotions(run_event: RunEventFactory) -> None:
    facets = {
        "nominalTime": {"nominalStartTime": "2024-05-01T00:00:00+02:00", "nominalEndTime": "not a time"},
        "errorMessage": {"message": "boom", "programmingLanguage": "PYTHON"},
    }
    run = nodes(normalize(run_event("FAIL", T1, run={"runId": RUN_ID, "facets": facets})))[RUN]
    assert prop(run, "nominalStartTime").value == "2024-04-30T22:00:00.000000000Z"
    assert not has_prop(run, "nominalEndTime")  # unparseable: kept only in the facet JSON
    assert prop(run, "errorMessage").value == "boom"


# --- lineage -------------------------------------------------------------------------


def test_job_and_run_level_lineage(run_event: RunEventFactory) -> None:
    event = run_event(
        "COMPLETE",
        T2,
        inputs=[
            dataset("pg", "a", inputFacets={"inputStatistics": {"rowCount": 3}}),
            dataset("pg", "v", facets={"version": {"datasetVersion": "7"}}),
        ],
        outputs=[dataset("pg", "b", outputFacets={"outputStatistics": {"rowCount": 10, "size": 99}})],
    )
    muts = normalize(event)
    n, e = nodes(muts), edges(muts)
    consumed = e[("CONSUMED_BY", "dataset:pg:a", JOB)]
    assert prop(consumed, "runtime") == Prop("runtime", True, Merge.OR)
    assert prop(consumed, "firstSeenAt").value == N2
    assert prop(consumed, "inputFacet.inputStatistics").value == '{"rowCount":3}'
    produces = e[("PRODUCES", JOB, "dataset:pg:b")]
    assert prop(produces, "lastSeenAt") == Prop("lastSeenAt", N2, Merge.MAX)
    written = f"datasetVersion:pg:b@run:{RUN_ID}"
    assert prop(n[written], "createdAt") == Prop("createdAt", N2, Merge.MIN)
    assert prop(n[written], "runId").value == RUN_ID
    assert prop(n[written], "rowCount").value == 10
    assert prop(n[written], "size").value == 99
    assert not has_prop(n[written], "fileCount")
    assert prop(e[("WROTE", RUN, written)], "at").value == N2
    assert prop(e[("WROTE", RUN, written)], "outputFacet.outputStatistics").version == N2
    assert ("VERSION_OF", written, "dataset:pg:b") in e
    [read_a] = [m for m in muts if isinstance(m, ReadVersion) and m.dataset == "dataset:pg:a"]
    assert (read_a.run, read_a.at) == (RUN, N2)
    # the run's own read keeps its input facets (they move with the read when it is re-linked)
    assert read_a.props == (Prop("inputFacet.inputStatistics", '{"rowCount":3}', Merge.LWW, N2),)
    read = e[("READ_BY", "datasetVersion:pg:v@7", RUN)]
    assert prop(read, "implicit") == Prop("implicit", False, Merge.OR)
    assert prop(read, "at").value == N2
    assert not any(isinstance(m, ReadVersion) and m.dataset == "dataset:pg:v" for m in muts)
    assert prop(n["dataset:pg:b"], "lastModifiedAt") == Prop("lastModifiedAt", N2, Merge.MAX)
    assert not has_prop(n["dataset:pg:a"], "lastModifiedAt")


def test_one_version_per_run_and_per_version_facet(run_event: RunEventFactory) -> None:
    start = nodes(normalize(run_event("START", T1, outputs=[dataset("pg", "b")])))
    complete = nodes(normalize(run_event("COMPLETE", T2, outputs=[dataset("pg", "b")])))
    version_keys = {k for k in [*start, *complete] if k.startswith("datasetVersion:")}
    assert version_keys == {f"datasetVersion:pg:b@run:{RUN_ID}"}
    explicit = run_event(
        "COMPLETE", T2, outputs=[dataset("pg", "b", facets={"version": {"datasetVersion": "v9"}})]
    )
    assert "datasetVersion:pg:b@v9" in nodes(normalize(explicit))


def test_same_dataset_in_and_out_is_one_node(run_event: RunEventFactory) -> None:
    muts = normalize(run_event("COMPLETE", T1, inputs=[dataset("pg", "t")], outputs=[dataset("pg", "t")]))
    assert sum(1 for m in muts if isinstance(m, UpsertNode) and m.key == "dataset:pg:t") == 1
    assert {("CONSUMED_BY", "dataset:pg:t", JOB), ("PRODUCES", JOB, "dataset:pg:t")} <= set(edges(muts))


# --- hierarchy -----------------------------------------------------------------------

PARENT_ID, ROOT_ID = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-2222222222AA"


def test_parent_and_root_hierarchy(run_event: RunEventFactory) -> None:
    parent = {
        "run": {"runId": PARENT_ID},
        "job": {"namespace": "airflow", "name": "dag.task"},
        "root": {"run": {"runId": ROOT_ID}, "job": {"namespace": "airflow", "name": "dag"}},
    }
    muts = normalize(run_event("START", T1, run={"runId": RUN_ID, "facets": {"parent": parent}}))
    n, e = nodes(muts), edges(muts)
    parent_run, root_run = f"run:{PARENT_ID}", f"run:{ROOT_ID.lower()}"
    assert ("CHILD_OF", RUN, parent_run) in e
    assert ("CHILD_OF", JOB, "job:airflow:dag.task") in e
    assert ("RUN_OF", parent_run, "job:airflow:dag.task") in e
    assert ("RUN_OF", root_run, "job:airflow:dag") in e
    assert prop(n[RUN], "parentRunId").value == PARENT_ID
    assert prop(n[RUN], "rootRunId").value == ROOT_ID.lower()
    assert prop(n[parent_run], "rootRunId").value == ROOT_ID.lower()
    assert prop(n[parent_run], "job").value == "job:airflow:dag.task"
    assert not has_prop(n[root_run], "rootRunId")
    assert ("CONTAINS", "namespace:airflow", "job:airflow:dag") in e


def test_parent_of_the_same_job_gives_no_job_self_loop(run_event: RunEventFactory) -> None:
    parent = {"run": {"runId": PARENT_ID}, "job": {"namespace": "airflow", "name": "etl"}}
    e = edges(normalize(run_event("START", T1, run={"runId": RUN_ID, "facets": {"parent": parent}})))
    assert ("CHILD_OF", RUN, f"run:{PARENT_ID}") in e
    assert not any(k[0] == "CHILD_OF" and k[1] == JOB for k in e)


# --- datasets: schema, symlinks, owners, tags, lifecycle, type -----------------------


def test_schema_fields_with_nested_paths(run_event: RunEventFactory) -> None:
    schema = {
        "fields": [
            {"name": "id", "type": "INT", "description": "key"},
            {"name": "customer", "type": "STRUCT", "fields": [{"name": "email", "type": "STRING"}]},
        ]
    }
    muts = normalize(run_event("COMPLETE", T1, outputs=[dataset("pg", "b", facets={"schema": schema})]))
    n, e = nodes(muts), edges(muts)
    assert prop(n["field:pg:b#id"], "type").value == "INT"
    assert prop(n["field:pg:b#id"], "description").value == "key"
    assert prop(n["field:pg:b#customer.email"], "name").value == "customer.email"
    assert prop(n["field:pg:b#customer.email"], "dataset").value == "dataset:pg:b"
    assert {
        ("HAS_FIELD", "dataset:pg:b", f"field:pg:b#{p}") for p in ("id", "customer", "customer.email")
    } <= set(e)


def test_symlinks_give_alias_edges(run_event: RunEventFactory) -> None:
    symlinks = {"identifiers": [{"namespace": "hive", "name": "db.t", "type": "TABLE"}]}
    muts = normalize(
        run_event("COMPLETE", T1, inputs=[dataset("s3://b", "p/t", facets={"symlinks": symlinks})])
    )
    alias = edges(muts)[("ALIAS_OF", "dataset:s3://b:p/t", "dataset:hive:db.t")]
    assert prop(alias, "type") == Prop("type", "TABLE", Merge.LWW, N1)
    assert prop(nodes(muts)["dataset:hive:db.t"], "namespace").value == "hive"


def test_ownership_and_tags_replace_links(run_event: RunEventFactory) -> None:
    job_facets = {
        "ownership": {"owners": [{"name": "team:b", "type": "MAINTAINER"}, {"name": "user:a"}]},
        "tags": {"tags": [{"key": "tier", "value": "1", "source": "USER"}]},
    }
    ds_facets = {
        "tags": {"tags": [{"key": "pii", "value": "true", "field": "email"}]},
        "ownership": {"_deleted": True},
    }
    muts = normalize(
        run_event(
            "START",
            T1,
            job={"namespace": "airflow", "name": "etl", "facets": job_facets},
            outputs=[dataset("pg", "b", facets=ds_facets)],
        )
    )
    links = {(m.node, m.slot): m for m in muts if isinstance(m, ReplaceLinks)}
    owners = links[(JOB, "owners")]
    assert (owners.type, owners.incoming, owners.version) == (RelType.OWNS, True, N1)
    assert [(lk.key, lk.props) for lk in owners.others] == [
        ("owner:team:b", (("type", "MAINTAINER"),)),
        ("owner:user:a", ()),
    ]
    tags = links[(JOB, "tags")]
    assert (tags.type, tags.incoming) == (RelType.TAGGED, False)
    assert [(lk.key, lk.props) for lk in tags.others] == [("tag:tier=1", (("source", "USER"),))]
    assert links[("dataset:pg:b", "tags")].others[0].props == (("field", "email"),)
    assert links[("dataset:pg:b", "owners")].others == ()  # deleted facet: no owners any more
    n = nodes(muts)
    assert prop(n["owner:team:b"], "name").value == "team:b"
    assert (prop(n["tag:pii=true"], "name").value, prop(n["tag:pii=true"], "value").value) == ("pii", "true")


def test_drop_marks_deleted_until_written_again(run_event: RunEventFactory, mini_graph: Any) -> None:
    def write(time: str, state: str | None) -> list[Mutation]:
        facets = {"lifecycleStateChange": {"lifecycleStateChange": state}} if state else {}
        return normalize(run_event("COMPLETE", time, outputs=[dataset("pg", "b", facets=facets)]))

    drop = write(T2, "DROP")
    ds = nodes(drop)["dataset:pg:b"]
    assert prop(ds, "droppedAt") == Prop("droppedAt", N2, Merge.MAX)
    assert prop(ds, "lifecycleState").value == "DROP"
    assert not has_prop(ds, "lastModifiedAt")
    for batches in itertools.permutations([write(T1, "CREATE"), drop]):
        graph = mini_graph()
        for batch in batches:
            graph.apply(batch)
        assert derive_props("Dataset", graph.props("dataset:pg:b"))["deleted"] is True
    graph = mini_graph().apply(drop).apply(write(T3, None))
    assert derive_props("Dataset", graph.props("dataset:pg:b"))["deleted"] is False


def test_model_label_from_dataset_type(run_event: RunEventFactory) -> None:
    model = dataset("mlflow", "models/churn", facets={"datasetType": {"datasetType": "model"}})
    table = dataset("pg", "t", facets={"datasetType": {"datasetType": "TABLE"}})
    n = nodes(normalize(run_event("COMPLETE", T1, outputs=[model, table])))
    assert n["dataset:mlflow:models/churn"].extra_labels == frozenset({"Model"})
    assert prop(n["dataset:mlflow:models/churn"], "datasetType").value == "model"
    assert n["dataset:pg:t"].extra_labels == frozenset()


# --- static lineage ------------------------------------------------------------------


def test_job_event_gives_static_lineage() -> None:
    event = parse_event(
        {
            "eventTime": T1,
            "job": {"namespace": "dbt", "name": "model.orders"},
            "inputs": [dataset("pg", "raw")],
            "outputs": [dataset("pg", "orders")],
        }
    )
    muts = normalize(event)
    n, e = nodes(muts), edges(muts)
    job = "job:dbt:model.orders"
    assert prop(n[job], "static") == Prop("static", True, Merge.OR)
    assert prop(n["dataset:pg:raw"], "static").value is True
    for key in (("CONSUMED_BY", "dataset:pg:raw", job), ("PRODUCES", job, "dataset:pg:orders")):
        assert prop(e[key], "static").value is True
        assert not has_prop(e[key], "runtime")
    assert not any(m.label in (Label.RUN, Label.DATASET_VERSION) for m in n.values())
    assert not any(isinstance(m, ReadVersion) for m in muts)
    assert not has_prop(n["dataset:pg:orders"], "lastModifiedAt")


def test_dataset_event_upserts_a_static_dataset() -> None:
    event = parse_event(
        {
            "eventTime": T1,
            "dataset": dataset("pg", "t", facets={"documentation": {"description": "d"}}),
        }
    )
    n = nodes(normalize(event))
    assert set(n) == {"dataset:pg:t", "namespace:pg"}
    assert prop(n["dataset:pg:t"], "static").value is True
    assert prop(n["dataset:pg:t"], "description").value == "d"


def test_job_lineage_facet_gives_static_edges() -> None:
    lineage = {
        "entries": [
            {
                "namespace": "pg",
                "name": "enriched",
                "type": "DATASET",
                "inputs": [
                    {"namespace": "pg", "name": "orders", "type": "DATASET"},
                    {"type": "JOB", "namespace": "af", "name": "x"},
                ],
                "fields": {
                    "segment": {
                        "inputs": [{"namespace": "pg", "name": "orders", "type": "DATASET", "field": "cid"}]
                    }
                },
            },
            {"type": "JOB", "inputs": [{"namespace": "pg", "name": "tx", "type": "DATASET"}]},
            {"namespace": "af", "name": "load", "type": "JOB", "inputs": [{"type": "JOB"}]},
        ]
    }
    data = {"eventTime": T1, "job": {"namespace": "dbt", "name": "own", "facets": {"lineage": lineage}}}
    e = edges(normalize(parse_event(data)))
    own = "job:dbt:own"
    for key in [
        ("CONSUMED_BY", "dataset:pg:orders", own),
        ("PRODUCES", own, "dataset:pg:enriched"),
        ("CONSUMED_BY", "dataset:pg:tx", own),
        ("DERIVES", "field:pg:orders#cid", "field:pg:enriched#segment"),
        ("PRODUCES", "job:af:x", "dataset:pg:enriched"),
    ]:
        assert key in e, key
    assert prop(e[("PRODUCES", own, "dataset:pg:enriched")], "static").value is True
    assert not any(k[0] in ("CONSUMED_BY", "PRODUCES") and "af:load" in k[1] + k[2] for k in e)


# --- robustness ----------------------------------------------------------------------


def test_malformed_optional_facets_that_bypass_parsing_are_only_kept_as_json() -> None:
    raw = {
        "eventTime": T1,
        "eventType": "START",
        "run": {
            "runId": RUN_ID,
            "facets": {"parent": {"run": "x", "job": 3}, "nominalTime": {"nominalStartTime": 5}},
        },
        "job": {
            "namespace": "n",
            "name": "j",
            "facets": {"ownership": {"owners": [None, {"name": 5}]}, "jobType": [], "tags": {"tags": "x"}},
        },
        "inputs": [
            {"namespace": "n", "name": "i", "facets": {"schema": {"fields": [1, {"fields": 2}]}}},
            None,
            5,
        ],
        "outputs": [
            {
                "namespace": "n",
                "name": "o",
                "facets": {
                    "columnLineage": {"fields": {"a": {"inputFields": [{"namespace": 1}]}}, "dataset": "x"},
                    "symlinks": {"identifiers": [{"name": "x"}]},
                    "lifecycleStateChange": {"lifecycleStateChange": 7},
                    "version": {"datasetVersion": {"x": 1}},
                },
                "outputFacets": {"outputStatistics": {"rowCount": "many"}},
            }
        ],
    }
    event = ParsedEvent("run", N1, "START", RUN_ID, "n", "j", None, None, raw, "0" * 64)
    muts = normalize(event)
    n = nodes(muts)
    assert prop(n["job:n:j"], "facet.jobType").value == "[]"
    assert f"datasetVersion:n:o@run:{RUN_ID}" in n
    assert not has_prop(n[f"datasetVersion:n:o@run:{RUN_ID}"], "rowCount")


def _corpus_events() -> list[Any]:
    from pathlib import Path  # noqa: PLC0415

    corpus = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
    events = []
    for path in sorted(corpus.rglob("*.json")):
        try:
            events.append(parse_event(orjson.loads(path.read_bytes())))
        except (InvalidEvent, orjson.JSONDecodeError):
            continue  # the invalid-on-purpose files; tests/conformance covers their rejection
    return events


def test_no_property_shadows_the_node_key(run_event: RunEventFactory) -> None:
    """``key`` is every node's identity property; a prop of that name would overwrite it."""
    tagged = run_event(
        "COMPLETE",
        inputs=[dataset("db", "t", facets={"tags": {"tags": [{"key": "pii", "value": "true"}]}})],
    )
    events = [tagged, *_corpus_events()]
    assert len(events) > 30
    for event in events:
        for m in normalize(event):
            if isinstance(m, UpsertNode | UpsertEdge):
                assert "key" not in {p.name for p in m.props}, m.key if isinstance(m, UpsertNode) else m
    tag = nodes(normalize(tagged))["tag:pii=true"]
    assert (prop(tag, "name").value, prop(tag, "value").value) == ("pii", "true")
