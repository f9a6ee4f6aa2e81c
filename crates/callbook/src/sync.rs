//! `callbook calendly sync`: the directory filled from Calendly's API.

use crate::cli::Failure;
use callbook_recipes::{Scope, SyncProgress};
use chrono::{DateTime, NaiveDate, Utc};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

pub(crate) struct Options<'a> {
    pub(crate) since: &'a str,
    pub(crate) until: Option<&'a str>,
    pub(crate) scope: &'a str,
    pub(crate) config: &'a Path,
    pub(crate) token_env: &'a str,
    pub(crate) api_url: &'a str,
}

/// `2026-01-01` (midnight UTC) or an RFC 3339 time.
fn date(text: &str, what: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            Failure::Config(anyhow::anyhow!(
                "--{what} {text:?} is neither a date (2026-01-31) nor an RFC 3339 time"
            ))
        })
}

pub(crate) async fn run(opts: Options<'_>) -> Result<ExitCode, Failure> {
    let since = date(opts.since, "since")?;
    let until = match opts.until {
        Some(u) => date(u, "until")?,
        None => Utc::now() + chrono::Duration::days(365),
    };
    if until <= since {
        return Err(Failure::Config(anyhow::anyhow!(
            "--until must be after --since"
        )));
    }
    let (config, _) = crate::serve::load_config(Some(opts.config).filter(|p| p.exists()))?;
    let store = callbook_store::open_with(&config.database.url, &config.database.open_options())
        .await
        .map_err(|e| Failure::Runtime(e.into()))?;
    let mut ctx = crate::serve::recipe_context(&config, store.clone()).map_err(Failure::Config)?;
    let calendly = match ctx.calendly.clone() {
        Some(client) => client,
        None => {
            let client = crate::providers::calendly_client(opts.token_env, opts.api_url)?;
            ctx = ctx.calendly(client.clone());
            client
        }
    };
    let me = calendly
        .me()
        .await
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("Calendly: {e}")))?;
    let scope = match opts.scope {
        "user" => Scope::User(me.uri.clone()),
        "organization" => Scope::Organization(me.current_organization.clone()),
        other => {
            return Err(Failure::Config(anyhow::anyhow!(
                "--scope must be user or organization, not {other:?}"
            )));
        }
    };
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let result = callbook_recipes::sync_calendly(&ctx, scope, since, until, |p: SyncProgress| {
        if tty {
            eprint!(
                "\r{} events, {} invitees, up to {}  ({:.0?})   ",
                p.events,
                p.invitees,
                p.at.map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                started.elapsed()
            );
        }
    })
    .await;
    if tty {
        eprintln!();
    }
    store.close().await;
    let report = result.map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "{e} (run the same command again to resume where it stopped)"
        ))
    })?;
    if let Some(from) = report.resumed_from {
        println!("resumed from {}", from.to_rfc3339());
    }
    println!(
        "{} scheduled events, {} invitees in the directory's view ({} to {})",
        report.events,
        report.invitees,
        since.format("%Y-%m-%d"),
        until.format("%Y-%m-%d")
    );
    Ok(ExitCode::SUCCESS)
}
