-- API tokens beyond the bootstrap admin token, and the portal's one-use
-- login codes. Only the SHA-256 of a secret is kept; requests find their
-- token by that hash, hence its unique index.
CREATE TABLE tokens (
    id            text COLLATE "C" PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    hash          bytea NOT NULL UNIQUE,
    scope         text NOT NULL,
    app_id        text COLLATE "C",
    capabilities  jsonb NOT NULL DEFAULT '[]',
    read_only     boolean NOT NULL DEFAULT false,
    session_id    text,
    feature_flags jsonb NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
-- expire-all finds an app's tokens here.
CREATE INDEX tokens_app ON tokens (app_id) WHERE app_id IS NOT NULL;
-- The upkeep finds the tokens that ended long ago here.
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE login_codes (
    hash        bytea PRIMARY KEY,
    token_id    text COLLATE "C" NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_codes_expires ON login_codes (expires_at);
