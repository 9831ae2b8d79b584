"""``olgraph lineage`` and ``olgraph impact``: ask a running olgraph server over HTTP.

Exit codes are part of the interface, so scripts can tell answers from failures:
``lineage`` exits 0 on an answer; ``impact`` exits 0 when nothing live depends on the
node and 1 when something does (a CI gate before deleting a table); both exit 2 on a
usage error, an unreachable server or an error answer (whose message is printed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from olgraph.cli._client import fetch_json
from olgraph.cli._output import echo, render_csv_rows, render_json, render_table
from olgraph.query.impact import describe_impact, describe_truncation, render_csv, render_ndjson

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_URL = "http://127.0.0.1:5000"
EXIT_NO_DEPENDENTS = 0
EXIT_DEPENDENTS = 1
EXIT_FAILURE = 2

LINEAGE_CSV_COLUMNS = ("id", "type", "namespace", "name", "deleted")


url_option = click.option(
    "--url",
    envvar="OLGRAPH_URL",
    show_envvar=True,
    default=DEFAULT_URL,
    show_default=True,
    help="Base URL of the olgraph server.",
)
"""``--url``: the olgraph server an HTTP command talks to (also ``olgraph sync``)."""


def client_options(func: F) -> F:
    """The options every HTTP command takes: server URL, API key, timeout."""
    func = click.option(
        "--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds."
    )(func)
    func = click.option(
        "--api-key",
        envvar="OLGRAPH_API_KEY",
        show_envvar=True,
        default=None,
        help="API key with the 'read' role, sent as a Bearer token.",
    )(func)
    return url_option(func)


def depth_option(func: F) -> F:
    return click.option(
        "--depth",
        type=click.IntRange(min=0),
        default=None,
        help="Hops to follow (default: the server's; for impact, all of them).",
    )(func)


def max_nodes_option(func: F) -> F:
    """``--max-nodes``: the request's node cap (``maxNodes``)."""
    return click.option(
        "--max-nodes",
        type=click.IntRange(min=1),
        default=None,
        help="Most nodes in the answer (default and ceiling: the server's query.max_nodes).",
    )(func)


@click.command("lineage", short_help="Nodes and edges upstream/downstream of NODE_ID.")
@click.argument("node_id")
@click.option(
    "--direction",
    type=click.Choice(["upstream", "downstream", "both"]),
    default="both",
    show_default=True,
)
@depth_option
@max_nodes_option
@click.option("--include-deleted", is_flag=True, help="Also return and cross deleted (dropped) nodes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@client_options
def lineage_command(
    *,
    node_id: str,
    direction: str,
    depth: int | None,
    max_nodes: int | None,
    include_deleted: bool,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Print the lineage around NODE_ID (e.g. 'dataset:postgres://db:5432:public.orders').

    Table and CSV list the nodes (the table also lists the edges); JSON is the server's answer.
    Exits 0 on an answer, 2 on a usage error, an unreachable server or an error answer.
    """
    params = {"nodeId": node_id, "direction": direction, "depth": depth, "maxNodes": max_nodes}
    if include_deleted:
        params["includeDeleted"] = "true"
    document = fetch_json(url, "/api/v1/lineage", params, api_key, timeout)
    if fmt == "json":
        echo(render_json(document))
    elif fmt == "csv":
        echo(render_csv_rows(LINEAGE_CSV_COLUMNS, document["nodes"]))
    else:
        echo(lineage_table(document))


def lineage_table(document: Mapping[str, Any]) -> str:
    """Nodes and edges of a lineage answer as two aligned tables and a count line."""
    nodes, edges = document["nodes"], document["edges"]
    node_rows = [[n["type"], n["id"], node_state(n)] for n in nodes]
    edge_rows = [[e["source"], e["type"], e["target"]] for e in edges]
    parts = [
        render_table(["type", "id", "state"], node_rows),
        "",
        render_table(["source", "edge", "target"], edge_rows) if edges else "(no edges)",
        "",
        f"{len(nodes)} nodes, {len(edges)} edges" + _truncation_note(document),
    ]
    return "\n".join(parts)


def node_state(node: Mapping[str, Any]) -> str:
    """``deleted``, ``stale`` (nothing seen of it for a while) or empty: a live node."""
    if node.get("deleted"):
        return "deleted"
    return "stale" if node.get("stale") else ""


def _truncation_note(document: Mapping[str, Any]) -> str:
    """`` (truncated at …: there may be more)`` when the answer says a limit cut it, else ``""``;
    when the node cap cut it below the server's, how far ``--max-nodes`` may go."""
    if not document.get("truncated"):
        return ""
    truncated_by = document.get("truncatedBy") or ()
    note = f" ({describe_truncation(truncated_by)}: there may be more"
    cap, ceiling = document.get("maxNodes"), document.get("serverMaxNodes")
    if "nodes" in truncated_by and isinstance(cap, int) and isinstance(ceiling, int) and cap < ceiling:
        note += f"; --max-nodes up to {ceiling} shows more"
    return note + ")"


IMPACT_HELP = """Print every live dataset, model and job downstream of NODE_ID: what breaks if it goes.

Without --depth every live transitive dependent is listed (only the node cap bounds it:
--max-nodes, else the server's); the summary line says when a limit cut the list.

\b
Exit status (for CI gates, e.g. before dropping a table):
  0  nothing live depends on NODE_ID
  1  something live depends on NODE_ID (the list is printed)
  2  usage error, server unreachable, or an error answer (e.g. unknown node)
"""


@click.command(
    "impact", help=IMPACT_HELP, short_help="What breaks if NODE_ID goes (exit 1 when anything does)."
)
@click.argument("node_id")
@depth_option
@max_nodes_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "ndjson"]),
    default="table",
    show_default=True,
)
@client_options
def impact_command(
    *,
    node_id: str,
    depth: int | None,
    max_nodes: int | None,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """See IMPACT_HELP (click shows it)."""
    params = {"nodeId": node_id, "depth": depth, "maxNodes": max_nodes}
    document = fetch_json(url, "/api/v1/impact", params, api_key, timeout)
    affected = document["affected"]
    if fmt == "json":
        echo(render_json(document))
    elif fmt == "csv":
        echo(render_csv(affected))
    elif fmt == "ndjson":
        echo(render_ndjson(affected))
    else:
        echo(impact_table(document))
    raise click.exceptions.Exit(EXIT_DEPENDENTS if affected else EXIT_NO_DEPENDENTS)


def impact_table(document: Mapping[str, Any]) -> str:
    """The affected nodes as an aligned table followed by the summary line."""
    summary = document["summary"]
    line = describe_impact(
        summary["total"],
        summary["byType"],
        bool(document.get("truncated")),
        document.get("truncatedBy") or (),
    )
    root = document["root"]["id"]
    if not document["affected"]:
        return f"{line}: nothing live depends on {root}"
    rows = [
        [a["distance"], a["type"], a["id"], a["owners"], a["lastRunAt"], a["lastRunState"]]
        for a in document["affected"]
    ]
    table = render_table(["distance", "type", "id", "owners", "last run at", "last run state"], rows)
    return f"{table}\n\n{line}"
