//! Arbitrary headers and bodies never make a verifier panic.

use callbook_signature::{FixedClock, aircall, calendly, standard};
use proptest::prelude::*;

fn header_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[tv01=, a-f0-9-]{0,200}",
        (any::<i64>(), "[0-9a-fA-Fz]{0,70}").prop_map(|(t, s)| format!("t={t},v1={s}")),
        ("[ v0-9a-zA-Z+/=,]{0,120}").prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn calendly_never_panics(h in header_like(), body in proptest::collection::vec(any::<u8>(), 0..256), now in any::<i64>()) {
        let v = calendly::Verifier::new(["k"]).expect("key").clock(FixedClock(now));
        let _ = v.verify(Some(&h), &body);
        let _ = v.verify_ignoring_timestamp(Some(&h), &body);
    }

    #[test]
    fn aircall_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), json in r#"\{("token":)?[ -~]{0,80}\}?"#) {
        let v = aircall::Verifier::new(["k"]).expect("token");
        let _ = v.verify(&body);
        let _ = v.verify(json.as_bytes());
        let _ = v.construct_event::<serde_json::Value>(&body);
        let _ = v.construct_event::<serde_json::Value>(json.as_bytes());
    }

    #[test]
    fn standard_never_panics(id in ".{0,40}", t in ".{0,30}", sig in header_like(), body in proptest::collection::vec(any::<u8>(), 0..128), now in any::<i64>()) {
        let w = standard::Webhook::from_whsec(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).expect("s").clock(FixedClock(now));
        let headers = [("webhook-id", id), ("webhook-timestamp", t), ("webhook-signature", sig)];
        let _ = w.verify(&headers, &body);
        let _ = w.construct_event::<serde_json::Value>(&headers, &body);
    }

    #[test]
    fn calendly_sign_verify_round_trip(key in "[!-~]{1,64}", body in proptest::collection::vec(any::<u8>(), 0..512), t in 1i64..253_402_300_799) {
        let h = calendly::sign(key.as_bytes(), t, &body);
        let v = calendly::Verifier::new([key.as_str()]).expect("key").clock(FixedClock(t));
        prop_assert!(v.verify(Some(&h), &body).is_ok());
    }
}
