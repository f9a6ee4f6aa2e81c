-- What an event can be found by: its de-duplication key and the e-mail addresses and phone
-- numbers it names, each as the first 8 bytes of a SHA-256 in hex (see src/search.rs).
--
-- An FTS5 index and not a (key, seq) table: the keys are random, so a B-tree takes each insert
-- on a page of its own and every commit rewrote dozens of pages (filling a million events went
-- from 20k to 7k a second). FTS5 writes each transaction's keys as one small segment and
-- merges segments as later writes go on, like an LSM tree: 19k a second. Contentless, rowids
-- only (rowid = events.seq), no per-row sizes (they are for ranking, and were a B-tree insert
-- an event); merging waits for 16 segments of a level (4 by default), which halves the merge
-- work and leaves a search at about a millisecond.
CREATE VIRTUAL TABLE event_search USING fts5(
    keys,
    content = '',
    detail = 'none',
    columnsize = 0,
    tokenize = 'ascii'
);
INSERT INTO event_search (event_search, rank) VALUES ('automerge', 16);

-- The tokens an event was indexed with: a contentless index deletes a row only when told
-- its tokens again (`purge`). NULL for events stored before this migration, which are
-- indexed by their de-duplication key alone (the head of the hash kept beside it).
ALTER TABLE events ADD COLUMN search_keys TEXT;
INSERT INTO event_search (rowid, keys)
    SELECT seq, lower(hex(substr(dedupe_hash, 1, 8))) FROM events;
