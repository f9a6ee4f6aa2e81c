//! End-to-end tests: real HTTP on a loopback port, a real SQLite file.

mod admin;
mod delivery;
mod harness;
mod ingest;
