-- olgraph embedded store, schema 2: what the read side (listings, search, deletes) needs.
-- Applied after 001_graph.sql every time the store opens (every statement is IF NOT EXISTS).
-- The columns it relies on are added first, by code (SQLite has no ADD COLUMN IF NOT EXISTS):
--   nodes.search  TEXT      the lower-cased name of a dataset, job, column or namespace
--   nodes.hidden  INTEGER   1 when the node is deleted (dropped or soft-deleted), else 0
-- and rows written before schema 2 are back-filled once (PRAGMA user_version records it).
-- Canonical copy: src/olgraph/store/embedded/sql/002_read_side.sql; schemas/sqlite/002_read_side.sql is
-- an identical copy for readers of schemas/ (a unit test keeps them equal).

-- Listings across namespaces, by name.
CREATE INDEX IF NOT EXISTS nodes_by_label_name ON nodes (label, name, key);

-- Search. One row per searchable node, kept by the triggers below: the lower-cased name
-- (`term`), what a result shows and filters on (type, namespace — a namespace's own name —,
-- the dataset of a column, deleted or not). `term` is indexed twice: a B-tree for exact and prefix matches (in name
-- order) and an FTS5 trigram index for substrings (three characters or more).
CREATE TABLE IF NOT EXISTS search_terms (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    term      TEXT NOT NULL,
    type      TEXT NOT NULL,
    namespace TEXT,
    dataset   TEXT,
    hidden    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS search_terms_by_term ON search_terms (term, key);

CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    term, content = 'search_terms', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER IF NOT EXISTS search_terms_ai AFTER INSERT ON search_terms BEGIN
    INSERT INTO search_fts (rowid, term) VALUES (new.id, new.term);
END;
CREATE TRIGGER IF NOT EXISTS search_terms_ad AFTER DELETE ON search_terms BEGIN
    INSERT INTO search_fts (search_fts, rowid, term) VALUES ('delete', old.id, old.term);
END;
CREATE TRIGGER IF NOT EXISTS search_terms_au AFTER UPDATE OF term ON search_terms
WHEN old.term IS NOT new.term BEGIN
    INSERT INTO search_fts (search_fts, rowid, term) VALUES ('delete', old.id, old.term);
    INSERT INTO search_fts (rowid, term) VALUES (new.id, new.term);
END;

CREATE TRIGGER IF NOT EXISTS nodes_search_ai AFTER INSERT ON nodes
WHEN new.search IS NOT NULL BEGIN
    INSERT INTO search_terms (key, term, type, namespace, dataset, hidden) VALUES (
        new.key, new.search,
        CASE WHEN instr(new.labels, '"Model"') THEN 'model' WHEN new.label = 'Dataset' THEN 'dataset'
             WHEN new.label = 'Job' THEN 'job' WHEN new.label = 'Field' THEN 'column' ELSE 'namespace' END,
        CASE WHEN new.label = 'Namespace' THEN new.name ELSE new.namespace END,
        CASE WHEN new.label = 'Field' THEN json_extract(new.props, '$.dataset') END,
        new.hidden
    ) ON CONFLICT (key) DO NOTHING;
END;
CREATE TRIGGER IF NOT EXISTS nodes_search_au AFTER UPDATE OF search, hidden, labels ON nodes
WHEN old.search IS NOT new.search OR old.hidden IS NOT new.hidden OR old.labels IS NOT new.labels BEGIN
    DELETE FROM search_terms WHERE key = old.key AND new.search IS NULL;
    INSERT INTO search_terms (key, term, type, namespace, dataset, hidden)
    SELECT new.key, new.search,
        CASE WHEN instr(new.labels, '"Model"') THEN 'model' WHEN new.label = 'Dataset' THEN 'dataset'
             WHEN new.label = 'Job' THEN 'job' WHEN new.label = 'Field' THEN 'column' ELSE 'namespace' END,
        CASE WHEN new.label = 'Namespace' THEN new.name ELSE new.namespace END,
        CASE WHEN new.label = 'Field' THEN json_extract(new.props, '$.dataset') END,
        new.hidden
    WHERE new.search IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET term = excluded.term, type = excluded.type,
        namespace = excluded.namespace, hidden = excluded.hidden;
END;
CREATE TRIGGER IF NOT EXISTS nodes_search_ad AFTER DELETE ON nodes
WHEN old.search IS NOT NULL BEGIN
    DELETE FROM search_terms WHERE key = old.key;
END;
