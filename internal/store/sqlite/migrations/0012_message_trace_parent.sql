-- The W3C traceparent of the span that published a message, when tracing
-- is on, so that its delivery attempts join the publisher's trace. NULL
-- for messages published with tracing off.
ALTER TABLE messages ADD COLUMN trace_parent TEXT;
