"""The olgraph exception tree.

Every error olgraph raises on purpose derives from :class:`OlgraphError`. Each class says
whether retrying the same operation can succeed (``retriable``), and the HTTP layer maps
classes to status codes in exactly one table (``olgraph.api.errors``).

    OlgraphError
    ├── FieldError              an error about one named field or parameter
    │   ├── InvalidEvent        the body is not a storable OpenLineage event (400)
    │   ├── InvalidQuery        a query parameter is wrong (400)
    │   │   └── CypherRefused   an analyst's Cypher query may not run here (400)
    │   ├── NotFound            the node, run or dataset asked for does not exist (404)
    │   └── Conflict            the request conflicts with the graph (a delete with live dependents, 409)
    ├── MethodNotAllowed        a method olgraph does not take on that route (405)
    ├── AuthenticationRequired  no API key, or an unknown one (401)
    ├── PermissionDenied        the key's role does not allow the operation (403)
    ├── PayloadTooLarge         body or decompressed body over a limit (413)
    ├── UnsupportedMediaType    wrong Content-Type / Content-Encoding (415)
    ├── NotReady                a request arrived before start-up finished (503)
    ├── CypherUnsupported       Cypher asked of a store that has none (the embedded one, 501)
    ├── InsecureSettings        the settings would expose an unauthenticated server
    ├── StoreError              the graph store failed
    │   ├── StoreUnavailable    ... because it cannot be reached right now (retriable, 503)
    │   └── SchemaMissing       ... because the Neo4j database does not hold olgraph's schema
    ├── EventLogError           the event log failed
    │   └── EventLogUnavailable ... cannot take events right now (retriable, 503)
    └── ServiceError            a local development service (Neo4j/Kafka launcher) failed
"""

from __future__ import annotations


class OlgraphError(Exception):
    """Root of every error olgraph raises on purpose."""

    retriable: bool = False


class FieldError(OlgraphError):
    """An error about one location: ``field`` names it (an event path such as ``run.runId``
    or ``outputs[0].facets.ownership.owners[0].name``, or a query parameter such as ``depth``),
    and the message says what is wrong with it. The API's error body carries both.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.reason = f"{field}: {message}" if field else message
        super().__init__(self.reason)


class InvalidEvent(FieldError):
    """The input is not an OpenLineage event olgraph can store."""


class InvalidQuery(FieldError):
    """A query parameter is malformed or out of range."""


class CypherRefused(InvalidQuery):
    """An analyst's Cypher query is refused: not read-only, a forbidden clause or procedure,
    a syntax error, over a limit. ``field`` is ``query``."""

    def __init__(self, message: str, field: str | None = "query") -> None:
        super().__init__(message, field)


class NotFound(FieldError):
    """The requested node, run or dataset does not exist."""


class Conflict(FieldError):
    """The request cannot be done in the graph's current state (e.g. deleting a node that live
    nodes depend on, without ``force``). ``details`` are added to the error body."""

    def __init__(
        self, message: str, field: str | None = None, details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, field)
        self.details = details or {}


class MethodNotAllowed(OlgraphError):
    """The route exists but olgraph does not take this method on it (e.g. Marquez's write routes)."""


class AuthenticationRequired(OlgraphError):
    """No API key was sent, or the key is not configured (401)."""


class PermissionDenied(OlgraphError):
    """The API key's role does not allow this operation (403)."""


class NotReady(OlgraphError):
    """A request arrived before the app finished starting (or after it began stopping)."""

    retriable = True


class CypherUnsupported(OlgraphError):
    """Cypher was asked of a store that cannot answer it (the embedded store)."""


class InsecureSettings(OlgraphError):
    """The settings would expose an unauthenticated server beyond this machine."""


class PayloadTooLarge(OlgraphError):
    """The request body, or what it decompresses to, exceeds a configured limit."""


class UnsupportedMediaType(OlgraphError):
    """The request's Content-Type or Content-Encoding is not one olgraph accepts."""


class StoreError(OlgraphError):
    """The graph store failed to apply mutations or answer a query."""


class StoreUnavailable(StoreError):
    """The graph store cannot be reached right now; retrying later can succeed."""

    retriable = True


class SchemaMissing(StoreError):
    """The Neo4j database holds none of olgraph's schema and creating it was not asked for:
    it may be somebody else's database, reached through a wrong URI."""


class EventLogError(OlgraphError):
    """The event log failed."""


class EventLogUnavailable(EventLogError):
    """The event log cannot durably take events right now (unreachable or full)."""

    retriable = True


class ServiceError(OlgraphError):
    """A local development service (the Neo4j or Kafka launcher) failed."""
