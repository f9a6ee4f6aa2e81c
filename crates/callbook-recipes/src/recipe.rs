//! Recipes from configuration: each `[[recipes]]` table becomes a handler of the server.

use crate::cards::InsightCards;
use crate::contacts::ContactSync;
use crate::context::Context;
use crate::directory::{DIRECTORY, DirectoryUpdater};
use crate::followup::{FollowupSettings, MissedCallFollowup};
use callbook_server::config::RecipeConfig;
use callbook_server::{EventHandler, Handler, Server};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The kinds of recipe, with what each takes by default.
pub const KINDS: &[(&str, &[&str], &str)] = &[
    (
        "aircall_contact_sync",
        &["invitee.*", "invitee_no_show.*"],
        "Calendly invitees become Aircall contacts",
    ),
    (
        "aircall_insight_card",
        &["call.created"],
        "an insight card with the caller's meeting while the call rings",
    ),
    (
        "missed_call_followup",
        &["call.ended"],
        "a text with a scheduling link after a missed call",
    ),
];

/// Kinds without settings of their own still refuse unknown keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoSettings {}

/// A recipe ready to be added to a server.
pub struct Recipe {
    /// How it is delivered to.
    pub handler: Handler,
    /// What handles its events.
    pub run: Arc<dyn EventHandler>,
    /// Its kind.
    pub kind: &'static str,
}

impl std::fmt::Debug for Recipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipe")
            .field("handler", &self.handler)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Builds one recipe; errors name the recipe and what is wrong.
pub fn build(config: &RecipeConfig, ctx: &Context) -> Result<Recipe, crate::Error> {
    let Some(&(kind, events, _)) = KINDS.iter().find(|(k, _, _)| *k == config.kind) else {
        let known: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
        return Err(crate::Error::Config(format!(
            "recipe {:?}: unknown kind {:?} (one of {})",
            config.name,
            config.kind,
            known.join(", ")
        )));
    };
    let settings = toml::Value::Table(config.settings.clone());
    let bad_settings = |e: toml::de::Error| {
        crate::Error::Config(format!(
            "recipe {:?} ({kind}): {}",
            config.name,
            e.message()
        ))
    };
    let (run, in_flight, timeout): (Arc<dyn EventHandler>, usize, f64) = match kind {
        "aircall_contact_sync" => {
            NoSettings::deserialize(settings).map_err(bad_settings)?;
            (
                Arc::new(ContactSync::new(&config.name, ctx.clone())?),
                // Aircall's budget is the limit, not workers: two keep it busy, and an attempt
                // may wait 30 s for the budget and still finish well within its time.
                2,
                90.0,
            )
        }
        "aircall_insight_card" => {
            NoSettings::deserialize(settings).map_err(bad_settings)?;
            // Cards are only worth posting while the call rings: short attempts, many at once.
            (
                Arc::new(InsightCards::new(&config.name, ctx.clone())?),
                32,
                10.0,
            )
        }
        _ => {
            let s = FollowupSettings::deserialize(settings).map_err(bad_settings)?;
            (
                Arc::new(MissedCallFollowup::new(&config.name, ctx.clone(), s)?),
                4,
                30.0,
            )
        }
    };
    let timeout =
        Duration::try_from_secs_f64(config.timeout_secs.unwrap_or(timeout)).map_err(|_| {
            crate::Error::Config(format!(
                "recipe {:?}: timeout_secs is out of range",
                config.name
            ))
        })?;
    let handler = Handler::new(&config.name)
        .events(events.iter().copied())
        .sources(config.sources.iter().cloned())
        .max_in_flight(config.max_in_flight.unwrap_or(in_flight))
        .timeout(timeout);
    Ok(Recipe { handler, run, kind })
}

/// Adds the directory updater and every configured recipe to a server.
pub fn install(
    server: Server,
    recipes: &[RecipeConfig],
    ctx: &Context,
) -> Result<Server, crate::Error> {
    let built = recipes
        .iter()
        .map(|r| build(r, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let directory = Handler::new(DIRECTORY)
        .events(["invitee.*", "invitee_no_show.*", "call.*"])
        .max_in_flight(8);
    let mut server = server
        .add_handler(directory, Arc::new(DirectoryUpdater::new(ctx.clone())))
        .map_err(|e| crate::Error::Config(e.to_string()))?;
    for recipe in built {
        server = server
            .add_handler(recipe.handler, recipe.run)
            .map_err(|e| crate::Error::Config(e.to_string()))?;
    }
    Ok(server)
}
