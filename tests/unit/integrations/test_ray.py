"""The Ray Data plugin against real Ray: plan walking, naming, events, and its guards.

One local Ray (two CPUs) serves the module. Executions are real; their events go to an
:class:`Emitter` whose sender appends to a list (the emitter's documented seam), so what
is asserted is exactly what would be sent. The end-to-end path through ``olgraph serve`` is
in ``tests/e2e/test_ray_plugin.py``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import ray
import ray.cloudpickle
from ray.data import DataContext
from ray.data._internal.execution.execution_callback import ExecutionCallback
from ray.data._internal.util import RetryingPyFileSystem
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask
from ray.data.expressions import col

from olgraph.integrations import ray as plugin
from olgraph.integrations._common import Emitter, JsonDict, PluginSettings, plugin_logger
from olgraph.integrations.ray import callback as callback_module
from olgraph.integrations.ray.lineage import (
    ExecutionRun,
    RayLineage,
    dataset_label,
    error_facet,
    job_name,
    ray_workload,
)
from olgraph.integrations.ray.plan import (
    DataRef,
    Output,
    PlanLineage,
    filesystem_scheme,
    format_name,
    location,
    read_plan,
    schema_fields,
)

# Ray 2.60's DataContext warns about its own deprecated defaults when it is created.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

# --------------------------------------------------------------------------- naming (no Ray needed)


@pytest.mark.parametrize(
    ("path", "filesystem", "expected"),
    [
        ("s3://bucket/raw/events", None, "s3://bucket/raw/events"),
        ("s3://anonymous@ray-example-data/iris.csv", None, "s3://ray-example-data/iris.csv"),
        ("gs://user:secret@bucket/a.parquet", None, "gs://bucket/a.parquet"),
        ("/data/in.parquet", None, "/data/in.parquet"),
        ("bucket/raw/events", "s3", "s3://bucket/raw/events"),
        ("bucket/raw/events", "retrying-s3", "s3://bucket/raw/events"),
        ("/data/in.parquet", "local", "/data/in.parquet"),
        ("bucket/x", "fsspec-memory", "memory://bucket/x"),
    ],
)
def test_location_gives_the_uri_ray_reads(path: str, filesystem: str | None, expected: str) -> None:
    assert location(path, _filesystem(filesystem)) == expected


def _filesystem(kind: str | None) -> Any:
    if kind is None:
        return None
    if kind == "local":
        return pafs.LocalFileSystem()
    if kind == "fsspec-memory":
        return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("memory")))
    s3 = pafs.S3FileSystem(anonymous=True, region="us-east-1")
    return RetryingPyFileSystem.wrap(s3, retryable_errors=[]) if kind.startswith("retrying") else s3


def test_filesystem_scheme_names_object_stores_and_leaves_local_alone() -> None:
    assert filesystem_scheme(pafs.S3FileSystem(anonymous=True, region="us-east-1")) == "s3"
    assert filesystem_scheme(pafs.LocalFileSystem()) is None
    assert filesystem_scheme(RetryingPyFileSystem.wrap(pafs.LocalFileSystem(), retryable_errors=[])) is None
    assert filesystem_scheme(None) is None


def test_formats_and_schemas_are_read_from_ray_names_and_arrow() -> None:
    assert [format_name(n) for n in ("ParquetV2", "Parquet", "CSV", "JSON", "", None)] == [
        "parquet",
        "parquet",
        "csv",
        "json",
        None,
        None,
    ]
    schema = pa.schema([("id", pa.int64()), ("when", pa.timestamp("us")), ("tags", pa.list_(pa.string()))])
    assert schema_fields(schema) == (
        ("id", "int64"),
        ("when", "timestamp[us]"),
        ("tags", "list<item: string>"),
    )
    assert schema_fields(None) is None
    assert schema_fields(object()) is None


def test_job_names_are_stable_words_from_what_an_execution_writes_or_reads() -> None:
    out = Output(DataRef("s3://lake", "warehouse/customers", "parquet"), datasink=None)
    raw = DataRef("file", "/data/raw/events.csv", "csv")
    ref = DataRef("file", "/data/ref/countries.parquet", "parquet")
    assert job_name("etl", [raw, ref], [out]) == "etl.write_parquet.warehouse_customers"
    assert job_name("etl", [raw], []) == "etl.read_csv.raw_events_csv"
    assert job_name("etl", [ref, raw], []) == "etl.read.raw_events_csv+ref_countries_parquet"
    many = [DataRef("file", f"/d/p{i}", "json") for i in range(5)]
    assert job_name("etl", many, []) == "etl.read_json.d_p0+d_p1+d_p2+2_more"
    assert dataset_label("/") == "root"


def test_the_error_facet_drops_colour_codes_and_stays_bounded() -> None:
    facet = error_facet(RuntimeError("\x1b[36mray::Map()\x1b[39m failed: " + "x" * 10_000))
    assert facet["message"].startswith("RuntimeError: ray::Map() failed: xxx")
    assert "\x1b" not in facet["message"]
    assert len(facet["message"]) == 4000
    assert facet["programmingLanguage"] == "python"
    assert facet["_schemaURL"].endswith("ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet")


# --------------------------------------------------------------------------- guards (no Ray cluster)


class BrokenExecutor:
    """An executor from a Ray whose internals we do not understand: every look fails."""

    @property
    def _topology(self) -> Any:
        raise RuntimeError("no topology here")


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No plugin state yet, and an environment with nothing of ours configured."""
    monkeypatch.setattr(callback_module, "_state", None)
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OLGRAPH_RAY_DISABLED", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("fresh_state")
def test_nothing_happens_without_an_openlineage_configuration() -> None:
    plugin.OpenLineageExecutionCallback().before_execution_starts(BrokenExecutor())
    assert callback_module._state is None


@pytest.mark.usefixtures("fresh_state")
def test_nothing_happens_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OLGRAPH_RAY_DISABLED", "true")
    plugin.OpenLineageExecutionCallback().before_execution_starts(BrokenExecutor())
    assert callback_module._state is None


@pytest.mark.usefixtures("fresh_state")
def test_errors_are_logged_and_swallowed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")
    callback = plugin.OpenLineageExecutionCallback()
    with caplog.at_level(logging.WARNING, logger="olgraph.integrations.ray"):
        callback.before_execution_starts(BrokenExecutor())
        callback.after_execution_fails(BrokenExecutor(), RuntimeError("x"))
    assert callback_module._state is not None
    assert "starting an execution failed (RuntimeError: no topology here)" in caplog.text
    assert "OLGRAPH_RAY_DEBUG=true" in caplog.text


@pytest.mark.usefixtures("fresh_state")
def test_errors_are_raised_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OLGRAPH_RAY_IGNORE_ERRORS", "false")
    with pytest.raises(RuntimeError, match="no topology here"):
        plugin.OpenLineageExecutionCallback().before_execution_starts(BrokenExecutor())


def test_the_callback_is_what_ray_loads_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_DATA_EXECUTION_CALLBACKS", plugin.CALLBACK_PATH)
    cls = plugin.OpenLineageExecutionCallback
    assert issubclass(cls, ExecutionCallback)
    assert f"{cls.__module__}.{cls.__qualname__}" == plugin.CALLBACK_PATH
    assert cls in DataContext.get_current().execution_callback_classes  # Ray's own import path


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_module_imports_even_without_ray() -> None:
    done = _python(
        "import sys; sys.modules['ray'] = None\n"
        "from olgraph.integrations.ray import OpenLineageExecutionCallback as C\n"
        "C().before_execution_starts(object())\n"
        "print(C.__mro__[-1].__name__, C.__qualname__)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["object", "OpenLineageExecutionCallback"]


def test_install_names_the_callback_beside_others_once(monkeypatch: pytest.MonkeyPatch) -> None:
    other = "ray.data._internal.execution.callbacks.execution_idx_update_callback.ExecutionIdxUpdateCallback"
    monkeypatch.setenv("RAY_DATA_EXECUTION_CALLBACKS", f"{other}, ")
    assert plugin.install()
    assert not plugin.install()
    assert os.environ["RAY_DATA_EXECUTION_CALLBACKS"] == f"{other},{plugin.CALLBACK_PATH}"
    assert plugin.OpenLineageExecutionCallback in DataContext.get_current().execution_callback_classes


# --------------------------------------------------------------------------- real executions


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray for this module (its socket paths must stay short, hence /tmp/olu…)."""
    temp = tempfile.mkdtemp(prefix="olu", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
    # Ray's workers cannot import this test module: ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``people/`` (two Parquet files: id, name) and ``scores.csv`` (id, name, score)."""
    root = tmp_path_factory.mktemp("ray-data")
    (root / "people").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "name": ["ada", "bob"]}), root / "people" / "a.parquet")
    pq.write_table(pa.table({"id": [3], "name": ["cy"]}), root / "people" / "b.parquet")
    pcsv.write_csv(pa.table({"id": [4, 5], "name": ["di", "ed"], "score": [0.5, 0.9]}), root / "scores.csv")
    return root


class CapturingLineage(RayLineage):
    """The plugin's state, also keeping the plan of each execution it saw start."""

    def __init__(self, settings: PluginSettings, emitter: Emitter) -> None:
        super().__init__(settings, emitter=emitter)
        self.plans: list[PlanLineage] = []

    def started(self, executor: Any) -> ExecutionRun | None:
        self.plans.append(read_plan(executor))
        return super().started(executor)


class Recorder:
    """The plugin's state for one test; its events land in :attr:`events`."""

    def __init__(self) -> None:
        self.events: list[JsonDict] = []
        settings = PluginSettings(plugin="ray", ignore_errors=False)  # let plugin errors fail the test
        self.emitter = Emitter(settings, plugin_logger(settings), sender=lambda: self.events.append)
        self.lineage = CapturingLineage(settings, self.emitter)

    def runs(self) -> list[JsonDict]:
        """Events of executions (the process run's own START is left out)."""
        assert self.emitter.flush(10)
        return [e for e in self.events if e["job"]["name"] != "unit"]


@pytest.fixture
def recorder(ray_cluster: None, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The real callback, installed with :func:`install`, reporting to a :class:`Recorder`."""
    monkeypatch.setenv("OLGRAPH_RAY_JOB_NAME", "unit")
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")  # configured; the recorder sends nothing
    for name in ("OPENLINEAGE_NAMESPACE", "OLGRAPH_RAY_DISABLED", "RAY_DATA_EXECUTION_CALLBACKS"):
        monkeypatch.delenv(name, raising=False)
    recorder = Recorder()
    monkeypatch.setattr(callback_module, "_state", recorder.lineage)
    assert plugin.install()
    return recorder


def _datasets(entries: list[JsonDict]) -> dict[str, list[tuple[str, str]] | None]:
    found: dict[str, list[tuple[str, str]] | None] = {}
    for entry in entries:
        fields = entry.get("facets", {}).get("schema", {}).get("fields")
        found[f"{entry['namespace']}:{entry['name']}"] = (
            [(f["name"], f["type"]) for f in fields] if fields else None
        )
    return found


def _add_score(batch: dict[str, Any]) -> dict[str, Any]:
    return {**batch, "score": batch["id"] * 0.1}


def test_a_write_reports_its_sources_its_sink_and_their_schemas(recorder: Recorder, data: Path) -> None:
    out = data / "joined"
    people = ray.data.read_parquet(str(data / "people")).map_batches(_add_score)
    people.union(ray.data.read_csv(str(data / "scores.csv"))).filter(expr=col("id") > 1).write_parquet(
        str(out)
    )

    start, complete = recorder.runs()
    assert [start["eventType"], complete["eventType"]] == ["START", "COMPLETE"]
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert start["job"] == complete["job"]
    assert complete["job"]["namespace"] == "ray"
    assert complete["job"]["name"] == f"unit.write_parquet.{data.name}_joined"
    assert complete["job"]["facets"]["jobType"]["jobType"] == "DATA_EXECUTION"
    # the plan knows Parquet's schema before the run; the CSV's and the written one after it
    people_id, scores_id, out_id = (f"file:{data / 'people'}", f"file:{data / 'scores.csv'}", f"file:{out}")
    assert _datasets(start["inputs"]) == {people_id: [("id", "int64"), ("name", "string")], scores_id: None}
    assert _datasets(complete["inputs"]) == {
        people_id: [("id", "int64"), ("name", "string")],
        scores_id: [("id", "int64"), ("name", "string"), ("score", "double")],
    }
    assert _datasets(complete["outputs"]) == {
        out_id: [("id", "int64"), ("name", "string"), ("score", "double")]
    }
    assert len(pq.read_table(out)) == 4


def test_every_event_names_the_workload_the_engine_and_the_process_run(
    recorder: Recorder, data: Path
) -> None:
    ray.data.read_parquet(str(data / "people")).materialize()
    process_start = recorder.events[0]
    assert (process_start["eventType"], process_start["job"]["name"]) == ("START", "unit")
    for event in recorder.runs():
        facets = event["run"]["facets"]
        assert facets["parent"]["run"] == {"runId": process_start["run"]["runId"]}
        assert facets["parent"]["job"] == {"namespace": "ray", "name": "unit"}
        assert facets["processing_engine"]["name"] == "ray"
        assert facets["processing_engine"]["version"] == ray.__version__
        workload = facets["olgraph_workload"]
        assert workload["workloadType"] == "ray"
        assert workload["workloadId"] == workload["rayJobId"] == ray.get_runtime_context().get_job_id()
        assert workload["rayVersion"] == ray.__version__


def test_a_read_only_execution_is_a_read_job(recorder: Recorder, data: Path) -> None:
    rows = ray.data.read_csv(str(data / "scores.csv")).take_all()
    assert len(rows) == 2
    _, complete = recorder.runs()
    assert complete["job"]["name"] == f"unit.read_csv.{data.name}_scores_csv"
    assert complete["outputs"] == []
    fields = [("id", "int64"), ("name", "string"), ("score", "double")]
    assert _datasets(complete["inputs"]) == {f"file:{data / 'scores.csv'}": fields}


def test_executions_of_no_external_data_emit_nothing(recorder: Recorder, data: Path) -> None:
    assert ray.data.range(10).take(3) == [{"id": 0}, {"id": 1}, {"id": 2}]
    ray.data.from_items([{"a": 1}]).map_batches(lambda b: b).materialize()
    never = ray.data.read_parquet(str(data / "people")).map_batches(_add_score)  # built, never executed
    assert never is not None
    assert recorder.runs() == []


def test_a_write_of_a_materialized_dataset_names_what_was_read_before(recorder: Recorder, data: Path) -> None:
    materialized = ray.data.read_parquet(str(data / "people")).map_batches(_add_score).materialize()
    materialized.write_csv(str(data / "people_csv"))
    _, read_complete, _, write_complete = recorder.runs()
    assert read_complete["job"]["name"] == f"unit.read_parquet.{data.name}_people"
    assert write_complete["job"]["name"] == f"unit.write_csv.{data.name}_people_csv"
    assert list(_datasets(write_complete["inputs"])) == [f"file:{data / 'people'}"]
    assert _datasets(write_complete["outputs"]) == {
        f"file:{data / 'people_csv'}": [("id", "int64"), ("name", "string"), ("score", "double")]
    }


def _boom(batch: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("boom in a UDF")


def test_a_failing_execution_sends_fail_with_the_error(recorder: Recorder, data: Path) -> None:
    with pytest.raises(Exception, match="boom in a UDF"):
        ray.data.read_parquet(str(data / "people")).map_batches(_boom).write_parquet(str(data / "never"))
    start, fail = recorder.runs()
    assert fail["eventType"] == "FAIL"
    assert fail["run"]["runId"] == start["run"]["runId"]
    message = fail["run"]["facets"]["errorMessage"]["message"]
    assert "ValueError: boom in a UDF" in message
    assert "\x1b" not in message


def test_a_callback_registered_twice_reports_each_execution_once(recorder: Recorder, data: Path) -> None:
    classes = DataContext.get_current().custom_execution_callback_classes
    assert not plugin.install()  # install() knows it is named already
    classes.append(plugin.OpenLineageExecutionCallback)  # and now Ray's other registry has it too
    try:
        ray.data.read_parquet(str(data / "people")).materialize()
    finally:
        classes.remove(plugin.OpenLineageExecutionCallback)
    assert [e["eventType"] for e in recorder.runs()] == ["START", "COMPLETE"]


class Numbers(Datasource):
    """A user's own datasource: Ray cannot say where its data lives."""

    def estimate_inmemory_data_size(self) -> int:
        return 8

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        meta = BlockMetadata(num_rows=1, size_bytes=8, input_files=None, exec_stats=None)
        return [ReadTask(lambda: [pa.table({"n": [1]})], meta)]


def test_data_the_plan_cannot_name_is_left_out_and_logged(
    recorder: Recorder, data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.lineage.logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="olgraph.integrations.ray"):
            numbers = ray.data.read_datasource(Numbers())  # type: ignore[no-untyped-call]
            assert numbers.take_all() == [{"n": 1}]
    finally:
        recorder.lineage.logger.setLevel(logging.NOTSET)
    assert recorder.runs() == []
    assert "cannot name the data of ReadNumbers" in caplog.text


def test_the_plan_names_sources_and_sinks_with_formats_and_schemas(recorder: Recorder, data: Path) -> None:
    ray.data.read_parquet(str(data / "people")).write_json(str(data / "people_json"))
    (plan,) = recorder.lineage.plans
    assert plan.dataset_id.startswith("dataset_")
    assert plan.dataset_uuid
    assert plan.dataset_uuid in plan.dataset_id
    assert [(r.name, r.format) for r in plan.inputs] == [(str(data / "people"), "parquet")]
    assert [(o.ref.name, o.ref.format, o.ref.fields) for o in plan.outputs] == [
        (str(data / "people_json"), "json", (("id", "int64"), ("name", "string")))
    ]
    assert plan.unreadable == ()
    assert not plan.materialized_input


@pytest.mark.usefixtures("ray_cluster")
def test_the_workload_is_the_ray_job() -> None:
    facet = ray_workload(ray.__version__).facet("ray")
    context = ray.get_runtime_context()
    assert facet["workloadId"] == facet["rayJobId"] == context.get_job_id()
    assert facet["rayNamespace"] == context.namespace
    assert facet["rayAddress"] == context.gcs_address
    assert facet["rayVersion"] == ray.__version__
