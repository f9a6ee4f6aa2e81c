-- What an event can be found by: its de-duplication key and the e-mail addresses and phone
-- numbers it names, each as the first 8 bytes of a SHA-256 (see src/search.rs).
CREATE TABLE event_search (
    key      BYTEA NOT NULL,
    event_id BYTEA NOT NULL,                    -- events.id
    PRIMARY KEY (key, event_id)
);

-- Events stored before this table existed are found by their de-duplication key: its key is
-- the head of the hash the events table already keeps.
INSERT INTO event_search (key, event_id) SELECT substring(dedupe_hash FROM 1 FOR 8), id FROM events;

-- A purge deletes the entries of the events it removes: found by event, not by key. IDs are
-- UUIDv7, so this index is appended to.
CREATE INDEX event_search_by_event ON event_search (event_id);
