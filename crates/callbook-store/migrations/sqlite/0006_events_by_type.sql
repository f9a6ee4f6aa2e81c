-- The console and the admin API list events of one type newest first: without this index a
-- type that matches few events (or none) reads the whole table. SQLite keys every index by
-- rowid too, so this is (event_type, seq): the listing's order, with nothing to sort.
CREATE INDEX events_type ON events (event_type);

-- Unparsed events are few: a partial index finds them without reading the parsed ones.
CREATE INDEX events_unparsed ON events (seq) WHERE parse_status <> 'parsed';
