"""The examples in olgraph's docstrings run, so they stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import olgraph


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(olgraph.__path__, prefix="olgraph."))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see output above)"


def test_the_examples_are_found() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples) for name in _modules() for test in finder.find(importlib.import_module(name))
    )
    assert examples >= 30
