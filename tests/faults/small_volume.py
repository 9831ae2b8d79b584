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
SOURCE = "olgraph-test"


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


def _holder(path: Path, size_mb: int, as_root: bool, read_only: bool) -> subprocess.Popen[bytes]:
    namespace = ["unshare", "--mount", "--propagation", "private"]
    if not as_root:
        namespace = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    options = f"size={size_mb}m" + (",ro" if read_only else "")
    script = f"mount -t tmpfs -o {options} {SOURCE} '{path}' && echo mounted && exec sleep 3600"
    return subprocess.Popen([*namespace, "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_mounted(holder: subprocess.Popen[bytes]) -> None:
    assert holder.stdout is not None
    line = holder.stdout.readline()  # bounded: the holder either prints it or exits
    if line.strip() != b"mounted":
        holder.wait(timeout=10)
        error = holder.stderr.read().decode(errors="replace") if holder.stderr else ""
        raise VolumeUnavailable(f"cannot mount a tmpfs in a private namespace: {error.strip()}")


@contextmanager
def small_volume(path: Path, size_mb: int, *, read_only: bool = False) -> Iterator[SmallVolume]:
    """A private tmpfs of ``size_mb`` MB at ``path`` for the block's duration (``read_only``: mounted so).

    Raises :class:`VolumeUnavailable` when neither root nor a user namespace is available.
    """
    for tool in ("unshare", "nsenter", "dd", "df"):
        if shutil.which(tool) is None:
            raise VolumeUnavailable(f"{tool} is not installed")
    path.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    holder = _holder(path, size_mb, as_root, read_only)
    try:
        _wait_mounted(holder)
        yield SmallVolume(path, holder, user_namespace=not as_root)
    finally:
        holder.kill()  # the namespace, and the tmpfs with it, go with its last process
        holder.wait(timeout=30)
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()


@dataclass
class FailingDisk(SmallVolume):
    """An ext4 filesystem in an image file, loop-mounted with ``errors=remount-ro``, that can be
    made to fail as a dying disk does: the kernel's ext4 error path (``trigger_fs_error``) turns
    it read-only under the processes writing to it, whose writes then fail with I/O errors."""

    image: Path = Path()

    def fail(self) -> None:
        """The disk fails: ext4 records an error and the kernel makes the filesystem read-only."""
        device = self.run("findmnt", "-n", "-o", "SOURCE", str(self.path)).strip().rsplit("/", 1)[-1]
        self.run("sh", "-c", f"echo 1 > /sys/fs/ext4/{device}/trigger_fs_error")

    def repair(self) -> None:
        """What an operator does: unmount, check the filesystem, mount it again."""
        self.run("umount", str(self.path))
        self.run("sh", "-c", f"e2fsck -fy '{self.image}' >/dev/null; test $? -le 1")
        self.run("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.path))


@contextmanager
def failing_disk(path: Path, image: Path, size_mb: int) -> Iterator[FailingDisk]:
    """An ext4 :class:`FailingDisk` of ``size_mb`` MB at ``path`` (root and loop devices only).

    Raises :class:`VolumeUnavailable` otherwise.
    """
    for tool in ("unshare", "nsenter", "mkfs.ext4", "e2fsck", "findmnt", "losetup"):
        if shutil.which(tool) is None:
            raise VolumeUnavailable(f"{tool} is not installed")
    if os.geteuid() != 0 or not Path("/dev/loop-control").exists():
        raise VolumeUnavailable("loop-mounting an ext4 image needs root and loop devices")
    with image.open("wb") as sparse:
        sparse.truncate(size_mb * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", str(image)], capture_output=True, timeout=60, check=False)
    if made.returncode != 0:
        raise VolumeUnavailable(f"mkfs.ext4 failed: {made.stderr.decode(errors='replace')}")
    path.mkdir(parents=True, exist_ok=True)
    script = f"mount -o loop,errors=remount-ro '{image}' '{path}' && echo mounted && exec sleep 3600"
    holder = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_mounted(holder)
        yield FailingDisk(path, holder, user_namespace=False, image=image)
    finally:
        holder.kill()
        holder.wait(timeout=30)
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
