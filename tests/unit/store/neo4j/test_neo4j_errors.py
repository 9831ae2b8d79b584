"""Mapping Neo4j driver errors to olgraph's (pure: the driver's exception classes, no server)."""

from __future__ import annotations

import pytest
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    ConnectionAcquisitionTimeoutError,
    CypherSyntaxError,
    DatabaseUnavailable,
    IncompleteCommit,
    Neo4jError,
    NotALeader,
    ResultConsumedError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from olgraph.errors import NotFound, StoreError, StoreUnavailable
from olgraph.store.neo4j.errors import map_error, mapped_errors

UNAVAILABLE = [
    ServiceUnavailable("connection refused"),
    SessionExpired("routing table expired"),
    ConnectionAcquisitionTimeoutError("pool exhausted"),
    IncompleteCommit("connection lost during commit"),
    ConnectionRefusedError(111, "Connection refused"),
    TransientError("deadlock detected"),
    DatabaseUnavailable("database is starting"),
    NotALeader("no longer the leader"),
]


def server_error(code: str, message: str) -> Neo4jError:
    """An error as the driver builds it from a server's FAILURE message (its class from the code)."""
    return Neo4jError._hydrate_neo4j(code=code, message=message)


# What the server says when it cannot write for reasons of its own: never the events' fault.
SERVER_STATE = [
    server_error("Neo.DatabaseError.Transaction.TransactionCommitFailed", "No space left on device"),
    server_error("Neo.DatabaseError.General.StorageDamageDetected", "I/O error reading the store"),
    server_error("Neo.DatabaseError.Statement.ExecutionFailed", "java.io.IOException: disk quota exceeded"),
    server_error("Neo.ClientError.General.ForbiddenOnReadOnlyDatabase", "database is read only"),
    server_error("Neo.ClientError.Database.DatabaseNotFound", "Database does not exist: lineage"),
    server_error("Neo.ClientError.Security.Unauthorized", "The client is unauthorized"),
    server_error("Neo.TransientError.General.MemoryPoolOutOfMemoryError", "out of memory"),
]

REJECTED = [
    server_error("Neo.ClientError.Statement.TypeError", "Property values can only be of primitive types"),
    server_error("Neo.ClientError.Statement.SyntaxError", "Invalid input"),
    server_error(
        "Neo.DatabaseError.Statement.ExecutionFailed",
        "Property value is too large to index, please see index documentation for limitations.",
    ),
    ClientError("property too large"),
    CypherSyntaxError("invalid input"),
    ConfigurationError("bad URI scheme"),
    ResultConsumedError(object(), "result consumed"),
]


@pytest.mark.parametrize("exc", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_unreachable_and_transient_errors_are_store_unavailable(exc: Exception) -> None:
    mapped = map_error(exc, "applying a batch")

    assert type(mapped) is StoreUnavailable
    assert mapped.retriable
    assert "applying a batch" in str(mapped)


@pytest.mark.parametrize("exc", SERVER_STATE, ids=lambda e: getattr(e, "code", type(e).__name__))
def test_a_server_that_cannot_write_now_is_unavailable_not_a_rejection(exc: Exception) -> None:
    """A full disk, a read-only database, a missing database or refused credentials must not
    dead-letter the events being written: the consumer keeps them and retries."""
    mapped = map_error(exc, "applying a batch")

    assert type(mapped) is StoreUnavailable
    assert mapped.retriable


def test_refused_credentials_are_retriable() -> None:
    assert type(map_error(AuthError("unauthorized"), "connecting")) is StoreUnavailable


@pytest.mark.parametrize("exc", REJECTED, ids=lambda e: getattr(e, "code", None) or type(e).__name__)
def test_rejections_are_store_errors_not_worth_retrying(exc: Exception) -> None:
    mapped = map_error(exc, "get_node")

    assert type(mapped) is StoreError
    assert not mapped.retriable


def test_the_server_message_and_code_are_kept() -> None:
    mapped = map_error(ClientError("Property values can only be of primitive types"), "apply")

    assert "Property values can only be of primitive types" in str(mapped)
    assert "Neo." in str(mapped)  # the status code, e.g. Neo.ClientError.Statement.TypeError


def test_mapped_errors_chains_the_driver_error() -> None:
    cause = ServiceUnavailable("down")

    with pytest.raises(StoreUnavailable) as caught, mapped_errors("ping"):
        raise cause

    assert caught.value.__cause__ is cause


async def test_mapped_errors_works_around_awaits() -> None:
    async def failing() -> None:
        raise SessionExpired("gone")

    with pytest.raises(StoreUnavailable), mapped_errors("lineage"):
        await failing()


@pytest.mark.parametrize("exc", [NotFound("no such node"), ValueError("a bug"), KeyError("k")])
def test_our_own_and_programming_errors_pass_through(exc: Exception) -> None:
    with pytest.raises(type(exc)) as caught, mapped_errors("impact"):
        raise exc

    assert caught.value is exc
