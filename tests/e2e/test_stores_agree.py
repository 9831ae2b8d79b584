"""One scenario, two stores: ``olgraph serve`` with the embedded store and with Neo4j answer alike.

The scenario is a small warehouse sent over HTTP: a chain of jobs from a Postgres table to an
ML model, a symlink (the lake file is also a Hive table, and the next job reads it by its Hive
name), owners on a job and a dataset, and a staging dataset in the middle of a second chain
that is DROPped. Each store's server must give the exact lineage and impact answers below,
and the two servers' JSON answers must be identical, list order included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2e_support import OlgraphServer, ServerFactory, empty_neo4j, wait_applied

PRODUCER = "https://github.com/olgraph/olgraph/tests/e2e"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NS = "e2e-warehouse"

PG = "postgres://db:5432"
LAKE = "s3://e2e-lake"
HIVE = "hive://metastore"
MLFLOW = "mlflow://e2e"

ORDERS = f"dataset:{PG}:public.orders"
RAW = f"dataset:{LAKE}:raw/orders"
RAW_HIVE = f"dataset:{HIVE}:lake.raw_orders"
CLEAN = f"dataset:{LAKE}:clean/orders"
FEATURES = f"dataset:{LAKE}:features/customer"
STAGING = f"dataset:{LAKE}:tmp/staging"
REPORT = f"dataset:{LAKE}:reports/daily"
MODEL = f"dataset:{MLFLOW}:models/churn"
EXTRACT, CLEAN_JOB, FEATURES_JOB = (
    f"job:{NS}:extract_orders",
    f"job:{NS}:clean_orders",
    f"job:{NS}:build_features",
)
TRAIN, STAGE, REPORT_JOB, CLEANUP = (
    f"job:{NS}:train_churn",
    f"job:{NS}:stage_orders",
    f"job:{NS}:daily_report",
    f"job:{NS}:cleanup_staging",
)


def _facet(**fields: Any) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json",
        **fields,
    }


def _dataset(key: str, **facets: Any) -> dict[str, Any]:
    namespace, _, name = key.removeprefix("dataset:").rpartition(":")
    return {"namespace": namespace, "name": name, "facets": facets}


def _run_events(
    job: str, run_id: str, minute: int, inputs: list[Any], outputs: list[Any], **job_facets: Any
) -> list[dict[str, Any]]:
    """START and COMPLETE of one run of ``job`` at ``2026-03-01T10:{minute}``."""
    namespace, _, name = job.removeprefix("job:").partition(":")
    return [
        {
            "eventType": state,
            "eventTime": f"2026-03-01T10:{minute:02d}:{second:02d}Z",
            "run": {"runId": run_id},
            "job": {"namespace": namespace, "name": name, "facets": job_facets},
            "inputs": inputs,
            "outputs": outputs,
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
        }
        for state, second in (("START", 0), ("COMPLETE", 30))
    ]


def _run_id(n: int) -> str:
    return f"0195e2e0-0000-7000-8000-{n:012d}"


def scenario() -> list[dict[str, Any]]:
    """The warehouse, in the order it is sent."""
    owners = _facet(owners=[{"name": "team:orders", "type": "TEAM"}])
    symlinks = _facet(identifiers=[{"namespace": HIVE, "name": "lake.raw_orders", "type": "TABLE"}])
    model_type = _facet(datasetType="MODEL")
    drop = _facet(lifecycleStateChange="DROP")
    return [
        *_run_events(
            EXTRACT, _run_id(1), 1, [_dataset(ORDERS)], [_dataset(RAW, symlinks=symlinks)], ownership=owners
        ),
        *_run_events(CLEAN_JOB, _run_id(2), 2, [_dataset(RAW_HIVE)], [_dataset(CLEAN)]),
        *_run_events(
            FEATURES_JOB,
            _run_id(3),
            3,
            [_dataset(CLEAN)],
            [_dataset(FEATURES, ownership=_facet(owners=[{"name": "team:ml"}]))],
        ),
        *_run_events(TRAIN, _run_id(4), 4, [_dataset(FEATURES)], [_dataset(MODEL, datasetType=model_type)]),
        *_run_events(STAGE, _run_id(5), 5, [_dataset(CLEAN)], [_dataset(STAGING)]),
        *_run_events(REPORT_JOB, _run_id(6), 6, [_dataset(STAGING)], [_dataset(REPORT)]),
        *_run_events(CLEANUP, _run_id(7), 7, [], [_dataset(STAGING, lifecycleStateChange=drop)]),
    ]


def _load(server: OlgraphServer) -> OlgraphServer:
    with server.client() as client:
        for event in scenario():
            response = client.post("/api/v1/lineage", json=event)
            assert response.status_code == 201, response.text
        wait_applied(client)
    return server


@pytest.fixture(scope="module")
def embedded_server(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` on the embedded store, with the scenario sent and applied."""
    with olgraph_server(tmp_path_factory.mktemp("stores") / "embedded") as server:
        yield _load(server)


@pytest.fixture(scope="module")
def neo4j_server(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory, neo4j_uri: str
) -> Iterator[OlgraphServer]:
    """``olgraph serve --neo4j-uri`` on an emptied Neo4j, with the scenario sent and applied."""
    empty_neo4j(neo4j_uri)
    with olgraph_server(tmp_path_factory.mktemp("stores") / "neo4j", neo4j_uri=neo4j_uri) as server:
        yield _load(server)


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
    ]
)
def loaded(request: pytest.FixtureRequest) -> OlgraphServer:
    """The server of each store kind (both stay up for the whole module, for the comparison)."""
    server: OlgraphServer = request.getfixturevalue(f"{request.param}_server")
    return server


def ask(server: OlgraphServer, path: str, **params: Any) -> dict[str, Any]:
    """GET a query answer; 200 expected."""
    with server.client() as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def node_ids(answer: dict[str, Any]) -> set[str]:
    return {node["id"] for node in answer["nodes"]}


def edges(answer: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(edge["source"], edge["type"], edge["target"]) for edge in answer["edges"]}


DOWNSTREAM_OF_ORDERS_EDGES = {
    (ORDERS, "CONSUMED_BY", EXTRACT),
    (EXTRACT, "PRODUCES", RAW),
    (RAW, "ALIAS_OF", RAW_HIVE),
    (RAW_HIVE, "CONSUMED_BY", CLEAN_JOB),
    (CLEAN_JOB, "PRODUCES", CLEAN),
    (CLEAN, "CONSUMED_BY", FEATURES_JOB),
    (CLEAN, "CONSUMED_BY", STAGE),
    (FEATURES_JOB, "PRODUCES", FEATURES),
    (FEATURES, "CONSUMED_BY", TRAIN),
    (TRAIN, "PRODUCES", MODEL),
}


def test_downstream_crosses_the_symlink_and_stops_at_the_dropped_dataset(loaded: OlgraphServer) -> None:
    answer = ask(loaded, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=20)
    assert answer["nodes"][0]["id"] == ORDERS
    assert node_ids(answer) == {
        ORDERS,
        EXTRACT,
        RAW,
        RAW_HIVE,
        CLEAN_JOB,
        CLEAN,
        FEATURES_JOB,
        STAGE,
        FEATURES,
        TRAIN,
        MODEL,
    }
    assert edges(answer) == DOWNSTREAM_OF_ORDERS_EDGES
    assert answer["truncated"] is False
    types = {node["id"]: node["type"] for node in answer["nodes"]}
    assert types[MODEL] == "model"
    assert types[TRAIN] == "job"
    assert types[FEATURES] == "dataset"


def test_dropped_dataset_is_crossed_only_when_asked(loaded: OlgraphServer) -> None:
    live = ask(loaded, "/api/v1/lineage", nodeId=CLEAN, direction="downstream", depth=20)
    assert STAGING not in node_ids(live)
    assert REPORT not in node_ids(live)
    everything = ask(
        loaded, "/api/v1/lineage", nodeId=CLEAN, direction="downstream", depth=20, includeDeleted="true"
    )
    assert {STAGING, REPORT_JOB, REPORT} <= node_ids(everything)
    assert (STAGE, "PRODUCES", STAGING) in edges(everything)
    assert (STAGING, "CONSUMED_BY", REPORT_JOB) in edges(everything)
    dropped = next(node for node in everything["nodes"] if node["id"] == STAGING)
    assert dropped["deleted"] is True
    # The dropped node itself is still answered for, as the start of a query.
    own = ask(loaded, "/api/v1/lineage", nodeId=STAGING, direction="both", depth=1)
    assert own["nodes"][0] == {**own["nodes"][0], "id": STAGING, "deleted": True}


def test_upstream_of_the_model(loaded: OlgraphServer) -> None:
    answer = ask(loaded, "/api/v1/lineage", nodeId=MODEL, direction="upstream", depth=20)
    assert node_ids(answer) == {
        MODEL,
        TRAIN,
        FEATURES,
        FEATURES_JOB,
        CLEAN,
        CLEAN_JOB,
        RAW_HIVE,
        RAW,
        EXTRACT,
        ORDERS,
    }
    assert edges(answer) == DOWNSTREAM_OF_ORDERS_EDGES - {(CLEAN, "CONSUMED_BY", STAGE)}


def test_depth_limits_the_answer(loaded: OlgraphServer) -> None:
    answer = ask(loaded, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=2)
    # distance 2 reaches the lake file, and its Hive alias at no extra cost
    assert node_ids(answer) == {ORDERS, EXTRACT, RAW, RAW_HIVE}


def test_impact_lists_live_dependents_with_distance_and_owners(loaded: OlgraphServer) -> None:
    answer = ask(loaded, "/api/v1/impact", nodeId=ORDERS, depth=20)
    assert answer["root"]["id"] == ORDERS
    got = [(a["id"], a["type"], a["distance"], a["owners"]) for a in answer["affected"]]
    assert got == [
        (EXTRACT, "job", 1, ["team:orders"]),
        (RAW_HIVE, "dataset", 2, []),
        (RAW, "dataset", 2, []),
        (CLEAN_JOB, "job", 3, []),
        (CLEAN, "dataset", 4, []),
        (FEATURES_JOB, "job", 5, []),
        (STAGE, "job", 5, []),
        (FEATURES, "dataset", 6, ["team:ml"]),
        (TRAIN, "job", 7, []),
        (MODEL, "model", 8, []),
    ]
    last_runs = {a["id"]: (a["lastRunAt"], a["lastRunState"]) for a in answer["affected"]}
    assert last_runs[TRAIN] == ("2026-03-01T10:04:30.000000000Z", "COMPLETE")
    assert last_runs[MODEL] == ("2026-03-01T10:04:30.000000000Z", "COMPLETE")
    assert answer["summary"]["total"] == 10
    assert answer["summary"]["byType"] == {"dataset": 4, "job": 5, "model": 1}
    assert answer["summary"]["byOwner"] == {"team:ml": 1, "team:orders": 1}
    assert answer["truncated"] is False


def test_impact_of_a_leaf_is_empty(loaded: OlgraphServer) -> None:
    answer = ask(loaded, "/api/v1/impact", nodeId=MODEL)
    assert answer["affected"] == []
    assert answer["summary"]["total"] == 0


def test_runs_and_datasets(loaded: OlgraphServer) -> None:
    run = ask(loaded, f"/api/v1/runs/{_run_id(4)}")
    assert (run["job"], run["state"]) == (TRAIN, "COMPLETE")
    assert (run["startedAt"], run["endedAt"]) == (
        "2026-03-01T10:04:00.000000000Z",
        "2026-03-01T10:04:30.000000000Z",
    )
    assert [ref["dataset"] for ref in run["inputs"]] == [FEATURES]
    assert [ref["dataset"] for ref in run["outputs"]] == [MODEL]
    model = ask(loaded, "/api/v1/datasets", nodeId=MODEL)
    assert (model["type"], model["datasetType"]) == ("model", "MODEL")
    assert [v["runId"] for v in model["versions"]] == [_run_id(4)]
    staging = ask(loaded, "/api/v1/datasets", nodeId=STAGING)
    assert (staging["deleted"], staging["lifecycleState"]) == (True, "DROP")
    features = ask(loaded, "/api/v1/datasets", nodeId=FEATURES)
    assert features["owners"] == ["team:ml"]


QUESTIONS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/lineage", {"nodeId": ORDERS, "direction": "downstream", "depth": 20}),
    ("/api/v1/lineage", {"nodeId": ORDERS, "direction": "downstream", "depth": 2}),
    ("/api/v1/lineage", {"nodeId": MODEL, "direction": "upstream", "depth": 20}),
    ("/api/v1/lineage", {"nodeId": CLEAN, "direction": "both", "depth": 20}),
    ("/api/v1/lineage", {"nodeId": CLEAN, "direction": "downstream", "depth": 20, "includeDeleted": "true"}),
    ("/api/v1/lineage", {"nodeId": STAGING, "direction": "both", "depth": 3}),
    ("/api/v1/lineage", {"nodeId": RAW_HIVE, "direction": "both", "depth": 1}),
    ("/api/v1/impact", {"nodeId": ORDERS, "depth": 20}),
    ("/api/v1/impact", {"nodeId": RAW_HIVE}),
    ("/api/v1/impact", {"nodeId": MODEL}),
    (f"/api/v1/runs/{_run_id(1)}", {}),
    (f"/api/v1/runs/{_run_id(4)}", {}),
    (f"/api/v1/runs/{_run_id(7)}", {}),
    ("/api/v1/datasets", {"nodeId": RAW}),
    ("/api/v1/datasets", {"nodeId": MODEL}),
    ("/api/v1/datasets", {"nodeId": STAGING}),
    ("/api/v1/namespaces", {}),
    (f"/api/v1/namespaces/{LAKE}/datasets", {}),
    (f"/api/v1/namespaces/{NS}/jobs", {}),
    ("/api/v1/jobs/runs", {"nodeId": EXTRACT}),
]
"""What the two stores are asked, to compare their answers."""


@pytest.mark.neo4j
@pytest.mark.parametrize(
    ("path", "params"), QUESTIONS, ids=[f"{p}?{httpx.QueryParams(q)}" for p, q in QUESTIONS]
)
def test_both_stores_give_identical_answers(
    embedded_server: OlgraphServer, neo4j_server: OlgraphServer, path: str, params: dict[str, Any]
) -> None:
    """Equal as parsed JSON, order included: the API orders every list, so there is nothing to normalize."""
    embedded, neo4j = ask(embedded_server, path, **params), ask(neo4j_server, path, **params)
    assert neo4j == embedded
