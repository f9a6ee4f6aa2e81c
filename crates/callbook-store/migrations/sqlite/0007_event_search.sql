-- What an event can be found by: its de-duplication key and the e-mail addresses and phone
-- numbers it names, each as the first 8 bytes of a SHA-256 (see src/search.rs). Narrow and
-- keyed by (key, seq), so a search reads a few entries and then the events by rowid.
CREATE TABLE event_search (
    key BLOB    NOT NULL,
    seq INTEGER NOT NULL,                       -- events.seq
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;

-- Events stored before this table existed are found by their de-duplication key: its key is
-- the head of the hash the events table already keeps.
INSERT INTO event_search (key, seq) SELECT substr(dedupe_hash, 1, 8), seq FROM events;
