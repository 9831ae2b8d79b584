"""Pure normalization of OpenLineage events into graph mutations (no I/O, no clock)."""
