"""Local development services (Neo4j, Kafka) started from Maven Central jars, no Docker.

Each service is a launcher module with ``up``/``down``/``status`` (see :class:`Launcher`);
:func:`launchers` maps service names to them for the CLI and the test fixtures.

Example::

    from olgraph.devservices import launchers

    info = launchers()["neo4j"].up()
    print(info.uri)  # bolt://127.0.0.1:7687
    print(launchers()["kafka"].up().uri)  # 127.0.0.1:9092
"""

from __future__ import annotations

from olgraph.devservices._common import Launcher, ServiceInfo
from olgraph.errors import ServiceError

__all__ = ["Launcher", "ServiceError", "ServiceInfo", "launchers"]


def launchers() -> dict[str, Launcher]:
    """Map each service name to its launcher, in start order (``olgraph services up`` starts all)."""
    # Imported here to keep the Neo4j driver off the package import.
    from olgraph.devservices import kafka, neo4j  # noqa: PLC0415

    return {neo4j.NAME: neo4j, kafka.NAME: kafka}
