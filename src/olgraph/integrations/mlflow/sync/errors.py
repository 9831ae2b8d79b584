"""The errors of ``olgraph sync mlflow``: each says, for the user, why the sync cannot go on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from olgraph.errors import OlgraphError

if TYPE_CHECKING:
    from olgraph.integrations.mlflow.sync.deletions import DeletionPlan


class SyncError(OlgraphError):
    """A sync that cannot go on; the message says why, for the user."""


class MlflowUnavailable(SyncError):
    """MLflow could not be read: server down, bad URI, refused request."""


class DeletionRefused(SyncError):
    """The fail-safe: too large a share of what was synced before would be marked deleted."""

    def __init__(self, plan: DeletionPlan, max_fraction: float) -> None:
        self.plan = plan
        super().__init__(
            f"{len(plan.vanished)} of the {plan.previous} models synced before are no longer in MLflow "
            f"({plan.fraction:.0%} > --max-delete-fraction {max_fraction:g}); nothing was marked deleted. "
            "Check --tracking-uri/--registry-uri, then re-run with --force to delete them anyway."
        )
