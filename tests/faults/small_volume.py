"""A real, small filesystem for the disk-full fault tests: a tmpfs in a private mount namespace.

Nothing is faked: SQLite writes to a real tmpfs of a few megabytes and gets the kernel's
``ENOSPC`` when it is full. The tmpfs is mounted in a mount namespace of its own, held open by
a ``sleep`` process, so the machine's mounts are never touched and nothing is left mounted
when the test ends (the namespace dies with the holder):

* as root: ``unshare --mount``;
* otherwise: ``unshare --user --map-root-user --mount``, which unprivileged users may do
  where the kernel allows user namespaces (most do).

Everything that must see the volume — the olgraph server, and the "operator" who frees space —
runs through :meth:`SmallVolume.command` (``nsenter`` into the namespace). "Space returns" the
way it does on a real machine: a file that took the room is deleted.

Example::

    with small_volume(tmp_path / "vol", size_mb=96) as volume:
        volume.fill(leave_mb=12)
        argv = volume.command([sys.executable, "-m", "olgraph", "serve", ...])
        ...
        volume.free()   # delete the filler: 96 MB free again
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FILLER = ".filler"


class VolumeUnavailable(Exception):
    """This machine cannot give the test a private tmpfs (no root, no user namespaces)."""


@dataclass
class SmallVolume:
    """A tmpfs mounted at ``path`` inside the mount namespace of process ``holder``."""

    path: Path
    holder: subprocess.Popen[bytes]
    user_namespace: bool

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the volume's namespace (the process keeps its PID: nsenter execs)."""
        flags = ["--preserve-credentials", "-U", "-m"] if self.user_namespace else ["-m"]
        return ["nsenter", *flags, "-t", str(self.holder.pid), *argv]

    def run(self, *argv: str) -> str:
        """Run a short command inside the namespace; its stdout (fails on a non-zero exit)."""
        done = subprocess.run(self.command(argv), capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()

    def fill(self, leave_mb: int) -> None:
        """Take all the room but ``leave_mb`` megabytes with a filler file."""
        free_kb = int(self.run("df", "-k", "--output=avail", str(self.path)).split()[-1])
        filler_kb = max(0, free_kb - leave_mb * 1024)
        self.run(
            "dd", "if=/dev/zero", f"of={self.path / FILLER}", "bs=1024", f"count={filler_kb}", "status=none"
        )

    def free(self) -> None:
        """Space returns: the filler file is deleted."""
        self.run("rm", "-f", str(self.path / FILLER))

    def available_bytes(self) -> int:
        """Free bytes on the volume, as ``df`` sees them inside the namespace."""
        return int(self.run("df", "-B1", "--output=avail", str(self.path)).split()[-1])


def _holder(path: Path, size_mb: int, as_root: bool) -> subprocess.Popen[bytes]:
    namespace = ["unshare", "--mount", "--propagation", "private"]
    if not as_root:
        namespace = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    script = f"mount -t tmpfs -o size={size_mb}m olgraph-test '{path}' && echo mounted && exec sleep 3600"
    return subprocess.Popen([*namespace, "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_mounted(holder: subprocess.Popen[bytes]) -> None:
    assert holder.stdout is not None
    line = holder.stdout.readline()  # bounded: the holder either prints it or exits
    if line.strip() != b"mounted":
        holder.wait(timeout=10)
        error = holder.stderr.read().decode(errors="replace") if holder.stderr else ""
        raise VolumeUnavailable(f"cannot mount a tmpfs in a private namespace: {error.strip()}")


@contextmanager
def small_volume(path: Path, size_mb: int) -> Iterator[SmallVolume]:
    """A private tmpfs of ``size_mb`` MB at ``path`` for the block's duration.

    Raises :class:`VolumeUnavailable` when neither root nor a user namespace is available.
    """
    for tool in ("unshare", "nsenter", "dd", "df"):
        if shutil.which(tool) is None:
            raise VolumeUnavailable(f"{tool} is not installed")
    path.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    holder = _holder(path, size_mb, as_root)
    try:
        _wait_mounted(holder)
        yield SmallVolume(path, holder, user_namespace=not as_root)
    finally:
        holder.kill()  # the namespace, and the tmpfs with it, go with its last process
        holder.wait(timeout=30)
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
