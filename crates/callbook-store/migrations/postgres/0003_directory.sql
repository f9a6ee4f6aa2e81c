-- The directory (src/directory.rs): each record is merged in Rust and stored whole as JSON in
-- `data`; the other columns exist to be indexed.
CREATE TABLE directory_meetings (
    invitee  TEXT    PRIMARY KEY,      -- Calendly invitee URI
    phone    TEXT,                     -- E.164
    email    TEXT,                     -- lower case
    start_at BIGINT,                  -- UNIX ms
    data     TEXT    NOT NULL
);
CREATE INDEX directory_meetings_phone ON directory_meetings (phone, start_at) WHERE phone IS NOT NULL;
CREATE INDEX directory_meetings_email ON directory_meetings (email, start_at) WHERE email IS NOT NULL;

CREATE TABLE directory_calls (
    id         BIGINT  PRIMARY KEY,    -- Aircall call ID
    phone      TEXT,                   -- the other party, E.164
    started_at BIGINT,                -- UNIX ms
    data       TEXT    NOT NULL
);
CREATE INDEX directory_calls_phone ON directory_calls (phone, started_at) WHERE phone IS NOT NULL;

-- What recipes remember: contacts they made, messages they sent, cooldowns.
CREATE TABLE recipe_marks (
    recipe TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    value  TEXT,
    at     BIGINT NOT NULL,           -- UNIX ms
    PRIMARY KEY (recipe, key)
);
