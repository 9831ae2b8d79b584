"""Building blocks shared by the local service launchers (Neo4j, Kafka).

Nothing here knows about a particular server: choosing a JDK, running Maven, picking ports,
spawning a detached process, and keeping a small JSON state file per service.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from olgraph.errors import ServiceError

CACHE_ENV = "OLGRAPH_SERVICES_CACHE"
JVM_ROOTS = (Path("/usr/lib/jvm"), Path("/Library/Java/JavaVirtualMachines"))


@dataclass(frozen=True)
class ServiceInfo:
    """Where a local service listens and whether its process is alive.

    ``started`` is True only on the value returned by the ``up()`` call that launched the
    process, so a caller (a test session, say) knows whether it owns the server.

    Example: ``ServiceInfo("neo4j", "bolt://127.0.0.1:7687", "http://127.0.0.1:7474", 4242, True)``
    """

    name: str
    uri: str
    http_url: str | None
    pid: int
    running: bool
    started: bool = False
    ui_url: str | None = None
    """A web UI for people, when the service has one (Neo4j Browser)."""
    user: str | None = None
    password: str | None = None
    """Credentials clients need (Neo4j's generated password), when the service has any."""


class Launcher(Protocol):
    """What the CLI needs from a service launcher module (see ``olgraph.devservices.neo4j``)."""

    def up(self, cache_dir: Path | None = None, *, any_port: bool = False) -> ServiceInfo:
        """Start the service unless it already runs; return where it listens.

        ``any_port``: free ports of the system's choosing instead of the service's defaults
        (what the test suite wants: its servers never take 7687 or 9092).
        """
        ...

    def down(self, cache_dir: Path | None = None) -> bool:
        """Stop the service; return False when it was not running."""
        ...

    def status(self, cache_dir: Path | None = None) -> ServiceInfo | None:
        """Describe the last started instance, or None when there is none."""
        ...


def progress(message: str) -> None:
    """Tell the user, on stderr, what a slow step is doing."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def services_root(cache_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Return the folder holding one subfolder per service.

    Precedence: the ``cache_dir`` argument, then ``$OLGRAPH_SERVICES_CACHE``, then
    ``~/.cache/olgraph/services``.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    configured = (os.environ if env is None else env).get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "olgraph" / "services"


# --- JDK -------------------------------------------------------------------------------------------


def java_major_version(java_home: Path) -> int | None:
    """Read the major Java version from a JDK's ``release`` file (``JAVA_VERSION="17.0.15"``)."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "JAVA_VERSION":
            parts = value.strip().strip('"').split(".")
            major = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]
            return int(major) if major.isdecimal() else None
    return None


def _is_accepted_jdk(java_home: Path, accepted: tuple[int, ...]) -> bool:
    return (java_home / "bin" / "java").is_file() and java_major_version(java_home) in accepted


def _jdks_under(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            mac_home = child / "Contents" / "Home"
            yield mac_home if mac_home.is_dir() else child


def find_java_home(
    accepted: tuple[int, ...],
    java_home_env: str | None = None,
    roots: Iterable[Path] = JVM_ROOTS,
) -> Path:
    """Pick a JDK whose major version is in ``accepted``, never just the ``java`` first on PATH.

    ``$JAVA_HOME`` (passed as ``java_home_env``) wins when its version is accepted; otherwise the
    JDKs under ``roots`` are considered and the newest accepted one is chosen.
    Example: ``find_java_home((17, 21), os.environ.get("JAVA_HOME"))``.
    """
    roots = tuple(roots)
    if java_home_env:
        if _is_accepted_jdk(Path(java_home_env), accepted):
            return Path(java_home_env).resolve()
        progress(f"ignoring JAVA_HOME={java_home_env}: not a Java {_versions(accepted)} JDK")
    found = {home.resolve() for home in _jdks_under(roots) if _is_accepted_jdk(home, accepted)}
    if not found:
        raise ServiceError(
            f"no Java {_versions(accepted)} JDK found (looked at $JAVA_HOME and "
            f"{', '.join(map(str, roots))}); install one "
            f"(e.g. apt-get install openjdk-{accepted[0]}-jdk-headless) or point JAVA_HOME at it"
        )
    return max(found, key=lambda home: (java_major_version(home) or 0, str(home)))


def _versions(accepted: tuple[int, ...]) -> str:
    return " or ".join(str(version) for version in accepted)


# --- Maven -----------------------------------------------------------------------------------------


def fetch_jars(root: Path, lib: Path, pom: str, label: str, java_home: Path) -> None:
    """Copy the dependencies of ``pom`` into ``lib`` with Maven, unless ``lib`` already holds them.

    A marker file records the pom's digest, so changing the pinned versions fetches afresh and
    an interrupted fetch is redone. ``label`` names what is fetched in the progress lines.
    """
    marker = root / "lib.complete"
    digest = hashlib.sha256(pom.encode()).hexdigest()
    if lib.is_dir() and marker.is_file() and marker.read_text().strip() == digest:
        return
    root.mkdir(parents=True, exist_ok=True)
    remove_file(marker)
    shutil.rmtree(lib, ignore_errors=True)  # stale jars of another version would clash
    (root / "pom.xml").write_text(pom, encoding="utf-8")
    progress(f"fetching {label} jars from Maven Central into {lib} (first run only)…")
    started = time.monotonic()
    goals = ["dependency:copy-dependencies", f"-DoutputDirectory={lib.name}", "-DincludeScope=runtime"]
    run_maven(root, goals, java_home, root / "mvn.log")
    marker.write_text(digest + "\n", encoding="utf-8")
    progress(f"fetched {len(list(lib.glob('*.jar')))} jars in {time.monotonic() - started:.0f}s")


def run_maven(project_dir: Path, goals: list[str], java_home: Path, log_path: Path) -> None:
    """Run ``mvn -q -B <goals>`` in ``project_dir`` with ``java_home``; raise with the log tail on failure."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("mvn not found on PATH; install Maven 3.8+ (e.g. apt-get install maven)")
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    with log_path.open("wb") as log:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [mvn, "-q", "-B", *goals],
            check=False,
            cwd=project_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise ServiceError(f"mvn failed with exit code {result.returncode}:\n{tail(log_path)}")


# --- ports -----------------------------------------------------------------------------------------


def port_is_free(port: int, host: str = "127.0.0.1", *, reuse_address: bool = True) -> bool:
    """True when nothing listens on ``host:port``.

    With ``reuse_address`` (SO_REUSEADDR, as most JVM server sockets bind) connections lingering
    in TIME_WAIT do not count; without it they do (Neo4j's HTTP server cannot bind over them).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int, taken: Iterable[int] = (), host: str = "127.0.0.1") -> int:
    """Return ``preferred`` if it is free and not in ``taken``, else (or for 0) a free ephemeral port."""
    excluded = set(taken)
    if preferred and preferred not in excluded and port_is_free(preferred, host):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in excluded:
            return port


def reuse_ports(
    record: Path, defaults: Mapping[str, int], host: str = "127.0.0.1", *, any_port: bool = False
) -> dict[str, int]:
    """Choose one port per name, preferring the one ``record`` remembers from the last start.

    A restarted server then keeps its address (clients and tests that stop and restart it
    reconnect where they were); a remembered or default port that is busy is replaced by a
    free one. The choice is written back to ``record``, which outlives ``down()``.
    ``any_port``: free ports of the system's choosing instead of ``defaults`` (a service's
    well-known ports), which are then never taken, even when ``record`` remembers them from a
    start that was not asked for free ports.
    Example: ``reuse_ports(root / "ports.json", {"bolt": 7687, "http": 7474})``.
    """
    remembered = read_json(record) or {}
    avoid = list(defaults.values()) if any_port else []
    chosen: dict[str, int] = {}
    for name, default in defaults.items():
        preferred = remembered.get(name)
        if not isinstance(preferred, int) or not 0 < preferred < 65536:
            preferred = 0 if any_port else default  # 0: any free port
        chosen[name] = choose_port(preferred, taken=[*chosen.values(), *avoid], host=host)
    record.parent.mkdir(parents=True, exist_ok=True)
    write_json(record, chosen)
    return chosen


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on TCP ``port`` (Linux ``/proc``).

    None where that cannot be told (no ``/proc``, or no permission to look at ``pid``'s file
    descriptors): callers then rely on a protocol-level check alone.
    """
    inodes = _listening_inodes(port)
    if inodes is None:
        return None
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except PermissionError:
        return None
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def _listening_inodes(port: int) -> set[str] | None:
    """Inodes of the sockets in state LISTEN on ``port`` (IPv4 and IPv6), or None without ``/proc``."""
    inodes: set[str] = set()
    found_table = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes if found_table else None


# --- processes -------------------------------------------------------------------------------------


def run_logged(argv: list[str], env: Mapping[str, str], log_path: Path, timeout: float) -> None:
    """Run a short-lived helper command to completion, output to ``log_path``; raise with its tail."""
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                argv,
                check=False,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(f"{argv[0]} did not finish within {timeout:.0f}s:\n{tail(log_path)}") from exc
        except OSError as exc:
            raise ServiceError(f"cannot run {argv[0]}: {exc}") from exc
    if result.returncode != 0:
        raise ServiceError(f"{argv[0]} failed with exit code {result.returncode}:\n{tail(log_path)}")


def spawn_detached(argv: list[str], env: Mapping[str, str], log_path: Path) -> int:
    """Start ``argv`` in a new session with stdin from /dev/null and stdout+stderr appended to a log.

    ``posix_spawn`` instead of ``subprocess.Popen``: the server outlives us, and a Popen object
    that is garbage-collected while its child still runs emits a ResourceWarning.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        return os.posix_spawn(argv[0], argv, dict(env), file_actions=actions, setsid=True)
    except OSError as exc:
        raise ServiceError(f"cannot start {argv[0]}: {exc}") from exc


def is_our_process(pid: int, *markers: str) -> bool:
    """Whether ``pid`` lives and is the server we started: its command line holds every marker
    (main class, instance path), so a recycled pid of some other program is not mistaken for it."""
    if not process_alive(pid):
        return False
    cmdline = process_cmdline(pid)  # None off Linux: trust the pid
    return cmdline is None or all(marker in cmdline for marker in markers)


def process_alive(pid: int) -> bool:
    """True when ``pid`` runs; reaps it first if it is our own exited child (a zombie)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_cmdline(pid: int) -> str | None:
    """The command line of ``pid`` from /proc, or None where /proc is unavailable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def terminate(pid: int, grace: float = 60.0) -> None:
    """Send SIGTERM to the process group of ``pid``, then SIGKILL if it outlives ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process_alive(pid):
                return
            time.sleep(0.2)
    raise ServiceError(f"process {pid} did not exit after SIGKILL")


# --- files -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` so concurrent launchers do not start a server twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def secret_file(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path`` (mode 0600), made with ``make()`` and written on first use."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        path.chmod(0o600)
        return text
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)
    return secret


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` atomically (temp file + rename) so readers never see half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    """Read a JSON object written by :func:`write_json`; None when the file is missing or corrupt."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_file(path: Path) -> None:
    """Delete ``path`` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file, or a note that it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])
