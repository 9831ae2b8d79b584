"""Whether a local file can be written *now*: what the embedded store and the local log share.

Both keep their data in SQLite files on the local disk, and both must tell a failure of the
disk (full, read-only, an I/O error, out of memory) from a failure caused by what they were
asked to write. The first kind is *retriable*: nothing is wrong with the event, so it must
never be dead-lettered for it; the writer waits and tries again. This module holds the two
decisions they share:

* :func:`sqlite_error_is_environmental` classifies an :class:`sqlite3.Error` by its SQLite
  result code;
* :func:`write_problem` looks at the file and its filesystem (read-only mount, permissions,
  free space) so that readiness probes can report "cannot write" before a write fails.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

ENVIRONMENTAL_SQLITE_CODES = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_INTERRUPT,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOLFS,
        sqlite3.SQLITE_NOTADB,
    }
)
"""Primary SQLite result codes that say something about the file, the disk or the machine, not
about the data written: retrying later (after space is freed, the mount is fixed, memory is
back, another writer let go) can succeed."""

_ENVIRONMENTAL_MARKERS = (
    "disk is full",
    "disk i/o error",
    "readonly",
    "read-only",
    "locked",
    "busy",
    "unable to open",
    "not a database",
    "out of memory",
)


def sqlite_error_is_environmental(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` comes from the environment (disk, memory, locks) rather than the data.

    Uses the extended result code SQLite attaches to the exception; errors raised without one
    (by the ``sqlite3`` module itself) are judged by their message.

    >>> sqlite_error_is_environmental(sqlite3.OperationalError("database or disk is full"))
    True
    >>> sqlite_error_is_environmental(sqlite3.IntegrityError("UNIQUE constraint failed: nodes.key"))
    False
    """
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in ENVIRONMENTAL_SQLITE_CODES
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc).lower():
        return True  # the connection went away under us, as when the store is being closed
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(m in text for m in _ENVIRONMENTAL_MARKERS)


PROBE_FILE = ".olgraph-write-probe"
"""Written (and fsynced) beside the database by readiness probes: the one sure test of a disk."""


def write_problem(path: Path, min_free_bytes: int, *, probe: bool = False) -> str | None:
    """Why ``path`` (a SQLite file, maybe not created yet) cannot be written now, or None.

    Looks for a read-only filesystem, a file or directory without write permission, and less
    than ``min_free_bytes`` free on the filesystem (SQLite also writes its ``-wal`` and
    ``-shm`` files beside the database, so the directory must be writable too). With
    ``probe``, also writes and fsyncs a few bytes to :data:`PROBE_FILE` in that directory:
    a disk the kernel turned read-only after I/O errors still looks writable otherwise.
    """
    directory = path.parent
    try:
        stats = os.statvfs(directory)
    except OSError as exc:
        return f"cannot inspect {directory}: {exc.strerror or exc}"
    if stats.f_flag & os.ST_RDONLY:
        return f"{directory} is on a read-only filesystem"
    if not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"no permission to write {path}"
    free = stats.f_bavail * stats.f_frsize
    if free < min_free_bytes:
        return f"only {free} bytes free on the filesystem of {path} (at least {min_free_bytes} needed)"
    return _probe_write(directory / PROBE_FILE) if probe else None


def _probe_write(probe: Path) -> str | None:
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"olgraph")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot write to {probe.parent}: {exc.strerror or exc}"
    return None


def prepare_directory(directory: Path) -> str | None:
    """Create ``directory`` if needed; why it cannot be used for olgraph's files, or None."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {directory}: {exc.strerror or exc}"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    return write_problem(directory / ".olgraph-probe", min_free_bytes=0)
