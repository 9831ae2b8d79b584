"""Impact analysis: what breaks if a node goes away, as a flat list a script can act on.

The store finds every live dataset, model and job downstream of the root; this module
checks the request, summarizes the answer (counts by type and owner) and renders it as the
rows that the JSON, CSV and NDJSON formats share, so every format says the same thing.

>>> describe_impact(3, {"dataset": 2, "job": 1})
'3 live dependents: 2 datasets, 1 job'
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from olgraph.query.lineage import QueryLimits, check_depth
from olgraph.query.nodes import COLUMN_PREFIX, get_node_or_404
from olgraph.store.base import GraphStore, ImpactItem, ImpactResult

IMPACT_FORMATS = ("json", "csv", "ndjson")

CSV_COLUMNS = (
    "distance",
    "type",
    "id",
    "namespace",
    "name",
    "dataset",
    "owners",
    "lastRunAt",
    "lastRunState",
)
"""Columns of the CSV format, in order (the wire names of an affected row)."""

OWNER_SEPARATOR = ";"

# Plural nouns for the summary line, in the order they are listed.
_TYPE_NOUNS = {"dataset": "datasets", "model": "models", "job": "jobs", "column": "columns", "run": "runs"}


@dataclass(frozen=True, slots=True)
class ImpactSummary:
    """How many live nodes are affected, by type and by owner (a node counts once per owner)."""

    total: int
    by_type: dict[str, int]
    by_owner: dict[str, int]


def impact_depth(depth: int | None, limits: QueryLimits) -> int:
    """The depth an impact query walks: ``depth`` if given (checked), else unlimited.

    Unlimited is bounded by the node cap alone: a walk of at most ``max_nodes`` nodes never
    gets deeper than that, so the cap is the depth.
    """
    return max(limits.max_nodes, 1) if depth is None else check_depth(depth, limits)


async def read_impact(
    store: GraphStore, key: str, depth: int | None, limits: QueryLimits, *, as_of: str | None = None
) -> ImpactResult:
    """Every live node downstream of ``key``: all of them unless ``depth`` or the node cap cuts.

    Raises :class:`~olgraph.query.InvalidParameter` for a bad depth and
    :class:`~olgraph.errors.NotFound` when ``key`` is not a known node.
    """
    checked_depth = impact_depth(depth, limits)
    if key.startswith(COLUMN_PREFIX):
        return await store.column_impact(key, checked_depth, limits.max_nodes, as_of=as_of)
    await get_node_or_404(store, key)
    return await store.impact(key, checked_depth, limits.max_nodes, as_of=as_of)


def summarize(affected: Sequence[ImpactItem]) -> ImpactSummary:
    """Counts of ``affected`` by type and by owner, keys sorted."""
    by_type = Counter(item.type for item in affected)
    by_owner = Counter(owner for item in affected for owner in set(item.owners))
    return ImpactSummary(
        total=len(affected),
        by_type=dict(sorted(by_type.items())),
        by_owner=dict(sorted(by_owner.items())),
    )


def affected_row(item: ImpactItem) -> dict[str, Any]:
    """One affected node under its wire (camelCase) names: the row every format renders."""
    return {
        "id": item.id,
        "type": item.type,
        "namespace": item.namespace,
        "name": item.name,
        "dataset": item.dataset,
        "distance": item.distance,
        "owners": list(item.owners),
        "lastRunAt": item.last_run_at,
        "lastRunState": item.last_run_state,
    }


def render_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header line and one line per row; owners joined with ``;``, nulls empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return OWNER_SEPARATOR.join(str(v) for v in value)
    return str(value)


def render_ndjson(rows: Iterable[Mapping[str, Any]]) -> str:
    """One JSON object per line (every line ends with a newline; no rows → empty string)."""
    return "".join(orjson.dumps(dict(row)).decode() + "\n" for row in rows)


def describe_impact(
    total: int, by_type: Mapping[str, int], truncated: bool = False, truncated_by: Sequence[str] = ()
) -> str:
    """A one-line human summary, e.g. ``3 live dependents: 2 datasets, 1 job``."""
    if total == 0:
        text = "no live dependents"
    else:
        ordered = [t for t in _TYPE_NOUNS if by_type.get(t)] + sorted(set(by_type) - set(_TYPE_NOUNS))
        counts = ", ".join(_count_noun(by_type[t], t) for t in ordered if by_type[t])
        text = f"{_count_noun(total, 'live dependent')}: {counts}"
    if truncated or truncated_by:
        text += f" ({describe_truncation(truncated_by)}: there may be more)"
    return text


def describe_truncation(truncated_by: Sequence[str]) -> str:
    """Why an answer is incomplete, in words.

    >>> describe_truncation(["depth", "nodes"])
    'truncated at the depth asked for and at the node cap'
    """
    reasons = {"depth": "the depth asked for", "nodes": "the node cap"}
    named = [reasons[t] for t in ("depth", "nodes") if t in truncated_by]
    return "truncated at " + (" and at ".join(named) if named else "a limit")


def _count_noun(count: int, noun: str) -> str:
    plural = _TYPE_NOUNS.get(noun, noun + "s")
    return f"{count} {noun if count == 1 else plural}"
