//! Command-line interface.

use clap::{Parser, Subcommand, ValueEnum};
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
    }
}
