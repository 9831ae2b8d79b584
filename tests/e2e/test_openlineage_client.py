"""The official openlineage-python client, configured only by its environment, against ``olgraph serve``.

The emitting code runs in its own interpreter whose environment holds nothing but the
client's ``OPENLINEAGE_*`` variables, so no in-process configuration can leak in. It sends
through a recording proxy, which is how the test sees the requests as they were on the wire
(gzip, Bearer key) without touching server code. The server has two API keys: ``ingest``
for the producer and ``read`` for the queries.

Note on configuration: with openlineage-python 1.54 the ``OPENLINEAGE_URL`` shorthand builds an
HTTP transport that ignores ``OPENLINEAGE__TRANSPORT__COMPRESSION``; compression only applies
when the whole transport comes from ``OPENLINEAGE__TRANSPORT__*`` variables, which is what the
main scenario uses. The shorthand is checked separately for delivery and authentication.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ApiKeySpec,
    OlgraphServer,
    RecordingProxy,
    ServerFactory,
    run_python,
    wait_applied,
)

INGEST = ApiKeySpec("producer", "ingest", "e2e-ingest-secret")
READ = ApiKeySpec("dashboard", "read", "e2e-read-secret")

NS = "ol-e2e"
RUN_ID = "0195e2e1-0000-7000-8000-0000000000a1"
PARENT_RUN_ID = "0195e2e1-0000-7000-8000-0000000000a0"
CUSTOMERS = "dataset:postgres://db:5432:public.customers"
CLEAN = "dataset:s3://ol-e2e:warehouse/customers_clean"
COUNTRIES = "dataset:s3://ol-e2e:reference/countries"
REPORT = "dataset:s3://ol-e2e:reports/customers"
TRANSFORM = f"job:{NS}:customers_dag.transform"
PARENT_JOB = f"job:{NS}:customers_dag"
REPORT_JOB = f"job:{NS}:customers_report"

EMITTER = """
import json, sys
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent, InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState, StaticDataset,
)
from openlineage.client.facet_v2 import parent_run, schema_dataset
from openlineage.client.serde import Serde

NS, RUN_ID, PARENT_RUN_ID = sys.argv[1:4]
PRODUCER = "https://github.com/olgraph/olgraph/tests/e2e"
schema = schema_dataset.SchemaDatasetFacet(fields=[
    schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT"),
    schema_dataset.SchemaDatasetFacetFields(name="name", type="VARCHAR"),
    schema_dataset.SchemaDatasetFacetFields(name="country", type="CHAR(2)"),
])
parent = parent_run.ParentRunFacet(
    run=parent_run.Run(runId=PARENT_RUN_ID), job=parent_run.Job(namespace=NS, name="customers_dag")
)
facets = {"schema": schema}
inputs = [InputDataset(namespace="postgres://db:5432", name="public.customers", facets=facets)]
outputs = [OutputDataset(namespace="s3://ol-e2e", name="warehouse/customers_clean", facets=facets)]
job = Job(namespace=NS, name="customers_dag.transform")
events = [
    RunEvent(eventType=state, eventTime=time, run=Run(runId=RUN_ID, facets={"parent": parent}), job=job,
             inputs=inputs, outputs=outputs, producer=PRODUCER)
    for state, time in (
        (RunState.START, "2026-04-01T08:00:00+00:00"), (RunState.COMPLETE, "2026-04-01T08:05:00+00:00")
    )
]
events.append(DatasetEvent(
    eventTime="2026-04-01T08:06:00+00:00", producer=PRODUCER,
    dataset=StaticDataset(namespace="s3://ol-e2e", name="reference/countries", facets={"schema": schema}),
))
events.append(JobEvent(
    eventTime="2026-04-01T08:07:00+00:00", producer=PRODUCER, job=Job(namespace=NS, name="customers_report"),
    inputs=[InputDataset(namespace="s3://ol-e2e", name="warehouse/customers_clean")],
    outputs=[OutputDataset(namespace="s3://ol-e2e", name="reports/customers")],
))
client = OpenLineageClient()
print(json.dumps({"transport": type(client.transport).__name__,
                  "compression": str(getattr(client.transport.config, "compression", None))}))
for event in events:
    client.emit(event)
print(json.dumps([json.loads(Serde.to_json(event)) for event in events]))
"""


def transport_env(url: str, key: str) -> dict[str, str]:
    """The client's whole HTTP transport, with gzip, from ``OPENLINEAGE__TRANSPORT__*`` variables."""
    return {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": url,
        "OPENLINEAGE__TRANSPORT__AUTH": json.dumps({"type": "api_key", "apiKey": key}),
        "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
    }


def emit(env: dict[str, str], cwd: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Run the emitter with exactly ``env``; return its transport config and the events it sent."""
    done = run_python(EMITTER, env, cwd, [NS, RUN_ID, PARENT_RUN_ID])
    assert done.returncode == 0, f"the emitter failed:\n{done.stderr}"
    config_line, events_line = done.stdout.strip().splitlines()[-2:]
    return json.loads(config_line), json.loads(events_line)


@pytest.fixture(scope="module")
def server(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` (embedded) with an ingest key and a read key."""
    with olgraph_server(tmp_path_factory.mktemp("ol-client") / "data", api_keys=[INGEST, READ]) as running:
        yield running


@pytest.fixture(scope="module")
def emitted(
    server: OlgraphServer,
    recording_proxy: Callable[[str], AbstractContextManager[RecordingProxy]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], list[dict[str, Any]], RecordingProxy]:
    """The scenario, emitted by the client through a recording proxy, and applied."""
    with recording_proxy(server.url) as proxy:
        config, events = emit(transport_env(proxy.url, INGEST.secret), tmp_path_factory.mktemp("emitter"))
    with server.client(READ.secret) as client:
        wait_applied(client)
    return config, events, proxy


def test_the_client_sent_gzip_with_its_bearer_key(
    emitted: tuple[dict[str, str], list[dict[str, Any]], RecordingProxy],
) -> None:
    config, events, proxy = emitted
    assert config == {"transport": "HttpTransport", "compression": "gzip"}
    assert len(proxy.requests) == len(events) == 4
    for request, event in zip(proxy.requests, events, strict=True):
        assert (request.method, request.path, request.status) == ("POST", "/api/v1/lineage", 201)
        assert request.headers["content-encoding"] == "gzip"
        assert request.headers["authorization"] == f"Bearer {INGEST.secret}"
        assert request.body[:2] == b"\x1f\x8b"  # the gzip magic: compressed on the wire
        assert json.loads(gzip.decompress(request.body)) == event


def test_the_server_kept_the_raw_events_intact(
    server: OlgraphServer, emitted: tuple[dict[str, str], list[dict[str, Any]], RecordingProxy]
) -> None:
    _, events, _ = emitted
    with server.client(READ.secret) as client:
        response = client.get(f"/api/v1/runs/{RUN_ID}/events")
    assert response.status_code == 200, response.text
    assert response.json() == {"runId": RUN_ID, "total": 2, "next": None, "events": events[:2]}


def _edges(answer: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["type"], e["target"]) for e in answer["edges"]}


@pytest.mark.usefixtures("emitted")
def test_lineage_comes_back(server: OlgraphServer) -> None:
    with server.client(READ.secret) as client:
        response = client.get("/api/v1/lineage", params={"nodeId": CUSTOMERS, "direction": "downstream"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [n["id"] for n in answer["nodes"]] == [CUSTOMERS, TRANSFORM, CLEAN, REPORT_JOB, REPORT]
    assert _edges(answer) == {
        (CUSTOMERS, "CONSUMED_BY", TRANSFORM),
        (TRANSFORM, "PRODUCES", CLEAN),
        (CLEAN, "CONSUMED_BY", REPORT_JOB),
        (REPORT_JOB, "PRODUCES", REPORT),
    }
    # runtime/static are written only when true (OR-merged flags)
    static = {
        (e["source"], e["target"]): (e.get("runtime", False), e.get("static", False)) for e in answer["edges"]
    }
    assert static[(CUSTOMERS, TRANSFORM)] == (True, False)  # seen in a RunEvent
    assert static[(CLEAN, REPORT_JOB)] == (False, True)  # declared by the JobEvent


@pytest.mark.usefixtures("emitted")
def test_impact_comes_back_with_distances(server: OlgraphServer) -> None:
    with server.client(READ.secret) as client:
        response = client.get("/api/v1/impact", params={"nodeId": CUSTOMERS})
    assert response.status_code == 200, response.text
    affected = [(a["id"], a["type"], a["distance"]) for a in response.json()["affected"]]
    assert affected == [
        (TRANSFORM, "job", 1),
        (CLEAN, "dataset", 2),
        (REPORT_JOB, "job", 3),
        (REPORT, "dataset", 4),
    ]


@pytest.mark.usefixtures("emitted")
def test_the_run_is_complete_with_parent_inputs_and_outputs(server: OlgraphServer) -> None:
    with server.client(READ.secret) as client:
        run = client.get(f"/api/v1/runs/{RUN_ID}").json()
        parent = client.get(f"/api/v1/runs/{PARENT_RUN_ID}")
        clean = client.get("/api/v1/datasets", params={"nodeId": CLEAN}).json()
        countries = client.get("/api/v1/datasets", params={"nodeId": COUNTRIES}).json()
    assert (run["runId"], run["job"], run["state"]) == (RUN_ID, TRANSFORM, "COMPLETE")
    assert (run["startedAt"], run["endedAt"]) == (
        "2026-04-01T08:00:00.000000000Z",
        "2026-04-01T08:05:00.000000000Z",
    )
    assert run["parentRunId"] == PARENT_RUN_ID
    parent_job = run["facets"]["parent"]["job"]
    assert (parent_job["namespace"], parent_job["name"]) == (NS, "customers_dag")
    assert [r["dataset"] for r in run["inputs"]] == [CUSTOMERS]
    assert [r["dataset"] for r in run["outputs"]] == [CLEAN]
    assert parent.status_code == 200, parent.text
    assert parent.json()["job"] == PARENT_JOB
    assert clean["fields"] == ["country", "id", "name"]  # from the schema facet
    assert countries["fields"] == ["country", "id", "name"]  # the DatasetEvent's schema facet
    assert countries["static"] is True


def test_api_keys_and_roles(server: OlgraphServer) -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-04-01T09:00:00Z",
        "run": {"runId": "0195e2e1-0000-7000-8000-0000000000ff"},
        "job": {"namespace": NS, "name": "unauthorized"},
        "producer": "https://github.com/olgraph/olgraph/tests/e2e",
    }
    with server.client() as anonymous:
        missing = anonymous.post("/api/v1/lineage", json=event)
        query = anonymous.get("/api/v1/lineage", params={"nodeId": CUSTOMERS})
    with server.client("not-a-configured-key") as stranger:
        unknown = stranger.post("/api/v1/lineage", json=event)
    with server.client(READ.secret) as reader:
        read_only = reader.post("/api/v1/lineage", json=event)
    with server.client(INGEST.secret) as producer:
        ingest_only = producer.get("/api/v1/lineage", params={"nodeId": CUSTOMERS})
    assert (missing.status_code, missing.headers.get("www-authenticate")) == (401, "Bearer")
    assert query.status_code == 401
    assert unknown.status_code == 401
    assert read_only.status_code == 403
    assert "lacks role 'ingest'" in read_only.json()["error"]
    assert ingest_only.status_code == 403
    with server.client(READ.secret) as reader:
        assert reader.get("/api/v1/runs/0195e2e1-0000-7000-8000-0000000000ff").status_code == 404


def test_the_url_shorthand_delivers_with_the_api_key(
    server: OlgraphServer,
    recording_proxy: Callable[[str], AbstractContextManager[RecordingProxy]],
    tmp_path: Path,
) -> None:
    """``OPENLINEAGE_URL`` + ``OPENLINEAGE_API_KEY``: the client's simplest configuration."""
    with recording_proxy(server.url) as proxy:
        env = {"OPENLINEAGE_URL": proxy.url, "OPENLINEAGE_API_KEY": INGEST.secret}
        config, events = emit(env, tmp_path)
    assert config["transport"] == "HttpTransport"
    assert [r.status for r in proxy.requests] == [201] * len(events)
    assert {r.headers["authorization"] for r in proxy.requests} == {f"Bearer {INGEST.secret}"}
