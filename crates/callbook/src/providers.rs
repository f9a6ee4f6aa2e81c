//! `callbook calendly ...` and `callbook aircall ...`: set up the providers' side from a
//! terminal. Credentials come from environment variables, never from arguments.

use crate::cli::Failure;
use crate::config_edit::{Written, add_source_secret};
use callbook_client::aircall::AircallClient;
use callbook_client::calendly::{CalendlyClient, ListWebhookSubscriptions};
use callbook_client::models::{aircall, calendly};
use secrecy::ExposeSecret;
use std::path::Path;
use std::process::ExitCode;

fn env(var: &str, what: &str) -> Result<String, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(Failure::Config(anyhow::anyhow!(
            "environment variable {var} is not set: it must hold the {what}"
        ))),
    }
}

fn runtime(e: callbook_client::Error) -> Failure {
    Failure::Runtime(e.into())
}

pub(crate) fn calendly_client(token_env: &str, api_url: &str) -> Result<CalendlyClient, Failure> {
    let token = env(token_env, "Calendly personal access token")?;
    CalendlyClient::builder()
        .personal_access_token(token)
        .base_url(api_url)
        .build()
        .map_err(|e| Failure::Config(e.into()))
}

pub(crate) fn aircall_client(
    id_env: &str,
    token_env: &str,
    api_url: &str,
) -> Result<AircallClient, Failure> {
    let id = env(id_env, "Aircall API ID")?;
    let token = env(token_env, "Aircall API token")?;
    AircallClient::builder()
        .basic(id, token)
        .base_url(api_url)
        .build()
        .map_err(|e| Failure::Config(e.into()))
}

/// The configuration must exist and hold no conflicting source before anything is created at the
/// provider: a secret that cannot be written down would be lost.
fn check_config(path: &Path, source: &str, provider: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Config(anyhow::anyhow!(
            "cannot read {}: {e} (run `callbook init` first, or pass --config)",
            path.display()
        ))
    })?;
    let config =
        callbook_server::Config::from_toml(&text).map_err(|e| Failure::Config(e.into()))?;
    if let Some(s) = config.sources.iter().find(|s| s.name == source) {
        let have = s.provider.to_string();
        if have != provider {
            return Err(Failure::Config(anyhow::anyhow!(
                "source `{source}` in {} is a {have} source; pass --source with another name",
                path.display()
            )));
        }
    }
    Ok(())
}

fn report_written(written: Written, path: &Path, source: &str, what: &str) {
    let how = match written {
        Written::Added => "added first to",
        Written::Replaced => "set as the only one of",
        Written::NewSource => "written to the new",
    };
    println!("{what} {how} source `{source}` in {}", path.display());
    println!("restart `callbook serve` to use it");
}

pub(crate) async fn calendly_whoami(
    client: &CalendlyClient,
    json: bool,
) -> Result<ExitCode, Failure> {
    let me = client.me().await.map_err(runtime)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&me).unwrap_or_default());
    } else {
        println!("{} <{}>", me.name, me.email);
        println!("user          {}", me.uri);
        println!("organization  {}", me.current_organization);
        if let Some(tz) = &me.timezone {
            println!("timezone      {tz}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `callbook calendly subscribe`.
pub(crate) struct Subscribe<'a> {
    pub(crate) url: &'a str,
    pub(crate) events: &'a [String],
    pub(crate) scope: &'a str,
    pub(crate) group: Option<&'a str>,
    pub(crate) source: &'a str,
    pub(crate) config: &'a Path,
    pub(crate) replace_keys: bool,
}

pub(crate) async fn calendly_subscribe(
    client: &CalendlyClient,
    opts: Subscribe<'_>,
) -> Result<ExitCode, Failure> {
    check_config(opts.config, opts.source, "calendly")?;
    let scope: calendly::Scope = opts.scope.into();
    if scope.is_unknown() {
        return Err(Failure::Config(anyhow::anyhow!(
            "--scope must be user, organization or group, not `{}`",
            opts.scope
        )));
    }
    let events: Vec<calendly::EventName> = opts.events.iter().map(|e| e.as_str().into()).collect();
    if let Some(unknown) = events.iter().find(|e| e.is_unknown()) {
        return Err(Failure::Config(anyhow::anyhow!(
            "unknown Calendly event `{unknown}`"
        )));
    }
    let me = client.me().await.map_err(runtime)?;
    let org = me.current_organization.clone();
    let mut request =
        calendly::CreateWebhookSubscription::new(opts.url, events, org.clone(), scope.clone());
    let mut filter = ListWebhookSubscriptions::new(org, scope.clone());
    match scope {
        calendly::Scope::User => {
            request = request.user(me.uri.clone());
            filter = filter.user(me.uri.clone());
        }
        calendly::Scope::Group => {
            let group = opts.group.ok_or_else(|| {
                Failure::Config(anyhow::anyhow!("group scope needs --group GROUP_URI"))
            })?;
            let group = calendly::GroupUri::parse(group).map_err(|e| Failure::Config(e.into()))?;
            request = request.group(group.clone());
            filter = filter.group(group);
        }
        _ => {}
    }
    let existing = filter_existing(client, filter, opts.url).await;
    for s in &existing {
        eprintln!(
            "warning: {} already delivers to {} ({}): Calendly answers 409 for the same URL, or \
             delivers twice from two scopes; delete it first with `callbook calendly \
             subscriptions delete {}`",
            s.uri,
            s.callback_url,
            s.scope,
            s.uri.uuid()
        );
    }
    let created = client.subscribe(request).await.map_err(runtime)?;
    println!(
        "created {} ({} scope) for {}",
        created.subscription.uri, created.subscription.scope, created.subscription.callback_url
    );
    let key = created.signing_key.expose_secret();
    match add_source_secret(
        opts.config,
        opts.source,
        "calendly",
        "signing_keys",
        key,
        opts.replace_keys,
    ) {
        Ok(written) => {
            report_written(written, opts.config, opts.source, "signing key");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // The subscription exists and Calendly will never show the key again: hand it over.
            eprintln!("error: could not write the signing key into the configuration: {e:#}");
            eprintln!("add it to the source's signing_keys yourself: {key}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Subscriptions that already deliver to `url`. Listing is best effort: a failure only loses the
/// warning.
async fn filter_existing(
    client: &CalendlyClient,
    filter: ListWebhookSubscriptions,
    url: &str,
) -> Vec<calendly::WebhookSubscription> {
    match client.webhook_subscriptions(filter).collect().await {
        Ok(all) => all.into_iter().filter(|s| s.callback_url == url).collect(),
        Err(e) => {
            eprintln!("note: could not check existing subscriptions: {e}");
            Vec::new()
        }
    }
}

pub(crate) async fn calendly_subscriptions(
    client: &CalendlyClient,
    scope: &str,
    json: bool,
) -> Result<ExitCode, Failure> {
    let me = client.me().await.map_err(runtime)?;
    let scope: calendly::Scope = scope.into();
    let mut filter = ListWebhookSubscriptions::new(me.current_organization, scope.clone());
    if scope == calendly::Scope::User {
        filter = filter.user(me.uri);
    }
    let subs = client
        .webhook_subscriptions(filter)
        .collect()
        .await
        .map_err(runtime)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&subs).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if subs.is_empty() {
        println!("no {scope}-scope subscriptions");
    }
    for s in subs {
        let events: Vec<&str> = s.events.iter().map(|e| e.as_str()).collect();
        println!(
            "{}  {:<8}  {:<12}  {}  [{}]",
            s.uri.uuid(),
            s.state,
            s.scope,
            s.callback_url,
            events.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn calendly_unsubscribe(
    client: &CalendlyClient,
    id: &str,
) -> Result<ExitCode, Failure> {
    let uri = if id.contains("://") {
        id.to_owned()
    } else {
        format!(
            "{}/webhook_subscriptions/{id}",
            callbook_client::calendly::BASE_URL
        )
    };
    let uri =
        calendly::WebhookSubscriptionUri::parse(uri).map_err(|e| Failure::Config(e.into()))?;
    client
        .delete_webhook_subscription(&uri)
        .await
        .map_err(runtime)?;
    println!("deleted {uri}");
    Ok(ExitCode::SUCCESS)
}

/// Options of `callbook aircall webhooks create`.
pub(crate) struct CreateHook<'a> {
    pub(crate) url: &'a str,
    pub(crate) events: &'a [String],
    pub(crate) name: Option<&'a str>,
    pub(crate) source: &'a str,
    pub(crate) config: &'a Path,
    pub(crate) replace_tokens: bool,
}

pub(crate) async fn aircall_create(
    client: &AircallClient,
    opts: CreateHook<'_>,
) -> Result<ExitCode, Failure> {
    check_config(opts.config, opts.source, "aircall")?;
    let events: Vec<aircall::EventName> = opts.events.iter().map(|e| e.as_str().into()).collect();
    if let Some(unknown) = events.iter().find(|e| e.is_unknown()) {
        return Err(Failure::Config(anyhow::anyhow!(
            "unknown Aircall event `{unknown}`"
        )));
    }
    let mut body = aircall::CreateWebhook::new(opts.url, events);
    body.custom_name = opts.name.map(str::to_owned);
    let hook = client.create_webhook(&body).await.map_err(runtime)?;
    println!("created webhook {} for {}", hook.webhook_id, hook.url);
    let token = hook.token.expose();
    match add_source_secret(
        opts.config,
        opts.source,
        "aircall",
        "tokens",
        token,
        opts.replace_tokens,
    ) {
        Ok(written) => {
            report_written(written, opts.config, opts.source, "webhook token");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: could not write the token into the configuration: {e:#}");
            eprintln!(
                "add it to the source's tokens yourself; `callbook aircall webhooks list --json` shows it again"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(crate) async fn aircall_list(client: &AircallClient, json: bool) -> Result<ExitCode, Failure> {
    let hooks = client.webhooks().collect().await.map_err(runtime)?;
    if json {
        // Tokens are shown on purpose here: this is how to recover one for the config.
        let out: Vec<serde_json::Value> = hooks
            .iter()
            .map(|h| {
                serde_json::json!({
                    "webhook_id": h.webhook_id, "url": h.url, "active": h.active,
                    "events": h.events, "custom_name": h.custom_name, "token": h.token.expose(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    if hooks.is_empty() {
        println!("no webhooks");
    }
    for h in hooks {
        let events: Vec<&str> = h.events.iter().map(|e| e.as_str()).collect();
        println!(
            "{}  {}  {}  [{}]",
            h.webhook_id,
            if h.active { "active  " } else { "inactive" },
            h.url,
            events.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn aircall_delete(client: &AircallClient, id: &str) -> Result<ExitCode, Failure> {
    client.delete_webhook(id).await.map_err(runtime)?;
    println!("deleted webhook {id}");
    Ok(ExitCode::SUCCESS)
}
