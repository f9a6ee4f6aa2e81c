//! `callbook events`, `callbook deliveries`, `callbook replay`: the admin API from a terminal.

use crate::cli::Failure;
use anyhow::Context;
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;

pub(crate) struct Admin {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Admin {
    /// The server URL and token come from `--url` / `--token-env`, else from the config.
    pub(crate) fn new(
        config: &Path,
        url: Option<&str>,
        token_env: Option<&str>,
    ) -> Result<Self, Failure> {
        let (cfg, _) = crate::serve::load_config(Some(config).filter(|p| p.exists()))?;
        let token = match token_env {
            Some(var) => std::env::var(var).map_err(|_| {
                Failure::Config(anyhow::anyhow!("environment variable {var} is not set"))
            })?,
            None => {
                let secret = cfg.admin.token.as_ref().ok_or_else(|| {
                    Failure::Config(anyhow::anyhow!(
                        "no admin token: set [admin] token in the config or pass --token-env VAR"
                    ))
                })?;
                let resolved = secret.resolve().map_err(|e| Failure::Config(e.into()))?;
                secrecy::ExposeSecret::expose_secret(&resolved).to_owned()
            }
        };
        let base = url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("http://{}", cfg.server.listen));
        Ok(Self {
            base,
            token,
            client: reqwest::Client::new(),
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Result<Value, Failure> {
        self.call(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {} (is `callbook serve` running?)", self.base))
            .map_err(Failure::Runtime)?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(Failure::Runtime(anyhow::anyhow!(
                "{status}: {}",
                body["message"].as_str().unwrap_or("request failed")
            )));
        }
        Ok(body)
    }
}

pub(crate) fn print(value: &Value, json: bool, table: impl Fn(&Value)) -> ExitCode {
    if json {
        println!("{value}");
    } else {
        table(value);
    }
    ExitCode::SUCCESS
}

pub(crate) fn events_table(v: &Value) {
    let events = v["events"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<36}  {:<24}  {:<10}  {:<28}  PARSED",
        "ID", "RECEIVED", "SOURCE", "EVENT"
    );
    for e in &events {
        println!(
            "{:<36}  {:<24}  {:<10}  {:<28}  {}",
            e["id"].as_str().unwrap_or(""),
            e["received_at"].as_str().unwrap_or(""),
            e["source"].as_str().unwrap_or(""),
            e["event_type"].as_str().unwrap_or("-"),
            e["parse_status"]["status"].as_str().unwrap_or("")
        );
    }
    if let Some(c) = v["next_cursor"].as_str() {
        println!("more: --cursor {c}");
    }
}

pub(crate) fn deliveries_table(v: &Value) {
    let list = v["deliveries"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<36}  {:<12}  {:<10}  {:>8}  LAST",
        "ID", "DESTINATION", "STATE", "ATTEMPTS"
    );
    for d in &list {
        println!(
            "{:<36}  {:<12}  {:<10}  {:>8}  {}",
            d["id"].as_str().unwrap_or(""),
            d["destination"].as_str().unwrap_or(""),
            d["state"].as_str().unwrap_or(""),
            d["attempts"],
            d["last_error"]
                .as_str()
                .map_or_else(|| d["last_status"].to_string(), str::to_owned)
        );
    }
}
