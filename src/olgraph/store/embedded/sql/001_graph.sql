-- olgraph embedded store: the property graph in one SQLite file.
-- Applied idempotently every time the store opens (every statement is IF NOT EXISTS).
-- Canonical copy: src/olgraph/store/embedded/sql/001_graph.sql; schemas/sqlite/001_graph.sql is
-- an identical copy for readers of schemas/ (a unit test keeps them equal).

-- One row per node. `label` is the primary label; `labels` the sorted JSON array of all
-- labels (e.g. ["Dataset","Model"]). `props` is the JSON object of every property except
-- the LWW version map, which lives in `versions` (JSON object, property -> version).
-- `namespace`/`name` duplicate the props of the same name so listings can use an index.
CREATE TABLE IF NOT EXISTS nodes (
    key       TEXT PRIMARY KEY,
    label     TEXT NOT NULL,
    labels    TEXT NOT NULL,
    namespace TEXT,
    name      TEXT,
    props     TEXT NOT NULL DEFAULT '{}',
    versions  TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

-- Listings: datasets/jobs of a namespace sorted by name; namespaces by name.
CREATE INDEX IF NOT EXISTS nodes_by_label_namespace_name ON nodes (label, namespace, name);

-- At most one relationship of a type between two nodes, as in the graph model.
CREATE TABLE IF NOT EXISTS edges (
    type     TEXT NOT NULL,
    src      TEXT NOT NULL,
    dst      TEXT NOT NULL,
    props    TEXT NOT NULL DEFAULT '{}',
    versions TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (type, src, dst)
) WITHOUT ROWID;

-- Traversal in both directions: the primary key serves (type, src); these serve
-- incoming lookups (upstream lineage, versions of a dataset, runs of a job) and
-- "every relationship of a node" (deleting a node).
CREATE INDEX IF NOT EXISTS edges_by_dst ON edges (dst, type, src);
CREATE INDEX IF NOT EXISTS edges_by_src ON edges (src, type, dst);
