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
//! [`Server::serve`] runs the gateway on a listener with graceful shutdown; [`Server::start`]
//! gives a running [`Gateway`] whose routers mount into another axum application.
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
#![warn(missing_docs)]

mod activity;
mod admin;
pub mod classify;
pub mod config;
mod console;
mod delivery;
mod error;
mod health;
mod ingest;
mod listener;
mod metrics;
mod redeliveries;
mod state;
mod subjects;
mod throttle;

/// The attribute [`EventHandler`] implementations use (re-exported, so that no dependency on
/// `async-trait` is needed).
pub use async_trait::async_trait;
pub use config::Config;
pub use console::{PeopleDirectory, PersonPage, TimelineEntry, TimelineKind};
pub use delivery::{DeliveredEvent, EventHandler, Handler, HandlerError, TypedWebhook};
pub use error::Error;
/// The Prometheus client whose registry [`Server::register_metrics`] hands out.
pub use prometheus_client;

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
    /// The console's People page, from [`Server::people`].
    people: Option<Arc<dyn PeopleDirectory>>,
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
            people: None,
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

    /// Adds an in-process destination set up by `spec` (events, sources, concurrency,
    /// timeout): events are delivered to `handler` with the same outbox, retries, dead letters
    /// and replay as HTTP destinations. See [`EventHandler`] for an example.
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

    /// Gives the console's People page a directory to look people up in (callbook-recipes
    /// gives its own when recipes or `[directory]` are configured).
    pub fn people(mut self, directory: Arc<dyn PeopleDirectory>) -> Self {
        self.people = Some(directory);
        self
    }

    /// Registers metrics of your own in callbook's Prometheus registry, so `/metrics` serves
    /// them beside callbook's (whose names start with `callbook_`; use
    /// `sub_registry_with_prefix` for yours).
    ///
    /// ```
    /// use callbook_server::prometheus_client::metrics::counter::Counter;
    /// # async fn demo(server: callbook_server::Server) -> Result<(), callbook_server::Error> {
    /// let audited = Counter::<u64>::default();
    /// let server = server.register_metrics(|registry| {
    ///     registry
    ///         .sub_registry_with_prefix("myapp")
    ///         .register("audited", "Events written to the audit log", audited.clone());
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn register_metrics(
        mut self,
        register: impl FnOnce(&mut prometheus_client::registry::Registry),
    ) -> Result<Self, Error> {
        let inner = Arc::get_mut(&mut self.state.0).ok_or_else(|| {
            Error::Config("metrics must be registered before the server starts".into())
        })?;
        register(inner.metrics.registry_mut());
        Ok(self)
    }

    /// Starts the delivery engine and gives the running gateway, whose routers you mount into
    /// your own axum application and whose [`Gateway::shutdown`] stops delivery and closes the
    /// store. ([`Server::serve`] does all of this on a listener of its own.)
    ///
    /// ```no_run
    /// # async fn demo(config: callbook_server::Config) -> Result<(), Box<dyn std::error::Error>> {
    /// let gateway = callbook_server::Server::from_config(config).await?.start().await?;
    /// let app = axum::Router::new()
    ///     .nest("/callbook", gateway.webhook_router())
    ///     .nest("/ops/callbook", gateway.admin_router().merge(gateway.health_router()));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app).await?;
    /// gateway.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<Gateway, Error> {
        let delivery = self.start_delivery().await?;
        Ok(Gateway {
            server: self,
            delivery,
        })
    }

    async fn start_delivery(&self) -> Result<DeliveryHandle, Error> {
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

    fn timeout<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            self.request_timeout,
        ))
    }

    fn webhook_router(&self) -> Router {
        self.timeout(
            Router::new()
                .route("/webhooks/calendly/{source}", post(ingest::calendly))
                .route("/webhooks/aircall/{source}", post(ingest::aircall))
                .with_state(self.state.clone()),
        )
    }

    fn admin_router(&self) -> Router {
        self.timeout(
            admin::router(self.state.clone())
                .with_state(self.state.clone())
                .merge(self.extra_admin.clone())
                .merge(console::router(self.state.clone(), self.people.clone())),
        )
    }

    /// Every route: webhooks, `/healthz`, the admin API, and `/metrics` with `/readyz` unless
    /// `server.metrics_listen` moves them to a listener of their own.
    fn router(&self) -> Router {
        let mut health = Router::new().route("/healthz", get(health::healthz));
        if self.metrics_listen.is_none() {
            health = health
                .route("/readyz", get(health::readyz))
                .route("/metrics", get(health::metrics));
        }
        self.webhook_router()
            .merge(self.admin_router())
            .merge(self.timeout(health.with_state(self.state.clone())))
    }

    /// `/metrics`, `/readyz` and `/healthz` alone.
    fn health_router(&self) -> Router {
        self.timeout(
            Router::new()
                .route("/healthz", get(health::healthz))
                .route("/readyz", get(health::readyz))
                .route("/metrics", get(health::metrics))
                .with_state(self.state.clone()),
        )
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
            let router = self.health_router();
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

/// A running gateway (from [`Server::start`]): its routers, to mount into your own axum
/// application, and its shutdown.
#[derive(Debug)]
pub struct Gateway {
    server: Server,
    delivery: DeliveryHandle,
}

impl Gateway {
    /// Every route, as `callbook serve` answers them: the webhooks, `/healthz`, the admin API
    /// (with routes added by [`Server::admin_routes`]), and `/readyz` with `/metrics` unless
    /// `server.metrics_listen` is set.
    pub fn router(&self) -> Router {
        self.server.router()
    }

    /// `POST /webhooks/calendly/{source}` and `POST /webhooks/aircall/{source}` only: what the
    /// providers must reach.
    pub fn webhook_router(&self) -> Router {
        self.server.webhook_router()
    }

    /// The admin API under `/admin` and the console under `/ui` (both behind `admin.token`;
    /// without one, every route here answers 404), with the routes added by
    /// [`Server::admin_routes`].
    pub fn admin_router(&self) -> Router {
        self.server.admin_router()
    }

    /// `/healthz`, `/readyz` and `/metrics`.
    pub fn health_router(&self) -> Router {
        self.server.health_router()
    }

    /// The Prometheus text exposition of every metric, yours from [`Server::register_metrics`]
    /// included: what `GET /metrics` answers.
    pub fn metrics(&self) -> String {
        self.server.state.metrics.render()
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.server.store()
    }

    /// Stops claiming deliveries, lets attempts in flight finish, then closes the store. Stop
    /// serving the routers first: the store takes no event after this.
    pub async fn shutdown(self) {
        self.delivery.shutdown().await;
        self.server.state.store.close().await;
    }
}

/// The running delivery engine.
#[derive(Debug)]
struct DeliveryHandle {
    stop: tokio::sync::watch::Sender<bool>,
    run: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
}

impl DeliveryHandle {
    /// Stops claiming, lets attempts in flight finish, and returns.
    async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.run.await;
        let _ = self.housekeeping.await;
    }
}
