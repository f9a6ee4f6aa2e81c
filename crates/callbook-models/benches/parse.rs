//! Typed parsing of the seed `invitee.created` against `serde_json::Value`, in the same run.

use callbook_models::calendly::Webhook;
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

const SEED: &[u8] = include_bytes!("../tests/fixtures/calendly/seed_invitee_created.json");

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_seed_invitee_created");
    group.throughput(Throughput::Bytes(SEED.len() as u64));
    group.bench_function("typed_webhook", |b| {
        b.iter(|| serde_json::from_slice::<Webhook>(black_box(SEED)).map(|w| w.created_at))
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(SEED)).map(|v| v.is_object())
        })
    });
    group.bench_function("ignored_any_floor", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(SEED)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
