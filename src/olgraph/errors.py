"""The olgraph exception tree.

Every error olgraph raises on purpose derives from :class:`OlgraphError`. Each class says
whether retrying the same operation can succeed (``retriable``), and the HTTP layer maps
classes to status codes in exactly one table (``olgraph.api.errors``).

    OlgraphError
    ├── InvalidEvent            the body is not a storable OpenLineage event (400)
    ├── PayloadTooLarge         body or decompressed body over a limit (413)
    ├── UnsupportedMediaType    wrong Content-Type / Content-Encoding (415)
    ├── NotFound                the node, run or dataset asked for does not exist (404)
    ├── InvalidQuery            a query parameter is wrong (400)
    ├── StoreError              the graph store failed
    │   └── StoreUnavailable    ... because it cannot be reached right now (retriable, 503)
    ├── EventLogError           the event log failed
    │   └── EventLogUnavailable ... cannot take events right now (retriable, 503)
    └── ServiceError            a local development service (Neo4j/Kafka launcher) failed
"""

from __future__ import annotations


class OlgraphError(Exception):
    """Root of every error olgraph raises on purpose."""

    retriable: bool = False


class InvalidEvent(OlgraphError):
    """The input is not an OpenLineage event olgraph can store.

    ``field`` names the offending location in the event (e.g. ``run.runId`` or
    ``outputs[0].facets.ownership.owners[0].name``); the message says what is wrong with it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.reason = f"{field}: {message}" if field else message
        super().__init__(self.reason)


class PayloadTooLarge(OlgraphError):
    """The request body, or what it decompresses to, exceeds a configured limit."""


class UnsupportedMediaType(OlgraphError):
    """The request's Content-Type or Content-Encoding is not one olgraph accepts."""


class NotFound(OlgraphError):
    """The requested node, run or dataset does not exist."""


class InvalidQuery(OlgraphError):
    """A query parameter is malformed or out of range."""


class StoreError(OlgraphError):
    """The graph store failed to apply mutations or answer a query."""


class StoreUnavailable(StoreError):
    """The graph store cannot be reached right now; retrying later can succeed."""

    retriable = True


class EventLogError(OlgraphError):
    """The event log failed."""


class EventLogUnavailable(EventLogError):
    """The event log cannot durably take events right now (unreachable or full)."""

    retriable = True


class ServiceError(OlgraphError):
    """A local development service (the Neo4j or Kafka launcher) failed."""
