"""Deleting nodes and expiring history: what the admin routes and commands do, with an audit trail.

Every delete and retention pass is logged on the ``olgraph.audit`` logger (who, what, when, the
outcome) before it answers.

* **Soft delete** (the default) marks a dataset, job or namespace ``deleted``: lineage, impact,
  listings and search leave it out. It is an ordinary upsert through the store (``deletedAt``,
  ``deletedBy``), so it needs no special path in either store, and an event that mentions the
  node *after* the delete (a later ``eventTime``) revives it. A namespace delete marks every
  dataset and job in it, in batches, then the namespace.
* **Purge** removes the node for good, with a dataset's versions and columns and a job's runs.
* Both are refused with :class:`~olgraph.errors.Conflict` (409) while live nodes depend on the
  node (for a namespace: live nodes outside it), unless forced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from olgraph import keys
from olgraph.errors import Conflict, NotFound
from olgraph.log.base import EventLog
from olgraph.normalize.mutations import Label, Merge, Prop, UpsertNode
from olgraph.query.lineage import QueryLimits
from olgraph.query.nodes import get_node_or_404
from olgraph.store.base import GraphStore, NodeView
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.retention import RetentionCounts

audit = logging.getLogger("olgraph.audit")

DEPENDENTS_SHOWN = 20
"""Dependents a refused delete names (``total`` counts them all, up to the node cap)."""

DELETE_BATCH = 500

OUTSIDE_COUNTED = 10_000
"""Most live dependents outside a namespace that a refused namespace delete counts."""


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """What a delete did: the nodes marked (soft) or the number of nodes removed (purge)."""

    deleted: list[str]
    purged: bool
    removed: int
    at: str
    by: str
    forced_over: int
    """Live dependents there were when ``force`` overrode the refusal (0 otherwise)."""


MAX_DAYS = 36_500
"""The longest retention period (a hundred years): any longer keeps everything anyway."""


def now_time(now: datetime | None = None) -> str:
    """``now`` (default: the clock) as a stored time string (fixed width, UTC)."""
    m = (now or datetime.now(UTC)).astimezone(UTC)
    date = f"{m.year:04d}-{m.month:02d}-{m.day:02d}"
    return f"{date}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}000Z"


def _label(key: str) -> Label:
    for prefix, label in (("dataset:", Label.DATASET), ("job:", Label.JOB), ("namespace:", Label.NAMESPACE)):
        if key.startswith(prefix):
            return label
    raise ValueError(f"{key!r} cannot be deleted")


def soft_delete_mutation(key: str, last_seen: object, at: str, by: str) -> UpsertNode:
    """The write that marks ``key`` deleted: at ``at``, or just after its last event when that is
    later (so an event already received can never count as newer than the delete)."""
    when = max(at, str(last_seen)) if last_seen is not None else at
    props = (Prop("deletedAt", when, Merge.MAX), Prop("deletedBy", by, Merge.LWW, when))
    return UpsertNode(key, _label(key), props)


def _dependents_conflict(what: str, dependents: list[NodeView], total: int) -> Conflict:
    shown = [{"id": n.id, "type": n.type, "namespace": n.namespace, "name": n.name} for n in dependents]
    first = dependents[0].id if dependents else "?"
    return Conflict(
        f"{what} has {total} live dependent{'s' if total != 1 else ''} (first: {first}); "
        "pass force=true to delete it anyway",
        field="nodeId",
        details={"dependents": shown, "total": total},
    )


async def delete_node(
    store: GraphStore,
    key: str,
    *,
    force: bool,
    purge: bool,
    by: str,
    limits: QueryLimits,
    at: str | None = None,
) -> DeleteOutcome:
    """Soft-delete or purge one dataset, model or job (see the module docstring)."""
    node = await get_node_or_404(store, key)
    impact = await store.impact(key, max(limits.max_nodes, 1), limits.max_nodes)
    live = [NodeView(i.id, i.type, i.namespace, i.name) for i in impact.affected]
    if live and not force:
        audit.warning("delete refused: %s by %s (%d live dependents)", key, by, len(live))
        raise _dependents_conflict(key, live[:DEPENDENTS_SHOWN], len(live))
    when = at or now_time()
    if purge:
        removed = await store.purge([key])
    else:
        await store.apply([soft_delete_mutation(key, node.props.get("lastSeenAt"), when, by)])
        removed = 0
    audit.warning(
        "%s: %s by %s at %s (force=%s, %d live dependents, %d nodes removed)",
        "purged" if purge else "soft-deleted",
        key,
        by,
        when,
        force,
        len(live),
        removed,
    )
    return DeleteOutcome([key], purge, removed, when, by, len(live) if force else 0)


async def _namespace_exists(store: GraphStore, namespace: str) -> bool:
    page = await store.list_namespaces(1, 0, include_deleted=True, after=(namespace, ""))
    return bool(page.items) and page.items[0] == namespace


async def _members(store: GraphStore, namespace: str, kind: str) -> list[NodeView]:
    """Every dataset (or job) of ``namespace``, deleted or not, in keyset pages."""
    out: list[NodeView] = []
    after: tuple[str, str] | None = None
    flt = NodeFilter("dataset" if kind == "dataset" else "job", namespace, include_deleted=True)
    while True:
        page = await store.list_nodes(flt, Window(DELETE_BATCH, 0, after))
        out += page.items
        if len(page.items) < DELETE_BATCH:
            return out
        after = (page.items[-1].name, page.items[-1].id)


async def delete_namespace(
    store: GraphStore, namespace: str, *, force: bool, purge: bool, by: str, at: str | None = None
) -> DeleteOutcome:
    """Soft-delete or purge a namespace and every dataset and job in it, in batches."""
    if not await _namespace_exists(store, namespace):
        raise NotFound(f"namespace {namespace!r} was not found", field="namespace")
    outside = await store.external_dependents(namespace, OUTSIDE_COUNTED)
    if outside and not force:
        audit.warning("delete refused: namespace %s by %s (live dependents outside it)", namespace, by)
        raise _dependents_conflict(f"namespace {namespace!r}", outside[:DEPENDENTS_SHOWN], len(outside))
    when = at or now_time()
    members = [*await _members(store, namespace, "dataset"), *await _members(store, namespace, "job")]
    removed = 0
    for start in range(0, len(members), DELETE_BATCH):
        batch = members[start : start + DELETE_BATCH]
        if purge:
            removed += await store.purge([n.id for n in batch])
        else:
            await store.apply(
                [soft_delete_mutation(n.id, n.props.get("lastSeenAt"), when, by) for n in batch]
            )
    key = keys.namespace_key(namespace)
    if purge:
        removed += await store.purge([key])
    else:
        await store.apply([soft_delete_mutation(key, None, when, by)])
    audit.warning(
        "%s: namespace %s (%d datasets and jobs) by %s at %s (force=%s, %d nodes removed)",
        "purged" if purge else "soft-deleted",
        namespace,
        len(members),
        by,
        when,
        force,
        removed,
    )
    return DeleteOutcome(
        [key, *(n.id for n in members)], purge, removed, when, by, len(outside) if force else 0
    )


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """One retention pass: the cutoff, and what went (or would go, dry)."""

    cutoff: str
    dry_run: bool
    counts: RetentionCounts


async def run_retention(
    store: GraphStore,
    log: EventLog | None,
    *,
    days: int,
    batch_size: int,
    dry_run: bool = False,
    applied_offset: int = 0,
    now: datetime | None = None,
    by: str = "retention",
) -> RetentionReport:
    """Remove runs, then dataset versions, then raw events (a local log's, applied ones only)
    older than ``days``, one bounded batch (transaction) at a time."""
    cutoff = now_time((now or datetime.now(UTC)) - timedelta(days=min(days, MAX_DAYS)))
    counts = RetentionCounts()
    for expire in (store.expire_runs, store.expire_versions):
        after: str | None = ""
        while after is not None:
            removed, after = await expire(cutoff, after, batch_size, dry_run)
            kind = {"runs": removed} if expire == store.expire_runs else {"versions": removed}
            counts += RetentionCounts(**kind, batches=1 if after is not None else 0)
    if log is not None:
        delete = getattr(log, "delete_events_before", None)
        while delete is not None:
            removed = await delete(cutoff, applied_offset, batch_size, dry_run)
            counts += RetentionCounts(events=removed, batches=1 if removed else 0)
            if removed < batch_size or dry_run:
                break
    audit.warning(
        "retention%s by %s: before %s removed %d runs, %d dataset versions, %d raw events in %d batches",
        " (dry run)" if dry_run else "",
        by,
        cutoff,
        counts.runs,
        counts.versions,
        counts.events,
        counts.batches,
    )
    return RetentionReport(cutoff, dry_run, counts)
