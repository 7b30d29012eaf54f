-- +goose Up
-- API tokens users issue to themselves (issue 14). Only the SHA-256 of a
-- token is stored, never the token. scope is the token's ceiling
-- (policy.Scope as JSON); what the token may do is its user's live grants
-- intersected with it. A revoked token keeps its row (revoked_at) so that
-- use after revocation is recognised and audited.
CREATE TABLE api_token (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_name    text NOT NULL,
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    description  text NOT NULL DEFAULT '',
    scope        jsonb NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_token_user_idx ON api_token (lower(user_name), created_at);

-- Issue, revocation and use after revocation (never a token or its hash).
CREATE TABLE api_token_audit (
    id        bigserial PRIMARY KEY,
    token_id  uuid NOT NULL,
    user_name text NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL CHECK (action IN ('issue', 'revoke', 'use-after-revoke')),
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_token_audit_token_idx ON api_token_audit (token_id);

-- +goose Down
DROP TABLE api_token_audit;
DROP TABLE api_token;
