-- Upkeep finds its work through partial indexes that hold only the rows
-- still to do, so a pass never rescans what earlier passes finished.

-- Messages whose payload retention has not emptied yet ('{}' is X'7B7D').
CREATE INDEX messages_prunable ON messages (created_at) WHERE payload <> X'7B7D';
-- Attempts that still keep a response body or headers.
CREATE INDEX attempts_prunable ON attempts (created_at) WHERE response <> '' OR response_headers IS NOT NULL;
CREATE INDEX idempotency_created ON idempotency (created_at);
-- Endpoints that are failing and not yet disabled.
CREATE INDEX endpoints_failing ON endpoints (failing_since) WHERE failing_since IS NOT NULL AND disabled = 0;
