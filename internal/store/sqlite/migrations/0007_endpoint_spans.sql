-- The ranges of message IDs (kind 0) and attempt IDs (kind 1) that each
-- endpoint's deliveries and attempts take, in place of indexes keyed by
-- endpoint: see spans.go. An endpoint's spans of one kind never overlap.
CREATE TABLE endpoint_spans (
    endpoint_id  TEXT NOT NULL,
    kind         INTEGER NOT NULL,
    lo           TEXT NOT NULL,
    hi           TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, kind, hi)
) WITHOUT ROWID;

INSERT INTO endpoint_spans (endpoint_id, kind, lo, hi) SELECT endpoint_id, 0, msg_id, msg_id FROM deliveries;
INSERT INTO endpoint_spans (endpoint_id, kind, lo, hi) SELECT endpoint_id, 1, id, id FROM attempts;

DROP INDEX deliveries_endpoint;
DROP INDEX attempts_endpoint;
