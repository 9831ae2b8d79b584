"""Processes and producers of the fault tests: real ``olgraph api`` / ``olgraph consume`` subprocesses.

* :class:`Processes` starts ``python -m olgraph api|consume`` with captured output on free
  ports, waits (bounded) for ``/readyz``, kills with SIGKILL or stops with SIGTERM, and reaps
  every process it started when the block ends, whatever happened.
* :class:`HttpProducer` sends a stream's events over HTTP from several threads (one chain is
  sent by one thread, in order, as one job's OpenLineage client would) and retries like the
  openlineage-python HTTP transport does (urllib3 ``Retry``: 5xx and connection errors,
  exponential back-off, ``Retry-After`` respected, a bounded number of attempts). It records
  every status it saw and which events were *acknowledged* (answered 2xx).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import httpx
import orjson
from fault_events import PlannedEvent, Stream

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
RETRIED_STATUSES = frozenset({500, 502, 503, 504})


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.05)


def olgraph_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment without OLGRAPH_*/OPENLINEAGE* settings, with ``src`` importable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"  # a SIGKILLed process's last lines are in its log too
    env["OLGRAPH_STORE__NEO4J__CREATE_SCHEMA"] = "true"  # the session's Neo4j may be fresh
    env.update(extra or {})
    return env


_PRIVATE_CREDENTIALS: dict[str, tuple[str, str]] = {}
"""user and password of each private Neo4j (:func:`private_server`), by Bolt URI."""


def neo4j_auth(uri: str) -> tuple[str, str] | None:
    """Credentials for ``uri``: a private server's generated password, or NEO4J_USERNAME/NEO4J_PASSWORD
    when it is the session's ``$NEO4J_URI`` server (tests/conftest.py sets them)."""
    if uri in _PRIVATE_CREDENTIALS:
        return _PRIVATE_CREDENTIALS[uri]
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    if user and password and uri == os.environ.get("NEO4J_URI"):
        return user, password
    return None


def _neo4j_settings(uri: str) -> dict[str, str]:
    auth = neo4j_auth(uri)
    return {"OLGRAPH_STORE__NEO4J__USER": auth[0], "OLGRAPH_STORE__NEO4J__PASSWORD": auth[1]} if auth else {}


@dataclass
class OlgraphProcess:
    """One running ``olgraph`` subprocess and where its output goes."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        """stdout and stderr of every incarnation, appended."""
        return self.log_dir / f"{self.name}.log"

    def output(self, last: int = 60) -> str:
        """The last ``last`` lines it printed (all incarnations)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no output)"
        return "\n".join(lines[-last:])

    def start(self) -> None:
        """Start (again): a restarted process appends to the same log."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} still runs"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.argv[1:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_dir
            )

    def running(self) -> bool:
        """Whether the current incarnation is alive."""
        return self.process is not None and self.process.poll() is None

    def assert_running(self) -> None:
        """Fail with its output when it died on its own."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}\n{self.output()}")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> float:
        """Poll ``/readyz`` until 200; return the seconds it took. Fails if the process dies."""
        started = time.monotonic()
        last = "no answer"
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() - started < timeout:
                self.assert_running()
                try:
                    response = client.get(self.health_url)
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if response.status_code == 200:
                        return time.monotonic() - started
                    last = f"{response.status_code} {response.text[:300]}"
                time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready within {timeout}s (last: {last})\n{self.output()}")

    def readiness(self) -> tuple[int, str]:
        """One ``/readyz`` answer: status and body (0 and the error when it does not answer)."""
        try:
            response = httpx.get(self.health_url, timeout=10.0)
        except httpx.TransportError as exc:
            return 0, repr(exc)
        return response.status_code, response.text

    def kill(self) -> None:
        """SIGKILL and reap: no shutdown code runs, in-flight work is lost mid-way."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> int:
        """SIGTERM (graceful shutdown) and the exit code; SIGKILL and fail when it hangs past the bound."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(
                f"{self.name} ignored SIGTERM for {STOP_TIMEOUT}s\n{self.output()}"
            ) from None


@dataclass
class Processes:
    """The olgraph processes of one test; :func:`olgraph_processes` reaps them all."""

    log_dir: Path
    started: list[OlgraphProcess] = field(default_factory=list)

    def api(
        self, kafka: str, topic: str, neo4j_uri: str, env: dict[str, str] | None = None
    ) -> OlgraphProcess:
        """Start ``olgraph api`` on a free port and wait until ready; ``.base_url`` is set on it."""
        port = free_port()
        argv = [sys.executable, "-m", "olgraph", "api", "--kafka-bootstrap", kafka, "--topic", topic]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--neo4j-uri", neo4j_uri]
        settings = {"OLGRAPH_SERVER__RETRY_AFTER_SECONDS": "1", **_neo4j_settings(neo4j_uri), **(env or {})}
        return self._launch(f"api-{len(self.started)}", argv, settings, f"http://127.0.0.1:{port}")

    def consumer(
        self, kafka: str, topic: str, neo4j_uri: str, group: str, dlq: str, env: dict[str, str] | None = None
    ) -> OlgraphProcess:
        """Start ``olgraph consume`` in ``group`` and wait until its health port says ready."""
        port = free_port()
        argv = [sys.executable, "-m", "olgraph", "consume", "--kafka-bootstrap", kafka]
        argv += ["--neo4j-uri", neo4j_uri, "--group", group, "--topic", topic]
        argv += ["--dead-letter-topic", dlq, "--health-port", str(port)]
        settings = {"OLGRAPH_CONSUMER__BACKOFF_MAX_SECONDS": "1", **_neo4j_settings(neo4j_uri), **(env or {})}
        return self._launch(f"consume-{len(self.started)}", argv, settings, f"http://127.0.0.1:{port}")

    def _launch(self, name: str, argv: list[str], settings: dict[str, str], base: str) -> OlgraphProcess:
        process = OlgraphProcess(name, argv, olgraph_env(settings), f"{base}/readyz", self.log_dir)
        self.started.append(process)
        process.start()
        process.wait_ready()
        return process

    def reap(self) -> None:
        """Kill whatever still runs and wait for it, so no test leaves a process behind."""
        for process in self.started:
            if process.process is not None and process.process.poll() is None:
                process.process.kill()
                process.process.wait(timeout=STOP_TIMEOUT)

    def outputs(self) -> str:
        """Every process's recent output, for a failure message."""
        return "\n".join(f"--- {p.name} ---\n{p.output(40)}" for p in self.started)


@contextmanager
def olgraph_processes(log_dir: Path) -> Iterator[Processes]:
    """A :class:`Processes` whose every process is killed and reaped when the block ends."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes(log_dir)
    try:
        yield processes
    finally:
        processes.reap()


def base_url(process: OlgraphProcess) -> str:
    """The HTTP base URL of an ``olgraph api`` process."""
    return process.health_url.removesuffix("/readyz")


# --- the producer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """urllib3 ``Retry`` semantics as openlineage-python configures them (its defaults: 5 and 0.3)."""

    total: int = 5
    backoff_factor: float = 0.3
    backoff_max: float = 120.0
    request_timeout: float = 30.0

    def delay(self, retry: int, retry_after: str | None) -> float:
        """Seconds before retry number ``retry`` (1-based); ``Retry-After`` wins when it is longer."""
        backoff = 0.0 if retry <= 1 else min(self.backoff_max, self.backoff_factor * 2 ** (retry - 1))
        if retry_after is not None and retry_after.strip().isdigit():
            return max(backoff, float(retry_after))
        return backoff


@dataclass
class Outcome:
    """What happened to one event: every answer (status, or the transport error's name) in order."""

    answers: list[str] = field(default_factory=list)
    finished_at: float = 0.0
    """``time.monotonic()`` of the last answer."""

    @property
    def acked(self) -> bool:
        """Answered 2xx in the end."""
        return bool(self.finished_at) and self.answers[-1].startswith("2")


@dataclass
class HttpProducer:
    """Sends ``stream`` to ``url`` from ``threads`` threads; see the module docstring."""

    url: str
    stream: Stream
    threads: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pause: float = 0.0
    only: range | None = None
    """The chains to send (by number); all of them when None."""
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _errors: list[BaseException] = field(default_factory=list)

    def start(self) -> HttpProducer:
        """Start sending in the background."""
        chains = [c for n, c in self.stream.chains().items() if self.only is None or n in self.only]
        for number in range(self.threads):
            mine = chains[number :: self.threads]
            worker = threading.Thread(target=self._run, args=(mine,), name=f"producer-{number}", daemon=True)
            self._workers.append(worker)
            worker.start()
        return self

    def join(self, timeout: float) -> None:
        """Wait (bounded) until every event was sent or given up on."""
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        alive = [w.name for w in self._workers if w.is_alive()]
        assert not alive, f"producers still sending after {timeout}s: {alive}; {self.summary()}"
        assert not self._errors, f"a producer thread crashed: {self._errors[0]!r}"

    def total(self) -> int:
        """How many events this producer is to send."""
        return sum(len(c) for n, c in self.stream.chains().items() if self.only is None or n in self.only)

    def sent(self) -> int:
        """Events finished so far (acknowledged or given up)."""
        with self._lock:
            return sum(1 for outcome in self.outcomes.values() if outcome.finished_at)

    def acked(self) -> list[int]:
        """Indexes of the acknowledged events."""
        with self._lock:
            return sorted(i for i, outcome in self.outcomes.items() if outcome.acked)

    def acked_between(self, start: float, end: float) -> int:
        """How many events were acknowledged between two ``time.monotonic()`` readings."""
        with self._lock:
            return sum(1 for o in self.outcomes.values() if o.acked and start <= o.finished_at <= end)

    def retried_then_acked(self) -> int:
        """Events that got a 5xx or a transport error first and were acknowledged in the end."""
        with self._lock:
            return sum(1 for o in self.outcomes.values() if o.acked and len(o.answers) > 1)

    def answers(self) -> Counter[str]:
        """How often each status (or transport error) was answered, over all attempts so far."""
        with self._lock:
            return Counter(a for outcome in self.outcomes.values() for a in outcome.answers)

    def summary(self) -> str:
        """Counts for failure messages."""
        return f"{self.sent()} sent, {len(self.acked())} acknowledged, answers {dict(self.answers())}"

    def _run(self, chains: Sequence[Sequence[PlannedEvent]]) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=self.retry.request_timeout) as client:
                for chain in chains:
                    for event in chain:
                        self._send(client, event)
                        if self.pause:
                            time.sleep(self.pause)
        except BaseException as exc:  # surfaced by join()
            self._errors.append(exc)

    def _answer(self, outcome: Outcome, answer: str) -> None:
        with self._lock:
            outcome.answers.append(answer)

    def _send(self, client: httpx.Client, event: PlannedEvent) -> None:
        outcome = Outcome()
        with self._lock:  # visible at once: the tests watch answers of events still retrying
            self.outcomes[event.index] = outcome
        body = orjson.dumps(event.body)
        headers = {"Content-Type": "application/json"}
        for attempt in range(self.retry.total + 1):
            retry_after = None
            try:
                response = client.post("/api/v1/lineage", content=body, headers=headers)
            except httpx.TransportError as exc:
                self._answer(outcome, type(exc).__name__)
            else:
                retry_after = response.headers.get("Retry-After")
                status = response.status_code
                # A 503 must say when to come back (the clients honour Retry-After).
                self._answer(
                    outcome,
                    f"{status} without Retry-After" if status == 503 and not retry_after else str(status),
                )
                if status not in RETRIED_STATUSES:
                    break  # 2xx: acknowledged; another 4xx: the client gives up too
            if attempt < self.retry.total:
                time.sleep(self.retry.delay(attempt + 1, retry_after))
        with self._lock:
            outcome.finished_at = time.monotonic()


# --- private servers ------------------------------------------------------------------------------


@dataclass
class PrivateServer:
    """A server of our own, in ``cache_dir``, that a test stops and starts again."""

    launcher: ModuleType
    cache_dir: Path
    address: str

    def stop(self) -> None:
        """Stop it (``down()``: SIGTERM, data kept)."""
        assert self.launcher.down(cache_dir=self.cache_dir), f"{self.launcher.NAME} was not running"

    def start(self) -> None:
        """Start it again and check it came back where it was (clients reconnect to the same address)."""
        info = self.launcher.up(cache_dir=self.cache_dir)
        assert info.started, f"{self.launcher.NAME} was already running"
        assert info.uri == self.address, (
            f"restarted {self.launcher.NAME} moved from {self.address} to {info.uri}: "
            "clients configured with the old address cannot reconnect"
        )


def private_server(launcher: ModuleType, cache_dir: Path) -> Iterator[PrivateServer]:
    """Start ``launcher``'s server in ``cache_dir`` for the generator's life; always stop it, then
    delete ``cache_dir`` (its own copy of the jars and a throwaway database)."""
    info = launcher.up(cache_dir=cache_dir, any_port=True)
    if info.user and info.password:
        _PRIVATE_CREDENTIALS[info.uri] = (info.user, info.password)
    try:
        yield PrivateServer(launcher, cache_dir, info.uri)
    finally:
        launcher.down(cache_dir=cache_dir)
        shutil.rmtree(cache_dir, ignore_errors=True)
