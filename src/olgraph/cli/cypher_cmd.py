"""``olgraph cypher QUERY``: an analyst's read-only Cypher, through a running server's guarded endpoint.

It posts to ``POST /api/v1/cypher`` (API key with the ``analyst`` role), so the same guards
apply as for any client: one read-only statement, allow-listed procedures, a timeout and a
row cap. Exit codes: 0 with an answer, 2 on a refusal, a usage error or an unreachable server.

Example::

    $ olgraph cypher 'MATCH (d:Dataset {key: $k})-[:CONSUMED_BY]->(j) RETURN j.key AS job' \\
        --param k=dataset:db:orders
    job
    ------------
    job:etl:load
"""

from __future__ import annotations

import json
from typing import Any

import click
import httpx

from olgraph.cli._client import error_message
from olgraph.cli._output import echo, fail, render_json, render_table
from olgraph.cli.query import url_option


def _parameter(text: str) -> tuple[str, Any]:
    """``name=value``; the value is JSON when it parses as JSON (``n=3``, ``xs=[1,2]``), else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--param")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


@click.command("cypher", short_help="Run a read-only Cypher query on the server's Neo4j.")
@click.argument("query")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A $NAME parameter (JSON or text)."
)
@click.option(
    "--max-rows", type=click.IntRange(min=1), default=None, help="Fewer rows than the server's cap."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@url_option
@click.option(
    "--api-key",
    envvar="OLGRAPH_API_KEY",
    show_envvar=True,
    default=None,
    help="API key with the 'analyst' role, sent as a Bearer token.",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True, help="Seconds.")
def cypher_command(
    *,
    query: str,
    params: tuple[str, ...],
    max_rows: int | None,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Run QUERY (one read-only Cypher statement) and print its rows."""
    body: dict[str, Any] = {
        "query": query,
        "parameters": dict(_parameter(p) for p in params),
        "format": "csv" if fmt == "csv" else "json",
    }
    if max_rows is not None:
        body["maxRows"] = max_rows
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=headers) as client:
            response = client.post("/api/v1/cypher", json=body)
    except httpx.InvalidURL as exc:
        raise fail(f"--url {url!r} is not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the olgraph server at {url}: {exc or type(exc).__name__}") from exc
    if response.is_error:
        raise fail(f"the server answered {response.status_code}: {error_message(response)}")
    if fmt == "csv":
        echo(response.text.rstrip("\n"))
        truncated = response.headers.get("x-olgraph-truncated") == "true"
    else:
        answer = response.json()
        truncated = bool(answer.get("truncated"))
        if fmt == "json":
            echo(render_json(answer))
        else:
            rows = [[_cell(v) for v in row] for row in answer["rows"]]
            echo(render_table(answer["columns"], rows))
    if truncated:
        click.echo("(truncated: the query had more rows than the cap)", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
