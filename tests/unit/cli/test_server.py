"""Process set-up the server commands share (``olgraph.cli._server``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from olgraph.cli._server import GC_THRESHOLDS, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put this test process's collector back as it was."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_raises_the_thresholds_and_freezes_what_start_up_allocated() -> None:
    tune_gc()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # CPython's default first generation
    assert gc.get_freeze_count() > 0
