//! Configuration: what the binary reads from TOML, as typed structs.
//!
//! Unknown keys are errors: a typo must never silently disable verification. Secrets may be
//! given by value, from an environment variable or from a file:
//!
//! ```toml
//! signing_keys = ["literal-key", { env = "CALENDLY_SIGNING_KEY" }, { file = "/run/secrets/key" }]
//! ```

use callbook_store::Provider;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// HTTP listener and limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where events are stored.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// The admin API.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Webhook sources.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Retries, leases and retention of deliveries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Where events are forwarded.
    #[serde(default)]
    pub destinations: Vec<DestinationConfig>,
    /// Aircall's REST API, for recipes that write to Aircall.
    pub aircall_api: Option<AircallApiConfig>,
    /// Calendly's REST API, for backfills and single-use scheduling links.
    pub calendly_api: Option<CalendlyApiConfig>,
    /// How the directory reads phone numbers.
    #[serde(default)]
    pub directory: DirectoryConfig,
    /// In-process recipes (callbook-recipes), delivered to like destinations.
    #[serde(default)]
    pub recipes: Vec<RecipeConfig>,
}

/// `[aircall_api]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AircallApiConfig {
    /// API ID (Basic auth user).
    pub api_id: SecretValue,
    /// API token (Basic auth password).
    pub api_token: SecretValue,
    /// Base URL. Default `https://api.aircall.io/v1`.
    #[serde(default = "default_aircall_url")]
    pub url: String,
    /// Aircall's per-company budget, shared by every recipe. Default 60.
    #[serde(default = "default_aircall_rpm")]
    pub requests_per_minute: u32,
}

fn default_aircall_url() -> String {
    "https://api.aircall.io/v1".into()
}
fn default_aircall_rpm() -> u32 {
    60
}

/// `[calendly_api]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CalendlyApiConfig {
    /// A personal access token or OAuth access token.
    pub token: SecretValue,
    /// Base URL. Default `https://api.calendly.com`.
    #[serde(default = "default_calendly_url")]
    pub url: String,
}

fn default_calendly_url() -> String {
    "https://api.calendly.com".into()
}

/// `[directory]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DirectoryConfig {
    /// The country whose national numbers are read without a `+` (ISO 3166 alpha-2). Default
    /// `US`.
    #[serde(default = "default_region")]
    pub default_region: String,
    /// Keep the directory up to date even without recipes (a delivery per invitee and call
    /// event). Default: on when a recipe is configured.
    pub enabled: Option<bool>,
}

fn default_region() -> String {
    "US".into()
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            default_region: default_region(),
            enabled: None,
        }
    }
}

/// `[[recipes]]`: a recipe of callbook-recipes. The keys after the common ones belong to its
/// kind, which checks them (unknown ones are refused there).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct RecipeConfig {
    /// Unique among destinations and recipes; its deliveries, metrics and replay go by it.
    pub name: String,
    /// `aircall_contact_sync`, `aircall_insight_card` or `missed_call_followup`.
    pub kind: String,
    /// Only events from these sources. Default: all.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Events handled at once. Default: the kind's.
    pub max_in_flight: Option<usize>,
    /// Time allowed per attempt in seconds. Default: the kind's.
    pub timeout_secs: Option<f64>,
    /// The kind's own settings.
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// `[delivery]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeliveryConfig {
    /// Delay before each attempt, in seconds: the first entry is the delay before the first
    /// attempt (0: immediately), the next ones the waits after each failure. The length is the
    /// number of attempts. Default: 0, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h, 24 h.
    #[serde(default = "default_schedule")]
    pub retry_schedule_secs: Vec<f64>,
    /// Random spread applied to each retry delay, as a fraction. Default 0.2 (±20%).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
    /// Longest `Retry-After` honoured, in seconds. Default 3600.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_secs: u64,
    /// How long a claimed delivery stays leased to a worker beyond its timeout. Default 30.
    #[serde(default = "default_lease_margin")]
    pub lease_margin_secs: u64,
    /// Consecutive failures that open a destination's circuit breaker. Default 5.
    #[serde(default = "default_breaker_threshold")]
    pub breaker_failures: u32,
    /// How long an open breaker waits before a probe, in seconds. Default 30.
    #[serde(default = "default_breaker_cooldown")]
    pub breaker_cooldown_secs: f64,
    /// Events (with their deliveries and attempts) older than this are purged. Default 30.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// How often scheduled retries are looked for, in milliseconds. Default 250.
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
}

fn default_schedule() -> Vec<f64> {
    vec![
        0.0, 5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0, 86400.0,
    ]
}
fn default_jitter() -> f64 {
    0.2
}
fn default_max_retry_after() -> u64 {
    3600
}
fn default_lease_margin() -> u64 {
    30
}
fn default_breaker_threshold() -> u32 {
    5
}
fn default_breaker_cooldown() -> f64 {
    30.0
}
fn default_retention() -> u32 {
    30
}
fn default_poll() -> u64 {
    250
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry_schedule_secs: default_schedule(),
            jitter: default_jitter(),
            max_retry_after_secs: default_max_retry_after(),
            lease_margin_secs: default_lease_margin(),
            breaker_failures: default_breaker_threshold(),
            breaker_cooldown_secs: default_breaker_cooldown(),
            retention_days: default_retention(),
            poll_interval_ms: default_poll(),
        }
    }
}

/// `[[destinations]]`: an HTTP endpoint events are forwarded to, signed with Standard Webhooks.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DestinationConfig {
    /// Name, used in the admin API and metrics.
    pub name: String,
    /// Where to POST.
    pub url: String,
    /// Standard Webhooks secret(s), `whsec_...`: every delivery is signed with each (rotation).
    pub secret: OneOrMany<SecretValue>,
    /// Glob patterns on the event type (`invitee.*`, `call.ended`, `*`). Default: all.
    #[serde(default = "all_events")]
    pub events: Vec<String>,
    /// Only events from these sources. Default: all.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Time allowed per attempt, in seconds. Default 15.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Attempts in flight at once. Default 8.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
}

// URLs may carry credentials (`user:password@`, `?password=`): `Debug` shows them redacted.
impl fmt::Debug for DestinationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestinationConfig")
            .field("name", &self.name)
            .field("url", &callbook_store::redacted_url(&self.url))
            .field("secret", &self.secret)
            .field("events", &self.events)
            .field("sources", &self.sources)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &callbook_store::redacted_url(&self.url))
            .field("durability", &self.durability)
            .field("intake_log", &self.intake_log)
            .field("intake_max_pending_bytes", &self.intake_max_pending_bytes)
            .field("max_connections", &self.max_connections)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .finish()
    }
}

fn all_events() -> Vec<String> {
    vec!["*".into()]
}
fn default_timeout() -> f64 {
    15.0
}
fn default_in_flight() -> usize {
    8
}

/// A value or a list of values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One.
    One(T),
    /// Several.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// As a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(v) => v,
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest accepted webhook body. Default 256 KiB.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Time allowed for one request. Default 10 s (Calendly gives up after 15 s, Aircall 5 s
    /// of its own, so a slow disk must not hold a request longer than that).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Time allowed for a request's headers to arrive in full, counted from the connection's
    /// opening or from the previous response on a kept-alive connection. Default 10 s: a
    /// client that trickles its headers (or sends none) is disconnected after that.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// A kept-alive connection with no request in flight for this long is closed. Default 5 s;
    /// 0 turns keep-alive off.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Connections open at once on the listener; further ones are closed as soon as they are
    /// accepted. Keep it well below the process's file-descriptor limit (`ulimit -n`).
    /// Default 2048.
    #[serde(default = "default_max_connections_http")]
    pub max_connections: usize,
    /// Webhook requests handled at once; beyond this, `/webhooks/*` answers 503 with
    /// `Retry-After` before reading the body, and nothing is stored. Bounds the memory that
    /// bodies in flight can take (at most this times `max_body_bytes`). Default 512.
    #[serde(default = "default_max_webhooks_in_flight")]
    pub max_webhooks_in_flight: usize,
    /// Serve `/metrics` and `/readyz` on this address instead of the webhook listener (which
    /// then answers 404 for them). Default: unset, both on the webhook listener.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_max_body() -> usize {
    256 * 1024
}
fn default_request_timeout() -> u64 {
    10
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_idle_timeout() -> u64 {
    5
}
fn default_max_connections_http() -> usize {
    2048
}
fn default_max_webhooks_in_flight() -> usize {
    512
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            max_body_bytes: default_max_body(),
            request_timeout_secs: default_request_timeout(),
            header_read_timeout_secs: default_header_read_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            max_connections: default_max_connections_http(),
            max_webhooks_in_flight: default_max_webhooks_in_flight(),
            metrics_listen: None,
        }
    }
}

/// `[database]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://user:pass@host/db`. Default `sqlite://callbook.db`.
    #[serde(default = "default_db")]
    pub url: String,
    /// `process` (survives a crash of callbook; default) or `power_loss` (fsync every commit).
    /// SQLite only: PostgreSQL commits follow the server's `synchronous_commit`.
    #[serde(default)]
    pub durability: DurabilityConfig,
    /// SQLite, `process` durability: acknowledge small batches of writes once they are
    /// appended to the intake log (`<database file>-intake`), and apply them to the database
    /// together every 10 ms. Default true.
    #[serde(default = "default_true")]
    pub intake_log: bool,
    /// SQLite: most bytes of acknowledged writes that may wait in the intake log for the
    /// database; beyond, webhooks get 503 until it catches up. Default 32 MiB.
    #[serde(default = "default_intake_max_pending")]
    pub intake_max_pending_bytes: u64,
    /// PostgreSQL connection pool size. Default 16.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// PostgreSQL statement timeout in milliseconds. Default 10000.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// PostgreSQL: how long a request waits for a pooled connection (including reconnecting
    /// while the database is down) before it fails with 503. Default 3000.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
}

fn default_true() -> bool {
    true
}

fn default_intake_max_pending() -> u64 {
    32 << 20
}

fn default_max_connections() -> u32 {
    16
}

fn default_statement_timeout_ms() -> u64 {
    10_000
}

fn default_acquire_timeout_ms() -> u64 {
    3_000
}

impl DatabaseConfig {
    /// The store options these settings give.
    pub fn open_options(&self) -> callbook_store::OpenOptions {
        let mut options = callbook_store::OpenOptions::new(self.durability.into());
        options.intake_log = self.intake_log;
        options.intake_max_pending_bytes = self.intake_max_pending_bytes;
        options.max_connections = self.max_connections.max(1);
        options.statement_timeout = std::time::Duration::from_millis(self.statement_timeout_ms);
        options.acquire_timeout = std::time::Duration::from_millis(self.acquire_timeout_ms);
        options
    }
}

fn default_db() -> String {
    "sqlite://callbook.db".into()
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_db(),
            durability: DurabilityConfig::default(),
            intake_log: true,
            intake_max_pending_bytes: default_intake_max_pending(),
            max_connections: default_max_connections(),
            statement_timeout_ms: default_statement_timeout_ms(),
            acquire_timeout_ms: default_acquire_timeout_ms(),
        }
    }
}

/// `database.durability`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DurabilityConfig {
    /// A 2xx'd event survives `kill -9` of callbook.
    #[default]
    Process,
    /// A 2xx'd event also survives power loss.
    PowerLoss,
}

impl From<DurabilityConfig> for callbook_store::Durability {
    fn from(d: DurabilityConfig) -> Self {
        match d {
            DurabilityConfig::Process => Self::Process,
            DurabilityConfig::PowerLoss => Self::PowerLoss,
        }
    }
}

/// `[admin]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminConfig {
    /// Bearer token of the admin API; without one, the admin API is off.
    pub token: Option<SecretValue>,
}

/// `[[sources]]`: one webhook endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SourceConfig {
    /// Name, used in the URL: `/webhooks/{provider}/{name}`.
    pub name: String,
    /// `calendly` or `aircall`.
    pub provider: Provider,
    /// Calendly signing keys (several during rotation).
    #[serde(default)]
    pub signing_keys: Vec<SecretValue>,
    /// Calendly timestamp tolerance in seconds. Default 180.
    pub tolerance_secs: Option<u64>,
    /// Aircall webhook tokens (one per webhook or account).
    #[serde(default)]
    pub tokens: Vec<SecretValue>,
}

impl SourceConfig {
    /// A Calendly source.
    pub fn calendly(name: impl Into<String>, signing_keys: Vec<SecretValue>) -> Self {
        Self {
            name: name.into(),
            provider: Provider::Calendly,
            signing_keys,
            tolerance_secs: None,
            tokens: Vec::new(),
        }
    }

    /// An Aircall source.
    pub fn aircall(name: impl Into<String>, tokens: Vec<SecretValue>) -> Self {
        Self {
            name: name.into(),
            provider: Provider::Aircall,
            signing_keys: Vec::new(),
            tolerance_secs: None,
            tokens,
        }
    }
}

/// A secret given by value, by environment variable or by file.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretValue {
    /// The value itself.
    Value(SecretString),
    /// `{ env = "VAR" }`
    Env {
        /// The variable.
        env: String,
    },
    /// `{ file = "PATH" }` (one trailing newline is removed).
    File {
        /// The file.
        file: PathBuf,
    },
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(_) => f.write_str("SecretValue([redacted])"),
            Self::Env { env } => write!(f, "SecretValue(env {env})"),
            Self::File { file } => write!(f, "SecretValue(file {})", file.display()),
        }
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        Self::Value(SecretString::from(s))
    }
}

impl SecretValue {
    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn resolve(&self) -> Result<SecretString, crate::Error> {
        match self {
            Self::Value(v) => Ok(v.clone()),
            Self::Env { env } => std::env::var(env).map(SecretString::from).map_err(|_| {
                crate::Error::Config(format!("environment variable {env} is not set"))
            }),
            Self::File { file } => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    crate::Error::Config(format!("cannot read secret file {}: {e}", file.display()))
                })?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                Ok(SecretString::from(text))
            }
        }
    }
}

impl Config {
    /// Parses TOML. The error says where (line and column) and what.
    pub fn from_toml(text: &str) -> Result<Self, crate::Error> {
        toml::from_str(text).map_err(|e| crate::Error::Config(toml_error(text, &e)))
    }

    /// Checks what serde cannot: source names, required keys per provider, limits.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let err = |m: String| Err(crate::Error::Config(m));
        self.validate_ranges()?;
        let d = &self.delivery;
        if d.retry_schedule_secs.is_empty() {
            return err("delivery.retry_schedule_secs must list at least one delay >= 0".into());
        }
        if !(0.0..1.0).contains(&d.jitter) {
            return err("delivery.jitter must be in [0, 1)".into());
        }
        let mut destination_names = std::collections::HashSet::new();
        for (i, dest) in self.destinations.iter().enumerate() {
            let at = format!("destinations[{i}]");
            if dest.name.is_empty() || !destination_names.insert(dest.name.as_str()) {
                return err(format!("{at}.name {:?} is empty or used twice", dest.name));
            }
            if !(dest.url.starts_with("http://") || dest.url.starts_with("https://"))
                || dest.url.parse::<axum::http::Uri>().is_err()
            {
                return err(format!("{at}.url must be an http:// or https:// URL"));
            }
            if dest.secret.as_slice().is_empty() {
                return err(format!("{at}.secret: at least one whsec_ secret is needed"));
            }
            if dest.max_in_flight == 0 || !dest.timeout_secs.is_finite() || dest.timeout_secs <= 0.0
            {
                return err(format!(
                    "{at}: max_in_flight and timeout_secs must be positive"
                ));
            }
            for s in &dest.sources {
                if !self.sources.iter().any(|src| &src.name == s) {
                    return err(format!("{at}.sources names an unknown source {s:?}"));
                }
            }
        }
        for (i, recipe) in self.recipes.iter().enumerate() {
            let at = format!("recipes[{i}]");
            if recipe.name.is_empty() || !destination_names.insert(recipe.name.as_str()) {
                return err(format!(
                    "{at}.name {:?} is empty or used twice (recipes and destinations share names)",
                    recipe.name
                ));
            }
            if recipe.max_in_flight == Some(0)
                || recipe
                    .timeout_secs
                    .is_some_and(|t| !t.is_finite() || t <= 0.0)
            {
                return err(format!(
                    "{at}: max_in_flight and timeout_secs must be positive"
                ));
            }
            for s in &recipe.sources {
                if !self.sources.iter().any(|src| &src.name == s) {
                    return err(format!("{at}.sources names an unknown source {s:?}"));
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = format!("sources[{i}]");
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return err(format!(
                    "{at}.name {:?} must be non-empty and use only letters, digits, '-' and '_'",
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return err(format!("{at}.name {:?} is used twice", s.name));
            }
            match s.provider {
                Provider::Calendly => {
                    if s.signing_keys.is_empty() {
                        return err(format!(
                            "{at}.signing_keys: a Calendly source needs at least one signing key"
                        ));
                    }
                    if !s.tokens.is_empty() {
                        return err(format!("{at}.tokens is for Aircall sources"));
                    }
                }
                Provider::Aircall => {
                    if s.tokens.is_empty() {
                        return err(format!(
                            "{at}.tokens: an Aircall source needs at least one webhook token"
                        ));
                    }
                    if !s.signing_keys.is_empty() || s.tolerance_secs.is_some() {
                        return err(format!(
                            "{at}.signing_keys and tolerance_secs are for Calendly sources"
                        ));
                    }
                }
                _ => return err(format!("{at}.provider is not supported")),
            }
        }
        Ok(())
    }
}

/// A TOML error as "line L, column C: what", without the line itself: the line may hold a
/// secret (a token that parsed as a number, a key with a stray quote).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = without_values(e.message().trim_end());
    match e.span() {
        Some(span) => {
            // A span off a character boundary would panic on slicing; count up to it instead.
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("TOML error at line {line}, column {column}: {message}")
        }
        None => format!("TOML error: {message}"),
    }
}

/// serde's "invalid type: string \"...\", expected ..." quotes the value it got; keep the
/// kind of value, drop the value.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((got, expected)) = rest.split_once(", expected") {
                let kind = got.split([' ', '`', '"']).next().unwrap_or("value");
                return format!("{prefix}{kind}, expected{expected}");
            }
        }
    }
    message.to_owned()
}

/// The longest wait any setting may ask for: 30 days.
const MAX_SECS: u64 = 30 * 86_400;

/// An integer setting within `range`, or an error naming its key.
fn within(key: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> Result<(), crate::Error> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(crate::Error::Config(format!(
            "{key} = {value} is out of range: it must be between {} and {}",
            range.start(),
            range.end()
        )))
    }
}

/// A number of seconds: finite, and between `min` and `max` (times far beyond any real need
/// would overflow the clock arithmetic that uses them).
fn seconds(key: &str, value: f64, min: f64, max: f64) -> Result<(), crate::Error> {
    if value.is_finite() && value >= min && value <= max {
        Ok(())
    } else {
        Err(crate::Error::Config(format!(
            "{key} = {value} is out of range: it must be a number of seconds between {min} and \
             {max}"
        )))
    }
}

impl Config {
    /// Every numeric setting within the range it can work in, so none can panic later.
    fn validate_ranges(&self) -> Result<(), crate::Error> {
        let s = &self.server;
        within(
            "server.max_body_bytes",
            s.max_body_bytes as u64,
            1..=64 << 20,
        )?;
        within(
            "server.request_timeout_secs",
            s.request_timeout_secs,
            1..=3600,
        )?;
        within(
            "server.header_read_timeout_secs",
            s.header_read_timeout_secs,
            1..=3600,
        )?;
        within("server.idle_timeout_secs", s.idle_timeout_secs, 0..=3600)?;
        within(
            "server.max_connections",
            s.max_connections as u64,
            1..=1_000_000,
        )?;
        within(
            "server.max_webhooks_in_flight",
            s.max_webhooks_in_flight as u64,
            1..=1_000_000,
        )?;
        let db = &self.database;
        within(
            "database.max_connections",
            u64::from(db.max_connections),
            1..=10_000,
        )?;
        within(
            "database.statement_timeout_ms",
            db.statement_timeout_ms,
            1..=3_600_000,
        )?;
        within(
            "database.acquire_timeout_ms",
            db.acquire_timeout_ms,
            1..=3_600_000,
        )?;
        let d = &self.delivery;
        within(
            "delivery.retry_schedule_secs (entries)",
            d.retry_schedule_secs.len() as u64,
            1..=1000,
        )?;
        for (i, delay) in d.retry_schedule_secs.iter().enumerate() {
            seconds(
                &format!("delivery.retry_schedule_secs[{i}]"),
                *delay,
                0.0,
                MAX_SECS as f64,
            )?;
        }
        within(
            "delivery.max_retry_after_secs",
            d.max_retry_after_secs,
            0..=MAX_SECS,
        )?;
        within(
            "delivery.lease_margin_secs",
            d.lease_margin_secs,
            1..=86_400,
        )?;
        within(
            "delivery.breaker_failures",
            u64::from(d.breaker_failures),
            1..=1_000_000,
        )?;
        seconds(
            "delivery.breaker_cooldown_secs",
            d.breaker_cooldown_secs,
            0.0,
            86_400.0,
        )?;
        within(
            "delivery.retention_days",
            u64::from(d.retention_days),
            1..=36_500,
        )?;
        within("delivery.poll_interval_ms", d.poll_interval_ms, 1..=60_000)?;
        for (i, dest) in self.destinations.iter().enumerate() {
            seconds(
                &format!("destinations[{i}].timeout_secs"),
                dest.timeout_secs,
                0.001,
                3600.0,
            )?;
            within(
                &format!("destinations[{i}].max_in_flight"),
                dest.max_in_flight as u64,
                1..=100_000,
            )?;
        }
        for (i, src) in self.sources.iter().enumerate() {
            if let Some(t) = src.tolerance_secs {
                within(&format!("sources[{i}].tolerance_secs"), t, 1..=MAX_SECS)?;
            }
        }
        Ok(())
    }
}

/// Exposes a resolved secret's text (internal helper that keeps `expose_secret` in one place).
pub(crate) fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each out-of-range value is refused with its key's name, before anything could panic on
    /// it.
    #[test]
    fn errors_and_debug_output_never_show_secrets() {
        // A secret that is not a string is refused without quoting its line.
        let e = Config::from_toml("[admin]\ntoken = 12345678\n")
            .expect_err("a number is no token")
            .to_string();
        assert!(!e.contains("12345678"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = Config::from_toml("[[sources]]\nname = \"c\"\nsigning_keys = [\"s3cret-key]\n")
            .expect_err("unterminated")
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
        let config = Config::from_toml(
            "[database]\nurl = \"postgres://app:dbpass@db/cb?sslpassword=keypass\"\n\
             [[destinations]]\nname = \"crm\"\nurl = \"https://u:destpass@crm/in?token=urltok\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        )
        .expect("parses");
        let shown = format!("{config:?}");
        for secret in [
            "dbpass",
            "keypass",
            "destpass",
            "urltok",
            "MfKQ9r8GKYqrTwjUPD8IL",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn numbers_out_of_range_are_refused_by_name() {
        let dest = "[[destinations]]\nname = \"crm\"\nurl = \"http://127.0.0.1:9/\"\n\
                    secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n";
        let cases = [
            (
                "[delivery]\nbreaker_cooldown_secs = inf",
                "delivery.breaker_cooldown_secs",
            ),
            (
                "[delivery]\nbreaker_cooldown_secs = nan",
                "delivery.breaker_cooldown_secs",
            ),
            (
                "[delivery]\nretention_days = 4000000000",
                "delivery.retention_days",
            ),
            (
                "[delivery]\nretry_schedule_secs = [0, 1e300]",
                "delivery.retry_schedule_secs[1]",
            ),
            (
                "[delivery]\nmax_retry_after_secs = 9223372036854775807",
                "delivery.max_retry_after_secs",
            ),
            (
                "[delivery]\npoll_interval_ms = 0",
                "delivery.poll_interval_ms",
            ),
            (
                "[server]\nrequest_timeout_secs = 9223372036854775807",
                "server.request_timeout_secs",
            ),
            ("[server]\nmax_body_bytes = 0", "server.max_body_bytes"),
            (
                "[database]\nstatement_timeout_ms = 9223372036854775807",
                "database.statement_timeout_ms",
            ),
        ];
        for (toml, key) in cases {
            let config = Config::from_toml(toml).expect("parses");
            let e = config.validate().expect_err(toml).to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
        let huge = format!("{dest}timeout_secs = 1e20");
        let e = Config::from_toml(&huge)
            .expect("parses")
            .validate()
            .expect_err("huge timeout")
            .to_string();
        assert!(e.contains("destinations[0].timeout_secs"), "{e}");
        assert!(Config::from_toml(dest).expect("parses").validate().is_ok());
        assert!(
            Config::default().validate().is_ok(),
            "the defaults are in range"
        );
    }
}
