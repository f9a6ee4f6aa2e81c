//! The people an event names, so that the console and the admin API can find it by an e-mail
//! address or phone number: read from the typed body the classifier parsed anyway.
//!
//! What counts: the invitee's address, SMS number, the number of an outbound-call location and
//! booking answers that read as an address or number; a contact's addresses and numbers; the
//! other party of a call or message and its contact; an Aircall user's address. Hosts and
//! agents of calls are left out: they would match most events.

use callbook_models::{aircall, calendly};
use callbook_store::Subject;

/// An event names at most this many: every one is an index entry written with the event.
const MAX: usize = 16;

#[derive(Default)]
struct Found(Vec<Subject>);

impl Found {
    fn push(&mut self, subject: Option<Subject>) {
        if let Some(s) = subject
            && self.0.len() < MAX
            && !self.0.contains(&s)
        {
            self.0.push(s);
        }
    }

    fn email(&mut self, text: &str) {
        self.push(Subject::email(text));
    }

    fn phone(&mut self, text: &str) {
        self.push(Subject::phone(text));
    }

    /// Free text (an answer): whichever it reads as.
    fn either(&mut self, text: &str) {
        self.push(Subject::email(text).or_else(|| Subject::phone(text)));
    }
}

/// The subjects of a Calendly webhook.
pub(crate) fn calendly(w: &calendly::Webhook) -> Vec<Subject> {
    use calendly::Payload as P;
    let mut found = Found::default();
    match &w.payload {
        P::InviteeCreated(i)
        | P::InviteeCanceled(i)
        | P::InviteeNoShowCreated(i)
        | P::InviteeNoShowDeleted(i) => {
            found.email(&i.email);
            if let Some(n) = &i.text_reminder_number {
                found.phone(n);
            }
            if let Some(calendly::Location::OutboundCall(l)) =
                i.scheduled_event.as_ref().and_then(|e| e.location.as_ref())
                && let Some(n) = &l.location
            {
                found.phone(n);
            }
            for qa in &i.questions_and_answers {
                found.either(&qa.answer);
            }
        }
        P::RoutingFormSubmissionCreated(s) => {
            for a in &s.questions_and_answers {
                if let Some(answer) = &a.answer {
                    found.either(answer);
                }
            }
        }
        P::ContactCreated(c) | P::ContactUpdated(c) => {
            for e in &c.contact.emails {
                found.email(e);
            }
            for n in &c.contact.phone_numbers {
                found.phone(n);
            }
        }
        _ => {}
    }
    found.0
}

/// The subjects of an Aircall webhook.
pub(crate) fn aircall(w: &aircall::Webhook) -> Vec<Subject> {
    use aircall::Data as D;
    let mut found = Found::default();
    let contact = |found: &mut Found, c: &aircall::Contact| {
        for e in &c.emails {
            found.email(&e.value);
        }
        for n in &c.phone_numbers {
            found.phone(&n.value);
        }
    };
    match &w.data {
        D::Call(call) => {
            if let Some(n) = &call.raw_digits {
                found.phone(n);
            }
            if let Some(c) = &call.contact {
                contact(&mut found, c);
            }
        }
        D::Message(m) => {
            for n in [&m.external_number, &m.raw_digits].into_iter().flatten() {
                found.phone(n);
            }
            if let Some(c) = &m.contact {
                contact(&mut found, c);
            }
        }
        D::Contact(c) => contact(&mut found, c),
        D::User(u) => {
            if let Some(e) = &u.email {
                found.email(e);
            }
        }
        _ => {}
    }
    found.0
}
