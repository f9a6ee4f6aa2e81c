//! Integration tests of callbook-signature.

mod aircall;
mod calendly;
mod no_panic;
mod oracles;
mod standard;
