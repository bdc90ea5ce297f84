-- The inbound half: sources, the requests they receive, and command runs.
-- It mirrors SQLite's 0005_inbound; messages already have the content_type
-- and headers columns of raw messages (0001).
--
-- verification and view are text, not jsonb: they are handed back byte for
-- byte as they were stored, which jsonb, normalizing its input, would not.

CREATE TABLE sources (
    id                  text COLLATE "C" PRIMARY KEY,
    uid                 text COLLATE "C" UNIQUE,
    name                text NOT NULL,
    token_hash          bytea NOT NULL UNIQUE,
    prev_token_hash     bytea,
    prev_token_expires  timestamptz,
    methods             jsonb,
    max_body_bytes      bigint NOT NULL,
    verification        text,
    response            jsonb NOT NULL,
    keep_rejected       boolean NOT NULL DEFAULT false,
    handshakes          boolean NOT NULL DEFAULT false,
    routes              jsonb NOT NULL DEFAULT '[]',
    ack_cursor          text COLLATE "C" NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX sources_prev_token ON sources (prev_token_hash) WHERE prev_token_hash IS NOT NULL;

CREATE TABLE received (
    id            text COLLATE "C" PRIMARY KEY,
    source_id     text COLLATE "C" NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    query         text NOT NULL DEFAULT '',
    headers       jsonb,
    body          bytea NOT NULL,
    remote_addr   text NOT NULL DEFAULT '',
    verified      boolean NOT NULL,
    verify_error  text NOT NULL DEFAULT '',
    view          text,
    event_type    text COLLATE "C" NOT NULL DEFAULT '',
    delivery_id   text COLLATE "C",
    created_at    timestamptz NOT NULL
);
CREATE INDEX received_source ON received (source_id, id);
-- Only verified requests carry a delivery ID, so a forged request cannot
-- claim the ID of a real one ahead of it. The index also settles two nodes
-- receiving the same delivery at once: the second insert finds the first.
CREATE UNIQUE INDEX received_delivery ON received (source_id, delivery_id) WHERE delivery_id IS NOT NULL;

-- next_attempt is, as for deliveries, when the run is next due: for a
-- claimed run the end of its lease, NULL once finished.
CREATE TABLE runs (
    id            text COLLATE "C" PRIMARY KEY,
    received_id   text COLLATE "C" NOT NULL,
    source_id     text COLLATE "C" NOT NULL,
    route_id      text NOT NULL,
    command       text NOT NULL,
    status        smallint NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz,
    exit_code     integer NOT NULL DEFAULT 0,
    output        text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL
);
CREATE INDEX runs_due ON runs (next_attempt) WHERE next_attempt IS NOT NULL;
CREATE INDEX runs_received ON runs (received_id, id);
CREATE INDEX runs_source ON runs (source_id);
