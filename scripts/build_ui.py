"""Build the web explorer (``ui/``) into the Python package when it is missing or stale.

``make ui`` (and so ``make run`` and ``make test``) and the wheel's hatch build hook call it.
Stale means: the digest of every input of the build (the lockfile, the sources, the build
configuration) differs from the one recorded by the last build. ``npm ci`` runs only when the
lockfile changed since ``node_modules`` was installed. Needs Node.js ≥ 20.19 and npm on PATH.

    python scripts/build_ui.py            # build if stale
    python scripts/build_ui.py --force    # build anyway
    python scripts/build_ui.py --check    # exit 1 if stale, build nothing
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UI = REPO / "ui"
STATIC = REPO / "src" / "olgraph" / "api" / "static"
BUILT_DIGEST = STATIC / ".ui-digest"
INSTALLED_DIGEST = UI / "node_modules" / ".olgraph-lock-digest"
OUTPUTS = (STATIC / "explorer" / "index.html", STATIC / "vendor" / "redoc" / "redoc.standalone.js")

INPUT_FILES = ("package.json", "package-lock.json", ".npmrc", "index.html", "tsconfig.json", "vite.config.ts")
INPUT_DIRS = ("src", "public", "scripts")
NPM_TIMEOUT = 900  # seconds: a cold `npm ci` on a busy machine


def _inputs() -> Iterator[Path]:
    for name in INPUT_FILES:
        yield UI / name
    for folder in INPUT_DIRS:
        yield from sorted(p for p in (UI / folder).rglob("*") if p.is_file())


def _digest(paths: Iterator[Path] | list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(UI).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def inputs_digest() -> str:
    """The digest of everything the build reads."""
    return _digest(_inputs())


def is_stale() -> bool:
    """True when the package holds no build, or one made from other inputs."""
    if not all(path.is_file() for path in OUTPUTS) or not BUILT_DIGEST.is_file():
        return True
    return BUILT_DIGEST.read_text().strip() != inputs_digest()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("building the explorer needs Node.js (>= 20.19) and npm on PATH; none was found")
    print(f"ui: npm {' '.join(args)}", flush=True)
    subprocess.run([npm, *args], cwd=UI, check=True, timeout=NPM_TIMEOUT)


def build(force: bool = False) -> bool:
    """Install the locked dependencies if needed and build; False when it was up to date."""
    if not force and not is_stale():
        return False
    lock = _digest([UI / "package-lock.json", UI / ".npmrc"])
    if not INSTALLED_DIGEST.is_file() or INSTALLED_DIGEST.read_text().strip() != lock:
        _npm("ci", "--no-audit", "--no-fund")
        INSTALLED_DIGEST.write_text(lock)
    _npm("run", "build")
    BUILT_DIGEST.write_text(inputs_digest())
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    parser.add_argument("--check", action="store_true", help="exit 1 when stale; build nothing")
    args = parser.parse_args()
    if args.check:
        stale = is_stale()
        print("ui: stale" if stale else "ui: up to date")
        sys.exit(1 if stale else 0)
    print("ui: built" if build(force=args.force) else "ui: up to date")


if __name__ == "__main__":
    main()
