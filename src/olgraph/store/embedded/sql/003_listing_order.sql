-- olgraph embedded store, schema 3: listings sorted by when a node was last seen.
-- Applied after 002_read_side.sql every time the store opens (IF NOT EXISTS); a file of
-- schema 2 gets the index on its first open by this olgraph (nothing to back-fill).
-- Canonical copy: src/olgraph/store/embedded/sql/003_listing_order.sql; schemas/sqlite/003_listing_order.sql
-- is an identical copy for readers of schemas/ (a unit test keeps them equal).

-- Datasets and jobs by lastSeenAt (then key), read forwards or backwards; nodes without the
-- time are the index's NULL range. Queries must spell the expression exactly like this.
CREATE INDEX IF NOT EXISTS nodes_by_label_seen
    ON nodes (label, json_extract(props, '$.lastSeenAt'), key);
