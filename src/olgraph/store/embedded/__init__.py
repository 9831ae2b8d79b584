"""The embedded back end of the graph store: :class:`EmbeddedStore`, one SQLite file.

``store`` holds the class; ``apply`` writes a batch, ``query``/``columns``/``details``/``lists``/
``search``/``admin`` answer questions, ``rows`` encodes and decodes rows, ``schema`` creates and
migrates the file from the scripts in ``sql/``.
"""

from olgraph.store.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore"]
