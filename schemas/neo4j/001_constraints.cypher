// olgraph Neo4j schema: uniqueness constraints and indexes.
// Applied idempotently every time the Neo4j store opens (every statement is IF [NOT] EXISTS),
// one statement at a time (schema commands cannot share a transaction with writes).
// Canonical copy: src/olgraph/store/neo4j/001_constraints.cypher; schemas/neo4j/001_constraints.cypher
// is an identical copy for readers of schemas/ (a unit test keeps them equal).
// Statements end with a semicolon; lines starting with // are comments.

// One node per key and label. The constraint's index is what anchors every write (MERGE by key)
// and every traversal (start node by key).
CREATE CONSTRAINT job_key IF NOT EXISTS FOR (n:Job) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT run_key IF NOT EXISTS FOR (n:Run) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT dataset_key IF NOT EXISTS FOR (n:Dataset) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT dataset_version_key IF NOT EXISTS FOR (n:DatasetVersion) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT field_key IF NOT EXISTS FOR (n:Field) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT namespace_key IF NOT EXISTS FOR (n:Namespace) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT owner_key IF NOT EXISTS FOR (n:Owner) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT tag_key IF NOT EXISTS FOR (n:Tag) REQUIRE n.key IS UNIQUE;

// Listings and analysts' filters: datasets/jobs of a namespace sorted by name.
CREATE INDEX dataset_namespace_name IF NOT EXISTS FOR (n:Dataset) ON (n.namespace, n.name);
CREATE INDEX job_namespace_name IF NOT EXISTS FOR (n:Job) ON (n.namespace, n.name);
CREATE INDEX namespace_name IF NOT EXISTS FOR (n:Namespace) ON (n.name);

// Runs by state (stuck or failed runs), by last event time, and by job.
CREATE INDEX run_state IF NOT EXISTS FOR (n:Run) ON (n.state);
CREATE INDEX run_updated_at IF NOT EXISTS FOR (n:Run) ON (n.updatedAt);
CREATE INDEX run_job IF NOT EXISTS FOR (n:Run) ON (n.job);

// Versions of a dataset without walking VERSION_OF.
CREATE INDEX dataset_version_dataset IF NOT EXISTS FOR (n:DatasetVersion) ON (n.dataset);

// Models (an extra label on some datasets): look them up by key, or list them by namespace and name.
CREATE INDEX model_key IF NOT EXISTS FOR (n:Model) ON (n.key);
CREATE INDEX model_namespace_name IF NOT EXISTS FOR (n:Model) ON (n.namespace, n.name);

// Read side. Search: every dataset, job, column and namespace has `searchName`, its lower-cased
// name, and `searchTie`, the start of its key. A composite RANGE index returns them in the order
// hits are ranked in (name, then key) for exact and prefix matches; a TEXT index (trigram based)
// serves substring matches.
CREATE INDEX dataset_search_order IF NOT EXISTS FOR (n:Dataset) ON (n.searchName, n.searchTie);
CREATE INDEX job_search_order IF NOT EXISTS FOR (n:Job) ON (n.searchName, n.searchTie);
CREATE INDEX field_search_order IF NOT EXISTS FOR (n:Field) ON (n.searchName, n.searchTie);
CREATE INDEX namespace_search_order IF NOT EXISTS FOR (n:Namespace) ON (n.searchName, n.searchTie);
CREATE TEXT INDEX dataset_search_text IF NOT EXISTS FOR (n:Dataset) ON (n.searchName);
CREATE TEXT INDEX job_search_text IF NOT EXISTS FOR (n:Job) ON (n.searchName);
CREATE TEXT INDEX namespace_search_text IF NOT EXISTS FOR (n:Namespace) ON (n.searchName);
// Models have their own pair: a search for models alone must not walk every dataset's name.
CREATE INDEX model_search_order IF NOT EXISTS FOR (n:Model) ON (n.searchName, n.searchTie);
CREATE TEXT INDEX model_search_text IF NOT EXISTS FOR (n:Model) ON (n.searchName);
// Columns repeat their names across tables: substrings are matched among the distinct names,
// one FieldName node each (no relationships), then the columns of a name read from the index above.
CREATE CONSTRAINT field_name_search_name IF NOT EXISTS FOR (n:FieldName) REQUIRE n.searchName IS UNIQUE;
CREATE TEXT INDEX field_name_search_text IF NOT EXISTS FOR (n:FieldName) ON (n.searchName);
// Replaced by the ones above (graphs written by an earlier olgraph have them).
DROP INDEX dataset_search_name IF EXISTS;
DROP INDEX job_search_name IF EXISTS;
DROP INDEX field_search_name IF EXISTS;
DROP INDEX namespace_search_name IF EXISTS;
DROP INDEX model_search_name IF EXISTS;
DROP INDEX field_search_text IF EXISTS;

// Listings across namespaces by name; columns by namespace.
CREATE INDEX dataset_name IF NOT EXISTS FOR (n:Dataset) ON (n.name);
CREATE INDEX job_name IF NOT EXISTS FOR (n:Job) ON (n.name);
// Listings sorted by when a node was last seen (either direction: the index returns them in order).
CREATE INDEX dataset_last_seen IF NOT EXISTS FOR (n:Dataset) ON (n.lastSeenAt);
CREATE INDEX job_last_seen IF NOT EXISTS FOR (n:Job) ON (n.lastSeenAt);
CREATE INDEX field_namespace IF NOT EXISTS FOR (n:Field) ON (n.namespace);
