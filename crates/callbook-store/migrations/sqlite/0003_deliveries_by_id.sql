-- Deliveries keyed by their ID. The rowid table and its ID index were two B-trees written on
-- every insert and every completion; keyed by the (time-ordered) ID they are one, and a
-- delivery row is small enough to live in the key's B-tree.
CREATE TABLE deliveries_by_id (
    id              BLOB    NOT NULL PRIMARY KEY,   -- UUIDv7: listings page on it
    event_id        BLOB    NOT NULL,
    destination     TEXT    NOT NULL,
    state           TEXT    NOT NULL,               -- 'pending' | 'succeeded' | 'dead'
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,               -- UNIX ms
    lease_owner     TEXT,
    lease_until     INTEGER,                        -- UNIX ms; a claim expires then
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (event_id, destination)
) WITHOUT ROWID;
INSERT INTO deliveries_by_id (id, event_id, destination, state, attempts, next_attempt_at,
    lease_owner, lease_until, last_status, last_error, created_at, updated_at)
  SELECT id, event_id, destination, state, attempts, next_attempt_at, lease_owner, lease_until,
    last_status, last_error, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_by_id RENAME TO deliveries;

-- Due work only: only pending rows are ever claimed, so only they are indexed. A delivery that
-- succeeds or dies leaves the index, which stays the size of the queue; the index it replaces
-- grew with every delivery ever made, and every completion moved an entry within it.
CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE state = 'pending';
-- Dead deliveries per destination: replay and the queue gauges.
CREATE INDEX deliveries_dead ON deliveries (destination) WHERE state = 'dead';
