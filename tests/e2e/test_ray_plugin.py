"""A Ray Data workload, run as its own process, reports its lineage to a real ``olgraph serve``.

The workload's environment holds only what it needs: ``PATH``, ``HOME``, the standard
``OPENLINEAGE_URL`` and ``RAY_DATA_EXECUTION_CALLBACKS`` naming the plugin's callback, and
Ray's own quieting switches. It starts a local Ray (two CPUs, no dashboard, a short temp
dir: Ray's socket paths must stay under 107 characters), reads a Parquet directory and a CSV
file the test wrote, transforms them, and writes Parquet. The graph is then read back over
the HTTP API. Two more runs show that the workload is unharmed when the collector is down
and that ``OLGRAPH_RAY_DISABLED=true`` sends nothing.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import ray
from e2e_support import OlgraphServer, ServerFactory, run_python, wait_applied

NS = "ray-e2e"
JOB = "nightly_etl"
WORKLOAD_TIMEOUT = 240.0

WORKLOAD = r"""
import json, shutil, sys, tempfile
import ray
from ray.data.expressions import col

people_dir, scores_csv, unused, out_dir = sys.argv[1:5]
temp = tempfile.mkdtemp(prefix="olr", dir="/tmp")
ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
try:
    job_id = ray.get_runtime_context().get_job_id()
    # built but never executed: must leave no trace
    never = ray.data.read_parquet(unused).map_batches(lambda b: b)

    def add_score(batch):
        return {**batch, "score": batch["id"] * 0.1}

    people = ray.data.read_parquet(people_dir).map_batches(add_score)
    scores = ray.data.read_csv(scores_csv)
    people.union(scores).filter(expr=col("score") > 0.15).write_parquet(out_dir)
    # executes, but reads and writes no external data
    assert ray.data.range(10).take(3) == [{"id": 0}, {"id": 1}, {"id": 2}]
finally:
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
print(json.dumps({"rayJobId": job_id}))
"""


def _env(**extra: str) -> dict[str, str]:
    """Exactly what the workload needs; nothing of the test process leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "RAY_DATA_EXECUTION_CALLBACKS": "olgraph.integrations.ray.OpenLineageExecutionCallback",
        "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        "OPENLINEAGE_NAMESPACE": NS,
        "OLGRAPH_RAY_JOB_NAME": JOB,
    }
    env.update(extra)
    return env


def _write_inputs(root: Path) -> dict[str, Path]:
    people, scores, unused = root / "people", root / "scores.csv", root / "unused.parquet"
    people.mkdir()
    pq.write_table(pa.table({"id": [1, 2], "name": ["ada", "bob"]}), people / "part-0.parquet")
    pq.write_table(pa.table({"id": [3], "name": ["cy"]}), people / "part-1.parquet")
    pcsv.write_csv(pa.table({"id": [4, 5], "name": ["di", "ed"], "score": [0.1, 0.9]}), scores)
    pq.write_table(pa.table({"x": [1]}), unused)
    return {"people": people, "scores": scores, "unused": unused, "out": root / "out"}


def _run_workload(paths: dict[str, Path], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    args = [str(paths[k]) for k in ("people", "scores", "unused", "out")]
    done = run_python(WORKLOAD, env, cwd, args, timeout=WORKLOAD_TIMEOUT)
    assert done.returncode == 0, f"the workload failed:\n{done.stdout}\n{done.stderr}"
    assert len(pq.read_table(paths["out"])) == 3, "the workload's output is incomplete"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


@pytest.fixture(scope="module")
def server(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` on the embedded store, without API keys."""
    with olgraph_server(tmp_path_factory.mktemp("ray-server") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def workload(server: OlgraphServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The workload, run once against the server, and its events applied."""
    root = tmp_path_factory.mktemp("ray-workload")
    paths = _write_inputs(root)
    result = _run_workload(paths, _env(OPENLINEAGE_URL=server.url), root)
    with server.client() as client:
        wait_applied(client)
    return {**result, "paths": paths, "job": f"{JOB}.write_parquet.{root.name}_out"}


def _get(server: OlgraphServer, path: str, **params: Any) -> Any:
    with server.client() as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_graph_shows_files_into_the_ray_job_into_a_file(
    server: OlgraphServer, workload: dict[str, Any]
) -> None:
    paths, job = workload["paths"], f"job:{NS}:{workload['job']}"
    people, scores, out = (f"dataset:file:{paths[k]}" for k in ("people", "scores", "out"))
    answer = _get(server, "/api/v1/lineage", nodeId=job, direction="both", depth=1)
    assert {n["id"] for n in answer["nodes"]} == {job, people, scores, out}
    assert {(e["source"], e["type"], e["target"]) for e in answer["edges"]} == {
        (people, "CONSUMED_BY", job),
        (scores, "CONSUMED_BY", job),
        (job, "PRODUCES", out),
    }


def test_inputs_and_output_carry_their_schemas(server: OlgraphServer, workload: dict[str, Any]) -> None:
    paths = workload["paths"]
    expected = {"people": ["id", "name"], "scores": ["id", "name", "score"], "out": ["id", "name", "score"]}
    for key, fields in expected.items():
        dataset = _get(server, "/api/v1/datasets", namespace="file", name=str(paths[key]))
        assert sorted(dataset["fields"]) == fields, key
        schema = dataset["facets"]["schema"]["fields"]
        assert [f["name"] for f in schema] == fields, key


def test_the_run_completed_under_the_workload_run(server: OlgraphServer, workload: dict[str, Any]) -> None:
    (run,) = _get(server, "/api/v1/jobs/runs", namespace=NS, name=workload["job"])["items"]
    (process,) = _get(server, "/api/v1/jobs/runs", namespace=NS, name=JOB)["items"]
    assert run["state"] == "COMPLETE"
    assert process["state"] == "COMPLETE"
    assert run["parentRunId"] == process["runId"]
    facets = run["facets"]
    assert facets["processing_engine"]["name"] == "ray"
    assert facets["processing_engine"]["version"] == ray.__version__
    assert facets["olgraph_workload"]["workloadType"] == "ray"
    assert facets["olgraph_workload"]["workloadId"] == workload["rayJobId"]
    assert facets["olgraph_workload"]["rayVersion"] == ray.__version__


def test_what_was_never_executed_or_read_nothing_left_no_trace(
    server: OlgraphServer, workload: dict[str, Any]
) -> None:
    jobs = _get(server, f"/api/v1/namespaces/{NS}/jobs")["items"]
    assert sorted(j["name"] for j in jobs) == sorted([JOB, workload["job"]])
    files = _get(server, "/api/v1/namespaces/file/datasets")["items"]
    assert str(workload["paths"]["unused"]) not in {d["name"] for d in files}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_collector_does_not_harm_the_workload(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path)
    env = _env(OPENLINEAGE_URL=f"http://127.0.0.1:{_closed_port()}", OLGRAPH_RAY_FLUSH_TIMEOUT="2")
    result = _run_workload(paths, env, tmp_path)  # exit 0 and the output complete
    # it did try: the sends failed, or were still being retried when the flush at exit gave up
    assert re.search(
        r"olgraph ray plugin: (sending an event failed|\d+ event\(s\) not sent)", result["stderr"]
    )


def test_disabled_the_plugin_sends_nothing(server: OlgraphServer, tmp_path: Path) -> None:
    with server.client() as client:
        before = wait_applied(client)["accepted"]
    paths = _write_inputs(tmp_path)
    _run_workload(paths, _env(OPENLINEAGE_URL=server.url, OLGRAPH_RAY_DISABLED="true"), tmp_path)
    with server.client() as client:
        assert wait_applied(client)["accepted"] == before
