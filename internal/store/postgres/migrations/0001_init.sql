-- hookline's schema on PostgreSQL. It mirrors the SQLite schema; where the
-- two differ it is for PostgreSQL's types: times are timestamptz, JSON
-- columns jsonb, payloads bytea (kept byte for byte as published).
--
-- IDs, uids and names are compared and sorted in bytes (COLLATE "C"), as
-- SQLite does: IDs are KSUIDs in base62, whose order is creation order in
-- bytes but not under a language collation such as en_US.

CREATE TABLE apps (
    id          text COLLATE "C" PRIMARY KEY,
    uid         text COLLATE "C" UNIQUE,
    name        text NOT NULL,
    rate_limit  integer,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE event_types (
    name          text COLLATE "C" PRIMARY KEY,
    description   text NOT NULL DEFAULT '',
    archived      boolean NOT NULL DEFAULT false,
    deprecated    boolean NOT NULL DEFAULT false,
    feature_flag  text NOT NULL DEFAULT '',
    schemas       text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE endpoints (
    id               text COLLATE "C" PRIMARY KEY,
    app_id           text COLLATE "C" NOT NULL,
    uid              text COLLATE "C",
    url              text NOT NULL,
    description      text NOT NULL DEFAULT '',
    version          integer NOT NULL DEFAULT 1,
    disabled         boolean NOT NULL DEFAULT false,
    disabled_reason  text NOT NULL DEFAULT '',
    rate_limit       integer,
    event_types      jsonb,
    channels         jsonb,
    metadata         jsonb NOT NULL DEFAULT '{}',
    headers          jsonb NOT NULL DEFAULT '{}',
    format           text NOT NULL DEFAULT 'json',
    secrets          jsonb NOT NULL DEFAULT '[]',
    failing_since    timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);
CREATE INDEX endpoints_failing ON endpoints (failing_since) WHERE failing_since IS NOT NULL AND NOT disabled;

CREATE TABLE messages (
    id            text COLLATE "C" PRIMARY KEY,
    app_id        text COLLATE "C" NOT NULL,
    event_type    text COLLATE "C" NOT NULL,
    event_id      text COLLATE "C",
    channels      jsonb,
    payload       bytea NOT NULL,
    content_type  text,
    headers       jsonb,
    created_at    timestamptz NOT NULL
);
CREATE INDEX messages_app ON messages (app_id, id);
CREATE UNIQUE INDEX messages_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
-- Messages whose payload retention has not emptied yet ('{}' is \x7b7d).
CREATE INDEX messages_prunable ON messages (created_at) WHERE payload <> '\x7b7d'::bytea;

-- next_attempt is when the delivery is next due: for a pending delivery the
-- scheduled attempt, for a claimed one the end of its lease (so a delivery
-- whose node died is due again, for any node to claim), NULL once finished.
CREATE TABLE deliveries (
    id            text COLLATE "C" PRIMARY KEY,
    app_id        text COLLATE "C" NOT NULL,
    msg_id        text COLLATE "C" NOT NULL,
    endpoint_id   text COLLATE "C" NOT NULL,
    status        smallint NOT NULL,
    trigger_type  smallint NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE next_attempt IS NOT NULL;
CREATE UNIQUE INDEX deliveries_msg ON deliveries (msg_id, endpoint_id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
CREATE INDEX deliveries_app ON deliveries (app_id);

CREATE TABLE attempts (
    id                text COLLATE "C" PRIMARY KEY,
    delivery_id       text COLLATE "C" NOT NULL,
    app_id            text COLLATE "C" NOT NULL,
    msg_id            text COLLATE "C" NOT NULL,
    endpoint_id       text COLLATE "C" NOT NULL,
    url               text NOT NULL,
    status            smallint NOT NULL,
    trigger_type      smallint NOT NULL,
    status_code       integer NOT NULL,
    response_headers  jsonb,
    response          text NOT NULL DEFAULT '',
    duration_us       bigint NOT NULL,
    error             text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL
);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_app ON attempts (app_id, id);
-- Attempts that still keep a response body or headers.
CREATE INDEX attempts_prunable ON attempts (created_at) WHERE response <> '' OR response_headers IS NOT NULL;

CREATE TABLE idempotency (
    key         text COLLATE "C" PRIMARY KEY,
    status      integer NOT NULL DEFAULT 0,
    body        bytea,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE settings (
    key    text COLLATE "C" PRIMARY KEY,
    value  text NOT NULL
);

-- The processes sharing this database, each beating a heartbeat. Worker
-- nodes split each endpoint's rate limit between them by their count.
CREATE TABLE nodes (
    id          text COLLATE "C" PRIMARY KEY,
    worker      boolean NOT NULL,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL
);
