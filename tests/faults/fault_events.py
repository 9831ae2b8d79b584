"""A deterministic, realistic OpenLineage event stream for the fault tests, and what it must become.

A stream is made of *job chains*, as an orchestrator emits them: a DAG run starts, its tasks
run one after the other (START then COMPLETE, or FAIL, which ends the chain), then the DAG run
ends. Every task names the DAG run in its ``parent`` facet (with ``root``), so all events of a
chain share one Kafka key (``run:{namespace}/{dag}``, what the OpenLineage clients compute) and
therefore one partition. Tasks read a shared source table and their predecessor's output and
write their own dataset, with a ``schema`` facet and ``outputStatistics`` on completion.

Everything derives from ``seed``: two streams built with the same arguments are identical.

Example::

    stream = build_stream(seed=7, tag="kill", chains=300, tasks=4)
    len(stream.events)          # 3000 (fewer when a task fails and ends its chain early)
    stream.events[0].body       # the JSON object to POST
    stream.expected_runs(acked) # the final state each acknowledged run must have in the graph
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/olgraph/olgraph/tests/faults"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet"
SOURCE_NAMESPACE = "postgres://warehouse:5432"
SOURCE_TABLES = 8
TERMINAL = ("COMPLETE", "FAIL", "ABORT")
BASE_TIME = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedEvent:
    """One event of the stream: its JSON body and what the graph must show for it."""

    index: int
    chain: int
    run_id: str
    job: str
    event_type: str
    event_time: str
    key: str
    parent_run_id: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    body: dict[str, Any] = field(repr=False, compare=False)

    @property
    def stored_time(self) -> str:
        """``event_time`` as the graph stores times (UTC, nanosecond precision)."""
        return self.event_time.removesuffix("Z") + "000Z"


@dataclass(frozen=True)
class ExpectedRun:
    """What the graph must hold for one run, given the events acknowledged for it."""

    run_id: str
    job: str
    parent_run_id: str | None
    state: str | None
    started_at: str | None
    ended_at: str | None
    wrote: frozenset[str]


@dataclass(frozen=True)
class Stream:
    """The events of a stream in emission order, grouped by chain for the producers."""

    namespace: str
    events: list[PlannedEvent]

    def chains(self) -> dict[int, list[PlannedEvent]]:
        """Each chain's events in emission order (the order one producer must keep)."""
        grouped: dict[int, list[PlannedEvent]] = {}
        for event in self.events:
            grouped.setdefault(event.chain, []).append(event)
        return grouped

    def expected_runs(self, acked: Iterable[int]) -> dict[str, ExpectedRun]:
        """Every run the graph must hold after the events with indexes ``acked`` were applied.

        A run appears when one of its events was acknowledged, and as a bare stub when only a
        child's event naming it as parent was. Its state follows OpenLineage semantics: the
        terminal event wins over START whatever the arrival order.
        """
        by_run: dict[str, list[PlannedEvent]] = {}
        for index in sorted(set(acked)):
            event = self.events[index]
            by_run.setdefault(event.run_id, []).append(event)
        expected = {run_id: _expected_run(events) for run_id, events in by_run.items()}
        for events in by_run.values():
            parent = events[0].parent_run_id
            if parent is not None and parent not in expected:
                dag = next(e.body["run"]["facets"]["parent"]["job"] for e in events)
                job = f"job:{dag['namespace']}:{dag['name']}"
                expected[parent] = ExpectedRun(parent, job, None, None, None, None, frozenset())
        return expected

    def expected_job_edges(self, acked: Iterable[int]) -> set[tuple[str, str, str]]:
        """``(type, source key, target key)`` of every CONSUMED_BY/PRODUCES edge the acked events give."""
        edges: set[tuple[str, str, str]] = set()
        for index in set(acked):
            event = self.events[index]
            edges.update(("CONSUMED_BY", dataset, event.job) for dataset in event.inputs)
            edges.update(("PRODUCES", event.job, dataset) for dataset in event.outputs)
        return edges


def _expected_run(events: list[PlannedEvent]) -> ExpectedRun:
    terminal = [e for e in events if e.event_type in TERMINAL]
    start = [e for e in events if e.event_type == "START"]
    state = terminal[0].event_type if terminal else "START"
    first = events[0]
    wrote = {_version_key(dataset, first.run_id) for e in events for dataset in e.outputs}
    return ExpectedRun(
        run_id=first.run_id,
        job=first.job,
        parent_run_id=first.parent_run_id,
        state=state,
        started_at=start[0].stored_time if start else None,
        ended_at=terminal[0].stored_time if terminal else None,
        wrote=frozenset(wrote),
    )


def _version_key(dataset_key: str, run_id: str) -> str:
    return f"datasetVersion:{dataset_key.removeprefix('dataset:')}@run:{run_id}"


@dataclass
class _Builder:
    """Accumulates the events of a stream; one instance per :func:`build_stream` call."""

    rng: random.Random
    namespace: str
    lake: str
    events: list[PlannedEvent] = field(default_factory=list)

    def run_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def time(self, chain: int, step: int) -> str:
        moment = BASE_TIME + timedelta(minutes=chain, seconds=step, microseconds=self.rng.randrange(10**6))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def add(self, chain: int, body: dict[str, Any], parent: str | None, dag: str) -> None:
        job = body["job"]
        inputs = tuple(f"dataset:{d['namespace']}:{d['name']}" for d in body.get("inputs", []))
        outputs = tuple(f"dataset:{d['namespace']}:{d['name']}" for d in body.get("outputs", []))
        self.events.append(
            PlannedEvent(
                index=len(self.events),
                chain=chain,
                run_id=body["run"]["runId"],
                job=f"job:{job['namespace']}:{job['name']}",
                event_type=body["eventType"],
                event_time=body["eventTime"],
                key=f"run:{self.namespace}/{dag}",
                parent_run_id=parent,
                inputs=inputs,
                outputs=outputs,
                body=body,
            )
        )


def build_stream(seed: int, tag: str, chains: int, tasks: int = 4, dags: int = 12) -> Stream:
    """A stream of ``chains`` DAG runs of ``tasks`` tasks each, over ``dags`` distinct DAG jobs.

    ``tag`` goes into every namespace so streams of different tests never share a node.
    About 4% of the tasks fail, which ends their chain with a FAIL of the DAG run.
    """
    namespace = f"faults-{tag}"
    builder = _Builder(random.Random(seed), namespace, f"s3://faults-{tag}")
    for chain in range(chains):
        _chain(builder, chain, f"dag_{chain % dags}", tasks)
    return Stream(namespace, builder.events)


def _chain(b: _Builder, chain: int, dag: str, tasks: int) -> None:
    dag_run = b.run_id()
    step = 0
    b.add(chain, _event(b, "START", b.time(chain, step), dag_run, dag), None, dag)
    outcome = "COMPLETE"
    for task in range(tasks):
        name = f"{dag}.task_{task}"
        run = b.run_id()
        parent = _parent_facet(b.namespace, dag, dag_run)
        inputs = [_dataset(SOURCE_NAMESPACE, f"public.source_{(chain + task) % SOURCE_TABLES}")]
        if task:
            inputs.append(_dataset(b.lake, f"{dag}/task_{task - 1}"))
        output = _dataset(b.lake, f"{dag}/task_{task}", schema=True)
        for state in ("START", "FAIL" if b.rng.random() < 0.04 else "COMPLETE"):
            step += 1
            out = dict(output)
            if state == "COMPLETE":
                out["outputFacets"] = {"outputStatistics": _statistics(b.rng)}
            body = _event(
                b, state, b.time(chain, step), run, name, parent=parent, inputs=inputs, outputs=[out]
            )
            b.add(chain, body, dag_run, dag)
            outcome = state
        if outcome == "FAIL":
            break
    step += 1
    b.add(chain, _event(b, outcome, b.time(chain, step), dag_run, dag), None, dag)


def _event(
    b: _Builder,
    state: str,
    time: str,
    run_id: str,
    job: str,
    *,
    parent: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    run: dict[str, Any] = {"runId": run_id}
    if parent is not None:
        run["facets"] = {"parent": parent}
    if state == "FAIL":
        run.setdefault("facets", {})["errorMessage"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
            "message": f"task failed: exit code {b.rng.randrange(1, 255)}",
            "programmingLanguage": "python",
        }
    job_facets = {
        "jobType": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json",
            "processingType": "BATCH",
            "integration": "AIRFLOW",
            "jobType": "TASK" if parent else "DAG",
        }
    }
    return {
        "eventType": state,
        "eventTime": time,
        "run": run,
        "job": {"namespace": b.namespace, "name": job, "facets": job_facets},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def _parent_facet(namespace: str, dag: str, dag_run: str) -> dict[str, Any]:
    ref = {"run": {"runId": dag_run}, "job": {"namespace": namespace, "name": dag}}
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMA, **ref, "root": ref}


def _dataset(namespace: str, name: str, schema: bool = False) -> dict[str, Any]:
    dataset: dict[str, Any] = {"namespace": namespace, "name": name}
    if schema:
        fields = [{"name": "id", "type": "BIGINT"}, {"name": "amount", "type": "DECIMAL(12,2)"}]
        dataset["facets"] = {
            "schema": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                "fields": fields,
            }
        }
    return dataset


def _statistics(rng: random.Random) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json",
        "rowCount": rng.randrange(1, 10**6),
        "size": rng.randrange(1, 10**9),
    }
