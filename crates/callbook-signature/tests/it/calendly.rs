use callbook_signature::calendly::{SignatureHeader, Verifier, sign};
use callbook_signature::{Error, FixedClock};

const KEY: &str = "5mEzn9C-I28UtwOjZJtFoob0sAAFZ95GbZkqj4y3i0I";
const T: i64 = 1492774577;
const BODY: &[u8] = br#"{"event":"invitee.created","created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","payload":{}}"#;
const SIG: &str = "dce7fceb5d14070b57fb9e3da0b06b473aa22de46a2a56e8e4b3a1cbcad5edd8";

fn verifier() -> Verifier {
    Verifier::new([KEY]).expect("key").clock(FixedClock(T + 10))
}

fn header(sig: &str) -> String {
    format!("t={T},v1={sig}")
}

#[test]
fn known_vectors() {
    assert_eq!(sign(KEY.as_bytes(), T, BODY), header(SIG));
    assert_eq!(
        sign(KEY.as_bytes(), T, b""),
        header("2c542adc87fd6cb4b5ea0b55dda30320f342c77c87941ee29098173db3ba8eb1")
    );
    // Hook0's vector of the same scheme, cross-checked with stripe-node.
    assert_eq!(
        sign(b"secret", 1636936200, b"hello !"),
        "t=1636936200,v1=1b3d69df55f1e52f05224ba94a5162abeb17ef52cd7f4948c390f810d6a87e98"
    );
}

#[test]
fn valid_delivery_verifies() {
    let v = verifier().verify(Some(&header(SIG)), BODY).expect("valid");
    assert_eq!(v.timestamp, Some(T));
    assert_eq!(v.key_index, 0);
}

#[test]
fn tampered_body_and_wrong_key_fail() {
    let mut tampered = BODY.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        verifier().verify(Some(&header(SIG)), &tampered),
        Err(Error::SignatureMismatch)
    );
    let other = Verifier::new(["not-the-key"])
        .expect("key")
        .clock(FixedClock(T));
    assert_eq!(
        other.verify(Some(&header(SIG)), BODY),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn reserialised_and_body_only_signatures_fail() {
    let pretty = serde_json::to_vec_pretty(
        &serde_json::from_slice::<serde_json::Value>(BODY).expect("json"),
    )
    .expect("pretty");
    assert_eq!(
        verifier().verify(Some(&header(SIG)), &pretty),
        Err(Error::SignatureMismatch)
    );
    // A common bug: HMAC over the body alone.
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).expect("key");
    mac.update(BODY);
    let body_only = hex::encode(mac.finalize().into_bytes());
    assert_eq!(
        verifier().verify(Some(&header(&body_only)), BODY),
        Err(Error::SignatureMismatch)
    );
    // Another: the header compared to the key itself.
    assert!(verifier().verify(Some(KEY), BODY).is_err());
}

#[test]
fn any_of_several_signatures_matches_in_any_position() {
    let decoy = "a".repeat(64);
    for h in [
        format!("t={T},v1={SIG},v1={decoy}"),
        format!("t={T},v1={decoy},v1={SIG}"),
        format!("v1={decoy}, v1={SIG} , t={T}"),
        format!("t={T},v1=potato,v1={SIG}"),
        format!("t={T},v1={SIG},v1=potato"),
        format!(" t = {T} , v0=abc, v1 = {SIG} , x=y "),
    ] {
        assert!(verifier().verify(Some(&h), BODY).is_ok(), "{h}");
    }
}

#[test]
fn any_of_several_keys_matches_and_says_which() {
    let v = Verifier::new(["old-key", KEY, "newer-key"])
        .expect("keys")
        .clock(FixedClock(T));
    assert_eq!(
        v.verify(Some(&header(SIG)), BODY).expect("valid").key_index,
        1
    );
}

#[test]
fn timestamp_window_in_both_directions() {
    let h = header(SIG);
    let at = |now| Verifier::new([KEY]).expect("key").clock(FixedClock(now));
    assert!(at(T + 180).verify(Some(&h), BODY).is_ok());
    assert!(at(T - 180).verify(Some(&h), BODY).is_ok());
    assert_eq!(
        at(T + 181).verify(Some(&h), BODY),
        Err(Error::TimestampTooOld {
            age_secs: 181,
            tolerance_secs: 180
        })
    );
    assert_eq!(
        at(T - 200).verify(Some(&h), BODY),
        Err(Error::TimestampTooNew {
            ahead_secs: 200,
            tolerance_secs: 180
        })
    );
    let err = at(T + 1000).verify(Some(&h), BODY).unwrap_err();
    assert_eq!(err.code(), "timestamp_out_of_tolerance");
    assert_eq!(
        err.to_string(),
        "timestamp is too old: 1000 s old, tolerance is 180 s"
    );
    // Configurable, and skippable under a loud name.
    assert!(
        at(T + 1000)
            .tolerance(std::time::Duration::from_secs(1000))
            .verify(Some(&h), BODY)
            .is_ok()
    );
    assert!(
        at(T + 10_000_000)
            .verify_ignoring_timestamp(Some(&h), BODY)
            .is_ok()
    );
}

#[test]
fn a_bad_signature_is_reported_before_a_stale_timestamp() {
    // An attacker learns nothing about the window from a forged request.
    let v = Verifier::new([KEY])
        .expect("key")
        .clock(FixedClock(T + 10_000));
    assert_eq!(
        v.verify(Some(&header(&"b".repeat(64))), BODY),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn malformed_headers_are_typed_errors() {
    let v = verifier();
    let code = |h: Option<&str>| v.verify(h, BODY).unwrap_err().code();
    assert_eq!(code(None), "missing_header");
    for h in [
        "",
        "   ",
        "garbage",
        "t=1492774577",
        "v1=abc",
        "t=1,t=2,v1=x",
    ] {
        assert_eq!(code(Some(h)), "malformed_header", "{h:?}");
    }
    let odd = format!("t={T},v1={}", &SIG[..63]);
    let non_hex = format!("t={T},v1={}", "z".repeat(64));
    let truncated = format!("t={T},v1={}", &SIG[..8]);
    for h in [&odd, &non_hex, &truncated] {
        assert_eq!(code(Some(h)), "malformed_header", "{h}");
    }
    for h in [
        format!("t=abc,v1={SIG}"),
        format!("t=-5,v1={SIG}"),
        format!("t=,v1={SIG}"),
        format!("t=0,v1={SIG}"),
        format!("t=99999999999999999999,v1={SIG}"),
        format!("t=1e9,v1={SIG}"),
        format!("t=+1492774577,v1={SIG}"),
    ] {
        assert_eq!(code(Some(&h)), "invalid_timestamp", "{h}");
    }
}

#[test]
fn the_docs_example_header_parses() {
    let h = SignatureHeader::parse(
        "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    )
    .expect("parses");
    assert_eq!(h.timestamp, 1492774577);
    assert_eq!(h.signatures.len(), 1);
}

#[test]
fn errors_and_debug_never_leak_keys_or_expected_signatures() {
    let v = Verifier::new([KEY])
        .expect("key")
        .clock(FixedClock(T + 10_000));
    let debug = format!("{v:?}");
    assert!(!debug.contains(KEY), "{debug}");
    for h in [header(&"c".repeat(64)), header(SIG), "t=1".into()] {
        if let Err(e) = v.verify(Some(&h), BODY) {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(KEY) && !text.contains(SIG), "{text}");
        }
    }
    assert_eq!(
        format!("{:?}", callbook_signature::Secret::from(KEY)),
        "Secret([redacted])"
    );
}

#[test]
fn empty_key_sets_are_refused() {
    assert_eq!(
        Verifier::new(Vec::<String>::new()).unwrap_err(),
        Error::NoKeys
    );
    assert_eq!(Verifier::new([""]).unwrap_err().code(), "invalid_secret");
}
