"""Translate Neo4j driver errors into olgraph's (private to the Neo4j store).

The one place where driver exceptions become :class:`~olgraph.errors.StoreError`s, always
with ``raise … from exc`` so the driver's detail stays in the traceback:

* the server cannot be reached, the connection or session broke, the pool is exhausted,
  or a transient error outlived the driver's retries (deadlock, leader switch, database
  briefly unavailable) → :class:`~olgraph.errors.StoreUnavailable` (retriable: a consumer
  keeps its offsets and tries the batch again later);
* everything else the server or driver rejects (a property too large, a Cypher or type
  error, authentication) → :class:`~olgraph.errors.StoreError` (retrying cannot help).

Errors that are already ours (``NotFound`` raised inside a transaction function) and
programming errors pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j.exceptions import (
    ConnectionAcquisitionTimeoutError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from olgraph.errors import StoreError, StoreUnavailable

_UNREACHABLE = (ServiceUnavailable, SessionExpired, ConnectionAcquisitionTimeoutError, OSError)


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
    if isinstance(exc, Neo4jError):
        return StoreError(f"Neo4j rejected {action}: {_describe(exc)}")
    return StoreError(f"Neo4j driver failed ({action}): {exc}")


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
