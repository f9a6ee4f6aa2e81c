//! The client value and how to build it.

use super::oauth::OAuthSession;
use crate::error::{Error, Result};
use crate::rate_limit::RateLimit;
use crate::transport::{Auth, Options, Provider, Transport};
use secrecy::SecretString;
use std::sync::Arc;

/// Calendly's API host.
pub const BASE_URL: &str = "https://api.calendly.com";

/// A Calendly API v2 client. Cheap to clone; clones share the connection pool, the OAuth
/// session and the rate-limit state.
#[derive(Clone)]
pub struct CalendlyClient {
    pub(crate) transport: Transport,
}

impl std::fmt::Debug for CalendlyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendlyClient")
            .field("base_url", &self.transport.base_url())
            .finish_non_exhaustive()
    }
}

impl CalendlyClient {
    /// A client authenticated with a personal access token, with default settings.
    pub fn new(personal_access_token: impl Into<SecretString>) -> Result<Self> {
        Self::builder()
            .personal_access_token(personal_access_token)
            .build()
    }

    /// A builder for other settings.
    pub fn builder() -> CalendlyBuilder {
        CalendlyBuilder {
            options: Options::new(BASE_URL),
            auth: None,
        }
    }

    /// The rate-limit headers of the last response that had them.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.transport.rate_limit()
    }

    /// The API path of a resource URI: Calendly identifies resources by full URI, on either
    /// `api.calendly.com` or `calendly.com`; requests go to this client's base URL.
    pub(crate) fn path_of(uri: &str) -> String {
        let rest = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .unwrap_or(uri);
        match rest.find('/') {
            Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("/").to_owned(),
            None => "/".to_owned(),
        }
    }
}

enum AuthChoice {
    Token(SecretString),
    OAuth(Arc<OAuthSession>),
}

/// Settings for a [`CalendlyClient`].
#[must_use]
pub struct CalendlyBuilder {
    options: Options,
    auth: Option<AuthChoice>,
}

impl std::fmt::Debug for CalendlyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendlyBuilder")
            .field("base_url", &self.options.base_url)
            .finish_non_exhaustive()
    }
}

impl CalendlyBuilder {
    /// Authenticates with a personal access token.
    pub fn personal_access_token(mut self, token: impl Into<SecretString>) -> Self {
        self.auth = Some(AuthChoice::Token(token.into()));
        self
    }

    /// Authenticates with an OAuth grant that refreshes itself.
    pub fn oauth(mut self, session: Arc<OAuthSession>) -> Self {
        self.auth = Some(AuthChoice::OAuth(session));
        self
    }

    /// Another API host (tests, proxies).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.options.base_url = url.into();
        self
    }

    crate::transport::common_settings!();

    /// Builds the client.
    pub fn build(self) -> Result<CalendlyClient> {
        let auth = match self.auth {
            Some(AuthChoice::Token(token)) => Auth::bearer(&token)?,
            Some(AuthChoice::OAuth(session)) => Auth::OAuth(session),
            None => {
                return Err(Error::Config(
                    "no credentials: set a personal access token or an OAuth session".into(),
                ));
            }
        };
        Ok(CalendlyClient {
            transport: Transport::new(self.options, Provider::Calendly, auth)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_map_to_paths_on_either_host() {
        assert_eq!(
            CalendlyClient::path_of("https://api.calendly.com/users/AAA"),
            "/users/AAA"
        );
        assert_eq!(
            CalendlyClient::path_of("https://calendly.com/organizations/O/invitations/I"),
            "/organizations/O/invitations/I"
        );
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let c = CalendlyClient::new("pat-SECRET").unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
    }

    #[test]
    fn building_without_credentials_is_an_error() {
        assert!(matches!(
            CalendlyClient::builder().build(),
            Err(Error::Config(_))
        ));
    }
}
