"""The OpenLineage spec version and schema URLs the plugins write, and the producer URI."""

from __future__ import annotations

from typing import Any

from olgraph import __version__

SPEC_VERSION = "2-0-2"
SPEC_URL = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"
FACETS_URL = "https://openlineage.io/spec/facets"
OLGRAPH_SCHEMAS_URL = "https://github.com/olgraph/olgraph/blob/main/schemas/facets"
WORKLOAD_FACET = "olgraph_workload"


JsonDict = dict[str, Any]


def producer(plugin: str) -> str:
    """The ``producer`` URI of events from one plugin (names the plugin and olgraph's version)."""
    return f"https://github.com/olgraph/olgraph/tree/v{__version__}/src/olgraph/integrations/{plugin}"
