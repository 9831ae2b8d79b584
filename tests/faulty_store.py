"""A real graph store whose writes fail on purpose: the one fault-injecting wrapper of the tests.

:class:`FaultyStore` wraps a real store (embedded or Neo4j) and answers everything as it does,
except that ``apply`` first asks its *rule* whether this batch fails, and with what. Rules:

* :func:`first_calls` — the first ``n`` batches fail (a store that comes back);
* :func:`touching` — batches that upsert a node whose key starts with a prefix (events the
  store refuses, or a bug met on some events), while ``store.failing`` is true;
* :func:`always` — every batch (a store that stays down until ``store.failing`` is cleared).

It records every batch it was given (``batches``) and how many failed (``failures``). Tests
import it as ``from faulty_store import FaultyStore, ...`` (tests/ is on ``sys.path`` through
its conftest.py; the module name is unique in the tree).

Example::

    store = FaultyStore(real_store, touching("job:ns:poison", StoreError("constraint violated")))
    ...
    assert store.failures == 1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from olgraph.normalize.mutations import Mutation, UpsertNode

Rule = Callable[["FaultyStore", Sequence[Mutation]], BaseException | None]
"""Decides whether one ``apply`` call fails: the exception to raise, or None to apply it."""


class FaultyStore:
    """``inner`` (a real GraphStore) whose ``apply`` fails when ``rule`` says so."""

    def __init__(self, inner: Any, rule: Rule) -> None:
        self.inner = inner
        self.rule = rule
        self.failing = True
        self.calls = 0
        self.failures = 0
        self.batches: list[list[Mutation]] = []

    async def apply(self, mutations: Sequence[Mutation]) -> None:
        self.calls += 1
        self.batches.append(list(mutations))
        error = self.rule(self, mutations) if self.failing else None
        if error is not None:
            self.failures += 1
            raise error
        await self.inner.apply(mutations)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def first_calls(count: int, error: BaseException) -> Rule:
    """The first ``count`` calls fail with ``error``; the later ones are applied."""

    def rule(store: FaultyStore, _mutations: Sequence[Mutation]) -> BaseException | None:
        return error if store.calls <= count else None

    return rule


def always(error: BaseException) -> Rule:
    """Every call fails with ``error`` (while ``store.failing``)."""

    def rule(_store: FaultyStore, _mutations: Sequence[Mutation]) -> BaseException | None:
        return error

    return rule


def touching(key_prefix: str, error: BaseException) -> Rule:
    """Calls that upsert a node whose key starts with ``key_prefix`` fail with ``error``."""

    def rule(_store: FaultyStore, mutations: Sequence[Mutation]) -> BaseException | None:
        hit = any(isinstance(m, UpsertNode) and m.key.startswith(key_prefix) for m in mutations)
        return error if hit else None

    return rule


def upserted_jobs(mutations: Sequence[Mutation]) -> set[str]:
    """Keys of the jobs a batch upserts (how many events of distinct jobs it holds)."""
    return {m.key for m in mutations if isinstance(m, UpsertNode) and m.key.startswith("job:")}
