"""kafka_key agrees with the openlineage-python client's own Kafka message key."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openlineage.client import event_v2
from openlineage.client.generated import parent_run
from openlineage.client.transport.kafka import KafkaTransport

from olgraph.errors import InvalidEvent
from olgraph.ingest import ParsedEvent, decode_json, kafka_key, parse_event

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"


def _client_parent(facet: dict[str, Any]) -> parent_run.ParentRunFacet:
    root = facet.get("root")
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=facet["run"]["runId"]),
        job=parent_run.Job(namespace=facet["job"]["namespace"], name=facet["job"]["name"]),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=root["run"]["runId"]),
            job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
        )
        if root
        else None,
    )


def _client_event(raw: dict[str, Any], kind: str) -> Any:
    """The same event as openlineage-python objects (only what the key depends on)."""
    if kind == "dataset":
        dataset = event_v2.StaticDataset(namespace=raw["dataset"]["namespace"], name=raw["dataset"]["name"])
        return event_v2.DatasetEvent(eventTime="2024-01-01T00:00:00Z", dataset=dataset)
    job = event_v2.Job(namespace=raw["job"]["namespace"], name=raw["job"]["name"])
    if kind == "job":
        return event_v2.JobEvent(eventTime="2024-01-01T00:00:00Z", job=job)
    facets = {}
    parent = (raw["run"].get("facets") or {}).get("parent")
    if parent:
        facets["parent"] = _client_parent(parent)
    run = event_v2.Run(runId=raw["run"]["runId"], facets=facets)
    return event_v2.RunEvent(eventTime="2024-01-01T00:00:00Z", run=run, job=job)


def _client_key(event: ParsedEvent) -> str | None:
    transport = object.__new__(KafkaTransport)  # no producer: only the key function is used
    key: str | None = transport._get_message_key(_client_event(event.raw, event.kind))
    return key


def _corpus_events() -> list[ParsedEvent]:
    events = []
    for path in sorted(CORPUS.rglob("*.json")):
        try:
            events.append(parse_event(decode_json(path.read_bytes())))
        except InvalidEvent:
            continue
    return events


@pytest.mark.parametrize("event", _corpus_events(), ids=lambda e: e.content_id[:12])
def test_corpus_keys_match_the_client(event: ParsedEvent) -> None:
    assert kafka_key(event) == _client_key(event)


def test_corpus_has_all_three_kinds_and_parents() -> None:
    events = _corpus_events()
    assert {e.kind for e in events} == {"run", "job", "dataset"}
    assert any(kafka_key(e) != f"run:{e.job_namespace}/{e.job_name}" for e in events if e.kind == "run")


def _run(
    job: tuple[str, str], parent: tuple[str, str] | None, root: tuple[str, str] | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventTime": "2024-01-01T00:00:00Z",
        "run": {"runId": str(uuid.UUID(int=1))},
        "job": {"namespace": job[0], "name": job[1]},
    }
    if parent is not None:
        facet: dict[str, Any] = {
            "run": {"runId": str(uuid.UUID(int=2))},
            "job": {"namespace": parent[0], "name": parent[1]},
        }
        if root is not None:
            facet["root"] = {
                "run": {"runId": str(uuid.UUID(int=3))},
                "job": {"namespace": root[0], "name": root[1]},
            }
        event["run"]["facets"] = {"parent": facet}
    return event


names = st.text(min_size=1, max_size=8)
pairs = st.tuples(names, names)


@settings(deadline=None)
@given(pairs, st.none() | pairs, st.none() | pairs)
def test_generated_hierarchies_match_the_client(
    job: tuple[str, str], parent: tuple[str, str] | None, root: tuple[str, str] | None
) -> None:
    event = parse_event(_run(job, parent, root))
    assert kafka_key(event) == _client_key(event)


def test_root_wins_over_parent_wins_over_own() -> None:
    assert kafka_key(parse_event(_run(("n", "own"), None, None))) == "run:n/own"
    assert kafka_key(parse_event(_run(("n", "own"), ("p", "dag"), None))) == "run:p/dag"
    assert kafka_key(parse_event(_run(("n", "own"), ("p", "task"), ("r", "dag")))) == "run:r/dag"


def test_job_and_dataset_keys() -> None:
    job = parse_event({"eventTime": "2024-01-01T00:00:00Z", "job": {"namespace": "a:b", "name": "c/d"}})
    assert kafka_key(job) == "job:a:b/c/d"
    dataset = parse_event(
        {"eventTime": "2024-01-01T00:00:00Z", "dataset": {"namespace": "s3://bucket", "name": "x/y"}}
    )
    assert kafka_key(dataset) == "dataset:s3://bucket/x/y"
    assert orjson.dumps(kafka_key(dataset))  # a plain str
