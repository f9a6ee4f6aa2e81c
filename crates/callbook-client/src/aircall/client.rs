//! The client value and how to build it.

use crate::error::{Error, Result};
use crate::rate_limit::RateLimit;
use crate::transport::{Auth, Options, Provider, Transport, sensitive};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// Aircall's API root (version included).
pub const BASE_URL: &str = "https://api.aircall.io/v1";

/// An Aircall API v1 client. Cheap to clone; clones share the connection pool and the
/// rate-limit state.
#[derive(Clone)]
pub struct AircallClient {
    pub(crate) transport: Transport,
}

impl std::fmt::Debug for AircallClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AircallClient")
            .field("base_url", &self.transport.base_url())
            .finish_non_exhaustive()
    }
}

impl AircallClient {
    /// A client with an API key pair (HTTP Basic `api_id:api_token`) and default settings.
    pub fn basic(api_id: impl Into<String>, api_token: impl Into<SecretString>) -> Result<Self> {
        Self::builder().basic(api_id, api_token).build()
    }

    /// A client with an OAuth access token (Aircall's do not expire).
    pub fn bearer(access_token: impl Into<SecretString>) -> Result<Self> {
        Self::builder().bearer(access_token).build()
    }

    /// A builder for other settings.
    pub fn builder() -> AircallBuilder {
        AircallBuilder {
            options: Options::new(BASE_URL),
            auth: None,
        }
    }

    /// The `X-AircallApi-*` headers of the last response that had them.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.transport.rate_limit()
    }
}

enum Credentials {
    Basic {
        api_id: String,
        api_token: SecretString,
    },
    Bearer(SecretString),
}

/// Settings for an [`AircallClient`].
#[must_use]
pub struct AircallBuilder {
    options: Options,
    auth: Option<Credentials>,
}

impl std::fmt::Debug for AircallBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AircallBuilder")
            .field("base_url", &self.options.base_url)
            .finish_non_exhaustive()
    }
}

impl AircallBuilder {
    /// API key pair: HTTP Basic `api_id:api_token`.
    pub fn basic(mut self, api_id: impl Into<String>, api_token: impl Into<SecretString>) -> Self {
        self.auth = Some(Credentials::Basic {
            api_id: api_id.into(),
            api_token: api_token.into(),
        });
        self
    }

    /// OAuth access token.
    pub fn bearer(mut self, token: impl Into<SecretString>) -> Self {
        self.auth = Some(Credentials::Bearer(token.into()));
        self
    }

    /// Another API root (tests, proxies), version included.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.options.base_url = url.into();
        self
    }

    crate::transport::common_settings!();

    /// Builds the client.
    pub fn build(self) -> Result<AircallClient> {
        let auth = match self.auth {
            Some(Credentials::Basic { api_id, api_token }) => {
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{api_id}:{}", api_token.expose_secret()));
                Auth::Fixed(sensitive(&format!("Basic {pair}"))?)
            }
            Some(Credentials::Bearer(token)) => Auth::bearer(&token)?,
            None => {
                return Err(Error::Config(
                    "no credentials: set an API key pair or a bearer token".into(),
                ));
            }
        };
        Ok(AircallClient {
            transport: Transport::new(self.options, Provider::Aircall, auth)?,
        })
    }
}
