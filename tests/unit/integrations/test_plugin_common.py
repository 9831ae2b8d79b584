"""The plugins' shared groundwork: settings, the guard, the emitter, naming and event shapes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde

from olgraph.integrations import _common as c

# --------------------------------------------------------------------------- settings


def test_settings_default_to_on_quiet_and_forgiving() -> None:
    s = c.PluginSettings.from_env("mlflow", {})
    assert (s.disabled, s.debug, s.ignore_errors, s.flush_timeout) == (False, False, True, 5.0)
    assert s.env_prefix == "OLGRAPH_MLFLOW_"


@pytest.mark.parametrize(
    ("env", "disabled"),
    [
        ({"OLGRAPH_RAY_DISABLED": "true"}, True),
        ({"OLGRAPH_RAY_DISABLED": "1"}, True),
        ({"OLGRAPH_RAY_DISABLED": "no"}, False),
        ({"OPENLINEAGE_DISABLED": "TRUE"}, True),
        ({"OLGRAPH_MLFLOW_DISABLED": "true"}, False),  # another plugin's switch
        ({"OLGRAPH_RAY_DISABLED": "maybe"}, False),  # unreadable → default
    ],
)
def test_one_variable_switches_a_plugin_off(env: dict[str, str], disabled: bool) -> None:
    assert c.PluginSettings.from_env("ray", env).disabled is disabled


def test_settings_read_debug_errors_and_flush_timeout() -> None:
    s = c.PluginSettings.from_env(
        "ray",
        {"OLGRAPH_RAY_DEBUG": "on", "OLGRAPH_RAY_IGNORE_ERRORS": "false", "OLGRAPH_RAY_FLUSH_TIMEOUT": "0.5"},
    )
    assert (s.debug, s.ignore_errors, s.flush_timeout) == (True, False, 0.5)
    assert c.PluginSettings.from_env("ray", {"OLGRAPH_RAY_FLUSH_TIMEOUT": "-3"}).flush_timeout == 5.0
    assert c.PluginSettings.from_env("ray", {"OLGRAPH_RAY_FLUSH_TIMEOUT": "soon"}).flush_timeout == 5.0


def test_debug_setting_logs_to_stderr_once() -> None:
    settings = c.PluginSettings(plugin="unit-debug", debug=True)
    logger = c.plugin_logger(settings)
    c.plugin_logger(settings)
    assert logger.level == logging.DEBUG
    assert sum(getattr(h, "_olgraph", False) for h in logger.handlers) == 1


def test_openlineage_configuration_is_detected_without_the_client(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert not c.openlineage_configured({"HOME": home}, cwd=tmp_path)
    assert c.openlineage_configured({"HOME": home, "OPENLINEAGE_URL": "http://x"}, cwd=tmp_path)
    assert c.openlineage_configured({"HOME": home, "OPENLINEAGE__TRANSPORT__TYPE": "kafka"}, cwd=tmp_path)
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert c.openlineage_configured({"HOME": home}, cwd=tmp_path)


# --------------------------------------------------------------------------- the guard


def test_guard_swallows_and_warns_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    settings = c.PluginSettings(plugin="unit")
    guard = c.Guard(settings, logging.getLogger("olgraph.integrations.unit"))
    with caplog.at_level(logging.DEBUG, logger="olgraph.integrations.unit"):
        for _ in range(3):
            with guard("create_run"):
                raise ConnectionError("collector down")
        with guard("log_inputs"):
            raise ValueError("odd uri")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(" failed")[0] for r in warnings] == [
        "olgraph unit plugin: create_run",
        "olgraph unit plugin: log_inputs",
    ]
    assert "OLGRAPH_UNIT_DEBUG=true" in warnings[0].getMessage()
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4


def test_guard_raises_when_asked_to() -> None:
    guard = c.Guard(c.PluginSettings(plugin="unit", ignore_errors=False), logging.getLogger("t"))
    with pytest.raises(ZeroDivisionError), guard("math"):
        _ = 1 / 0


# --------------------------------------------------------------------------- the emitter


def _recording_emitter(**kwargs: Any) -> tuple[c.Emitter, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    emitter = c.Emitter(
        c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=lambda: sent.append, **kwargs
    )
    return emitter, sent


def test_emitter_sends_in_order_off_the_calling_thread() -> None:
    threads: list[str] = []
    sent: list[int] = []

    def sender() -> Any:
        def send(event: dict[str, Any]) -> None:
            threads.append(threading.current_thread().name)
            sent.append(event["n"])

        return send

    emitter = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender)
    for n in range(200):
        emitter.emit({"n": n})
    assert emitter.flush(10)
    assert sent == list(range(200))
    assert set(threads) == {"olgraph-unit-emitter"}
    assert (emitter.sent, emitter.failed, emitter.dropped) == (200, 0, 0)


def test_a_failing_sender_never_reaches_the_caller() -> None:
    calls = 0

    def sender() -> Any:
        def send(event: dict[str, Any]) -> None:
            nonlocal calls
            calls += 1
            raise ConnectionRefusedError("nothing listens")

        return send

    emitter = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender)
    for n in range(5):
        emitter.emit({"n": n})
    assert emitter.flush(10)
    assert (calls, emitter.sent, emitter.failed) == (5, 0, 5)


def test_a_sender_that_cannot_be_built_counts_every_event_as_failed() -> None:
    def sender() -> Any:
        raise ImportError("openlineage-python is not installed")

    emitter = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender)
    emitter.emit({"n": 1})
    emitter.emit({"n": 2})
    assert emitter.flush(10)
    assert (emitter.sent, emitter.failed) == (0, 2)


def test_a_full_queue_drops_instead_of_blocking() -> None:
    gate = threading.Event()

    def sender() -> Any:
        def send(event: dict[str, Any]) -> None:
            gate.wait(10)

        return send

    emitter = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender, capacity=2)
    for n in range(10):
        emitter.emit({"n": n})  # returns at once although nothing can be sent
    assert emitter.dropped >= 7
    assert not emitter.flush(0.05)  # bounded: gives up while the sender is stuck
    gate.set()
    assert emitter.flush(10)
    assert emitter.sent + emitter.dropped == 10


def test_unsent_events_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    """A short workload that exits right after emitting still delivers (atexit flush)."""
    out = tmp_path / "events.jsonl"
    code = f"""
import logging, time
from olgraph.integrations import _common as c
def sender():
    def send(event):
        time.sleep(0.05)
        with open({str(out)!r}, "a") as f:
            f.write(str(event["n"]) + "\\n")
    return send
e = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender)
for n in range(5):
    e.emit({{"n": n}})
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert out.read_text().split() == ["0", "1", "2", "3", "4"]


def test_the_default_sender_uses_the_standard_client_configuration(tmp_path: Path) -> None:
    """Through openlineage-python's own file transport, configured only by its variables."""
    log = tmp_path / "ol.jsonl"
    event = c.run_event(
        "unit",
        "START",
        run_id=c.new_run_id(),
        job_namespace="ns",
        job_name="job",
        inputs=[c.dataset("file", "/data/in.csv")],
    )
    code = f"""
import json, logging
from olgraph.integrations import _common as c
e = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"))
e.emit(json.loads({json.dumps(json.dumps(event))}))
assert e.flush(30), "not sent"
assert e.sent == 1, (e.sent, e.failed)
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPENLINEAGE__TRANSPORT__TYPE": "file",
        "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(log),
        "OPENLINEAGE__TRANSPORT__APPEND": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    [written] = [json.loads(line) for line in log.read_text().splitlines()]
    assert written["run"]["runId"] == event["run"]["runId"]
    assert written["inputs"] == [
        {"namespace": "file", "name": "/data/in.csv", "facets": {}, "inputFacets": {}}
    ]


# --------------------------------------------------------------------------- events


def _without_empty(value: Any) -> Any:
    """The client writes absent facet maps as ``{}``; both mean the same."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v != {} and k != "schemaURL"}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def test_events_survive_conversion_to_the_client_objects() -> None:
    run_id = c.new_run_id()
    event = c.run_event(
        "unit",
        "COMPLETE",
        run_id=run_id,
        job_namespace="ns",
        job_name="job",
        run_facets={"custom_thing": {"_producer": "p", "_schemaURL": "s", "deep": {"a": [1, 2]}}},
        job_facets={"jobType": c.job_type_facet("unit", "RAY", "WORKLOAD")},
        inputs=[c.dataset("s3://b", "k", {"schema": c.schema_facet("unit", [{"name": "a", "type": "int"}])})],
        outputs=[c.dataset("file", "/o", output_facets={"x": {"_producer": "p", "_schemaURL": "s"}})],
    )
    sent = Serde.to_dict(c.to_openlineage(event))
    assert _without_empty(sent) == _without_empty(event)
    assert sent["schemaURL"].endswith("#/$defs/RunEvent")
    static = c.dataset_event(
        "unit", c.dataset("ns", "models/m", {"datasetType": c.dataset_type_facet("unit", "MODEL")})
    )
    sent_static = Serde.to_dict(c.to_openlineage(static))
    assert sent_static["dataset"] == static["dataset"]
    assert sent_static["schemaURL"].endswith("#/$defs/DatasetEvent")


def test_new_run_ids_are_uuid7_and_ordered_by_time() -> None:
    ids = [c.new_run_id(at=1_700_000_000 + n) for n in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_times_are_utc_strings() -> None:
    assert c.from_millis(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert c.now().endswith("Z")


def test_workload_facet_names_process_and_extra() -> None:
    f = c.Workload("ray", "job-1", {"rayVersion": "2.60.0", "skipped": None}).facet("ray")
    assert f["workloadType"] == "ray"
    assert f["workloadId"] == "job-1"
    assert f["rayVersion"] == "2.60.0"
    assert "skipped" not in f
    assert f["_schemaURL"].endswith("WorkloadRunFacet.json#/$defs/WorkloadRunFacet")
    assert {"pythonVersion", "os", "pid", "olgraphVersion"} <= set(f)


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/train.parquet", ("s3://bucket", "train.parquet")),
        ("s3a://bucket/dir/part/", ("s3://bucket", "dir/part")),
        ("gs://b/x/y.csv", ("gs://b", "x/y.csv")),
        ("abfss://c@acct.dfs.core.windows.net/p/q", ("abfss://c@acct.dfs.core.windows.net", "p/q")),
        ("hdfs://nn:8020/warehouse/t", ("hdfs://nn:8020", "/warehouse/t")),
        ("file:///data/in.csv", ("file", "/data/in.csv")),
        ("file:/data/in.csv", ("file", "/data/in.csv")),
        ("/data/dir/", ("file", "/data/dir")),
        ("dbfs:/mnt/x", ("dbfs", "/mnt/x")),
        ("s3://bucket/with%20space", ("s3://bucket", "with space")),
        ("s3://anonymous@bucket/k", ("s3://bucket", "k")),
        ("hdfs://etl:secret@nn:8020/t", ("hdfs://nn:8020", "/t")),
    ],
)
def test_dataset_identity_follows_the_openlineage_naming_conventions(
    uri: str, expected: tuple[str, str]
) -> None:
    assert c.dataset_identity(uri) == expected


def test_relative_paths_are_made_absolute(tmp_path: Path) -> None:
    assert c.dataset_identity("data/x.parquet", base=tmp_path) == ("file", str(tmp_path / "data/x.parquet"))
    assert c.dataset_identity("./a/../b", base=tmp_path) == ("file", str(tmp_path / "b"))


def test_a_forked_child_sends_its_own_events(tmp_path: Path) -> None:
    """After fork() the child has no sending thread; the emitter starts a new one there."""
    out = tmp_path / "sent.txt"
    code = f"""
import logging, os
from olgraph.integrations import _common as c
def sender():
    def send(event):
        with open({str(out)!r}, "a") as f:
            f.write(("child" if os.getpid() != parent else "parent") + " " + str(event["n"]) + "\\n")
    return send
parent = os.getpid()
e = c.Emitter(c.PluginSettings(plugin="unit"), logging.getLogger("t"), sender=sender)
e.emit({{"n": 0}})
assert e.flush(10)
pid = os.fork()
if pid == 0:
    e.emit({{"n": 1}})
    os._exit(0 if e.flush(10) else 3)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines() == ["parent 0", "child 1"]
