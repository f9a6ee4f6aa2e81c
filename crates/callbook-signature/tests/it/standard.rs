use callbook_signature::standard::{
    ID_HEADER, SIGNATURE_HEADER, SigningSecret, TIMESTAMP_HEADER, Webhook,
};
use callbook_signature::{Error, FixedClock};

// Vector V1 (svix / standard-webhooks test_sign).
const S1: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ID1: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const T1: i64 = 1649367553;
const BODY1: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const SIG1: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

// Vector V2 (standard-webhooks python/go/js tests).
const S2: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID2: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const T2: i64 = 1614265330;
const BODY2: &[u8] = br#"{"test": 2432232314}"#;
const SIG2: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn wh(secret: &str, now: i64) -> Webhook {
    Webhook::from_whsec([secret])
        .expect("secret")
        .clock(FixedClock(now))
}

fn verify(w: &Webhook, id: &str, t: i64, sig: &str, body: &[u8]) -> Result<(), Error> {
    let t = t.to_string();
    let headers = [
        (ID_HEADER, id),
        (TIMESTAMP_HEADER, &t),
        (SIGNATURE_HEADER, sig),
    ];
    w.verify(&headers, body).map(|_| ())
}

/// Headers from optional values, as a request that lacks some of them.
fn headers(id: Option<&str>, t: Option<&str>, sig: Option<&str>) -> Vec<(&'static str, String)> {
    [
        (ID_HEADER, id),
        (TIMESTAMP_HEADER, t),
        (SIGNATURE_HEADER, sig),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?.to_owned())))
    .collect()
}

#[test]
fn fixed_vectors() {
    assert_eq!(
        SigningSecret::parse(S1)
            .expect("s")
            .sign(ID1, T1, BODY1)
            .expect("sign"),
        SIG1
    );
    assert_eq!(
        SigningSecret::parse(S2)
            .expect("s")
            .sign(ID2, T2, BODY2)
            .expect("sign"),
        SIG2
    );
    assert!(verify(&wh(S1, T1), ID1, T1, SIG1, BODY1).is_ok());
    assert!(verify(&wh(S2, T2), ID2, T2, SIG2, BODY2).is_ok());
}

#[test]
fn negative_vectors() {
    let w = wh(S2, T2);
    let last_char = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
    assert_eq!(
        verify(&w, ID2, T2, last_char, BODY2),
        Err(Error::SignatureMismatch)
    );
    let w1 = wh(S1, T1);
    assert_eq!(
        verify(
            &w1,
            ID1,
            T1,
            "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=",
            BODY1
        ),
        Err(Error::SignatureMismatch)
    );
    let decoys = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";
    assert_eq!(
        verify(&w1, ID1, T1, decoys, BODY1),
        Err(Error::SignatureMismatch)
    );
    let with_valid = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw= v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";
    assert!(verify(&w1, ID1, T1, with_valid, BODY1).is_ok());
    // Partial signatures.
    assert!(verify(&w1, ID1, T1, "v1,", BODY1).is_err());
    assert!(verify(&w1, ID1, T1, &SIG1[..11], BODY1).is_err());
    // Mixed versions with one valid v1.
    let mixed = format!("v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,AAAA {SIG2}");
    assert!(verify(&w, ID2, T2, &mixed, BODY2).is_ok());
    // Timestamp header differing from the signed one.
    assert!(
        w.verify_ignoring_timestamp(
            &headers(Some(ID2), Some(&(T2 + 1).to_string()), Some(SIG2)),
            BODY2
        )
        .is_err()
    );
}

#[test]
fn tolerance_both_ways_and_missing_headers() {
    let sig_now = |now| wh(S2, now).sign(ID2, now, BODY2).expect("sign").signature;
    let w = wh(S2, T2);
    let old = T2 - 301;
    assert_eq!(
        verify(&w, ID2, old, &sig_now(old), BODY2),
        Err(Error::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        })
    );
    let new = T2 + 301;
    assert_eq!(
        verify(&w, ID2, new, &sig_now(new), BODY2),
        Err(Error::TimestampTooNew {
            ahead_secs: 301,
            tolerance_secs: 300
        })
    );
    assert!(
        w.verify(&headers(Some(ID2), Some("-1"), Some(SIG2)), BODY2)
            .is_err()
    );
    assert_eq!(
        w.verify(&headers(None, Some("1"), Some(SIG2)), BODY2),
        Err(Error::MissingHeader("webhook-id"))
    );
    assert_eq!(
        w.verify(&headers(Some(ID2), None, Some(SIG2)), BODY2),
        Err(Error::MissingHeader("webhook-timestamp"))
    );
    assert_eq!(
        w.verify(&headers(Some(ID2), Some("1"), None), BODY2),
        Err(Error::MissingHeader("webhook-signature"))
    );
}

#[test]
fn secrets_with_and_without_prefix_or_padding() {
    let with = SigningSecret::parse(S2).expect("s");
    let without = SigningSecret::parse(&S2["whsec_".len()..]).expect("s");
    assert_eq!(
        with.sign(ID2, T2, BODY2).expect("s"),
        without.sign(ID2, T2, BODY2).expect("s")
    );
    // Unpadded base64 is accepted, as the reference Python library does.
    let unpadded = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS").expect("s");
    assert!(unpadded.sign("a", 1, b"").is_ok());
    assert_eq!(
        SigningSecret::parse("").unwrap_err().code(),
        "invalid_secret"
    );
    assert_eq!(
        SigningSecret::parse("whsec_").unwrap_err().code(),
        "invalid_secret"
    );
    assert_eq!(
        SigningSecret::parse("whsec_!!!").unwrap_err().code(),
        "invalid_secret"
    );
    assert_eq!(with.to_whsec(), S2);
    assert!(!format!("{with:?}").contains("MfKQ"));
}

#[test]
fn rotation_signs_with_every_secret_and_verifies_with_any() {
    let both = Webhook::from_whsec([S1, S2])
        .expect("s")
        .clock(FixedClock(T2));
    let headers = both.sign(ID2, T2, BODY2).expect("sign");
    assert_eq!(headers.signature.split(' ').count(), 2);
    assert!(verify(&wh(S2, T2), ID2, T2, &headers.signature, BODY2).is_ok());
    assert!(verify(&wh(S1, T2), ID2, T2, &headers.signature, BODY2).is_ok());
}

#[test]
fn ids_with_dots_are_refused() {
    let s = SigningSecret::parse(S2).expect("s");
    assert_eq!(
        s.sign("a.b", 1, b"").unwrap_err().code(),
        "malformed_header"
    );
}
