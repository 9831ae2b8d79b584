"""The Neo4j back end of the graph store: :class:`Neo4jStore` and the modules it is built from.

``store`` holds the class; ``write``/``batch`` execute a batch, ``read``/``columns``/``details``/
``lists``/``search``/``admin`` answer questions, ``cypher`` holds the statement text, ``schema`` the
constraints and migrations, ``analyst`` the guarded read-only Cypher and ``errors`` the mapping of
driver errors. Importing this package loads the driver; the embedded store never does.
"""

from olgraph.store.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
