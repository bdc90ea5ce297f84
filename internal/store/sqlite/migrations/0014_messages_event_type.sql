-- A list of an app's messages of one event type walks that type's rows in
-- the order of their IDs, instead of the app's whole history for a type
-- it rarely publishes.
CREATE INDEX messages_event_type ON messages (app_id, event_type, id);
