"""The shared MLflow event builders, fed with real MLflow entities from a sqlite store in tmp.

Every event they build must be a valid OpenLineage 2-0-2 event (the official JSON schema, read
offline from ../shared/openlineage through ``referencing``), strict JSON, every standard facet
must match the published schema version its ``_schemaURL`` names, and each of our own facets
its schema in ``schemas/facets`` — which must describe exactly the fields emitted.

``test_mlflow_sync.py`` reuses the helpers defined here (:func:`validate_event`,
:func:`build_world`, :func:`apply_events`).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag
from referencing import Registry, Resource

from olgraph.ingest import parse_event
from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming
from olgraph.normalize.normalizer import normalize
from olgraph.store.embedded import EmbeddedStore

pytestmark = [
    # MLflow's own use of its dependencies, not ours
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0 all arguments:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:``mlflow.tracking.client.MlflowClient.transition_model_version_stage``"
    ),
]

REPO = Path(__file__).resolve().parents[3]
OL = REPO / ".." / "shared" / "openlineage"
OWN = REPO / "schemas" / "facets"
OWN_FACETS = {"MlflowRunFacet": "mlflow_run", "MlflowDatasetFacet": "mlflow_dataset"}
OWN_FACETS["MlflowModelDatasetFacet"] = "mlflow_model"
OWN_FACETS["MlflowModelVersionOutputDatasetFacet"] = "mlflow_model_version"
JsonDict = dict[str, Any]
T0 = 1_700_000_000_000  # epoch ms of the world's first run


# --------------------------------------------------------------------------- schema validation


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _schemas() -> list[Any]:
    files = [OL / "spec" / "OpenLineage.json", *sorted((OL / "facet-versions").glob("*/*.json"))]
    files += sorted((OL / "spec" / "facets").glob("*.json")) + sorted(OWN.glob("*.json"))
    return [_load(p) for p in files]


REGISTRY: Registry[Any] = Registry().with_resources(  # type: ignore[call-arg]
    (schema["$id"], Resource.from_contents(schema)) for schema in _schemas()
)
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
    return not isinstance(value, str) or bool(re.fullmatch(pattern, value) and datetime.fromisoformat(value))


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=REGISTRY, format_checker=FORMATS)


def facets_of(event: JsonDict) -> Iterator[tuple[str, JsonDict]]:
    """Every facet of an event as (facet name, facet)."""
    holders = [event.get("run", {}), event.get("job", {}), event.get("dataset", {})]
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        holders.append(dataset)
        holders.append({"facets": dataset.get("inputFacets", {})})
        holders.append({"facets": dataset.get("outputFacets", {})})
    for holder in holders:
        yield from (holder.get("facets") or {}).items()


def validate_event(event: JsonDict) -> None:
    """Fail unless ``event`` is a strict-JSON OpenLineage 2-0-2 event whose facets match their schemas."""
    json.dumps(event, allow_nan=False)  # NaN/Infinity are not JSON: the server would refuse them
    kind = event["schemaURL"].rsplit("/", 1)[1]
    assert event["schemaURL"] == f"{CORE}#/$defs/{kind}"
    _validator(event["schemaURL"]).validate(event)
    for name, facet in facets_of(event):
        url = facet["_schemaURL"]
        _validator(url).validate(facet)  # a version that was never published does not resolve
        schema = REGISTRY.contents(url.split("#")[0])
        assert list(schema["properties"]) == [name], f"{url} is the schema of {list(schema['properties'])}"
        definition = url.rsplit("/", 1)[1]
        if definition in OWN_FACETS:
            undeclared = set(facet) - declared_fields(definition) - {"_producer", "_schemaURL"}
            assert not undeclared, f"{definition} emits fields its schema does not describe: {undeclared}"


def declared_fields(definition: str) -> set[str]:
    """The properties one of our facet schemas declares."""
    schema = _load(OWN / f"{definition}.json")
    return set(schema["$defs"][definition]["allOf"][1]["properties"])


# --------------------------------------------------------------------------- a real MLflow


@dataclass
class World:
    """A populated MLflow sqlite store and the entities the tests build events from."""

    client: MlflowClient
    uri: str
    namespace: str
    experiment: Any
    train: Any  # FINISHED, with inputs, a logged model, a legacy artifact model, two versions
    child: Any  # FAILED, nested in train
    killed: Any
    running: Any
    logged: Any
    model: Any
    versions: list[Any]

    def ctx(self, run: Any) -> ev.RunContext:
        """The sync's context of one of the world's runs."""
        return ev.RunContext(
            self.namespace,
            self.experiment.experiment_id,
            self.experiment.name,
            {},
            run.data.tags.get("mlflow.parentRunId"),
        )

    def refresh(self, run: Any) -> Any:
        """The run as MLflow has it now."""
        return self.client.get_run(run.info.run_id)


FRAME = pd.DataFrame({"tenure": [1.0, 2.0, 3.0], "churned": [0.0, 1.0, 0.0]})


def build_world(folder: Path) -> World:
    """Experiments, runs, datasets, models and a registry, made with MLflow's own client."""
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    art = (folder / "artifacts").as_uri()
    tags = {"team": "growth", "mlflow.note.content": "Churn models"}
    exp_id = client.create_experiment("churn-training", artifact_location=art, tags=tags)
    train = client.create_run(exp_id, start_time=T0, run_name="train", tags={"team": "growth"})
    rid = train.info.run_id
    client.log_param(rid, "lr", "0.1")
    client.log_metric(rid, "auc", 0.91, timestamp=T0 + 1000)
    client.log_inputs(
        rid, [_input("s3://bucket/train.parquet", "train", "training"), _input(None, "holdout", "eval")]
    )
    history = [
        {"artifact_path": "legacy_model", "utc_time_created": "2023-11-14 22:13:21.500000", "flavors": {}}
    ]
    client.set_tag(rid, "mlflow.log-model.history", json.dumps(history))
    child = client.create_run(
        exp_id, start_time=T0 + 500, run_name="fold-1", tags={"mlflow.parentRunId": rid}
    )
    client.set_terminated(child.info.run_id, "FAILED", end_time=T0 + 2000)
    logged = client.create_logged_model(exp_id, name="model", source_run_id=rid, model_type="classifier")
    client.finalize_logged_model(logged.model_id, "READY")
    client.set_terminated(rid, "FINISHED", end_time=T0 + 3000)
    client.create_registered_model("churn", tags={"owner": "growth"}, description="Churn classifier")
    client.create_model_version("churn", f"runs:/{rid}/legacy_model", run_id=rid)
    with pytest.MonkeyPatch.context() as env:  # the registry resolves models:/m-… on the default tracking URI
        env.setenv("MLFLOW_TRACKING_URI", uri)
        client.create_model_version("churn", logged.model_uri, run_id=rid)
    client.set_registered_model_alias("churn", "champion", "2")
    client.transition_model_version_stage("churn", "1", "Production")
    killed = client.create_run(exp_id, start_time=T0 + 4000, run_name="killed")
    client.set_terminated(killed.info.run_id, "KILLED", end_time=T0 + 5000)
    running = client.create_run(exp_id, start_time=T0 + 6000, run_name="running")
    return World(
        client=client,
        uri=uri,
        namespace=naming.mlflow_namespace(uri),
        experiment=client.get_experiment(exp_id),
        train=client.get_run(rid),
        child=client.get_run(child.info.run_id),
        killed=client.get_run(killed.info.run_id),
        running=client.get_run(running.info.run_id),
        logged=client.get_logged_model(logged.model_id),
        model=client.get_registered_model("churn"),
        versions=[client.get_model_version("churn", v) for v in ("1", "2")],
    )


def _input(source: str | None, name: str, context: str) -> DatasetInput:
    dataset = mlflow.data.from_pandas(FRAME, source=source, name=name) if source else None
    dataset = dataset or mlflow.data.from_pandas(FRAME, name=name)
    return DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", context)])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One populated store for the whole module (the builders only read it)."""
    return build_world(tmp_path_factory.mktemp("mlflow"))


def every_event(w: World) -> list[JsonDict]:
    """One event from every shared builder, for the world's entities."""
    reg = w.namespace
    at = c.from_millis(T0 + 100)
    events = [ev.run_started(r, w.ctx(r)) for r in (w.train, w.child, w.killed, w.running)]
    events += [e for r in (w.train, w.child, w.killed, w.running) if (e := ev.run_state(r, w.ctx(r)))]
    events += [
        ev.inputs_logged(w.train.info.run_id, w.ctx(w.train), w.train.inputs.dataset_inputs, at),
        ev.artifact_model_logged(w.train.info.run_id, "legacy_model", w.ctx(w.train), at),
        ev.registered_model_state(w.model, w.versions, reg),
        ev.registered_model_state_observed(w.model, w.versions, reg, T0 + 9000),
        ev.model_dropped("churn", reg, at),
        ev.run_io(
            w.train.info.run_id,
            w.ctx(w.train),
            at,
            inputs=[ev.registered_model_input("churn", "2", reg), ev.logged_model_input("m-1", w.namespace)],
            outputs=[ev.run_artifact_input(w.train.info.run_id, "plots", w.namespace, is_model=False)],
        ),
        ev.logged_models_written(w.train.info.run_id, w.ctx(w.train), [w.logged], at),
    ]
    events.append(ev.model_logged(w.logged, w.ctx(w.train)))
    events += [ev.model_version_created(v, w.ctx(w.train), reg) for v in w.versions]
    return [e for e in events if e is not None]


# --------------------------------------------------------------------------- schemas


def test_every_event_is_valid_openlineage_with_valid_facets(world: World) -> None:
    events = every_event(world)
    assert len(events) >= 17
    for event in events:
        validate_event(event)


@pytest.mark.parametrize("definition", sorted(OWN_FACETS))
def test_own_facet_schemas_describe_exactly_what_is_emitted(world: World, definition: str) -> None:
    emitted: set[str] = set()
    for event in every_event(world):
        for name, facet in facets_of(event):
            if name == OWN_FACETS[definition]:
                assert facet["_schemaURL"].endswith(f"/{definition}.json#/$defs/{definition}")
                emitted |= set(facet) - {"_producer", "_schemaURL"}
    declared = declared_fields(definition)
    # a registered model's description and model type are optional MLflow fields, set in this world
    assert emitted == declared, (
        f"declared but never emitted: {declared - emitted}; undeclared: {emitted - declared}"
    )


def test_own_facet_schemas_extend_the_right_base_facet() -> None:
    bases = {
        "mlflow_run": "RunFacet",
        "mlflow_dataset": "InputDatasetFacet",
        "mlflow_model": "DatasetFacet",
        "mlflow_model_version": "OutputDatasetFacet",
    }
    for definition, name in OWN_FACETS.items():
        schema = _load(OWN / f"{definition}.json")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"{c.OLGRAPH_SCHEMAS_URL}/{definition}.json"
        assert schema["properties"] == {name: {"$ref": f"#/$defs/{definition}"}}
        assert schema["$defs"][definition]["allOf"][0] == {"$ref": f"{CORE}#/$defs/{bases[name]}"}


def test_the_validator_rejects_a_facet_its_schema_forbids(world: World) -> None:
    event = ev.run_started(world.train, world.ctx(world.train))
    event["run"]["facets"]["mlflow_run"]["metrics"] = {"auc": "high"}
    with pytest.raises(Exception, match="is not of type"):
        validate_event(event)
    event = ev.model_dropped("churn", world.namespace, c.from_millis(T0))
    event["dataset"]["facets"]["lifecycleStateChange"]["_schemaURL"] = event["dataset"]["facets"][
        "lifecycleStateChange"
    ]["_schemaURL"].replace("1-0-1", "9-9-9")
    with pytest.raises(Exception, match="9-9-9"):
        validate_event(event)


# --------------------------------------------------------------------------- runs


def test_a_run_is_the_mlflow_run_id_as_uuid_in_its_experiments_job(world: World) -> None:
    event = ev.run_started(world.train, world.ctx(world.train))
    assert event["run"]["runId"] == str(uuid.UUID(hex=world.train.info.run_id))
    assert event["job"] == {
        "namespace": world.namespace,
        "name": "churn-training",
        "facets": {"jobType": c.job_type_facet("mlflow", "MLFLOW", "EXPERIMENT")},
    }
    assert event["eventType"] == "START"
    assert event["eventTime"] == c.from_millis(T0)
    facet = event["run"]["facets"]["mlflow_run"]
    assert facet["params"] == {"lr": "0.1"}
    assert facet["metrics"] == {"auc": 0.91}
    assert facet["tags"] == {"team": "growth"}  # mlflow.* system tags are left out
    assert (facet["runName"], facet["status"], facet["experimentId"]) == (
        "train",
        "FINISHED",
        world.experiment.experiment_id,
    )
    assert facet["artifactUri"].startswith("file:///")


@pytest.mark.parametrize(
    ("run", "event_type", "end"),
    [
        ("train", "COMPLETE", 3000),
        ("child", "FAIL", 2000),
        ("killed", "ABORT", 5000),
        ("running", None, None),
    ],
)
def test_a_run_ends_as_mlflow_says(world: World, run: str, event_type: str | None, end: int | None) -> None:
    entity = getattr(world, run)
    event = ev.run_state(entity, world.ctx(entity))
    if event_type is None:
        assert event is None
        return
    assert event is not None
    assert (event["eventType"], event["eventTime"]) == (event_type, c.from_millis(T0 + (end or 0)))
    assert ("errorMessage" in event["run"]["facets"]) is (event_type == "FAIL")


def test_a_nested_run_names_its_parent(world: World) -> None:
    event = ev.run_started(world.child, world.ctx(world.child))
    parent = event["run"]["facets"]["parent"]
    assert parent["run"] == {"runId": str(uuid.UUID(hex=world.train.info.run_id))}
    assert parent["job"] == {"namespace": world.namespace, "name": "churn-training"}
    assert "parent" not in ev.run_started(world.train, world.ctx(world.train))["run"]["facets"]


def test_volatile_workload_facets_are_only_what_the_context_adds(world: World) -> None:
    quiet = ev.run_started(world.train, world.ctx(world.train))
    assert c.WORKLOAD_FACET not in quiet["run"]["facets"]
    ctx = ev.RunContext(world.namespace, "1", "churn-training", {"extra": {"x": 1}})
    assert ev.run_started(world.train, ctx)["run"]["facets"]["extra"] == {"x": 1}
    assert ev.run_started(world.train, world.ctx(world.train)) == quiet  # nothing changes between calls


# --------------------------------------------------------------------------- datasets


def test_training_data_is_named_by_its_source_and_versioned_by_digest(world: World) -> None:
    event = ev.inputs_logged(
        world.train.info.run_id, world.ctx(world.train), world.train.inputs.dataset_inputs, c.from_millis(T0)
    )
    by_name = {(i["namespace"], i["name"]): i for i in event["inputs"]}
    train = by_name[("s3://bucket", "train.parquet")]
    digest = train["inputFacets"]["mlflow_dataset"]["digest"]
    assert train["facets"]["version"]["datasetVersion"] == digest
    assert train["facets"]["schema"]["fields"] == [
        {"name": "tenure", "type": "double"},
        {"name": "churned", "type": "double"},
    ]
    assert train["inputFacets"]["mlflow_dataset"]["context"] == "training"
    assert train["inputFacets"]["mlflow_dataset"]["profile"] == {"num_rows": 3, "num_elements": 6}
    holdout = by_name[(world.namespace, "datasets/holdout")]  # an in-memory frame has no location
    assert holdout["inputFacets"]["mlflow_dataset"]["sourceType"] == "code"
    assert event["eventType"] == "RUNNING"


@pytest.mark.parametrize(
    ("source_type", "source", "identity"),
    [
        ("s3", {"uri": "s3a://bucket/dir/part.parquet"}, ("s3://bucket", "dir/part.parquet")),
        ("local", {"uri": "/data/train.csv"}, ("file", "/data/train.csv")),
        ("local", {"uri": "file:///data/dir/"}, ("file", "/data/dir")),
        ("gs", {"uri": "gs://b/k"}, ("gs://b", "k")),
        ("http", {"url": "https://host/x.csv"}, ("https://host", "/x.csv")),
        ("hugging_face", {"path": "org/data", "split": "train"}, ("huggingface", "org/data")),
        ("delta_table", {"delta_table_name": "t", "table_name": "main.sales"}, ("NS", "tables/main.sales")),
        ("delta_table", {"path": "s3://lake/sales"}, ("s3://lake", "sales")),
        ("code", {"tags": {}}, ("NS", "datasets/frame")),
        ("s3", "not json", ("NS", "datasets/frame")),
    ],
)
def test_dataset_identity_follows_the_openlineage_conventions(
    source_type: str, source: Any, identity: tuple[str, str]
) -> None:
    text = source if isinstance(source, str) else json.dumps(source)
    entity = Dataset(name="frame", digest="d1", source_type=source_type, source=text)
    expected = tuple("mlflow://h:5000" if part == "NS" else part for part in identity)
    assert ev.dataset_identity(entity, "mlflow://h:5000") == expected


def test_schema_fields_from_column_and_tensor_specs() -> None:
    spec = {
        "mlflow_colspec": [{"name": "a", "type": "long"}, {"type": "double"}],
        "mlflow_tensorspec": [{"name": "img", "type": "float32", "shape": [-1, 28]}],
    }
    assert ev.schema_fields(json.dumps(spec)) == [
        {"name": "a", "type": "long"},
        {"name": "img", "type": "tensor<float32>"},
    ]
    assert ev.schema_fields(None) == ev.schema_fields("[1]") == ev.schema_fields("{oops") == []


# --------------------------------------------------------------------------- models


def test_a_logged_model_is_written_by_the_run_that_logged_it(world: World) -> None:
    event = ev.model_logged(world.logged, world.ctx(world.train))
    assert event is not None
    (output,) = event["outputs"]
    assert (output["namespace"], output["name"]) == (
        world.namespace,
        f"logged_models/{world.logged.model_id}",
    )
    assert output["facets"]["datasetType"]["datasetType"] == "MODEL"
    model = output["facets"]["mlflow_model"]
    assert (model["kind"], model["sourceRunId"], model["modelType"]) == (
        "LOGGED_MODEL",
        world.train.info.run_id,
        "classifier",
    )
    assert event["eventTime"] == c.from_millis(world.logged.creation_timestamp)
    assert event["run"]["runId"] == str(uuid.UUID(hex=world.train.info.run_id))


def test_a_registered_version_is_a_dataset_version_written_by_its_run(world: World) -> None:
    v2 = world.versions[1]
    event = ev.model_version_created(v2, world.ctx(world.train), world.namespace)
    assert event is not None
    assert "eventType" not in event  # a fact about the run's output, not a change of its state
    assert event["eventTime"] == c.from_millis(v2.creation_timestamp)
    (output,) = event["outputs"]
    assert output["name"] == "models/churn"
    assert output["facets"]["version"]["datasetVersion"] == "2"
    assert "mlflow_model" not in output["facets"]  # the registered model's summary facet stays whole
    assert output["outputFacets"]["mlflow_model_version"]["modelId"] == world.logged.model_id
    v1 = ev.model_version_created(world.versions[0], world.ctx(world.train), world.namespace)
    assert v1 is not None
    assert v1["outputs"][0]["outputFacets"]["mlflow_model_version"]["stage"] == "Production"


def test_registry_state_puts_aliases_and_stages_in_tags(world: World) -> None:
    event = ev.registered_model_state(world.model, world.versions, world.namespace)
    facets = event["dataset"]["facets"]
    assert [(t["key"], t["value"]) for t in facets["tags"]["tags"]] == [
        ("alias.champion", "2"),
        ("stage.Production", "1"),
    ]
    model = facets["mlflow_model"]
    assert (model["versions"], model["aliases"], model["tags"]) == (
        ["1", "2"],
        {"champion": "2"},
        {"owner": "growth"},
    )
    newest = max([world.model.last_updated_timestamp, *(v.last_updated_timestamp for v in world.versions)])
    assert event["eventTime"] == c.from_millis(newest)


def test_a_dropped_model_carries_a_drop(world: World) -> None:
    event = ev.model_dropped("churn", world.namespace, c.from_millis(T0))
    assert event["dataset"]["name"] == "models/churn"
    assert event["dataset"]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"


def test_a_model_logged_as_artifacts_is_named_by_run_and_path(world: World) -> None:
    event = ev.artifact_model_logged(world.train.info.run_id, "/legacy_model/", world.ctx(world.train), "x")
    assert event["outputs"][0]["name"] == f"runs/{world.train.info.run_id}/legacy_model"
    assert event["outputs"][0]["facets"]["mlflow_model"]["kind"] == "RUN_ARTIFACT"


# --------------------------------------------------------------------------- in the graph


async def apply_events(store: EmbeddedStore, events: list[JsonDict]) -> None:
    """Parse, normalize and apply events to a real store, as the consumer does."""
    for event in events:
        await store.apply(normalize(parse_event(json.loads(json.dumps(event)))))


async def test_model_version_lineage_reaches_the_exact_training_data(world: World, tmp_path: Path) -> None:
    w = world
    events = [
        ev.run_started(w.train, w.ctx(w.train)),
        ev.inputs_logged(
            w.train.info.run_id, w.ctx(w.train), w.train.inputs.dataset_inputs, c.from_millis(T0)
        ),
        *[e for v in w.versions if (e := ev.model_version_created(v, w.ctx(w.train), w.namespace))],
        ev.registered_model_state(w.model, w.versions, w.namespace),
    ]
    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    try:
        await apply_events(store, events)
        model = await store.get_dataset(f"dataset:{w.namespace}:models/churn")
        assert model is not None
        assert model.node.type == "model"
        version = next(v for v in model.versions if v.version == "2")
        assert version.run_id == str(uuid.UUID(hex=w.train.info.run_id))
        run = await store.get_run(version.run_id)
        assert run is not None
        digest = w.train.inputs.dataset_inputs[0].dataset.digest
        assert any(
            r.dataset == "dataset:s3://bucket:train.parquet" and r.version == digest for r in run.inputs
        )
        assert sorted(f"{t.key}={t.value}" for t in model.tags) == ["alias.champion=2", "stage.Production=1"]
    finally:
        await store.close()


# --------------------------------------------------------------------------- found wrong (for the lead)


def test_a_nan_metric_still_gives_strict_json(world: World) -> None:
    run = world.client.create_run(world.experiment.experiment_id, start_time=T0, run_name="diverged")
    world.client.log_metric(run.info.run_id, "loss", math.nan, timestamp=T0)
    world.client.log_metric(run.info.run_id, "grad", math.inf, timestamp=T0)
    event = ev.run_started(world.refresh(run), world.ctx(run))
    json.dumps(event, allow_nan=False)


async def test_registering_a_version_from_a_running_run_keeps_it_running(
    world: World, tmp_path: Path
) -> None:
    run = world.client.create_run(world.experiment.experiment_id, start_time=T0, run_name="live")
    world.client.create_registered_model("live")
    version = world.client.create_model_version("live", "s3://bucket/m", run_id=run.info.run_id)
    events = [ev.run_started(world.refresh(run), world.ctx(run))]
    events += [e for e in [ev.model_version_created(version, world.ctx(run), world.namespace)] if e]
    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    try:
        await apply_events(store, events)
        state = await store.get_run(str(uuid.UUID(hex=run.info.run_id)))
        assert state is not None
        assert state.state == "START"
    finally:
        await store.close()


async def test_the_model_facet_is_the_registry_summary_after_a_first_version(
    world: World, tmp_path: Path
) -> None:
    client = world.client
    client.create_registered_model("single")
    version = client.create_model_version("single", "s3://bucket/m", run_id=world.train.info.run_id)
    model = client.get_registered_model("single")
    assert model.last_updated_timestamp == version.creation_timestamp  # what makes the tie
    events = [
        ev.model_version_created(version, world.ctx(world.train), world.namespace),
        ev.registered_model_state(model, [version], world.namespace),
    ]
    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    try:
        await apply_events(store, [e for e in events if e is not None])
        view = await store.get_dataset(f"dataset:{world.namespace}:models/single")
        assert view is not None
        assert view.facets["mlflow_model"].get("versions") == ["1"]
    finally:
        await store.close()
