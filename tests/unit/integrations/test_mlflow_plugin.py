"""The MLflow plugin inside a real MLflow: file and SQLite stores in tmp_path, events recorded.

MLflow builds its stores and artifact repositories through our entry points (installed in
the venv), exactly as in a user's job. The plugin under test is made the process's plugin
with ``plugin.use``; its emitter sends through a recording function instead of
openlineage-python, and it is strict (errors raise) so a bug in the plugin fails the test
instead of being logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository
from mlflow.store.tracking.file_store import FileStore
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils
from mlflow.tracking.context.registry import _run_context_provider_registry
from sklearn.linear_model import LogisticRegression

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import entrypoints, events, naming, plugin
from olgraph.integrations.mlflow.plugin import Plugin, in_mlflow_server, off_reason

pytestmark = [
    # MLflow's own warnings: deprecated stages, its integer-column schema hint, pydantic in its models
    pytest.mark.filterwarnings(
        "ignore:``mlflow.tracking.client.MlflowClient.transition_model_version_stage``"
    ),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

Event = dict[str, Any]
CONFIGURED = {"OPENLINEAGE_URL": "http://collector.invalid:5000"}
# loads outside any MLflow run belong to the process's run, a job named after the script
WORKLOAD = {**CONFIGURED, "OLGRAPH_MLFLOW_JOB_NAME": "train"}
TRAIN = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.3, 0.9], "y": [0, 1, 0, 1]})


def recording_plugin(sent: list[Event], environ: dict[str, str] | None = None, **settings: Any) -> Plugin:
    """A strict plugin whose events are appended to ``sent``."""
    options = {"ignore_errors": False, **settings}
    return Plugin(
        c.PluginSettings(plugin="mlflow", **options),
        environ=WORKLOAD if environ is None else environ,
        argv=["train.py"],
        sender=lambda: sent.append,
    )


class Tracking:
    """One MLflow tracking store (and registry) in tmp_path, used through MLflow's own APIs."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.namespace = naming.mlflow_namespace(uri)
        self.client = mlflow.MlflowClient()

    def experiment(self, name: str) -> str:
        return str(self.client.create_experiment(name))

    def train(self, experiment_id: str, source: str = "s3://bucket/train.parquet") -> tuple[str, Any, Any]:
        """A training run: its id, its logged model info, and the dataset it logged."""
        dataset = mlflow.data.from_pandas(TRAIN, source=source, name="train")
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_input(dataset, context="training")
            model = LogisticRegression().fit(TRAIN[["a", "b"]], TRAIN["y"])
            info = mlflow.sklearn.log_model(model, name="model")
        return run.info.run_id, info, dataset


@pytest.fixture
def sent() -> list[Event]:
    return []


@contextlib.contextmanager
def use_tracking(
    folder: Path, uri: str, the_plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tracking]:
    """MLflow's tracking (and registry) URI is ``uri`` and ``the_plugin`` observes, inside the block.

    The working directory is ``folder``: SQL stores put artifacts in ``./mlruns`` by default.
    """
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    previous = tracking_utils._tracking_uri
    with plugin.use(the_plugin):
        mlflow.set_tracking_uri(uri)
        try:
            yield Tracking(uri)
        finally:
            while mlflow.active_run():
                mlflow.end_run()
            mlflow.set_tracking_uri(previous)


@pytest.fixture
def file_store(tmp_path: Path, sent: list[Event], monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracking]:
    """A file store observed by a recording plugin."""
    with use_tracking(
        tmp_path, (tmp_path / "mlruns").as_uri(), recording_plugin(sent), monkeypatch
    ) as tracking:
        yield tracking


@pytest.fixture
def sqlite_store(tmp_path: Path, sent: list[Event], monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracking]:
    """A SQLite store (tracking and registry) observed by a recording plugin."""
    with use_tracking(
        tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}", recording_plugin(sent), monkeypatch
    ) as tracking:
        yield tracking


def io(event: Event) -> tuple[Any, ...]:
    """What an event says, in short: type, job, inputs and outputs as name@version."""

    def names(items: list[Event]) -> list[str]:
        def version(d: Event) -> str:
            return str((d.get("facets") or {}).get("version", {}).get("datasetVersion", ""))

        return [f"{d['namespace']}:{d['name']}@{version(d)}" for d in items]

    if "dataset" in event:
        tags = event["dataset"]["facets"].get("tags", {}).get("tags", [])
        return ("DATASET", event["dataset"]["name"], sorted((t["key"], t["value"]) for t in tags))
    return (event.get("eventType"), event["job"]["name"], names(event["inputs"]), names(event["outputs"]))


def ol_run_id(mlflow_run_id: str) -> str:
    return str(uuid.UUID(hex=mlflow_run_id))


# --------------------------------------------------------------------------- wiring


def test_mlflow_registers_our_builders_with_its_originals_inside() -> None:
    file_builder = tracking_utils._tracking_store_registry._registry["file"]
    assert file_builder.__wrapped__ is tracking_utils._get_file_store
    assert (file_builder.__module__, file_builder.__name__) == (
        "mlflow.tracking._tracking_service.utils",
        "_get_file_store",
    )
    sqlite_registry = registry_utils._get_store_registry()._registry["sqlite"]
    assert sqlite_registry.__wrapped__ is registry_utils._get_sqlalchemy_store
    s3 = _artifact_repository_registry._registry["s3"]
    assert s3.__wrapped__ is S3ArtifactRepository
    assert s3.__name__ == "S3ArtifactRepository"  # MLflow names its dataset sources after it
    assert any(isinstance(p, entrypoints.OlgraphRunContextProvider) for p in _run_context_provider_registry)
    # MLflow's telemetry still sees its own scheme, not a "custom_scheme"
    assert tracking_utils._get_tracking_scheme_with_resolved_uri("sqlite:///x.db") == "sqlite"


def test_outside_a_registration_the_builders_fall_back_to_mlflows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    with plugin.use(recording_plugin([], environ={})):
        store = entrypoints.tracking_store(store_uri=(tmp_path / "fs").as_uri(), artifact_uri=None)
        repo = entrypoints.artifact_repository("s3://bucket/some/path")
    assert type(store) is FileStore
    assert type(repo) is S3ArtifactRepository


@pytest.mark.parametrize(
    ("environ", "argv", "reason"),
    [
        ({}, ["train.py"], "OpenLineage is not configured"),
        ({**CONFIGURED, "OLGRAPH_MLFLOW_DISABLED": "true"}, ["train.py"], "DISABLED"),
        ({**CONFIGURED, "OPENLINEAGE_DISABLED": "1"}, ["train.py"], "DISABLED"),
        ({**CONFIGURED, "_MLFLOW_SERVER_FILE_STORE": "sqlite:///m.db"}, ["uvicorn"], "tracking server"),
        ({**CONFIGURED, "_MLFLOW_SERVER_ARTIFACT_ROOT": "./mlartifacts"}, ["gunicorn"], "tracking server"),
        (CONFIGURED, ["/venv/bin/mlflow", "server", "--port", "5000"], "tracking server"),
        (CONFIGURED, ["/venv/lib/python3.11/site-packages/mlflow/__main__.py", "ui"], "tracking server"),
        (
            CONFIGURED,
            ["/venv/bin/uvicorn", "--port", "5000", "mlflow.server.fastapi_app:app"],
            "tracking server",
        ),
        ({**CONFIGURED, "_MLFLOW_IN_CAPTURE_MODULE_PROCESS": "true"}, ["x.py"], "requirement-inference"),
    ],
)
def test_when_the_plugin_stays_off(environ: dict[str, str], argv: list[str], reason: str) -> None:
    settings = c.PluginSettings.from_env("mlflow", environ)
    found = off_reason(settings, environ, argv)
    assert found is not None
    assert reason in found


def test_when_the_plugin_is_on() -> None:
    settings = c.PluginSettings.from_env("mlflow", CONFIGURED)
    assert off_reason(settings, CONFIGURED, ["train.py"]) is None
    assert not in_mlflow_server(CONFIGURED, ["/venv/bin/mlflow", "run", "."])
    assert not in_mlflow_server({"OPENLINEAGE__TRANSPORT__TYPE": "kafka"}, ["serve_model.py", "server"])


def test_an_inactive_plugin_hands_mlflow_its_stores_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_env = {**CONFIGURED, "_MLFLOW_SERVER_FILE_STORE": "sqlite:///mlflow.db"}
    for environ in ({}, server_env):
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        with plugin.use(recording_plugin([], environ=environ)):
            store = tracking_utils._get_store((tmp_path / f"fs{len(environ)}").as_uri())
        assert type(store) is FileStore
        assert "create_run" not in vars(store)  # no method replaced on the instance


# --------------------------------------------------------------------------- runs


def test_a_run_reports_its_start_inputs_and_end_with_mlflows_times(
    file_store: Tracking, sent: list[Event]
) -> None:
    experiment = file_store.experiment("churn")
    dataset = mlflow.data.from_pandas(TRAIN, source="s3://bucket/train.parquet", name="train")
    with mlflow.start_run(experiment_id=experiment, run_name="baseline") as active:
        mlflow.log_param("C", "1.0")
        mlflow.log_input(dataset, context="training")
        mlflow.log_metric("auc", 0.9)
    run = file_store.client.get_run(active.info.run_id)
    start, read, end = sent

    assert io(start) == ("START", "churn", [], [])
    assert io(read) == ("RUNNING", "churn", [f"s3://bucket:train.parquet@{dataset.digest}"], [])
    assert io(end) == ("COMPLETE", "churn", [], [])
    assert {e["run"]["runId"] for e in sent} == {ol_run_id(run.info.run_id)}
    assert start["eventTime"] == c.from_millis(run.info.start_time)
    assert end["eventTime"] == c.from_millis(run.info.end_time)
    assert start["job"]["namespace"] == file_store.namespace == f"mlflow+file://{file_store.uri[7:]}"
    assert start["job"]["facets"]["jobType"]["jobType"] == "EXPERIMENT"
    assert read["inputs"] == [
        {
            "namespace": "s3://bucket",
            "name": "train.parquet",
            "facets": {
                "version": c.version_facet("mlflow", dataset.digest),
                "schema": c.schema_facet(
                    "mlflow",
                    [
                        {"name": "a", "type": "double"},
                        {"name": "b", "type": "double"},
                        {"name": "y", "type": "long"},
                    ],
                ),
            },
            "inputFacets": {
                "mlflow_dataset": c.own_facet(
                    "mlflow",
                    "MlflowDatasetFacet",
                    name="train",
                    digest=dataset.digest,
                    sourceType="s3",
                    context="training",
                    profile=dataset.profile,
                )
            },
        }
    ]
    final = end["run"]["facets"]["mlflow_run"]
    assert (final["status"], final["runName"], final["params"], final["metrics"]) == (
        "FINISHED",
        "baseline",
        {"C": "1.0"},
        {"auc": 0.9},
    )


def test_every_event_names_the_workload(file_store: Tracking, sent: list[Event]) -> None:
    experiment = file_store.experiment("churn")
    with mlflow.start_run(experiment_id=experiment) as active:
        pass
    facets = [e["run"]["facets"][c.WORKLOAD_FACET] for e in sent]
    assert len(facets) == 2
    for workload in facets:
        assert workload["workloadType"] == "mlflow"
        assert workload["workloadId"] == active.info.run_id
        assert workload["trackingUri"] == file_store.uri
        assert (workload["experimentId"], workload["experimentName"]) == (experiment, "churn")
        assert workload["mlflowVersion"] == mlflow.__version__
        assert workload["pid"] == os.getpid()
        assert (
            workload["pythonVersion"]
            == f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        )


def test_a_failed_nested_run_names_its_parent(file_store: Tracking, sent: list[Event]) -> None:
    experiment = file_store.experiment("tuning")
    with (
        mlflow.start_run(experiment_id=experiment) as parent,
        pytest.raises(RuntimeError),
        mlflow.start_run(experiment_id=experiment, nested=True),
    ):
        raise RuntimeError("diverged")
    parent_start, child_start, child_end, parent_end = sent
    assert [e["eventType"] for e in sent] == ["START", "START", "FAIL", "COMPLETE"]
    assert child_start["run"]["facets"]["parent"]["run"]["runId"] == ol_run_id(parent.info.run_id)
    assert child_start["run"]["facets"]["parent"]["job"] == {
        "namespace": file_store.namespace,
        "name": "tuning",
    }
    assert "parent" not in parent_start["run"]["facets"]
    assert child_end["run"]["facets"]["errorMessage"]["message"].endswith("ended with status FAILED")
    assert parent_end["run"]["runId"] == parent_start["run"]["runId"]


# --------------------------------------------------------------------------- models and the registry


def test_logged_and_registered_models_are_written_by_their_run(
    sqlite_store: Tracking, sent: list[Event]
) -> None:
    experiment = sqlite_store.experiment("churn")
    run_id, info, dataset = sqlite_store.train(experiment)
    first = mlflow.register_model(info.model_uri, "churn")
    second = mlflow.register_model(info.model_uri, "churn")
    ns = sqlite_store.namespace
    assert [io(e) for e in sent] == [
        ("START", "churn", [], []),
        ("RUNNING", "churn", [f"s3://bucket:train.parquet@{dataset.digest}"], []),
        ("RUNNING", "churn", [], [f"{ns}:logged_models/{info.model_id}@"]),
        ("COMPLETE", "churn", [], []),
        (None, "churn", [], [f"{ns}:models/churn@1"]),  # registered after the run ended
        (None, "churn", [], [f"{ns}:models/churn@2"]),
    ]
    assert {e["run"]["runId"] for e in sent} == {ol_run_id(run_id)}
    logged = sent[2]["outputs"][0]["facets"]
    assert logged["datasetType"]["datasetType"] == "MODEL"
    assert logged["mlflow_model"]["sourceRunId"] == run_id
    version = sent[5]["outputs"][0]["outputFacets"]["mlflow_model_version"]
    assert (version["name"], version["version"], version["runId"]) == ("churn", "2", run_id)
    assert sent[5]["eventTime"] == c.from_millis(second.creation_timestamp)
    assert str(first.version) == "1"


def test_stages_and_aliases_are_the_models_tags_in_order(sqlite_store: Tracking, sent: list[Event]) -> None:
    experiment = sqlite_store.experiment("churn")
    _, info, _ = sqlite_store.train(experiment)
    for _ in range(2):
        mlflow.register_model(info.model_uri, "churn")
    sent.clear()
    client = sqlite_store.client
    client.transition_model_version_stage("churn", "2", "Production")
    client.set_registered_model_alias("churn", "champion", "2")
    client.set_registered_model_alias("churn", "challenger", "1")
    client.delete_registered_model_alias("churn", "challenger")
    client.delete_model_version("churn", "1")
    client.delete_registered_model("churn")
    assert [io(e) for e in sent] == [
        ("DATASET", "models/churn", [("stage.Production", "2")]),
        ("DATASET", "models/churn", [("alias.champion", "2"), ("stage.Production", "2")]),
        (
            "DATASET",
            "models/churn",
            [("alias.challenger", "1"), ("alias.champion", "2"), ("stage.Production", "2")],
        ),
        ("DATASET", "models/churn", [("alias.champion", "2"), ("stage.Production", "2")]),
        ("DATASET", "models/churn", [("alias.champion", "2"), ("stage.Production", "2")]),
        ("DATASET", "models/churn", []),
    ]
    # SQL stores do not move any timestamp on alias changes: the times still increase, so the
    # graph's last-writer-wins merge keeps the latest state
    times = [e["eventTime"] for e in sent]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert sent[-1]["dataset"]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"
    assert sent[-2]["dataset"]["facets"]["mlflow_model"]["versions"] == ["2"]


def test_the_observed_state_is_never_older_than_mlflows_timestamps() -> None:
    class Model:
        name, aliases, description, tags, last_updated_timestamp = "m", {"a": "1"}, None, {}, 2_000

    event = events.registered_model_state_observed(Model(), [], "ns", observed_millis=1_000)
    assert event["eventTime"] == c.from_millis(2_000)
    event = events.registered_model_state_observed(Model(), [], "ns", observed_millis=3_000)
    assert event["eventTime"] == c.from_millis(3_000)
    assert event["dataset"] == events.registered_model_state(Model(), [], "ns")["dataset"]


def test_a_model_directory_logged_as_run_artifacts_is_a_model(
    file_store: Tracking, sent: list[Event], tmp_path: Path
) -> None:
    model_dir = tmp_path / "export" / "classifier"
    mlflow.sklearn.save_model(LogisticRegression().fit(TRAIN[["a"]], TRAIN["y"]), str(model_dir))
    (tmp_path / "export" / "notes.txt").write_text("not a model")
    experiment = file_store.experiment("legacy")
    with mlflow.start_run(experiment_id=experiment) as active:
        mlflow.log_artifacts(str(tmp_path / "export"), artifact_path="outputs")
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    run_id = active.info.run_id
    written = [e for e in sent if e["outputs"]]
    assert [io(e) for e in written] == [
        ("RUNNING", "legacy", [], [f"{file_store.namespace}:runs/{run_id}/outputs/classifier@"]),
        ("RUNNING", "legacy", [], [f"{file_store.namespace}:runs/{run_id}/model@"]),
    ]
    facets = written[1]["outputs"][0]["facets"]
    assert facets["datasetType"]["subType"] == "RUN_ARTIFACT"
    assert facets["mlflow_model"]["artifactPath"] == "model"


# --------------------------------------------------------------------------- loads


def _registered(tracking: Tracking) -> tuple[str, Any]:
    experiment = tracking.experiment("churn")
    run_id, info, _ = tracking.train(experiment)
    for _ in range(2):
        mlflow.register_model(info.model_uri, "churn")
    tracking.client.transition_model_version_stage("churn", "2", "Production")
    tracking.client.set_registered_model_alias("churn", "champion", "2")
    return run_id, info


def test_a_load_outside_a_run_is_an_input_of_the_process_run(file_store: Tracking, sent: list[Event]) -> None:
    _registered(file_store)
    sent.clear()
    mlflow.pyfunc.load_model("models:/churn@champion")
    mlflow.pyfunc.load_model("models:/churn@champion")  # once per run and version is enough
    start, read = sent
    assert io(start) == ("START", "train", [], [])
    assert io(read) == ("RUNNING", "train", [f"{file_store.namespace}:models/churn@2"], [])
    assert start["run"]["runId"] == read["run"]["runId"]
    assert read["job"]["namespace"] == file_store.namespace
    assert read["inputs"][0]["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert "workloadId" not in read["run"]["facets"][c.WORKLOAD_FACET]  # no MLflow run


def test_a_load_inside_a_run_is_an_input_of_that_run(file_store: Tracking, sent: list[Event]) -> None:
    train_run, info = _registered(file_store)
    scoring = file_store.experiment("scoring")
    with mlflow.start_run(experiment_id=scoring) as active:
        sent.clear()
        mlflow.pyfunc.load_model("models:/churn/Production")
        mlflow.pyfunc.load_model(f"runs:/{train_run}/model")  # MLflow 3 resolves it to the logged model
        mlflow.pyfunc.load_model(f"models:/{info.model_id}")  # already read: not repeated
        local = mlflow.artifacts.download_artifacts(f"models:/{info.model_id}")
        mlflow.pyfunc.load_model(local)  # a local copy: not a read from MLflow
    reads = [io(e) for e in sent if e["eventType"] == "RUNNING"]
    ns = file_store.namespace
    assert reads == [
        ("RUNNING", "scoring", [f"{ns}:models/churn@2"], []),
        ("RUNNING", "scoring", [f"{ns}:logged_models/{info.model_id}@"], []),
    ]
    assert {e["run"]["runId"] for e in sent} == {ol_run_id(active.info.run_id)}


def test_run_artifacts_downloaded_are_named_by_run(
    file_store: Tracking, sent: list[Event], tmp_path: Path
) -> None:
    experiment = file_store.experiment("reports")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "summary.csv").write_text("a,b\n1,2\n")
    with mlflow.start_run(experiment_id=experiment) as producer:
        mlflow.log_artifacts(str(tmp_path / "report"), artifact_path="report")
    sent.clear()
    mlflow.artifacts.download_artifacts(run_id=producer.info.run_id, artifact_path="report")
    mlflow.artifacts.download_artifacts(f"runs:/{producer.info.run_id}/report/summary.csv")
    reads = [io(e) for e in sent if e["eventType"] == "RUNNING"]
    ns = file_store.namespace
    assert reads == [
        ("RUNNING", "train", [f"{ns}:runs/{producer.info.run_id}/report@"], []),
        ("RUNNING", "train", [f"{ns}:runs/{producer.info.run_id}/report/summary.csv@"], []),
    ]
    assert "facets" not in sent[-1]["inputs"][0]  # not a model


# --------------------------------------------------------------------------- never break the workload


def test_a_broken_transport_is_logged_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "no-such-transport")
    lenient = Plugin(c.PluginSettings(plugin="mlflow"), environ=dict(os.environ), argv=["train.py"])
    assert lenient.active
    with use_tracking(tmp_path, (tmp_path / "mlruns").as_uri(), lenient, monkeypatch) as tracking:
        with caplog.at_level(logging.WARNING, logger="olgraph.integrations.mlflow"):
            with mlflow.start_run(experiment_id=tracking.experiment("churn")) as active:
                mlflow.log_param("p", "1")
            assert lenient.emitter.flush(timeout=10)
        assert tracking.client.get_run(active.info.run_id).info.status == "FINISHED"
    assert lenient.emitter.failed == 2
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "olgraph.integrations.mlflow"
    ]
    assert len(warnings) == 1  # once, not per event
    assert "sending an event failed" in warnings[0]
    assert "no-such-transport" in warnings[0]


def test_with_ignore_errors_off_a_broken_transport_fails_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "no-such-transport")
    strict = Plugin(
        c.PluginSettings(plugin="mlflow", ignore_errors=False), environ=dict(os.environ), argv=["train.py"]
    )
    with (
        use_tracking(tmp_path, (tmp_path / "mlruns").as_uri(), strict, monkeypatch) as tracking,
        pytest.raises(ImportError, match="no-such-transport"),
    ):
        mlflow.start_run(experiment_id=tracking.experiment("churn"))


def test_a_run_left_open_is_completed_when_the_process_exits(tmp_path: Path) -> None:
    """MLflow ends open runs in its exit hook, after our emitter's flush: the end still arrives."""
    out = tmp_path / "events.jsonl"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": (tmp_path / "mlruns").as_uri(),
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "OPENLINEAGE__TRANSPORT__TYPE": "file",
        "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(out),
        "OPENLINEAGE__TRANSPORT__APPEND": "true",
    }
    code = "import mlflow\nmlflow.start_run()\nmlflow.log_param('p', 1)\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sent_types = [json.loads(line)["eventType"] for line in out.read_text().splitlines()]
    assert sent_types == ["START", "COMPLETE"]
