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
    assert_eq!(v.verify(CALL).map(|v| v.key_index), Ok(1));
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
    let (verified, body) = v
        .verify_and_redact(br#"{"token":"tok-2","data":{}}"#)
        .expect("verified");
    assert_eq!(verified.key_index, 1);
    assert_eq!(verified.timestamp, None);
    assert_eq!(body, br#"{"token":"","data":{}}"#);
    assert!(matches!(
        v.verify_and_redact(br#"{"token":"tok-3"}"#),
        Err(Error::TokenMismatch)
    ));
}

#[test]
fn construct_event_parses_once_and_keeps_the_token_out_of_the_event() {
    let v = Verifier::new(["account-a-token", "cebcaac65XXXXXXXXXx"]).expect("tokens");
    let verified = v
        .construct_event::<serde_json::Value>(CALL)
        .expect("genuine");
    assert_eq!(verified.key_index, 1);
    assert_eq!(verified.timestamp, None);
    assert_eq!(verified.event["token"], "");
    assert_eq!(verified.event["event"], "call.created");
    let mut expected: serde_json::Value = serde_json::from_slice(CALL).expect("json");
    expected["token"] = "".into();
    assert_eq!(verified.event, expected);
}

#[test]
fn construct_event_verifies_before_it_reports_parse_errors() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        event: String,
        id: u64,
    }
    let v = Verifier::new(["right"]).expect("token");
    // Not genuine: the verification error, whatever the shape.
    assert_eq!(
        v.construct_event::<Strict>(br#"{"event":"x","token":"wrong"}"#)
            .unwrap_err(),
        Error::TokenMismatch
    );
    assert_eq!(
        v.construct_event::<Strict>(br#"{"id":"not a number"}"#)
            .unwrap_err(),
        Error::MissingToken
    );
    // Genuine but not a `Strict`: a payload error that says what is missing.
    let err = v
        .construct_event::<Strict>(br#"{"event":"x","token":"right"}"#)
        .unwrap_err();
    assert!(err.is_payload(), "{err:?}");
    assert!(err.to_string().contains("missing field `id`"), "{err}");
    // The token never reaches the parser, so never shows in a payload error.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct NumericToken {
        token: u64,
    }
    let err = v
        .construct_event::<NumericToken>(br#"{"token":"right"}"#)
        .unwrap_err();
    assert!(err.is_payload());
    assert!(!err.to_string().contains("right"), "{err}");
    // The last token wins, as in verify; escaped keys are keys too.
    let dup = br#"{"token":"wrong","tok\u0065n":"right","event":"x","id":1}"#;
    assert_eq!(v.verify(dup).map(|v| v.key_index), Ok(0));
    assert!(v.construct_event::<serde_json::Value>(dup).is_ok());
    assert_eq!(
        v.construct_event::<serde_json::Value>(br#"{"token":7}"#)
            .unwrap_err(),
        Error::TokenNotString
    );
    assert!(matches!(
        v.construct_event::<serde_json::Value>(br#"{"token":"right"} trailing"#),
        Err(Error::InvalidJson { .. })
    ));
}

proptest::proptest! {
    /// One pass or two, the verdict is the same: construct_event fails exactly when verify
    /// does, with the same error, and otherwise gives the body with its token blanked.
    #[test]
    fn construct_event_agrees_with_verify(
        entries in proptest::collection::vec(
            (
                proptest::sample::select(vec!["token", "tok\\u0065n", "event", "data", "t"]),
                proptest::sample::select(vec![
                    r#""right""#, r#""wrong""#, "1", "null", r#"{"token":"right"}"#, r#"["right"]"#,
                ]),
            ),
            0..5,
        )
    ) {
        let v = Verifier::new(["right"]).expect("token");
        let body = format!(
            "{{{}}}",
            entries.iter().map(|(k, val)| format!(r#""{k}":{val}"#)).collect::<Vec<_>>().join(",")
        );
        let two_pass = v.verify(body.as_bytes());
        let one_pass = v.construct_event::<serde_json::Value>(body.as_bytes());
        match (two_pass, one_pass) {
            (Ok(a), Ok(b)) => {
                proptest::prop_assert_eq!(a.key_index, b.key_index);
                proptest::prop_assert_eq!(&b.event["token"], "");
                let redacted = callbook_signature::aircall::redact_token(body.as_bytes()).expect("json");
                let expected: serde_json::Value = serde_json::from_slice(&redacted).expect("json");
                proptest::prop_assert_eq!(b.event, expected);
            }
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a, b),
            (a, b) => proptest::prop_assert!(false, "verify {a:?} but construct_event {b:?} for {body}"),
        }
    }
}

#[test]
fn verifiers_take_the_secret_type_the_other_crates_hold_tokens_in() {
    let held = secrecy::SecretString::from("cebcaac65XXXXXXXXXx");
    let v = Verifier::new([&held]).expect("tokens");
    assert_eq!(v.verify(CALL).map(|v| v.key_index), Ok(0));
    let v = Verifier::new([held]).expect("tokens");
    assert!(!format!("{v:?}").contains("cebcaac65"), "{v:?}");
}
