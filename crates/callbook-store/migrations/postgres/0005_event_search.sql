-- What an event can be found by: its de-duplication key and the e-mail addresses and phone
-- numbers it names, each as the first 8 bytes of a SHA-256 in hex (see src/search.rs).
--
-- A column of the event with a GIN index, not a (key, event) table: the keys are random, so a
-- B-tree takes each insert on a page of its own (a first version cost a quarter of the
-- throughput of one instance). GIN's pending list takes inserts as appends and folds them into
-- the index in bulk; the entries leave with their event, so a purge has nothing more to do.
ALTER TABLE events ADD COLUMN search_keys TEXT[];

-- Events stored before are found by their de-duplication key: its key is the head of the hash
-- the events table already keeps.
UPDATE events SET search_keys = ARRAY[encode(substring(dedupe_hash FROM 1 FOR 8), 'hex')];

CREATE INDEX events_search ON events USING gin (search_keys) WITH (fastupdate = on);
