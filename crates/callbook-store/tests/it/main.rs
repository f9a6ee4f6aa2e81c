//! The store's behaviour against a real SQLite file.

mod sqlite;
