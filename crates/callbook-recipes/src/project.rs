//! What the directory takes from each provider's events: a Calendly invitee becomes a
//! meeting, an Aircall call a call record.

use crate::phone::PhoneReader;
use callbook_models::{aircall, calendly};
use callbook_store::{
    Agent, Answer, CallRecord, Line, Meeting, MeetingChange, MeetingDetails, Stamped,
};

/// The meeting a Calendly webhook speaks of, with what it says; `None` for events that are
/// not about an invitee.
pub fn meeting_from_webhook(webhook: &calendly::Webhook, phones: &PhoneReader) -> Option<Meeting> {
    use calendly::Payload;
    let (invitee, change) = match &webhook.payload {
        Payload::InviteeCreated(i) => (i, MeetingChange::Booked),
        Payload::InviteeCanceled(i) => (
            i,
            MeetingChange::Canceled {
                rescheduled: i.rescheduled,
                new_invitee: i.new_invitee.as_ref().map(|u| u.as_str().to_owned()),
            },
        ),
        Payload::InviteeNoShowCreated(i) => (
            i,
            MeetingChange::NoShow {
                marked: true,
                at: webhook.created_at,
            },
        ),
        Payload::InviteeNoShowDeleted(i) => (
            i,
            MeetingChange::NoShow {
                marked: false,
                at: webhook.created_at,
            },
        ),
        _ => return None,
    };
    Some(Meeting::from_change(
        invitee.uri.as_str(),
        &change,
        Some(details(invitee, None, phones)),
    ))
}

/// The meeting an invitee from the API stands for (a backfill): booked, or canceled when
/// its status says so. `event` supplies what the invitee resource does not embed.
pub fn meeting_from_invitee(
    invitee: &calendly::Invitee,
    event: &calendly::ScheduledEvent,
    phones: &PhoneReader,
) -> Meeting {
    let change = if invitee.status.as_str() == "canceled" {
        MeetingChange::Canceled {
            rescheduled: invitee.rescheduled,
            new_invitee: invitee.new_invitee.as_ref().map(|u| u.as_str().to_owned()),
        }
    } else {
        MeetingChange::Booked
    };
    Meeting::from_change(
        invitee.uri.as_str(),
        &change,
        Some(details(invitee, Some(event), phones)),
    )
}

fn details(
    invitee: &calendly::Invitee,
    event: Option<&calendly::ScheduledEvent>,
    phones: &PhoneReader,
) -> MeetingDetails {
    let mut d = MeetingDetails::new(invitee.event.as_str(), &invitee.name, invitee.updated_at);
    d.first_name = invitee.first_name.clone().filter(|s| !s.trim().is_empty());
    d.email = Some(invitee.email.trim().to_lowercase()).filter(|e| e.contains('@'));
    d.timezone = invitee.timezone.clone();
    d.reschedule_url = invitee.reschedule_url.clone();
    d.cancel_url = invitee.cancel_url.clone();
    d.answers = invitee
        .questions_and_answers
        .iter()
        .map(|qa| Answer {
            question: qa.question.clone(),
            answer: qa.answer.clone(),
        })
        .collect();
    // The number for text reminders first, else the first answer that reads as a number.
    d.phone = invitee
        .text_reminder_number
        .as_deref()
        .and_then(|n| phones.e164(n))
        .or_else(|| d.answers.iter().find_map(|a| phones.e164(&a.answer)));
    if let Some(event) = event.or(invitee.scheduled_event.as_ref()) {
        d.event_name = event.name.clone();
        d.event_type = Some(event.event_type.as_str().to_owned());
        d.start = Some(event.start_time);
        d.end = Some(event.end_time);
        d.join_url = event
            .location
            .as_ref()
            .and_then(|l| l.display_text())
            .filter(|t| t.starts_with("https://"))
            .map(str::to_owned);
    }
    d
}

/// The call an Aircall `call.*` webhook speaks of.
pub fn call_from_webhook(webhook: &aircall::Webhook, phones: &PhoneReader) -> Option<CallRecord> {
    let aircall::Data::Call(call) = &webhook.data else {
        return None;
    };
    let mut record = CallRecord::new(call.id.get());
    record.stage = match call.status.as_ref().map(|s| s.as_str()) {
        Some("done") => 2,
        Some("answered") => 1,
        _ if call.ended_at.is_some() => 2,
        _ if call.answered_at.is_some() => 1,
        _ => 0,
    };
    record.direction = call.direction.as_ref().map(|d| d.as_str().to_owned());
    record.started_at = call.started_at;
    record.answered_at = call.answered_at;
    record.ended_at = call.ended_at;
    record.duration = call.duration;
    record.missed_call_reason = call
        .missed_call_reason
        .as_ref()
        .map(|r| r.as_str().to_owned());
    record.raw_digits = call.raw_digits.clone();
    record.external_phone = call.raw_digits.as_deref().and_then(|d| phones.e164(d));
    let at = (record.stage, webhook.timestamp);
    record.user = call.user.as_ref().map(|u| Stamped {
        at,
        value: Agent {
            id: u.id.get(),
            name: u.name.clone(),
        },
    });
    record.number = call.number.as_ref().map(|n| Stamped {
        at,
        value: Line {
            id: n.id.get(),
            name: n.name.clone(),
            digits: n
                .e164_digits
                .clone()
                .or_else(|| n.digits.as_deref().and_then(|d| phones.e164(d))),
        },
    });
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbook_store::MeetingStatus;

    fn reader() -> PhoneReader {
        PhoneReader::new("US").unwrap()
    }

    #[test]
    fn an_invitee_created_webhook_is_an_active_meeting_with_its_details() {
        let w: calendly::Webhook = serde_json::from_str(include_str!(
            "../../callbook-models/tests/fixtures/calendly/doc_invitee_created.json"
        ))
        .unwrap();
        let m = meeting_from_webhook(&w, &reader()).expect("an invitee event");
        assert_eq!(m.status(), MeetingStatus::Active);
        let d = m.details.unwrap();
        assert_eq!(d.email.as_deref(), Some("test@example.com"));
        assert!(d.start.is_some() && d.event_name.is_some(), "{d:?}");
    }

    #[test]
    fn a_canceled_reschedule_names_its_successor() {
        let w: calendly::Webhook = serde_json::from_str(include_str!(
            "../../callbook-models/tests/fixtures/edge/calendly_invitee_canceled_rescheduled.json"
        ))
        .unwrap();
        let m = meeting_from_webhook(&w, &reader()).unwrap();
        assert_eq!(m.status(), MeetingStatus::Canceled);
        assert!(m.rescheduled && m.new_invitee.is_some(), "{m:?}");
    }

    #[test]
    fn an_aircall_call_is_read_with_its_external_number() {
        let w: aircall::Webhook = serde_json::from_str(include_str!(
            "../../callbook-models/tests/fixtures/aircall/webhook_call_created.json"
        ))
        .unwrap();
        let c = call_from_webhook(&w, &reader()).expect("a call event");
        assert_eq!(c.stage, 0);
        assert!(c.raw_digits.is_some());
    }
}
