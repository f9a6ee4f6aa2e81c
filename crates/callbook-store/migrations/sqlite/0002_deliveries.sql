-- The outbox: one row per (event, destination), written in the same transaction as the event.
CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,
    id              BLOB    NOT NULL UNIQUE,    -- UUIDv7
    event_id        BLOB    NOT NULL,
    destination     TEXT    NOT NULL,
    state           TEXT    NOT NULL,           -- 'pending' | 'succeeded' | 'dead'
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,           -- UNIX ms
    lease_owner     TEXT,
    lease_until     INTEGER,                    -- UNIX ms; a claim expires then
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (event_id, destination)
);
-- Due work per destination, oldest first.
CREATE INDEX deliveries_due ON deliveries (destination, state, next_attempt_at);

-- Every attempt, with a bounded excerpt of the response.
CREATE TABLE attempts (
    seq              INTEGER PRIMARY KEY,
    delivery_id      BLOB    NOT NULL,
    attempted_at     INTEGER NOT NULL,          -- UNIX ms
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- Destinations disabled by a 410 answer (or by hand), until re-enabled.
CREATE TABLE destination_state (
    name        TEXT    NOT NULL PRIMARY KEY,
    disabled_at INTEGER,
    reason      TEXT
);
