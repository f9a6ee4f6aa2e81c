//! The store's behaviour against a real SQLite file.

mod delivery;
mod sqlite;
