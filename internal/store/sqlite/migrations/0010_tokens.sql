-- API tokens beyond the bootstrap admin token, and the portal's one-use
-- login codes. Only the SHA-256 of a secret is kept; requests find their
-- token by that hash, hence its unique index.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    hash          BLOB NOT NULL UNIQUE,
    scope         TEXT NOT NULL,
    app_id        TEXT,
    capabilities  TEXT NOT NULL DEFAULT '[]',
    read_only     INTEGER NOT NULL DEFAULT 0,
    session_id    TEXT,
    feature_flags TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
-- expire-all finds an app's tokens here.
CREATE INDEX tokens_app ON tokens (app_id) WHERE app_id IS NOT NULL;
-- The upkeep finds the tokens that ended long ago here.
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE login_codes (
    hash        BLOB PRIMARY KEY,
    token_id    TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX login_codes_expires ON login_codes (expires_at);
