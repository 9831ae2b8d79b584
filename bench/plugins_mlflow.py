"""What the MLflow plugin costs a workload: ``import mlflow``, and time per MLflow call.

Run as ``.venv/bin/python bench/plugins_mlflow.py [--imports N] [--calls N]``. It prints one
JSON object:

- ``import``: ``import mlflow`` and the first MLflow call in fresh interpreters (median wall
  time, ms) in three setups: olgraph's entry points hidden from MLflow (the baseline), the
  entry points with the plugin switched off (``OLGRAPH_MLFLOW_DISABLED=true``), and on; and
  olgraph's own share, measured directly (``-X importtime`` cannot see it: MLflow loads entry
  points with ``importlib.import_module``, which it does not time): the entry-point module
  imported cold after MLflow, one builder (MLflow loads 16), and the rest of the plugin,
  imported at the first MLflow call;
- ``calls``: MLflow client calls on a file store and on a SQLite store, in one process, in
  alternating blocks with the plugin off and on; median and p90 microseconds per call, and
  the difference. "On" sends through openlineage-python's file transport to a temporary
  file (the real client, no network), so the emitter thread's work competes with the
  workload for the GIL as it would in a job.

The numbers are measured, not asserted.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore")  # MLflow's deprecation and schema hints are not what we measure

HIDE_OUR_ENTRY_POINTS = """
import importlib.metadata as metadata
_all = metadata.entry_points
def entry_points(**params):
    found = _all(**params)
    if "group" in params:
        return [e for e in found if not e.value.startswith("olgraph.")]
    return found
metadata.entry_points = entry_points
"""
IMPORT = """
import sys, time
started = time.perf_counter()
import mlflow
imported = time.perf_counter() - started
started = time.perf_counter()
mlflow.MlflowClient(tracking_uri=TRACKING).search_experiments()
first_call = time.perf_counter() - started
print(imported, first_call)
"""
# Our modules, imported cold after MLflow (whose own imports they share). `-X importtime` does
# not see them: MLflow loads entry points with importlib.import_module, which it does not time.
OUR_MODULES = """
import time, timeit
import mlflow
started = time.perf_counter()
import olgraph.integrations.mlflow.entrypoints as entrypoints
module = time.perf_counter() - started
builder = min(timeit.repeat(lambda: entrypoints.tracking_store, number=100, repeat=5)) / 100
started = time.perf_counter()
import olgraph.integrations.mlflow._artifacts
rest = time.perf_counter() - started
print(module, builder, rest)
"""


def import_costs(rounds: int) -> dict[str, Any]:
    """``import mlflow`` and the first call, in fresh interpreters, three setups."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE", "MLFLOW_"))}
    base["MLFLOW_ALLOW_FILE_STORE"] = "true"
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.jsonl"
        on = {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events)}
        setups = {
            "no_entry_points": (HIDE_OUR_ENTRY_POINTS, {}),
            "plugin_disabled": ("", {**on, "OLGRAPH_MLFLOW_DISABLED": "true"}),
            "plugin_on": ("", on),
        }
        result: dict[str, Any] = {}
        for name, (prelude, extra) in setups.items():
            code = f"TRACKING = {Path(folder, name).as_uri()!r}\n{prelude}{IMPORT}"
            times = [_run(code, {**base, **extra}) for _ in range(rounds)]
            result[name] = {
                "import_mlflow_ms": round(statistics.median(t[0] for t in times) * 1000, 1),
                "first_call_ms": round(statistics.median(t[1] for t in times) * 1000, 1),
            }
        ours = [_run(HIDE_OUR_ENTRY_POINTS + OUR_MODULES, base) for _ in range(rounds)]
        result["olgraph_share"] = {
            "entrypoints_module_cold_ms": round(statistics.median(t[0] for t in ours) * 1000, 2),
            "one_builder_us": round(statistics.median(t[1] for t in ours) * 1e6, 1),
            "builders_mlflow_loads": 7 + 8 + 1,  # tracking + artifact schemes, the context provider
            "rest_of_plugin_at_first_call_ms": round(statistics.median(t[2] for t in ours) * 1000, 2),
        }
    return result


def _run(code: str, env: dict[str, str]) -> tuple[float, ...]:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return tuple(float(x) for x in done.stdout.split())


# --------------------------------------------------------------------------- per call


def make_plugin(on: bool, events: Path) -> Any:
    """A plugin that is off, or on and sending with the standard client's file transport."""
    from olgraph.integrations import _common as c  # noqa: PLC0415 - after the import benchmark
    from olgraph.integrations.mlflow import plugin  # noqa: PLC0415

    environ = {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events)}
    os.environ.update({**environ, "OPENLINEAGE__TRANSPORT__APPEND": "true"})
    return plugin.Plugin(c.PluginSettings(plugin="mlflow"), environ=environ if on else {}, argv=["bench"])


def call_costs(calls: int) -> dict[str, Any]:
    """Median/p90 µs per call with the plugin off and on, file and SQLite stores."""
    import mlflow  # noqa: PLC0415 - after the import benchmark, which needs a cold MLflow
    import pandas as pd  # noqa: PLC0415

    from olgraph.integrations.mlflow import plugin  # noqa: PLC0415

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    root = Path(tempfile.mkdtemp(prefix="olgraph-bench-mlflow-"))
    # removed at exit, after the plugin's own exit hooks (registered later, so run earlier):
    # the process run ends, and writes its event, then
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.chdir(root)  # SQL stores put artifacts in ./mlruns by default
    (root / "artifact.txt").write_text("x" * 1024)
    plugins = {on: make_plugin(on, root / "events.jsonl") for on in (False, True)}
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, source="s3://bucket/train.parquet", name="train")  # type: ignore[attr-defined]
    inputs = [mlflow.entities.DatasetInput(dataset._to_mlflow_entity(), [])]
    stores = {
        "file": lambda on: (root / f"fs-{on}").as_uri(),
        "sqlite": lambda on: f"sqlite:///{root / f'db-{on}.sqlite'}",
    }
    results: dict[str, Any] = {}
    for store, uri_of in stores.items():
        samples: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
        for block in range(4):  # alternate off/on so drift hits both
            for on in (False, True):
                with plugin.use(plugins[on]):
                    client = mlflow.MlflowClient(tracking_uri=uri_of(on))  # type: ignore[no-untyped-call]
                    measure(client, Workload(inputs, root / "artifact.txt", calls // 4, block), samples[on])
        results[store] = _summarize(samples)
    plugins[True].emitter.flush(timeout=60)
    results["events_sent"] = plugins[True].emitter.sent
    return results


@dataclass
class Workload:
    """What each block of measured calls uses."""

    inputs: list[Any]
    artifact: Path
    calls: int
    block: int


def measure(client: Any, work: Workload, into: dict[str, list[float]]) -> None:
    """Time each observed (and one unobserved) client call ``work.calls`` times."""
    experiment = client.create_experiment(f"bench-{work.block}-{time.monotonic_ns()}")
    holder = client.create_run(experiment).info.run_id
    client.log_artifact(holder, str(work.artifact))
    dst = tempfile.mkdtemp()
    operations: dict[str, Callable[[], Any]] = {
        "create_run+set_terminated": lambda: client.set_terminated(client.create_run(experiment).info.run_id),
        "log_inputs": lambda: client.log_inputs(holder, work.inputs),
        "log_param (not observed)": lambda: client.log_param(holder, f"p{time.monotonic_ns()}", 1),
        "download_artifacts": lambda: client.download_artifacts(holder, "artifact.txt", dst),
    }
    for name, operation in operations.items():
        operation()  # warm up (first store build, first event)
        for _ in range(work.calls):
            started = time.perf_counter()
            operation()
            into.setdefault(name, []).append((time.perf_counter() - started) * 1e6)


def _summarize(samples: dict[bool, dict[str, list[float]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in samples[False]:
        off, on = sorted(samples[False][name]), sorted(samples[True][name])
        summary[name] = {
            "off_median_us": round(statistics.median(off)),
            "on_median_us": round(statistics.median(on)),
            "off_p90_us": round(off[int(len(off) * 0.9)]),
            "on_p90_us": round(on[int(len(on) * 0.9)]),
            "delta_median_us": round(statistics.median(on) - statistics.median(off)),
        }
    return summary


def main() -> None:
    """Measure and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=5, help="fresh interpreters per setup")
    parser.add_argument("--calls", type=int, default=200, help="calls per operation and setup")
    args = parser.parse_args()
    report = {"import": import_costs(args.imports), "calls": call_costs(args.calls)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
