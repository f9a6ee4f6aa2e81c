//! `callbook verify`: says precisely why a captured delivery does or does not verify.

use crate::cli::Failure;
use callbook_signature::{aircall, calendly};
use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn run(
    provider: &str,
    key_env: &str,
    header: Option<&str>,
    tolerance_secs: u64,
) -> Result<ExitCode, Failure> {
    let key = std::env::var(key_env).map_err(|_| {
        Failure::Config(anyhow::anyhow!("environment variable {key_env} is not set"))
    })?;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Failure::Runtime(e.into()))?;
    let verdict = match provider {
        "calendly" => explain_calendly(&key, header, &body, tolerance_secs),
        "aircall" => explain_aircall(&key, &body),
        other => {
            return Err(Failure::Config(anyhow::anyhow!(
                "unknown provider {other:?}: expected calendly or aircall"
            )));
        }
    };
    match verdict {
        Ok(msg) => {
            println!("valid: {msg}");
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            println!("invalid: {msg}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(crate) fn explain_calendly(
    key: &str,
    header: Option<&str>,
    body: &[u8],
    tolerance_secs: u64,
) -> Result<String, String> {
    let header = header.ok_or("no --header given: pass the Calendly-Webhook-Signature value")?;
    let parsed = calendly::SignatureHeader::parse(header).map_err(|e| e.to_string())?;
    let verifier = calendly::Verifier::new([key]).map_err(|e| e.to_string())?;
    verifier
        .verify_ignoring_timestamp(Some(header), body)
        .map_err(|e| {
            let mut msg = format!(
                "{e}: the HMAC-SHA256 of \"{}.\" + the {}-byte body with this key matches none of \
             the {} v1 signature(s)",
                parsed.timestamp,
                body.len(),
                parsed.signatures.len()
            );
            if body.ends_with(b"\n") {
                msg.push_str(
                    "; note: the body ends with a newline, which the sender may not have signed",
                );
            }
            msg.push_str(". Check the key, and that the body is byte for byte what was received");
            msg
        })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let age = now - parsed.timestamp;
    if tolerance_secs > 0 && age.unsigned_abs() > tolerance_secs {
        return Err(format!(
            "the signature matches, but the timestamp is {} s {} (tolerance {tolerance_secs} s); \
             pass --tolerance-secs 0 to check an old capture",
            age.unsigned_abs(),
            if age >= 0 { "old" } else { "in the future" }
        ));
    }
    Ok(format!("signature matches; signed {age} s ago"))
}

pub(crate) fn explain_aircall(token: &str, body: &[u8]) -> Result<String, String> {
    let verifier = aircall::Verifier::new([token]).map_err(|e| e.to_string())?;
    verifier
        .verify(body)
        .map(|_| "the body's token matches".to_owned())
        .map_err(|e| e.to_string())
}
