//! End-to-end tests: real HTTP on a loopback port, a real SQLite file.

mod admin;
mod console;
mod delivery;
mod edge;
mod harness;
mod ingest;
