//! Not a library: the examples' package, whose documentation is `docs/library.md` so that
//! `cargo test --doc` compiles each of its snippets.
#![doc = include_str!("../docs/library.md")]
