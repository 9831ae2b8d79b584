"""``olgraph sync mlflow`` end to end: a real MLflow tracking server into a real ``olgraph serve``.

A real ``mlflow server`` (sqlite backend, one worker) is populated by a training script
(experiments, runs with params, metrics, a logged ``s3://bucket/train.parquet`` input and a
logged scikit-learn model, a registered model ``churn`` with three versions, a stage and an
alias, and a few more registered models). MLflow and the script run with the olgraph plugin
disabled, so everything in the graph comes from the sync, which runs as the real CLI in a
subprocess. The main scenario runs against the embedded store and Neo4j; the deletions
against the embedded store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    OlgraphServer,
    ServerFactory,
    empty_neo4j,
    free_port,
    run_mlflow_server,
    run_python,
    wait_applied,
)

SYNC_TIMEOUT = 180.0

POPULATE = """
import json, sys, warnings
import mlflow, pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("ignore")
frame = pd.DataFrame({"tenure": [1.0, 2.0, 3.0, 4.0, 5.0], "spend": [9.0, 3.0, 8.0, 1.0, 7.0],
                      "churned": [0.0, 1.0, 0.0, 1.0, 0.0]})
client = MlflowClient()
churn = {}
mlflow.set_experiment("churn-training")
for i in range(3):
    with mlflow.start_run(run_name=f"train-{i}") as run:
        mlflow.log_params({"C": str(1.0 + i), "seed": str(i)})
        mlflow.log_metric("auc", 0.8 + i / 100)
        train = mlflow.data.from_pandas(frame.iloc[: 3 + i], source="s3://bucket/train.parquet", name="train")
        mlflow.log_input(train, context="training")
        fitted = LogisticRegression(C=1.0 + i).fit(frame[["tenure", "spend"]], frame["churned"])
        info = mlflow.sklearn.log_model(fitted, name="model", pip_requirements=["scikit-learn"])
        version = mlflow.register_model(info.model_uri, "churn")
        churn[str(version.version)] = {"run": run.info.run_id, "model": info.model_id, "digest": train.digest}
client.set_registered_model_alias("churn", "champion", "2")
client.transition_model_version_stage("churn", "3", "Staging")
mlflow.set_experiment("fraud")
with mlflow.start_run(run_name="fraud-train"):
    mlflow.log_input(mlflow.data.from_pandas(frame, source="s3://bucket/fraud.parquet", name="fraud"))
    fitted = LogisticRegression().fit(frame[["tenure", "spend"]], frame["churned"])
    info = mlflow.sklearn.log_model(fitted, name="model", pip_requirements=["scikit-learn"])
    mlflow.register_model(info.model_uri, "fraud")
for name in ("ltv", "scratch", "sandbox"):
    client.create_registered_model(name)
print(json.dumps(churn))
"""

DELETE_MODELS = """
import sys
from mlflow import MlflowClient
for name in sys.argv[1:]:
    MlflowClient().delete_registered_model(name)
"""


def _mlflow_env(tracking_uri: str | None = None) -> dict[str, str]:
    """Our environment without olgraph/OpenLineage settings, with the plugin off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE", "MLFLOW_"))}
    env["OLGRAPH_MLFLOW_DISABLED"] = "true"
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    return env


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on a free port, stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    with run_mlflow_server(
        folder, _mlflow_env(), ["--artifacts-destination", str(folder / "artifacts")]
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def churn(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Populate the server; the churn versions' runs, logged models and training-data digests."""
    done = run_python(POPULATE, _mlflow_env(mlflow_server), tmp_path_factory.mktemp("populate"), timeout=300)
    assert done.returncode == 0, done.stderr
    versions: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return versions


def sync(url: str, tracking_uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``olgraph sync mlflow`` as a subprocess of the real CLI, against the olgraph at ``url``."""
    command = [
        sys.executable,
        "-m",
        "olgraph",
        "sync",
        "mlflow",
        "--tracking-uri",
        tracking_uri,
        "--url",
        url,
    ]
    env = _mlflow_env()
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH")])
    )
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=SYNC_TIMEOUT, check=False
    )


def synced(server: OlgraphServer, tracking_uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A sync that must succeed, applied by the consumer before returning."""
    done = sync(server.url, tracking_uri, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with server.client() as client:
        wait_applied(client)
    return done


@pytest.fixture(scope="module")
def embedded(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory, mlflow_server: str, churn: Any
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` on the embedded store, after one sync."""
    with olgraph_server(tmp_path_factory.mktemp("olgraph") / "embedded") as server:
        synced(server, mlflow_server)
        yield server


@pytest.fixture(scope="module")
def neo4j(
    olgraph_server: ServerFactory,
    tmp_path_factory: pytest.TempPathFactory,
    neo4j_uri: str,
    mlflow_server: str,
    churn: Any,
) -> Iterator[OlgraphServer]:
    """``olgraph serve`` on an emptied Neo4j, after one sync."""
    empty_neo4j(neo4j_uri)
    with olgraph_server(tmp_path_factory.mktemp("olgraph") / "neo4j", neo4j_uri=neo4j_uri) as server:
        synced(server, mlflow_server)
        yield server


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
    ]
)
def graph(request: pytest.FixtureRequest) -> OlgraphServer:
    """A server of each store kind that has synced the MLflow server once."""
    server: OlgraphServer = request.getfixturevalue(request.param)
    return server


def get(server: OlgraphServer, path: str, **params: Any) -> Any:
    with server.client() as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.text}"
    return response.json()


def namespace(url: str) -> str:
    return "mlflow://" + url.removeprefix("http://")


# --------------------------------------------------------------------------- the main scenario


def test_the_graph_says_which_data_and_run_produced_each_churn_version(
    graph: OlgraphServer, mlflow_server: str, churn: dict[str, Any]
) -> None:
    model = get(graph, "/api/v1/datasets", namespace=namespace(mlflow_server), name="models/churn")
    assert model["type"] == "model"
    assert sorted(model["tags"]) == ["alias.champion=2", "stage.Staging=3"]
    by_version = {v["version"]: v for v in model["versions"]}
    assert sorted(by_version) == ["1", "2", "3"]
    for number, expected in churn.items():
        run_id = by_version[number]["runId"]
        assert run_id == str(uuid.UUID(hex=expected["run"]))
        run = get(graph, f"/api/v1/runs/{run_id}")
        assert run["state"] == "COMPLETE"
        assert run["job"] == f"job:{namespace(mlflow_server)}:churn-training"
        assert [(i["dataset"], i["version"]) for i in run["inputs"]] == [
            ("dataset:s3://bucket:train.parquet", expected["digest"])
        ]
        assert run["facets"]["mlflow_run"]["params"] == {
            "C": str(1.0 + int(number) - 1),
            "seed": str(int(number) - 1),
        }
        outputs = {o["dataset"] for o in run["outputs"]}
        assert f"dataset:{namespace(mlflow_server)}:logged_models/{expected['model']}" in outputs


def test_the_graph_says_which_models_were_trained_on_a_dataset(
    graph: OlgraphServer, mlflow_server: str, churn: dict[str, Any]
) -> None:
    answer = get(graph, "/api/v1/impact", nodeId="dataset:s3://bucket:train.parquet")
    models = {a["name"] for a in answer["affected"] if a["type"] == "model"}
    assert models == {"models/churn", *(f"logged_models/{v['model']}" for v in churn.values())}
    fraud = get(graph, "/api/v1/impact", nodeId="dataset:s3://bucket:fraud.parquet")
    assert "models/fraud" in {a["name"] for a in fraud["affected"]}
    assert "models/churn" not in {a["name"] for a in fraud["affected"]}


def snapshot(server: OlgraphServer, ns: str) -> dict[str, Any]:
    """Everything the query API says about the synced namespaces: datasets, jobs and their runs."""
    state: dict[str, Any] = {"namespaces": get(server, "/api/v1/namespaces")}
    for space in (ns, "s3://bucket"):
        for item in get(server, f"/api/v1/namespaces/{space}/datasets", limit=1000)["items"]:
            state[item["id"]] = get(server, "/api/v1/datasets", nodeId=item["id"])
        for job in get(server, f"/api/v1/namespaces/{space}/jobs", limit=1000)["items"]:
            state[job["id"]] = [job, get(server, "/api/v1/jobs/runs", nodeId=job["id"], limit=1000)]
    return state


def test_a_second_sync_changes_nothing(graph: OlgraphServer, mlflow_server: str) -> None:
    before = snapshot(graph, namespace(mlflow_server))
    accepted = get(graph, "/api/v1/stats")["accepted"]
    dry = [sync(graph.url, mlflow_server, "--dry-run") for _ in range(2)]
    assert dry[0].returncode == 0, dry[0].stderr
    assert dry[0].stdout == dry[1].stdout  # byte-identical events
    again = synced(graph, mlflow_server)
    sent = len(dry[0].stdout.splitlines())
    assert f"{sent} events sent, 0 models marked deleted" in again.stdout
    assert snapshot(graph, namespace(mlflow_server)) == before
    assert (
        get(graph, "/api/v1/stats")["accepted"] == accepted + sent
    )  # they were all sent, and changed nothing


# --------------------------------------------------------------------------- deletions (embedded)


def _live(server: OlgraphServer, ns: str, name: str) -> bool:
    return not get(server, "/api/v1/datasets", namespace=ns, name=name)["deleted"]


def test_a_model_deleted_in_mlflow_is_marked_deleted(
    embedded: OlgraphServer, mlflow_server: str, tmp_path: Path
) -> None:
    ns = namespace(mlflow_server)
    assert _live(embedded, ns, "models/scratch")
    done = run_python(DELETE_MODELS, _mlflow_env(mlflow_server), tmp_path, args=["scratch"])
    assert done.returncode == 0, done.stderr
    result = synced(embedded, mlflow_server)
    assert "1 models marked deleted" in result.stdout
    assert not _live(embedded, ns, "models/scratch")
    assert _live(embedded, ns, "models/churn")
    lineage = get(embedded, "/api/v1/lineage", nodeId=f"dataset:{ns}:models/scratch")
    assert lineage["nodes"][0]["deleted"] is True


def test_deleting_most_models_trips_the_fail_safe_unless_forced(
    embedded: OlgraphServer, mlflow_server: str, tmp_path: Path
) -> None:
    ns = namespace(mlflow_server)
    gone = ["fraud", "ltv", "sandbox"]
    done = run_python(DELETE_MODELS, _mlflow_env(mlflow_server), tmp_path, args=gone)
    assert done.returncode == 0, done.stderr
    refused = sync(embedded.url, mlflow_server)
    assert refused.returncode == 1, refused.stderr
    assert "3 of the " in refused.stderr
    assert "--max-delete-fraction 0.25" in refused.stderr
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    with embedded.client() as client:
        wait_applied(client)
    assert all(_live(embedded, ns, f"models/{name}") for name in gone)  # nothing deleted
    forced = synced(embedded, mlflow_server, "--force")
    assert "3 models marked deleted" in forced.stdout
    assert not any(_live(embedded, ns, f"models/{name}") for name in gone)
    assert _live(embedded, ns, "models/churn")


# --------------------------------------------------------------------------- failures


def test_an_unreachable_mlflow_server_is_a_clean_error(embedded: OlgraphServer) -> None:
    port = free_port()
    done = sync(embedded.url, f"http://127.0.0.1:{port}")  # SYNC_TIMEOUT bounds it
    assert done.returncode == 2
    # The probe's message (one request), not MLflow's client's, which retries for minutes.
    assert f"Error: cannot reach the MLflow tracking server at http://127.0.0.1:{port}" in done.stderr
    assert "MLflow failed" not in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_olgraph_is_a_clean_error(mlflow_server: str) -> None:
    port = free_port()
    done = sync(f"http://127.0.0.1:{port}", mlflow_server)
    assert done.returncode == 2
    assert f"Error: cannot reach the olgraph server at http://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
