//! Calendly OAuth 2.0: authorize URL with PKCE, code exchange, and refresh that happens once
//! however many requests find the token expired.
//!
//! Calendly's refresh tokens are single-use: a second refresh with the same token fails with
//! `invalid_grant`. [`OAuthSession`] serializes refreshes behind one lock and re-checks, under
//! the lock, whether another task already refreshed, so concurrent requests trigger exactly one
//! refresh. Each new pair is handed to the [`TokenStore`] before it is used.

use crate::error::{Error, Result, decode_secret, excerpt};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callbook_models::calendly::{OAuthToken, OrganizationUri, UserUri};
use rand::RngCore;
use reqwest::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Calendly's authorization server.
pub const AUTH_BASE_URL: &str = "https://auth.calendly.com";

/// Refresh this long before the access token expires, so a request never starts with a token
/// that dies in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// An access/refresh token pair with its expiry. `Debug` shows no secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenSet {
    /// The bearer token for API calls.
    pub access_token: SecretString,
    /// The single-use refresh token.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, if known.
    pub expires_at: Option<SystemTime>,
    /// Granted scopes (space separated).
    pub scope: Option<String>,
    /// The authorizing user.
    pub owner: Option<UserUri>,
    /// The user's organization.
    pub organization: Option<OrganizationUri>,
}

impl TokenSet {
    /// A pair loaded from the caller's storage.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<SystemTime>,
    ) -> Self {
        Self {
            access_token: SecretString::from(access_token.into()),
            refresh_token: refresh_token.map(SecretString::from),
            expires_at,
            scope: None,
            owner: None,
            organization: None,
        }
    }

    /// Builds the set from a token endpoint response.
    pub fn from_response(token: OAuthToken) -> Self {
        let issued = token
            .created_at
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or_else(SystemTime::now);
        let expires_at = token
            .expires_in
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| issued + Duration::from_secs(s));
        Self {
            access_token: SecretString::from(token.access_token),
            refresh_token: token.refresh_token.map(SecretString::from),
            expires_at,
            scope: token.scope,
            owner: token.owner,
            organization: token.organization,
        }
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now + margin)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("owner", &self.owner)
            .field("organization", &self.organization)
            .finish()
    }
}

/// Where refreshed token pairs are persisted. Called once per refresh, before the new access
/// token is used; the old refresh token is already spent by then, so persist durably.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Persists a new pair. An error is reported to the request that triggered the refresh.
    async fn save(
        &self,
        tokens: &TokenSet,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// A store that keeps nothing: for tokens that never refresh, or tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

#[async_trait]
impl TokenStore for NoStore {
    async fn save(
        &self,
        _tokens: &TokenSet,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
}

/// A PKCE code verifier. Keep it with the `state` until the redirect comes back.
#[derive(Clone)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A fresh verifier: 64 characters from 48 random bytes.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A verifier restored from the caller's session storage.
    pub fn from_secret(verifier: impl Into<String>) -> Self {
        Self(SecretString::from(verifier.into()))
    }

    /// The verifier, to store between the redirect and the exchange.
    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The S256 challenge: base64url(SHA-256(verifier)), unpadded.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose_secret().as_bytes()))
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// What to send the user to, and what to keep until they come back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The URL to redirect the user's browser to.
    pub url: String,
    /// The CSRF `state`: compare it with the one on the redirect.
    pub state: String,
    /// The PKCE verifier, needed by [`OAuthClient::exchange_code`].
    pub verifier: PkceVerifier,
}

/// An OAuth application registered with Calendly.
#[derive(Clone)]
pub struct OAuthClient {
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_uri: String,
    auth_base: String,
    http: reqwest::Client,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("auth_base", &self.auth_base)
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl OAuthClient {
    /// A public (native) client: PKCE, `client_id` in the body, no secret.
    pub fn new(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            auth_base: AUTH_BASE_URL.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// A confidential (web) client: authenticates to the token endpoint with HTTP Basic.
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Another authorization server (tests, proxies).
    pub fn auth_base(mut self, base: impl Into<String>) -> Self {
        self.auth_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// The URL to send the user to, with a fresh `state` and PKCE S256 challenge.
    pub fn authorize_url(&self) -> AuthorizationRequest {
        let verifier = PkceVerifier::generate();
        let mut state = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut state);
        let state = URL_SAFE_NO_PAD.encode(state);
        let mut url = reqwest::Url::parse(&format!("{}/oauth/authorize", self.auth_base))
            .unwrap_or_else(|_| {
                reqwest::Url::parse("https://auth.calendly.com/oauth/authorize")
                    .expect("constant URL parses")
            });
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_challenge_method", "S256")
            .append_pair("code_challenge", &verifier.challenge())
            .append_pair("state", &state);
        AuthorizationRequest {
            url: url.into(),
            state,
            verifier,
        }
    }

    /// Exchanges the `code` from the redirect for a token pair.
    pub async fn exchange_code(&self, code: &str, verifier: &PkceVerifier) -> Result<TokenSet> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", verifier.secret()),
        ])
        .await
    }

    /// Trades a refresh token for a new pair. The old refresh token is spent even if the caller
    /// loses the answer; a second use fails with [`Error::ReauthorizationRequired`].
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    /// Revokes an access or refresh token.
    pub async fn revoke(&self, token: &SecretString) -> Result<()> {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("token", token.expose_secret()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        self.post_form("/oauth/revoke", &form).await.map(drop)
    }

    async fn token_request(&self, params: &[(&str, &str)]) -> Result<TokenSet> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        if self.client_secret.is_none() {
            form.push(("client_id", &self.client_id));
        }
        let body = self.post_form("/oauth/token", &form).await?;
        decode_secret::<OAuthToken>(&body).map(TokenSet::from_response)
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<bytes::Bytes> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.auth_base))
            .form(form);
        if let Some(secret) = &self.client_secret {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.client_id,
                secret.expose_secret()
            ));
            req = req.header(
                AUTHORIZATION,
                crate::transport::sensitive(&format!("Basic {basic}"))?,
            );
        }
        let response = req.send().await.map_err(|e| Error::Transport(e.into()))?;
        let status = response.status();
        let retry_after = crate::rate_limit::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::Transport(e.into()))?;
        if status.is_success() {
            return Ok(body);
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(e) if e.error == "invalid_grant" => Err(Error::ReauthorizationRequired {
                description: e.error_description,
            }),
            Ok(e) => Err(Error::OAuth {
                error: e.error,
                description: e.error_description,
            }),
            Err(_) if status.as_u16() == 429 => Err(Error::RateLimited { retry_after }),
            Err(_) => Err(Error::OAuth {
                error: format!("http_{}", status.as_u16()),
                description: excerpt(&body),
            }),
        }
    }
}

/// A live OAuth grant: hands out access tokens and refreshes them, once, when they expire or
/// Calendly rejects them.
pub struct OAuthSession {
    client: OAuthClient,
    tokens: tokio::sync::Mutex<TokenSet>,
    store: Arc<dyn TokenStore>,
}

impl fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSession")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl OAuthSession {
    /// A session over a stored pair; refreshed pairs go to `store`.
    pub fn new(client: OAuthClient, tokens: TokenSet, store: Arc<dyn TokenStore>) -> Self {
        Self {
            client,
            tokens: tokio::sync::Mutex::new(tokens),
            store,
        }
    }

    /// The current pair (after any refresh).
    pub async fn tokens(&self) -> TokenSet {
        self.tokens.lock().await.clone()
    }

    /// An access token valid for at least a minute, refreshing first if needed.
    pub(crate) async fn access_token(&self) -> Result<SecretString> {
        let mut tokens = self.tokens.lock().await;
        if tokens.expires_within(EXPIRY_MARGIN, SystemTime::now()) {
            self.refresh_locked(&mut tokens).await?;
        }
        Ok(tokens.access_token.clone())
    }

    /// Calendly said 401 to `used`: refresh unless another task has already replaced it.
    pub(crate) async fn refresh_after_rejection(&self, used: &SecretString) -> Result<()> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access_token.expose_secret() != used.expose_secret() {
            return Ok(());
        }
        self.refresh_locked(&mut tokens).await
    }

    async fn refresh_locked(&self, tokens: &mut TokenSet) -> Result<()> {
        let Some(refresh) = tokens.refresh_token.clone() else {
            return Err(Error::ReauthorizationRequired {
                description: "the access token expired and there is no refresh token".into(),
            });
        };
        let fresh = self.client.refresh(&refresh).await?;
        tracing::info!("calendly access token refreshed");
        *tokens = fresh;
        self.store
            .save(tokens)
            .await
            .map_err(|e| Error::TokenStore(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        let v = PkceVerifier::from_secret("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifiers_are_within_rfc_bounds_and_distinct() {
        let a = PkceVerifier::generate();
        let b = PkceVerifier::generate();
        assert!((43..=128).contains(&a.secret().len()));
        assert_ne!(a.secret(), b.secret());
        assert!(
            a.secret()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = TokenSet::new("access-SECRET", Some("refresh-SECRET".into()), None);
        let c = OAuthClient::new("id", "http://localhost/cb").client_secret("client-SECRET");
        let shown = format!("{t:?} {c:?} {:?}", PkceVerifier::from_secret("pkce-SECRET"));
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn expiry_comes_from_created_at_plus_expires_in() {
        let token: OAuthToken = serde_json::from_value(serde_json::json!({
            "token_type": "Bearer", "expires_in": 7200, "created_at": 1548689183,
            "refresh_token": "r", "access_token": "a", "scope": "default",
            "owner": "https://api.calendly.com/users/EBHAAFHDCAEQTSEZ",
            "organization": "https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ"
        }))
        .unwrap();
        let set = TokenSet::from_response(token);
        assert_eq!(
            set.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1548689183 + 7200))
        );
        assert!(set.expires_within(Duration::ZERO, SystemTime::now()));
    }

    #[test]
    fn authorize_url_carries_pkce_and_state() {
        let c = OAuthClient::new("my-client", "http://localhost:8080/callback");
        let req = c.authorize_url();
        let url = reqwest::Url::parse(&req.url).unwrap();
        assert_eq!(url.host_str(), Some("auth.calendly.com"));
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "my-client");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://localhost:8080/callback");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], req.verifier.challenge());
        assert_eq!(q["state"], req.state);
    }
}
