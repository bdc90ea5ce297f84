-- Claims walk the due deliveries endpoint by endpoint, so that the
-- deliveries of an endpoint left out of a claim (its queue is full: a slow
-- or dead receiver with a large backlog) cost nothing to skip. The index
-- by due time alone made every claim step over all of them.
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt) WHERE next_attempt IS NOT NULL;
DROP INDEX deliveries_due;
