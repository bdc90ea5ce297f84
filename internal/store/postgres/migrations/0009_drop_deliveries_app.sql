-- Every delivery is written twice, made and finished, and each index of the
-- table takes an entry each time. Nothing read deliveries by app but the
-- deletion of an app, which finds them through its messages instead.
DROP INDEX IF EXISTS deliveries_app;
