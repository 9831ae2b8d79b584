"""``olgraph search``, ``olgraph show`` and ``olgraph column-lineage``: read a running server.

Each prints aligned, readable text by default and the server's answer with ``--format json``;
exit 0 on an answer, 2 on a usage error, an unreachable server or an error answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from olgraph.cli._client import fetch_json
from olgraph.cli._output import cell, echo, render_json, render_table
from olgraph.cli.query import client_options, depth_option, max_nodes_option
from olgraph.query.impact import describe_truncation

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@click.command("search", short_help="Find datasets, models, jobs, columns and namespaces by part of a name.")
@click.argument("text")
@click.option(
    "--type", "types", default=None, help="Comma-separated: dataset, model, job, column, namespace."
)
@click.option("--namespace", default=None, help="Only this namespace.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--include-deleted", is_flag=True, help="Also find deleted nodes.")
@FORMAT
@client_options
def search_command(
    *,
    text: str,
    types: str | None,
    namespace: str | None,
    limit: int,
    include_deleted: bool,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Print what matches TEXT (case-insensitive): exact names first, then prefixes, then substrings."""
    params = {"q": text, "type": types, "namespace": namespace, "limit": limit}
    if include_deleted:
        params["includeDeleted"] = "true"
    document = fetch_json(url, "/api/v1/search", params, api_key, timeout)
    echo(render_json(document) if fmt == "json" else search_table(document))


def search_table(document: Mapping[str, Any]) -> str:
    """Search hits as a table, and how many there are in all."""
    items = document["items"]
    if not items:
        return "no match"
    rows = [[i["match"], i["type"], i["id"], "deleted" if i["deleted"] else ""] for i in items]
    more = (
        f" (showing {len(items)}; --limit or the API's cursor for more)"
        if document["total"] > len(items)
        else ""
    )
    total, exact = document["total"], document.get("totalExact", True)
    noun = "match" if total == 1 and exact else "matches"
    count = f"{total:,}{'' if exact else '+'} {noun}"
    return f"{render_table(['match', 'type', 'id', 'state'], rows)}\n\n{count}{more}"


@click.command(
    "column-lineage", short_help="Column-to-column lineage of a column or of every column of a dataset."
)
@click.argument("node_id")
@click.option(
    "--direction", type=click.Choice(["upstream", "downstream", "both"]), default="both", show_default=True
)
@depth_option
@max_nodes_option
@FORMAT
@client_options
def column_lineage_command(
    *,
    node_id: str,
    direction: str,
    depth: int | None,
    max_nodes: int | None,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Print the column lineage around NODE_ID ('field:{namespace}:{name}#{column}' or a dataset id):
    every column edge with its transformations."""
    params = {"nodeId": node_id, "direction": direction, "depth": depth, "maxNodes": max_nodes}
    document = fetch_json(url, "/api/v1/column-lineage", params, api_key, timeout)
    echo(render_json(document) if fmt == "json" else column_lineage_table(document))


def _transformations(edge: Mapping[str, Any]) -> str:
    parts = []
    for t in edge["transformations"]:
        text = "/".join(p for p in (t["type"], t["subtype"]) if p)
        if t.get("description"):
            text += f" ({t['description']})"
        if t.get("masking"):
            text += " masked"
        parts.append(text)
    return ", ".join(parts) or "-"


def column_lineage_table(document: Mapping[str, Any]) -> str:
    """Column edges as a table (source, target, transformations), and a count line."""
    edges = document["edges"]
    rows = [[e["source"], e["type"], e["target"], _transformations(e)] for e in edges]
    table = (
        render_table(["source", "edge", "target", "transformations"], rows) if rows else "(no column edges)"
    )
    note = ""
    if document.get("truncated"):
        note = f" ({describe_truncation(document.get('truncatedBy') or ())}: there may be more)"
    return f"{table}\n\n{len(document['nodes'])} columns and datasets, {len(edges)} edges{note}"


# ---------------------------------------------------------------- show


@click.command("show", short_help="One dataset, job or run in full.")
@click.argument("kind", type=click.Choice(["dataset", "job", "run"]))
@click.argument("node_id")
@FORMAT
@client_options
def show_command(*, kind: str, node_id: str, fmt: str, url: str, api_key: str | None, timeout: float) -> None:
    """Print one dataset or job (NODE_ID 'dataset:…' / 'job:…') or run (its runId)."""
    if kind == "run":
        document = fetch_json(url, "/api/v1/runs", {"runId": node_id}, api_key, timeout)
    else:
        document = fetch_json(url, f"/api/v1/{kind}s", {"nodeId": node_id}, api_key, timeout)
    if fmt == "json":
        echo(render_json(document))
    else:
        echo({"dataset": dataset_text, "job": job_text, "run": run_text}[kind](document))


def _fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """Aligned ``label  value`` lines; labels without a value (None, empty) are left out."""
    shown = [(label, value) for label, value in pairs if value is not None and value not in ([], "")]
    width = max(len(label) for label, _ in shown)
    return "\n".join(f"{label.ljust(width)}  {_text(value)}".rstrip() for label, value in shown)


def _text(value: Any) -> str:
    return ", ".join(cell(v) for v in value) if isinstance(value, list | tuple) else cell(value)


def _section(title: str, body: str) -> str:
    return f"\n{title}\n{body}"


def _links(links: Sequence[Mapping[str, Any]]) -> str:
    if not links:
        return "(none)"
    rows = [
        [
            link["type"],
            link["id"],
            "declared" if link["declared"] else "",
            "observed" if link["observed"] else "",
        ]
        for link in links
    ]
    return render_table(["type", "id", "declared", "observed"], rows)


def dataset_text(d: Mapping[str, Any]) -> str:
    """A dataset's detail as readable text."""
    stats = d.get("statistics") or {}
    quality = d.get("quality") or {}
    parts = [
        _fields(
            [
                (d["type"], d["id"]),
                ("description", d.get("description")),
                ("state", "deleted" if d["deleted"] else "live"),
                ("owners", d["owners"]),
                ("tags", d["tags"]),
                ("aliases", d["aliases"]),
                ("last seen", d.get("lastSeenAt")),
                ("rows", stats.get("rowCount")),
                ("quality", _quality(quality) if quality else None),
            ]
        )
    ]
    schema = [[c["name"], c["type"], c["tags"]] for c in d["schema"]]
    parts.append(
        _section("schema", render_table(["column", "type", "tags"], schema) if schema else "(no schema)")
    )
    parts.append(_section("producers", _links(d["producers"])))
    parts.append(_section("consumers", _links(d["consumers"])))
    versions = [[v["version"], v["createdAt"], v["runId"], v.get("rowCount")] for v in d["versions"]]
    title = f"versions ({d['versionCount']}, newest first)"
    parts.append(_section(title, render_table(["version", "created", "run", "rows"], versions)))
    return "\n".join(parts)


def _quality(quality: Mapping[str, Any]) -> str:
    assertions = quality.get("assertions") or []
    passed = sum(1 for a in assertions if isinstance(a, dict) and a.get("success") is True)
    text = f"{passed}/{len(assertions)} assertions passed" if assertions else "metrics"
    return f"{text} (by {quality.get('job')} at {quality.get('at')})" if quality.get("job") else text


def job_text(j: Mapping[str, Any]) -> str:
    """A job's detail as readable text."""
    latest = j.get("latestRun") or {}
    stats = j["runStats"]
    rate = stats["failureRate"]
    parts = [
        _fields(
            [
                ("job", j["id"]),
                ("description", j.get("description")),
                (
                    "type",
                    " ".join(str(j[k]) for k in ("processingType", "integration", "jobType") if j.get(k)),
                ),
                ("state", "deleted" if j["deleted"] else "live"),
                ("owners", j["owners"]),
                ("tags", [f"{t['key']}={t['value']}" for t in j["tags"]]),
                ("parent", j["parent"]["id"] if j.get("parent") else None),
                ("children", j["childrenTotal"]),
                ("source code", j.get("sourceCodeUrl")),
                (
                    "latest run",
                    f"{latest['runId']} {latest['state']} at {latest['startedAt']}" if latest else None,
                ),
                ("runs", f"{stats['total']} ({', '.join(f'{k} {v}' for k, v in stats['byState'].items())})"),
                ("failure rate", None if rate is None else f"{rate:.0%}"),
            ]
        )
    ]
    if j.get("sql"):
        parts.append(_section("sql", str(j["sql"])))
    parts.append(_section("inputs", _links(j["inputs"])))
    parts.append(_section("outputs", _links(j["outputs"])))
    return "\n".join(parts)


def _io(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return "(none)"
    rows = [[i["dataset"], i["version"], sorted(i["facets"])] for i in items]
    return render_table(["dataset", "version", "facets"], rows)


def run_text(r: Mapping[str, Any]) -> str:
    """A run's detail as readable text."""
    started = r.get("startedAt")
    if started and r.get("startedAtSource") == "firstEvent":
        started += " (first event; no START received)"
    duration = r.get("durationMs")
    parts = [
        _fields(
            [
                ("run", r["runId"]),
                ("job", r.get("job")),
                ("state", r.get("state")),
                ("started", started),
                ("ended", r.get("endedAt")),
                ("duration", None if duration is None else f"{duration / 1000:g} s"),
                ("parent", r["parent"]["runId"] if r.get("parent") else None),
                ("root", r["root"]["runId"] if r.get("root") else None),
                ("child runs", r["childCount"]),
                ("error", r.get("errorMessage")),
                ("facets", sorted(r["facets"])),
            ]
        )
    ]
    timeline = [[s["state"], s["at"]] for s in r["timeline"]]
    parts.append(
        _section("timeline", render_table(["state", "first reported"], timeline) if timeline else "(none)")
    )
    parts.append(_section("inputs", _io(r["inputs"])))
    parts.append(_section("outputs", _io(r["outputs"])))
    return "\n".join(parts)
