//! Fuzz target: see `callbook_fuzz::aircall_token`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        callbook_fuzz::aircall_token(data);
    });
}
