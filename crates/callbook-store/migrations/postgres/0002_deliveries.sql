-- The outbox: one row per (event, destination), written in the same transaction as the event.
CREATE TABLE deliveries (
    id              BYTEA  NOT NULL PRIMARY KEY, -- UUIDv7: listings page on it
    event_id        BYTEA  NOT NULL,
    destination     TEXT   NOT NULL,
    state           TEXT   NOT NULL,            -- 'pending' | 'succeeded' | 'dead'
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,                       -- the instance and worker holding the claim
    lease_until     BIGINT,                     -- the claim expires then; another instance may take it
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_id, destination)
);
-- Due work per destination; only pending rows are ever claimed, so only they are indexed.
CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_destination_state ON deliveries (destination, state);

CREATE TABLE attempts (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      BYTEA  NOT NULL,
    attempted_at     BIGINT NOT NULL,
    status_code      BIGINT,
    latency_ms       BIGINT NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

CREATE TABLE destination_state (
    name        TEXT   NOT NULL PRIMARY KEY,
    disabled_at BIGINT,
    reason      TEXT
);
