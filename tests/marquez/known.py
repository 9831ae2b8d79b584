"""The differences between Marquez's answers and olgraph's that remain by design.

Each entry names the routes (a regex) and JSON paths (globs, ``[*]`` for any list item) it
covers and says why; docs/migrating-from-marquez.md explains each under its ``id``.
"""

from __future__ import annotations

from differential import Known

KNOWN: list[Known] = []
