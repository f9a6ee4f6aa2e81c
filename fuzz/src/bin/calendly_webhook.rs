//! Fuzz target: see `callbook_fuzz::calendly_webhook`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        callbook_fuzz::calendly_webhook(data);
    });
}
