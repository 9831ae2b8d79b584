"""The query layer: what the API may ask the graph store, and how answers are shaped.

``nodes`` resolves node ids to keys, ``lineage`` checks lineage and listing requests
against the configured caps, ``impact`` summarizes and renders impact analysis. Nothing
here knows about HTTP: the routes in ``olgraph.api.query`` and the CLI build on it.
"""

from __future__ import annotations

from olgraph.errors import InvalidQuery, NotFound


class InvalidParameter(InvalidQuery):
    """A query parameter is wrong; ``field`` names it (the API's error body carries it).

    >>> str(InvalidParameter("depth", "must be <= 50, got 99"))
    'depth: must be <= 50, got 99'
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownReference(NotFound):
    """What a parameter refers to does not exist; ``field`` names the parameter (404).

    >>> str(UnknownReference("nodeId", "node 'job:a:b' was not found"))
    "node 'job:a:b' was not found"
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)
