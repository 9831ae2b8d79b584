"""Admin routes (role ``admin``, audit-logged): soft delete and purge, and retention on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from olgraph.api.auth import Principal, require_role
from olgraph.api.errors import ErrorOut, error_responses
from olgraph.api.params import NameParam, NamespaceParam, NodeIdParam, RuntimeDep, limits_of
from olgraph.api.wire import WireModel
from olgraph.errors import NotFound
from olgraph.query.admin import MAX_DAYS, DeleteOutcome, delete_namespace, delete_node, run_retention
from olgraph.query.nodes import resolve_dataset_key, resolve_job_key

router = APIRouter(
    prefix="/api/v1",
    tags=["admin"],
    responses={
        **error_responses(
            e400="A parameter is invalid (`field` names it)",
            e401="Missing or unknown API key",
            e403="The API key lacks the `admin` role",
            e404="The dataset, job or namespace does not exist",
        ),
        409: {
            "model": ErrorOut,
            "description": "Live nodes depend on it (`dependents`: the first ones, `total`); pass force=true",
        },
    },
)

AdminDep = Annotated[Principal, Depends(require_role("admin"))]
ForceParam = Annotated[bool, Query(description="delete even though live nodes depend on it")]
PurgeParam = Annotated[
    bool, Query(description="remove for good (with a dataset's versions and columns, a job's runs)")
]


class DeletedOut(WireModel):
    """What a delete did."""

    deleted: list[str] = Field(description="The nodes deleted (a namespace: it and its datasets and jobs)")
    purged: bool
    removed: int = Field(description="Nodes removed for good (purge only)")
    at: str = Field(description="When the delete was recorded (a later event mentioning the node revives it)")
    by: str = Field(description="The API key's name")
    forced_over: int = Field(description="Live dependents overridden by force=true")


def _deleted_out(outcome: DeleteOutcome) -> DeletedOut:
    return DeletedOut(
        deleted=outcome.deleted,
        purged=outcome.purged,
        removed=outcome.removed,
        at=outcome.at,
        by=outcome.by,
        forced_over=outcome.forced_over,
    )


@router.delete("/datasets", response_model=DeletedOut)
async def delete_dataset(
    runtime: RuntimeDep,
    principal: AdminDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    force: ForceParam = False,
    purge: PurgeParam = False,
) -> DeletedOut:
    """Soft-delete (or purge) a dataset or model: hidden from lineage, impact, listings and search;
    revived by a later event that mentions it. 409 while live nodes depend on it, unless forced."""
    key = resolve_dataset_key(node_id, namespace, name)
    outcome = await delete_node(
        runtime.store, key, force=force, purge=purge, by=principal.name, limits=limits_of(runtime)
    )
    return _deleted_out(outcome)


@router.delete("/jobs", response_model=DeletedOut)
async def delete_job(
    runtime: RuntimeDep,
    principal: AdminDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    force: ForceParam = False,
    purge: PurgeParam = False,
) -> DeletedOut:
    """Soft-delete (or purge, with its runs) a job. 409 while live nodes depend on it, unless forced."""
    key = resolve_job_key(node_id, namespace, name)
    outcome = await delete_node(
        runtime.store, key, force=force, purge=purge, by=principal.name, limits=limits_of(runtime)
    )
    return _deleted_out(outcome)


@router.delete("/namespaces/{namespace:path}", response_model=DeletedOut)
async def delete_a_namespace(
    runtime: RuntimeDep,
    principal: AdminDep,
    namespace: str,
    *,
    force: ForceParam = False,
    purge: PurgeParam = False,
) -> DeletedOut:
    """Soft-delete (or purge) a namespace and every dataset and job in it. 409 while live nodes
    outside the namespace depend on it, unless forced."""
    if not namespace:
        raise NotFound("a namespace is required", field="namespace")
    outcome = await delete_namespace(runtime.store, namespace, force=force, purge=purge, by=principal.name)
    return _deleted_out(outcome)


class RetentionIn(WireModel):
    """A retention pass to run now."""

    older_than_days: int = Field(ge=1, le=MAX_DAYS, description="Remove history older than this many days")
    dry_run: bool = Field(default=False, description="Only count what would go")


class RetentionOut(WireModel):
    """What a retention pass removed (or, dry, would remove)."""

    cutoff: str
    dry_run: bool
    runs: int
    dataset_versions: int
    events: int = Field(description="Raw events of the local event log (embedded deployment)")
    batches: int


@router.post("/retention", response_model=RetentionOut)
async def retention(runtime: RuntimeDep, principal: AdminDep, body: RetentionIn) -> RetentionOut:
    """Remove runs, dataset versions and raw events older than ``olderThanDays``, in bounded batches
    (ingest goes on meanwhile); each dataset's latest version and every lineage edge stay."""
    log = runtime.log
    applied = await log.committed(runtime.consumer_name) if log is not None else 0
    report = await run_retention(
        runtime.store,
        log,
        days=body.older_than_days,
        batch_size=runtime.settings.retention.batch_size,
        dry_run=body.dry_run,
        applied_offset=applied,
        by=principal.name,
    )
    counts = report.counts
    return RetentionOut(
        cutoff=report.cutoff,
        dry_run=report.dry_run,
        runs=counts.runs,
        dataset_versions=counts.versions,
        events=counts.events,
        batches=counts.batches,
    )
