"""What a listing of datasets, models or jobs asks for (pure): filters, order and keyset position.

Listings are ordered by a sort value (the name by default, or the ``lastSeenAt`` time), then by
key, ascending or both descending; nodes without the sort value come last in both directions.
A page starts after ``after`` (the last item's ``(value, key)``: keyset paging, stable under
concurrent writes) or at ``offset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from olgraph import keys

ListKind = Literal["dataset", "job"]
SortProperty = Literal["name", "lastSeenAt"]


@dataclass(frozen=True, slots=True)
class NodeFilter:
    """Which datasets (models) or jobs a listing holds.

    ``models``: True for models only, False for datasets that are not models, None for both;
    ``owner``: an owner name; ``tag``: ``(key, value)``, or ``(key, None)`` for any value;
    ``job_type``: jobs whose ``jobType`` property (from the ``jobType`` facet) is this value.
    """

    kind: ListKind
    namespace: str | None = None
    models: bool | None = None
    owner: str | None = None
    tag: tuple[str, str | None] | None = None
    include_deleted: bool = False
    job_type: str | None = None

    @property
    def label(self) -> str:
        """The primary label listed."""
        return "Dataset" if self.kind == "dataset" else "Job"

    @property
    def owner_key(self) -> str | None:
        """The key of the Owner node the filter names."""
        return None if self.owner is None else keys.owner_key(self.owner)

    def tag_keys(self) -> tuple[str, str] | None:
        """``(low, high)``: Tag node keys in ``[low, high)`` match (one key for an exact tag)."""
        if self.tag is None:
            return None
        name, value = self.tag
        if value is not None:
            exact = keys.tag_key(name, value)
            return exact, exact + "\x00"
        prefix = keys.tag_key(name, "")
        return prefix, prefix + "\U0010ffff"


@dataclass(frozen=True, slots=True)
class ListOrder:
    """How a listing is ordered: by ``prop`` then key, ascending or (both) descending.

    Nodes without ``prop`` (never for ``name``) come after all others in both directions,
    by key (ascending, or descending with ``descending``).
    """

    prop: SortProperty = "name"
    descending: bool = False

    @property
    def nullable(self) -> bool:
        """Whether some nodes may lack the sort value (every listed node has a name)."""
        return self.prop != "name"

    @property
    def direction(self) -> tuple[str, str]:
        """The ``ORDER BY`` keyword of this order and the comparison that means "comes after"
        in it (the same words in SQL and Cypher): ``("ASC", ">")`` or ``("DESC", "<")``."""
        return ("DESC", "<") if self.descending else ("ASC", ">")


BY_NAME = ListOrder()


@dataclass(frozen=True, slots=True)
class Window:
    """One page: at most ``limit`` items after ``after`` (the last item's ``(sort value, key)``;
    the value is None for a node without it), else from ``offset``; in ``order``."""

    limit: int
    offset: int = 0
    after: tuple[str | None, str] | None = None
    order: ListOrder = BY_NAME
