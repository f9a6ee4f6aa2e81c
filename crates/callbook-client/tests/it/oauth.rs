use async_trait::async_trait;
use callbook_client::Error;
use callbook_client::calendly::*;
use secrecy::ExposeSecret;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Records every pair it is asked to persist.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Option<String>)>>);

#[async_trait]
impl TokenStore for Recorder {
    async fn save(
        &self,
        tokens: &TokenSet,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().unwrap().push((
            tokens.access_token.expose_secret().to_owned(),
            tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
        ));
        Ok(())
    }
}

fn token_response(access: &str, refresh: &str) -> serde_json::Value {
    json!({
        "token_type": "Bearer", "expires_in": 7200,
        "created_at": SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
        "refresh_token": refresh, "access_token": access, "scope": "default",
        "owner": "https://api.calendly.com/users/EBHAAFHDCAEQTSEZ",
        "organization": "https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ"
    })
}

fn me_for(token: &str) -> Mock {
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"resource": {
                "uri": "https://api.calendly.com/users/EBHAAFHDCAEQTSEZ", "name": "Ada",
                "email": "ada@example.com", "created_at": "2024-01-02T03:04:05.000000Z",
                "updated_at": "2024-01-02T03:04:05.000000Z",
                "current_organization": "https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ"
            }})),
        )
}

fn session(
    server: &MockServer,
    tokens: TokenSet,
    store: Arc<Recorder>,
) -> (CalendlyClient, Arc<OAuthSession>) {
    let oauth = OAuthClient::new("client-1", "http://localhost:8080/callback")
        .client_secret("client-secret")
        .auth_base(server.uri());
    let session = Arc::new(OAuthSession::new(oauth, tokens, store));
    let client = CalendlyClient::builder()
        .oauth(session.clone())
        .base_url(server.uri())
        .retry(crate::quick_retries())
        .build()
        .unwrap();
    (client, session)
}

#[tokio::test]
async fn concurrent_requests_with_an_expired_token_refresh_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        // Web clients authenticate with HTTP Basic client_id:client_secret.
        .and(header(
            "authorization",
            "Basic Y2xpZW50LTE6Y2xpZW50LXNlY3JldA==",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response("access-2", "refresh-2"))
                // Slow enough that every task is waiting while the refresh is in flight.
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    me_for("access-2").expect(20).mount(&server).await;

    let store = Arc::new(Recorder::default());
    let expired = TokenSet::new(
        "access-1",
        Some("refresh-1".into()),
        Some(SystemTime::now() - Duration::from_secs(1)),
    );
    let (client, session) = session(&server, expired, store.clone());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.me().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        *store.0.lock().unwrap(),
        [("access-2".to_owned(), Some("refresh-2".to_owned()))]
    );
    assert_eq!(
        session.tokens().await.access_token.expose_secret(),
        "access-2"
    );
}

#[tokio::test]
async fn a_401_triggers_one_refresh_and_one_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthenticated", "message": "The access token was revoked"
        })))
        // Tasks that start after the refresh never use the old token.
        .expect(1..=10)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_response("access-2", "refresh-2")),
        )
        .expect(1)
        .mount(&server)
        .await;
    me_for("access-2").expect(10).mount(&server).await;
    let store = Arc::new(Recorder::default());
    // Not expired by the clock: only Calendly's 401 says it is dead.
    let live = TokenSet::new(
        "access-1",
        Some("refresh-1".into()),
        Some(SystemTime::now() + Duration::from_secs(3600)),
    );
    let (client, _) = session(&server, live, store.clone());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.me().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_spent_refresh_token_asks_for_reauthorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, revoked"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let expired = TokenSet::new(
        "access-1",
        Some("refresh-spent".into()),
        Some(SystemTime::now() - Duration::from_secs(1)),
    );
    let (client, _) = session(&server, expired, Arc::new(Recorder::default()));
    let err = client.me().await.unwrap_err();
    assert!(
        matches!(err, Error::ReauthorizationRequired { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("refresh-spent"));
}

#[tokio::test]
async fn exchanging_a_code_sends_the_pkce_verifier() {
    let server = MockServer::start().await;
    let oauth =
        OAuthClient::new("native-app", "http://localhost:8080/callback").auth_base(server.uri());
    let request = oauth.authorize_url();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(
            format!("code_verifier={}", request.verifier.secret()).as_str(),
        ))
        .and(body_string_contains(
            "redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcallback",
        ))
        // A public client names itself in the body.
        .and(body_string_contains("client_id=native-app"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_response("access-1", "refresh-1")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let tokens = oauth
        .exchange_code("the-code", &request.verifier)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "access-1");
    assert!(tokens.expires_at.unwrap() > SystemTime::now() + Duration::from_secs(7000));
    assert_eq!(tokens.owner.unwrap().uuid(), "EBHAAFHDCAEQTSEZ",);
    let received = &server.received_requests().await.unwrap()[0];
    assert!(!received.headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_token_response_that_does_not_decode_shows_no_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        // `expires_in` of the wrong type: decoding fails after the tokens were read.
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "access-SECRET",
            "refresh_token": "refresh-SECRET", "expires_in": "soon"
        })))
        .mount(&server)
        .await;
    let oauth = OAuthClient::new("app", "http://localhost/cb").auth_base(server.uri());
    let err = oauth
        .refresh(&secrecy::SecretString::from("refresh-0".to_owned()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Decode { ref path, .. } if path == "expires_in"),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}
