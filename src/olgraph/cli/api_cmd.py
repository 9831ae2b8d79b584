"""``olgraph api``: an API replica of the distributed deployment.

It serves HTTP ingest and the queries, appends every accepted event to a Kafka topic (201
only once the brokers acknowledged it), and runs no consumer: ``olgraph consume`` replicas
apply the topic to the graph store the queries read (Neo4j, the default here too; ``--store
embedded`` is for single-box tests). Replicas keep no state, so run as many as the load needs
behind a load balancer whose readiness probe is ``/readyz``.

It starts even while Kafka is unreachable: ``/readyz`` answers 503 naming ``kafka`` and
ingest answers 503 with ``Retry-After`` until the brokers answer again.

Every option can also come from the environment (``OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS``,
``OLGRAPH_LOG__KAFKA__TOPIC``, ``OLGRAPH_STORE__NEO4J__URI``, …); an option given wins.

Example::

    $ olgraph api --kafka-bootstrap kafka:9092 --neo4j-uri neo4j://neo4j:7687 --host 0.0.0.0
    olgraph 0.1.0 api listening on http://0.0.0.0:5000 (events → kafka kafka:9092 topic openlineage.events; store: neo4j neo4j://neo4j:7687)
"""  # noqa: E501

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from olgraph import __version__
from olgraph.cli._server import (
    checked_settings,
    describe_store,
    listening_url,
    log_level_option,
    neo4j_options,
    run_server,
    server_options,
)
from olgraph.config import Settings


def api_options(
    *,
    kafka_bootstrap: str | None = None,
    topic: str | None = None,
    store: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The :func:`~olgraph.cli._server.build_settings` arguments of ``olgraph api``'s options.

    The event log is always Kafka; the store is Neo4j unless ``--store`` or
    ``OLGRAPH_STORE__KIND`` says otherwise, as for ``olgraph consume``.
    """
    return options | {
        "log_kind": "kafka",
        "kafka_bootstrap": kafka_bootstrap,
        "kafka_topic": topic,
        "store_kind": store,
        "default_store_kind": "neo4j",
    }


def api_startup_line(settings: Settings, host: str, port: int) -> str:
    """The one line ``api`` prints once it is accepting connections."""
    kafka = settings.log.kafka
    return (
        f"olgraph {__version__} api listening on {listening_url(host, port)} "
        f"(events → kafka {kafka.bootstrap_servers} topic {kafka.topic}; store: {describe_store(settings)})"
    )


@click.command("api", short_help="Run an API replica: HTTP ingest into Kafka, and queries.")
@click.option(
    "--kafka-bootstrap",
    metavar="HOST:PORT[,…]",
    default=None,
    help="Kafka brokers [env OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS; default 127.0.0.1:9092].",
)
@click.option(
    "--topic",
    default=None,
    help="Topic accepted events go to [env OLGRAPH_LOG__KAFKA__TOPIC; default openlineage.events].",
)
@server_options
@click.option(
    "--store",
    type=click.Choice(["neo4j", "embedded"]),
    default=None,
    help="Graph store the queries read [env OLGRAPH_STORE__KIND; default neo4j; embedded: single-box tests].",
)
@neo4j_options
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the embedded store keeps its file [env OLGRAPH_DATA_DIR; default .olgraph].",
)
@log_level_option
def api_command(
    *,
    kafka_bootstrap: str | None,
    topic: str | None,
    host: str | None,
    port: int | None,
    marquez_port: int | None,
    store: str | None,
    neo4j_uri: str | None,
    neo4j_user: str | None,
    neo4j_password: str | None,
    neo4j_create_schema: bool | None,
    data_dir: Path | None,
    log_level: str,
) -> None:
    """Run an API replica: accepted events go to Kafka; queries read the graph store. No consumer."""
    settings = checked_settings(
        **api_options(
            kafka_bootstrap=kafka_bootstrap,
            topic=topic,
            host=host,
            port=port,
            marquez_port=marquez_port,
            store=store,
            neo4j_uri=neo4j_uri,
            neo4j_user=neo4j_user,
            neo4j_password=neo4j_password,
            neo4j_create_schema=neo4j_create_schema,
            data_dir=data_dir,
        )
    )
    if settings.store.kind == "embedded":
        click.echo(
            "warning: the embedded store is for single-box testing; the queries of `olgraph api` "
            "replicas should read the Neo4j that `olgraph consume` replicas write (--store neo4j)",
            err=True,
        )
    run_server(settings, log_level, api_startup_line)
