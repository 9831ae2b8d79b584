"""What the benchmark sections share: results files, percentiles, services, olgraph processes, memory.

Every section of ``make bench`` (``bench/run.py``) is a module under ``bench/`` with a
``run(config) -> dict`` function; it writes its result with :func:`write_result` as
``bench/results/<section>.json``, which ``bench/report.py`` turns into Markdown and charts.
Nothing here is part of the product package.

Example::

    with service("neo4j", Path("/tmp/bench-svc")) as uri, OlgraphProcess.start(
        ["serve", "--neo4j-uri", uri], data_dir=Path("/tmp/bench-data")
    ) as server:
        ...  # POST events to server.url, then wait_applied(server.url, accepted)
        print(server.peak_rss_mib())
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
_LISTENING = re.compile(r"(?:listening|health) on (http://\S+)")
"""``serve``/``api`` print ``listening on URL``; ``consume`` prints ``health on URL``."""


# --- configuration and results ------------------------------------------------------------------


SIZES = (10_000, 100_000, 1_000_000)
"""Graph sizes in nodes (``WorkloadSpec.nodes``) of a full run."""
QUICK_SIZES = (2_000, 10_000)
"""Graph sizes of ``make bench-quick``: minutes, for trying the harness, not for quoting."""


@dataclass(frozen=True)
class BenchConfig:
    """What ``bench/run.py`` hands every section's ``run(config)``.

    ``sizes``: graph sizes (nodes) to measure; ``seed``: the workloads' seed; ``work_dir``:
    scratch space the section may fill (data dirs, NDJSON files); ``services_cache``: where
    dev Neo4j/Kafka live (:func:`service`); ``quick``: a short run (fewer repetitions, shorter
    sustained phases); ``results_dir``: where results and charts go.
    """

    sizes: tuple[int, ...] = SIZES
    seed: int = 1
    work_dir: Path = Path(tempfile.gettempdir()) / "olgraph-bench"
    services_cache: Path = Path(tempfile.gettempdir()) / "olgraph-bench" / "services"
    quick: bool = False
    results_dir: Path = RESULTS
    neo4j_env: Mapping[str, str] = field(
        default_factory=lambda: {"OLGRAPH_NEO4J_HEAP": "2g", "OLGRAPH_NEO4J_PAGECACHE": "4g"}
    )
    """Applied when a section starts Neo4j: a million-node graph should fit the page cache."""

    @classmethod
    def quick_run(cls, **overrides: Any) -> BenchConfig:
        """The ``make bench-quick`` configuration (``overrides`` win, ``sizes`` included)."""
        return cls(**{"sizes": QUICK_SIZES, "quick": True, **overrides})


def section_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every section's command line has (add its own, then :func:`config_from`)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small graphs and short phases")
    parser.add_argument("--sizes", help="comma-separated graph sizes in nodes, e.g. 10000,100000")
    parser.add_argument("--seed", type=int, default=1, help="workload seed")
    parser.add_argument("--work-dir", type=Path, help="scratch folder (default: a folder under /tmp)")
    parser.add_argument("--services-cache", type=Path, help="where dev Neo4j/Kafka live (default: work dir)")
    return parser


def config_from(args: argparse.Namespace) -> BenchConfig:
    """The :class:`BenchConfig` the options of :func:`section_parser` ask for."""
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.sizes:
        overrides["sizes"] = tuple(int(size) for size in args.sizes.split(","))
    if args.work_dir:
        overrides |= {"work_dir": args.work_dir, "services_cache": args.work_dir / "services"}
    if args.services_cache:
        overrides["services_cache"] = args.services_cache
    return BenchConfig.quick_run(**overrides) if args.quick else BenchConfig(**overrides)


# A section's result document (``write_result``) is free-form JSON plus these keys, which
# ``bench/report.py`` renders generically:
#   "title": str                      heading of the section in the report
#   "summary": [ {"metric", "olgraph", "baseline", "baseline_name", "ratio", "unit", "note"} ]
#       headline rows; ratio = olgraph / baseline for rates, baseline / olgraph for latencies
#       (so > 1 means olgraph is better); baseline fields may be null
#   "tables": [ {"title", "columns": [str], "rows": [[cell, ...]]} ]
#   "charts": [ {"name" (file stem), "title", "kind": "bar" | "line", "x_label", "y_label",
#                "log_y": bool, "series": {label: [[x, y], ...]}} ]   (bar: x are categories)
#   "notes": [str]                    caveats, profiles, what a missed target needs


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max of latencies in milliseconds (nearest rank), and the sample count."""
    if not samples_ms:
        return {"n": 0}
    ordered = sorted(samples_ms)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(50), 3),
        "p95": round(rank(95), 3),
        "p99": round(rank(99), 3),
        "mean": round(sum(ordered) / len(ordered), 3),
        "max": round(ordered[-1], 3),
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on (the report prints it next to them)."""
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "revision": revision or None,
    }


def write_result(section: str, data: Mapping[str, Any], results_dir: Path = RESULTS) -> Path:
    """Write ``<results_dir>/<section>.json``: the section's data plus when and where it ran."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{section}.json"
    document = {
        "section": section,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def log(message: str) -> None:
    """Progress on stderr, with a timestamp (benchmarks run for minutes)."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- services ------------------------------------------------------------------------------------


@contextlib.contextmanager
def service(name: str, cache_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start olgraph's dev service ``name`` (``neo4j`` or ``kafka``) under ``cache_dir``; yield its URI.

    ``env`` is applied while it starts (e.g. ``OLGRAPH_NEO4J_PAGECACHE``). It listens on free
    ports of the system's choosing, never the service's defaults (7687, 9092), which another
    Neo4j or Kafka on the machine may hold. The service is stopped on exit only when this call
    started it.
    """
    from olgraph.devservices import launchers  # noqa: PLC0415 (keeps the driver off plain imports)

    launcher = launchers()[name]
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        info = launcher.up(cache_dir, any_port=True)
    except BaseException:  # interrupted while it started: do not leave a half-started server behind
        launcher.down(cache_dir)
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if info.user and info.password:
        NEO4J_AUTH[info.uri] = (info.user, info.password)
    try:
        yield info.uri
    finally:
        if info.started:
            launcher.down(cache_dir)


NEO4J_AUTH: dict[str, tuple[str, str]] = {}
"""user and password of each dev Neo4j :func:`service` started, by Bolt URI (the dev server
requires its generated password)."""


def neo4j_auth(uri: str) -> tuple[str, str] | None:
    """The credentials of the dev Neo4j at ``uri`` (None for a server of your own without auth)."""
    return NEO4J_AUTH.get(uri)


def neo4j_store_options(uri: str) -> tuple[str | None, str | None]:
    """``(user, password)`` for ``Neo4jStore(uri, user, password)``."""
    return neo4j_auth(uri) or (None, None)


APT_TIMEOUT = 900.0


def apt_install(package: str, present: Callable[[], bool]) -> None:
    """Install Debian's ``package`` unless ``present()``; a clear error when that cannot be done."""
    if present():
        return
    log(f"{package} is not installed: apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
        try:
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(
                f"cannot install {package} ({exc}); as root run: apt-get install -y {package}"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-10:])
            raise RuntimeError(f"{' '.join(argv)} failed; as root run: apt-get install -y {package}\n{tail}")
    if not present():
        raise RuntimeError(f"apt-get installed {package}, but it is still not found")


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- olgraph processes ---------------------------------------------------------------------------


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment without OLGRAPH_*/OPENLINEAGE* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["OLGRAPH_STORE__NEO4J__CREATE_SCHEMA"] = "true"  # the benchmarks' own Neo4j, emptied per section
    env.update(extra or {})
    return env


DEFAULT_LAUNCHER = ("-m", "olgraph")
"""How :meth:`OlgraphProcess.start` runs olgraph by default (between the interpreter and the command)."""


@dataclass
class OlgraphProcess:
    """A ``python -m olgraph <command>`` subprocess (serve, api, consume), its URL and memory."""

    command: str
    process: subprocess.Popen[bytes]
    stderr_path: Path
    url: str | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, RSS MiB), taken by :meth:`sample_memory`."""

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        args: Sequence[str],
        *,
        data_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        http: bool = True,
        ready_path: str = "/readyz",
        launcher: Sequence[str] = DEFAULT_LAUNCHER,
    ) -> Iterator[OlgraphProcess]:
        """Run ``olgraph *args`` until the block ends (SIGTERM, then SIGKILL after STOP_TIMEOUT).

        With ``http`` it waits for the ``listening on URL`` line and a 200 on ``ready_path``;
        ``serve`` and ``api`` get ``--port 0`` unless ``args`` chose a port. ``data_dir``
        becomes ``OLGRAPH_DATA_DIR``. ``launcher`` comes between the Python interpreter and
        ``args`` (the soak's tracemalloc launcher replaces ``-m olgraph``).
        """
        argv = list(args)
        if http and argv[0] in ("serve", "api") and "--port" not in argv:
            argv += ["--port", "0"]
        extra = dict(env or {})
        if "--neo4j-uri" in argv and (auth := neo4j_auth(argv[argv.index("--neo4j-uri") + 1])):
            extra |= {"OLGRAPH_STORE__NEO4J__USER": auth[0], "OLGRAPH_STORE__NEO4J__PASSWORD": auth[1]}
        if data_dir is not None:
            extra["OLGRAPH_DATA_DIR"] = str(data_dir)
        stderr = tempfile.NamedTemporaryFile(prefix=f"olgraph-{argv[0]}-", suffix=".log", delete=False)  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, *launcher, *argv],
            stdout=stderr,
            stderr=subprocess.STDOUT,
            env=clean_env(extra),
            start_new_session=True,
        )
        stderr.close()
        proc = cls(argv[0], process, Path(stderr.name))
        try:
            if http:
                proc.url = proc._wait_listening()
                proc._wait_ready(ready_path)
            yield proc
        finally:
            proc.stop()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def stderr_tail(self, lines: int = 30) -> str:
        """The last lines the process wrote (stdout and stderr go to one file)."""
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olgraph {self.command} exited:\n{self.stderr_tail()}")
            found = _LISTENING.search(self.stderr_path.read_text(errors="replace"))
            if found:
                return found.group(1).rstrip("/")
            time.sleep(0.1)
        raise RuntimeError(f"olgraph {self.command} did not start listening:\n{self.stderr_tail()}")

    def _wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}{path}", timeout=5).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"olgraph {self.command} never became ready:\n{self.stderr_tail()}")

    def stop(self) -> None:
        """SIGTERM the process group, wait, SIGKILL if it hangs."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def rss_mib(self) -> float:
        """Current resident memory (VmRSS), MiB."""
        return proc_memory_mib(self.pid, "VmRSS")

    def peak_rss_mib(self) -> float:
        """Peak resident memory since start (VmHWM), MiB."""
        return proc_memory_mib(self.pid, "VmHWM")

    @contextlib.contextmanager
    def sample_memory(self, every: float = 1.0) -> Iterator[list[tuple[float, float]]]:
        """Record (seconds, RSS MiB) in ``samples`` every ``every`` seconds while the block runs."""
        stop = threading.Event()
        started = time.monotonic()

        def loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError, ValueError):
                    self.samples.append((round(time.monotonic() - started, 2), self.rss_mib()))
                stop.wait(every)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self.samples
        finally:
            stop.set()
            thread.join()


def proc_memory_mib(pid: int, field_name: str) -> float:
    """``VmRSS``/``VmHWM`` (or another ``kB`` field) of ``/proc/<pid>/status``, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise ValueError(f"{field_name} not in /proc/{pid}/status")


_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces): field 3 onwards."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _CLOCK_TICK


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and everything it started: its own and its live descendants'
    user + system time, plus what their exited (reaped) children left in ``cutime``/``cstime``.

    PostgreSQL serves each connection from a child of the postmaster, and a server may run helper
    processes: a difference of two readings is what the whole tree spent between them.
    """
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):  # exited while we looked
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    if pid not in stats:
        raise ProcessLookupError(f"no process {pid}")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        fields = stats[current]
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        todo += children.get(current, [])
    return total / _CLOCK_TICK


def wait_applied(url: str, accepted: int, timeout: float = 3600.0, poll: float = 0.05) -> dict[str, Any]:
    """Poll an embedded server's ``/api/v1/stats`` until ``accepted`` events are applied or failed."""
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            stats = client.get("/api/v1/stats").json()
            if stats["applied"] + stats["failed"] >= accepted and stats["pending"] == 0:
                return stats
            time.sleep(poll)
    raise TimeoutError(f"not applied within {timeout}s: {stats}")
