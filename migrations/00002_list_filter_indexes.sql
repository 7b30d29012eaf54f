-- +goose Up
-- Every list filter is served by an index at 1M records (docs/schema.md).

-- uploader= and version= pages: equality, then did order (ORDER BY did LIMIT n).
CREATE INDEX record_uploader_did_idx ON record (uploader, did);
CREATE INDEX record_version_did_idx ON record (version, did);

-- acl=null: the records whose acl is empty, in did order. The list query
-- spells the filter exactly as this predicate (acl = '{}').
CREATE INDEX record_acl_empty_did_idx ON record (did) WHERE acl = '{}';

-- authz= filter: the authz sets holding every given path (paths @> $1).
-- authz=null finds the empty set through the unique index on paths.
CREATE INDEX authz_set_paths_gin_idx ON authz_set USING gin (paths);

-- No query filters record.authz through this index: authz= is resolved over
-- authz_set and applied as authz_set_id (record_authz_set_did_idx), and the
-- negated filter (NOT authz && ...) cannot use it. It only cost writes.
DROP INDEX record_authz_idx;

-- +goose Down
CREATE INDEX record_authz_idx ON record USING gin (authz);
DROP INDEX authz_set_paths_gin_idx;
DROP INDEX record_acl_empty_did_idx;
DROP INDEX record_version_did_idx;
DROP INDEX record_uploader_did_idx;
