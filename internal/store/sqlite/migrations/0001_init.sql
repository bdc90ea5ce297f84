-- Times are Unix microseconds. JSON columns hold arrays or objects as text.
CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    uid         TEXT UNIQUE,
    name        TEXT NOT NULL,
    rate_limit  INTEGER,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE event_types (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL DEFAULT '',
    archived      INTEGER NOT NULL DEFAULT 0,
    deprecated    INTEGER NOT NULL DEFAULT 0,
    feature_flag  TEXT NOT NULL DEFAULT '',
    schemas       TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE endpoints (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    uid              TEXT,
    url              TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 1,
    disabled         INTEGER NOT NULL DEFAULT 0,
    disabled_reason  TEXT NOT NULL DEFAULT '',
    rate_limit       INTEGER,
    event_types      TEXT,
    channels         TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    headers          TEXT NOT NULL DEFAULT '{}',
    format           TEXT NOT NULL DEFAULT 'json',
    secrets          TEXT NOT NULL DEFAULT '[]',
    failing_since    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    event_id    TEXT,
    channels    TEXT,
    payload     BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX messages_app ON messages (app_id, id);
CREATE UNIQUE INDEX messages_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;

-- next_attempt is when the delivery is next due: for a pending delivery the
-- scheduled attempt, for a claimed one the end of its lease (so a delivery
-- whose worker died is due again), NULL once finished.
CREATE TABLE deliveries (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL,
    msg_id        TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    status        INTEGER NOT NULL,
    trigger_type  INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE next_attempt IS NOT NULL;
CREATE UNIQUE INDEX deliveries_msg ON deliveries (msg_id, endpoint_id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);

CREATE TABLE attempts (
    id                TEXT PRIMARY KEY,
    delivery_id       TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    msg_id            TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    url               TEXT NOT NULL,
    status            INTEGER NOT NULL,
    trigger_type      INTEGER NOT NULL,
    status_code       INTEGER NOT NULL,
    response_headers  TEXT,
    response          TEXT NOT NULL DEFAULT '',
    duration_us       INTEGER NOT NULL,
    error             TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL
);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    status      INTEGER NOT NULL DEFAULT 0,
    body        BLOB,
    created_at  INTEGER NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
