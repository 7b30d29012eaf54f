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

-- +goose Down
DROP TABLE admin_user_audit;
ALTER TABLE admin_user DROP COLUMN created_by;
