//! Command-line interface.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// callbook: receive Calendly and Aircall webhooks, verify them, store them durably.
#[derive(Debug, Parser)]
#[command(name = "callbook", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log format: `pretty` on a terminal, `json` otherwise, unless set. `RUST_LOG` sets levels.
    #[arg(long, global = true, value_enum)]
    pub(crate) log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gateway.
    Serve {
        /// Configuration file. Without one, `./callbook.toml` is used if present, else defaults
        /// (127.0.0.1:8080, ./callbook.db, no sources).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Write a commented `callbook.toml` with freshly generated secrets.
    Init {
        /// Where to write it.
        #[arg(long, short, default_value = "callbook.toml")]
        config: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Send a correctly signed sample webhook to a running server.
    SendTest {
        /// The source to send to (as named in the configuration).
        #[arg(long)]
        source: String,
        /// Event to send: `invitee.created`, `invitee.canceled` (Calendly), `call.created`,
        /// `call.ended` (Aircall).
        #[arg(long, default_value = "invitee.created")]
        event: String,
        /// Configuration file holding the source's secret.
        #[arg(long, short, default_value = "callbook.toml")]
        config: PathBuf,
        /// Server base URL. Default: from the configuration's `server.listen`.
        #[arg(long)]
        url: Option<String>,
        /// Print the server's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inspect stored events (through a running server's admin API).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Inspect and retry deliveries.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Replay a destination's dead deliveries, or every event of a time range.
    Replay {
        #[command(flatten)]
        target: AdminTarget,
        /// The destination.
        #[arg(long)]
        destination: String,
        /// Replay its dead deliveries.
        #[arg(long, conflicts_with_all = ["since", "until"])]
        dead: bool,
        /// Events received at or after (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Events received before (RFC 3339; default now).
        #[arg(long)]
        until: Option<String>,
        /// Follow the replay until every replayed delivery has been attempted (the default on
        /// a terminal, with a progress bar).
        #[arg(long, conflicts_with = "no_wait")]
        wait: bool,
        /// Return as soon as the replay is scheduled.
        #[arg(long)]
        no_wait: bool,
    },
    /// The configured recipes, with done / skipped / failed / dead counts.
    #[command(subcommand)]
    Recipes(RecipesCommand),
    /// Look people up in the directory.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Your Calendly account: who the token is, webhook subscriptions.
    #[command(subcommand)]
    Calendly(CalendlyCommand),
    /// Your Aircall account: webhooks.
    #[command(subcommand)]
    Aircall(AircallCommand),
    /// Explain whether a captured delivery verifies (body on standard input).
    Verify {
        /// `calendly` or `aircall`.
        #[arg(long)]
        provider: String,
        /// Environment variable holding the signing key or token (never pass secrets as
        /// arguments: they land in shell history).
        #[arg(long)]
        key_env: String,
        /// The `Calendly-Webhook-Signature` header value (Calendly only).
        #[arg(long)]
        header: Option<String>,
        /// Calendly tolerance in seconds; 0 skips the timestamp check (for old captures).
        #[arg(long, default_value_t = 180)]
        tolerance_secs: u64,
    },
}

/// Calendly credentials: from the environment, never from an argument.
#[derive(Debug, clap::Args)]
pub(crate) struct CalendlyAuth {
    /// Environment variable holding a Calendly personal access token.
    #[arg(long, default_value = "CALENDLY_TOKEN")]
    pub(crate) token_env: String,
    /// Calendly API base URL.
    #[arg(long, env = "CALENDLY_API_URL", default_value = callbook_client::calendly::BASE_URL)]
    pub(crate) api_url: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CalendlyCommand {
    /// Show the token's user and organization.
    Whoami {
        #[command(flatten)]
        auth: CalendlyAuth,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a webhook subscription with a fresh signing key, and write the key into the
    /// configuration's Calendly source.
    Subscribe {
        #[command(flatten)]
        auth: CalendlyAuth,
        /// Public HTTPS URL of the source, e.g. `https://hooks.example.com/webhooks/calendly/calendly`.
        #[arg(long)]
        url: String,
        /// Events, comma separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "invitee.created,invitee.canceled"
        )]
        events: Vec<String>,
        /// `user` (your own events), `organization` (admins) or `group`.
        #[arg(long, default_value = "user")]
        scope: String,
        /// The group's URI, for group scope.
        #[arg(long)]
        group: Option<String>,
        /// The source the key belongs to (created if the configuration has none of that name).
        #[arg(long, default_value = "calendly")]
        source: String,
        /// Configuration file to write the key into.
        #[arg(long, short, default_value = "callbook.toml")]
        config: PathBuf,
        /// Drop the source's other keys instead of keeping them for rotation.
        #[arg(long)]
        replace_keys: bool,
    },
    /// List or delete webhook subscriptions.
    #[command(subcommand)]
    Subscriptions(SubscriptionsCommand),
    /// Fill the directory with the scheduled events (and their invitees) of a time range:
    /// resumable, rate-limit aware, and running it twice changes nothing. With SQLite, stop
    /// the server first (one process at a time opens the database).
    Sync {
        /// Events starting at or after this date (`2026-01-01` or RFC 3339).
        #[arg(long)]
        since: String,
        /// Events starting before this date. Default: a year from now.
        #[arg(long)]
        until: Option<String>,
        /// `user` (the token's own events) or `organization` (admins).
        #[arg(long, default_value = "user")]
        scope: String,
        /// Configuration file (database, `[calendly_api]`, `[directory]`).
        #[arg(long, short, default_value = "callbook.toml")]
        config: PathBuf,
        /// Environment variable holding a Calendly token, when the configuration has no
        /// `[calendly_api]`.
        #[arg(long, default_value = "CALENDLY_TOKEN")]
        token_env: String,
        /// Calendly API base URL, when the configuration has no `[calendly_api]`.
        #[arg(long, env = "CALENDLY_API_URL", default_value = callbook_client::calendly::BASE_URL)]
        api_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SubscriptionsCommand {
    /// List subscriptions of a scope.
    List {
        #[command(flatten)]
        auth: CalendlyAuth,
        /// `user`, `organization` or `group`.
        #[arg(long, default_value = "user")]
        scope: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a subscription (its URI or UUID).
    Delete {
        #[command(flatten)]
        auth: CalendlyAuth,
        /// URI or UUID.
        id: String,
    },
}

/// Aircall credentials: from the environment, never from an argument.
#[derive(Debug, clap::Args)]
pub(crate) struct AircallAuth {
    /// Environment variable holding the API ID.
    #[arg(long, default_value = "AIRCALL_API_ID")]
    pub(crate) api_id_env: String,
    /// Environment variable holding the API token.
    #[arg(long, default_value = "AIRCALL_API_TOKEN")]
    pub(crate) api_token_env: String,
    /// Aircall API base URL (version included).
    #[arg(long, env = "AIRCALL_API_URL", default_value = callbook_client::aircall::BASE_URL)]
    pub(crate) api_url: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AircallCommand {
    /// Create, list or delete webhooks.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Create a webhook and write its token into the configuration's Aircall source.
    Create {
        #[command(flatten)]
        auth: AircallAuth,
        /// Public HTTPS URL of the source, e.g. `https://hooks.example.com/webhooks/aircall/aircall`.
        #[arg(long)]
        url: String,
        /// Events, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "call.created,call.ended")]
        events: Vec<String>,
        /// Display name at Aircall.
        #[arg(long)]
        name: Option<String>,
        /// The source the token belongs to (created if the configuration has none of that name).
        #[arg(long, default_value = "aircall")]
        source: String,
        /// Configuration file to write the token into.
        #[arg(long, short, default_value = "callbook.toml")]
        config: PathBuf,
        /// Drop the source's other tokens.
        #[arg(long)]
        replace_tokens: bool,
    },
    /// List webhooks (`--json` includes their tokens).
    List {
        #[command(flatten)]
        auth: AircallAuth,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a webhook.
    Delete {
        #[command(flatten)]
        auth: AircallAuth,
        /// The webhook ID (a UUID).
        id: String,
    },
}

/// Where the admin API is: from the config, or given.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminTarget {
    /// Configuration file (for the server address and admin token).
    #[arg(long, short, default_value = "callbook.toml")]
    pub(crate) config: PathBuf,
    /// Server base URL. Default: from `server.listen`.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Environment variable holding the admin token. Default: `admin.token` of the config.
    #[arg(long)]
    pub(crate) token_env: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RecipesCommand {
    /// Each recipe with its counts (through a running server's admin API).
    List {
        #[command(flatten)]
        target: AdminTarget,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DirectoryCommand {
    /// A person by phone number or email: their meetings and calls, and the card a call from
    /// them would get (through a running server's admin API).
    Lookup {
        #[command(flatten)]
        target: AdminTarget,
        /// A phone number (any format) or an email.
        who: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// List events, newest first.
    List {
        #[command(flatten)]
        target: AdminTarget,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this event type.
        #[arg(long)]
        event_type: Option<String>,
        /// Only events found by an e-mail address or phone number they name, or by their
        /// de-duplication key.
        #[arg(long)]
        search: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue after this cursor.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one event with its raw body.
    Show {
        #[command(flatten)]
        target: AdminTarget,
        /// The event ID.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        #[command(flatten)]
        target: AdminTarget,
        /// Only this destination.
        #[arg(long)]
        destination: Option<String>,
        /// Only this state: pending, succeeded or dead.
        #[arg(long)]
        state: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Retry one delivery now.
    Retry {
        #[command(flatten)]
        target: AdminTarget,
        /// The delivery ID.
        id: String,
    },
}

/// A failure, by exit code.
pub(crate) enum Failure {
    /// Usage or configuration: exit 2.
    Config(anyhow::Error),
    /// Anything else: exit 1.
    Runtime(anyhow::Error),
}

pub(crate) async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Serve { config } => {
            crate::logging::init(cli.log_format);
            crate::serve::run(config).await
        }
        Command::Init { config, force } => crate::init::run(&config, force),
        Command::SendTest {
            source,
            event,
            config,
            url,
            json,
        } => crate::send_test::run(&config, &source, &event, url.as_deref(), json).await,
        Command::Verify {
            provider,
            key_env,
            header,
            tolerance_secs,
        } => crate::verify::run(&provider, &key_env, header.as_deref(), tolerance_secs),
        Command::Calendly(cmd) => calendly(cmd).await,
        Command::Aircall(AircallCommand::Webhooks(cmd)) => aircall(cmd).await,
        Command::Events(cmd) => events(cmd).await,
        Command::Recipes(RecipesCommand::List { target }) => {
            let out = admin(&target)?.get("/admin/recipes").await?;
            Ok(crate::admin_cli::print(
                &out,
                target.json,
                crate::admin_cli::recipes_table,
            ))
        }
        Command::Directory(DirectoryCommand::Lookup { target, who }) => {
            let out = admin(&target)?
                .get(&format!("/admin/directory?q={}", encode(&who)))
                .await?;
            Ok(crate::admin_cli::print(
                &out,
                target.json,
                crate::admin_cli::person,
            ))
        }
        Command::Deliveries(cmd) => deliveries(cmd).await,
        Command::Replay {
            target,
            destination,
            dead,
            since,
            until,
            wait,
            no_wait,
        } => {
            let admin = admin(&target)?;
            let body = if dead {
                serde_json::json!({ "dead": true })
            } else if let Some(since) = since {
                serde_json::json!({ "since": since, "until": until })
            } else {
                return Err(Failure::Config(anyhow::anyhow!("pass --dead or --since")));
            };
            let out = admin
                .post(&format!("/admin/destinations/{destination}/replay"), body)
                .await?;
            let code = crate::admin_cli::print(&out, target.json, |v| {
                println!("scheduled {} deliveries to {destination}", v["scheduled"]);
            });
            let scheduled = out["scheduled"].as_u64().unwrap_or(0);
            let follow = wait || (!no_wait && !target.json && std::io::stderr().is_terminal());
            if follow && scheduled > 0 {
                crate::admin_cli::follow_replay(&admin, &destination, scheduled).await?;
            }
            Ok(code)
        }
    }
}

fn admin(target: &AdminTarget) -> Result<crate::admin_cli::Admin, Failure> {
    crate::admin_cli::Admin::new(
        &target.config,
        target.url.as_deref(),
        target.token_env.as_deref(),
    )
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn events(cmd: EventsCommand) -> Result<ExitCode, Failure> {
    match cmd {
        EventsCommand::List {
            target,
            source,
            event_type,
            search,
            limit,
            cursor,
        } => {
            let q = query(&[
                ("source", source),
                ("event_type", event_type),
                ("search", search),
                ("limit", Some(limit.to_string())),
                ("cursor", cursor),
            ]);
            let out = admin(&target)?.get(&format!("/admin/events{q}")).await?;
            Ok(crate::admin_cli::print(
                &out,
                target.json,
                crate::admin_cli::events_table,
            ))
        }
        EventsCommand::Show { target, id } => {
            let out = admin(&target)?
                .get(&format!("/admin/events/{}", encode(&id)))
                .await?;
            Ok(crate::admin_cli::print(&out, target.json, |v| {
                println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
            }))
        }
    }
}

async fn deliveries(cmd: DeliveriesCommand) -> Result<ExitCode, Failure> {
    match cmd {
        DeliveriesCommand::List {
            target,
            destination,
            state,
            limit,
        } => {
            let q = query(&[
                ("destination", destination),
                ("state", state),
                ("limit", Some(limit.to_string())),
            ]);
            let out = admin(&target)?
                .get(&format!("/admin/deliveries{q}"))
                .await?;
            Ok(crate::admin_cli::print(
                &out,
                target.json,
                crate::admin_cli::deliveries_table,
            ))
        }
        DeliveriesCommand::Retry { target, id } => {
            let path = format!("/admin/deliveries/{}/retry", encode(&id));
            let out = admin(&target)?.post(&path, serde_json::Value::Null).await?;
            Ok(crate::admin_cli::print(&out, target.json, |v| {
                println!(
                    "delivery {} scheduled for now",
                    v["id"].as_str().unwrap_or("")
                );
            }))
        }
    }
}

async fn calendly(cmd: CalendlyCommand) -> Result<ExitCode, Failure> {
    use crate::providers as p;
    match cmd {
        CalendlyCommand::Sync {
            since,
            until,
            scope,
            config,
            token_env,
            api_url,
        } => {
            crate::sync::run(crate::sync::Options {
                since: &since,
                until: until.as_deref(),
                scope: &scope,
                config: &config,
                token_env: &token_env,
                api_url: &api_url,
            })
            .await
        }
        CalendlyCommand::Whoami { auth, json } => {
            p::calendly_whoami(&p::calendly_client(&auth.token_env, &auth.api_url)?, json).await
        }
        CalendlyCommand::Subscribe {
            auth,
            url,
            events,
            scope,
            group,
            source,
            config,
            replace_keys,
        } => {
            let client = p::calendly_client(&auth.token_env, &auth.api_url)?;
            let opts = p::Subscribe {
                url: &url,
                events: &events,
                scope: &scope,
                group: group.as_deref(),
                source: &source,
                config: &config,
                replace_keys,
            };
            p::calendly_subscribe(&client, opts).await
        }
        CalendlyCommand::Subscriptions(SubscriptionsCommand::List { auth, scope, json }) => {
            let client = p::calendly_client(&auth.token_env, &auth.api_url)?;
            p::calendly_subscriptions(&client, &scope, json).await
        }
        CalendlyCommand::Subscriptions(SubscriptionsCommand::Delete { auth, id }) => {
            let client = p::calendly_client(&auth.token_env, &auth.api_url)?;
            p::calendly_unsubscribe(&client, &id).await
        }
    }
}

async fn aircall(cmd: WebhooksCommand) -> Result<ExitCode, Failure> {
    use crate::providers as p;
    let client = |a: &AircallAuth| p::aircall_client(&a.api_id_env, &a.api_token_env, &a.api_url);
    match cmd {
        WebhooksCommand::Create {
            auth,
            url,
            events,
            name,
            source,
            config,
            replace_tokens,
        } => {
            let opts = p::CreateHook {
                url: &url,
                events: &events,
                name: name.as_deref(),
                source: &source,
                config: &config,
                replace_tokens,
            };
            p::aircall_create(&client(&auth)?, opts).await
        }
        WebhooksCommand::List { auth, json } => p::aircall_list(&client(&auth)?, json).await,
        WebhooksCommand::Delete { auth, id } => p::aircall_delete(&client(&auth)?, &id).await,
    }
}
