//! `missed_call_followup`: a caller nobody answered gets a text with a link to book a time.

use crate::budget::Priority;
use crate::context::{Context, api_failure, has_upcoming};
use callbook_client::aircall::AircallClient;
use callbook_models::aircall::{NumberId, SendMessage};
use callbook_models::calendly::{CreateSchedulingLink, EventTypeUri};
use callbook_server::{DeliveredEvent, EventHandler, HandlerError, async_trait};
use callbook_store::PersonKey;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Deserialize;

/// The recipe's settings in `[[recipes]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FollowupSettings {
    /// The link to send, as is.
    pub scheduling_url: Option<String>,
    /// Or: a Calendly event type URI to make a single-use link for (needs `[calendly_api]`).
    pub event_type: Option<String>,
    /// At most one message per caller in this many hours. Default 24.
    #[serde(default = "default_cooldown")]
    pub cooldown_hours: f64,
    /// The message; `{first_name}`, `{name}` and `{link}` are filled in.
    #[serde(default = "default_template")]
    pub template: String,
    /// `"21:00-08:00"`: no message in these hours of the caller's day (their zone from their
    /// latest meeting, else `timezone`); the event is handed back until they are over.
    pub quiet_hours: Option<String>,
    /// The zone of callers with no meeting. Default UTC.
    pub timezone: Option<String>,
    /// Whether callers the directory does not know get a message too. Default false.
    #[serde(default)]
    pub unknown_callers: bool,
    /// `api` (default: `/messages/send`) or `native` (`/messages/native/send`, shown in the
    /// Aircall inbox).
    #[serde(default = "default_send_via")]
    pub send_via: String,
}

/// Ten years.
const MAX_COOLDOWN_HOURS: f64 = 87_600.0;

fn default_cooldown() -> f64 {
    24.0
}
fn default_template() -> String {
    "Sorry we missed your call, {first_name}. Pick a time that suits you: {link}".into()
}
fn default_send_via() -> String {
    "api".into()
}

/// The follow-up recipe.
#[derive(Debug)]
pub struct MissedCallFollowup {
    name: String,
    ctx: Context,
    aircall: AircallClient,
    settings: FollowupSettings,
    event_type: Option<EventTypeUri>,
    quiet: Option<(NaiveTime, NaiveTime)>,
}

impl MissedCallFollowup {
    /// The recipe `name`; needs `[aircall_api]`, and `[calendly_api]` for single-use links.
    pub fn new(
        name: impl Into<String>,
        ctx: Context,
        settings: FollowupSettings,
    ) -> Result<Self, crate::Error> {
        let name = name.into();
        let bad = |m: String| crate::Error::Config(format!("recipe {name:?}: {m}"));
        let aircall = ctx
            .aircall
            .clone()
            .ok_or_else(|| bad("missed_call_followup needs an [aircall_api] section".into()))?;
        let event_type = match (&settings.scheduling_url, &settings.event_type) {
            (Some(url), None) => {
                if !url.starts_with("https://") && !url.starts_with("http://") {
                    return Err(bad(format!("scheduling_url {url:?} is not a URL")));
                }
                None
            }
            (None, Some(uri)) => {
                if ctx.calendly.is_none() {
                    return Err(bad("event_type needs a [calendly_api] section".into()));
                }
                Some(
                    EventTypeUri::parse(uri.clone())
                        .map_err(|e| bad(format!("event_type: {e}")))?,
                )
            }
            _ => return Err(bad("set one of scheduling_url and event_type".into())),
        };
        // Bounded: a cooldown of centuries would overflow the time arithmetic.
        if !(0.0..=MAX_COOLDOWN_HOURS).contains(&settings.cooldown_hours) {
            return Err(bad(format!(
                "cooldown_hours must be from 0 to {MAX_COOLDOWN_HOURS}"
            )));
        }
        if !settings.template.contains("{link}") {
            return Err(bad("template must contain {link}".into()));
        }
        if !matches!(settings.send_via.as_str(), "api" | "native") {
            return Err(bad("send_via is api or native".into()));
        }
        if let Some(tz) = &settings.timezone {
            tz.parse::<chrono_tz::Tz>()
                .map_err(|_| bad(format!("timezone {tz:?} is not an IANA zone")))?;
        }
        let quiet = settings
            .quiet_hours
            .as_deref()
            .map(|q| {
                parse_quiet_hours(q)
                    .ok_or_else(|| bad(format!("quiet_hours {q:?} is not HH:MM-HH:MM")))
            })
            .transpose()?;
        Ok(Self {
            name,
            ctx,
            aircall,
            settings,
            event_type,
            quiet,
        })
    }

    async fn link(&self) -> Result<String, HandlerError> {
        match (&self.event_type, &self.ctx.calendly) {
            (Some(event_type), Some(calendly)) => calendly
                .create_scheduling_link(&CreateSchedulingLink::new(event_type.clone()))
                .await
                .map(|l| l.booking_url)
                .map_err(|e| api_failure("creating a single-use scheduling link", e)),
            _ => Ok(self.settings.scheduling_url.clone().unwrap_or_default()),
        }
    }
}

#[async_trait]
impl EventHandler for MissedCallFollowup {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        let Some(call) = self.ctx.call_event(&self.name, event, "call.ended").await? else {
            return Ok(());
        };
        if call.direction.as_deref() != Some("inbound") || call.answered() {
            return self
                .ctx
                .skip(&self.name, event, "not a missed inbound call")
                .await;
        }
        let Some(phone) = call.external_phone.clone() else {
            return self
                .ctx
                .skip(&self.name, event, "anonymous or unreadable number")
                .await;
        };
        let Some(number_id) = call.number_id() else {
            return self
                .ctx
                .skip(&self.name, event, "the call names no Aircall number")
                .await;
        };
        let intent = format!("event:call:{}", call.id);
        if self.ctx.store.mark(&self.name, &intent).await?.is_some() {
            return self
                .ctx
                .skip(&self.name, event, "this call was followed up already")
                .await;
        }
        let meetings = self
            .ctx
            .meetings_of(&[PersonKey::Phone(phone.clone())])
            .await?;
        let now = Utc::now();
        if has_upcoming(&meetings, now) {
            return self
                .ctx
                .skip(&self.name, event, "the caller has a meeting booked")
                .await;
        }
        let known = meetings.iter().find_map(|m| m.details.as_ref());
        if known.is_none() && !self.settings.unknown_callers {
            return self.ctx.skip(&self.name, event, "unknown caller").await;
        }
        if let Some((from, to)) = self.quiet {
            let zone = known
                .and_then(|d| d.timezone.as_deref())
                .or(self.settings.timezone.as_deref());
            let local = local_clock(now, zone);
            if in_quiet_hours(local, from, to) {
                // Handed back until the hours are over: not a failure, nothing recorded.
                return Err(HandlerError::later(
                    until(local, to),
                    format!(
                        "quiet hours in the caller's zone until {}",
                        to.format("%H:%M")
                    ),
                ));
            }
        }
        let cooldown = Duration::seconds((self.settings.cooldown_hours * 3600.0) as i64);
        let caller = format!("caller:{phone}");
        if let Some(last) = self.ctx.store.mark(&self.name, &caller).await? {
            if last.at > now - cooldown {
                return self
                    .ctx
                    .skip(&self.name, event, "cooldown: messaged recently")
                    .await;
            }
        }
        // The budget first: handed back for later, nothing is recorded (or made: a single-use
        // link is made only when the text can go).
        self.ctx.spend(Priority::Bulk).await?;
        let link = self.link().await?;
        let first_name = known
            .and_then(|d| {
                d.first_name
                    .clone()
                    .or_else(|| d.name.split_whitespace().next().map(str::to_owned))
            })
            .unwrap_or_else(|| "there".into());
        let name = known.map_or_else(|| "there".to_owned(), |d| d.name.clone());
        let body = self
            .settings
            .template
            .replace("{first_name}", &first_name)
            .replace("{name}", &name)
            .replace("{link}", &link);

        // The intent is recorded before the send: one call never gets two messages, even
        // across a crash between the send and its record (that message is then not retried;
        // docs/recipes.md). Another worker that got here first wins the mark.
        if !self
            .ctx
            .store
            .put_mark(&self.name, &intent, Some("sending"), now, None)
            .await?
        {
            return self
                .ctx
                .skip(&self.name, event, "this call was followed up already")
                .await;
        }
        if !self
            .ctx
            .store
            .put_mark(
                &self.name,
                &caller,
                Some(&call.id.to_string()),
                now,
                Some(now - cooldown),
            )
            .await?
        {
            return self
                .ctx
                .skip(&self.name, event, "cooldown: messaged recently")
                .await;
        }
        let message = SendMessage::new(phone.clone(), body);
        let sent = if self.settings.send_via == "native" {
            self.aircall
                .send_native_message(NumberId::new(number_id), &message)
                .await
        } else {
            self.aircall
                .send_message(NumberId::new(number_id), &message)
                .await
        };
        match sent {
            Ok(_) => {
                self.ctx
                    .store
                    .put_mark(
                        &self.name,
                        &intent,
                        Some("sent"),
                        Utc::now(),
                        Some(DateTime::<Utc>::MAX_UTC),
                    )
                    .await?;
                Ok(())
            }
            Err(e) => {
                // Aircall answered that it did not send: the marks go, so a retry may send.
                self.ctx.store.remove_mark(&self.name, &intent).await?;
                self.ctx.store.remove_mark(&self.name, &caller).await?;
                Err(api_failure("sending the message", e))
            }
        }
    }
}

fn parse_quiet_hours(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (from, to) = text.split_once('-')?;
    let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    Some((parse(from)?, parse(to)?))
}

fn local_clock(now: DateTime<Utc>, zone: Option<&str>) -> NaiveTime {
    match zone.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => now.with_timezone(&tz).time(),
        None => now.time(),
    }
}

/// How long from `t` until the clock next reads `to`.
fn until(t: NaiveTime, to: NaiveTime) -> std::time::Duration {
    let day = Duration::days(1);
    let mut wait = to - t;
    if wait <= Duration::zero() {
        wait += day;
    }
    wait.to_std().unwrap_or_default()
}

/// Whether `t` falls in `[from, to)`, across midnight when `from > to`.
fn in_quiet_hours(t: NaiveTime, from: NaiveTime, to: NaiveTime) -> bool {
    if from <= to {
        from <= t && t < to
    } else {
        t >= from || t < to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_may_span_midnight() {
        let (from, to) = parse_quiet_hours("21:00-08:00").unwrap();
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(in_quiet_hours(t("23:30"), from, to));
        assert!(in_quiet_hours(t("07:59"), from, to));
        assert!(!in_quiet_hours(t("08:00"), from, to));
        assert!(!in_quiet_hours(t("12:00"), from, to));
        let (from, to) = parse_quiet_hours("12:00-13:00").unwrap();
        assert!(in_quiet_hours(t("12:30"), from, to));
        assert!(parse_quiet_hours("noon").is_none());
        assert_eq!(until(t("23:30"), t("08:00")).as_secs(), 8 * 3600 + 30 * 60);
        assert_eq!(until(t("07:59"), t("08:00")).as_secs(), 60);
    }
}
