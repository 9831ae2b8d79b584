"""Run a local single-node Kafka broker (KRaft) from Maven Central jars, without Docker.

Why and how tests use it: docs/architecture.md, "Real services in tests".

Layout under ``<services cache>/kafka/`` (see :func:`olgraph.devservices._common.services_root`)::

    pom.xml, lib/, lib.complete   the Maven project that fetches the jars once (its own lib folder)
    instance/server.properties    broker + controller config, generated on every start
    instance/log4j2.properties    logging config, generated on every start
    instance/data/                topics, committed offsets and KRaft metadata; kept by ``down()``
    instance/logs/                the broker's logs (server.log), format.log
    instance/console.log          the JVM's stdout and stderr
    ports.json                    the last ports used, preferred on the next start
    state.json                    pid, ports and cluster id of the running broker

Example::

    info = up()  # fetches jars on first use, formats storage once, starts, waits for a client
    print(info.uri)  # 127.0.0.1:9092  (a bootstrap-servers string)
    down()
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import time
import uuid
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from olgraph.devservices._common import (
    ServiceInfo,
    fetch_jars,
    file_lock,
    find_java_home,
    is_our_process,
    java_major_version,
    listens_on,
    port_accepts,
    process_alive,
    progress,
    read_json,
    remove_file,
    reuse_ports,
    run_logged,
    services_root,
    spawn_detached,
    tail,
    terminate,
    write_json,
)
from olgraph.devservices._maven import Artifact
from olgraph.devservices._maven import render_pom as maven_pom
from olgraph.errors import ServiceError

NAME = "kafka"
# The newest release whose every artifact is on Maven Central (4.4.0's kafka-tools-api jar is
# missing there); its classes target Java 17, and aiokafka 0.14 talks to 4.x brokers.
KAFKA_VERSION = "4.3.1"
# kafka_2.13 only brings slf4j-api; this is the log4j2 binding Kafka's own distribution ships.
LOG4J_VERSION = "2.25.3"
SERVER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
JAVA_VERSIONS = (17, 21)  # Kafka 4.x brokers need 17+; these two are the tested LTS releases
DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
NODE_ID = 1
START_TIMEOUT = 90.0
FORMAT_TIMEOUT = 120.0
HOST = "127.0.0.1"

# What bin/kafka-run-class.sh passes, minus JMX and GC logging, with a development-sized heap.
JVM_FLAGS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)


@dataclass(frozen=True)
class KafkaPaths:
    """Where the launcher keeps the Maven project, the broker instance, and its state."""

    root: Path

    @classmethod
    def under(cls, cache_dir: Path | None = None) -> KafkaPaths:
        """Paths for the Kafka service inside the services cache (``cache_dir`` or the default)."""
        return cls(services_root(cache_dir) / NAME)

    @property
    def lib(self) -> Path:
        """The folder the jars are copied into; the broker's classpath."""
        return self.root / "lib"

    @property
    def instance(self) -> Path:
        """Config, data and logs of the broker."""
        return self.root / "instance"

    @property
    def data(self) -> Path:
        """``log.dirs``: topics, committed offsets and the KRaft metadata log."""
        return self.instance / "data"

    @property
    def logs(self) -> Path:
        """The broker's own log files."""
        return self.instance / "logs"

    @property
    def server_properties(self) -> Path:
        """The broker's config file (its path also identifies our process on the command line)."""
        return self.instance / "server.properties"

    @property
    def log_config(self) -> Path:
        """The log4j2 configuration."""
        return self.instance / "log4j2.properties"

    @property
    def console_log(self) -> Path:
        """The JVM's stdout and stderr."""
        return self.instance / "console.log"

    @property
    def ports_file(self) -> Path:
        """The last ports used; kept by ``down()`` so a restart keeps the address."""
        return self.root / "ports.json"

    @property
    def state_file(self) -> Path:
        """Pid, ports and cluster id of the running broker."""
        return self.root / "state.json"


@dataclass(frozen=True)
class KafkaState:
    """What ``state.json`` records about a started broker."""

    pid: int
    port: int
    controller_port: int
    cluster_id: str
    version: str
    java_home: str

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:<port>``, what clients take as ``bootstrap_servers``."""
        return f"{HOST}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in ``state.json``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> KafkaState | None:
        """Parse ``state.json`` content; None when it is missing or malformed."""
        if data is None:
            return None
        try:
            return cls(
                pid=int(data["pid"]),
                port=int(data["port"]),
                controller_port=int(data["controller_port"]),
                cluster_id=str(data["cluster_id"]),
                version=str(data["version"]),
                java_home=str(data["java_home"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def render_pom(version: str = KAFKA_VERSION) -> str:
    """The Maven project whose only job is to copy the broker jars and a logging backend into ``lib/``."""
    dependencies = [
        Artifact("org.apache.kafka", "kafka_2.13", version),
        Artifact("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ]
    return maven_pom("olgraph.devservices.kafka", "kafka-server-jars", version, dependencies)


def render_server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """``server.properties`` of a combined broker+controller node listening on loopback only."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        # A static voter set: the controller's address comes from this file on every start, so a
        # restart on a different port cannot strand the quorum (a dynamic quorum stores it).
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        # One node: every internal topic has one replica.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # Several partitions by default, so partitioning and rebalancing are real in tests.
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        # Development-sized storage: small segments, a few days of retention, a small cleaner buffer
        # (the 128 MiB default would take a quarter of the heap).
        "log.segment.bytes": str(16 * 1024 * 1024),
        "log.retention.hours": "72",
        "log.retention.check.interval.ms": "300000",
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
    }
    lines = ["# Generated by olgraph.devservices.kafka on every start; edits are lost."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log_config(logs_dir: Path) -> str:
    """log4j2 config: INFO into ``logs/server.log`` (rolled at 10 MiB), nothing on the console."""
    appender = "appender.server"
    lines = [
        "# Generated by olgraph.devservices.kafka on every start; edits are lost.",
        "status = warn",
        # Kafka logs its own shutdown from a JVM shutdown hook; log4j's hook would stop logging first.
        "shutdownHook = disable",
        f"{appender}.type = RollingFile",
        f"{appender}.name = server",
        f"{appender}.fileName = {logs_dir / 'server.log'}",
        f"{appender}.filePattern = {logs_dir / 'server.log.%i'}",
        f"{appender}.layout.type = PatternLayout",
        f"{appender}.layout.pattern = [%d] %p %m (%c)%n",
        f"{appender}.policies.type = Policies",
        f"{appender}.policies.size.type = SizeBasedTriggeringPolicy",
        f"{appender}.policies.size.size = 10MB",
        f"{appender}.strategy.type = DefaultRolloverStrategy",
        f"{appender}.strategy.max = 3",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.server.ref = server",
        # One line per request at DEBUG; keep it quiet as Kafka's own config does.
        "logger.request.name = kafka.request.logger",
        "logger.request.level = WARN",
    ]
    return "\n".join(lines) + "\n"


def java_command(java_home: Path, lib_dir: Path, log_config: Path, main: str, *args: str) -> list[str]:
    """The argv that runs ``main`` (the broker or a tool) with the chosen JDK and our logging config."""
    return [
        str(java_home / "bin" / "java"),
        *JVM_FLAGS,
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp",
        f"{lib_dir}{os.sep}*",
        main,
        *args,
    ]


def format_args(cluster_id: str, server_properties: Path) -> list[str]:
    """Arguments of ``StorageTool`` that format empty log dirs once and leave formatted ones alone."""
    return ["format", "--cluster-id", cluster_id, "--config", str(server_properties), "--ignore-formatted"]


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: 16 bytes, URL-safe base64 without padding (22 chars)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids these too: they read as a command-line option
            return text


def formatted_cluster_id(data_dir: Path) -> str | None:
    """The ``cluster.id`` recorded in ``meta.properties`` of formatted log dirs, else None."""
    try:
        text = (data_dir / "meta.properties").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id" and value.strip():
            return value.strip()
    return None


def ensure_jars(paths: KafkaPaths, java_home: Path) -> None:
    """Fetch the broker jars with Maven unless ``lib/`` already holds the ones for this pom."""
    fetch_jars(paths.root, paths.lib, render_pom(), f"Kafka {KAFKA_VERSION}", java_home)


def broker_answers(bootstrap_servers: str, timeout: float = 5.0, cluster_id: str | None = None) -> bool:
    """True when an aiokafka admin client gets cluster metadata naming a broker at ``bootstrap_servers``
    (and, when ``cluster_id`` is given, the cluster is that one: our broker, not another's)."""
    try:
        return _run_coroutine(_describe_cluster(bootstrap_servers, timeout, cluster_id), timeout + 5.0)
    except Exception:  # any client failure means "not ready yet"
        return False


def up(
    cache_dir: Path | None = None, timeout: float = START_TIMEOUT, *, any_port: bool = False
) -> ServiceInfo:
    """Start the local Kafka broker unless it already runs, and wait until a client gets metadata.

    Idempotent: a healthy running broker is returned as is (``started=False``). A restart in the
    same cache dir keeps the topics, committed offsets and (when still free) the ports.
    ``any_port``: free ports instead of 9092/9093 on a first start.
    Raises :class:`ServiceError` when no Java 17/21 JDK or ``mvn`` is found, the fetch or the storage
    format fails, or the broker does not answer within ``timeout`` seconds (log tails in the message).
    """
    paths = KafkaPaths.under(cache_dir)
    with file_lock(paths.root / ".lock"):
        state = KafkaState.from_json(read_json(paths.state_file))
        if state is not None and _is_our_server(state, paths):
            _wait_ready(paths, state, timeout)
            return _info(state, running=True)
        java_home = find_java_home(JAVA_VERSIONS, os.environ.get("JAVA_HOME"))
        ensure_jars(paths, java_home)
        state = _start(paths, java_home, any_port=any_port)
        try:
            waited = _wait_ready(paths, state, timeout)
        except ServiceError:
            terminate(state.pid, grace=10.0)
            remove_file(paths.state_file)
            raise
        progress(f"kafka ready on {state.bootstrap_servers} after {waited:.1f}s")
        return _info(state, running=True, started=True)


def down(cache_dir: Path | None = None) -> bool:
    """Stop the local broker gracefully; return False when it was not running. Data and ports are kept."""
    paths = KafkaPaths.under(cache_dir)
    with file_lock(paths.root / ".lock"):
        state = KafkaState.from_json(read_json(paths.state_file))
        running = state is not None and _is_our_server(state, paths)
        if state is not None and running:
            progress(f"stopping kafka (pid {state.pid})…")
            terminate(state.pid, grace=60.0)
        remove_file(paths.state_file)
        return running


def status(cache_dir: Path | None = None) -> ServiceInfo | None:
    """Describe the last started broker (``running`` tells whether its process lives), or None."""
    paths = KafkaPaths.under(cache_dir)
    state = KafkaState.from_json(read_json(paths.state_file))
    if state is None:
        return None
    return _info(state, running=_is_our_server(state, paths))


def _start(paths: KafkaPaths, java_home: Path, *, any_port: bool = False) -> KafkaState:
    defaults = {"port": DEFAULT_PORT, "controller_port": DEFAULT_CONTROLLER_PORT}
    ports = reuse_ports(paths.ports_file, defaults, any_port=any_port)
    for folder in (paths.data, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)
    paths.server_properties.write_text(
        render_server_properties(paths.data, ports["port"], ports["controller_port"]), encoding="utf-8"
    )
    paths.log_config.write_text(render_log_config(paths.logs), encoding="utf-8")
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    cluster_id = _format_storage(paths, java_home, env)
    remove_file(paths.console_log)
    progress(
        f"starting kafka {KAFKA_VERSION} on {HOST}:{ports['port']} "
        f"(Java {java_major_version(java_home)} at {java_home})…"
    )
    argv = java_command(java_home, paths.lib, paths.log_config, SERVER_MAIN, str(paths.server_properties))
    pid = spawn_detached(argv, env, paths.console_log)
    port, controller_port = ports["port"], ports["controller_port"]
    state = KafkaState(pid, port, controller_port, cluster_id, KAFKA_VERSION, str(java_home))
    write_json(paths.state_file, state.to_json())
    return state


def _format_storage(paths: KafkaPaths, java_home: Path, env: dict[str, str]) -> str:
    """Format the log dirs on first start; later starts keep their data and cluster id."""
    existing = formatted_cluster_id(paths.data)
    if existing is not None:
        return existing
    cluster_id = new_cluster_id()
    progress(f"formatting kafka storage in {paths.data} (cluster id {cluster_id})…")
    args = format_args(cluster_id, paths.server_properties)
    argv = java_command(java_home, paths.lib, paths.log_config, STORAGE_TOOL, *args)
    run_logged(argv, env, paths.logs / "format.log", FORMAT_TIMEOUT)
    return cluster_id


def _wait_ready(paths: KafkaPaths, state: KafkaState, timeout: float) -> float:
    started = time.monotonic()
    while True:
        if not process_alive(state.pid):
            raise ServiceError(f"kafka (pid {state.pid}) exited during start-up\n{_log_tails(paths)}")
        # Ours, not a broker another process runs on the port: the listening socket is our
        # process's and the cluster id is the one we formatted.
        ours = listens_on(state.pid, state.port)
        if (
            ours is not False
            and port_accepts(state.port)
            and broker_answers(state.bootstrap_servers, cluster_id=state.cluster_id)
        ):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise ServiceError(
                f"kafka (pid {state.pid}) did not answer a metadata request on {state.bootstrap_servers} "
                f"within {timeout:.0f}s\n{_log_tails(paths)}"
            )
        time.sleep(0.5)


async def _describe_cluster(bootstrap_servers: str, timeout: float, cluster_id: str | None = None) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415 - keep aiokafka off the CLI's import

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
    finally:
        await admin.close()
    host, _, port = bootstrap_servers.rpartition(":")
    brokers = cluster.get("brokers", [])
    if cluster_id is not None and cluster.get("cluster_id") != cluster_id:
        return False
    return any(b.get("host") == host and str(b.get("port")) == port for b in brokers)


def _run_coroutine(coro: Coroutine[Any, Any, bool], timeout: float) -> bool:
    """Run ``coro`` on a fresh event loop in a worker thread, so callers inside a running loop work too."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-probe") as pool:
        return pool.submit(asyncio.run, coro).result(timeout)


def _is_our_server(state: KafkaState, paths: KafkaPaths) -> bool:
    return is_our_process(state.pid, SERVER_MAIN, str(paths.server_properties))


def _info(state: KafkaState, running: bool, started: bool = False) -> ServiceInfo:
    return ServiceInfo(NAME, state.bootstrap_servers, None, state.pid, running, started)


def _log_tails(paths: KafkaPaths) -> str:
    server_log = paths.logs / "server.log"
    return (
        f"--- {paths.console_log} ---\n{tail(paths.console_log, 20)}\n"
        f"--- {server_log} ---\n{tail(server_log, 40)}"
    )
