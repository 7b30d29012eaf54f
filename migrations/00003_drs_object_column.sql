-- +goose Up
-- A record is a GA4GH DRS object (a single blob) when it has a size, a
-- checksum and a URL whose scheme has a DRS access type (indexd.IsDRSObject;
-- the scheme list is indexd.DRSSchemes, and a repository test holds the two
-- definitions together). DRS lists filter on it; as a stored column it is an
-- INCLUDE column of the set-walk index, so a DRS page walked set by set
-- stays index-only instead of reading every candidate row's urls.
-- +goose StatementBegin
CREATE FUNCTION indexd_is_drs_object(size bigint, hashes jsonb, urls text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT size IS NOT NULL AND hashes <> '{}'::jsonb AND EXISTS (
        SELECT 1 FROM unnest(urls) AS u
        WHERE strpos(u, '://') > 1
          AND lower(split_part(u, '://', 1)) = ANY ('{file,ftp,globus,gs,gsiftp,htsget,http,https,s3}'::text[]))
$$;
-- +goose StatementEnd

ALTER TABLE record ADD COLUMN drs_object boolean NOT NULL
    GENERATED ALWAYS AS (indexd_is_drs_object(size, hashes, urls)) STORED;

DROP INDEX record_authz_set_did_idx;
CREATE INDEX record_authz_set_did_idx ON record (authz_set_id, did) INCLUDE (drs_object);

-- +goose Down
DROP INDEX record_authz_set_did_idx;
CREATE INDEX record_authz_set_did_idx ON record (authz_set_id, did) INCLUDE (size);
ALTER TABLE record DROP COLUMN drs_object;
DROP FUNCTION indexd_is_drs_object(bigint, jsonb, text[]);
