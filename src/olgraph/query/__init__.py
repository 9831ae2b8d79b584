"""The query layer: what the API may ask the graph store, and how answers are shaped.

``nodes`` resolves node ids to keys, ``lineage`` checks lineage and listing requests
against the configured caps, ``impact`` summarizes and renders impact analysis. Nothing
here knows about HTTP: the routes in ``olgraph.api.query`` and the CLI build on it.
"""

from __future__ import annotations
