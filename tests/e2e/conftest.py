"""Fixtures of the end-to-end tests (a real ``olgraph serve``, a recording proxy).

They and the helpers the tests import are defined in ``e2e_support`` (a module name unique in
the tree: ``from conftest import …`` would pick whichever conftest was imported first).
"""

from __future__ import annotations

from e2e_support import olgraph_server, pytest_runtest_makereport, recording_proxy

__all__ = ["olgraph_server", "pytest_runtest_makereport", "recording_proxy"]
