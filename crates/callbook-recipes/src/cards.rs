//! `aircall_insight_card`: while a call rings, the agent sees who is calling and their
//! meeting.

use crate::budget::Priority;
use crate::context::{Context, api_failure, local_time, pick_meeting};
use callbook_client::aircall::AircallClient;
use callbook_models::aircall::{CallId, InsightCard, InsightCardContent};
use callbook_server::{DeliveredEvent, EventHandler, HandlerError, async_trait};
use callbook_store::{CallRecord, Meeting, MeetingStatus, PersonKey};
use chrono::{DateTime, Utc};

/// The insight-card recipe.
#[derive(Debug)]
pub struct InsightCards {
    name: String,
    ctx: Context,
    aircall: AircallClient,
}

impl InsightCards {
    /// The recipe `name`; needs `[aircall_api]`.
    pub fn new(name: impl Into<String>, ctx: Context) -> Result<Self, crate::Error> {
        let name = name.into();
        let aircall = ctx.aircall.clone().ok_or_else(|| {
            crate::Error::Config(format!(
                "recipe {name:?} (aircall_insight_card) needs an [aircall_api] section"
            ))
        })?;
        Ok(Self { name, ctx, aircall })
    }
}

#[async_trait]
impl EventHandler for InsightCards {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        let Some(call) = self
            .ctx
            .call_event(&self.name, event, "call.created")
            .await?
        else {
            return Ok(());
        };
        let Some(phone) = call.external_phone.clone() else {
            return self
                .ctx
                .skip(&self.name, event, "anonymous or unreadable number")
                .await;
        };
        let card_mark = format!("event:card:{}", call.id);
        if self.ctx.store.mark(&self.name, &card_mark).await?.is_some() {
            return self
                .ctx
                .skip(&self.name, event, "card already posted")
                .await;
        }
        let Some(card) = card_for(&self.ctx, &phone, Some(call.id), Utc::now()).await? else {
            return self
                .ctx
                .skip(&self.name, event, "no meeting for this number")
                .await;
        };
        self.ctx.spend(Priority::Urgent).await?;
        self.aircall
            .add_insight_card(CallId::new(call.id), &card)
            .await
            .map_err(|e| api_failure("posting the insight card", e))?;
        self.ctx
            .store
            .put_mark(&self.name, &card_mark, None, Utc::now(), None)
            .await?;
        Ok(())
    }
}

/// The card a call from `phone` gets now; `None` when the directory knows no meeting of
/// theirs. `current` is the ringing call, left out of "last call".
pub async fn card_for(
    ctx: &Context,
    phone: &str,
    current: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<InsightCard>, HandlerError> {
    let meetings = ctx
        .meetings_of(&[PersonKey::Phone(phone.to_owned())])
        .await?;
    let Some(meeting) = pick_meeting(&meetings, now) else {
        return Ok(None);
    };
    let last_call = ctx
        .store
        .calls(phone, 5)
        .await?
        .into_iter()
        .find(|c| Some(c.id) != current);
    Ok(Some(build_card(meeting, last_call.as_ref(), now)))
}

/// Answers longer than this are cut: a card is read at a glance.
const MAX_ANSWER: usize = 120;
/// At most this many answers.
const MAX_ANSWERS: usize = 3;

fn build_card(
    meeting: &Meeting,
    last_call: Option<&CallRecord>,
    now: DateTime<Utc>,
) -> InsightCard {
    let mut contents = Vec::new();
    let Some(d) = &meeting.details else {
        return InsightCard::new(contents);
    };
    let what = d.event_name.as_deref().unwrap_or("Calendly meeting");
    contents.push(InsightCardContent::Title {
        text: format!("{} · {what}", d.name),
        link: None,
    });
    if let Some(start) = d.start {
        let status = match meeting.status() {
            MeetingStatus::Canceled => "canceled",
            MeetingStatus::NoShow => "no-show",
            _ if start > now => "upcoming",
            _ => "past",
        };
        contents.push(short(
            "When",
            format!("{} ({status})", local_time(start, d.timezone.as_deref())),
            None,
        ));
    }
    if let Some(email) = &d.email {
        contents.push(short("Email", email.clone(), None));
    }
    for a in d
        .answers
        .iter()
        .filter(|a| !a.answer.trim().is_empty())
        .take(MAX_ANSWERS)
    {
        contents.push(short(&a.question, cut(&a.answer, MAX_ANSWER), None));
    }
    if meeting.status() == MeetingStatus::Active && d.start.is_some_and(|s| s > now) {
        for (label, url) in [
            ("Join", &d.join_url),
            ("Reschedule", &d.reschedule_url),
            ("Cancel", &d.cancel_url),
        ] {
            if let Some(url) = url {
                contents.push(short(label, "open".into(), Some(url.clone())));
            }
        }
    }
    if let Some(call) = last_call {
        contents.push(short(
            "Last call",
            describe_call(call, d.timezone.as_deref()),
            None,
        ));
    }
    InsightCard::new(contents)
}

fn short(label: &str, text: String, link: Option<String>) -> InsightCardContent {
    InsightCardContent::ShortText {
        label: label.to_owned(),
        text,
        link,
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// "Inbound, answered by Bea, Tue 1 Dec 15:00 America/Sao_Paulo, 1:05".
pub fn describe_call(call: &CallRecord, timezone: Option<&str>) -> String {
    let mut parts = Vec::new();
    let direction = call.direction.as_deref().unwrap_or("call");
    let mut chars = direction.chars();
    let capitalised: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .chain(chars)
        .collect();
    parts.push(capitalised);
    parts.push(match (call.answered(), call.user_name()) {
        (true, Some(agent)) => format!("answered by {agent}"),
        (true, None) => "answered".into(),
        (false, _) if call.stage == 2 => "missed".into(),
        (false, _) => "ringing".into(),
    });
    if let Some(start) = call.started_at {
        parts.push(local_time(start, timezone));
    }
    if let Some(d) = call.duration {
        parts.push(format!("{}:{:02}", d / 60, d % 60));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbook_store::{MeetingChange, MeetingDetails};

    #[test]
    fn an_upcoming_meeting_card_has_its_time_in_the_callers_zone_and_links() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let mut d = MeetingDetails::new("ev", "Ana Lima", now);
        d.event_name = Some("Discovery call".into());
        d.start = Some(
            DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
                .unwrap()
                .to_utc(),
        );
        d.timezone = Some("America/Sao_Paulo".into());
        d.reschedule_url = Some("https://calendly.com/reschedulings/X".into());
        let m = Meeting::from_change("i", &MeetingChange::Booked, Some(d));
        let card = build_card(&m, None, now);
        let json = serde_json::to_string(&card).unwrap();
        assert!(json.contains("Ana Lima · Discovery call"), "{json}");
        assert!(
            json.contains("Tue 1 Dec 15:00 America/Sao_Paulo (upcoming)"),
            "{json}"
        );
        assert!(
            json.contains("https://calendly.com/reschedulings/X"),
            "{json}"
        );
    }

    #[test]
    fn calls_are_described_briefly() {
        let mut c = CallRecord::new(1);
        c.direction = Some("inbound".into());
        c.stage = 2;
        c.duration = Some(65);
        assert_eq!(describe_call(&c, None), "Inbound, missed, 1:05");
        assert_eq!(cut("abcdef", 3), "abc…");
    }
}
