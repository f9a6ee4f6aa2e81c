//! The delivery engine: hands each stored event to the user's destinations, reliably.
//!
//! Deliveries are rows written with the event (the outbox). The engine claims due rows per
//! destination, with a lease (so a crashed worker's claims come back, and several instances can
//! share one database), up to each destination's concurrency limit and only while its circuit
//! breaker allows; attempts run concurrently; every attempt is recorded with its outcome. A
//! dead destination therefore only ever uses its own permits and never slows the others.

mod destination;
mod handler;
mod http;

pub use handler::{DeliveredEvent, EventHandler, Handler, HandlerError, TypedWebhook};

pub(crate) use destination::{Breaker, BreakerState, Destination, Filter, Target};
pub(crate) use http::{endpoint, proxied};

use crate::config::{Config, DeliveryConfig};
use crate::metrics::DeliveryMetrics;
use callbook_store::{AttemptRecord, Claimed, NewEvent, Outcome, PreClaim, Store};
use chrono::Utc;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The deliveries of one event that [`Engine::pre_claim`] took: those to attempt right
/// after the insert, and the destinations left to the dispatcher.
pub(crate) struct Handoffs {
    engine: Arc<Engine>,
    ready: Vec<(Arc<Destination>, tokio::sync::OwnedSemaphorePermit, Claimed)>,
    waiting: Vec<Arc<Destination>>,
}

impl Handoffs {
    /// The event is stored and new: attempt the pre-claimed deliveries now, and tell the
    /// dispatcher about the others.
    pub(crate) fn start(self) {
        for (dest, permit, delivery) in self.ready {
            let engine = self.engine.clone();
            tokio::spawn(async move {
                engine.attempt(&dest, delivery, permit).await;
            });
        }
        if !self.waiting.is_empty() {
            for dest in &self.waiting {
                dest.backlog.mark();
            }
            self.engine.wake.notify_one();
        }
    }
}

/// The running engine's shared parts.
pub(crate) struct Engine {
    store: Arc<dyn Store>,
    pub(crate) destinations: Vec<Arc<Destination>>,
    config: DeliveryConfig,
    pub(crate) wake: Notify,
    owner: String,
    clients: http::Clients,
    pub(crate) metrics: HashMap<String, DeliveryMetrics>,
}

impl Engine {
    pub(crate) fn new(
        config: &Config,
        store: Arc<dyn Store>,
        destinations: Vec<Arc<Destination>>,
        metrics: HashMap<String, DeliveryMetrics>,
    ) -> Result<Self, crate::Error> {
        let any_proxied = destinations
            .iter()
            .any(|d| matches!(d.target, Target::Http { proxied: true, .. }));
        let clients = http::Clients::new(any_proxied)?;
        Ok(Self {
            store,
            destinations,
            config: config.delivery.clone(),
            wake: Notify::new(),
            owner: format!("callbook-{}", uuid_like()),
            clients,
            metrics,
        })
    }

    pub(crate) fn add_handler(
        &mut self,
        spec: Handler,
        handler: Arc<dyn EventHandler>,
        metrics: &crate::metrics::Metrics,
    ) -> Result<(), crate::Error> {
        let name = spec.name.as_str();
        if name.is_empty() || self.destinations.iter().any(|d| &*d.name == name) {
            return Err(crate::Error::Config(format!(
                "destination name {name:?} is empty or already used"
            )));
        }
        if spec.timeout.is_zero() {
            return Err(crate::Error::Config(format!(
                "handler {name:?}: the timeout must be positive"
            )));
        }
        let max_in_flight = spec.max_in_flight.max(1);
        self.destinations.push(Arc::new(Destination {
            name: Arc::from(name),
            target: Target::Handler {
                handler,
                timeout: spec.timeout,
            },
            filter: Filter::new(spec.events.clone(), spec.sources.clone()),
            permits: Arc::new(tokio::sync::Semaphore::new(max_in_flight)),
            max_in_flight,
            breaker: std::sync::Mutex::new(destination::Breaker::new(
                self.config.breaker_failures,
                Duration::from_secs_f64(self.config.breaker_cooldown_secs.max(0.0)),
            )),
            disabled: std::sync::atomic::AtomicBool::new(false),
            url: None,
            backlog: Default::default(),
        }));
        self.metrics
            .insert(name.to_owned(), metrics.destination(name));
        Ok(())
    }

    /// Names of the destinations an event goes to.
    pub(crate) fn route(&self, source: &str, event_type: Option<&str>) -> Vec<String> {
        self.destinations
            .iter()
            .filter(|d| d.filter.matches(source, event_type))
            .map(|d| d.name.to_string())
            .collect()
    }

    /// Takes the deliveries of a new event that can be attempted at once: for each of its
    /// destinations that is enabled, has a closed breaker, nothing waiting in the store and a
    /// free permit, the delivery is written pre-claimed (leased to this engine) and handed
    /// straight to an attempt after the insert, with no claim and no dispatcher in between.
    /// The rest are left for the dispatcher. Call [`Handoffs::start`] once the insert says
    /// the event is new; dropping them instead gives the permits back.
    pub(crate) fn pre_claim(self: &Arc<Self>, event: &mut NewEvent) -> Handoffs {
        let mut handoffs = Handoffs {
            engine: self.clone(),
            ready: Vec::new(),
            waiting: Vec::new(),
        };
        let now = Instant::now();
        let mut pre = PreClaim::new(self.owner.clone(), Utc::now());
        let mut longest = Duration::ZERO;
        for name in &event.destinations {
            let Some(dest) = self.destinations.iter().find(|d| *d.name == **name) else {
                continue;
            };
            let ready = !dest.is_disabled()
                && dest.backlog.is_empty()
                && dest
                    .breaker
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .state(now)
                    == BreakerState::Closed;
            let permit = ready
                .then(|| dest.permits.clone().try_acquire_owned().ok())
                .flatten();
            match permit {
                Some(permit) => {
                    let id = pre.add(&*dest.name);
                    longest = longest.max(dest.timeout());
                    let delivery = Claimed::pre_claimed(event, &pre.owner, id, &dest.name);
                    handoffs.ready.push((dest.clone(), permit, delivery));
                }
                None => handoffs.waiting.push(dest.clone()),
            }
        }
        if !handoffs.ready.is_empty() {
            let lease = longest + Duration::from_secs(self.config.lease_margin_secs);
            pre.until += chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            event.pre_claim = Some(pre);
        }
        handoffs
    }

    /// Loads disabled flags from the store.
    pub(crate) async fn load_state(&self) -> Result<(), callbook_store::Error> {
        for state in self.store.destination_states().await? {
            if let Some(d) = self.destinations.iter().find(|d| *d.name == *state.name) {
                d.disabled
                    .store(state.disabled_at.is_some(), Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// The dispatch loop: runs until `stop` is notified.
    pub(crate) async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(1));
        // The timer looks for everything that became due (retries, expired leases, events
        // another instance stored); a wake only for what ingestion left waiting.
        let mut timer = true;
        loop {
            for dest in &self.destinations {
                if !timer && dest.backlog.is_empty() {
                    continue;
                }
                if let Err(e) = self.dispatch(dest).await {
                    tracing::warn!(destination = %dest.name, error = %e, "claiming deliveries failed");
                }
            }
            if *stop.borrow() {
                break;
            }
            timer = tokio::select! {
                () = self.wake.notified() => false,
                () = tokio::time::sleep(poll) => true,
                _ = stop.changed() => break,
            };
        }
        // In-flight attempts finish (their permits come back) before the store closes.
        for dest in &self.destinations {
            let _ = dest.permits.acquire_many(dest.max_in_flight as u32).await;
        }
    }

    async fn dispatch(
        self: &Arc<Self>,
        dest: &Arc<Destination>,
    ) -> Result<(), callbook_store::Error> {
        if dest.is_disabled() {
            return Ok(());
        }
        let free = dest.permits.available_permits();
        // Claim in batches: while attempts are in flight, wait until a quarter of the permits
        // are free rather than running one claim per finished attempt.
        if free < dest.max_in_flight && free < (dest.max_in_flight / 4).max(1) {
            return Ok(());
        }
        let allowance = {
            let mut breaker = dest.breaker.lock().unwrap_or_else(|p| p.into_inner());
            breaker.allowance(Instant::now(), free)
        };
        if allowance == 0 {
            return Ok(());
        }
        let lease = dest.timeout() + Duration::from_secs(self.config.lease_margin_secs);
        let generation = dest.backlog.generation();
        let claimed = self
            .store
            .claim(&dest.name, &self.owner, Utc::now(), lease, allowance as u32)
            .await?;
        if claimed.len() < allowance {
            dest.backlog.clear(generation);
        }
        for delivery in claimed {
            let Ok(permit) = dest.permits.clone().try_acquire_owned() else {
                // Cannot happen (we claimed no more than the free permits); the lease brings
                // the delivery back if it does.
                break;
            };
            let (engine, dest) = (self.clone(), dest.clone());
            tokio::spawn(async move {
                engine.attempt(&dest, delivery, permit).await;
            });
        }
        Ok(())
    }

    /// One attempt. The permit is returned as soon as the destination has answered: recording
    /// the outcome waits for a commit, and the delivery stays leased until then, so no other
    /// worker takes it meanwhile.
    async fn attempt(
        &self,
        dest: &Destination,
        delivery: Claimed,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let started = Instant::now();
        let attempted_at = Utc::now();
        let mut later = None;
        let result = match &dest.target {
            Target::Http { .. } => http::send(&self.clients, &dest.target, &delivery).await,
            Target::Handler { handler, timeout } => {
                let event = DeliveredEvent {
                    id: delivery.event_id,
                    source: delivery.source.clone(),
                    provider: delivery.provider,
                    event_type: delivery.event_type.clone(),
                    webhook: Arc::new(TypedWebhook::parse(delivery.provider, &delivery.body)),
                    body: bytes::Bytes::from(delivery.body.clone()),
                    attempt: delivery.attempts,
                };
                match tokio::time::timeout(*timeout, handler.handle(&event)).await {
                    Ok(Ok(())) => http::AttemptResult::success(None, None),
                    Ok(Err(e)) if e.is_permanent() => http::AttemptResult::permanent(e.message()),
                    Ok(Err(e)) if e.later_after().is_some() => {
                        later = e.later_after();
                        http::AttemptResult::failure(None, e.message(), None, None)
                    }
                    Ok(Err(e)) => http::AttemptResult::failure(None, e.message(), None, None),
                    Err(_) => {
                        http::AttemptResult::failure(None, "handler timed out".into(), None, None)
                    }
                }
            }
        };
        let latency = started.elapsed();
        drop(permit);
        // The freed permit matters to the dispatcher only if deliveries wait for it (a wake
        // only claims for destinations with a backlog; the timer finds everything else).
        if !dest.backlog.is_empty() {
            self.wake.notify_one();
        }
        if let Some(after) = later {
            // Not an attempt: the handler asked to have the event again later.
            let at = Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
            tracing::debug!(destination = %dest.name, delivery = %delivery.id, ?after, "handed back for later");
            if let Err(e) = self.store.postpone(delivery.id, &delivery.lease, at).await {
                tracing::error!(delivery = %delivery.id, error = %e, "postponement not recorded");
            }
            return;
        }
        let attempts_after = delivery.attempts + 1;
        let metrics = self.metrics.get(&*dest.name);
        if let Some(m) = metrics {
            m.latency.observe(latency.as_secs_f64());
        }
        let outcome = if result.success {
            dest.breaker
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .success();
            if let Some(m) = metrics {
                m.successes.inc();
            }
            Outcome::Succeeded
        } else if result.status == Some(410) {
            self.disable(dest, "the destination answered 410 Gone")
                .await;
            Outcome::Dead
        } else if result.permanent {
            // This delivery's own fault: the destination is fine, its breaker untouched.
            if let Some(m) = metrics {
                m.failures.inc();
            }
            Outcome::Dead
        } else {
            let opened = dest
                .breaker
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .failure(Instant::now());
            if opened {
                tracing::warn!(destination = %dest.name, "circuit breaker opened");
            }
            if let Some(m) = metrics {
                m.failures.inc();
            }
            match self.next_attempt(attempts_after, result.retry_after) {
                Some(delay) => Outcome::Retry(
                    Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                ),
                None => Outcome::Dead,
            }
        };
        if outcome == Outcome::Dead {
            if let Some(m) = metrics {
                m.dead.inc();
            }
            tracing::warn!(
                destination = %dest.name, delivery = %delivery.id, event_id = %delivery.event_id,
                attempts = attempts_after, error = ?result.error, "delivery is dead"
            );
        }
        if let Some(m) = metrics {
            m.attempts.inc();
        }
        let record = AttemptRecord {
            attempted_at,
            status_code: result.status,
            latency_ms: latency.as_millis() as u64,
            error: result.error,
            response_excerpt: result.excerpt,
        };
        if let Err(e) = self
            .store
            .complete(delivery.id, &delivery.lease, record, outcome)
            .await
        {
            // The lease brings the delivery back; it will be attempted again.
            tracing::error!(delivery = %delivery.id, error = %e, "attempt not recorded");
        }
    }

    /// The wait before the next attempt, or `None` when the schedule is exhausted.
    fn next_attempt(&self, attempts_made: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self
            .config
            .retry_schedule_secs
            .get(attempts_made as usize)?;
        let spread = self.config.jitter;
        let factor = if spread > 0.0 {
            rand::thread_rng().gen_range(1.0 - spread..1.0 + spread)
        } else {
            1.0
        };
        let scheduled = Duration::from_secs_f64((base * factor).max(0.0));
        let cap = Duration::from_secs(self.config.max_retry_after_secs);
        Some(match retry_after {
            Some(ra) => scheduled.max(ra.min(cap)),
            None => scheduled,
        })
    }

    async fn disable(&self, dest: &Destination, reason: &str) {
        if !dest.disabled.swap(true, Ordering::Relaxed) {
            tracing::error!(
                destination = %dest.name, reason,
                "destination disabled: re-enable it with POST /admin/destinations/{}/enable",
                dest.name
            );
            if let Some(m) = self.metrics.get(&*dest.name) {
                m.disabled.set(1);
            }
        }
        if let Err(e) = self
            .store
            .set_destination_disabled(&dest.name, Some(reason), Utc::now())
            .await
        {
            tracing::error!(destination = %dest.name, error = %e, "could not persist the disabled state");
        }
    }

    /// Pauses a destination by hand (the console's "Disable"): nothing is attempted until it is
    /// enabled again; its deliveries wait.
    pub(crate) async fn disable_by_name(&self, name: &str) -> bool {
        let Some(dest) = self.destinations.iter().find(|d| &*d.name == name) else {
            return false;
        };
        self.disable(dest, "disabled by an operator").await;
        true
    }

    pub(crate) async fn enable(&self, name: &str) -> Result<bool, callbook_store::Error> {
        let Some(dest) = self.destinations.iter().find(|d| &*d.name == name) else {
            return Ok(false);
        };
        self.store
            .set_destination_disabled(name, None, Utc::now())
            .await?;
        dest.disabled.store(false, Ordering::Relaxed);
        dest.breaker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .success();
        if let Some(m) = self.metrics.get(name) {
            m.disabled.set(0);
        }
        self.wake.notify_one();
        Ok(true)
    }

    pub(crate) fn breaker_state(&self, dest: &Destination) -> BreakerState {
        dest.breaker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state(Instant::now())
    }

    /// Refreshes queue and breaker gauges; purges by retention. Runs until `stop`.
    pub(crate) async fn housekeeping(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stats = tokio::time::interval(Duration::from_secs(2));
        let mut purge = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = stats.tick() => self.refresh_gauges().await,
                _ = purge.tick() => self.purge().await,
                _ = stop.changed() => break,
            }
        }
    }

    async fn refresh_gauges(&self) {
        let now = Utc::now();
        let Ok(stats) = self.store.queue_stats(now).await else {
            return;
        };
        for dest in &self.destinations {
            let Some(m) = self.metrics.get(&*dest.name) else {
                continue;
            };
            let s = stats.iter().find(|s| *s.destination == *dest.name);
            m.queue_depth.set(s.map_or(0, |s| s.pending as i64));
            m.oldest_due_age.set(
                s.and_then(|s| s.oldest_due)
                    .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
            );
            m.breaker.set(match self.breaker_state(dest) {
                BreakerState::Closed => 0,
                BreakerState::Open => 1,
                BreakerState::HalfOpen => 2,
            });
        }
    }

    async fn purge(&self) {
        let cutoff = Utc::now() - chrono::Duration::days(i64::from(self.config.retention_days));
        match self.store.purge(cutoff).await {
            Ok(r) if r.events > 0 => tracing::info!(
                events = r.events,
                deliveries = r.deliveries,
                attempts = r.attempts,
                "retention purge"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
    }
}

fn uuid_like() -> String {
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}
