//! The callbook webhook gateway as a library.
//!
//! ```text
//! POST /webhooks/calendly/{source}   verify Calendly-Webhook-Signature, store, 200 {"id","duplicate"}
//! POST /webhooks/aircall/{source}    verify the body token, store, 200 {"id","duplicate"}
//! GET  /healthz  /readyz  /metrics
//! GET  /admin/events  /admin/events/{id}  /admin/openapi.json   (bearer token)
//! ```
//!
//! Every 2xx means the event is durably stored. A wrong signature is a 401 and nothing is
//! stored; an oversized body a 413; a verified body that does not parse is stored raw, marked
//! unparsed, and acknowledged.
//!
//! [`Server::router`] gives an axum `Router` that can be mounted into another
//! application; [`Server::serve`] runs it on a listener with graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), callbook_server::Error> {
//! use callbook_server::{Config, Server};
//!
//! let config = Config::from_toml(r#"
//!     [[sources]]
//!     name = "calendly"
//!     provider = "calendly"
//!     signing_keys = [{ env = "CALENDLY_SIGNING_KEY" }]
//! "#)?;
//! let server = Server::from_config(config.clone()).await?;
//! let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
//! // Serves until the future completes (the binary passes Ctrl-C / SIGTERM).
//! server.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod admin;
pub mod classify;
pub mod config;
mod delivery;
mod error;
mod health;
mod ingest;
mod listener;
mod metrics;
mod state;
mod throttle;

/// The attribute [`EventHandler`] implementations use (re-exported, so that no dependency on
/// `async-trait` is needed).
pub use async_trait::async_trait;
pub use config::Config;
pub use delivery::{DeliveredEvent, EventHandler, Handler, HandlerError, TypedWebhook};
pub use error::Error;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use callbook_store::Store;
use state::AppState;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

/// A configured server: sources with their verifiers, the store, metrics.
pub struct Server {
    state: AppState,
    request_timeout: Duration,
    limits: listener::Limits,
    metrics_listen: Option<std::net::SocketAddr>,
    /// Routes added by [`Server::admin_routes`].
    extra_admin: Router,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("sources", &self.state.sources.keys().collect::<Vec<_>>())
            .field("admin", &self.state.admin_token.is_some())
            .finish()
    }
}

impl Server {
    /// Opens the configured store and builds the server.
    pub async fn from_config(config: Config) -> Result<Self, Error> {
        config.validate()?;
        let store =
            callbook_store::open_with(&config.database.url, &config.database.open_options())
                .await?;
        Self::with_store(&config, store)
    }

    /// Builds the server on a store the caller opened (or implemented).
    pub fn with_store(config: &Config, store: Arc<dyn Store>) -> Result<Self, Error> {
        let server = &config.server;
        let request_timeout = Duration::from_secs(server.request_timeout_secs.max(1));
        Ok(Self {
            state: AppState::new(config, store)?,
            request_timeout,
            limits: listener::Limits {
                header_read_timeout: Duration::from_secs(server.header_read_timeout_secs.max(1)),
                idle_timeout: Duration::from_secs(server.idle_timeout_secs),
                max_connections: server.max_connections.max(1),
                drain_timeout: request_timeout + Duration::from_secs(5),
            },
            metrics_listen: server.metrics_listen,
            extra_admin: Router::new(),
        })
    }

    /// Names of the configured sources.
    pub fn source_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.state.sources.keys().cloned().collect();
        names.sort();
        names
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Adds an in-process destination: events whose type matches one of `events` (globs, such
    /// as `invitee.*`) are delivered to `handler` with the same outbox, retries, dead letters
    /// and replay as HTTP destinations, 30 s allowed per attempt. Call before
    /// [`Server::router`] or [`Server::serve`]. [`Server::add_handler`] sets every option.
    pub fn with_handler(
        self,
        name: &str,
        events: Vec<String>,
        max_in_flight: usize,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, Error> {
        self.add_handler(
            Handler::new(name)
                .events(events)
                .max_in_flight(max_in_flight),
            handler,
        )
    }

    /// Adds an in-process destination set up by `spec` (events, sources, concurrency,
    /// timeout): see [`EventHandler`] for an example. Call before [`Server::router`] or
    /// [`Server::serve`].
    pub fn add_handler(
        mut self,
        spec: Handler,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, Error> {
        let inner = Arc::get_mut(&mut self.state.0).ok_or_else(|| {
            Error::Config("handlers must be added before the server starts".into())
        })?;
        let engine = Arc::get_mut(&mut inner.engine).ok_or_else(|| {
            Error::Config("handlers must be added before the server starts".into())
        })?;
        engine.add_handler(spec, handler, &inner.metrics)?;
        Ok(self)
    }

    /// Adds routes to the admin API, behind its bearer token (absent, like the rest of it,
    /// when no `admin.token` is set). callbook-recipes adds its directory and recipe routes
    /// this way.
    pub fn admin_routes(mut self, routes: Router) -> Self {
        let guarded = routes.route_layer(axum::middleware::from_fn_with_state(
            self.state.clone(),
            admin::require_token,
        ));
        self.extra_admin = std::mem::take(&mut self.extra_admin).merge(guarded);
        self
    }

    /// Starts the delivery engine (done by [`Server::serve`]; call it yourself when you mount
    /// [`Server::router`] into your own application).
    pub async fn start_delivery(&self) -> Result<DeliveryHandle, Error> {
        let engine = self.state.engine.clone();
        engine.load_state().await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let run = tokio::spawn(engine.clone().run(stopped.clone()));
        let housekeeping = tokio::spawn(engine.housekeeping(stopped));
        Ok(DeliveryHandle {
            stop,
            run,
            housekeeping,
        })
    }

    /// The routes, ready to serve or to mount into another axum application: webhooks,
    /// `/healthz`, the admin API, and `/metrics` with `/readyz` unless `server.metrics_listen`
    /// moves them to [`Server::metrics_router`].
    pub fn router(&self) -> Router {
        let webhooks = Router::new()
            .route("/webhooks/calendly/{source}", post(ingest::calendly))
            .route("/webhooks/aircall/{source}", post(ingest::aircall));
        let mut router = Router::new()
            .merge(webhooks)
            .route("/healthz", get(health::healthz))
            .merge(admin::router(self.state.clone()));
        if self.metrics_listen.is_none() {
            router = router
                .route("/readyz", get(health::readyz))
                .route("/metrics", get(health::metrics));
        }
        router
            .with_state(self.state.clone())
            .merge(self.extra_admin.clone())
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.request_timeout,
            ))
    }

    /// `/metrics`, `/readyz` and `/healthz` alone, for a listener of their own.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/metrics", get(health::metrics))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.request_timeout,
            ))
            .with_state(self.state.clone())
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes in-flight requests and
    /// closes the store.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let store = self.state.store.clone();
        // Bound before anything starts, so a taken address fails the start, not later.
        let metrics_listener = match self.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let delivery = self.start_delivery().await?;
        let app = self.router();
        let stats = self.state.metrics.connections.clone();
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_task = metrics_listener.map(|l| {
            let router = self.metrics_router();
            let limits = self.limits;
            tokio::spawn(async move {
                let stats = Arc::new(listener::ConnectionStats::default());
                let stopped = async {
                    let _ = metrics_stopped.await;
                };
                listener::serve(l, router, limits, stats, stopped).await
            })
        });
        let result = listener::serve(listener, app, self.limits, stats, shutdown).await;
        delivery.shutdown().await;
        let _ = stop_metrics.send(());
        if let Some(task) = metrics_task {
            let _ = task.await;
        }
        store.close().await;
        result.map_err(Error::Io)
    }
}

/// The running delivery engine.
#[derive(Debug)]
pub struct DeliveryHandle {
    stop: tokio::sync::watch::Sender<bool>,
    run: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
}

impl DeliveryHandle {
    /// Stops claiming, lets attempts in flight finish, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.run.await;
        let _ = self.housekeeping.await;
    }
}
