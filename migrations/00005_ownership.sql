-- +goose Up
-- Issue 12: no one takes over a record, an id, an alias or a version chain
-- that is not theirs.

-- Admin users: who created each, and an audit trail of every change (as
-- the settings have), so an operator revoking a policy admin can find the
-- basic-auth admins it made. Users created before this migration have no
-- recorded creator (NULL).
ALTER TABLE admin_user ADD COLUMN created_by text;

CREATE TABLE admin_user_audit (
    id         bigserial PRIMARY KEY,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    action     text NOT NULL CHECK (action IN ('create', 'password', 'delete')),
    username   text NOT NULL
);

-- Every spelling a record answers to literally: its did and its aliases.
-- The primary key makes one spelling name one record, whatever the kind,
-- in the writing transaction (a did and an alias of the same name cannot
-- both be created, even concurrently). A spelling's prefix twin (with or
-- without DEFAULT_PREFIX, which is configuration, not data) is not stored:
-- writes check it under a lock on the id's unprefixed form, and reads try
-- the literal spelling first, then the twin (repository/spellings.go).
CREATE TABLE record_spelling (
    spelling text COLLATE "C" PRIMARY KEY,
    did      text COLLATE "C" NOT NULL REFERENCES record(did) ON DELETE CASCADE,
    kind     text NOT NULL CHECK (kind IN ('did', 'alias'))
);
CREATE INDEX record_spelling_did_idx ON record_spelling (did);
-- Records written before: a did wins over an alias of the same name (as
-- GET /{id} resolved them).
INSERT INTO record_spelling (spelling, did, kind) SELECT did, did, 'did' FROM record;
INSERT INTO record_spelling (spelling, did, kind) SELECT name, did, 'alias' FROM alias
    ON CONFLICT (spelling) DO NOTHING;

-- +goose Down
DROP TABLE record_spelling;
DROP TABLE admin_user_audit;
ALTER TABLE admin_user DROP COLUMN created_by;
