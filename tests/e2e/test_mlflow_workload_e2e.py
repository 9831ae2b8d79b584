"""The MLflow plugin end to end: an unchanged MLflow training script, a real ``olgraph serve``.

The workload is a plain MLflow script (no olgraph import) run in its own interpreter whose
environment holds only PATH, HOME, ``OPENLINEAGE_URL``, ``MLFLOW_TRACKING_URI`` and what
MLflow needs. It trains ``churn`` twice on two versions of ``s3://bucket/train.parquet``,
registers both, moves version 2 to Production, points the ``champion`` alias at it, loads
``models:/churn@champion`` outside any run and ``models:/churn/Production`` inside a scoring
run. Its events go through a recording proxy to the server, which answers the two questions
of the issue: which dataset versions and run produced ``churn`` version N, and which models
were trained on ``s3://bucket/train.parquet``.

It runs against a file store and against a real ``mlflow server`` (SQLite, one worker, a
fresh one per scenario so each starts from an empty registry), into the embedded store and
into Neo4j. The MLflow server has ``OPENLINEAGE_URL`` too, pointing at a sink that records
whatever reaches it: the plugin must stay silent there. Then the switches: an unreachable
collector, ``OLGRAPH_MLFLOW_DISABLED``, and ``OLGRAPH_MLFLOW_IGNORE_ERRORS=false``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    OlgraphServer,
    RecordingProxy,
    ServerFactory,
    empty_neo4j,
    free_port,
    run_mlflow_server,
    run_python,
    run_recording_proxy,
    wait_applied,
)
from neo4j import Driver

REPO = Path(__file__).resolve().parents[2]
WORKLOAD_TIMEOUT = 300.0
TRAIN = "dataset:s3://bucket:train.parquet"
QUERY = re.compile(r"<!-- query: (?P<name>[\w-]+) -->.*?```cypher\n(?P<cypher>.*?)```", re.S)

WORKLOAD = """
import json, os, warnings
warnings.simplefilter("ignore")
import mlflow, pandas as pd
from sklearn.linear_model import LogisticRegression

def frame(rows):
    return pd.DataFrame({"tenure": [float(i % 7) for i in range(rows)],
                         "spend": [float(i * 3 % 11) for i in range(rows)],
                         "churned": [i % 2 for i in range(rows)]})

client = mlflow.MlflowClient()
mlflow.set_experiment("churn")
trained = []
for rows in (8, 12):
    data = frame(rows)
    train = mlflow.data.from_pandas(data, source="s3://bucket/train.parquet", name="train")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training")
        fitted = LogisticRegression().fit(data[["tenure", "spend"]], data["churned"])
        info = mlflow.sklearn.log_model(fitted, name="model", pip_requirements=["scikit-learn"])
    version = mlflow.register_model(info.model_uri, "churn")
    trained.append({"run": run.info.run_id, "digest": train.digest, "model": info.model_id,
                    "version": str(version.version)})
latest = trained[-1]["version"]
client.transition_model_version_stage("churn", latest, "Production")
client.set_registered_model_alias("churn", "champion", latest)
mlflow.pyfunc.load_model("models:/churn@champion")
mlflow.set_experiment("scoring")
with mlflow.start_run() as scoring:
    mlflow.pyfunc.load_model("models:/churn/Production")
print(json.dumps({"pid": os.getpid(), "trained": trained, "scoring": scoring.info.run_id}))
"""

LIST_VERSIONS = """
import json, mlflow
print(json.dumps(sorted(str(v.version) for v in mlflow.MlflowClient().search_model_versions("name='churn'"))))
"""


# --------------------------------------------------------------------------- helpers


def base_env(home: Path, tracking_uri: str, **extra: str) -> dict[str, str]:
    """Only what the workload needs: PATH, HOME, the tracking URI, MLflow's file-store opt-in."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "MLFLOW_TRACKING_URI": tracking_uri}
    if tracking_uri.startswith("file:"):
        env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    env.update(extra)
    return env


@dataclass
class Sink:
    """An HTTP endpoint that accepts and keeps every request body (stands in for a collector)."""

    url: str = ""
    bodies: list[bytes] = field(default_factory=list)


def _sink_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sink.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


@dataclass
class MlflowServer:
    """A running ``mlflow server`` and the sink its ``OPENLINEAGE_URL`` points to."""

    url: str
    process: subprocess.Popen[bytes]
    sink: Sink
    alive_after_workload: bool = False


@dataclass
class Workload:
    """One run of the workload: what it printed and what reached the collector."""

    tracking_uri: str
    namespace: str
    out: dict[str, Any]
    events: list[dict[str, Any]]
    proxy: RecordingProxy
    mlflow_server: MlflowServer | None = None

    def run_id(self, mlflow_run_id: str) -> str:
        return str(uuid.UUID(hex=mlflow_run_id))

    @property
    def model(self) -> str:
        return f"dataset:{self.namespace}:models/churn"


def run_workload(tracking_uri: str, graph: OlgraphServer, cwd: Path) -> Workload:
    """Run the workload with its events going to ``graph`` through a recording proxy."""
    with run_recording_proxy(graph.url) as proxy:
        done = run_python(
            WORKLOAD, base_env(cwd, tracking_uri, OPENLINEAGE_URL=proxy.url), cwd, timeout=WORKLOAD_TIMEOUT
        )
    assert done.returncode == 0, f"the workload failed:\n{done.stderr}"
    with graph.client() as client:
        wait_applied(client)
    events = [json.loads(r.body) for r in proxy.requests]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Workload(tracking_uri, mlflow_namespace(tracking_uri), out, events, proxy)


def mlflow_namespace(uri: str) -> str:
    """The namespace docs/decisions/0008 gives a tracking server (written out, not imported)."""
    if uri.startswith("http://"):
        return "mlflow://" + uri.removeprefix("http://").rstrip("/")
    return "mlflow+" + uri.rstrip("/")


def summary(event: dict[str, Any]) -> tuple[Any, ...]:
    """An event in short: type, job, inputs and outputs as name@version (or a dataset's tags)."""

    def names(items: list[dict[str, Any]]) -> list[str]:
        return [
            f"{d['name']}@{d.get('facets', {}).get('version', {}).get('datasetVersion', '')}" for d in items
        ]

    if "dataset" in event:
        tags = event["dataset"]["facets"]["tags"]["tags"]
        return ("DATASET", event["dataset"]["name"], sorted(f"{t['key']}={t['value']}" for t in tags))
    return (event.get("eventType"), event["job"]["name"], names(event["inputs"]), names(event["outputs"]))


def documented_query(name: str) -> str:
    doc = (REPO / "docs" / "graph-model.md").read_text(encoding="utf-8")
    return {m["name"]: m["cypher"] for m in QUERY.finditer(doc)}[name]


# --------------------------------------------------------------------------- fixtures


@contextmanager
def run_mlflow_server_with_sink(folder: Path) -> Iterator[MlflowServer]:
    """``mlflow server`` (SQLite, one worker) with OpenLineage configured to point at a sink.

    One per scenario, so each workload starts from an empty registry.
    """
    sink = Sink()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _sink_handler(sink))
    sink.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, name="sink", daemon=True).start()
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "OPENLINEAGE_URL": sink.url}
    try:
        with run_mlflow_server(folder, env) as running:
            yield MlflowServer(running.url, running.process, sink)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graph(
    request: pytest.FixtureRequest, olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` on the embedded store or on an emptied Neo4j."""
    data = tmp_path_factory.mktemp(f"olgraph-{request.param}") / "data"
    if request.param == "neo4j":
        neo4j_uri = request.getfixturevalue("neo4j_uri")
        empty_neo4j(neo4j_uri)
        with olgraph_server(data, neo4j_uri=neo4j_uri) as server:
            yield server
    else:
        with olgraph_server(data) as server:
            yield server


@pytest.fixture(scope="module", params=["file-store", "mlflow-server"])
def workload(
    request: pytest.FixtureRequest, graph: OlgraphServer, tmp_path_factory: pytest.TempPathFactory
) -> Workload:
    """The workload against a file store or the MLflow server, its events applied by ``graph``."""
    cwd = tmp_path_factory.mktemp("workload")
    if request.param == "file-store":
        return run_workload((cwd / "mlruns").as_uri(), graph, cwd)
    with run_mlflow_server_with_sink(cwd / "mlflow-server") as server:
        done = run_workload(server.url, graph, cwd)
        server.alive_after_workload = server.process.poll() is None
    done.mlflow_server = server
    return done


# --------------------------------------------------------------------------- the main scenario


def test_the_workload_sent_exactly_what_it_did(workload: Workload) -> None:
    (first, second), scoring = workload.out["trained"], workload.out["scoring"]
    latest = second["version"]
    assert [summary(e) for e in workload.events] == [
        ("START", "churn", [], []),
        ("RUNNING", "churn", [f"train.parquet@{first['digest']}"], []),
        ("RUNNING", "churn", [], [f"logged_models/{first['model']}@"]),
        ("COMPLETE", "churn", [], []),
        (None, "churn", [], [f"models/churn@{first['version']}"]),
        ("START", "churn", [], []),
        ("RUNNING", "churn", [f"train.parquet@{second['digest']}"], []),
        ("RUNNING", "churn", [], [f"logged_models/{second['model']}@"]),
        ("COMPLETE", "churn", [], []),
        (None, "churn", [], [f"models/churn@{latest}"]),
        ("DATASET", "models/churn", [f"stage.Production={latest}"]),
        ("DATASET", "models/churn", [f"alias.champion={latest}", f"stage.Production={latest}"]),
        ("START", "python", [], []),  # the process's own run reads the champion
        ("RUNNING", "python", [f"models/churn@{latest}"], []),
        ("START", "scoring", [], []),
        ("RUNNING", "scoring", [f"models/churn@{latest}"], []),
        ("COMPLETE", "scoring", [], []),
        ("COMPLETE", "python", [], []),
    ]
    assert all(r.status == 201 for r in workload.proxy.requests)
    ids = [e["run"]["runId"] for e in workload.events if "run" in e]
    process = ids[10]
    expected = [first["run"]] * 5 + [second["run"]] * 5
    assert ids == [workload.run_id(r) for r in expected] + [process, process] + [
        workload.run_id(scoring)
    ] * 3 + [process]
    assert uuid.UUID(process).version == 7  # a fresh run of the process, not an MLflow run


def test_every_event_comes_from_the_workload_process(workload: Workload) -> None:
    facets = [e["run"]["facets"]["olgraph_workload"] for e in workload.events if "run" in e]
    assert {f["pid"] for f in facets} == {workload.out["pid"]}
    assert {f["workloadType"] for f in facets} == {"mlflow"}
    assert {f["trackingUri"] for f in facets} == {workload.tracking_uri}
    assert {f["mlflowVersion"] for f in facets} == {"3.17.2"}
    by_run = {f.get("workloadId") for f in facets}
    assert by_run == {
        workload.out["trained"][0]["run"],
        workload.out["trained"][1]["run"],
        workload.out["scoring"],
        None,
    }


def test_an_mlflow_server_stays_silent(workload: Workload) -> None:
    """The server has OPENLINEAGE_URL set, serves every call of the workload, and sends nothing."""
    if workload.mlflow_server is None:
        pytest.skip("this scenario uses a file store, not an MLflow server")
    assert workload.mlflow_server.sink.bodies == []
    assert workload.mlflow_server.alive_after_workload


def test_which_data_and_run_produced_a_model_version(workload: Workload, graph: OlgraphServer) -> None:
    """The reproducibility question: churn version N ← its run ← the training data at its digest."""
    with graph.client() as client:
        model = client.get("/api/v1/datasets", params={"nodeId": workload.model}).json()
        by_version = {v["version"]: v["runId"] for v in model["versions"]}
        runs = {
            n: client.get(f"/api/v1/runs/{by_version[t['version']]}").json()
            for n, t in enumerate(workload.out["trained"])
        }
    assert model["type"] == "model"
    for n, trained in enumerate(workload.out["trained"]):
        run = runs[n]
        assert run["runId"] == workload.run_id(trained["run"])
        assert run["state"] == "COMPLETE"
        assert run["job"] == f"job:{workload.namespace}:churn"
        assert {(i["dataset"], i["version"]) for i in run["inputs"]} == {(TRAIN, trained["digest"])}
        assert (workload.model, trained["version"]) in {(o["dataset"], o["version"]) for o in run["outputs"]}


def test_which_models_were_trained_on_the_data(workload: Workload, graph: OlgraphServer) -> None:
    with graph.client() as client:
        impact = client.get("/api/v1/impact", params={"nodeId": TRAIN}).json()
        lineage = client.get("/api/v1/lineage", params={"nodeId": TRAIN, "direction": "downstream"}).json()
    affected = {(a["id"], a["type"]) for a in impact["affected"]}
    assert (workload.model, "model") in affected
    assert (f"job:{workload.namespace}:churn", "job") in affected
    for trained in workload.out["trained"]:
        assert (f"dataset:{workload.namespace}:logged_models/{trained['model']}", "model") in affected
    assert workload.model in {n["id"] for n in lineage["nodes"]}


def test_the_loads_are_inputs_of_the_consuming_runs(workload: Workload, graph: OlgraphServer) -> None:
    latest = workload.out["trained"][1]["version"]
    with graph.client() as client:
        process_runs = client.get("/api/v1/jobs/runs", params={"nodeId": f"job:{workload.namespace}:python"})
        scoring = client.get(f"/api/v1/runs/{workload.run_id(workload.out['scoring'])}").json()
    (process,) = process_runs.json()["items"]
    for run in (process, scoring):
        assert run["state"] == "COMPLETE"
        assert [(i["dataset"], i["version"]) for i in run["inputs"]] == [(workload.model, latest)]


def test_the_documented_cypher_answers_both_questions(
    workload: Workload, graph: OlgraphServer, request: pytest.FixtureRequest
) -> None:
    """Queries 4 and 5 of docs/graph-model.md, as an analyst runs them on Neo4j."""
    if graph.store != "neo4j":
        pytest.skip("the Cypher queries run on the Neo4j store")
    neo4j_driver: Driver = request.getfixturevalue("neo4j_driver")
    second = workload.out["trained"][1]
    records, _, _ = neo4j_driver.execute_query(
        documented_query("run-that-produced-model-version"), model=workload.model, version=second["version"]
    )
    assert [r.data() for r in records] == [
        {
            "run": workload.run_id(second["run"]),
            "state": "COMPLETE",
            "trainedOn": [f"{TRAIN}@{second['digest']}"],
        }
    ]
    records, _, _ = neo4j_driver.execute_query(documented_query("models-trained-on-dataset"), dataset=TRAIN)
    models = {(r["namespace"], r["model"]) for r in records}
    assert (workload.namespace, "models/churn") in models
    assert {(workload.namespace, f"logged_models/{t['model']}") for t in workload.out["trained"]} <= models


# --------------------------------------------------------------------------- never in the way


@pytest.fixture(scope="module")
def embedded(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    with olgraph_server(tmp_path_factory.mktemp("olgraph-switches") / "data") as server:
        yield server


def registered_versions(tracking_uri: str, cwd: Path) -> list[str]:
    """The versions of ``churn`` as MLflow itself lists them (plugin off)."""
    done = run_python(LIST_VERSIONS, base_env(cwd, tracking_uri, OLGRAPH_MLFLOW_DISABLED="true"), cwd)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_an_unreachable_collector_costs_the_workload_nothing_but_a_warning(tmp_path: Path) -> None:
    tracking_uri = (tmp_path / "mlruns").as_uri()
    closed = f"http://127.0.0.1:{free_port()}"
    env = base_env(tmp_path, tracking_uri, OPENLINEAGE_URL=closed)
    done = run_python(WORKLOAD, env, tmp_path, timeout=WORKLOAD_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert registered_versions(tracking_uri, tmp_path) == ["1", "2"]
    warnings = [line for line in done.stderr.splitlines() if "olgraph mlflow plugin" in line]
    # the client retries each event for ~9 s on the emitter thread; the workload is done sooner,
    # waits at most OLGRAPH_MLFLOW_FLUSH_TIMEOUT (5 s) at exit, and says so once
    at_exit = [w for w in warnings if "at exit" in w]
    assert len(at_exit) == 1, done.stderr
    assert re.fullmatch(
        r"olgraph mlflow plugin: 1[78] event\(s\) not sent within 5\.0 s at exit \(.*\)", at_exit[0]
    )
    failures = [w for w in warnings if "at exit" not in w]
    assert len(failures) <= 1, done.stderr  # a failed send is reported once, not per event
    assert all("sending an event failed (ConnectionError" in w for w in failures)


def test_disabled_nothing_arrives(embedded: OlgraphServer, tmp_path: Path) -> None:
    tracking_uri = (tmp_path / "mlruns").as_uri()
    with run_recording_proxy(embedded.url) as proxy:
        env = base_env(tmp_path, tracking_uri, OPENLINEAGE_URL=proxy.url, OLGRAPH_MLFLOW_DISABLED="true")
        done = run_python(WORKLOAD, env, tmp_path, timeout=WORKLOAD_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert proxy.requests == []
    assert registered_versions(tracking_uri, tmp_path) == ["1", "2"]


def test_a_broken_transport_surfaces_only_when_asked(embedded: OlgraphServer, tmp_path: Path) -> None:
    """A typo in the transport type: a warning by default; the workload's error when asked."""
    broken = {"OPENLINEAGE__TRANSPORT__TYPE": "htp", "OPENLINEAGE__TRANSPORT__URL": embedded.url}
    lenient_dir, strict_dir = tmp_path / "lenient", tmp_path / "strict"
    lenient_dir.mkdir()
    strict_dir.mkdir()
    lenient = run_python(
        WORKLOAD,
        base_env(lenient_dir, (lenient_dir / "mlruns").as_uri(), **broken),
        lenient_dir,
        timeout=WORKLOAD_TIMEOUT,
    )
    assert lenient.returncode == 0, lenient.stderr
    assert (
        "olgraph mlflow plugin: sending an event failed (ImportError: Failed to import htp)" in lenient.stderr
    )
    strict = run_python(
        WORKLOAD,
        base_env(
            strict_dir, (strict_dir / "mlruns").as_uri(), OLGRAPH_MLFLOW_IGNORE_ERRORS="false", **broken
        ),
        strict_dir,
        timeout=WORKLOAD_TIMEOUT,
    )
    assert strict.returncode == 1
    assert strict.stderr.rstrip().splitlines()[-1] == "ImportError: Failed to import htp"
    assert ", in start_run" in strict.stderr  # raised where the workload started its first run
