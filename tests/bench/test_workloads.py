"""The benchmark workload generator (bench/workloads.py), checked with the real pieces.

Events are validated against the official OpenLineage 2-0-2 schema and facet schemas (read
offline from ../shared/openlineage and resolved through ``referencing``), parsed by
olgraph's parser and normalized by olgraph's normalizer, whose node keys must be exactly
the ones the generator predicts.
"""

from __future__ import annotations

import doctest
import itertools
import json
import os
import re
import subprocess
import sys
import tracemalloc
import uuid
from collections import Counter, defaultdict, deque
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import workloads as wl
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from olgraph.ingest.parse import parse_event
from olgraph.normalize.mutations import RelType, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize

REPO = Path(__file__).resolve().parents[2]
OPENLINEAGE = REPO / ".." / "shared" / "openlineage"
JsonDict = dict[str, Any]
KINDS = list(wl.KINDS)


# --------------------------------------------------------------------------- offline schema validation


def _schema_files() -> list[Path]:
    spec = OPENLINEAGE / "spec"
    versions = sorted((OPENLINEAGE / "facet-versions").glob("*/*.json"))
    return [spec / "OpenLineage.json", *sorted((spec / "facets").glob("*.json")), *versions]


SCHEMAS: Registry[Any] = Registry().with_resources(
    (doc["$id"], Resource.from_contents(doc))
    for doc in (json.loads(p.read_text(encoding="utf-8")) for p in _schema_files())
)
CHECKS = FormatChecker(formats=())


@CHECKS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    shape = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    return bool(shape) and datetime.fromisoformat(value) is not None


@CHECKS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


@CHECKS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


@cache
def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=SCHEMAS, format_checker=CHECKS)


def _facets(event: JsonDict) -> list[tuple[str, JsonDict]]:
    holders = [event["run"], event["job"]]
    for entry in [*event.get("inputs", []), *event.get("outputs", [])]:
        holders.append(entry)
        holders += [{"facets": entry.get(role, {})} for role in ("inputFacets", "outputFacets")]
    return [item for holder in holders for item in holder.get("facets", {}).items()]


def validate(event: JsonDict) -> None:
    """Fail unless ``event`` is a valid 2-0-2 RunEvent whose every facet matches its own schema."""
    assert event["schemaURL"] == f"{wl.SPEC_URL}#/$defs/RunEvent"
    _validator(event["schemaURL"]).validate(event)
    for name, facet in _facets(event):
        _validator(facet["_schemaURL"]).validate(facet)
        document = SCHEMAS.contents(facet["_schemaURL"].split("#")[0])
        assert list(document["properties"]) == [name], f"{name} has the schema of {document['$id']}"


def _sample(events: list[JsonDict], size: int = 300) -> list[JsonDict]:
    return events[:: max(1, len(events) // size)][:size]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_valid_openlineage_and_olgraph_accepts_it(kind: str) -> None:
    # spark events are few and large: its workload needs more nodes for a sample of hundreds
    nodes = 12_000 if kind == "spark" else 2_500
    spec = wl.WorkloadSpec(kind=kind, seed=11, nodes=nodes, fan_out=3, fan_in=4)
    sample = _sample(list(wl.generate(spec)))
    assert len(sample) >= 200
    for event in sample:
        validate(event)
        parsed = parse_event(orjson.loads(orjson.dumps(event)))
        assert (parsed.kind, parsed.run_id) == ("run", event["run"]["runId"])


def test_the_schema_check_refuses_what_the_spec_forbids() -> None:
    event = next(wl.generate(wl.WorkloadSpec(kind="airflow", seed=1, nodes=100)))
    broken = json.loads(json.dumps(event))
    del broken["job"]["facets"]["jobType"]["integration"]  # required by JobTypeJobFacet
    with pytest.raises(ValidationError, match="integration"):
        validate(broken)
    broken = json.loads(json.dumps(event))
    broken["run"]["runId"] = "not-a-uuid"
    with pytest.raises(ValidationError, match="uuid"):
        validate(broken)


# --------------------------------------------------------------------------- node keys


def _normalized_keys(event: JsonDict) -> set[str]:
    return {m.key for m in normalize(parse_event(event)) if isinstance(m, UpsertNode)}


@pytest.mark.parametrize("kind", KINDS)
def test_normalizing_creates_exactly_the_predicted_node_keys(kind: str) -> None:
    spec = wl.WorkloadSpec(kind=kind, seed=5, nodes=1_500, chain_depth=6, fan_out=5, fan_in=7)
    workload, created = wl.Workload(spec), set()
    for unit in workload.units():
        for event in unit.events:
            keys = _normalized_keys(event)
            assert wl.event_node_keys(event) == keys, event["job"]["name"]
            created |= keys
    assert wl.node_keys(spec) == created
    assert sum(workload.counts.values()) == len(created)
    by_label = Counter(key.split(":", 1)[0] for key in created)
    assert dict(workload.counts) == dict(by_label)


@pytest.mark.parametrize(
    ("kind", "target"), [("airflow", 800), ("spark", 3_000), ("dbt", 2_000), ("ml", 1_000), ("mixed", 5_000)]
)
def test_generation_stops_at_the_first_unit_past_the_target(kind: str, target: int) -> None:
    workload, sizes = wl.Workload(wl.WorkloadSpec(kind=kind, seed=2, nodes=target)), [0]
    for _ in workload.units():
        sizes.append(sum(workload.counts.values()))
    assert sizes[-2] < target <= sizes[-1]


# --------------------------------------------------------------------------- shapes of each kind


def _runs(events: list[JsonDict]) -> dict[str, list[JsonDict]]:
    runs: dict[str, list[JsonDict]] = defaultdict(list)
    for event in events:
        runs[event["run"]["runId"]].append(event)
    return runs


def _types(events: list[JsonDict]) -> list[str]:
    return [e["eventType"] for e in events]


def test_airflow_task_runs_belong_to_their_dag_run_and_carry_sql() -> None:
    events = list(wl.generate(wl.WorkloadSpec(kind="airflow", seed=3, nodes=3_000)))
    runs = _runs(events)
    tasks = [e for e in events if e["job"]["facets"]["jobType"]["jobType"] == "TASK"]
    assert tasks
    assert all("sql" in e["job"]["facets"] for e in tasks)
    for task in tasks:
        parent = task["run"]["facets"]["parent"]
        dag = runs[parent["run"]["runId"]]
        assert dag[0]["job"]["name"] == parent["job"]["name"] == task["job"]["name"].split(".")[0]
        assert parent["root"]["run"] == parent["run"]
    for run in runs.values():
        assert _types(run) in (["START", "COMPLETE"], ["START", "FAIL"])
    assert any(e["eventType"] == "FAIL" for e in events)


def test_spark_writes_wide_tables_with_column_lineage_and_statistics() -> None:
    events = list(wl.generate(wl.WorkloadSpec(kind="spark", seed=4, nodes=20_000)))
    outputs = [o for e in events if e["eventType"] == "COMPLETE" for o in e["outputs"]]
    widths = [len(o["facets"]["schema"]["fields"]) for o in outputs]
    assert min(widths) >= 40
    assert max(widths) >= 300
    for output in outputs:
        lineage = output["facets"]["columnLineage"]["fields"]
        assert set(lineage) == {f["name"] for f in output["facets"]["schema"]["fields"]}
        assert output["outputFacets"]["outputStatistics"]["rowCount"] > 0


def test_dbt_chains_run_as_deep_as_asked_with_sql() -> None:
    spec = wl.WorkloadSpec(kind="dbt", seed=6, nodes=100, chain_depth=55)
    units = list(wl.Workload(spec).units())
    models = [e for e in units[0].events if e["job"]["facets"]["jobType"]["jobType"] == "MODEL"]
    assert len({e["job"]["name"] for e in models}) == 55
    assert all(e["job"]["facets"]["sql"]["query"].startswith("INSERT INTO") for e in models)
    assert len(units[0].chain) == 56


def test_ml_training_writes_one_model_version_per_run() -> None:
    events = list(wl.generate(wl.WorkloadSpec(kind="ml", seed=7, nodes=3_000)))
    written: dict[str, list[str]] = defaultdict(list)
    for event in events:
        for output in event["outputs"]:
            if event["eventType"] == "START" and output["facets"]["datasetType"]["datasetType"] == "MODEL":
                written[output["name"]].append(output["facets"]["version"]["datasetVersion"])
    assert written
    for versions in written.values():  # a failed pipeline run trains no version
        numbers = [int(v) for v in versions]
        assert numbers == sorted(set(numbers))
    assert sum(len(versions) >= 2 for versions in written.values()) >= len(written) // 2
    training = [e for e in events if e["job"]["name"].endswith(".train")]
    assert [e["inputs"][0]["name"].rsplit("/", 1)[1] for e in training] == ["training_set"] * len(training)


def test_streaming_jobs_send_periodic_running_events_and_never_end() -> None:
    events = list(wl.generate(wl.WorkloadSpec(kind="streaming", seed=8, nodes=2_000)))
    for run in _runs(events).values():
        assert run[0]["job"]["facets"]["jobType"]["processingType"] == "STREAMING"
        types = _types(run)
        assert types[0] == "START"
        assert len(types) >= 4
        assert set(types[1:]) == {"RUNNING"}
        rows = [e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] for e in run[1:]]
        assert rows == sorted(rows)
        beats = [datetime.fromisoformat(e["eventTime"]) for e in run[1:]]
        assert {(b - a).total_seconds() for a, b in itertools.pairwise(beats)} == {60.0}


def test_mixed_blends_every_kind() -> None:
    events = wl.generate(wl.WorkloadSpec(kind="mixed", seed=9, nodes=30_000))
    integrations = {e["job"]["facets"]["jobType"]["integration"] for e in events}
    assert integrations == {"AIRFLOW", "SPARK", "DBT", "KUBEFLOW", "FLINK"}


def test_fan_out_and_fan_in_shapes_are_complete_even_past_the_target() -> None:
    events = list(wl.generate(wl.WorkloadSpec(kind="airflow", seed=10, nodes=200, fan_out=400, fan_in=300)))
    readers = {e["job"]["name"] for e in events for i in e["inputs"] if i["name"] == "shop.public.customers"}
    assert len(readers) == 400
    widest = max(events, key=lambda e: len(e["inputs"]))
    assert len(widest["inputs"]) == 300
    assert len({(i["namespace"], i["name"]) for i in widest["inputs"]}) == 300


# --------------------------------------------------------------------------- lineage anchors


def _lineage_graph(spec: wl.WorkloadSpec) -> dict[str, set[str]]:
    """Downstream adjacency (CONSUMED_BY, PRODUCES) as olgraph's normalizer builds it."""
    down: dict[str, set[str]] = defaultdict(set)
    for event in wl.generate(spec):
        for m in normalize(parse_event(event)):
            if isinstance(m, UpsertEdge) and m.type in (RelType.CONSUMED_BY, RelType.PRODUCES):
                down[m.source].add(m.target)
    return down


def _reach(adjacency: dict[str, set[str]], start: str) -> int:
    """How many hops the farthest node reachable from ``start`` is away (breadth first)."""
    distance, queue = {start: 0}, deque([start])
    while queue:
        node = queue.popleft()
        for nxt in adjacency.get(node, ()):
            if nxt not in distance:
                distance[nxt] = distance[node] + 1
                queue.append(nxt)
    return max(distance.values())


def test_lineage_anchors_have_the_depth_they_promise() -> None:
    spec = wl.WorkloadSpec(kind="mixed", seed=12, nodes=6_000, chain_depth=55)
    anchors = wl.lineage_anchors(spec, (1, 5, 10, 20, 50))
    assert set(anchors) == {1, 5, 10, 20, 50}
    down = _lineage_graph(spec)
    up: dict[str, set[str]] = defaultdict(set)
    for source, targets in down.items():
        for target in targets:
            up[target].add(source)
    for depth, key in anchors.items():
        assert key.startswith("dataset:")
        assert _reach(down, key) >= depth, (depth, key)
        assert _reach(up, key) >= depth, (depth, key)


def test_anchors_deeper_than_any_chain_are_left_out() -> None:
    # ml chains are source → features → model → evaluation: 6 hops, 2 either side of the middle
    assert set(wl.lineage_anchors(wl.WorkloadSpec(kind="ml", seed=1, nodes=300))) == {1}
    assert wl.lineage_anchors(wl.WorkloadSpec(kind="streaming", seed=1, nodes=300)) == {}


# --------------------------------------------------------------------------- determinism, laziness, delivery


def _bytes(spec: wl.WorkloadSpec) -> bytes:
    out = BytesIO()
    wl.write_ndjson(spec, out)
    return out.getvalue()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    spec = wl.WorkloadSpec("mixed", 21, 4_000, fan_out=20, fan_in=10, disorder=0.1, duplicates=0.05)
    first = _bytes(spec)
    assert first == _bytes(spec)
    other = _bytes(wl.WorkloadSpec(**{**_fields(spec), "seed": 22}))
    assert other != first
    assert not set(first.splitlines()) & set(other.splitlines())


def _fields(spec: wl.WorkloadSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in wl.WorkloadSpec.__dataclass_fields__}


def test_a_million_node_workload_starts_at_once_in_little_memory() -> None:
    """Lazy: the first events come without generating the rest, which the memory shows (no clock)."""
    spec = wl.WorkloadSpec("mixed", 1, 1_000_000, fan_out=10_000, disorder=0.1, duplicates=0.05)
    tracemalloc.start()
    try:
        first = list(itertools.islice(wl.Workload(spec).lines(), 1_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1_000
    # the whole workload is ~2 GB of JSON; the first thousand events need a few MB
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def _delivery(spec: wl.WorkloadSpec) -> tuple[list[bytes], list[bytes]]:
    """The delivered lines, and the distinct ones in order of first delivery."""
    lines = list(wl.Workload(spec).lines())
    return lines, list(dict.fromkeys(lines))


def test_without_disorder_events_arrive_once_in_event_time_order() -> None:
    lines, distinct = _delivery(wl.WorkloadSpec(kind="mixed", seed=3, nodes=8_000))
    times = [orjson.loads(line)["eventTime"] for line in lines]
    assert lines == distinct
    assert all(a < b for a, b in itertools.pairwise(times))


def test_disorder_and_duplicates_are_the_fractions_asked_within_the_window() -> None:
    spec = wl.WorkloadSpec(kind="streaming", seed=5, nodes=8_000, disorder=0.1, duplicates=0.05, window=20)
    lines, distinct = _delivery(spec)
    assert len(distinct) > 5_000
    assert 0.035 <= (len(lines) - len(distinct)) / len(distinct) <= 0.065
    times = [orjson.loads(line)["eventTime"] for line in distinct]
    latest, late = "", 0
    for at in times:
        late += at < latest
        latest = max(latest, at)
    assert 0.075 <= late / len(distinct) <= 0.125
    rank = {at: index for index, at in enumerate(sorted(times))}
    assert max(abs(position - rank[at]) for position, at in enumerate(times)) == spec.window
    first_seen: dict[bytes, int] = {}
    for position, line in enumerate(lines):
        gap = position - first_seen.setdefault(line, position)
        assert gap <= 3 * spec.window


# --------------------------------------------------------------------------- sizes and the command line


def test_event_sizes_span_one_to_two_hundred_kilobytes() -> None:
    sizes = [len(line) for kind in ("airflow", "spark") for line in _bytes(_spec(kind)).splitlines()]
    assert 1_000 <= min(sizes) <= 1_500
    assert 150_000 <= max(sizes) <= wl.MAX_EVENT_BYTES
    assert sum(size > 50_000 for size in sizes) >= 10


def _spec(kind: str) -> wl.WorkloadSpec:
    return wl.WorkloadSpec(kind=kind, seed=1, nodes=20_000)


def test_the_module_example_holds() -> None:
    assert doctest.testmod(wl).failed == 0


def test_spec_refuses_nonsense() -> None:
    for bad in ({"kind": "kafka"}, {"nodes": 0}, {"fan_out": -1}, {"disorder": 1.5}, {"window": 0}):
        with pytest.raises(ValueError, match=r"kind|nodes|fan_out|disorder|window"):
            wl.WorkloadSpec(**bad)


def test_the_command_line_writes_the_same_bytes_in_any_process_and_summarizes(tmp_path: Path) -> None:
    spec = wl.WorkloadSpec(kind="ml", seed=4, nodes=1_500, disorder=0.1, duplicates=0.05)
    out = tmp_path / "events.ndjson"
    args = ["--kind", "ml", "--seed", "4", "--nodes", "1500", "--disorder", "0.1", "--duplicates", "0.05"]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "workloads.py"), *args, "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    assert out.read_bytes() == _bytes(spec)
    summary = wl.write_ndjson(spec, BytesIO())
    assert done.stderr.strip() == summary.line()
    lines = out.read_bytes().splitlines()
    assert summary.delivered == len(lines)
    assert summary.bytes == out.stat().st_size
    assert f"{len(set(lines))} events" in summary.line()
    assert f"{summary.counts['job']} jobs, {summary.counts['dataset']} datasets" in summary.line()
    assert set(summary.sizes) == {"min", "p50", "p90", "p99", "max"}
    assert summary.sizes["max"] == max(map(len, lines))
