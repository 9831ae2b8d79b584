"""What the Ray Data plugin costs a workload: its import, and its time per execution.

Run as ``.venv/bin/python bench/plugins_ray.py [--executions N]``. It prints one JSON object:

- ``import``: ``olgraph.integrations.ray`` imported in a fresh interpreter (what Ray, or a
  ``.pth`` line, pays before any execution), and the first access to
  ``OpenLineageExecutionCallback`` once ``ray.data`` is loaded (builds the class, imports
  the plugin's state and event code); medians over fresh interpreters, in milliseconds;
- ``executions``: small executions (``read_parquet(…).materialize()`` and
  ``read_parquet(…).map_batches(…).write_parquet(…)``) on a local Ray, alternately without
  and with the callback; per execution the wall time of both (medians, ms) and the time
  spent inside the callback's hooks (median and p90, ms). Events go to the standard
  client's file transport in a temporary directory, so no network is involved.

The numbers are measured, not asserted; the wall-time difference is within Ray's own
run-to-run noise for executions this small, which is why the in-hook time is reported too.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import ray

import olgraph.integrations.ray as plugin
from olgraph.integrations.ray.callback import current
from olgraph.integrations.ray.lineage import RayLineage

IMPORT_RUNS = 7


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def _p90_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 2)


def measure_import() -> dict[str, float]:
    """Import times in fresh interpreters (``-X importtime`` for the module, a clock for the class)."""
    cumulative: list[float] = []
    class_build: list[float] = []
    code = (
        "import time, ray.data\n"
        "t = time.perf_counter()\n"
        "import olgraph.integrations.ray as plugin\n"
        "plugin.OpenLineageExecutionCallback\n"
        "print(time.perf_counter() - t)\n"
    )
    for _ in range(IMPORT_RUNS):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import olgraph.integrations.ray"],
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(x for x in done.stderr.splitlines() if x.rstrip().endswith("| olgraph.integrations.ray"))
        cumulative.append(int(re.split(r"\s*\|\s*", line)[1]) / 1e6)
        timed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        class_build.append(float(timed.stdout.strip()))
    return {
        "module_import_ms": _median_ms(cumulative),
        "callback_class_first_access_with_ray_data_loaded_ms": _median_ms(class_build),
    }


def _timed_hooks(durations: list[float]) -> None:
    """Wrap the plugin state's two hooks with a clock (the bench only; the plugin is unchanged)."""

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                durations.append(time.perf_counter() - start)

        return wrapper

    RayLineage.started = timed(RayLineage.started)  # type: ignore[method-assign]
    RayLineage.finished = timed(RayLineage.finished)  # type: ignore[method-assign]


def measure_executions(executions: int, work: Path) -> dict[str, Any]:
    """Alternate each pipeline without and with the callback; time both and the hooks."""
    source = work / "source.parquet"
    pq.write_table(pa.table({"id": list(range(100)), "name": [f"n{i}" for i in range(100)]}), source)
    hook_times: list[float] = []
    _timed_hooks(hook_times)

    def read_only(_: int) -> None:
        ray.data.read_parquet(str(source)).materialize()

    def read_write(i: int) -> None:
        ray.data.read_parquet(str(source)).map_batches(lambda b: b).write_parquet(str(work / f"out-{i}"))

    results: dict[str, Any] = {}
    for name, pipeline in (("read_materialize", read_only), ("read_map_write_parquet", read_write)):
        times: dict[bool, list[float]] = {False: [], True: []}
        hooks_before = len(hook_times)
        for i in range(executions + 2):  # the first round warms Ray and the plugin up
            for enabled in (False, True):
                if enabled:
                    plugin.install()
                start = time.perf_counter()
                pipeline(i * 2 + enabled)
                elapsed = time.perf_counter() - start
                if enabled:
                    os.environ["RAY_DATA_EXECUTION_CALLBACKS"] = ""
                if i >= 2:
                    times[enabled].append(elapsed)
        # two hook calls per execution; drop the warm-up executions' calls
        per_execution = [
            hook_times[j] + hook_times[j + 1] for j in range(hooks_before + 4, len(hook_times) - 1, 2)
        ]
        results[name] = {
            "executions": executions,
            "wall_without_callback_median_ms": _median_ms(times[False]),
            "wall_with_callback_median_ms": _median_ms(times[True]),
            "in_callback_median_ms": _median_ms(per_execution),
            "in_callback_p90_ms": _p90_ms(per_execution),
        }
    return results


def main() -> None:
    """Print the measurements as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--executions", type=int, default=20, help="measured executions per mode and pipeline"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="olb", dir="/tmp"))  # short: Ray's socket paths are limited
    atexit.register(shutil.rmtree, work, True)  # last: the plugin still writes its process run's end
    os.environ.update(
        {
            "OPENLINEAGE__TRANSPORT__TYPE": "file",
            "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(work / "events.jsonl"),
            "OPENLINEAGE__TRANSPORT__APPEND": "true",
            "OLGRAPH_RAY_JOB_NAME": "bench",
            "RAY_DATA_EXECUTION_CALLBACKS": "",
        }
    )
    report: dict[str, Any] = {"import": measure_import()}
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(work / "ray"), log_to_driver=False)
    try:
        report["ray_version"] = ray.__version__
        report["executions"] = measure_executions(args.executions, work)
        state = current()
        report["events_flushed"] = state is not None and state.emitter.flush(30)
    finally:
        ray.shutdown()
    events = (work / "events.jsonl").read_text().count("\n") if (work / "events.jsonl").exists() else 0
    report["events_written"] = events
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
