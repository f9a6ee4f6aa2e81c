//! Standard Webhooks (<https://www.standardwebhooks.com>): the scheme callbook signs forwarded
//! events with, so that consumers can verify them with any Standard Webhooks library or with
//! this crate.
//!
//! Signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`, HMAC-SHA256 keyed with the
//! base64-decoded secret (`whsec_` prefix optional), sent as `v1,<base64>`; the
//! `webhook-signature` header holds one or more space-separated signatures.

use crate::Error;
use crate::calendly::decimal;
use crate::clock::{Clock, SystemClock, check_window, parse_timestamp};
use crate::headers::{self, Headers};
use crate::secret::{Secret, ct_eq32, hmac_sha256};
use crate::verified::{self, Verified};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;

/// `webhook-id`
pub const ID_HEADER: &str = "webhook-id";
/// `webhook-timestamp`
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `webhook-signature`
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The spec's suggested tolerance: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

const PREFIX: &str = "whsec_";
const MAX_SIGNATURES: usize = 16;

/// Secrets are accepted with or without base64 padding, and with non-zero trailing bits, as the
/// reference Python library accepts them; rejecting them would fail users for no security gain.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A Standard Webhooks signing secret.
#[derive(Clone)]
pub struct SigningSecret(Secret);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

impl SigningSecret {
    /// Parses `whsec_<base64>` (the prefix is optional).
    pub fn parse(secret: &str) -> Result<Self, Error> {
        let b64 = secret.strip_prefix(PREFIX).unwrap_or(secret);
        if b64.is_empty() {
            return Err(Error::InvalidSecret {
                reason: "empty secret",
            });
        }
        let bytes = LENIENT.decode(b64).map_err(|_| Error::InvalidSecret {
            reason: "secret is not valid base64",
        })?;
        if bytes.is_empty() {
            return Err(Error::InvalidSecret {
                reason: "empty secret",
            });
        }
        Ok(Self(Secret::from_bytes(bytes)))
    }

    /// A secret from raw key bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let secret = Secret::from_bytes(bytes);
        if secret.is_empty() {
            return Err(Error::InvalidSecret {
                reason: "empty secret",
            });
        }
        Ok(Self(secret))
    }

    /// The `whsec_<base64>` form, to hand to a consumer. Treat the result as a secret.
    pub fn to_whsec(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(self.0.expose()))
    }

    /// Signs a message, returning `v1,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
        check_id(msg_id)?;
        Ok(format!(
            "v1,{}",
            STANDARD.encode(self.mac(msg_id, timestamp, body))
        ))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut digits = [0u8; 24];
        let digits = decimal(timestamp, &mut digits);
        hmac_sha256(
            self.0.expose(),
            &[msg_id.as_bytes(), b".", digits, b".", body],
        )
    }
}

fn check_id(msg_id: &str) -> Result<(), Error> {
    if msg_id.is_empty() || msg_id.contains('.') {
        return Err(Error::MalformedHeader {
            header: ID_HEADER,
            reason: "must be non-empty and contain no '.'",
        });
    }
    Ok(())
}

/// The three header values of a signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// `webhook-id`
    pub id: String,
    /// `webhook-timestamp`
    pub timestamp: String,
    /// `webhook-signature`: one `v1,<base64>` per secret, space-separated.
    pub signature: String,
}

/// Signs and verifies Standard Webhooks messages with one or more secrets.
#[derive(Clone)]
pub struct Webhook {
    // Shared: verifiers are cloned into request handlers (axum state), keys are not.
    secrets: Arc<[SigningSecret]>,
    tolerance_secs: u64,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("standard::Webhook")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

impl Webhook {
    /// A signer/verifier for the given secrets (several during rotation).
    pub fn new(secrets: impl IntoIterator<Item = SigningSecret>) -> Result<Self, Error> {
        let secrets: Vec<_> = secrets.into_iter().collect();
        if secrets.is_empty() {
            return Err(Error::NoKeys);
        }
        Ok(Self {
            secrets: secrets.into(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            clock: Arc::new(SystemClock),
        })
    }

    /// Parses `whsec_...` secrets.
    pub fn from_whsec<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        Self::new(
            secrets
                .into_iter()
                .map(SigningSecret::parse)
                .collect::<Result<Vec<_>, _>>()?,
        )
    }

    /// Sets the timestamp tolerance, applied in both directions (whole seconds; less than one
    /// second counts as zero).
    pub fn tolerance(mut self, tolerance: std::time::Duration) -> Self {
        self.tolerance_secs = tolerance.as_secs();
        self
    }

    /// Replaces the clock (for tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Signs a message with every secret: the headers to send.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<SignedHeaders, Error> {
        let mut signature = String::with_capacity(48 * self.secrets.len());
        for secret in self.secrets.iter() {
            if !signature.is_empty() {
                signature.push(' ');
            }
            signature.push_str(&secret.sign(msg_id, timestamp, body)?);
        }
        Ok(SignedHeaders {
            id: msg_id.to_owned(),
            timestamp: timestamp.to_string(),
            signature,
        })
    }

    /// Verifies a message from its request headers (any [`Headers`]: an `http::HeaderMap` with
    /// the `http` feature, a slice of pairs, a `HashMap`) and raw body.
    ///
    /// ```
    /// use callbook_signature::{standard, FixedClock};
    ///
    /// let wh = standard::Webhook::from_whsec(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])?
    ///     .clock(FixedClock(1_700_000_000));
    /// let signed = wh.sign("msg_1", 1_700_000_000, b"{}")?;
    /// let headers = [
    ///     (standard::ID_HEADER, signed.id),
    ///     (standard::TIMESTAMP_HEADER, signed.timestamp),
    ///     (standard::SIGNATURE_HEADER, signed.signature),
    /// ];
    /// assert_eq!(wh.verify(&headers, b"{}")?.timestamp, Some(1_700_000_000));
    /// # Ok::<(), callbook_signature::Error>(())
    /// ```
    pub fn verify(&self, headers: &impl Headers, body: &[u8]) -> Result<Verified, Error> {
        let verified = self.verify_ignoring_timestamp(headers, body)?;
        let t = verified.timestamp.unwrap_or_default();
        check_window(t, self.clock.now(), self.tolerance_secs)?;
        Ok(verified)
    }

    /// Verifies a message, then parses its body once as `T`. A body that is genuine but does
    /// not parse gives [`Error::InvalidPayload`].
    pub fn construct_event<T: DeserializeOwned>(
        &self,
        headers: &impl Headers,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        let verified = self.verify(headers, body)?;
        Ok(verified.with_event(verified::parse(body)?))
    }

    /// Verifies the signature but **not** the timestamp window.
    pub fn verify_ignoring_timestamp(
        &self,
        headers: &impl Headers,
        body: &[u8],
    ) -> Result<Verified, Error> {
        let id = headers::text(headers, ID_HEADER)?.ok_or(Error::MissingHeader(ID_HEADER))?;
        let timestamp = headers::text(headers, TIMESTAMP_HEADER)?
            .ok_or(Error::MissingHeader(TIMESTAMP_HEADER))?;
        let signature = headers::text(headers, SIGNATURE_HEADER)?
            .ok_or(Error::MissingHeader(SIGNATURE_HEADER))?;
        check_id(id)?;
        let t = parse_timestamp(timestamp.trim_ascii().as_bytes())?;
        let candidates = parse_signatures(signature)?;
        // Every secret and every candidate is compared, so timing does not tell which matched.
        let mut found = None;
        for (key_index, secret) in self.secrets.iter().enumerate() {
            let expected = secret.mac(id, t, body);
            for candidate in &candidates {
                if ct_eq32(&expected, candidate) && found.is_none() {
                    found = Some(key_index);
                }
            }
        }
        match found {
            Some(key_index) => Ok(Verified::new(key_index, Some(t))),
            None => Err(Error::SignatureMismatch),
        }
    }
}

/// Decodes the `v1` entries of a `webhook-signature` header; other versions are ignored.
fn parse_signatures(header: &str) -> Result<Vec<[u8; 32]>, Error> {
    let malformed = |reason| Error::MalformedHeader {
        header: SIGNATURE_HEADER,
        reason,
    };
    let mut out = Vec::new();
    let mut saw_v1 = false;
    for entry in header.split_ascii_whitespace() {
        let Some((version, sig)) = entry.split_once(',') else {
            continue;
        };
        if version != "v1" {
            continue;
        }
        saw_v1 = true;
        if out.len() >= MAX_SIGNATURES {
            break;
        }
        let mut buf = [0u8; 33];
        if let Ok(32) = STANDARD.decode_slice(sig, &mut buf) {
            let mut sig = [0u8; 32];
            sig.copy_from_slice(&buf[..32]);
            out.push(sig);
        }
    }
    if !saw_v1 {
        return Err(malformed("no v1 signature"));
    }
    Ok(out)
}
