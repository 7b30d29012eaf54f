-- +goose Up
-- The admin questions asked of the index (issue 15): who explained which
-- record for which caller, who previewed which discovery change. They read
-- other users' grants and counts of records hidden from them, so they are
-- audited like settings changes. question holds what was asked (never a
-- credential).
CREATE TABLE admin_query_audit (
    id       bigserial PRIMARY KEY,
    asked_by text NOT NULL,
    asked_at timestamptz NOT NULL DEFAULT now(),
    kind     text NOT NULL CHECK (kind IN ('explain', 'preview')),
    question jsonb NOT NULL
);

-- +goose Down
DROP TABLE admin_query_audit;
