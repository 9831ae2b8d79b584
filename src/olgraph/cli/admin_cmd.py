"""``olgraph delete`` and ``olgraph retention``: the admin routes of a running server.

``delete`` exits 0 when the node was deleted, 1 when the server refused because live nodes
depend on it (they are listed; ``--force`` overrides), 2 on a usage error, an unreachable
server or another error answer. Both need an API key with the ``admin`` role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import click

from olgraph.cli._client import error_message, response_json, send
from olgraph.cli._output import echo, fail, render_json, render_table
from olgraph.cli.query import client_options

EXIT_DELETED = 0
EXIT_REFUSED = 1


@click.command("delete", short_help="Soft-delete (or purge) a dataset, job or namespace (admin).")
@click.argument("kind", type=click.Choice(["dataset", "job", "namespace"]))
@click.argument("target")
@click.option("--force", is_flag=True, help="Delete even though live nodes depend on it.")
@click.option("--purge", is_flag=True, help="Remove for good (not only hide).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@client_options
def delete_command(
    *,
    kind: str,
    target: str,
    force: bool,
    purge: bool,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Delete TARGET: a dataset or job id ('dataset:…', 'job:…') or a namespace name.

    A soft delete hides it from lineage, impact, listings and search until an event mentions it
    again. Exit 0 when deleted, 1 when refused because live nodes depend on it, 2 on errors.
    """
    params: dict[str, Any] = {"force": str(force).lower(), "purge": str(purge).lower()}
    if kind == "namespace":
        path = f"/api/v1/namespaces/{quote(target, safe='')}"
    else:
        path = f"/api/v1/{kind}s"
        params["nodeId"] = target
    response = send(url, "DELETE", path, params, api_key=api_key, timeout=timeout)
    if response.status_code == 409:
        body = response_json(response, url)
        echo(render_json(body) if fmt == "json" else refused_text(body))
        raise click.exceptions.Exit(EXIT_REFUSED)
    if response.is_error:
        raise fail(f"the server answered {response.status_code}: {error_message(response)}")
    body = response_json(response, url)
    echo(render_json(body) if fmt == "json" else deleted_text(body))
    raise click.exceptions.Exit(EXIT_DELETED)


def refused_text(body: Mapping[str, Any]) -> str:
    """Why a delete was refused, and the live dependents (the first ones)."""
    rows = [[d["type"], d["id"]] for d in body.get("dependents", [])]
    table = render_table(["type", "id"], rows) if rows else ""
    return f"refused: {body['error']}\n\n{table}\n\n(--force deletes it anyway)".replace("\n\n\n", "\n\n")


def deleted_text(body: Mapping[str, Any]) -> str:
    """What a delete did, in one or two lines."""
    what = "purged" if body["purged"] else "deleted (hidden until an event mentions it again)"
    count = len(body["deleted"])
    head = f"{what}: {body['deleted'][0]}" + (
        f" and {count - 1} datasets and jobs in it" if count > 1 else ""
    )
    lines = [head, f"by {body['by']} at {body['at']}"]
    if body["purged"]:
        lines.append(f"{body['removed']} nodes removed for good")
    if body["forcedOver"]:
        lines.append(f"forced over {body['forcedOver']} live dependents")
    return "\n".join(lines)


@click.command("retention", short_help="Remove runs, versions and raw events older than N days (admin).")
@click.option("--days", type=click.IntRange(min=1), required=True, help="Remove history older than this.")
@click.option("--dry-run", is_flag=True, help="Only count what would go.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@client_options
def retention_command(
    *, days: int, dry_run: bool, fmt: str, url: str, api_key: str | None, timeout: float
) -> None:
    """Run one retention pass now: each dataset's latest version and every lineage edge stay."""
    body = {"olderThanDays": days, "dryRun": dry_run}
    response = send(url, "POST", "/api/v1/retention", {}, api_key=api_key, timeout=timeout, body=body)
    if response.is_error:
        raise fail(f"the server answered {response.status_code}: {error_message(response)}")
    report = response_json(response, url)
    if fmt == "json":
        echo(render_json(report))
        return
    verb = "would remove" if report["dryRun"] else "removed"
    rows = [
        ["runs", report["runs"]],
        ["dataset versions", report["datasetVersions"]],
        ["raw events", report["events"]],
    ]
    echo(f"history before {report['cutoff']}: {verb}\n\n{render_table(['what', 'count'], rows)}")
