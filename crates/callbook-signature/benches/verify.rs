//! Calendly verification against a bare HMAC-SHA256 over the same bytes, in the same run;
//! plus the Aircall token check and Standard Webhooks sign/verify.

use callbook_signature::{FixedClock, aircall, calendly, standard};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SEED: &[u8] =
    include_bytes!("../../callbook-models/tests/fixtures/calendly/seed_invitee_created.json");
const KEY: &str = "5mEzn9C-I28UtwOjZJtFoob0sAAFZ95GbZkqj4y3i0I";
const T: i64 = 1_700_000_000;

fn bench(c: &mut Criterion) {
    let header = calendly::sign(KEY.as_bytes(), T, SEED);
    let verifier = calendly::Verifier::new([KEY])
        .expect("key")
        .clock(FixedClock(T));
    // The baseline hashes the same bytes a verifier must: "{t}." then the body.
    let signed_prefix = format!("{T}.");

    let mut g = c.benchmark_group("calendly_seed_invitee_created");
    g.bench_function("bare_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(KEY.as_bytes())).expect("key");
            mac.update(signed_prefix.as_bytes());
            mac.update(black_box(SEED));
            mac.finalize().into_bytes()
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify(Some(black_box(&header)), black_box(SEED))
                .expect("valid")
        })
    });
    g.bench_function("parse_header", |b| {
        b.iter(|| calendly::SignatureHeader::parse(black_box(&header)).expect("valid"))
    });
    g.bench_function("sign", |b| {
        b.iter(|| calendly::sign(KEY.as_bytes(), T, black_box(SEED)))
    });
    g.finish();

    let aircall_body =
        include_bytes!("../../callbook-models/tests/fixtures/aircall/webhook_call_created.json");
    let tokens = aircall::Verifier::new(["cebcaac65XXXXXXXXXx"]).expect("token");
    c.bench_function("aircall_token_verify", |b| {
        b.iter(|| tokens.verify(black_box(aircall_body)).expect("valid"))
    });
    // Verify then parse the whole body (two passes), against construct_event (one).
    let mut g = c.benchmark_group("aircall_verify_and_parse");
    g.bench_function("verify_then_from_slice", |b| {
        b.iter(|| {
            tokens.verify(black_box(aircall_body)).expect("valid");
            serde_json::from_slice::<serde_json::Value>(black_box(aircall_body)).expect("json")
        })
    });
    g.bench_function("construct_event", |b| {
        b.iter(|| {
            tokens
                .construct_event::<serde_json::Value>(black_box(aircall_body))
                .expect("valid")
        })
    });
    g.finish();

    let wh = standard::Webhook::from_whsec(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        .expect("secret")
        .clock(FixedClock(T));
    let signed = wh.sign("msg_1", T, SEED).expect("sign");
    c.bench_function("standard_webhooks_sign", |b| {
        b.iter(|| {
            wh.sign(black_box("msg_1"), T, black_box(SEED))
                .expect("sign")
        })
    });
    let headers = [
        (standard::ID_HEADER, signed.id),
        (standard::TIMESTAMP_HEADER, signed.timestamp),
        (standard::SIGNATURE_HEADER, signed.signature),
    ];
    c.bench_function("standard_webhooks_verify", |b| {
        b.iter(|| {
            wh.verify(black_box(&headers), black_box(SEED))
                .expect("valid")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
