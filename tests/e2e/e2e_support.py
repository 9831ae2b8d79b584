"""End-to-end fixtures: a real ``olgraph serve`` process, its clients, and a recording proxy.

``olgraph_server`` (a factory of :func:`run_server` contexts, for module-scoped fixtures) starts
``python -m olgraph serve`` as a subprocess on a free 127.0.0.1 port with its own data
directory (the embedded store, or Neo4j with ``neo4j_uri=``), optionally with API keys, waits
for ``/readyz``, and on exit stops it with SIGTERM and checks that it shut down cleanly.
Whatever the server wrote to stderr is attached to the report of a failing test.

``recording_proxy`` sits between a client and the server and records each request as it was
sent on the wire (headers and raw body), which is how the tests see that a client really
compressed its bodies without touching server code.

Test modules import the types and helpers from here (``from e2e_support import …``);
``conftest.py`` exposes the fixtures and the report hook to pytest; tests/docs/test_readme.py
loads this file by path for the same helpers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import GraphDatabase

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"

START_TIMEOUT = 60.0  # seconds until the start-up line and a ready /readyz
STOP_TIMEOUT = 20.0  # seconds for a graceful shutdown after SIGTERM
APPLY_TIMEOUT = 60.0  # seconds for the consumer to apply what was accepted
_LISTENING = re.compile(r"listening on (http://\S+)")

# Servers currently running, so a failing test's report can show their stderr.
_RUNNING: list[OlgraphServer] = []


@dataclass(frozen=True)
class ApiKeySpec:
    """An API key for the server under test: the secret stays in the test, the server gets its sha256."""

    name: str
    role: str
    secret: str

    def configured(self) -> dict[str, str]:
        """The ``OLGRAPH_AUTH__API_KEYS`` entry for this key."""
        return {
            "name": self.name,
            "role": self.role,
            "sha256": hashlib.sha256(self.secret.encode()).hexdigest(),
        }


@dataclass
class OlgraphServer:
    """A running ``olgraph serve`` subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    store: str
    stdout_path: Path
    stderr_path: Path

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        """Everything the server wrote to stdout so far."""
        return self.stdout_path.read_text(errors="replace")

    def client(self, api_key: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """An HTTP client on the server, sending ``api_key`` as a Bearer token when given."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def wait_applied(
    client: httpx.Client, timeout: float = APPLY_TIMEOUT, allow_failed: bool = False
) -> dict[str, Any]:
    """Poll ``/api/v1/stats`` until everything accepted is applied; return the final stats.

    Fails the test when the consumer has not caught up within ``timeout`` seconds, or (unless
    ``allow_failed``) when some accepted event was dead-lettered instead of applied.
    """
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get("/api/v1/stats")
        assert response.status_code == 200, response.text
        stats = response.json()
        if stats["applied"] + stats["failed"] == stats["accepted"] and stats["pending"] == 0:
            if not allow_failed:
                assert stats["failed"] == 0, f"events were dead-lettered: {stats}"
                assert stats["applied"] == stats["accepted"], stats
            return stats
        time.sleep(0.05)
    pytest.fail(f"the consumer did not apply every accepted event within {timeout}s: {stats}")


def _server_env(api_keys: list[ApiKeySpec], extra: Mapping[str, str]) -> dict[str, str]:
    """The subprocess environment: ours without OLGRAPH_*/OPENLINEAGE* settings, plus the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["OLGRAPH_CONSUMER__POLL_INTERVAL_SECONDS"] = "0.05"
    env["OLGRAPH_CONSUMER__BACKOFF_MAX_SECONDS"] = "0.5"
    env["OLGRAPH_STORE__NEO4J__CREATE_SCHEMA"] = "true"  # the session's Neo4j may be fresh
    if api_keys:
        env["OLGRAPH_AUTH__API_KEYS"] = json.dumps([key.configured() for key in api_keys])
    env.update(extra)
    return env


def _serve_command(data_dir: Path, neo4j_uri: str | None) -> list[str]:
    command = [sys.executable, "-m", "olgraph", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--data-dir", str(data_dir)]
    if neo4j_uri:
        command += ["--neo4j-uri", neo4j_uri]
        user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
        if user and password:
            command += ["--neo4j-user", user, "--neo4j-password", password]
    return command


def _wait_listening(server: OlgraphServer, deadline: float) -> str:
    """The base URL from the server's start-up line (it binds port 0, so the OS picks a free port)."""
    while time.monotonic() < deadline:
        found = _LISTENING.search(server.stdout())
        if found:
            return found.group(1)
        if server.process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(_describe(server, "never printed its start-up line"))


def _wait_ready(server: OlgraphServer, deadline: float) -> None:
    """Poll ``/readyz`` (no auth needed) until it answers 200."""
    last = "no answer"
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                response = client.get("/readyz")
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            time.sleep(0.1)
    raise AssertionError(_describe(server, f"was not ready within {START_TIMEOUT}s (last /readyz: {last})"))


def _describe(server: OlgraphServer, problem: str) -> str:
    code = server.process.poll()
    state = "running" if code is None else f"exited with {code}"
    return (
        f"olgraph serve ({server.store}) {problem}; process {state}\n"
        f"--- stdout ---\n{server.stdout()}\n--- stderr ---\n{server.stderr()}"
    )


def stop_server(server: OlgraphServer) -> None:
    """SIGTERM the server and check it shut down cleanly, in time.

    A clean stop exits 0 and prints ``olgraph stopped``. That the shutdown really was graceful is visible on
    disk: the event log's SQLite write-ahead file is checkpointed and removed only when the
    log is closed (a killed process leaves ``events.db-wal`` behind).
    """
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=STOP_TIMEOUT)
        raise AssertionError(_describe(server, f"did not stop within {STOP_TIMEOUT}s of SIGTERM")) from None
    assert code == 0, _describe(server, f"exited with {code} after SIGTERM")
    assert "olgraph stopped" in server.stderr(), _describe(server, "no 'olgraph stopped' line")
    assert "Traceback" not in server.stderr(), _describe(server, "logged a traceback")
    assert not (server.data_dir / "events.db-wal").exists(), _describe(server, "left its log unclosed")


@contextmanager
def run_server(
    data_dir: Path,
    *,
    neo4j_uri: str | None = None,
    api_keys: list[ApiKeySpec] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[OlgraphServer]:
    """Run ``olgraph serve`` on ``data_dir`` until the block ends (see the module docstring)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = (
        data_dir.parent / f"{data_dir.name}.stdout",
        data_dir.parent / f"{data_dir.name}.stderr",
    )
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            _serve_command(data_dir, neo4j_uri),
            env=_server_env(api_keys or [], env or {}),
            stdout=out,
            stderr=err,
            cwd=data_dir,
        )
    server = OlgraphServer(
        url="",
        process=process,
        data_dir=data_dir,
        store="neo4j" if neo4j_uri else "embedded",
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        server.url = _wait_listening(server, deadline)
        _wait_ready(server, deadline)
        _RUNNING.append(server)
        yield server
    finally:
        if server in _RUNNING:
            _RUNNING.remove(server)
        stop_server(server)


ServerFactory = Callable[..., AbstractContextManager[OlgraphServer]]


@pytest.fixture(scope="session")
def olgraph_server() -> ServerFactory:
    """The :func:`run_server` context manager, for module-scoped server fixtures."""
    return run_server


def empty_neo4j(uri: str) -> None:
    """Delete every node and relationship (indexes and constraints stay), as ``clean_neo4j`` does.

    Module-scoped servers cannot use the function-scoped ``clean_neo4j`` fixture, hence this.
    """
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    auth = (user, password) if user and password else None
    with GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the stderr of every running server to the report of a failing test."""
    report = yield
    if report.failed:
        for server in _RUNNING:
            report.sections.append((f"olgraph serve ({server.store}) stderr", server.stderr() or "(empty)"))
    return report


# --- a recording proxy --------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the client sent it, and the status the server answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class RecordingProxy:
    """A forwarding HTTP proxy on 127.0.0.1 that records every request it passes on."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)


def _proxy_handler(upstream: httpx.Client, proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _read_body(self) -> bytes:
            """The request body, sized by Content-Length or sent in chunks (the Java client's gzip)."""
            if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)

        def _forward(self) -> None:
            body = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            hop_by_hop = ("host", "connection", "content-length", "transfer-encoding")
            passed = {k: v for k, v in headers.items() if k not in hop_by_hop}
            answer = upstream.request(self.command, self.path, content=body, headers=passed)
            proxy.requests.append(RecordedRequest(self.command, self.path, headers, body, answer.status_code))
            self.send_response(answer.status_code)
            for name in ("content-type", "retry-after", "www-authenticate"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _forward  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the recorded requests are what the tests look at."""

    return Handler


@contextmanager
def run_recording_proxy(target: str) -> Iterator[RecordingProxy]:
    """A :class:`RecordingProxy` in front of ``target`` until the block ends."""
    proxy = RecordingProxy(url="")
    upstream = httpx.Client(base_url=target, timeout=30.0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(upstream, proxy))
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="recording-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
        upstream.close()


@pytest.fixture(scope="session")
def recording_proxy() -> Callable[[str], AbstractContextManager[RecordingProxy]]:
    """The :func:`run_recording_proxy` context manager."""
    return run_recording_proxy


def run_python(
    code: str, env: Mapping[str, str], cwd: Path, args: Sequence[str] = (), timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``args`` in a fresh interpreter whose environment is exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- a real `mlflow server` ------------------------------------------------------------------

MLFLOW_START_TIMEOUT = 120.0  # seconds: importing MLflow alone can take a while on a busy machine


@dataclass
class MlflowServerProcess:
    """A running ``mlflow server`` (SQLite backend) and its log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_mlflow_server(
    folder: Path, env: Mapping[str, str], extra_args: Sequence[str] = ()
) -> Iterator[MlflowServerProcess]:
    """``mlflow server`` on a free 127.0.0.1 port with a SQLite store in ``folder``, until the block ends.

    It runs in its own process group (it starts uvicorn workers and job runners), is waited
    for on ``/health`` within :data:`MLFLOW_START_TIMEOUT`, and the whole group is stopped at
    the end so nothing outlives the test.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # the console script, as users start it (the plugin must recognise the server by its command line)
    command = [str(Path(sys.executable).parent / "mlflow"), "server"]
    command += [
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        *extra_args,
    ]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=dict(env), cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = MlflowServerProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_mlflow_healthy(server)
        yield server
    finally:
        stop_process_group(process)


def _wait_mlflow_healthy(server: MlflowServerProcess) -> None:
    deadline = time.monotonic() + MLFLOW_START_TIMEOUT
    while time.monotonic() < deadline:
        log = server.log.read_text(errors="replace")
        assert server.process.poll() is None, f"mlflow server exited:\n{log}"
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"mlflow server not healthy in {MLFLOW_START_TIMEOUT}s:\n{server.log.read_text()}")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group a test started (``start_new_session``), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if _group_gone(process.pid, timeout=20):  # the workers follow their parent
            return


def _group_gone(group: int, timeout: float) -> bool:
    """Whether every process of ``group`` has exited, waiting at most ``timeout`` seconds for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)  # signal 0: only asks whether any member is left
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
