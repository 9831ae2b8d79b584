"""The mutation model: what normalizing one event asks the graph store to do.

Every mutation is an idempotent, commutative upsert. Applying any permutation of any
multiset of mutation batches gives the same graph, which is what makes olgraph correct
under retries, duplicates and out-of-order delivery. Each property says how a new value
combines with the stored one (:class:`Merge`); stores implement those rules with
:func:`olgraph.store.merge.merge_props`, never their own.

Timestamps are :data:`Time` strings: UTC, fixed width, nanosecond precision
(``2024-05-01T12:00:00.000000000Z``), so string order is time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, TypeAlias

Time: TypeAlias = str
"""A normalized UTC timestamp, ``YYYY-MM-DDTHH:MM:SS.fffffffffZ``."""

JsonScalar: TypeAlias = str | int | float | bool
PropValue: TypeAlias = JsonScalar | list[str] | list[int] | list[float] | None
"""Values a property may hold: what Neo4j can store as a property (no maps, no nulls in lists).

Facets and other structured values are stored as JSON strings."""


class Label(StrEnum):
    """Primary node labels (one per node). ``Model`` is an extra label on some datasets."""

    JOB = "Job"
    RUN = "Run"
    DATASET = "Dataset"
    DATASET_VERSION = "DatasetVersion"
    FIELD = "Field"
    NAMESPACE = "Namespace"
    OWNER = "Owner"
    TAG = "Tag"


MODEL_LABEL = "Model"

TIMELINE_PREFIX = "timeline."
"""Run properties ``timeline.START`` … ``timeline.OTHER``: when each state was first reported."""


class RelType(StrEnum):
    """Relationship types. Lineage relationships point the way data flows."""

    CONSUMED_BY = "CONSUMED_BY"  # (Dataset)->(Job)
    PRODUCES = "PRODUCES"  # (Job)->(Dataset)
    READ_BY = "READ_BY"  # (DatasetVersion)->(Run)
    WROTE = "WROTE"  # (Run)->(DatasetVersion)
    VERSION_OF = "VERSION_OF"  # (DatasetVersion)->(Dataset)
    RUN_OF = "RUN_OF"  # (Run)->(Job)
    CHILD_OF = "CHILD_OF"  # (Run)->(Run), (Job)->(Job)
    HAS_FIELD = "HAS_FIELD"  # (Dataset)->(Field)
    DERIVES = "DERIVES"  # (Field)->(Field)  column lineage
    INFLUENCES = "INFLUENCES"  # (Field)->(Dataset)  dataset-wide (e.g. INDIRECT filter) dependency
    FEEDS = "FEEDS"  # (Dataset)->(Dataset), (Job)->(Job)  declared lineage without a job in between
    ALIAS_OF = "ALIAS_OF"  # (Dataset)->(Dataset)  symlinks
    OWNS = "OWNS"  # (Owner)->(Job|Dataset)
    TAGGED = "TAGGED"  # (Job|Dataset|Run)->(Tag)
    CONTAINS = "CONTAINS"  # (Namespace)->(Job|Dataset)


class Merge(StrEnum):
    """How a written property value combines with the stored one.

    All rules are commutative, associative and idempotent.
    """

    MIN = "min"  # keep the smallest (e.g. firstSeenAt, startedAt)
    MAX = "max"  # keep the largest (e.g. lastSeenAt)
    OR = "or"  # booleans: true once any write said true
    LWW = "lww"  # last writer wins by ``Prop.version``; ties broken by the value's canonical JSON
    UNION = "union"  # list[str]: sorted set union


class Prop(NamedTuple):
    """One property write.

    ``version`` orders LWW writes (a :data:`Time`, or a composite such as the run-state
    rank); it is ignored by the other rules. A ``None`` value under LWW is a tombstone:
    the property is absent while that write is the newest (``{"_deleted": true}`` facets).

    A named tuple rather than a frozen dataclass: an event of a wide table writes hundreds
    of them, and a tuple is built and hashed several times faster.
    """

    name: str
    value: PropValue
    merge: Merge = Merge.LWW
    version: str = ""


@dataclass(frozen=True, slots=True)
class UpsertNode:
    """Create the node ``key`` if missing, add ``extra_labels``, merge ``props`` into it."""

    key: str
    label: Label
    props: tuple[Prop, ...] = ()
    extra_labels: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UpsertEdge:
    """Create the relationship ``(source)-[type]->(target)`` if missing and merge ``props``.

    There is at most one relationship of a type between two nodes. Both nodes are upserted
    in the same batch (stores apply every node before any edge).
    """

    type: RelType
    source: str
    target: str
    props: tuple[Prop, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplaceLinks:
    """Last-writer-wins set of relationships of one kind on one node.

    Used for owners and tags, whose facet replaces the previous value: when ``version``
    is newer than the node's stored version for ``slot``, the node's ``type`` relationships
    recorded under ``slot`` are replaced by links to ``others``. ``incoming=True`` means
    ``(other)-[type]->(node)`` (``OWNS``), else ``(node)-[type]->(other)`` (``TAGGED``).
    Equal versions are broken by the canonical JSON of ``others`` so the result is order
    independent. The other nodes are upserted in the same batch.
    """

    node: str
    type: RelType
    others: tuple[Link, ...]
    incoming: bool
    version: str
    slot: str


@dataclass(frozen=True, slots=True)
class Link:
    """One target of :class:`ReplaceLinks`: the other node's key and the relationship's properties."""

    key: str
    props: tuple[tuple[str, PropValue], ...] = ()


@dataclass(frozen=True, slots=True)
class ReadVersion:
    """Run ``run`` read dataset ``dataset`` at ``at`` without naming a version.

    The store links ``(version)-[:READ_BY {at, implicit: true}]->(run)`` to the version of
    the dataset current at ``at``: the one with the greatest ``createdAt <= at`` (the
    implicit initial version when none), and re-links as versions arrive, so the result
    does not depend on arrival order. Several reads of one dataset by one run keep the
    earliest ``at``. ``props`` (the read's input facets) are merged into the relationship
    like an :class:`UpsertEdge`'s, and move with it when it is re-linked.
    """

    run: str
    dataset: str
    at: Time
    props: tuple[Prop, ...] = ()


Mutation: TypeAlias = UpsertNode | UpsertEdge | ReplaceLinks | ReadVersion
