-- The console and the admin API list events of one type newest first: without this index a
-- type that matches few events (or none) reads the whole table. Building it locks writes to
-- events for as long as it takes (seconds per million events).
CREATE INDEX events_type ON events (event_type, id);

-- Unparsed events are few: a partial index finds them without reading the parsed ones.
CREATE INDEX events_unparsed ON events (id) WHERE parse_status <> 'parsed';
