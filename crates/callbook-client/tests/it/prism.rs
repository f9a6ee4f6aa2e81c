//! Contract test: every client call Calendly's 2023 OpenAPI spec covers, against Prism's mock of
//! that spec. Prism (`--errors`) refuses any request that breaks the spec and answers with the
//! spec's own examples, which the client must decode.

use callbook_client::calendly::*;
use callbook_client::models::Timestamp;
use callbook_client::models::calendly::*;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn prism_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/prism")
}

/// Starts Prism on a free port; `None` (test skipped) when it is not installed.
async fn start_prism() -> Option<(tokio::process::Child, String)> {
    let bin = prism_dir().join("node_modules/.bin/prism");
    if !bin.exists() {
        let msg = format!(
            "Prism is not installed ({}); run `npm ci` in tests/prism",
            bin.display()
        );
        if std::env::var("CALLBOOK_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("skipping the Prism contract test: {msg}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(bin)
        .args([
            "mock",
            "--errors",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .arg(prism_dir().join("calendly-openapi-2023.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prism");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "prism did not start within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some((child, format!("http://127.0.0.1:{port}")))
}

/// `(METHOD, path)` of every operation in the spec, read from its `paths:` block.
fn spec_operations() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(prism_dir().join("calendly-openapi-2023.yaml")).unwrap();
    let mut ops = BTreeSet::new();
    let (mut in_paths, mut current) = (false, None::<String>);
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 2 {
            let p = line.trim().trim_end_matches(':').trim_matches('\'');
            current = p.starts_with('/').then(|| p.to_owned());
        } else if let (4, Some(p)) = (indent, &current) {
            let m = line.trim().trim_end_matches(':');
            if ["get", "post", "put", "patch", "delete"].contains(&m) {
                ops.insert((m.to_uppercase(), p.clone()));
            }
        }
    }
    ops
}

/// The spec operations this test drives, and the ones it leaves out with the reason.
const COVERED: &[(&str, &str)] = &[
    ("GET", "/users/me"),
    ("GET", "/users/{uuid}"),
    ("GET", "/organization_memberships"),
    ("GET", "/organization_memberships/{uuid}"),
    ("DELETE", "/organization_memberships/{uuid}"),
    ("GET", "/organizations/{uuid}/invitations"),
    ("POST", "/organizations/{uuid}/invitations"),
    ("GET", "/organizations/{org_uuid}/invitations/{uuid}"),
    ("DELETE", "/organizations/{org_uuid}/invitations/{uuid}"),
    ("GET", "/event_types"),
    ("GET", "/event_types/{uuid}"),
    ("GET", "/event_type_available_times"),
    ("GET", "/user_busy_times"),
    ("GET", "/user_availability_schedules"),
    ("GET", "/user_availability_schedules/{uuid}"),
    ("GET", "/scheduled_events"),
    ("GET", "/scheduled_events/{uuid}"),
    ("POST", "/scheduled_events/{uuid}/cancellation"),
    ("GET", "/scheduled_events/{uuid}/invitees"),
    (
        "GET",
        "/scheduled_events/{event_uuid}/invitees/{invitee_uuid}",
    ),
    ("POST", "/invitee_no_shows"),
    ("GET", "/invitee_no_shows/{uuid}"),
    ("DELETE", "/invitee_no_shows/{uuid}"),
    ("POST", "/scheduling_links"),
    ("GET", "/routing_forms"),
    ("GET", "/routing_forms/{uuid}"),
    ("GET", "/routing_form_submissions"),
    ("GET", "/routing_form_submissions/{uuid}"),
    ("POST", "/webhook_subscriptions"),
    ("GET", "/webhook_subscriptions"),
    ("GET", "/webhook_subscriptions/{webhook_uuid}"),
    ("DELETE", "/webhook_subscriptions/{webhook_uuid}"),
    ("GET", "/activity_log_entries"),
    ("POST", "/data_compliance/deletion/invitees"),
    ("POST", "/data_compliance/deletion/events"),
];
/// `POST /shares` customizes a one-off copy of an event type; the client does not offer it.
const LEFT_OUT: &[(&str, &str)] = &[("POST", "/shares")];

#[test]
fn the_covered_list_is_the_whole_spec() {
    let spec = spec_operations();
    let listed: BTreeSet<(String, String)> = COVERED
        .iter()
        .chain(LEFT_OUT)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(spec.len(), 36, "{spec:?}");
    assert_eq!(listed, spec);
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn every_covered_call_passes_prism_and_decodes_its_examples() {
    let Some((_prism, base)) = start_prism().await else {
        return;
    };
    let c = CalendlyClient::builder()
        .personal_access_token("prism-token")
        .base_url(&base)
        .retry(callbook_client::RetryPolicy::none())
        .build()
        .unwrap();
    let org =
        OrganizationUri::parse("https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA").unwrap();
    let user = UserUri::parse("https://api.calendly.com/users/AAAAAAAAAAAAAAAA").unwrap();
    let event =
        ScheduledEventUri::parse("https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2")
            .unwrap();
    let event_type =
        EventTypeUri::parse("https://api.calendly.com/event_types/GBGBDCAADAEDCRZ2").unwrap();
    let invitee = InviteeUri::parse(
        "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let form =
        RoutingFormUri::parse("https://api.calendly.com/routing_forms/AAAAAAAAAAAAAAAA").unwrap();
    let invitation = InvitationUri::parse(
        "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA/invitations/BBBBBBBBBBBBBBBB",
    )
    .unwrap();
    let membership =
        MembershipUri::parse("https://api.calendly.com/organization_memberships/AAAAAAAAAAAAAAAA")
            .unwrap();
    let no_show =
        NoShowUri::parse("https://api.calendly.com/invitee_no_shows/AAAAAAAAAAAAAAAA").unwrap();
    let hook = WebhookSubscriptionUri::parse(
        "https://api.calendly.com/webhook_subscriptions/AAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let schedule = AvailabilityScheduleUri::parse(
        "https://api.calendly.com/user_availability_schedules/AAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let submission = RoutingFormSubmissionUri::parse(
        "https://api.calendly.com/routing_form_submissions/AAAAAAAAAAAAAAAA",
    )
    .unwrap();

    macro_rules! ok {
        ($what:literal, $call:expr) => {
            match $call {
                Ok(v) => v,
                Err(e) => panic!("{}: {e}", $what),
            }
        };
    }

    ok!("me", c.me().await);
    ok!("user", c.user(&user).await);
    ok!(
        "memberships",
        c.memberships(ListMemberships::new().organization(org.clone()))
            .page(None)
            .await
    );
    ok!("membership", c.membership(&membership).await);
    ok!("remove membership", c.remove_membership(&membership).await);
    ok!(
        "invitations",
        c.invitations(
            &org,
            ListInvitations::new().status(InvitationStatus::Pending)
        )
        .page(None)
        .await
    );
    ok!(
        "invite",
        c.invite(&org, &CreateInvitation::new("new.user@example.com"))
            .await
    );
    ok!("invitation", c.invitation(&invitation).await);
    ok!("revoke invitation", c.revoke_invitation(&invitation).await);
    ok!(
        "event types",
        c.event_types(ListEventTypes::new().user(user.clone()).active(true))
            .page(None)
            .await
    );
    ok!("event type", c.event_type(&event_type).await);
    ok!(
        "available times",
        c.available_times(AvailableTimesQuery::new(
            event_type.clone(),
            ts("2026-12-01T00:00:00Z"),
            ts("2026-12-07T00:00:00Z")
        ))
        .await
    );
    ok!(
        "busy times",
        c.busy_times(BusyTimesQuery::new(
            user.clone(),
            ts("2026-12-01T00:00:00Z"),
            ts("2026-12-07T00:00:00Z")
        ))
        .await
    );
    ok!(
        "availability schedules",
        c.availability_schedules(&user).await
    );
    ok!(
        "availability schedule",
        c.availability_schedule(&schedule).await
    );
    ok!(
        "scheduled events",
        c.scheduled_events(
            ListScheduledEvents::new()
                .user(user.clone())
                .status(Status::Active)
                .sort(Sort::asc("start_time"))
                .min_start_time(ts("2026-11-01T00:00:00Z"))
        )
        .page(None)
        .await
    );
    ok!("scheduled event", c.scheduled_event(&event).await);
    ok!(
        "cancel",
        c.cancel_event(&event, &CancelEvent::new("Conflict")).await
    );
    ok!(
        "invitees",
        c.invitees(&event, ListInvitees::new().status(Status::Active))
            .page(None)
            .await
    );
    ok!("invitee", c.invitee(&invitee).await);
    ok!("mark no-show", c.mark_no_show(&invitee).await);
    ok!("no-show", c.no_show(&no_show).await);
    ok!("unmark no-show", c.unmark_no_show(&no_show).await);
    ok!(
        "scheduling link",
        c.create_scheduling_link(&CreateSchedulingLink::new(event_type.clone()))
            .await
    );
    ok!(
        "routing forms",
        c.routing_forms(ListRoutingForms::new(org.clone()))
            .page(None)
            .await
    );
    ok!("routing form", c.routing_form(&form).await);
    ok!(
        "submissions",
        c.routing_form_submissions(ListRoutingFormSubmissions::new(form.clone()))
            .page(None)
            .await
    );
    ok!("submission", c.routing_form_submission(&submission).await);
    ok!(
        "subscribe",
        c.subscribe(
            CreateWebhookSubscription::new(
                "https://hooks.example.com/calendly",
                vec![EventName::InviteeCreated, EventName::InviteeCanceled],
                org.clone(),
                Scope::User,
            )
            .user(user.clone()),
        )
        .await
    );
    ok!(
        "webhook subscriptions",
        c.webhook_subscriptions(
            ListWebhookSubscriptions::new(org.clone(), Scope::User).user(user.clone())
        )
        .page(None)
        .await
    );
    ok!("webhook subscription", c.webhook_subscription(&hook).await);
    ok!(
        "delete webhook subscription",
        c.delete_webhook_subscription(&hook).await
    );
    ok!(
        "activity log",
        c.activity_log_page(
            ListActivityLog::new(org.clone()).sort(vec![Sort::desc("occurred_at")]),
            None
        )
        .await
    );
    ok!(
        "delete invitee data",
        c.delete_invitee_data(&DeleteInviteeData::new(vec!["gone@example.com".into()]))
            .await
    );
    ok!(
        "delete event data",
        c.delete_event_data(&DeleteEventData::new(
            ts("2019-01-01T00:00:00Z"),
            ts("2019-02-01T00:00:00Z")
        ))
        .await
    );
}

#[tokio::test]
async fn prism_refuses_a_request_that_breaks_the_spec() {
    // A negative control: the mock is strict, so the calls above passing means something.
    let Some((_prism, base)) = start_prism().await else {
        return;
    };
    let response = reqwest::Client::new()
        .get(format!(
            "{base}/webhook_subscriptions?organization=https://api.calendly.com/organizations/A"
        ))
        .bearer_auth("prism-token")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}
