//! Integration tests: every fixture parses, with assertions on what matters.

mod aircall;
mod calendly;
mod requests;
mod roundtrip;

/// Loads a fixture by path below `tests/fixtures`.
#[macro_export]
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}
