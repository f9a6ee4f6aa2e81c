use callbook_signature::Error;
use callbook_signature::aircall::{Verifier, extract_token};

const CALL: &[u8] =
    include_bytes!("../../../callbook-models/tests/fixtures/aircall/webhook_call_created.json");

#[test]
fn extracts_the_top_level_token_only() {
    assert_eq!(extract_token(CALL).expect("token"), "cebcaac65XXXXXXXXXx");
    let nested = br#"{"data":{"token":"inner"},"token":"outer"}"#;
    assert_eq!(extract_token(nested).expect("token"), "outer");
    let escaped = br#"{"token":"a\"b"}"#;
    assert_eq!(extract_token(escaped).expect("token"), "a\"b");
}

#[test]
fn says_which_configured_token_matched() {
    let v = Verifier::new(["account-a-token", "cebcaac65XXXXXXXXXx"]).expect("tokens");
    assert_eq!(v.verify(CALL), Ok(1));
}

#[test]
fn wrong_missing_and_mistyped_tokens() {
    let v = Verifier::new(["right"]).expect("tokens");
    assert_eq!(v.verify(br#"{"token":"wrong"}"#), Err(Error::TokenMismatch));
    assert_eq!(v.verify(br#"{"token":"righ"}"#), Err(Error::TokenMismatch));
    assert_eq!(
        v.verify(br#"{"token":"right "}"#),
        Err(Error::TokenMismatch)
    );
    assert_eq!(
        v.verify(br#"{"event":"call.created"}"#),
        Err(Error::MissingToken)
    );
    assert_eq!(v.verify(br#"{"token":42}"#), Err(Error::TokenNotString));
    assert_eq!(v.verify(br#"{"token":null}"#), Err(Error::TokenNotString));
    assert_eq!(
        v.verify(br#"{"token":["right"]}"#),
        Err(Error::TokenNotString)
    );
    assert_eq!(
        v.verify(br#"{"token":{"a":1}}"#),
        Err(Error::TokenNotString)
    );
}

#[test]
fn invalid_json_reports_position_not_content() {
    let v = Verifier::new(["right"]).expect("tokens");
    for body in [
        &b"not json"[..],
        b"",
        b"{\"token\":\"right\"",
        b"[1,2]",
        b"{\"token\":\"right\"} trailing",
    ] {
        let err = v.verify(body).unwrap_err();
        assert!(matches!(err, Error::InvalidJson { .. }), "{err:?}");
        assert_eq!(err.code(), "invalid_json");
        assert!(!err.to_string().contains("right"));
    }
}

#[test]
fn debug_is_redacted() {
    let v = Verifier::new(["super-secret-token"]).expect("tokens");
    assert!(!format!("{v:?}").contains("super-secret"));
}

#[test]
fn redaction_empties_every_top_level_token_and_keeps_every_other_byte() {
    use callbook_signature::aircall::redact_token;
    let body = br#"{ "token" : "s3cret",
  "data": {"token": "not-the-credential", "id": 7}, "event":"call.created"}"#;
    let redacted = redact_token(body).expect("redact");
    assert_eq!(
        String::from_utf8(redacted).expect("utf8"),
        r#"{ "token" : "",
  "data": {"token": "not-the-credential", "id": 7}, "event":"call.created"}"#
    );
    // Escapes in the token, and a duplicated key (a reader keeps the last one): both emptied.
    let body = br#"{"token":"a\"b\u0041","event":"x","token":"second"}"#;
    assert_eq!(
        redact_token(body).expect("redact"),
        br#"{"token":"","event":"x","token":""}"#
    );
    // A body without a token is returned as it is; one that is not JSON is an error.
    assert_eq!(redact_token(br#"{"a":1}"#).expect("redact"), br#"{"a":1}"#);
    assert!(redact_token(b"nope").is_err());
}

#[test]
fn verify_and_redact_checks_the_token_then_removes_it() {
    let v = Verifier::new(["tok-1", "tok-2"]).expect("verifier");
    let (index, body) = v
        .verify_and_redact(br#"{"token":"tok-2","data":{}}"#)
        .expect("verified");
    assert_eq!(index, 1);
    assert_eq!(body, br#"{"token":"","data":{}}"#);
    assert!(matches!(
        v.verify_and_redact(br#"{"token":"tok-3"}"#),
        Err(Error::TokenMismatch)
    ));
}
