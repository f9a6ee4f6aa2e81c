-- The intake log is two files used in turn (`<database>-intake` and `<database>-intake2`), so
-- that one is emptied while the other takes writes. A version that knew one file would miss
-- acknowledged writes waiting in the second after a crash; this migration is also what makes
-- such a version refuse the database (it finds a migration it does not know), rather than
-- open it without them. The column says how many files this database's log has.
ALTER TABLE intake_state ADD COLUMN log_files INTEGER NOT NULL DEFAULT 2;
