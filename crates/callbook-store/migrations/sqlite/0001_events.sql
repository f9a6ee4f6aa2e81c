-- Events as received: the raw body exactly, with what is needed to find and de-duplicate them.
-- Kept lean on purpose: every index is paid for on every insert.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,           -- rowid: rows are appended in arrival order
    id           BLOB    NOT NULL UNIQUE,       -- UUIDv7, 16 bytes: sorts by arrival
    source       TEXT    NOT NULL,
    dedupe_time  INTEGER NOT NULL,              -- occurred_at in ms, or 0: leads the unique key
                                                -- so that inserts land near each other
    dedupe_hash  BLOB    NOT NULL,              -- first 16 bytes of SHA-256(dedupe_key)
    provider     TEXT    NOT NULL,
    event_type   TEXT,
    dedupe_key   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,              -- UNIX milliseconds
    occurred_at  INTEGER,                       -- the provider's own event time, UNIX milliseconds
    headers      TEXT    NOT NULL,              -- JSON object of the headers that matter
    parse_status TEXT    NOT NULL,              -- 'parsed' | 'unparsed'
    parse_error  TEXT,
    body         BLOB    NOT NULL,              -- last: reading the other columns skips it
    UNIQUE (source, dedupe_time, dedupe_hash)
);

-- Time-range filters of the admin API; appended in order, so cheap to maintain.
CREATE INDEX events_received_at ON events (received_at);
