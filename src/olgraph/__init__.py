"""olgraph: an OpenLineage-compatible lineage collector and graph store.

Producers send OpenLineage events over HTTP (or Kafka); olgraph keeps them durably,
normalizes them into a property graph (Neo4j, or an embedded single-file store) and
answers lineage and impact questions about it.
"""

__version__ = "0.1.0"
