//! In-process destinations: what a handler is given, what it answers, and how it is set up.

use async_trait::async_trait;
use callbook_models::{aircall, calendly};
use callbook_store::{EventId, Provider};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An event handed to an in-process [`EventHandler`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeliveredEvent {
    /// The event's ID (stable across retries: use it to de-duplicate).
    pub id: EventId,
    /// The source it arrived on.
    pub source: String,
    /// The provider.
    pub provider: Provider,
    /// The event type.
    pub event_type: Option<String>,
    /// The body as stored: as received, except that an Aircall body's `token` is emptied.
    pub body: bytes::Bytes,
    /// The body as its provider's typed model.
    pub webhook: Arc<TypedWebhook>,
    /// Attempts made before this one.
    pub attempt: u32,
}

/// A webhook body as its provider's model, parsed the way the receiver classified it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TypedWebhook {
    /// A Calendly delivery.
    Calendly(Box<calendly::Webhook>),
    /// An Aircall delivery.
    Aircall(Box<aircall::Webhook>),
    /// A verified body that does not parse as its provider's model (it was stored raw and
    /// acknowledged all the same); `error` says why.
    Unparsed {
        /// The parse error.
        error: String,
    },
}

impl TypedWebhook {
    /// Parses a stored body of `provider`.
    pub fn parse(provider: Provider, body: &[u8]) -> Self {
        let parsed = match provider {
            Provider::Calendly => serde_json::from_slice(body).map(|w| Self::Calendly(Box::new(w))),
            Provider::Aircall => serde_json::from_slice(body).map(|w| Self::Aircall(Box::new(w))),
            _ => {
                return Self::Unparsed {
                    error: format!("no model for provider {provider}"),
                };
            }
        };
        parsed.unwrap_or_else(|e| Self::Unparsed {
            error: e.to_string(),
        })
    }

    /// The Calendly webhook, if this is one.
    pub fn calendly(&self) -> Option<&calendly::Webhook> {
        match self {
            Self::Calendly(w) => Some(w),
            _ => None,
        }
    }

    /// The Aircall webhook, if this is one.
    pub fn aircall(&self) -> Option<&aircall::Webhook> {
        match self {
            Self::Aircall(w) => Some(w),
            _ => None,
        }
    }
}

/// Why a handler did not take an event: to be retried on the schedule (the default, and what
/// `?` on any error gives), or a permanent failure that no retry will change (the delivery is
/// dead at once, and the handler's circuit breaker is left alone).
///
/// It is not itself a `std::error::Error`, so that every error converts into it with `?`.
pub struct HandlerError {
    permanent: bool,
    later: Option<Duration>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl HandlerError {
    /// A failure worth retrying (a service down, a rate limit, a timeout).
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            later: None,
            message: message.into(),
            source: None,
        }
    }

    /// Not now: the event is put back, to be handed over again after `after` (at least one
    /// second), with no attempt recorded and the circuit breaker untouched. For a handler
    /// that must wait for something it knows about (a rate budget, quiet hours) longer than
    /// its attempt may take.
    pub fn later(after: Duration, message: impl Into<String>) -> Self {
        Self {
            later: Some(after.max(Duration::from_secs(1))),
            ..Self::retry(message)
        }
    }

    /// When the event should be handed over again, for [`HandlerError::later`].
    pub fn later_after(&self) -> Option<Duration> {
        self.later
    }

    /// A failure no retry will change (an event this handler cannot use, a request the
    /// other side refuses for what it holds): the delivery is dead at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::retry(message)
        }
    }

    /// The same failure, with the error that caused it.
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Whether the delivery should not be retried.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// What went wrong, with the chain of causes.
    pub fn message(&self) -> String {
        let mut text = self.message.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = cause {
            let shown = e.to_string();
            if !text.ends_with(&shown) {
                text.push_str(": ");
                text.push_str(&shown);
            }
            cause = e.source();
        }
        text
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    /// Any error, as a failure worth retrying.
    fn from(e: E) -> Self {
        Self {
            permanent: false,
            later: None,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("permanent", &self.permanent)
            .field("message", &self.message())
            .finish()
    }
}

/// An in-process destination: delivered to by the same machinery as HTTP destinations, with
/// the same outbox, retries, dead letters, replay and metrics.
///
/// ```no_run
/// use callbook_server::{DeliveredEvent, EventHandler, Handler, HandlerError, Server, async_trait};
/// use std::sync::Arc;
///
/// struct Welcome;
///
/// #[async_trait]
/// impl EventHandler for Welcome {
///     async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
///         let Some(webhook) = event.webhook.calendly() else {
///             return Err(HandlerError::permanent("not a Calendly event"));
///         };
///         println!("{} ({})", webhook.event(), event.id);
///         Ok(())
///     }
/// }
///
/// # async fn demo(server: Server) -> Result<(), callbook_server::Error> {
/// let server = server.add_handler(
///     Handler::new("welcome").events(["invitee.created"]).timeout(std::time::Duration::from_secs(5)),
///     Arc::new(Welcome),
/// )?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Takes one event. `Err` has it retried on the schedule, unless the error is
    /// [`HandlerError::permanent`].
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError>;
}

/// How an in-process destination is set up: its name (in the admin API, metrics and replay),
/// the events it takes, how many at once and for how long each.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handler {
    /// Unique among destinations.
    pub name: String,
    /// Event-type globs (`invitee.*`, `call.ended`, `*`). Default: all.
    pub events: Vec<String>,
    /// Only events from these sources. Default: all.
    pub sources: Vec<String>,
    /// Events handled at once. Default 8.
    pub max_in_flight: usize,
    /// Time allowed per attempt; beyond, the attempt fails and is retried. Default 30 s.
    pub timeout: Duration,
}

impl Handler {
    /// A handler named `name` taking every event, 8 at once, 30 s each.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            events: vec!["*".into()],
            sources: Vec::new(),
            max_in_flight: 8,
            timeout: Duration::from_secs(30),
        }
    }

    /// Only events whose type matches one of these globs.
    pub fn events<S: Into<String>>(mut self, globs: impl IntoIterator<Item = S>) -> Self {
        self.events = globs.into_iter().map(Into::into).collect();
        self
    }

    /// Only events from these sources.
    pub fn sources<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.sources = names.into_iter().map(Into::into).collect();
        self
    }

    /// Events handled at once (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Time allowed per attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_with_question_mark_and_keep_their_causes() {
        fn parse(text: &str) -> Result<u32, HandlerError> {
            Ok(text.parse::<u32>()?)
        }
        let e = parse("x").expect_err("not a number");
        assert!(!e.is_permanent());
        assert_eq!(e.message(), "invalid digit found in string");
        let io = std::io::Error::other("connection reset");
        let e = HandlerError::permanent("the CRM refused the contact").caused_by(io);
        assert!(e.is_permanent());
        assert_eq!(
            e.to_string(),
            "the CRM refused the contact: connection reset"
        );
    }

    #[test]
    fn bodies_are_typed_by_provider() {
        let seed = include_bytes!(
            "../../../callbook-models/tests/fixtures/calendly/seed_invitee_created.json"
        );
        let typed = TypedWebhook::parse(Provider::Calendly, seed);
        assert!(typed.calendly().is_some(), "{typed:?}");
        let call = include_bytes!(
            "../../../callbook-models/tests/fixtures/aircall/webhook_call_created.json"
        );
        assert!(
            TypedWebhook::parse(Provider::Aircall, call)
                .aircall()
                .is_some()
        );
        assert!(matches!(
            TypedWebhook::parse(Provider::Calendly, b"{}"),
            TypedWebhook::Unparsed { .. }
        ));
    }
}
