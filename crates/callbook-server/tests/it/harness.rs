//! Starts a server on port 0 with a temporary database.

use callbook_server::{Config, Server};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

pub(crate) const CALENDLY_KEY: &str = "test-signing-key-5mEzn9C-I28UtwOjZJtFoob0sAAFZ95G";
pub(crate) const AIRCALL_TOKEN: &str = "cebcaac65XXXXXXXXXx";
pub(crate) const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789abcdef";

pub(crate) const SEED: &[u8] =
    include_bytes!("../../../callbook-models/tests/fixtures/calendly/seed_invitee_created.json");
pub(crate) const AIRCALL_CALL: &[u8] =
    include_bytes!("../../../callbook-models/tests/fixtures/aircall/webhook_call_created.json");

pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    dir: tempfile::TempDir,
    /// What it was started with, to start it again (see [`TestServer::restart`]).
    config: (String, String),
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

pub(crate) fn config(dir: &tempfile::TempDir, extra: &str) -> Config {
    config_with(dir, "", extra)
}

/// `server` holds more keys of the `[server]` table.
pub(crate) fn config_with(dir: &tempfile::TempDir, server: &str, extra: &str) -> Config {
    let db = dir.path().join("callbook.db");
    Config::from_toml(&format!(
        r#"
        [server]
        max_body_bytes = 4096
        {server}
        [database]
        url = "sqlite://{}"
        {extra}
        [[sources]]
        name = "cal"
        provider = "calendly"
        signing_keys = ["old-rotated-key", "{CALENDLY_KEY}"]
        [[sources]]
        name = "air"
        provider = "aircall"
        tokens = ["{AIRCALL_TOKEN}"]
        "#,
        db.display()
    ))
    .expect("config")
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(&format!("[admin]\ntoken = \"{ADMIN_TOKEN}\"")).await
    }

    pub(crate) async fn start_with(extra: &str) -> Self {
        Self::start_with_server("", extra).await
    }

    /// `server` holds more keys of the `[server]` table.
    pub(crate) async fn start_with_server(server: &str, extra: &str) -> Self {
        Self::start_in(tempfile::tempdir().expect("tmp"), server, extra).await
    }

    async fn start_in(dir: tempfile::TempDir, server: &str, extra: &str) -> Self {
        let config = (server.to_owned(), extra.to_owned());
        let server = Server::from_config(config_with(&dir, server, extra))
            .await
            .expect("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        Self {
            base,
            addr,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            dir,
            config,
        }
    }

    /// Stops the server and starts a new one on the same database (on another port).
    pub(crate) async fn restart(mut self) -> Self {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        let (server, extra) = std::mem::take(&mut self.config);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tmp"));
        Self::start_in(dir, &server, &extra).await
    }

    /// The server's SQLite database file.
    pub(crate) fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("callbook.db")
    }

    pub(crate) async fn send_calendly(
        &self,
        header: Option<&str>,
        body: &[u8],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/webhooks/calendly/cal", self.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(h) = header {
            req = req.header("Calendly-Webhook-Signature", h);
        }
        req.send().await.expect("send")
    }

    pub(crate) async fn send_signed(&self, body: &[u8]) -> reqwest::Response {
        let header = callbook_signature::calendly::sign(CALENDLY_KEY.as_bytes(), now(), body);
        self.send_calendly(Some(&header), body).await
    }

    pub(crate) async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("send")
    }

    /// The Prometheus exposition of `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    pub(crate) async fn events(&self) -> Vec<serde_json::Value> {
        let r = self.admin_get("/admin/events?limit=1000").await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.expect("json");
        body["events"].as_array().expect("events").clone()
    }

    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}
