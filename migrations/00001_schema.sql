-- +goose Up
-- Records are stored denormalised (hashes, urls, metadata as JSONB/arrays on
-- the row) so that one index lookup returns a whole record in one round trip.
-- See docs/schema.md for which index serves which query.

-- Distinct authz sets: records in a commons share few distinct authz lists, so
-- the hierarchical visibility test runs over this small table, and records
-- are then filtered by a plain indexed equality on authz_set_id.
CREATE TABLE authz_set (
    id      bigserial PRIMARY KEY,
    paths   text[] COLLATE "C" NOT NULL UNIQUE, -- canonical: normalised, sorted, unique
    n_paths integer NOT NULL
);

-- One row per (set, path, ancestor-or-self prefix of path). A grant on g
-- covers every row whose prefix = g; a set is visible when every one of its
-- paths has a covering row.
CREATE TABLE authz_set_prefix (
    set_id bigint NOT NULL REFERENCES authz_set(id) ON DELETE CASCADE,
    path   text COLLATE "C" NOT NULL,
    prefix text COLLATE "C" NOT NULL,
    PRIMARY KEY (prefix, set_id, path)
);

CREATE TABLE record (
    did                  text COLLATE "C" PRIMARY KEY,
    baseid               text COLLATE "C" NOT NULL,
    rev                  text NOT NULL,
    form                 text,
    size                 bigint CHECK (size >= 0),
    file_name            text,
    version              text,
    uploader             text,
    description          text,
    created_date         timestamptz NOT NULL,
    updated_date         timestamptz NOT NULL,
    content_created_date timestamptz,
    content_updated_date timestamptz,
    hashes               jsonb NOT NULL DEFAULT '{}',
    urls                 text[] NOT NULL DEFAULT '{}',
    urls_metadata        jsonb NOT NULL DEFAULT '{}',
    acl                  text[] NOT NULL DEFAULT '{}',
    authz                text[] NOT NULL DEFAULT '{}',
    metadata             jsonb NOT NULL DEFAULT '{}',
    authz_set_id         bigint NOT NULL REFERENCES authz_set(id)
);

-- visibility: records of the caller's visible authz sets, in did order
CREATE INDEX record_authz_set_did_idx ON record (authz_set_id, did) INCLUDE (size);
-- exact per-set row estimates (up to 10,000 distinct sets) so the planner
-- knows how selective "authz_set_id = ANY(...)" is
ALTER TABLE record ALTER COLUMN authz_set_id SET STATISTICS 10000;
-- versions and latest
CREATE INDEX record_baseid_created_idx ON record (baseid, created_date);
-- list filters
CREATE INDEX record_hashes_idx ON record USING gin (hashes jsonb_path_ops);
CREATE INDEX record_acl_idx ON record USING gin (acl);
CREATE INDEX record_authz_idx ON record USING gin (authz);
CREATE INDEX record_metadata_idx ON record USING gin (metadata jsonb_path_ops);
CREATE INDEX record_file_name_idx ON record (file_name, did);
CREATE INDEX record_size_idx ON record (size, did);

-- url → records: a btree the planner estimates exactly (an array GIN index
-- has no per-element statistics for unique urls and was passed over for a
-- full scan of the did index). Kept in step with record.urls on every write.
CREATE TABLE record_url (
    url text COLLATE "C" NOT NULL,
    did text COLLATE "C" NOT NULL REFERENCES record(did) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (url, did)
);
CREATE INDEX record_url_did_idx ON record_url (did);

CREATE TABLE alias (
    name text COLLATE "C" PRIMARY KEY,
    did  text COLLATE "C" NOT NULL REFERENCES record(did) ON DELETE CASCADE
);
CREATE INDEX alias_did_idx ON alias (did, name);

-- Discovery settings: one row, changed by admins, announced with NOTIFY.
CREATE TABLE discovery_settings (
    id                       boolean PRIMARY KEY DEFAULT true CHECK (id),
    are_records_discoverable boolean NOT NULL,
    global_discovery_authz   text[] NOT NULL,
    version                  bigint NOT NULL DEFAULT 1, -- +1 on every change: instances keep the newest
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE discovery_settings_audit (
    id         bigserial PRIMARY KEY,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    old_value  jsonb,
    new_value  jsonb NOT NULL
);

-- Basic-auth admin users; password_hash is bcrypt.
CREATE TABLE admin_user (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE admin_user;
DROP TABLE discovery_settings_audit;
DROP TABLE discovery_settings;
DROP TABLE alias;
DROP TABLE record_url;
DROP TABLE record;
DROP TABLE authz_set_prefix;
DROP TABLE authz_set;
