//! Shared state of the running server.

use crate::Error;
use crate::config::{Config, expose};
use crate::delivery::{Breaker, Destination, Filter, Target};
use crate::metrics::{Metrics, SourceMetrics};
use callbook_signature::standard;
use callbook_signature::{aircall, calendly};
use callbook_store::{Provider, Store};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How a source verifies deliveries.
pub(crate) enum Verifier {
    Calendly(calendly::Verifier),
    Aircall(aircall::Verifier),
}

/// A configured source, ready to verify.
pub(crate) struct Source {
    pub(crate) name: Arc<str>,
    pub(crate) provider: Provider,
    pub(crate) verifier: Verifier,
    pub(crate) metrics: SourceMetrics,
    /// Rejections are logged at most once a second (anyone can send them).
    pub(crate) rejections_logged: crate::throttle::LogThrottle,
}

pub(crate) struct Inner {
    pub(crate) engine: Arc<crate::delivery::Engine>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) sources: HashMap<String, Source>,
    pub(crate) admin_token: Option<SecretString>,
    pub(crate) max_body_bytes: usize,
    pub(crate) metrics: Metrics,
    /// Webhook requests being handled, and the most allowed at once (load shedding).
    pub(crate) webhooks_in_flight: AtomicUsize,
    /// Bodies stored a moment ago, to answer their redeliveries at once.
    pub(crate) redeliveries: crate::redeliveries::Redeliveries,
    pub(crate) max_webhooks_in_flight: usize,
}

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub(crate) fn new(config: &Config, store: Arc<dyn Store>) -> Result<Self, Error> {
        config.validate()?;
        let metrics = Metrics::new();
        let mut sources = HashMap::new();
        for s in &config.sources {
            let secret_err = |error| Error::Secret {
                source_name: s.name.clone(),
                error,
            };
            let verifier = match s.provider {
                Provider::Calendly => {
                    let keys = resolve_all(&s.signing_keys)?;
                    let mut v = calendly::Verifier::new(&keys).map_err(secret_err)?;
                    if let Some(t) = s.tolerance_secs {
                        v = v.tolerance(std::time::Duration::from_secs(t));
                    }
                    Verifier::Calendly(v)
                }
                Provider::Aircall => {
                    let tokens = resolve_all(&s.tokens)?;
                    Verifier::Aircall(aircall::Verifier::new(&tokens).map_err(secret_err)?)
                }
                _ => {
                    return Err(Error::Config(format!(
                        "source {:?}: unsupported provider",
                        s.name
                    )));
                }
            };
            let source = Source {
                name: Arc::from(s.name.as_str()),
                provider: s.provider,
                verifier,
                metrics: metrics.source(&s.name, s.provider.as_str()),
                rejections_logged: crate::throttle::LogThrottle::new(),
            };
            sources.insert(s.name.clone(), source);
        }
        let mut destinations = Vec::new();
        let mut delivery_metrics = HashMap::new();
        for d in &config.destinations {
            let secrets = d
                .secret
                .as_slice()
                .iter()
                .map(|s| s.resolve())
                .collect::<Result<Vec<_>, _>>()?;
            let signer =
                standard::Webhook::from_whsec(secrets.iter().map(expose)).map_err(|error| {
                    Error::Config(format!("destination {:?}: secret: {error}", d.name))
                })?;
            let endpoint = crate::delivery::endpoint(&d.url)
                .map_err(|e| Error::Config(format!("destination {:?}: url: {e}", d.name)))?;
            destinations.push(Arc::new(Destination {
                name: Arc::from(d.name.as_str()),
                target: Target::Http {
                    proxied: crate::delivery::proxied(&endpoint.uri),
                    uri: endpoint.uri,
                    authorization: endpoint.authorization,
                    signer,
                    timeout: Duration::from_secs_f64(d.timeout_secs),
                },
                filter: Filter::new(d.events.clone(), d.sources.clone()),
                permits: Arc::new(Semaphore::new(d.max_in_flight)),
                max_in_flight: d.max_in_flight,
                breaker: Mutex::new(Breaker::new(
                    config.delivery.breaker_failures,
                    Duration::from_secs_f64(config.delivery.breaker_cooldown_secs.max(0.0)),
                )),
                disabled: AtomicBool::new(false),
                url: Some(endpoint.shown),
                backlog: Default::default(),
            }));
            delivery_metrics.insert(d.name.clone(), metrics.destination(&d.name));
        }
        let engine = Arc::new(crate::delivery::Engine::new(
            config,
            store.clone(),
            destinations,
            delivery_metrics,
        )?);
        let admin_token = config
            .admin
            .token
            .as_ref()
            .map(|t| t.resolve())
            .transpose()?;
        // The token is all that guards replay and every stored body: short ones can be guessed.
        if let Some(t) = &admin_token {
            let chars = expose(t).chars().count();
            if chars < MIN_ADMIN_TOKEN_CHARS {
                return Err(Error::Config(format!(
                    "admin.token has {chars} characters; at least {MIN_ADMIN_TOKEN_CHARS} are \
                     needed (`callbook init` makes one, or use `openssl rand -hex 32`)"
                )));
            }
        }
        Ok(Self(Arc::new(Inner {
            engine,
            store,
            sources,
            admin_token,
            max_body_bytes: config.server.max_body_bytes,
            metrics,
            webhooks_in_flight: AtomicUsize::new(0),
            redeliveries: crate::redeliveries::Redeliveries::default(),
            max_webhooks_in_flight: config.server.max_webhooks_in_flight.max(1),
        })))
    }
}

/// The shortest admin token accepted.
pub(crate) const MIN_ADMIN_TOKEN_CHARS: usize = 32;

fn resolve_all(values: &[crate::config::SecretValue]) -> Result<Vec<SecretString>, Error> {
    values.iter().map(|v| v.resolve()).collect()
}
