//! The store's behaviour against a real SQLite file and a real PostgreSQL server: the shared
//! suite runs on both.

mod backend;
mod delivery;
mod directory;
mod events;
mod postgres;
mod sqlite;
