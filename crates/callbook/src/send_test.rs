//! `callbook send-test`: a correctly signed sample webhook, so the whole pipeline can be seen
//! without a Calendly or Aircall account.

use crate::cli::Failure;
use anyhow::Context;
use callbook_server::config::SourceConfig;
use callbook_store::Provider;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A sample Calendly delivery in the shape of Calendly's documented `invitee.created`, with a
/// fresh invitee so that each test is a new event.
pub(crate) fn calendly_sample(event: &str, now: i64) -> serde_json::Value {
    let id = crate::init::generate_secret().replace(['-', '_'], "")[..16].to_uppercase();
    let at = chrono_like(now);
    json!({
        "event": event,
        "created_at": at,
        "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
        "payload": {
            "uri": format!("https://api.calendly.com/scheduled_events/SAMPLEEVENT00001/invitees/{id}"),
            "email": "test@example.com",
            "name": "John Doe",
            "status": if event == "invitee.canceled" { "canceled" } else { "active" },
            "questions_and_answers": [],
            "timezone": "America/New_York",
            "event": "https://api.calendly.com/scheduled_events/SAMPLEEVENT00001",
            "created_at": at,
            "updated_at": at,
            "tracking": {"utm_campaign": null, "utm_source": null, "utm_medium": null,
                         "utm_content": null, "utm_term": null, "salesforce_uuid": null},
            "text_reminder_number": null,
            "rescheduled": false,
            "old_invitee": null,
            "new_invitee": null,
            "cancel_url": format!("https://calendly.com/cancellations/{id}"),
            "reschedule_url": format!("https://calendly.com/reschedulings/{id}"),
        }
    })
}

/// A sample Aircall delivery shaped like Aircall's documented `call.created`.
pub(crate) fn aircall_sample(event: &str, token: &str, now: i64) -> serde_json::Value {
    json!({
        "resource": "call",
        "event": event,
        "timestamp": now,
        "token": token,
        "data": {
            "id": now,
            "direct_link": format!("https://api.aircall.io/v1/calls/{now}"),
            "direction": "inbound",
            "status": if event == "call.ended" { "done" } else { "initial" },
            "started_at": now,
            "raw_digits": "+1 800-123-4567",
            "user": {}, "contact": {}, "number": {}
        }
    })
}

fn chrono_like(unix: i64) -> String {
    chrono_format(unix)
}

fn chrono_format(unix: i64) -> String {
    // RFC 3339 with microseconds, as Calendly writes it.
    let dt = callbook_models::Timestamp::from_timestamp(unix, 0).unwrap_or_default();
    dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) async fn run(
    config_path: &Path,
    source_name: &str,
    event: &str,
    url: Option<&str>,
    json_out: bool,
) -> Result<ExitCode, Failure> {
    let (config, _) = crate::serve::load_config(Some(config_path))?;
    let source: &SourceConfig = config
        .sources
        .iter()
        .find(|s| s.name == source_name)
        .ok_or_else(|| {
            Failure::Config(anyhow::anyhow!(
                "no source named {source_name:?} in {}",
                config_path.display()
            ))
        })?;
    let base = url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let now = unix_now();
    let client = reqwest::Client::new();
    let request = match source.provider {
        Provider::Calendly => {
            let key = source.signing_keys.first().ok_or_else(|| {
                Failure::Config(anyhow::anyhow!("source {source_name:?} has no signing key"))
            })?;
            let key = key.resolve().map_err(|e| Failure::Config(e.into()))?;
            let body = serde_json::to_vec(&calendly_sample(event, now))
                .map_err(|e| Failure::Runtime(e.into()))?;
            let header = callbook_signature::calendly::sign(
                secrecy::ExposeSecret::expose_secret(&key).as_bytes(),
                now,
                &body,
            );
            client
                .post(format!("{base}/webhooks/calendly/{source_name}"))
                .header("Calendly-Webhook-Signature", header)
                .header("content-type", "application/json")
                .body(body)
        }
        _ => {
            let token = source.tokens.first().ok_or_else(|| {
                Failure::Config(anyhow::anyhow!("source {source_name:?} has no token"))
            })?;
            let token = token.resolve().map_err(|e| Failure::Config(e.into()))?;
            let event = if event == "invitee.created" {
                "call.created"
            } else {
                event
            };
            let body = serde_json::to_vec(&aircall_sample(
                event,
                secrecy::ExposeSecret::expose_secret(&token),
                now,
            ))
            .map_err(|e| Failure::Runtime(e.into()))?;
            client
                .post(format!("{base}/webhooks/aircall/{source_name}"))
                .header("content-type", "application/json")
                .body(body)
        }
    };
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {base} (is `callbook serve` running?)"))
        .map_err(Failure::Runtime)?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    if json_out {
        println!("{}", json!({ "status": status.as_u16(), "response": body }));
    } else if status.is_success() {
        println!(
            "sent {event} to {source_name}: {status}, event id {} (duplicate: {})",
            body["id"].as_str().unwrap_or("?"),
            body["duplicate"]
        );
    } else {
        println!("sent {event} to {source_name}: {status} {body}");
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
