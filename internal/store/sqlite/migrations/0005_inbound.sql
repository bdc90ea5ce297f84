-- Raw messages: an inbound request forwarded as it came.
ALTER TABLE messages ADD COLUMN content_type TEXT;
ALTER TABLE messages ADD COLUMN headers TEXT;

CREATE TABLE sources (
    id                  TEXT PRIMARY KEY,
    uid                 TEXT UNIQUE,
    name                TEXT NOT NULL,
    token_hash          BLOB NOT NULL UNIQUE,
    prev_token_hash     BLOB,
    prev_token_expires  INTEGER,
    methods             TEXT,
    max_body_bytes      INTEGER NOT NULL,
    verification        TEXT,
    response            TEXT NOT NULL,
    keep_rejected       INTEGER NOT NULL DEFAULT 0,
    handshakes          INTEGER NOT NULL DEFAULT 0,
    routes              TEXT NOT NULL DEFAULT '[]',
    ack_cursor          TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX sources_prev_token ON sources (prev_token_hash) WHERE prev_token_hash IS NOT NULL;

CREATE TABLE received (
    id            TEXT PRIMARY KEY,
    source_id     TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    query         TEXT NOT NULL DEFAULT '',
    headers       TEXT NOT NULL,
    body          BLOB NOT NULL,
    remote_addr   TEXT NOT NULL DEFAULT '',
    verified      INTEGER NOT NULL,
    verify_error  TEXT NOT NULL DEFAULT '',
    view          TEXT,
    event_type    TEXT NOT NULL DEFAULT '',
    delivery_id   TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX received_source ON received (source_id, id);
-- Only verified requests carry a delivery ID, so a forged request cannot
-- claim the ID of a real one ahead of it.
CREATE UNIQUE INDEX received_delivery ON received (source_id, delivery_id) WHERE delivery_id IS NOT NULL;

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    received_id   TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    route_id      TEXT NOT NULL,
    command       TEXT NOT NULL,
    status        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER,
    exit_code     INTEGER NOT NULL DEFAULT 0,
    output        TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL
);
CREATE INDEX runs_due ON runs (next_attempt) WHERE next_attempt IS NOT NULL;
CREATE INDEX runs_received ON runs (received_id);
