"""``olgraph sync mlflow``: the sync logic against a real sqlite-backed MLflow in tmp_path.

The first part drives :mod:`olgraph.integrations.mlflow.sync` directly and applies what it
emits to a real embedded graph store (as the consumer would), reading "what was synced
before" back from that store's listings. The second part runs the command itself (click's
runner) against the real olgraph app served by uvicorn in a thread.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from mlflow import MlflowClient
from test_mlflow_events import T0, World, apply_events, build_world, validate_event

import olgraph.integrations.mlflow
from olgraph.api.auth import hash_api_key
from olgraph.cli import _client, main
from olgraph.config import Settings
from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import naming
from olgraph.integrations.mlflow import sync as s
from olgraph.store.embedded import EmbeddedStore
from served_app import serve_in_thread

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0 all arguments:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:``mlflow.tracking.client.MlflowClient.transition_model_version_stage``"
    ),
]

JsonDict = dict[str, Any]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The populated MLflow store every test copies (MLflow's schema takes seconds to create)."""
    return build_world(tmp_path_factory.mktemp("template"))


@pytest.fixture
def mlflow_uri(template: World, tmp_path: Path) -> str:
    """A private copy of the template store: the test may change it."""
    folder = tmp_path / "mlflow"
    folder.mkdir()
    shutil.copy(template.uri.removeprefix("sqlite:///"), folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture
async def graph(tmp_path: Path) -> Any:
    """A fresh embedded graph store."""
    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    yield store
    await store.close()


def collect(
    uri: str, previous: s.Previous | None = None, page_size: int = 500, **kw: Any
) -> tuple[list[JsonDict], s.Scan]:
    """Run one sync pass; return the events it emitted and the scan."""
    events: list[JsonDict] = []
    reader = s.MlflowReader(s.Source(uri, None, page_size))
    scan = s.sync(reader, previous or s.Previous(), events.append, **kw)
    return events, scan


async def previous_from(store: EmbeddedStore, source: s.Source) -> s.Previous:
    """What the graph holds, read the way the command reads the query API's listings."""

    def wire(node: Any) -> JsonDict:
        return {
            "type": node.type,
            "namespace": node.namespace,
            "name": node.name,
            "deleted": node.deleted,
            **node.props,
        }

    datasets = (await store.list_datasets(source.registry_namespace, 1000, 0)).items
    jobs = (await store.list_jobs(source.tracking_namespace, 1000, 0)).items
    return s.Previous.from_listings(source, map(wire, datasets), map(wire, jobs))


async def facets_lookup(store: EmbeddedStore, previous: s.Previous) -> Any:
    """A ``graph_facets`` callback answering from the store (fetched up front: the scan is synchronous)."""
    facets = {}
    for model in previous.models:
        view = await store.get_dataset(f"dataset:{model.namespace}:{model.name}")
        facets[(model.namespace, model.name)] = view.facets if view else None
    return lambda namespace, name: facets.get((namespace, name))


async def sync_into(store: EmbeddedStore, uri: str) -> tuple[list[JsonDict], s.Scan, s.DeletionPlan]:
    """A whole sync into ``store``: read the graph, scan MLflow, apply, check and apply deletions."""
    source = s.Source(uri)
    previous = await previous_from(store, source)
    events, scan = collect(uri, previous, graph_facets=await facets_lookup(store, previous))
    plan = s.plan_deletions(previous, scan.present)
    plan.check(0.25, force=False)
    drops = plan.events(source.registry_namespace)
    await apply_events(store, events + drops)
    return events + drops, scan, plan


def key(uri: str, name: str) -> str:
    return f"dataset:{naming.mlflow_namespace(uri)}:{name}"


# --------------------------------------------------------------------------- one pass


def test_a_sync_emits_valid_events_for_everything(mlflow_uri: str) -> None:
    events, scan = collect(mlflow_uri)
    for event in events:
        validate_event(event)
    tally = scan.tally
    assert (tally.experiments, tally.runs, tally.logged_models, tally.registered_models, tally.versions) == (
        2,  # Default and churn-training
        4,
        1,
        1,
        2,
    )
    kinds = [e["schemaURL"].rsplit("/", 1)[1] + ":" + e.get("eventType", "") for e in events]
    assert kinds.count("JobEvent:") == 2
    assert kinds.count("RunEvent:START") == 4
    assert sorted(k for k in kinds if k.split(":")[1] in {"COMPLETE", "FAIL", "ABORT"}) == [
        "RunEvent:ABORT",
        "RunEvent:COMPLETE",
        "RunEvent:FAIL",
    ]
    assert all(c.WORKLOAD_FACET not in e.get("run", {}).get("facets", {}) for e in events)


def test_experiments_are_declared_as_jobs_with_their_description(mlflow_uri: str) -> None:
    events, _ = collect(mlflow_uri)
    (job,) = [
        e for e in events if e["schemaURL"].endswith("JobEvent") and e["job"]["name"] == "churn-training"
    ]
    facets = job["job"]["facets"]
    assert facets["jobType"]["jobType"] == "EXPERIMENT"
    assert facets["documentation"]["description"] == "Churn models"
    experiment = MlflowClient(mlflow_uri).get_experiment("1")
    assert job["eventTime"] == c.from_millis(experiment.last_update_time)


def test_a_model_logged_as_artifacts_is_found_in_the_run_history_tag(mlflow_uri: str) -> None:
    events, _ = collect(mlflow_uri)
    outputs = [(e["eventTime"], o["name"]) for e in events for o in e.get("outputs", [])]
    train = MlflowClient(mlflow_uri).search_runs(["1"], "attributes.run_name = 'train'")[0]
    assert ("2023-11-14T22:13:21.500Z", f"runs/{train.info.run_id}/legacy_model") in outputs


def test_the_same_state_gives_byte_identical_events_whatever_the_page_size(mlflow_uri: str) -> None:
    first, _ = collect(mlflow_uri, page_size=500)
    again, _ = collect(mlflow_uri, page_size=500)
    paged, scan = collect(mlflow_uri, page_size=1)  # every search answers one entity per page
    dump = [json.dumps(e, sort_keys=True) for e in first]
    assert dump == [json.dumps(e, sort_keys=True) for e in again]
    assert dump == [json.dumps(e, sort_keys=True) for e in paged]
    assert scan.tally.runs == 4


def test_a_separate_registry_has_its_own_namespace(mlflow_uri: str, tmp_path: Path) -> None:
    registry_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    tracking = MlflowClient(mlflow_uri)
    train = tracking.search_runs(["1"], "attributes.run_name = 'train'")[0]
    registry = MlflowClient(tracking_uri=mlflow_uri, registry_uri=registry_uri)
    registry.create_registered_model("elsewhere")
    registry.create_model_version("elsewhere", "s3://bucket/m", run_id=train.info.run_id)
    events: list[JsonDict] = []
    source = s.Source(mlflow_uri, registry_uri)
    scan = s.sync(s.MlflowReader(source), s.Previous(), events.append)
    assert scan.tally.registered_models == 1  # the registry's, not the tracking store's own
    (version,) = [e for e in events if "run" in e and "eventType" not in e]
    assert version["job"]["namespace"] == naming.mlflow_namespace(mlflow_uri)
    assert version["outputs"][0]["namespace"] == naming.mlflow_namespace(registry_uri)
    assert scan.present.models >= {(naming.mlflow_namespace(registry_uri), "models/elsewhere")}


def test_version_filter_matches_names_with_any_quotes(mlflow_uri: str) -> None:
    client = MlflowClient(mlflow_uri)
    names = ["it's", 'say "hi"', "both'\"q", "both__q", "a%b_c"]
    for name in names:
        client.create_registered_model(name)
        client.create_model_version(name, "s3://bucket/m")
    reader = s.MlflowReader(s.Source(mlflow_uri))
    for name in names:
        assert [(v.name, str(v.version)) for v in reader.versions(name)] == [(name, "1")]


def test_a_logged_model_whose_run_is_gone_is_still_declared(mlflow_uri: str) -> None:
    client = MlflowClient(mlflow_uri)
    train = client.search_runs(["1"], "attributes.run_name = 'train'")[0]
    client.delete_run(train.info.run_id)
    events, scan = collect(mlflow_uri)
    (declared,) = [e for e in events if e.get("dataset", {}).get("name", "").startswith("logged_models/")]
    assert declared["dataset"]["facets"]["mlflow_model"]["sourceRunId"] == train.info.run_id
    # its versions have no producing run any more: the registry state still lists them
    assert not [e for e in events if "run" in e and "eventType" not in e]
    assert scan.tally.versions == 2
    validate_event(declared)


def test_artifact_history_tags_that_are_not_lists_are_ignored(mlflow_uri: str) -> None:
    client = MlflowClient(mlflow_uri)
    run = client.create_run("1", start_time=T0)
    for value in ["not json", '{"a": 1}', '[{"artifact_path": ""}, 3]']:
        client.set_tag(run.info.run_id, "mlflow.log-model.history", value)
        assert s.artifact_models(client.get_run(run.info.run_id)) == []
    client.set_tag(
        run.info.run_id, "mlflow.log-model.history", '[{"artifact_path": "m"}, {"artifact_path": "m/"}]'
    )
    assert s.artifact_models(client.get_run(run.info.run_id)) == [("m", c.from_millis(T0))]


# --------------------------------------------------------------------------- in the graph, twice


async def test_a_second_sync_changes_nothing(mlflow_uri: str, graph: EmbeddedStore) -> None:
    first, _, _ = await sync_into(graph, mlflow_uri)
    before = await graph.dump()
    second, _, plan = await sync_into(graph, mlflow_uri)
    assert await graph.dump() == before
    assert [json.dumps(e, sort_keys=True) for e in second] == [json.dumps(e, sort_keys=True) for e in first]
    assert plan.vanished == ()
    assert plan.previous == 3


async def test_the_graph_answers_what_produced_a_model_version(mlflow_uri: str, graph: EmbeddedStore) -> None:
    await sync_into(graph, mlflow_uri)
    model = await graph.get_dataset(key(mlflow_uri, "models/churn"))
    assert model is not None
    assert not model.node.deleted
    assert sorted(f"{t.key}={t.value}" for t in model.tags) == ["alias.champion=2", "stage.Production=1"]
    assert model.facets["mlflow_model"]["versions"] == ["1", "2"]  # the registry summary wins
    version = next(v for v in model.versions if v.version == "2")
    train = MlflowClient(mlflow_uri).search_runs(["1"], "attributes.run_name = 'train'")[0]
    assert version.run_id == str(uuid.UUID(hex=train.info.run_id))
    run = await graph.get_run(version.run_id)
    assert run is not None
    assert run.state == "COMPLETE"
    digest = next(i.dataset.digest for i in train.inputs.dataset_inputs if i.dataset.name == "train")
    assert ("dataset:s3://bucket:train.parquet", digest) in {(r.dataset, r.version) for r in run.inputs}


async def test_the_registry_summary_outranks_a_first_version(mlflow_uri: str, graph: EmbeddedStore) -> None:
    client = MlflowClient(mlflow_uri)
    train = client.search_runs(["1"], "attributes.run_name = 'train'")[0]
    client.create_registered_model("single")
    version = client.create_model_version("single", "s3://bucket/m", run_id=train.info.run_id)
    assert client.get_registered_model("single").last_updated_timestamp == version.creation_timestamp
    await sync_into(graph, mlflow_uri)
    model = await graph.get_dataset(key(mlflow_uri, "models/single"))
    assert model is not None
    assert model.facets["mlflow_model"]["versions"] == ["1"]
    assert [v.version for v in model.versions] == ["1"]


async def test_moving_an_alias_is_synced_although_mlflow_keeps_its_timestamps(
    mlflow_uri: str, graph: EmbeddedStore
) -> None:
    await sync_into(graph, mlflow_uri)
    client = MlflowClient(mlflow_uri)
    stamp = client.get_registered_model("churn").last_updated_timestamp
    client.set_registered_model_alias("churn", "champion", "1")
    assert client.get_registered_model("churn").last_updated_timestamp == stamp  # MLflow moved no time
    await sync_into(graph, mlflow_uri)
    model = await graph.get_dataset(key(mlflow_uri, "models/churn"))
    assert model is not None
    assert "alias.champion=1" in {f"{t.key}={t.value}" for t in model.tags}
    before = await graph.dump()
    await sync_into(graph, mlflow_uri)  # converged: nothing changes any more
    assert await graph.dump() == before


async def test_a_new_experiment_description_is_synced_although_mlflow_keeps_its_times(
    mlflow_uri: str, graph: EmbeddedStore
) -> None:
    await sync_into(graph, mlflow_uri)
    MlflowClient(mlflow_uri).set_experiment_tag("1", "mlflow.note.content", "A shorter note")
    await sync_into(graph, mlflow_uri)
    job = await graph.get_node(f"job:{naming.mlflow_namespace(mlflow_uri)}:churn-training")
    assert job is not None
    assert job.props["description"] == "A shorter note"
    before = await graph.dump()
    await sync_into(graph, mlflow_uri)
    assert await graph.dump() == before


async def test_a_deleted_registered_model_is_marked_deleted(mlflow_uri: str, graph: EmbeddedStore) -> None:
    client = MlflowClient(mlflow_uri)
    for name in ("fraud", "ltv", "scratch"):
        client.create_registered_model(name)
    await sync_into(graph, mlflow_uri)
    client.delete_registered_model("scratch")
    events, _, plan = await sync_into(graph, mlflow_uri)
    assert [m.name for m in plan.vanished] == ["models/scratch"]
    assert plan.previous == 6
    (drop,) = [e for e in events if "lifecycleStateChange" in e.get("dataset", {}).get("facets", {})]
    validate_event(drop)
    scratch = await graph.get_node(key(mlflow_uri, "models/scratch"))
    assert scratch is not None
    assert scratch.deleted
    churn = await graph.get_node(key(mlflow_uri, "models/churn"))
    assert churn is not None
    assert not churn.deleted
    _, _, plan = await sync_into(graph, mlflow_uri)
    assert plan.vanished == ()
    assert plan.previous == 5


async def test_the_fail_safe_refuses_to_delete_most_models_unless_forced(
    mlflow_uri: str, graph: EmbeddedStore
) -> None:
    client = MlflowClient(mlflow_uri)
    await sync_into(graph, mlflow_uri)
    client.delete_registered_model("churn")
    logged = client.search_logged_models(["1"])[0]
    client.delete_logged_model(logged.model_id)
    source = s.Source(mlflow_uri)
    previous = await previous_from(graph, source)
    _, scan = collect(mlflow_uri, previous)
    plan = s.plan_deletions(previous, scan.present)
    assert {m.name for m in plan.vanished} == {"models/churn", f"logged_models/{logged.model_id}"}
    with pytest.raises(
        s.DeletionRefused, match=r"2 of the 3 models synced before .*67% > --max-delete-fraction 0.5"
    ):
        plan.check(0.5, force=False)
    plan.check(0.7, force=False)
    plan.check(0.5, force=True)
    await apply_events(graph, plan.events(source.registry_namespace))
    for name in ("models/churn", f"logged_models/{logged.model_id}"):
        node = await graph.get_node(key(mlflow_uri, name))
        assert node is not None, name
        assert node.deleted, name


async def test_a_deleted_run_takes_its_artifact_model_and_a_deleted_experiment_is_reported(
    mlflow_uri: str, graph: EmbeddedStore
) -> None:
    client = MlflowClient(mlflow_uri)
    await sync_into(graph, mlflow_uri)
    client.delete_experiment("1")
    source = s.Source(mlflow_uri)
    previous = await previous_from(graph, source)
    _, scan = collect(mlflow_uri, previous)
    plan = s.plan_deletions(previous, scan.present)
    train_id = next(m.run_id for m in previous.models if m.run_id)
    assert {m.name for m in plan.vanished} == {
        f"runs/{train_id}/legacy_model",
        next(m.name for m in previous.models if m.name.startswith("logged_models/")),
    }
    assert plan.vanished_experiments == ("churn-training",)


# --------------------------------------------------------------------------- reading MLflow


def test_a_tracking_uri_mlflow_cannot_use_is_a_clear_error() -> None:
    with pytest.raises(
        s.MlflowUnavailable, match=r"MLflow cannot use --tracking-uri .nosuchscheme://x.: .*unsupported URI"
    ):
        s.MlflowReader(s.Source("nosuchscheme://x")).check()


def test_an_unreachable_tracking_server_fails_fast(closed_port: int) -> None:
    """The message is the probe's (one request, no retries), not MLflow's client's ("MLflow failed
    listing experiments"), which retries a refused connection for minutes; and no password shows."""
    with pytest.raises(s.MlflowUnavailable) as refused:
        s.MlflowReader(s.Source(f"http://me:secret@127.0.0.1:{closed_port}")).check()
    assert str(refused.value).startswith(
        f"cannot reach the MLflow tracking server at http://127.0.0.1:{closed_port}: "
    )
    assert "secret" not in str(refused.value)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the command


ADMIN, INGEST, READ = "admin-secret", "ingest-secret", "read-secret"


@pytest.fixture
def olgraph_url(tmp_path: Path) -> Iterator[str]:
    """A real olgraph app with API keys and a batch limit of 2 events."""
    keys = [
        {"name": n, "role": n, "sha256": hash_api_key(f"{n}-secret")} for n in ("admin", "ingest", "read")
    ]
    settings = Settings(
        data_dir=tmp_path / "olgraph",
        auth={"api_keys": keys},
        limits={"max_batch_events": 2},
        consumer={"poll_interval_seconds": 0.05},
    )
    yield from serve_in_thread(settings)


def invoke(*args: str) -> Result:
    env = {
        "OLGRAPH_URL": None,
        "OLGRAPH_API_KEY": None,
        "OLGRAPH_READ_API_KEY": None,
        "MLFLOW_TRACKING_URI": None,
    }
    return CliRunner().invoke(main, ["sync", "mlflow", *args], env=env)


def applied(url: str) -> JsonDict:
    """Wait until the app applied everything it accepted; its stats."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        for _ in range(600):
            stats: JsonDict = client.get("/api/v1/stats").json()
            if stats["pending"] == 0:
                return stats
            time.sleep(0.05)
    raise AssertionError(f"not applied: {stats}")


def test_the_command_syncs_in_batches_the_server_accepts(mlflow_uri: str, olgraph_url: str) -> None:
    dry = invoke("--tracking-uri", mlflow_uri, "--url", olgraph_url, "--api-key", ADMIN, "--dry-run")
    assert dry.exit_code == 0, dry.output
    printed = [json.loads(line) for line in dry.stdout.splitlines()]
    # batches of 5 are refused (413: the server takes 2) and sent again in halves
    result = invoke(
        "--tracking-uri",
        mlflow_uri,
        "--url",
        olgraph_url,
        "--api-key",
        INGEST,
        "--read-api-key",
        READ,
        "--batch-size",
        "5",
        "--progress",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "synced 2 experiments, 4 runs, 1 logged models, 1 registered models, 2 versions: "
        f"{len(printed)} events sent, 0 models marked deleted"
    )
    assert (
        "olgraph sync: experiment churn-training" in result.stderr
    )  # progress, one line per stage off a terminal
    assert applied(olgraph_url)["accepted"] == len(printed)
    assert "dry run: read 2 experiments" in dry.stderr


def test_metrics_json_cannot_hold_are_sent_as_null(mlflow_uri: str, olgraph_url: str) -> None:
    client = MlflowClient(mlflow_uri)
    run = client.create_run("1", start_time=T0, run_name="diverged")
    client.log_metric(run.info.run_id, "loss", math.nan, timestamp=T0)
    result = invoke("--tracking-uri", mlflow_uri, "--url", olgraph_url, "--api-key", ADMIN)
    assert result.exit_code == 0, result.output
    dry = invoke("--tracking-uri", mlflow_uri, "--url", olgraph_url, "--api-key", ADMIN, "--dry-run")
    started = [json.loads(line) for line in dry.stdout.splitlines() if run.info.run_id in line]
    assert started[0]["run"]["facets"]["mlflow_run"]["metrics"] == {"loss": None}
    validate_event(started[0])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "refused the API key (401"),
        (["--api-key", "wrong"], "refused the API key (401"),
        (["--api-key", INGEST], "lacks the 'read' role (403"),
        (["--api-key", READ], "lacks the 'ingest' role (403"),
    ],
)
def test_auth_errors_say_which_key_is_wanted(
    mlflow_uri: str, olgraph_url: str, keys: list[str], message: str
) -> None:
    result = invoke("--tracking-uri", mlflow_uri, "--url", olgraph_url, *keys)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def fill_event_log(url: str) -> None:
    """Post ever smaller events until the log refuses even a small one (503: full)."""
    for size in (256 << 10, 32 << 10, 4 << 10):
        for _ in range(8):
            facets = {"filler": {"blob": "x" * size}}
            event = {
                "eventTime": "2024-01-01T00:00:00Z",
                "producer": "p",
                "run": {"runId": str(uuid.uuid4())},
                "job": {"namespace": "n", "name": "j", "facets": facets},
            }
            if httpx.post(f"{url}/api/v1/lineage", json=event, timeout=30).status_code == 503:
                break
    assert httpx.post(f"{url}/api/v1/lineage", json=event, timeout=30).status_code == 503


def test_a_full_event_log_is_retried_a_bounded_number_of_times(
    mlflow_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "full",
        log={"local": {"max_size_bytes": 1 << 20}},
        server={"retry_after_seconds": 1},
    )
    waits: list[float] = []
    # The sync's waits, seen instead of slept (its module's own `time`, not the server thread's).
    monkeypatch.setattr(_client, "time", SimpleNamespace(sleep=waits.append))
    for url in serve_in_thread(settings):
        fill_event_log(url)
        result = invoke("--tracking-uri", mlflow_uri, "--url", url, "--retries", "2")
        assert result.exit_code == 2, result.output
        assert "unavailable (503: the event log is full" in result.stderr
        assert waits == [1.0, 1.0]  # two retries, each after the server's Retry-After: 1


def test_unreachable_ends_cleanly(mlflow_uri: str, closed_port: int) -> None:
    result = invoke("--tracking-uri", mlflow_uri, "--url", f"http://127.0.0.1:{closed_port}")
    assert result.exit_code == 2
    assert f"cannot reach the olgraph server at http://127.0.0.1:{closed_port}" in result.stderr
    result = invoke(
        "--tracking-uri", f"http://127.0.0.1:{closed_port}", "--url", f"http://127.0.0.1:{closed_port}"
    )
    assert result.exit_code == 2
    assert "cannot reach the MLflow tracking server" in result.stderr


@pytest.mark.parametrize("url", ["::bad", "ftp://host"])
def test_a_bad_url_is_a_usage_error(mlflow_uri: str, url: str) -> None:
    result = invoke("--tracking-uri", mlflow_uri, "--url", url)
    assert result.exit_code == 2
    assert f"--url {url!r} is not a valid URL" in result.stderr


def test_without_mlflow_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an install without the extra looks like
    sync_modules = [m for m in sys.modules if m.startswith("olgraph.integrations.mlflow.sync")]
    assert "olgraph.integrations.mlflow.sync.reader" in sync_modules  # the one that imports MLflow
    for name in sync_modules:  # as in a fresh process: the sync package imported again, in full
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(olgraph.integrations.mlflow, "sync")
    result = invoke("--tracking-uri", f"sqlite:///{tmp_path / 'never.db'}")
    assert result.exit_code == 2
    assert "install olgraph-integrations[mlflow]" in result.stderr
    assert not (tmp_path / "never.db").exists()


def test_fail_safe_exit_code_and_force(mlflow_uri: str, olgraph_url: str) -> None:
    args = ["--tracking-uri", mlflow_uri, "--url", olgraph_url, "--api-key", ADMIN]
    assert invoke(*args).exit_code == 0
    applied(olgraph_url)
    MlflowClient(mlflow_uri).delete_registered_model("churn")
    refused = invoke(*args)
    assert refused.exit_code == 1, refused.output
    assert (
        "1 of the 3 models synced before are no longer in MLflow (33% > --max-delete-fraction 0.25)"
        in refused.stderr
    )
    assert "0 models marked deleted" in refused.stdout
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0
    assert "1 models marked deleted" in forced.stdout
    applied(olgraph_url)
    answer = httpx.get(
        f"{olgraph_url}/api/v1/datasets",
        params={"nodeId": key(mlflow_uri, "models/churn")},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()
    assert answer["deleted"] is True


@pytest.mark.parametrize("form", ["sqlite:///{path}", "{path}", "file://{path}"])
def test_a_mistyped_local_store_is_refused_and_not_created(
    tmp_path: Path, olgraph_url: str, form: str
) -> None:
    """MLflow would create an empty store there and the sync would report success."""
    missing = tmp_path / "typo" / "mlflow.db"
    uri = form.format(path=missing)
    result = invoke("--tracking-uri", uri, "--url", olgraph_url)
    assert result.exit_code == 2, result.output
    what = "database" if uri.startswith("sqlite") else "file store"
    assert result.stderr == (
        f"Error: --tracking-uri {uri}: no such MLflow {what}: {missing} (MLflow would create an empty one)\n"
    )
    assert not missing.parent.exists()


def test_a_mistyped_registry_store_is_refused_too(mlflow_uri: str, tmp_path: Path, olgraph_url: str) -> None:
    registry = f"sqlite:///{tmp_path / 'registry-typo.db'}"
    result = invoke("--tracking-uri", mlflow_uri, "--registry-uri", registry, "--url", olgraph_url)
    assert result.exit_code == 2
    assert f"Error: --registry-uri {registry}: no such MLflow database" in result.stderr
    assert not (tmp_path / "registry-typo.db").exists()
