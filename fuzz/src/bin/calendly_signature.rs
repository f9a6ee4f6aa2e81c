//! Fuzz target: see `callbook_fuzz::calendly_signature`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        callbook_fuzz::calendly_signature(data);
    });
}
