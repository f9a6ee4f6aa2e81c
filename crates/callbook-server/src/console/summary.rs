//! One line that says what an event is, read from its typed model.

use callbook_models::{aircall, calendly};
use callbook_store::Provider;

/// "Invitee created: Ana Lima · Discovery call · Tue 1 Dec 2026 15:00 UTC",
/// "Missed inbound call from +55 11 91234-5678 · 0:00 · Sales line"; `None` for a body that
/// does not parse or an event with nothing better to say than its type.
pub(crate) fn summary(provider: Provider, body: &[u8]) -> Option<String> {
    match provider {
        Provider::Calendly => calendly_summary(&serde_json::from_slice(body).ok()?),
        Provider::Aircall => aircall_summary(&serde_json::from_slice(body).ok()?),
        _ => None,
    }
}

fn calendly_summary(webhook: &calendly::Webhook) -> Option<String> {
    use calendly::Payload;
    let (what, invitee) = match &webhook.payload {
        Payload::InviteeCreated(i) => ("Invitee created", i),
        Payload::InviteeCanceled(i) if i.rescheduled => ("Invitee rescheduled", i),
        Payload::InviteeCanceled(i) => ("Invitee canceled", i),
        Payload::InviteeNoShowCreated(i) => ("Marked no-show", i),
        Payload::InviteeNoShowDeleted(i) => ("No-show unmarked", i),
        _ => return None,
    };
    let mut parts = vec![format!("{what}: {}", invitee.name)];
    if let Some(event) = &invitee.scheduled_event {
        if let Some(name) = &event.name {
            parts.push(name.clone());
        }
        parts.push(
            event
                .start_time
                .format("%a %-d %b %Y %H:%M UTC")
                .to_string(),
        );
    }
    if let Some(tz) = &invitee.timezone {
        parts.push(format!("invitee in {tz}"));
    }
    Some(parts.join(" · "))
}

fn aircall_summary(webhook: &aircall::Webhook) -> Option<String> {
    let aircall::Data::Call(call) = &webhook.data else {
        return None;
    };
    let direction = match call.direction.as_ref().map(|d| d.as_str()) {
        Some("inbound") => "inbound ",
        Some("outbound") => "outbound ",
        _ => "",
    };
    let missed = call.missed_call_reason.is_some();
    let head = match (webhook.event.as_str(), missed) {
        ("call.ended", true) => format!("Missed {direction}call"),
        ("call.ended", false) => format!("Ended {direction}call"),
        (event, _) => format!("{event}: {direction}call"),
    };
    let other = call.raw_digits.as_deref().unwrap_or("an unknown number");
    let preposition = if direction == "outbound " {
        "to"
    } else {
        "from"
    };
    let mut parts = vec![format!("{head} {preposition} {other}")];
    if let Some(seconds) = call.duration {
        parts.push(format!("{}:{:02}", seconds / 60, seconds % 60));
    }
    if let Some(line) = call.number.as_ref().and_then(|n| n.name.clone()) {
        parts.push(line);
    }
    Some(parts.join(" · "))
}
