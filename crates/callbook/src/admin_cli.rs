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

/// Follows a replay until its deliveries have been attempted: a progress bar on a terminal,
/// a closing line otherwise. Returns when the destination has nothing due, or when it cannot
/// make progress (disabled, circuit open).
pub(crate) async fn follow_replay(
    admin: &Admin,
    destination: &str,
    scheduled: u64,
) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    loop {
        let v = admin.get("/admin/destinations").await?;
        let Some(d) = v["destinations"]
            .as_array()
            .and_then(|l| l.iter().find(|d| d["name"] == destination))
            .cloned()
        else {
            return Err(Failure::Runtime(anyhow::anyhow!(
                "destination {destination} disappeared"
            )));
        };
        let due = d["queue"]["due"].as_u64().unwrap_or(0);
        let done = scheduled - due.min(scheduled);
        if tty {
            eprint!("\r{}", progress_line(done, scheduled, started.elapsed()));
            let _ = std::io::stderr().flush();
        }
        let stuck = if d["disabled"] == true {
            Some("the destination is disabled (`POST /admin/destinations/{name}/enable`)")
        } else if d["breaker"] == "open" {
            Some("the destination's circuit is open: it is failing")
        } else {
            None
        };
        if due == 0 || stuck.is_some() {
            if tty {
                eprintln!();
            }
            eprintln!(
                "{done} of {scheduled} replayed deliveries attempted in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            if let Some(why) = stuck {
                eprintln!("stopped following: {why}; the rest stay queued");
            }
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// `[##########----------]  512/1024  50%  3.1s`
fn progress_line(done: u64, total: u64, elapsed: std::time::Duration) -> String {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "[{}{}] {done:>7}/{total}  {pct:>3}%  {:.1}s",
        "#".repeat(filled as usize),
        "-".repeat((WIDTH - filled) as usize),
        elapsed.as_secs_f64()
    )
}

pub(crate) fn recipes_table(v: &Value) {
    let list = v["recipes"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<20}  {:<22}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
        "NAME", "KIND", "DONE", "SKIPPED", "PENDING", "FAILED", "DEAD"
    );
    for r in &list {
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!(
            "{:<20}  {:<22}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
            r["name"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            n("done"),
            n("skipped"),
            n("pending"),
            n("failed"),
            n("dead")
        );
    }
    println!(
        "directory: {} meetings, {} calls",
        v["directory"]["meetings"].as_u64().unwrap_or(0),
        v["directory"]["calls"].as_u64().unwrap_or(0)
    );
}

pub(crate) fn person(v: &Value) {
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_owned();
    println!(
        "{}  ·  {}  ·  {}  ·  {}",
        s("name"),
        s("phone"),
        s("email"),
        s("timezone")
    );
    println!("meetings:");
    for m in v["meetings"].as_array().into_iter().flatten() {
        let d = &m["details"];
        let status = if m["canceled"].as_bool() == Some(true) {
            "canceled"
        } else {
            "active"
        };
        println!(
            "  {}  {:<9}  {}",
            d["start"].as_str().unwrap_or("-"),
            status,
            d["event_name"].as_str().unwrap_or("-")
        );
    }
    println!("calls:");
    for c in v["calls"].as_array().into_iter().flatten() {
        println!(
            "  {}  {}  {}",
            c["started_at"].as_str().unwrap_or("-"),
            c["direction"].as_str().unwrap_or("-"),
            if c["answered_at"].is_null() {
                "not answered"
            } else {
                "answered"
            }
        );
    }
    match v["card"]["contents"].as_array() {
        Some(blocks) => {
            println!("card a call would get:");
            for b in blocks {
                match b["type"].as_str() {
                    Some("title") => println!("  {}", b["text"].as_str().unwrap_or("")),
                    _ => println!(
                        "  {}: {}{}",
                        b["label"].as_str().unwrap_or(""),
                        b["text"].as_str().unwrap_or(""),
                        b["link"]
                            .as_str()
                            .map(|l| format!(" <{l}>"))
                            .unwrap_or_default()
                    ),
                }
            }
        }
        None => println!("no card: no meeting for this phone number"),
    }
}

#[cfg(test)]
mod tests {
    use super::progress_line;
    use std::time::Duration;

    #[test]
    fn the_progress_line_fills_in_proportion() {
        let half = progress_line(512, 1024, Duration::from_millis(3100));
        assert!(
            half.starts_with(&format!("[{}{}]", "#".repeat(15), "-".repeat(15))),
            "{half}"
        );
        assert!(half.contains("512/1024") && half.contains(" 50%") && half.ends_with("3.1s"));
        assert!(progress_line(0, 0, Duration::ZERO).contains("100%"));
    }
}
