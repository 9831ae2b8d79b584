"""Build Marquez Web 0.50.0 from its source tarball and serve it in front of a Marquez API.

Used by the browser tests of the Marquez-compatible API (``tests/e2e/test_marquez_web.py``).
The tarball (``$OLGRAPH_MARQUEZ_WEB_TARBALL``, else the copy beside this repository) is copied
to a scratch folder, unpacked, installed with ``npm ci`` (exactly its lockfile, from the npm
registry) and built with ``npm run build``; the result is cached under the services cache,
keyed by the tarball's digest::

    <services cache>/marquez-web/build-<digest>/web/   the sources, node_modules and dist/

Marquez Web's own ``setupProxy.js`` serves ``dist/`` and forwards ``/api/v1`` and
``/api/v2beta`` to ``MARQUEZ_HOST:MARQUEZ_PORT``, the one setting a deployment changes to point
it at another server. Nothing of Marquez Web is committed.

Example::

    with marquez_web(Path("/tmp/work"), "127.0.0.1", 5001) as url:
        page.goto(f"{url}/datasets")
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from _support import log

from marquez import file_digest
from olgraph.devservices._common import (
    choose_port,
    file_lock,
    process_alive,
    run_logged,
    services_root,
    spawn_detached,
    tail,
    terminate,
)
from olgraph.errors import ServiceError

TARBALL_ENV = "OLGRAPH_MARQUEZ_WEB_TARBALL"
DEFAULT_TARBALL = (
    Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "marquez" / "marquez-web-0.50.0.tar.gz"
)
SOURCE_DIR = "marquez-web-0.50.0"
BUILD_MARKER = "build.complete"
START_TIMEOUT = 60.0
NPM_TIMEOUT = 1800.0


def web_tarball() -> Path:
    """The Marquez Web tarball; raise when absent."""
    configured = os.environ.get(TARBALL_ENV)
    path = Path(configured).expanduser() if configured else DEFAULT_TARBALL
    if not path.is_file():
        raise ServiceError(
            f"no Marquez Web tarball at {path}: set {TARBALL_ENV} to marquez-web-0.50.0.tar.gz"
        )
    return path


def build_marquez_web(cache: Path) -> Path:
    """The built ``web/`` folder (with ``dist/`` and ``setupProxy.js``), built once per tarball."""
    tarball = web_tarball()
    digest = file_digest(tarball)
    root = cache / f"build-{digest[:16]}"
    web = root / "web"
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / "build.lock"):
        marker = root / BUILD_MARKER
        if (
            marker.is_file()
            and marker.read_text().strip() == digest
            and (web / "dist" / "index.html").is_file()
        ):
            return web
        shutil.rmtree(root, ignore_errors=True)
        log("building Marquez Web 0.50.0 (first run only: npm ci and webpack, a few minutes)")
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="marquez-web-build-", dir=cache))
        try:
            copy = scratch / tarball.name
            shutil.copyfile(tarball, copy)
            with tarfile.open(copy) as archive:
                archive.extractall(scratch, filter="data")
            source = scratch / SOURCE_DIR / "web"
            npm_log = scratch / "npm.log"
            npm = ["npm", "--prefix", str(source)]
            run_logged([*npm, "ci", "--no-audit", "--no-fund"], os.environ, npm_log, NPM_TIMEOUT)
            run_logged([*npm, "run", "build"], os.environ, scratch / "build.log", NPM_TIMEOUT)
            root.mkdir(parents=True)
            source.rename(web)
            marker.write_text(digest + "\n", encoding="utf-8")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        log(f"Marquez Web built in {time.monotonic() - started:.0f}s into {root}")
        return web


@contextlib.contextmanager
def marquez_web(work_dir: Path, api_host: str, api_port: int, cache_dir: Path | None = None) -> Iterator[str]:
    """Marquez Web's own server on a free port, pointed at the API on ``api_host:api_port``;
    yields its URL and stops it after."""
    web = build_marquez_web(services_root(cache_dir) / "marquez-web")
    port = choose_port(3000)
    log_path = work_dir / "marquez-web.log"
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MARQUEZ_HOST": api_host, "MARQUEZ_PORT": str(api_port), "WEB_PORT": str(port)}
    node = shutil.which("node")
    if node is None:
        raise ServiceError("Marquez Web needs Node.js (node) on the PATH")
    pid = spawn_detached([node, str(web / "setupProxy.js")], env, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, pid, log_path)
        yield url
    finally:
        terminate(pid)


def _wait_ready(url: str, pid: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200:
                return
        if not process_alive(pid):
            raise ServiceError(f"Marquez Web stopped during start-up:\n{tail(log_path)}")
        time.sleep(0.2)
    raise ServiceError(f"Marquez Web did not answer within {START_TIMEOUT:.0f}s:\n{tail(log_path)}")
