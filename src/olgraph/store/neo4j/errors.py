"""Translate Neo4j driver errors into olgraph's (private to the Neo4j store).

The one place where driver exceptions become :class:`~olgraph.errors.StoreError`s, always
with ``raise … from exc`` so the driver's detail stays in the traceback:

* the server cannot be reached, the connection or session broke, the pool is exhausted,
  or a transient error outlived the driver's retries (deadlock, leader switch, database
  briefly unavailable, out of memory) → :class:`~olgraph.errors.StoreUnavailable`
  (retriable: a consumer keeps its offsets and tries the batch again later);
* the server cannot write now for reasons of its own — a ``Neo.DatabaseError`` (a full disk,
  an I/O error, a failed commit), a read-only database, a missing database, credentials
  refused — → :class:`~olgraph.errors.StoreUnavailable` as well: nothing is wrong with the
  events, so none may be dead-lettered for it (an operator fixes the server or the settings);
* everything else the server or driver rejects (a Cypher or type error, a value too large
  to index) → :class:`~olgraph.errors.StoreError` (retrying cannot help).

Errors that are already ours (``NotFound`` raised inside a transaction function) and
programming errors pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConnectionAcquisitionTimeoutError,
    DatabaseError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from olgraph.errors import StoreError, StoreUnavailable

_UNREACHABLE = (ServiceUnavailable, SessionExpired, ConnectionAcquisitionTimeoutError, OSError)

SERVER_STATE_CODES = frozenset(
    {
        "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
        "Neo.ClientError.Database.DatabaseNotFound",
        "Neo.ClientError.Security.Unauthorized",
        "Neo.ClientError.Security.AuthenticationRateLimit",
        "Neo.ClientError.Security.CredentialsExpired",
        "Neo.ClientError.Security.Forbidden",
        "Neo.ClientError.Security.TokenExpired",
    }
)
"""Client errors that describe the server or olgraph's settings, not the data written: retriable."""

DATA_DATABASE_ERRORS = ("too large to index",)
"""Messages of ``Neo.DatabaseError`` codes that the data causes (the same batch always fails)."""


def map_error(exc: BaseException, action: str) -> StoreError:
    """The olgraph error for driver error ``exc`` raised while doing ``action``.

    >>> from neo4j.exceptions import ServiceUnavailable
    >>> type(map_error(ServiceUnavailable("down"), "apply")).__name__
    'StoreUnavailable'
    """
    if isinstance(exc, IncompleteCommit):
        # The commit may or may not have happened; batches are idempotent, so a retry is safe.
        return StoreUnavailable(f"Neo4j connection lost while committing ({action}): {exc}")
    if isinstance(exc, _UNREACHABLE):
        return StoreUnavailable(f"Neo4j unreachable ({action}): {exc}")
    if isinstance(exc, Neo4jError) and exc.is_retryable():
        return StoreUnavailable(f"Neo4j busy ({action}), still failing after retries: {_describe(exc)}")
    if isinstance(exc, Neo4jError) and _server_state(exc):
        return StoreUnavailable(f"Neo4j cannot do {action} now: {_describe(exc)}")
    if isinstance(exc, Neo4jError):
        return StoreError(f"Neo4j rejected {action}: {_describe(exc)}")
    return StoreError(f"Neo4j driver failed ({action}): {exc}")


def _server_state(exc: Neo4jError) -> bool:
    """Whether ``exc`` is about the server (disk, memory, mode, credentials), not the data.

    The driver gives a server error the class of its code's classification (``ClientError``,
    ``TransientError``, ``DatabaseError``), which is what is looked at.
    """
    if isinstance(exc, ClientError):
        return isinstance(exc, AuthError) or exc.code in SERVER_STATE_CODES
    if isinstance(exc, DatabaseError):
        text = f"{exc.message} {exc}".lower()
        return not any(marker in text for marker in DATA_DATABASE_ERRORS)
    return False


def _describe(exc: Neo4jError) -> str:
    # Errors from the server carry code and message; ones the driver raises itself carry args.
    message = str(exc) if exc.args else exc.message
    return f"{exc.code}: {message}" if exc.code else str(message)


@contextmanager
def mapped_errors(action: str) -> Iterator[None]:
    """Re-raise driver errors escaping the block as olgraph errors (see :func:`map_error`).

    Works around ``await`` expressions too::

        with mapped_errors("apply"):
            await session.execute_write(work)
    """
    try:
        yield
    except (Neo4jError, DriverError, OSError) as exc:
        raise map_error(exc, action) from exc
