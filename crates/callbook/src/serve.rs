//! `callbook serve`.

use crate::cli::Failure;
use anyhow::Context;
use callbook_recipes::RecipeInfo;
use callbook_server::{Config, Server};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Loads the configuration file (or the defaults when there is none), then applies
/// `CALLBOOK_<SECTION>_<KEY>` environment overrides.
pub(crate) fn load_config(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), Failure> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("callbook.toml")).filter(|p| p.exists()),
    };
    let text = match &path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))
            .map_err(Failure::Config)?,
        None => String::new(),
    };
    let shown = path
        .as_ref()
        .map_or("defaults".to_owned(), |p| p.display().to_string());
    let config = crate::env_config::apply(&text, std::env::vars())
        .map_err(|e| Failure::Config(anyhow::anyhow!("{shown}: {e}")))?;
    config
        .validate()
        .map_err(|e| Failure::Config(anyhow::anyhow!("{shown}: {e}")))?;
    Ok((config, path))
}

pub(crate) async fn run(config_path: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let (config, path) = load_config(config_path.as_deref())?;
    match &path {
        Some(p) => tracing::info!(config = %p.display(), "configuration loaded"),
        None => tracing::info!("no callbook.toml: using defaults"),
    }
    if config.sources.is_empty() {
        tracing::warn!(
            "no source is configured: every webhook will get 404. Run `callbook init` to write a \
             callbook.toml with a Calendly source, or add a [[sources]] table"
        );
    }
    let server = Server::from_config(config.clone())
        .await
        .map_err(|e| match e {
            callbook_server::Error::Config(_) | callbook_server::Error::Secret { .. } => {
                Failure::Config(e.into())
            }
            other => Failure::Runtime(other.into()),
        })?;
    let server = with_recipes(server, &config).map_err(Failure::Config)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))
        .map_err(Failure::Runtime)?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Runtime(e.into()))?;
    tracing::info!(
        listen = %local,
        database = %callbook_store::redacted_url(&config.database.url),
        sources = ?server.source_names(),
        admin = config.admin.token.is_some(),
        runtime = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => "single-threaded",
            _ => "multi-threaded",
        },
        "callbook is listening"
    );
    server
        .serve(listener, shutdown_signal())
        .await
        .map_err(|e| Failure::Runtime(e.into()))?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Adds the directory, the configured recipes and their admin routes.
fn with_recipes(server: Server, config: &Config) -> anyhow::Result<Server> {
    let ctx = recipe_context(config, server.store())?;
    let recipes: Vec<RecipeInfo> = config
        .recipes
        .iter()
        .map(|r| RecipeInfo::new(&r.name, &r.kind))
        .collect();
    let server = if config.recipes.is_empty() && !config.directory.enabled.unwrap_or(false) {
        server
    } else {
        callbook_recipes::install(server, &config.recipes, &ctx)?
    };
    let server = if config.recipes.is_empty() && !config.directory.enabled.unwrap_or(false) {
        server
    } else {
        server.people(std::sync::Arc::new(callbook_recipes::People::new(
            ctx.clone(),
        )))
    };
    Ok(server.admin_routes(callbook_recipes::admin_router(ctx, recipes)))
}

/// The store, phone reader and API clients the recipes share.
pub(crate) fn recipe_context(
    config: &Config,
    store: std::sync::Arc<dyn callbook_store::Store>,
) -> anyhow::Result<callbook_recipes::Context> {
    use secrecy::ExposeSecret;
    let phones = callbook_recipes::PhoneReader::new(&config.directory.default_region)?;
    let mut ctx = callbook_recipes::Context::new(store, phones);
    if let Some(api) = &config.aircall_api {
        let id = api.api_id.resolve()?;
        let token = api.api_token.resolve()?;
        let client = callbook_client::aircall::AircallClient::builder()
            .basic(id.expose_secret(), token.expose_secret())
            .base_url(api.url.clone())
            .build()
            .context("aircall_api")?;
        ctx = ctx.aircall(client, api.requests_per_minute.max(1));
    }
    if let Some(api) = &config.calendly_api {
        let token = api.token.resolve()?;
        let client = callbook_client::calendly::CalendlyClient::builder()
            .personal_access_token(token.expose_secret())
            .base_url(api.url.clone())
            .build()
            .context("calendly_api")?;
        ctx = ctx.calendly(client);
    }
    Ok(ctx)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
