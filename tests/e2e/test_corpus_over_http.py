"""Every file of the shared corpus, POSTed to a real ``olgraph serve`` (embedded, and Neo4j).

The corpus README says which files are invalid on purpose: those must get a 400 whose body
names the problem; every other file must get a 201, and once the consumer has caught up, the
job, run and datasets the event names must be answered for by the query API. No file may
produce a 5xx. The in-process ingest tests cover the same corpus through the ASGI app; this is
the path through a real process, a real socket and Neo4j.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2e_support import SHARED, OlgraphServer, ServerFactory, empty_neo4j, wait_applied

CORPUS = SHARED / "corpus"
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.json"))

# Invalid on purpose (corpus README), with the field each 400 must name.
INVALID_FIELD = {
    "proxy-events/event_invalid_dataset_facet.json": "outputs[0].facets.ownership.owners[0].name",
    "proxy-events/event_invalid_input_dataset_facet.json": "inputs[0].inputFacets.dataQualityMetrics",
    "proxy-events/event_invalid_job_facet.json": "job.facets.ownership.owners[0].name",
    "proxy-events/event_invalid_output_dataset_facet.json": (
        "outputs[0].outputFacets.outputStatistics.rowCount"
    ),
    "proxy-events/event_invalid_run_facet.json": "run.facets.parent.run.runId",
    "proxy-events/event_no_run_id.json": "run.runId",
}
NOT_JSON = "datahub-events/flink_job_test.json"  # stored with a stray trailing '}'
VALID = [name for name in FILES if name not in INVALID_FIELD and name != NOT_JSON]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
    ],
)
def corpus_server(
    request: pytest.FixtureRequest, olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OlgraphServer, dict[str, httpx.Response]]]:
    """A server that was sent every corpus file (in name order) and has applied what it accepted."""
    neo4j_uri = None
    if request.param == "neo4j":
        neo4j_uri = str(request.getfixturevalue("neo4j_uri"))
        empty_neo4j(neo4j_uri)
    with olgraph_server(tmp_path_factory.mktemp("corpus") / request.param, neo4j_uri=neo4j_uri) as server:
        answers: dict[str, httpx.Response] = {}
        with server.client() as client:
            for name in FILES:
                body = (CORPUS / name).read_bytes()
                headers = {"Content-Type": "application/json"}
                answers[name] = client.post("/api/v1/lineage", content=body, headers=headers)
            accepted = sum(1 for answer in answers.values() if answer.status_code == 201)
            stats = wait_applied(client)
            assert stats["accepted"] == accepted
        yield server, answers


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 40
    assert set(INVALID_FIELD) | {NOT_JSON} <= set(FILES)


@pytest.mark.parametrize("name", VALID)
def test_valid_event_is_accepted_and_queryable(
    corpus_server: tuple[OlgraphServer, dict[str, httpx.Response]], name: str
) -> None:
    server, answers = corpus_server
    answer = answers[name]
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "accepted"
    event = json.loads((CORPUS / name).read_text())
    with server.client() as client:
        check_queryable(client, event)


@pytest.mark.parametrize(("name", "field"), sorted(INVALID_FIELD.items()))
def test_invalid_event_gets_400_naming_the_field(
    corpus_server: tuple[OlgraphServer, dict[str, httpx.Response]], name: str, field: str
) -> None:
    answer = corpus_server[1][name]
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")


def test_unparseable_json_gets_400_saying_where(
    corpus_server: tuple[OlgraphServer, dict[str, httpx.Response]],
) -> None:
    answer = corpus_server[1][NOT_JSON]
    assert answer.status_code == 400, answer.text
    assert "invalid JSON at line" in answer.json()["error"]


def test_no_file_gave_a_server_error(corpus_server: tuple[OlgraphServer, dict[str, httpx.Response]]) -> None:
    errors = {name: a.status_code for name, a in corpus_server[1].items() if a.status_code >= 500}
    assert errors == {}


def _dataset_key(dataset: dict[str, Any]) -> str:
    return f"dataset:{dataset['namespace']}:{dataset['name']}"


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def check_queryable(client: httpx.Client, event: dict[str, Any]) -> None:
    """The run, job and datasets ``event`` names are answered for, with the job's lineage edges."""
    if "dataset" in event and "job" not in event:  # a DatasetEvent
        key = _dataset_key(event["dataset"])
        assert _get(client, "/api/v1/datasets", nodeId=key)["id"] == key
        return
    job = f"job:{event['job']['namespace']}:{event['job']['name']}"
    if "run" in event:
        run_id = event["run"]["runId"].lower()
        run = _get(client, f"/api/v1/runs/{run_id}")
        assert run["runId"] == run_id
        # Some producers reuse one runId for several jobs (a Spark app and its queries): which
        # job the run is attached to is the store's call, that it has one is not.
        assert run["job"], run
    lineage = _get(client, "/api/v1/lineage", nodeId=job, direction="both", depth=1, includeDeleted="true")
    assert lineage["nodes"][0]["id"] == job
    edges = {(e["source"], e["type"], e["target"]) for e in lineage["edges"]}
    for dataset in event.get("inputs") or []:
        key = _dataset_key(dataset)
        assert _get(client, "/api/v1/datasets", nodeId=key)["id"] == key
        assert (key, "CONSUMED_BY", job) in edges
    for dataset in event.get("outputs") or []:
        key = _dataset_key(dataset)
        assert _get(client, "/api/v1/datasets", nodeId=key)["id"] == key
        assert (job, "PRODUCES", key) in edges
