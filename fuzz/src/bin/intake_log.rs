//! Fuzz target: see `callbook_fuzz::intake_log`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        callbook_fuzz::intake_log(data);
    });
}
