//! The `directory` handler: keeps the directory up to date from every Calendly invitee event
//! and Aircall call event, whether or not a recipe uses them.

use crate::context::Context;
use crate::project::{call_from_webhook, meeting_from_webhook};
use callbook_server::{DeliveredEvent, EventHandler, HandlerError, TypedWebhook, async_trait};

/// The name the directory's deliveries go by.
pub const DIRECTORY: &str = "directory";

/// Merges events into the directory.
#[derive(Debug)]
pub struct DirectoryUpdater {
    ctx: Context,
}

impl DirectoryUpdater {
    /// An updater writing to the context's store.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

#[async_trait]
impl EventHandler for DirectoryUpdater {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        match &*event.webhook {
            TypedWebhook::Calendly(w) => {
                if let Some(meeting) = meeting_from_webhook(w, &self.ctx.phones) {
                    self.ctx.store.merge_meeting(meeting).await?;
                }
            }
            TypedWebhook::Aircall(w) => {
                if let Some(call) = call_from_webhook(w, &self.ctx.phones) {
                    self.ctx.store.merge_call(call).await?;
                }
            }
            // Stored raw and acknowledged; nothing the directory can read.
            _ => {}
        }
        Ok(())
    }
}
