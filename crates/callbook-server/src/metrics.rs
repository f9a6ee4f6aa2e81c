//! Prometheus metrics. Per-source handles are created once at start-up, so counting on the
//! request path allocates nothing.

use crate::listener::ConnectionStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type Labels = Vec<(&'static str, String)>;

/// Rejection reasons counted per source.
pub(crate) const REJECT_REASONS: &[&str] = &[
    "missing_header",
    "malformed_header",
    "invalid_timestamp",
    "timestamp_out_of_tolerance",
    "signature_mismatch",
    "missing_token",
    "invalid_token",
    "invalid_json",
    "token_mismatch",
    "payload_too_large",
    "storage_unavailable",
    "overloaded",
];

/// All metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    received: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    duplicates: Family<Labels, Counter>,
    stored: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    body_bytes: Family<Labels, Histogram>,
    delivery: DeliveryFamilies,
    intake: IntakeGauges,
    /// Filled by the listener, read at each scrape.
    pub(crate) connections: Arc<ConnectionStats>,
    connections_open: Gauge,
    connections_refused: Gauge,
}

/// SQLite's intake log, read from the store at each scrape.
struct IntakeGauges {
    pending: Gauge,
    log_bytes: Gauge,
    refused: Gauge,
}

struct DeliveryFamilies {
    attempts: Family<Labels, Counter>,
    successes: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    dead: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    queue_depth: Family<Labels, Gauge>,
    oldest_due_age: Family<Labels, Gauge<f64, AtomicU64>>,
    breaker: Family<Labels, Gauge>,
    disabled: Family<Labels, Gauge>,
}

/// The handles of one destination.
#[derive(Clone)]
pub(crate) struct DeliveryMetrics {
    pub(crate) attempts: Counter,
    pub(crate) successes: Counter,
    pub(crate) failures: Counter,
    pub(crate) dead: Counter,
    pub(crate) latency: Histogram,
    pub(crate) queue_depth: Gauge,
    pub(crate) oldest_due_age: Gauge<f64, AtomicU64>,
    pub(crate) breaker: Gauge,
    pub(crate) disabled: Gauge,
}

/// The handles of one source.
#[derive(Clone)]
pub(crate) struct SourceMetrics {
    pub(crate) received: Counter,
    pub(crate) duplicates: Counter,
    pub(crate) stored_parsed: Counter,
    pub(crate) stored_unparsed: Counter,
    pub(crate) latency: Histogram,
    pub(crate) body_bytes: Histogram,
    rejected: HashMap<&'static str, Counter>,
    /// Events stored per minute over the last day (the console's overview).
    pub(crate) activity: std::sync::Arc<crate::activity::Activity>,
}

impl SourceMetrics {
    /// Rejections since start, by reason, the reasons with none left out.
    pub(crate) fn rejections(&self) -> Vec<(&'static str, u64)> {
        let mut out: Vec<_> = self
            .rejected
            .iter()
            .map(|(reason, c)| (*reason, c.get()))
            .filter(|(_, n)| *n > 0)
            .collect();
        out.sort();
        out
    }

    pub(crate) fn rejected(&self, reason: &str) {
        if let Some(c) = self.rejected.get(reason) {
            c.inc();
        }
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("callbook");
        let received = Family::<Labels, Counter>::default();
        let rejected = Family::<Labels, Counter>::default();
        let duplicates = Family::<Labels, Counter>::default();
        let stored = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0001, 2.0, 16))) as fn() -> Histogram,
        );
        let body_bytes = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(256.0, 2.0, 12))) as fn() -> Histogram,
        );
        registry.register(
            "webhooks_received",
            "Webhook requests received",
            received.clone(),
        );
        registry.register(
            "webhooks_rejected",
            "Webhook requests rejected, by reason",
            rejected.clone(),
        );
        registry.register(
            "webhooks_duplicates",
            "Redeliveries of stored events",
            duplicates.clone(),
        );
        registry.register(
            "events_stored",
            "Events stored, by parse status",
            stored.clone(),
        );
        registry.register(
            "ingest_duration_seconds",
            "Time from request to durable acknowledgement",
            latency.clone(),
        );
        registry.register(
            "webhook_body_bytes",
            "Size of webhook bodies",
            body_bytes.clone(),
        );
        let delivery = DeliveryFamilies {
            attempts: Family::default(),
            successes: Family::default(),
            failures: Family::default(),
            dead: Family::default(),
            latency: Family::new_with_constructor(
                (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
            ),
            queue_depth: Family::default(),
            oldest_due_age: Family::default(),
            breaker: Family::default(),
            disabled: Family::default(),
        };
        let d = &delivery;
        registry.register("delivery_attempts", "Delivery attempts", d.attempts.clone());
        registry.register(
            "delivery_successes",
            "Successful deliveries",
            d.successes.clone(),
        );
        registry.register(
            "delivery_failures",
            "Failed delivery attempts",
            d.failures.clone(),
        );
        registry.register(
            "delivery_dead",
            "Deliveries given up (dead)",
            d.dead.clone(),
        );
        registry.register(
            "delivery_attempt_duration_seconds",
            "Duration of delivery attempts",
            d.latency.clone(),
        );
        registry.register(
            "delivery_queue_depth",
            "Pending deliveries",
            d.queue_depth.clone(),
        );
        registry.register(
            "delivery_oldest_due_age_seconds",
            "Age of the oldest due delivery",
            d.oldest_due_age.clone(),
        );
        registry.register(
            "delivery_breaker_state",
            "Circuit breaker: 0 closed, 1 open, 2 half-open",
            d.breaker.clone(),
        );
        registry.register(
            "destination_disabled",
            "1 when the destination is disabled (it answered 410)",
            d.disabled.clone(),
        );
        let intake = IntakeGauges {
            pending: Gauge::default(),
            log_bytes: Gauge::default(),
            refused: Gauge::default(),
        };
        registry.register(
            "store_intake_pending_records",
            "Acknowledged writes in SQLite's intake log, not yet in the database",
            intake.pending.clone(),
        );
        registry.register(
            "store_intake_log_bytes",
            "Size of SQLite's intake log file",
            intake.log_bytes.clone(),
        );
        registry.register(
            "store_intake_refused",
            "1 while the database refuses a write from the intake log (reads fail meanwhile)",
            intake.refused.clone(),
        );
        let connections_open = Gauge::default();
        let connections_refused = Gauge::default();
        registry.register(
            "http_connections_open",
            "Connections open on the webhook listener",
            connections_open.clone(),
        );
        registry.register(
            "http_connections_refused",
            "Connections closed on accept because server.max_connections were open",
            connections_refused.clone(),
        );
        Self {
            registry,
            connections: Arc::default(),
            connections_open,
            connections_refused,
            received,
            rejected,
            duplicates,
            stored,
            latency,
            body_bytes,
            delivery,
            intake,
        }
    }

    /// Sets the intake gauges from the store's figures (zero for a backend without a log).
    pub(crate) fn set_intake(&self, stats: Option<callbook_store::IntakeStats>) {
        let stats = stats.unwrap_or_default();
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.intake.pending.set(gauge(stats.pending_records));
        self.intake.log_bytes.set(gauge(stats.log_bytes));
        self.intake.refused.set(i64::from(stats.refused));
    }

    pub(crate) fn source(&self, source: &str, provider: &str) -> SourceMetrics {
        let l = |extra: &[(&'static str, &str)]| -> Labels {
            let mut v = vec![
                ("source", source.to_owned()),
                ("provider", provider.to_owned()),
            ];
            v.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            v
        };
        // One statement per handle: `get_or_create` returns a lock guard that lives until the
        // end of its statement, and a second lookup in the same family would deadlock on it.
        let received = self.received.get_or_create(&l(&[])).clone();
        let duplicates = self.duplicates.get_or_create(&l(&[])).clone();
        let stored_parsed = self
            .stored
            .get_or_create(&l(&[("parse_status", "parsed")]))
            .clone();
        let stored_unparsed = self
            .stored
            .get_or_create(&l(&[("parse_status", "unparsed")]))
            .clone();
        let latency = self.latency.get_or_create(&l(&[])).clone();
        let body_bytes = self.body_bytes.get_or_create(&l(&[])).clone();
        let mut rejected = HashMap::new();
        for reason in REJECT_REASONS {
            let counter = self
                .rejected
                .get_or_create(&l(&[("reason", reason)]))
                .clone();
            rejected.insert(*reason, counter);
        }
        SourceMetrics {
            received,
            duplicates,
            stored_parsed,
            stored_unparsed,
            latency,
            body_bytes,
            rejected,
            activity: std::sync::Arc::default(),
        }
    }

    pub(crate) fn destination(&self, name: &str) -> DeliveryMetrics {
        let l: Labels = vec![("destination", name.to_owned())];
        let d = &self.delivery;
        let attempts = d.attempts.get_or_create(&l).clone();
        let successes = d.successes.get_or_create(&l).clone();
        let failures = d.failures.get_or_create(&l).clone();
        let dead = d.dead.get_or_create(&l).clone();
        let latency = d.latency.get_or_create(&l).clone();
        let queue_depth = d.queue_depth.get_or_create(&l).clone();
        let oldest_due_age = d.oldest_due_age.get_or_create(&l).clone();
        let breaker = d.breaker.get_or_create(&l).clone();
        let disabled = d.disabled.get_or_create(&l).clone();
        DeliveryMetrics {
            attempts,
            successes,
            failures,
            dead,
            latency,
            queue_depth,
            oldest_due_age,
            breaker,
            disabled,
        }
    }

    /// Requests for sources that do not exist, counted under one label.
    pub(crate) fn unknown_source(&self) {
        self.rejected
            .get_or_create(&vec![
                ("source", String::new()),
                ("provider", String::new()),
                ("reason", "unknown_source".to_owned()),
            ])
            .inc();
    }

    pub(crate) fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub(crate) fn render(&self) -> String {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let c = &self.connections;
        self.connections_open
            .set(gauge(c.open.load(Ordering::Relaxed)));
        self.connections_refused
            .set(gauge(c.refused.load(Ordering::Relaxed)));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
