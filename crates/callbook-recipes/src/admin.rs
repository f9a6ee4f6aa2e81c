//! Admin routes: `GET /admin/directory?q=PHONE_OR_EMAIL` and `GET /admin/recipes`, added to
//! the server's admin API (behind its token) with `Server::admin_routes`.

use crate::context::Context;
use crate::lookup::lookup;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use callbook_store::DirectoryStats;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A configured recipe, as `GET /admin/recipes` and `callbook recipes list` show it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RecipeInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Events handled (skips included).
    pub done: u64,
    /// Events it left alone, with a recorded reason.
    pub skipped: u64,
    /// Events that failed and wait for a retry.
    pub failed: u64,
    /// Events that failed for good.
    pub dead: u64,
    /// Events not yet tried.
    pub pending: u64,
}

impl RecipeInfo {
    /// A recipe with no counts yet.
    pub fn new(name: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            done: 0,
            skipped: 0,
            failed: 0,
            dead: 0,
            pending: 0,
        }
    }
}

struct AdminState {
    ctx: Context,
    recipes: Vec<RecipeInfo>,
}

/// The routes; `recipes` names each configured recipe and its kind.
pub fn admin_router(ctx: Context, recipes: Vec<RecipeInfo>) -> Router {
    Router::new()
        .route("/admin/directory", get(directory))
        .route("/admin/recipes", get(list_recipes))
        .with_state(Arc::new(AdminState { ctx, recipes }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupParams {
    q: String,
}

fn problem(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

async fn directory(
    State(state): State<Arc<AdminState>>,
    params: Result<Query<LookupParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(Query(params)) = params.ok().filter(|Query(p)| !p.q.trim().is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the query takes q, a phone number or email".into(),
        );
    };
    match lookup(&state.ctx, &params.q).await {
        Ok(Some(person)) => Json(person).into_response(),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "the directory knows nobody by that phone number or email".into(),
        ),
        // Neither a phone number nor an email: nobody can be found by it.
        Err(crate::Error::Config(message)) => problem(StatusCode::NOT_FOUND, "not_found", message),
        Err(e) => {
            tracing::warn!(error = %e, "directory lookup failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store did not answer".into(),
            )
        }
    }
}

#[derive(Serialize)]
struct RecipesBody {
    recipes: Vec<RecipeInfo>,
    directory: DirectoryStats,
}

async fn list_recipes(State(state): State<Arc<AdminState>>) -> Response {
    match recipe_counts(&state.ctx, &state.recipes).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "recipe counts failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store did not answer".into(),
            )
        }
    }
}

async fn recipe_counts(
    ctx: &Context,
    recipes: &[RecipeInfo],
) -> Result<RecipesBody, callbook_store::Error> {
    let mut out = Vec::new();
    for r in recipes {
        let counts = ctx.store.destination_counts(&r.name).await?;
        let mut info = r.clone();
        info.done = counts.succeeded;
        info.failed = counts.retrying;
        info.pending = counts.pending;
        info.dead = counts.dead;
        info.skipped = ctx.store.count_marks(&r.name, "event:skip:").await?;
        out.push(info);
    }
    Ok(RecipesBody {
        recipes: out,
        directory: ctx.store.directory_stats().await?,
    })
}
