-- Events as received: the raw body exactly, with what is needed to find and de-duplicate them.
-- The same columns as the SQLite schema, so one set of row decoders reads both: integers are
-- 64-bit, IDs 16 bytes, times UNIX milliseconds.
-- No sequence column: the UUIDv7 `id` sorts by arrival and is the key listings page on, so
-- every insert maintains three indexes, not four.
CREATE TABLE events (
    id           BYTEA  NOT NULL PRIMARY KEY,   -- UUIDv7
    source       TEXT   NOT NULL,
    dedupe_time  BIGINT NOT NULL,               -- occurred_at in ms, or 0: leads the unique key
    dedupe_hash  BYTEA  NOT NULL,               -- first 16 bytes of SHA-256(dedupe_key)
    provider     TEXT   NOT NULL,
    event_type   TEXT,
    dedupe_key   TEXT   NOT NULL,
    received_at  BIGINT NOT NULL,
    occurred_at  BIGINT,
    headers      TEXT   NOT NULL,               -- JSON object of the headers that matter
    parse_status TEXT   NOT NULL,               -- 'parsed' | 'unparsed'
    parse_error  TEXT,
    body         BYTEA  NOT NULL,
    -- Global de-duplication: every instance inserts against this one constraint.
    UNIQUE (source, dedupe_time, dedupe_hash)
);

-- Time-range scans (replay, retention) on an append-mostly column: a BRIN index costs almost
-- nothing per insert.
CREATE INDEX events_received_at ON events USING brin (received_at);

-- Bodies are a few KiB: keep rows inline up to a page, so PostgreSQL neither compresses them
-- (CPU on every insert) nor moves them to a TOAST table (a second insert and index).
ALTER TABLE events SET (toast_tuple_target = 8160);
