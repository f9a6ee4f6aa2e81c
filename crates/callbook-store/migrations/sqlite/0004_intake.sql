-- The last record of the intake log (a file beside the database) that the database holds. It is
-- updated in the transaction that applies the records, so at open the records after it are
-- the ones to apply again.
CREATE TABLE intake_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    applied_seq INTEGER NOT NULL
);
INSERT INTO intake_state (id, applied_seq) VALUES (1, 0);
