-- Events as received: the raw body exactly, with what is needed to find and de-duplicate them.
CREATE TABLE events (
    id           TEXT    NOT NULL PRIMARY KEY,  -- UUIDv7: sorts by arrival
    source       TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    event_type   TEXT,
    dedupe_key   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,              -- UNIX milliseconds
    occurred_at  INTEGER,                       -- the provider's own event time, UNIX milliseconds
    body         BLOB    NOT NULL,
    headers      TEXT    NOT NULL,              -- JSON object of the headers that matter
    parse_status TEXT    NOT NULL,              -- 'parsed' | 'unparsed'
    parse_error  TEXT,
    UNIQUE (source, dedupe_key)
);

CREATE INDEX events_received_at ON events (received_at);
CREATE INDEX events_source_id ON events (source, id);
