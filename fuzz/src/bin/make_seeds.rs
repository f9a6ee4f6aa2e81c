//! Writes each target's seed inputs under the directory given (default `fuzz/seeds`): the
//! providers' documented payloads, a correctly signed Calendly delivery, a real intake log.

use std::path::PathBuf;

const CALENDLY: &[&[u8]] = &[
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/calendly/doc_invitee_created.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/calendly/doc_invitee_canceled.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/calendly/doc_invitee_no_show_created.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/calendly/doc_routing_form_submission_created.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/edge/calendly_unknown_event.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/edge/calendly_invitee_canceled_rescheduled.json"
    ),
];

const AIRCALL: &[&[u8]] = &[
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/aircall/webhook_call_created.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/aircall/webhook_call_created_minimal.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/aircall/webhook_number_closed.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/edge/aircall_unknown_event.json"
    ),
    include_bytes!(
        "../../../crates/callbook-models/tests/fixtures/edge/aircall_call_ended_transfered.json"
    ),
];

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/seeds".into()),
    );
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };
    for (i, body) in CALENDLY.iter().enumerate() {
        write("calendly_webhook", &format!("{i}.json"), body)?;
        let header =
            callbook_signature::calendly::sign(callbook_fuzz::CALENDLY_KEY, 1_700_000_000, body);
        let mut signed = format!("{header}\n").into_bytes();
        signed.extend_from_slice(body);
        write("calendly_signature", &format!("{i}.txt"), &signed)?;
    }
    write(
        "calendly_signature",
        "odd.txt",
        b" v1=00, t=17 ,v0=x,v1=zz\n{}",
    )?;
    for (i, body) in AIRCALL.iter().enumerate() {
        write("aircall_webhook", &format!("{i}.json"), body)?;
        write("aircall_token", &format!("{i}.json"), body)?;
    }
    write(
        "aircall_token",
        "escaped.json",
        br#"{"token":"a\"b\u0041","data":{"token":1},"token":"c"}"#,
    )?;
    let log = callbook_store::fuzzing::sample_intake_log();
    write("intake_log", "sample.bin", &log)?;
    let mut torn = log.clone();
    torn.truncate(log.len() - 7);
    write("intake_log", "torn.bin", &torn)?;
    Ok(())
}
