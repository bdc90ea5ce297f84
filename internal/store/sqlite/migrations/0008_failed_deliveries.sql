-- Recovering an endpoint's failed deliveries finds them here rather than
-- among every delivery the endpoint ever had, while every write waits. The
-- index holds failed deliveries only (status 2), so deliveries that succeed
-- never enter it.
CREATE INDEX deliveries_failed ON deliveries (endpoint_id, created_at) WHERE status = 2;
