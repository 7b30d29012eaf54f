-- +goose Up
-- /_query/urls/q?include=<substring>: a trigram index on the url rows finds
-- the records whose urls hold the substring (three characters or more)
-- without reading every record. pg_trgm ships with PostgreSQL and is a
-- trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX record_url_trgm_idx ON record_url USING gin (url gin_trgm_ops);

-- /_query/urls/metadata/q?key=k&value=v: the records whose urls_metadata
-- has some url with k = v, through jsonpath (urls_metadata @@ '$.*."k" ==
-- "v"'), which the default jsonb_ops class indexes (jsonb_path_ops cannot
-- serve the .* accessor).
CREATE INDEX record_urls_metadata_idx ON record USING gin (urls_metadata);

-- +goose Down
DROP INDEX record_urls_metadata_idx;
DROP INDEX record_url_trgm_idx;
