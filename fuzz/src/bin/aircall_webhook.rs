//! Fuzz target: see `callbook_fuzz::aircall_webhook`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        callbook_fuzz::aircall_webhook(data);
    });
}
