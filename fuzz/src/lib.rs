//! What each fuzz target checks, as plain functions: the `afl` binaries call them, and so does
//! `cargo test` here (replaying the seeds), so a target's property can be read and run without
//! AFL++.

use callbook_signature::{FixedClock, aircall, calendly};

/// The Calendly key the signature target verifies with.
pub const CALENDLY_KEY: &[u8] = b"fuzz-signing-key";

/// `data` is a `Calendly-Webhook-Signature` value, a newline, then a body. Parsing and
/// verifying never panic; a header made by `sign` over that body always verifies.
pub fn calendly_signature(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let _ = calendly::SignatureHeader::parse(&header);
    let verifier = calendly::Verifier::new([callbook_signature::Secret::from_bytes(CALENDLY_KEY)])
        .expect("key")
        .clock(FixedClock(1_700_000_000));
    let _ = verifier.verify(Some(&header), body);
    let _ = verifier.verify_ignoring_timestamp(Some(&header), body);
    let signed = calendly::sign(CALENDLY_KEY, 1_700_000_000, body);
    assert!(
        verifier.verify(Some(&signed), body).is_ok(),
        "a signed body must verify"
    );
}

/// `data` is an Aircall body. Reading the token never panics; when it verifies, the redacted
/// body holds an empty token and reads as the same JSON otherwise.
pub fn aircall_token(data: &[u8]) {
    let token = aircall::extract_token(data).map(|t| t.into_owned());
    let Ok(token) = token else {
        return;
    };
    let verifier = aircall::Verifier::new([token.as_str()]);
    let Ok(verifier) = verifier else {
        return; // an empty token is no configurable secret
    };
    // Parsing while taking the token out gives the verdict the token reader gives; it may
    // only add a payload error (the reader does not check other strings' UTF-8).
    match (verifier.verify(data), verifier.construct_event::<serde_json::Value>(data)) {
        (Ok(_), Ok(one_pass)) => assert_eq!(one_pass.event["token"], "", "token kept out"),
        (Ok(_), Err(e)) => assert!(e.is_payload(), "genuine body refused: {e}"),
        (Err(a), Err(b)) => assert_eq!(a, b, "different verdicts"),
        (Err(e), Ok(_)) => panic!("construct_event accepted what verify refused: {e}"),
    }
    let (_, redacted) = verifier
        .verify_and_redact(data)
        .expect("a body verifies with its own token");
    assert_eq!(
        aircall::extract_token(&redacted)
            .expect("still a body")
            .as_ref(),
        "",
        "the token is gone"
    );
    assert!(redacted.len() <= data.len());
    // Where the body is JSON a reader takes (the token reader skips other strings without
    // checking their UTF-8), the redacted body reads as the same value with an empty token.
    if let Ok(mut expected) = serde_json::from_slice::<serde_json::Value>(data) {
        expected["token"] = "".into();
        let got: serde_json::Value =
            serde_json::from_slice(&redacted).expect("the redacted body is JSON too");
        assert_eq!(got, expected, "only the token changed");
    }
}

/// `data` is a Calendly webhook body. Parsing never panics; what parses, serialised again,
/// parses to the same value.
pub fn calendly_webhook(data: &[u8]) {
    round_trip::<callbook_models::calendly::Webhook>(data);
}

/// `data` is an Aircall webhook body, checked as [`calendly_webhook`].
pub fn aircall_webhook(data: &[u8]) {
    round_trip::<callbook_models::aircall::Webhook>(data);
}

fn round_trip<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let Ok(parsed) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let text = serde_json::to_vec(&parsed).expect("a parsed webhook serialises");
    let again: T = serde_json::from_slice(&text).expect("what it wrote parses");
    assert_eq!(
        serde_json::to_value(&parsed).expect("value"),
        serde_json::to_value(&again).expect("value"),
        "a round trip keeps the webhook"
    );
}

/// `data` is an intake log file. Reading it never panics, and what it reports lies within it.
pub fn intake_log(data: &[u8]) {
    let reading = callbook_store::fuzzing::read_intake_log(data, 0);
    assert!(reading.end as usize <= data.len());
    if let Some(records) = &reading.records {
        assert!(reading.damage.is_empty() || !records.is_empty() || reading.end == 0);
    }
}
