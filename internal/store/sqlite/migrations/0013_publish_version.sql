-- publish_version counts the writes that change what a publish reads of
-- its app (the app, its rate limit, its endpoints), whatever makes them,
-- so that the store can keep that in memory and read it again only when
-- the count has moved.
CREATE TABLE publish_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO publish_version (id, n) VALUES (1, 0);
CREATE TRIGGER endpoints_insert_version AFTER INSERT ON endpoints BEGIN UPDATE publish_version SET n = n + 1; END;
CREATE TRIGGER endpoints_update_version AFTER UPDATE ON endpoints BEGIN UPDATE publish_version SET n = n + 1; END;
CREATE TRIGGER endpoints_delete_version AFTER DELETE ON endpoints BEGIN UPDATE publish_version SET n = n + 1; END;
CREATE TRIGGER apps_insert_version AFTER INSERT ON apps BEGIN UPDATE publish_version SET n = n + 1; END;
CREATE TRIGGER apps_update_version AFTER UPDATE ON apps BEGIN UPDATE publish_version SET n = n + 1; END;
CREATE TRIGGER apps_delete_version AFTER DELETE ON apps BEGIN UPDATE publish_version SET n = n + 1; END;
