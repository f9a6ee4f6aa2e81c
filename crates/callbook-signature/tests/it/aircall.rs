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
